//! What a chain costs over its steps run one after another by hand.
//!
//! `cargo bench -p skill-runtime --bench chain` installs the probe in a
//! scratch home, declares a three-step chain of it (inputs built by
//! templates), and measures, in the same run and interleaved:
//! - the floor: the three invocations a bot would make by hand, prepared
//!   and loaded once, each input written out beforehand;
//! - the chain checked once and run many times (`chain::run::run`);
//! - the chain as `mcp` serves it (`Calls::call_chain`: checked again only
//!   when its file or a step's files change);
//! - the chain read, checked and prepared on every call
//!   (`chain::run_chain`, what a one-shot `run --chain` does);
//!
//! in process (local tier) and in sandbox workers (untrusted), unaudited.
//! It prints p50/p99 of each, and the p50 overhead per step over the floor.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use skill_runtime::chain::{ready_chain, run, run_chain};
use skill_runtime::prepare::{Overrides, SkillRef, prepare};
use skill_runtime::sandbox::{SandboxConfig, WorkerCommand};
use skill_runtime::serving::calls::Calls;
use skill_runtime::store::installed::{InstalledMeta, Verification};
use skill_runtime::{Home, Runtime, RuntimeConfig};

const BOT: &str = "bench";
const INPUT: &str = r#"{"text": "one two three"}"#;
/// What the chain's templates build from `INPUT`, step by step.
const BY_HAND: [&str; 3] = [
    r#"{"mode":"words","text":"one two three"}"#,
    r#"{"mode":"work","iterations":3}"#,
    r#"{"mode":"echo","acc":33}"#,
];
const CHAIN: &str = r#"
[[chain]]
name = "three"
steps = [
  { skill = "probe", input = { mode = "words", text = "$input/text" } },
  { skill = "probe", input = { mode = "work", iterations = "$prev/words" } },
  { skill = "probe", input = { mode = "echo", acc = "$prev/acc" } },
]
"#;

fn install(home: &Home, tier: &str) {
    let dir = home.skill_dir("probe").unwrap();
    skill_test_support::write_probe_skill(&dir);
    InstalledMeta {
        name: "probe".into(),
        version: Some("1.0.0".into()),
        source: "file:///bench".into(),
        commit: None,
        trust_tier: tier.into(),
        verification: Verification::Untrusted,
        signer: None,
        sums_sha256: None,
        content_sha256: None,
        installed_at: "2026-12-08T00:00:00Z".into(),
        pinned_folders: Default::default(),
        grants: vec![],
        secrets: vec![],
        declared: vec![],
        allowed_findings: vec![],
        resources: Default::default(),
    }
    .write(&dir)
    .unwrap();
    let bot = home.bot_dir(BOT);
    std::fs::create_dir_all(&bot).unwrap();
    std::fs::write(bot.join("chains.toml"), CHAIN).unwrap();
}

fn percentile(samples: &mut [Duration], p: f64) -> f64 {
    samples.sort();
    let at = ((samples.len() as f64 * p) as usize).min(samples.len() - 1);
    samples[at].as_secs_f64() * 1e6
}

fn measure(label: &str, tier: &str, rounds: usize) {
    let root = tempfile::tempdir().unwrap();
    let home = Home::new(root.path());
    install(&home, tier);
    let mut config = RuntimeConfig::for_home(&home).unwrap();
    config.sandbox = SandboxConfig {
        worker: Some(WorkerCommand {
            program: env!("CARGO_BIN_EXE_skill-worker").into(),
            args: vec![],
        }),
        ..SandboxConfig::default()
    };
    let runtime = Arc::new(Runtime::new(config));
    let calls = Calls::new(home.clone(), BOT.into(), runtime.clone(), |_| None);
    let prepared = prepare(
        &home,
        runtime.config(),
        SkillRef::Installed("probe"),
        Some(BOT),
        &Overrides::default(),
    )
    .unwrap();
    let skill = prepared.load(&runtime).unwrap();
    let (chain, steps) = ready_chain(&home, &runtime, Some(BOT), "three").unwrap();

    let by_hand = || {
        for input in BY_HAND {
            let report = runtime.invoke(&skill, &prepared.invocation(input));
            assert!(report.is_ok(), "{}", report.to_json());
        }
    };
    let checked_once = || {
        let report = run::run(&runtime, &chain, &steps, INPUT);
        assert!(report.is_ok(), "{}", report.to_json());
    };
    let served = || {
        let input = serde_json::from_str(INPUT).unwrap();
        calls.call_chain("three", input).unwrap();
    };
    let whole = || {
        let report = run_chain(&home, &runtime, Some(BOT), "three", INPUT).unwrap();
        assert!(report.is_ok(), "{}", report.to_json());
    };
    let timed = |f: &dyn Fn()| {
        let started = Instant::now();
        f();
        started.elapsed()
    };
    // Warm: workers started, components loaded, caches filled.
    for _ in 0..50 {
        by_hand();
        checked_once();
        served();
        whole();
    }
    let (mut floor, mut once, mut serving, mut each) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        floor.push(timed(&by_hand));
        once.push(timed(&checked_once));
        serving.push(timed(&served));
        each.push(timed(&whole));
    }
    let floor_p50 = percentile(&mut floor, 0.5);
    println!("{label}, {rounds} rounds of 3 steps:");
    println!(
        "  floor (3 invocations by hand)     p50 {floor_p50:>9.1} us  p99 {:>9.1} us",
        percentile(&mut floor, 0.99)
    );
    for (what, samples) in [
        ("chain checked once (run::run)", &mut once),
        ("served (Calls::call_chain)", &mut serving),
        ("chain read each call (run_chain)", &mut each),
    ] {
        let p50 = percentile(samples, 0.5);
        println!(
            "  {what:<33} p50 {p50:>9.1} us  p99 {:>9.1} us  ({:.2}x the floor; {:+.1} us per step)",
            percentile(samples, 0.99),
            p50 / floor_p50,
            (p50 - floor_p50) / 3.0
        );
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    assert!(Path::new(env!("CARGO_BIN_EXE_skill-worker")).is_file());
    measure("in process (local tier)", "local", 2000);
    measure("sandboxed (untrusted tier)", "untrusted", 1000);
}
