//! Core-module skills through the real binary: `new --core`, `build` (kept a
//! core module), `validate`, `test`, `run`, `sign`, `publish`, `install`,
//! `convert`, and `skill.toml` errors with their positions.

use std::path::Path;
use std::process::{Output, Stdio};

use serde_json::Value;

use crate::publish::{bare_repo, keygen};
use crate::{cargo_skill, stderr, stdout_json};

fn run_in(dir: &Path, home: &Path, args: &[&str]) -> Output {
    cargo_skill(home)
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn ok(out: &Output) {
    assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
}

#[test]
fn a_core_skill_goes_from_new_to_an_installed_run() {
    skill_test_support::ensure_wasm_target("wasm32-unknown-unknown");
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    ok(&run_in(
        h,
        h,
        &[
            "new",
            "tz-reader",
            "--core",
            "--description",
            "Reads TZ. Use it for time zones.",
        ],
    ));
    let skill = h.join("tz-reader");
    assert!(skill.join("skill.toml").is_file() && skill.join("SKILL.md").is_file());

    let target = skill_test_support::repo_root().join("target/e2e-skills");
    let built = run_in(
        &skill,
        h,
        &[
            "build",
            "--release",
            "--target-dir",
            target.to_str().unwrap(),
            "--message-format",
            "json",
        ],
    );
    ok(&built);
    let artifact = stdout_json(&built);
    assert_eq!(
        artifact["imports"],
        serde_json::json!(["get_env", "get_input", "get_input_len", "log", "set_output"])
    );
    let wasm = std::fs::read(skill.join("skill.wasm")).unwrap();
    assert!(
        wasmparser::Parser::is_core_wasm(&wasm),
        "kept a core module"
    );

    ok(&run_in(&skill, h, &["validate", "--strict", "."]));
    let tested = run_in(
        &skill,
        h,
        &[
            "test",
            "--message-format",
            "json",
            "--target-dir",
            target.to_str().unwrap(),
        ],
    );
    ok(&tested);
    let ran = run_in(
        &skill,
        h,
        &[
            "run",
            ".",
            "--message-format",
            "json",
            "--input",
            r#"{"env":"TZ"}"#,
        ],
    );
    let report = stdout_json(&ran);
    assert_eq!(report["outcome"], "ok", "{report}");
    assert_eq!(
        report["sandboxed"], true,
        "untrusted by default, in the worker"
    );
    assert_eq!(
        report["limits"]["fuel"], 500_000,
        "the tier's fuel is below skill.toml's 1e9"
    );

    // Signed, published, installed and run as an installed skill.
    let public = keygen(h);
    std::fs::write(h.join("trusted-keys"), format!("{public}\n")).unwrap();
    let remote = bare_repo(h);
    let url = format!("file://{}", remote.display());
    ok(&run_in(
        &skill,
        h,
        &["publish", "--repo", &url, "--no-test"],
    ));
    let installed = run_in(h, h, &["install", &url, "--yes", "--require-signature"]);
    ok(&installed);
    assert!(
        stderr(&installed).contains("Installed tz-reader v0.1.0 (Verified"),
        "{}",
        stderr(&installed)
    );
    let out = cargo_skill(h)
        .env("TZ", "Europe/Oslo")
        .args([
            "run",
            "tz-reader",
            "--message-format",
            "json",
            "--input",
            r#"{"env":"TZ"}"#,
        ])
        .output()
        .unwrap();
    let report = stdout_json(&out);
    assert_eq!(report["output"]["value"], "Europe/Oslo", "{report}");
}

#[test]
fn skill_toml_errors_point_at_the_line_and_convert_writes_an_agreeing_skill_md() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let skill = h.join("weather_lookup");
    std::fs::create_dir_all(&skill).unwrap();
    std::fs::write(
        skill.join("skill.toml"),
        "[skill]\nname = \"weather_lookup\"\nversion = \"1.0.0\"\ndescription = \"Weather.\"\n\n[capabilities]\nnetwork = [\"api.example.com\", \"bad host!\"]\n\n[resources]\nfuel = 0\ncolour = 1\n",
    )
    .unwrap();
    let out = run_in(
        h,
        h,
        &["validate", "--message-format", "json", "weather_lookup"],
    );
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let diagnostics: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let find = |code: &str| {
        diagnostics
            .iter()
            .find(|d| d["code"] == code)
            .unwrap_or_else(|| panic!("no {code} in {text}"))
            .clone()
    };
    let unknown = find("toml-invalid");
    assert_eq!(
        (unknown["line"].as_u64(), unknown["column"].as_u64()),
        (Some(11), Some(1)),
        "{unknown}"
    );
    assert!(unknown["message"].as_str().unwrap().contains("colour"));

    std::fs::write(
        skill.join("skill.toml"),
        "[skill]\nname = \"weather_lookup\"\nversion = \"1.0.0\"\ndescription = \"Weather.\"\n\n[capabilities]\nnetwork = [\"api.example.com\", \"bad host!\"]\n\n[resources]\nfuel = 0\n",
    )
    .unwrap();
    let out = run_in(
        h,
        h,
        &["validate", "--message-format", "json", "weather_lookup"],
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let diagnostics: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let at = |code: &str| {
        let d = diagnostics
            .iter()
            .find(|d| d["code"] == code)
            .unwrap_or_else(|| panic!("no {code} in {text}"));
        (d["line"].as_u64().unwrap(), d["column"].as_u64().unwrap())
    };
    assert_eq!(at("core-capability-invalid"), (7, 31));
    assert_eq!(at("core-resources-invalid"), (10, 8));

    // A clean skill.toml converts to a SKILL.md that agrees with it.
    std::fs::write(
        skill.join("skill.toml"),
        "[skill]\nname = \"weather_lookup\"\nversion = \"1.0.0\"\ndescription = \"Looks up the weather. Use it for forecasts.\"\nauthor = \"Ada\"\n\n[capabilities]\nnetwork = [\"api.example.com\"]\nenv = [\"TZ\"]\n",
    )
    .unwrap();
    ok(&run_in(h, h, &["convert", "weather_lookup"]));
    let md = std::fs::read_to_string(skill.join("SKILL.md")).unwrap();
    assert!(md.contains("name: weather-lookup"), "{md}");
    assert!(
        md.contains(
            "capabilities: \"http-get:api.example.com http-post:api.example.com read-env:TZ\""
        ),
        "{md}"
    );
    let again = run_in(h, h, &["convert", "weather_lookup"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("--force"));
    // Now they must agree: change one and validate names the difference.
    std::fs::write(
        skill.join("skill.toml"),
        std::fs::read_to_string(skill.join("skill.toml"))
            .unwrap()
            .replace("1.0.0", "1.1.0"),
    )
    .unwrap();
    let out = run_in(
        h,
        h,
        &["validate", "--message-format", "json", "weather_lookup"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("manifests-disagree") && text.contains("1.1.0"),
        "{text}"
    );
    ok(&run_in(h, h, &["convert", "weather_lookup", "--force"]));
    let out = run_in(
        h,
        h,
        &["validate", "--message-format", "json", "weather_lookup"],
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("manifests-disagree"));
}
