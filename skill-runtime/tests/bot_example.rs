//! `examples/bot.rs`, run as a bot would run it, against a home laid out
//! the way `cargo skill install` leaves it (written with the same library
//! types): the bot's pin and lowered limits hold, and a skill the bot
//! disabled does not run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use skill_runtime::Home;
use skill_runtime::store::bots::{BotSkill, BotSkills};
use skill_runtime::store::installed::{InstalledMeta, Verification};

fn example() -> PathBuf {
    let worker = PathBuf::from(env!("CARGO_BIN_EXE_skill-worker"));
    let bot = worker.parent().unwrap().join("examples/bot");
    assert!(
        bot.is_file(),
        "{} is missing: `cargo test --workspace` builds it (or `cargo build -p skill-runtime --examples` first)",
        bot.display()
    );
    bot
}

fn install_probe(home: &Path) {
    let dir = Home::new(home).skill_dir("probe").unwrap();
    skill_test_support::write_probe_skill(&dir);
    InstalledMeta {
        name: "probe".into(),
        version: Some("1.0.0".into()),
        source: "file:///nowhere".into(),
        commit: None,
        trust_tier: "untrusted".into(),
        verification: Verification::Untrusted,
        signer: None,
        sums_sha256: None,
        content_sha256: None,
        installed_at: "2026-11-29T00:00:00Z".into(),
        pinned_folders: Default::default(),
        grants: vec![],
        secrets: vec![],
        declared: vec![],
        allowed_findings: vec![],
        resources: Default::default(),
    }
    .write(&dir)
    .unwrap();
}

fn settings(home: &Path, skill: BotSkill) {
    BotSkills {
        skills: BTreeMap::from([("probe".to_string(), skill)]),
    }
    .write(&Home::new(home), "night")
    .unwrap();
}

fn run(home: &Path, input: &str) -> Output {
    std::process::Command::new(example())
        .args(["probe", "night", input])
        .env("CARGO_SKILL_HOME", home)
        .env("SKILL_WORKER", env!("CARGO_BIN_EXE_skill-worker"))
        .output()
        .unwrap()
}

#[test]
fn the_example_bot_runs_an_installed_skill_as_its_settings_say() {
    let home = tempfile::tempdir().unwrap();
    install_probe(home.path());
    settings(
        home.path(),
        BotSkill {
            enabled: true,
            version: Some("^1".into()),
            fuel: Some(20_000),
            memory_mb: Some(8),
            ..BotSkill::default()
        },
    );
    let out = run(home.path(), r#"{"mode":"loop"}"#);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(report["kind"], "fuel-exhausted", "{report}");
    assert_eq!(report["tier"], "untrusted");
    assert_eq!(report["sandboxed"], true, "{report}");
    assert_eq!(report["limits"]["fuel"], 20_000, "the bot's lowered fuel");
    assert_eq!(report["limits"]["memory_bytes"], 8 * 1024 * 1024);
    assert_eq!(out.status.code(), Some(1));
    let audit = skill_runtime::AuditLog::open(&Home::new(home.path()).audit_db()).unwrap();
    let records = audit.query(&Default::default()).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(
        (records[0].bot.as_str(), records[0].skill.as_str()),
        ("night", "probe")
    );

    let ok = run(home.path(), r#"{"mode":"echo","value":1}"#);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    settings(
        home.path(),
        BotSkill {
            enabled: true,
            version: Some("^2".into()),
            ..BotSkill::default()
        },
    );
    let pinned = run(home.path(), "{}");
    assert_ne!(pinned.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&pinned.stderr).contains("pins probe to ^2"),
        "{}",
        String::from_utf8_lossy(&pinned.stderr)
    );

    settings(home.path(), BotSkill::default());
    let disabled = run(home.path(), "{}");
    assert!(
        String::from_utf8_lossy(&disabled.stderr).contains("probe is disabled for bot `night`"),
        "{}",
        String::from_utf8_lossy(&disabled.stderr)
    );
}
