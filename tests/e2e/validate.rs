//! `cargo skill validate`, `inspect` and `to-prompt` through the binary.

use std::path::Path;

use serde_json::Value;

use crate::{cargo_skill, stderr};

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A repository with one clean skill, one with a warning, one with an error.
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "skills/clean/SKILL.md",
        "---\nname: clean\ndescription: Cleans & <tidies>.\nmetadata:\n  version: \"1.0.0\"\n  capabilities: http-get:api.example.com\n---\n# Clean\n",
    );
    write(
        dir.path(),
        "skills/warned/SKILL.md",
        "---\nname: warned\ndescription: Has an extra field.\nauthor: someone\n---\n",
    );
    write(
        dir.path(),
        "skills/broken/SKILL.md",
        "---\nname: broken\n---\n",
    );
    dir
}

fn validate(root: &Path, args: &[&str]) -> std::process::Output {
    cargo_skill(root)
        .arg("skill")
        .arg("validate")
        .args(args)
        .arg(root)
        .output()
        .unwrap()
}

#[test]
fn exit_codes_follow_errors_and_deny_warnings() {
    let dir = repo();
    assert_eq!(
        validate(dir.path(), &[]).status.code(),
        Some(1),
        "an error fails"
    );
    std::fs::remove_dir_all(dir.path().join("skills/broken")).unwrap();
    assert_eq!(
        validate(dir.path(), &[]).status.code(),
        Some(0),
        "warnings pass by default"
    );
    assert_eq!(
        validate(dir.path(), &["--deny-warnings"]).status.code(),
        Some(1)
    );
    assert_eq!(
        validate(dir.path(), &["--strict"]).status.code(),
        Some(1),
        "an unknown field is an error in strict mode"
    );
}

#[test]
fn human_output_is_rustc_style_with_a_summary() {
    let dir = repo();
    let out = validate(dir.path(), &["--color", "never"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("error[description-missing]: the required field `description` is missing"),
        "{text}"
    );
    assert!(text.contains("skills/broken/SKILL.md:2:1"), "{text}");
    assert!(text.contains("warning[unexpected-field]"), "{text}");
    assert!(text.contains("4 | author: someone\n  | ^^^^^^^"), "{text}");
    assert!(text.contains("= help:"), "{text}");
    assert!(
        text.trim_end()
            .ends_with("validated 3 skills: 1 error, 1 warning"),
        "{text}"
    );
    assert!(
        !text.contains('\u{1b}'),
        "no color codes with --color never"
    );
    let colored = validate(dir.path(), &["--color", "always"]);
    assert!(String::from_utf8_lossy(&colored.stdout).contains('\u{1b}'));
}

#[test]
fn json_output_is_one_object_per_line() {
    let dir = repo();
    let out = validate(dir.path(), &["--message-format", "json", "--strict"]);
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary = lines.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(
        (summary["skills"].as_u64(), summary["errors"].as_u64()),
        (Some(3), Some(2))
    );
    let unexpected = lines
        .iter()
        .find(|l| l["code"] == "unexpected-field")
        .unwrap();
    assert_eq!(unexpected["severity"], "error");
    assert_eq!(
        (unexpected["line"].as_u64(), unexpected["column"].as_u64()),
        (Some(4), Some(1))
    );
    assert!(
        unexpected["file"]
            .as_str()
            .unwrap()
            .ends_with("skills/warned/SKILL.md")
    );
}

#[test]
fn github_output_annotates() {
    let dir = repo();
    let out = validate(dir.path(), &["--message-format", "github"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.starts_with("::error")).unwrap();
    assert!(line.contains("title=description-missing::"), "{line}");
    assert!(line.contains(",line=2,col=1,"), "{line}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("::warning ") && l.contains("title=unexpected-field")),
        "{text}"
    );
}

#[test]
fn to_prompt_prints_the_available_skills_block() {
    let dir = repo();
    let out = cargo_skill(dir.path())
        .args(["to-prompt"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let clean = dir
        .path()
        .join("skills/clean/SKILL.md")
        .canonicalize()
        .unwrap();
    let expected_clean = format!(
        "<skill>\n<name>\nclean\n</name>\n<description>\nCleans &amp; &lt;tidies&gt;.\n</description>\n<location>\n{}\n</location>\n</skill>",
        clean.display()
    );
    assert!(text.starts_with("<available_skills>\n"), "{text}");
    assert!(text.contains(&expected_clean), "{text}");
    assert!(
        text.contains("<name>\nwarned\n</name>"),
        "warnings do not leave a skill out"
    );
    assert!(!text.contains("broken"), "skills with errors are left out");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("left out") && stderr(&out).contains("broken"));
}

#[test]
fn inspect_resolves_capabilities_through_mixins() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "skills/base-http/SKILL.md",
        "---\nname: base-http\ndescription: Base.\nmetadata:\n  capabilities: http-get:api.example.com\n---\n",
    );
    write(
        dir.path(),
        "skills/weather/SKILL.md",
        "---\nname: weather\ndescription: Weather.\nmetadata:\n  version: \"2.1.0\"\n  parents: base-http\n  capabilities: read-env:TZ\n  secrets: WEATHER_KEY\n---\n",
    );
    let out = cargo_skill(dir.path())
        .args(["inspect", "--message-format", "json"])
        .arg(dir.path().join("skills/weather"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["manifest"]["name"], "weather");
    assert_eq!(v["manifest"]["extensions"]["version"], "2.1.0");
    assert_eq!(v["mixin_chain"], serde_json::json!(["base-http"]));
    assert_eq!(
        v["resolved_capabilities"],
        serde_json::json!(["http-get:api.example.com", "read-env:TZ"])
    );
    assert_eq!(v["skill_type"], "prompt");

    let human = cargo_skill(dir.path())
        .args(["inspect", "--color", "never"])
        .arg(dir.path().join("skills/weather"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("after mixins: http-get:api.example.com read-env:TZ"),
        "{text}"
    );
}

#[test]
fn a_tool_skill_component_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "probe/SKILL.md",
        "---\nname: probe\ndescription: The probe.\nmetadata:\n  skill-type: tool\n  capabilities: http-get\n---\n",
    );
    std::fs::copy(
        skill_test_support::guest_wasm_path("probe"),
        dir.path().join("probe/skill.wasm"),
    )
    .unwrap();
    let out = validate(&dir.path().join("probe"), &["--message-format", "json"]);
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let undeclared = lines
        .iter()
        .find(|l| l["code"] == "capability-undeclared")
        .expect("get-secret is imported but undeclared");
    assert!(
        undeclared["message"]
            .as_str()
            .unwrap()
            .contains("get-secret")
    );
    assert_eq!(undeclared["severity"], "warning");
    assert_eq!(out.status.code(), Some(0));
    let strict = validate(&dir.path().join("probe"), &["--deny-warnings"]);
    assert_eq!(strict.status.code(), Some(1));
}
