//! A one-shot `cargo skill run NAME`: what a cached untrusted skill costs
//! from process start to exit.
//!
//! `cargo bench -p cargo-skill --bench run` installs the probe guest as an
//! untrusted tool skill, runs it once (so its compiled form is in the cache),
//! then times, next to the floor measured in the same run (`cargo skill
//! --version`, a process that starts and exits):
//! - `run probe`, audited and with `--no-audit`, end to end;
//! - each step `run -v` reports, as a median over the runs.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const RUNS: usize = 41;
const INPUT: &str = r#"{"mode":"echo"}"#;

fn cargo_skill(home: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cargo-skill"));
    command.env("CARGO_SKILL_HOME", home);
    command
}

fn install(home: &Path, work: &Path) {
    let dir = work.join("src/probe");
    skill_test_support::write_probe_skill(&dir);
    let out = cargo_skill(home)
        .args(["install", "-q", "--yes"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The command's wall times, sorted, and its stderr of each run.
fn times(home: &Path, args: &[&str]) -> (Vec<Duration>, Vec<String>) {
    let mut times = Vec::with_capacity(RUNS);
    let mut errs = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        let out = cargo_skill(home).args(args).output().unwrap();
        times.push(started.elapsed());
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        errs.push(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    times.sort();
    (times, errs)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Median of each `    1.234 ms  step` line of `run -v`, in first-seen order.
fn steps(stderrs: &[String]) -> Vec<(String, f64)> {
    let mut order = Vec::new();
    let mut seen: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for stderr in stderrs {
        for line in stderr.lines() {
            let Some((value, step)) = line.trim().split_once(" ms  ") else {
                continue;
            };
            let Ok(value) = value.trim().parse::<f64>() else {
                continue;
            };
            // "invoked (sandbox worker; guest 0.08 ms) and audited": one step.
            let step = match step.split_once("; guest") {
                Some((head, tail)) => format!("{head}{}", &tail[tail.find(')').unwrap_or(0)..]),
                None => step.trim().to_string(),
            };
            if !seen.contains_key(&step) {
                order.push(step.clone());
            }
            seen.entry(step).or_default().push(value);
        }
    }
    order
        .into_iter()
        .map(|step| {
            let mut values = seen.remove(&step).unwrap();
            values.sort_by(f64::total_cmp);
            (step, values[values.len() / 2])
        })
        .collect()
}

fn main() {
    let work = tempfile::tempdir().unwrap();
    let home = work.path().join("home");
    install(&home, work.path());
    let run = ["run", "probe", "--input", INPUT];
    // The first run compiles into the cache; every timed one finds it there.
    let (_, _) = times(&home, &run);
    println!("one-shot `cargo skill run probe` (untrusted tier, cached), {RUNS} runs each");
    let (floor, _) = times(&home, &["--version"]);
    let (f50, f99) = (percentile(&floor, 0.5), percentile(&floor, 0.99));
    println!(
        "  floor `cargo skill --version`  p50 {:6.2} ms  p99 {:6.2} ms",
        ms(f50),
        ms(f99)
    );
    for (label, extra) in [
        ("run probe", &[][..]),
        ("run probe --no-audit", &["--no-audit"]),
    ] {
        let args: Vec<&str> = run.iter().chain(extra).copied().collect();
        let (wall, _) = times(&home, &args);
        let (p50, p99) = (percentile(&wall, 0.5), percentile(&wall, 0.99));
        println!(
            "  {label:<29} p50 {:6.2} ms  p99 {:6.2} ms  (p50 {:+.2} ms over the floor)",
            ms(p50),
            ms(p99),
            ms(p50) - ms(f50)
        );
    }
    let args: Vec<&str> = run.iter().chain(&["-v"]).copied().collect();
    let (_, stderrs) = times(&home, &args);
    println!("  steps of `run -v` (median):");
    for (step, value) in steps(&stderrs) {
        println!("    {value:7.3} ms  {step}");
    }
}
