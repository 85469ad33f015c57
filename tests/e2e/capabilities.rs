//! Capabilities through the real binary: a loopback HTTP server, the bot's
//! data folder, the secret store, the bot's identity and the audit log.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Output, Stdio};

use serde_json::Value;
use skill_test_support::http_server::{Response, TestServer};

use crate::run::run_json as run;
use crate::{cargo_skill, probe_skill_folder, stderr, stdout_json};

const MANIFEST: &str = "---\nname: probe\ndescription: d\nmetadata:\n  version: 1.2.3\n  capabilities: http-get:127.0.0.1 read-file write-file get-secret:API_KEY\n  secrets: API_KEY\n---\n";

#[test]
fn run_reaches_a_granted_server_and_the_bots_data_folder() {
    let home = tempfile::tempdir().unwrap();
    let skill = probe_skill_folder(home.path(), "probe", MANIFEST);
    let server = TestServer::start(|_| Response::ok("pong"));
    let http = format!(r#"{{"mode":"http","url":"{}"}}"#, server.url("/"));
    let out = run(home.path(), &skill, &http, &[]);
    assert_eq!(
        stdout_json(&out)["output"]["body"],
        "pong",
        "{}",
        stderr(&out)
    );
    let out = run(home.path(), &skill, &http, &["--deny", "http-get"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout_json(&out)["kind"], "capability-denied");
    assert_eq!(server.hits(), 1);

    let write = r#"{"mode":"write-file","path":"notes/a.txt","content":"kept"}"#;
    assert_eq!(run(home.path(), &skill, write, &[]).status.code(), Some(0));
    let data = home.path().join("bots/local/data/probe/notes/a.txt");
    assert_eq!(std::fs::read_to_string(data).unwrap(), "kept");
    // Another bot has its own data folder.
    let read = r#"{"mode":"read-file","path":"notes/a.txt"}"#;
    let out = run(home.path(), &skill, read, &["--bot", "ops"]);
    assert_eq!(stdout_json(&out)["kind"], "skill-error");
    let out = run(home.path(), &skill, read, &[]);
    assert_eq!(stdout_json(&out)["output"]["content"], "kept");
    let escape = r#"{"mode":"read-file","path":"../../../../secrets.json"}"#;
    assert_eq!(
        stdout_json(&run(home.path(), &skill, escape, &[]))["kind"],
        "capability-denied"
    );

    let out = run(home.path(), &skill, read, &["--bot", "Not A Slug"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("bot slug"), "{}", stderr(&out));
}

#[test]
fn context_names_the_bot_from_the_home_config() {
    let home = tempfile::tempdir().unwrap();
    let skill = probe_skill_folder(home.path(), "probe", MANIFEST);
    std::fs::write(
        home.path().join("config.toml"),
        "[bot]\nname = \"Ops Bot\"\nslug = \"ops\"\n",
    )
    .unwrap();
    let out = run(home.path(), &skill, r#"{"mode":"context"}"#, &[]);
    let context = &stdout_json(&out)["output"];
    assert_eq!(
        (context["bot_name"].as_str(), context["bot_slug"].as_str()),
        (Some("Ops Bot"), Some("ops"))
    );
    assert_eq!(context["skill_name"], "probe");

    std::fs::write(home.path().join("config.toml"), "[bot\n").unwrap();
    let out = run(home.path(), &skill, r#"{"mode":"context"}"#, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("config.toml is not valid TOML"),
        "{}",
        stderr(&out)
    );
}

fn secret(home: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = cargo_skill(home)
        .arg("secret")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A child that exits before reading closes the pipe: its status and
    // stderr say why, which the caller's assertions show.
    let _ = std::io::Write::write_all(&mut child.stdin.take().unwrap(), stdin.as_bytes());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success() || !out.stderr.is_empty(),
        "`secret {args:?}` failed silently: {out:?}"
    );
    out
}

#[test]
fn the_secret_store_is_private_and_feeds_declared_secrets_only() {
    let home = tempfile::tempdir().unwrap();
    let skill = probe_skill_folder(home.path(), "probe", MANIFEST);
    assert_eq!(
        secret(home.path(), &["set", "API_KEY"], "s3cr3t-value\n")
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        secret(home.path(), &["set", "OTHER"], "x").status.code(),
        Some(0)
    );
    let mode = std::fs::metadata(home.path().join("secrets.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let list = secret(home.path(), &["list"], "");
    assert_eq!(String::from_utf8_lossy(&list.stdout), "API_KEY\nOTHER\n");

    let out = run(home.path(), &skill, r#"{"mode":"secret"}"#, &[]);
    assert_eq!(stdout_json(&out)["output"], "s3cr3t-value");
    let leak = run(home.path(), &skill, r#"{"mode":"leak-secret"}"#, &[]);
    let text = String::from_utf8_lossy(&leak.stdout);
    assert!(
        text.contains("[redacted]") && !text.contains("s3cr3t"),
        "{text}"
    );
    let other = run(
        home.path(),
        &skill,
        r#"{"mode":"leak-secret","name":"OTHER"}"#,
        &[],
    );
    assert_eq!(
        stdout_json(&other)["kind"],
        "capability-denied",
        "OTHER is not declared"
    );
    let audit_db = std::fs::read(home.path().join("audit.db")).unwrap();
    assert!(!audit_db.windows(6).any(|w| w == b"s3cr3t"));

    assert_eq!(
        secret(home.path(), &["remove", "API_KEY"], "")
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        secret(home.path(), &["remove", "API_KEY"], "")
            .status
            .code(),
        Some(1)
    );
    let out = run(home.path(), &skill, r#"{"mode":"secret"}"#, &[]);
    assert!(
        stdout_json(&out)["message"]
            .as_str()
            .unwrap()
            .contains("stores it in the home's secret store, or sets SKILL_SECRET_API_KEY")
    );
    let bad = secret(home.path(), &["set", "bad name"], "x");
    assert_eq!(bad.status.code(), Some(2));
    assert_eq!(
        secret(home.path(), &["set", "EMPTY"], "").status.code(),
        Some(2)
    );

    std::fs::set_permissions(
        home.path().join("secrets.json"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let exposed = secret(home.path(), &["list"], "");
    assert_eq!(exposed.status.code(), Some(2));
    assert!(
        stderr(&exposed).contains("chmod 600"),
        "{}",
        stderr(&exposed)
    );
}

fn audit(home: &Path, args: &[&str]) -> Output {
    cargo_skill(home).arg("audit").args(args).output().unwrap()
}

fn audit_json(home: &Path, args: &[&str]) -> Vec<Value> {
    let out = audit(home, &[&["--message-format", "json"], args].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    stdout_json(&out).as_array().unwrap().clone()
}

#[test]
fn runs_from_concurrent_processes_are_all_audited() {
    let home = tempfile::tempdir().unwrap();
    let skill = probe_skill_folder(home.path(), "probe", MANIFEST);
    let no_log = audit(home.path(), &[]);
    assert_eq!(no_log.status.code(), Some(2));
    assert!(
        stderr(&no_log).contains("no audit log"),
        "{}",
        stderr(&no_log)
    );

    let children: Vec<_> = (0..4)
        .map(|i| {
            cargo_skill(home.path())
                .args([
                    "run",
                    "-q",
                    "--input",
                    &format!(r#"{{"mode":"echo","i":{i}}}"#),
                ])
                .arg(&skill)
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    run(
        home.path(),
        &skill,
        r#"{"mode":"http","url":"http://10.0.0.1/"}"#,
        &[],
    );
    run(home.path(), &skill, r#"{"mode":"echo"}"#, &["--no-audit"]);

    let all = audit_json(home.path(), &[]);
    assert_eq!(all.len(), 5);
    let denied = audit_json(home.path(), &["--outcome", "error"]);
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0]["outcome"], "capability-denied");
    assert_eq!(
        denied[0]["capabilities_denied"],
        serde_json::json!(["http-get"])
    );
    assert_eq!(denied[0]["version"], "1.2.3");
    assert_eq!(denied[0]["bot"], "local");
    assert!(denied[0]["time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        audit_json(home.path(), &["--outcome", "ok", "--skill", "probe"]).len(),
        4
    );
    assert_eq!(audit_json(home.path(), &["--skill", "other"]).len(), 0);
    assert_eq!(audit_json(home.path(), &["--since", "1h"]).len(), 5);
    assert_eq!(
        audit_json(home.path(), &["--since", "2099-01-01T00:00:00Z"]).len(),
        0
    );
    assert_eq!(audit_json(home.path(), &["--limit", "2"]).len(), 2);

    let human = audit(home.path(), &["--bot", "local"]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert_eq!(text.lines().count(), 5, "{text}");
    assert!(
        text.contains("capability-denied") && text.contains("probe@1.2.3"),
        "{text}"
    );
    for bad in [&["--outcome", "nope"][..], &["--since", "yesterday-ish"]] {
        let out = audit(home.path(), bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(stderr(&out).contains("expected"), "{}", stderr(&out));
    }
}
