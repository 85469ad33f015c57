//! A home with a thousand installed skills: what starting and listing cost.
//!
//! `cargo bench -p cargo-skill --bench home` generates 900 prompt skills
//! and 100 tool skills (the probe guest, its five-letter name `probe`
//! replaced by `t0000`…`t0099` so that each answers `get-name` with its
//! own), installs them all into one home,
//! then measures, next to the floor (`cargo skill --version`, a process
//! that starts and exits) measured in the same run:
//! - `list`, `to-prompt HOME/skills` and `inspect NAME`, end to end;
//! - `cargo skill mcp`: from spawning it to the answer of its first
//!   `tools/list` (after `initialize`), and its peak resident memory then
//!   (`VmHWM`), over a raw JSON-RPC client on its stdio.
//!
//! `BENCH_HOME=DIR` keeps the generated home in `DIR` (made on the first
//! run, reused after) for profiling one command by hand.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PROMPTS: usize = 900;
const TOOLS: usize = 100;
const RUNS: usize = 10;

fn generate(src: &Path) {
    let probe = skill_test_support::guest_wasm("probe");
    for n in 0..PROMPTS + TOOLS {
        let tool = n >= PROMPTS;
        let name = if tool {
            format!("t{:04}", n - PROMPTS)
        } else {
            format!("prompt-{n:04}")
        };
        let dir = src.join("skills").join(&name);
        std::fs::create_dir_all(&dir).unwrap();
        let kind = if tool { "  skill-type: tool\n" } else { "" };
        let body = "Steps to follow, with an example and the cases to avoid. ".repeat(40);
        std::fs::write(
            dir.join("SKILL.md"),
            format!(
                "---\nname: {name}\ndescription: Skill number {n}. Use when asked for {n}.\nmetadata:\n  version: \"1.0.{n}\"\n{kind}---\n\n# {name}\n\n{body}\n"
            ),
        )
        .unwrap();
        if tool {
            std::fs::write(dir.join("skill.wasm"), renamed(&probe, &name)).unwrap();
        }
    }
}

/// The component with every `probe` in its bytes (its name, and messages)
/// replaced by `name`, of the same length.
fn renamed(wasm: &[u8], name: &str) -> Vec<u8> {
    assert_eq!(name.len(), 5);
    let mut out = wasm.to_vec();
    let mut at = 0;
    while let Some(i) = out[at..].windows(5).position(|w| w == b"probe") {
        out[at + i..at + i + 5].copy_from_slice(name.as_bytes());
        at += i + 5;
    }
    out
}

fn cargo_skill(home: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cargo-skill"));
    command.env("CARGO_SKILL_HOME", home);
    command
}

/// Median and worst of `RUNS` runs of the command.
fn time(home: &Path, args: &[&str]) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            let out = cargo_skill(home).args(args).output().unwrap();
            assert!(
                out.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            started.elapsed()
        })
        .collect();
    times.sort();
    (times[RUNS / 2], times[RUNS - 1])
}

/// Spawn to the first `tools/list` answer, and the peak RSS then in KiB.
fn mcp_start(home: &Path) -> (Duration, u64, usize) {
    let started = Instant::now();
    let mut child = cargo_skill(home)
        .args(["mcp", "--no-audit"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut send = |message: serde_json::Value| {
        writeln!(stdin, "{message}").unwrap();
        stdin.flush().unwrap();
    };
    let mut answer = || {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        serde_json::from_str::<serde_json::Value>(&line).unwrap()
    };
    send(
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "bench", "version": "1"}}}),
    );
    answer();
    send(serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    send(serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}));
    let listed = answer();
    let elapsed = started.elapsed();
    let tools = listed["result"]["tools"].as_array().map_or(0, Vec::len);
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let peak = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0);
    child.kill().ok();
    child.wait().ok();
    (elapsed, peak, tools)
}

fn install_generated(home: &Path, src: &Path) {
    std::fs::create_dir_all(home).unwrap();
    generate(src);
    let started = Instant::now();
    let out = cargo_skill(home)
        .args(["install", "-q", "--yes"])
        .arg(src)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!(
        "installed {PROMPTS} prompt and {TOOLS} tool skills in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let tmp = tempfile::tempdir().unwrap();
    // BENCH_HOME=DIR keeps the generated home there (made once) to profile.
    let kept = std::env::var_os("BENCH_HOME").map(std::path::PathBuf::from);
    let root = kept.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    let (home, src) = (root.join("home"), root.join("src"));
    if kept.is_none() || !home.join("skills").is_dir() {
        install_generated(&home, &src);
    }
    let (floor, floor_worst) = time(&home, &["--version"]);
    println!(
        "floor `cargo skill --version`: median {:.1} ms, worst {:.1} ms",
        ms(floor),
        ms(floor_worst)
    );
    let skills = home.join("skills");
    let skills = skills.to_str().unwrap();
    for args in [
        &["list"][..],
        &["list", "--message-format", "json"],
        &["to-prompt", skills],
        &["inspect", "t0050"],
        &["inspect", "prompt-0450"],
    ] {
        let (median, worst) = time(&home, args);
        println!(
            "{:<32} median {:7.1} ms (x{:.1} floor, {:+.1} ms), worst {:7.1} ms",
            args.join(" ").replace(skills, "HOME/skills"),
            ms(median),
            median.as_secs_f64() / floor.as_secs_f64(),
            ms(median) - ms(floor),
            ms(worst)
        );
    }
    let mut starts: Vec<(Duration, u64, usize)> = (0..RUNS).map(|_| mcp_start(&home)).collect();
    starts.sort();
    let (median, _, tools) = starts[RUNS / 2];
    let peak = starts.iter().map(|s| s.1).max().unwrap_or(0);
    println!(
        "mcp: first tools/list ({tools} tools) {:.1} ms median, {:.1} ms worst (x{:.1} floor); peak RSS {:.1} MiB at most",
        ms(median),
        ms(starts[RUNS - 1].0),
        median.as_secs_f64() / floor.as_secs_f64(),
        peak as f64 / 1024.0
    );
}
