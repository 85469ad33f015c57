//! `cargo skill run`: the JSON contract, exit codes, inputs and flags.

use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};

use serde_json::json;

use crate::{cargo_skill, probe_skill_folder, stderr, stdout_json};

/// `cargo skill run --message-format json --input INPUT [FLAGS] SKILL`.
pub fn run_json(home: &Path, skill: &Path, input: &str, flags: &[&str]) -> Output {
    cargo_skill(home)
        .args(["run", "--message-format", "json", "--input", input])
        .args(flags)
        .arg(skill)
        .output()
        .unwrap()
}

fn probe_wasm() -> std::path::PathBuf {
    skill_test_support::guest_wasm_path("probe")
}

#[test]
fn json_result_has_the_documented_shape() {
    let home = tempfile::tempdir().unwrap();
    let out = cargo_skill(home.path())
        .args([
            "skill",
            "run",
            "--message-format",
            "json",
            "--input",
            r#"{"mode":"echo","x":1}"#,
        ])
        .arg(probe_wasm())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = stdout_json(&out);
    assert_eq!(v["outcome"], "ok");
    assert_eq!(v["output"], json!({"mode": "echo", "x": 1}));
    assert!(v["fuel_consumed"].as_u64().unwrap() > 0);
    assert!(v["peak_memory_bytes"].as_u64().unwrap() > 0);
    assert!(v["duration_ms"].as_f64().unwrap() > 0.0);
    assert!(v["host_calls"].is_array());
    assert!(v["logs"].is_array());
    assert_eq!(
        v["limits"]["fuel"], 500_000_000,
        "untrusted is the default tier"
    );
    assert_eq!(v["sandboxed"], true, "untrusted runs in a worker");
}

