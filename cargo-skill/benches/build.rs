//! What `cargo skill build` costs an author, against plain cargo in the same run.
//!
//! `cargo bench -p cargo-skill --bench build` scaffolds the tool template,
//! times its first release build (cold target dir), then no-op rebuilds of
//! `cargo skill build --release` next to `cargo build --target wasm32-wasip2
//! --release` on the same tree, and prints the difference and the size of
//! the template's `skill.wasm`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const RUNS: usize = 15;

fn cargo_skill(dir: &Path, target_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cargo-skill"));
    cmd.current_dir(dir)
        .args(["skill", "build", "--release", "-q", "--target-dir"])
        .arg(target_dir);
    cmd
}

fn plain_cargo(dir: &Path, target_dir: &Path) -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(dir)
        .args([
            "build",
            "--release",
            "-q",
            "--target",
            "wasm32-wasip2",
            "--target-dir",
        ])
        .arg(target_dir);
    cmd
}

fn timed(mut cmd: Command) -> Duration {
    let start = Instant::now();
    let status = cmd.status().expect("spawn");
    assert!(status.success(), "{cmd:?} failed");
    start.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let work = tempfile::tempdir().unwrap();
    let home = work.path().join("home");
    let status = Command::new(env!("CARGO_BIN_EXE_cargo-skill"))
        .current_dir(work.path())
        .env("CARGO_SKILL_HOME", &home)
        .args(["skill", "new", "bench-skill", "-q"])
        .status()
        .unwrap();
    assert!(status.success());
    let skill = work.path().join("bench-skill");
    let target_dir = work.path().join("target");

    let first = timed(cargo_skill(&skill, &target_dir));
    let size = std::fs::metadata(skill.join("skill.wasm")).unwrap().len();
    // Interleaved, so both see the same machine.
    let (mut ours, mut plain) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        ours.push(timed(cargo_skill(&skill, &target_dir)));
        plain.push(timed(plain_cargo(&skill, &target_dir)));
    }
    let (ours, plain) = (median(ours), median(plain));
    println!("cargo skill build summary (tool template, release, median of {RUNS})");
    println!(
        "  first build (cold target dir)       {:>8.2} s",
        first.as_secs_f64()
    );
    println!(
        "  no-op rebuild: cargo skill build    {:>8.3} s",
        ours.as_secs_f64()
    );
    println!(
        "  no-op rebuild: plain cargo build    {:>8.3} s",
        plain.as_secs_f64()
    );
    println!(
        "  difference {:+.3} s, ratio {:.2} (target: at most +0.3 s)",
        ours.as_secs_f64() - plain.as_secs_f64(),
        ours.as_secs_f64() / plain.as_secs_f64()
    );
    println!(
        "  template skill.wasm                {:>8.1} KiB ({size} bytes; target: at most 100 KB)",
        size as f64 / 1024.0
    );
}