#[test]
fn untrusted_skills_never_leave_the_sandbox_and_doctor_checks_it_for_real() {
    let home = tempfile::tempdir().unwrap();
    let fs = run_json(home.path(), &probe_wasm(), r#"{"mode":"fs"}"#, &[]);
    assert_eq!(stdout_json(&fs)["sandboxed"], true);
    let refused = run_json(home.path(), &probe_wasm(), "{}", &["--sandbox", "none"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("they always run in the sandbox"),
        "{}",
        stderr(&refused)
    );
    let local = run_json(
        home.path(),
        &probe_wasm(),
        "{}",
        &["--sandbox", "none", "--tier", "verified"],
    );
    assert_eq!(stdout_json(&local)["sandboxed"], false);
    let sandboxed = run_json(home.path(), &probe_wasm(), "{}", &["--tier", "verified"]);
    assert_eq!(
        stdout_json(&sandboxed)["sandboxed"],
        true,
        "verified runs sandboxed by default"
    );

    let doctor = cargo_skill(home.path())
        .args(["doctor", "--message-format", "json"])
        .output()
        .unwrap();
    let report = stdout_json(&doctor);
    let check = |name: &str| {
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no {name} check: {report}"))
            .clone()
    };
    // macOS has no kernel feature to look for: the worker check below
    // shows Seatbelt applied.
    if cfg!(target_os = "linux") {
        assert_eq!(check("landlock")["status"], "ok", "{report}");
        assert_eq!(check("seccomp")["status"], "ok", "{report}");
    }
    let worker = check("sandbox worker");
    assert_eq!(worker["status"], "ok", "{report}");
    let detail = worker["detail"].as_str().unwrap();
    assert!(detail.contains("AF_INET socket"), "{detail}");
    let confined = if cfg!(target_os = "macos") {
        "confined by Seatbelt, rlimits"
    } else {
        "confined by Landlock ABI"
    };
    assert!(detail.contains(confined), "{detail}");
    let run = check("sandboxed run");
    assert_eq!(run["status"], "ok", "{report}");
    assert_eq!(check("trusted keys")["status"], "warn");
    assert!(check("trusted keys")["fix"].is_string());
    assert_eq!(doctor.status.code(), Some(0), "{report}");
}

#[test]
fn an_error_outcome_exits_one_with_its_kind() {
    let home = tempfile::tempdir().unwrap();
    let out = cargo_skill(home.path())
        .args([
            "run",
            "--message-format=json",
            "--input",
            r#"{"mode":"loop"}"#,
        ])
        .arg(probe_wasm())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v = stdout_json(&out);
    assert_eq!(v["outcome"], "error");
    assert_eq!(v["kind"], "fuel-exhausted");
    let message = v["message"].as_str().unwrap();
    assert!(message.contains("500000000"));
    assert!(
        message.contains("from the untrusted tier's default")
            && message.contains("To raise it for one run: `--fuel 1000000000`"),
        "{message}"
    );
    assert_eq!(v["fuel_consumed"], 500_000_000);
}

#[test]
fn operator_flags_may_raise_the_tier_limits() {
    let home = tempfile::tempdir().unwrap();
    let flags = [
        "--tier",
        "untrusted",
        "--fuel",
        "50000000",
        "--timeout",
        "150",
        "--memory",
        "32",
    ];
    let out = run_json(home.path(), &probe_wasm(), r#"{"mode":"loop"}"#, &flags);
    let v = stdout_json(&out);
    assert_eq!(v["limits"]["fuel"], 50_000_000);
    assert_eq!(v["limits"]["memory_bytes"], 32 * 1024 * 1024);
    assert_eq!(v["limits"]["timeout"], 150);
    // 50M fuel outlasts 150 ms only on a very fast machine; either way the
    // loop ends with one of the two limits, never hangs.
    let kind = v["kind"].as_str().unwrap();
    assert!(kind == "timeout" || kind == "fuel-exhausted", "{v}");
}

#[test]
fn input_comes_from_stdin_or_a_file() {
    let home = tempfile::tempdir().unwrap();
    let mut child = cargo_skill(home.path())
        .args(["run", "--message-format", "json"])
        .arg(probe_wasm())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"from":"stdin"}"#)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(stdout_json(&out)["output"]["from"], "stdin");

    let file = home.path().join("input.json");
    std::fs::write(&file, r#"{"from":"file"}"#).unwrap();
    let out = cargo_skill(home.path())
        .args(["run", "--message-format", "json", "--input-file"])
        .arg(&file)
        .arg(probe_wasm())
        .output()
        .unwrap();
    assert_eq!(stdout_json(&out)["output"]["from"], "file");
}

#[test]
fn bad_input_json_is_a_usage_error_with_a_position() {
    let home = tempfile::tempdir().unwrap();
    let out = cargo_skill(home.path())
        .args(["run", "--input", "{\"a\":\n  nope}"])
        .arg(probe_wasm())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("not valid JSON") && err.contains("line 2"),
        "{err}"
    );
}

#[test]
fn a_skill_folder_runs_under_its_folder_name() {
    let home = tempfile::tempdir().unwrap();
    let manifest = "---
name: weather-report
description: Reports.
---
";
    let skill = probe_skill_folder(home.path(), "weather-report", manifest);
    let out = run_json(home.path(), &skill, r#"{"mode":"context"}"#, &[]);
    let v = stdout_json(&out);
    assert_eq!(v["output"]["skill_name"], "weather-report");
    assert_eq!(v["output"]["invocation_id"], v["invocation_id"]);
}

#[test]
fn a_module_off_the_core_abi_is_an_invalid_component_outcome() {
    let home = tempfile::tempdir().unwrap();
    let module = home.path().join("core.wasm");
    std::fs::write(&module, wat::parse_str("(module)").unwrap()).unwrap();
    let out = run_json(home.path(), &module, "{}", &[]);
    assert_eq!(out.status.code(), Some(1));
    let v = stdout_json(&out);
    assert_eq!(v["kind"], "invalid-component");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("does not follow the core ABI"),
        "{v}"
    );
}

#[test]
fn verbose_prints_where_the_time_went_and_stdout_stays_the_result() {
    let home = tempfile::tempdir().unwrap();
    let out = cargo_skill(home.path())
        .args([
            "run",
            "-v",
            "--message-format",
            "json",
            "--input",
            r#"{"mode":"echo"}"#,
        ])
        .arg(probe_wasm())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout_json(&out)["output"], json!({"mode": "echo"}));
    let err = stderr(&out);
    for step in [
        "home opened",
        "prepared (tier, grants, limits)",
        "audit log opened",
        "component loaded (compile cache)",
        "invoked (sandbox worker; guest",
        "in all, from the start of `run`",
    ] {
        assert!(err.contains(step), "{step}: {err}");
    }
    let quiet = cargo_skill(home.path())
        .args(["run", "--message-format", "json", "--input", "{}"])
        .arg(probe_wasm())
        .output()
        .unwrap();
    assert!(!stderr(&quiet).contains(" ms  "), "{}", stderr(&quiet));
}

#[test]
fn human_output_prints_the_result_and_a_summary() {
    let home = tempfile::tempdir().unwrap();
    let out = cargo_skill(home.path())
        .args(["run", "--input", r#"{"mode":"log","times":2}"#])
        .arg(probe_wasm())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("\"logged\": 2"), "{stdout}");
    let err = stderr(&out);
    assert!(err.contains("[info] line 1"), "{err}");
    assert!(err.contains("ok in") && err.contains("untrusted"), "{err}");

    let out = cargo_skill(home.path())
        .args(["run", "--input", r#"{"mode":"http"}"#])
        .arg(probe_wasm())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("error[capability-denied]"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_missing_skill_is_a_usage_error() {
    let home = tempfile::tempdir().unwrap();
    let out = cargo_skill(home.path())
        .args(["run", "--input", "{}"])
        .arg(home.path().join("missing"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("does not exist"));
}

#[test]
fn a_skill_folder_may_lower_its_limits_but_not_raise_its_tier() {
    let home = tempfile::tempdir().unwrap();
    let manifest = "---\nname: probe\ndescription: d\nmetadata:\n  trust-tier: verified\n  resources: fuel=20000 memory=1GiB\n---\n";
    let skill = probe_skill_folder(home.path(), "probe", manifest);
    let out = run_json(home.path(), &skill, r#"{"mode":"loop"}"#, &[]);
    let v = stdout_json(&out);
    assert_eq!(
        v["tier"], "untrusted",
        "a folder earns untrusted; its own tier cannot raise that"
    );
    assert_eq!(
        v["limits"]["fuel"], 20_000,
        "the skill's own budget lowers the tier's"
    );
    assert_eq!(
        v["limits"]["memory_bytes"],
        16 * 1024 * 1024,
        "asking for more than the tier gives the tier's"
    );
    assert_eq!(v["kind"], "fuel-exhausted");

    let out = run_json(
        home.path(),
        &skill,
        "{}",
        &["--tier", "verified", "--fuel", "30000"],
    );
    let v = stdout_json(&out);
    assert_eq!(
        (v["tier"].as_str(), v["limits"]["fuel"].as_u64()),
        (Some("verified"), Some(30_000)),
        "operator flags win"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("running as verified although its source earns only untrusted"),
        "raising the tier warns"
    );
}

#[test]
fn grants_come_from_the_folder_and_the_flags() {
    let home = tempfile::tempdir().unwrap();
    let manifest = "---\nname: probe\ndescription: d\nmetadata:\n  capabilities: read-env:PROBE_ZONE get-secret:API_KEY http-get:example.com\n  secrets: API_KEY\n---\n";
    let skill = probe_skill_folder(home.path(), "probe", manifest);
    let run = |args: &[&str]| {
        cargo_skill(home.path())
            .env("PROBE_ZONE", "Europe/Oslo")
            .env("SKILL_SECRET_API_KEY", "s3cr3t-value")
            .args(["run", "--message-format", "json"])
            .args(args)
            .output()
            .unwrap()
    };
    let folder = skill.to_str().unwrap();
    let out = run(&[
        folder,
        "--input",
        r#"{"mode":"env-var","name":"PROBE_ZONE"}"#,
    ]);
    assert_eq!(
        stdout_json(&out)["output"]["value"],
        "Europe/Oslo",
        "declared and in scope"
    );

    let out = run(&[
        folder,
        "--deny",
        "read-env",
        "--input",
        r#"{"mode":"env-var","name":"PROBE_ZONE"}"#,
    ]);
    assert_eq!(stdout_json(&out)["kind"], "capability-denied");

    let out = run(&[folder, "--input", r#"{"mode":"leak-secret"}"#]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(stdout_json(&out)["output"]["length"], 12);
    assert!(
        text.contains("[redacted]") && !text.contains("s3cr3t"),
        "{text}"
    );

    let wasm = probe_wasm();
    let out = run(&[
        wasm.to_str().unwrap(),
        "--input",
        r#"{"mode":"env-var","name":"PROBE_ZONE"}"#,
    ]);
    assert_eq!(
        stdout_json(&out)["kind"],
        "capability-denied",
        "a bare .wasm has no grants"
    );
    let out = run(&[
        wasm.to_str().unwrap(),
        "--grant",
        "read-env:PROBE_ZONE",
        "--input",
        r#"{"mode":"env-var","name":"PROBE_ZONE"}"#,
    ]);
    assert_eq!(stdout_json(&out)["output"]["value"], "Europe/Oslo");
}

#[test]
fn counting_the_words_of_a_megabyte_fits_the_default_limits_of_both_tiers() {
    let home = tempfile::tempdir().unwrap();
    let words = ["skill", "agent", "runtime", "the", "quick", "brown", "fox"];
    let mut text = String::new();
    let mut count = 0;
    while text.len() < 1 << 20 {
        text.push_str(words[count % words.len()]);
        text.push(if count % 11 == 10 { '\n' } else { ' ' });
        count += 1;
    }
    let input = home.path().join("input.json");
    std::fs::write(&input, json!({"mode": "words", "text": text}).to_string()).unwrap();
    for tier in ["untrusted", "verified"] {
        let out = cargo_skill(home.path())
            .args([
                "run",
                "--message-format",
                "json",
                "--tier",
                tier,
                "--input-file",
            ])
            .arg(&input)
            .arg(probe_wasm())
            .output()
            .unwrap();
        let v = stdout_json(&out);
        assert_eq!(v["outcome"], "ok", "{tier}: {v}");
        assert_eq!(v["output"]["words"], count, "{tier}");
        let used = v["fuel_consumed"].as_u64().unwrap();
        let limit = v["limits"]["fuel"].as_u64().unwrap();
        eprintln!("{tier}: {used} of {limit} fuel for {} bytes", text.len());
        assert!(
            used * 4 < limit,
            "{tier}: {used} of {limit}: little headroom"
        );
    }
}
