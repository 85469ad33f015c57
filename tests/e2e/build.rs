//! `cargo skill new` and `cargo skill build`: the author's first minutes,
//! and every way a build can go wrong.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::{cargo_skill, stderr, stdout_json};

/// One target dir for every skill these tests build, so dependencies
/// compile once per machine rather than once per test.
fn target_dir() -> PathBuf {
    skill_test_support::repo_root().join("target/e2e-skills")
}

fn run_in(dir: &Path, home: &Path, args: &[&str]) -> Output {
    skill_test_support::ensure_wasm_target("wasm32-wasip2");
    cargo_skill(home)
        .current_dir(dir)
        .arg("skill")
        .args(args)
        .output()
        .unwrap()
}

fn new_tool(root: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let out = run_in(root, root, &[&["new", name, "--tool"], extra].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    root.join(name)
}

fn build(dir: &Path, home: &Path, extra: &[&str]) -> Output {
    let target = target_dir();
    let mut args = vec!["build", "--target-dir", target.to_str().unwrap()];
    args.extend_from_slice(extra);
    run_in(dir, home, &args)
}

#[test]
fn a_new_tool_skill_builds_validates_and_runs() {
    let root = tempfile::tempdir().unwrap();
    let skill = new_tool(
        root.path(),
        "weather-now",
        &[
            "--description",
            "Reports: the weather.",
            "--capabilities",
            "read-env:TZ",
        ],
    );
    let out = build(&skill, root.path(), &["--message-format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let artifact = stdout_json(&out);
    assert_eq!(artifact["reason"], "skill-artifact");
    assert_eq!(artifact["name"], "weather-now");
    assert_eq!(artifact["imports"], serde_json::json!(["http-get", "log"]));
    assert_eq!(
        artifact["warnings"][0]["code"], "capability-unused",
        "read-env is declared but unused"
    );
    let wasm = std::fs::read(skill.join("skill.wasm")).unwrap();
    assert_eq!(artifact["size"].as_u64(), Some(wasm.len() as u64));

    let out = run_in(&skill, root.path(), &["validate", "--strict", "."]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let out = run_in(
        &skill,
        root.path(),
        &[
            "run",
            ".",
            "--message-format",
            "json",
            "--input",
            r#"{"city":"Oslo","days":3}"#,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = stdout_json(&out);
    assert_eq!(v["output"], serde_json::json!({"ok": true, "fields": 2}));
    assert_eq!(
        v["logs"][0]["message"],
        "weather-now called with 2 field(s)"
    );
    let out = run_in(&skill, root.path(), &["run", ".", "--input", "{}"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the fresh template accepts any object"
    );

    let target = target_dir();
    let args = [
        "test",
        "--target-dir",
        target.to_str().unwrap(),
        "--message-format",
        "json",
    ];
    let out = run_in(&skill, root.path(), &args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the template's own cases pass: {stdout}"
    );
    assert!(stdout.contains(r#""passed":3"#), "{stdout}");
    assert!(
        stdout.contains(r#""function":"http-get","allowed":false"#),
        "the template asserts a denied capability: {stdout}"
    );
}

#[test]
fn a_new_prompt_skill_passes_strict_validation() {
    let root = tempfile::tempdir().unwrap();
    let out = run_in(
        root.path(),
        root.path(),
        &[
            "new",
            "meeting-notes",
            "--prompt",
            "--description",
            "Turns a transcript into notes.",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        root.path()
            .join("meeting-notes/references/REFERENCE.md")
            .is_file()
    );
    let out = run_in(
        root.path(),
        root.path(),
        &["validate", "--strict", "--deny-warnings", "meeting-notes"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn new_refuses_bad_names_and_never_overwrites() {
    let root = tempfile::tempdir().unwrap();
    let out = run_in(root.path(), root.path(), &["new", "Weather_Now"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not a valid skill name"));
    assert!(
        !root.path().join("Weather_Now").exists(),
        "nothing is written for a bad name"
    );

    std::fs::create_dir(root.path().join("taken")).unwrap();
    std::fs::write(root.path().join("taken/SKILL.md"), "mine").unwrap();
    let out = run_in(root.path(), root.path(), &["new", "taken", "--prompt"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("refusing to overwrite"));
    assert_eq!(
        std::fs::read_to_string(root.path().join("taken/SKILL.md")).unwrap(),
        "mine"
    );
}

#[test]
fn new_inside_a_workspace_adds_a_member() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(
        root.path().join("Cargo.toml"),
        "[workspace]\nresolver = \"3\"\nmembers = [\"tools/*\"]\n",
    )
    .unwrap();
    let out = run_in(
        root.path(),
        root.path(),
        &["new", "geo", "--path", "skills/geo"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let manifest = std::fs::read_to_string(root.path().join("Cargo.toml")).unwrap();
    assert!(manifest.contains("\"skills/geo\""), "{manifest}");
    let member = std::fs::read_to_string(root.path().join("skills/geo/Cargo.toml")).unwrap();
    assert!(
        !member.contains("[profile.release]"),
        "member profiles are ignored by cargo"
    );

    let out = run_in(
        root.path(),
        root.path(),
        &["new", "maps", "--path", "tools/maps"],
    );
    assert_eq!(out.status.code(), Some(0));
    let manifest = std::fs::read_to_string(root.path().join("Cargo.toml")).unwrap();
    assert!(
        !manifest.contains("\"tools/maps\""),
        "already covered by tools/*: {manifest}"
    );
}

#[test]
fn core_module_targets_are_componentized() {
    let root = tempfile::tempdir().unwrap();
    for (name, target) in [
        ("via-wasip1", "wasm32-wasip1"),
        ("via-unknown", "wasm32-unknown-unknown"),
    ] {
        skill_test_support::ensure_wasm_target(target);
        let skill = new_tool(root.path(), name, &[]);
        let out = build(
            &skill,
            root.path(),
            &["--target", target, "--message-format", "json"],
        );
        assert_eq!(out.status.code(), Some(0), "{target}: {}", stderr(&out));
        let out = run_in(
            &skill,
            root.path(),
            &[
                "run",
                ".",
                "--message-format",
                "json",
                "--input",
                r#"{"a":1}"#,
            ],
        );
        assert_eq!(
            stdout_json(&out)["output"],
            serde_json::json!({"ok": true, "fields": 1}),
            "{target}"
        );
    }
}

/// A skill folder for `--wasm`, named after the probe guest.
fn probe_folder(root: &Path, capabilities: &str) -> PathBuf {
    let dir = root.join("probe");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("SKILL.md"), format!("---\nname: probe\ndescription: The probe.\nmetadata:\n  skill-type: tool\n  capabilities: {capabilities}\n---\n")).unwrap();
    dir
}

#[test]
fn wasm_from_another_toolchain_is_adopted_after_the_same_checks() {
    let root = tempfile::tempdir().unwrap();
    let dir = probe_folder(
        root.path(),
        "http-get http-post get-secret read-env read-file write-file recall-memory",
    );
    let probe = skill_test_support::guest_wasm_path("probe");
    let out = run_in(
        root.path(),
        root.path(),
        &[
            "build",
            "--wasm",
            probe.to_str().unwrap(),
            "--skill",
            "probe",
            "--message-format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let artifact = stdout_json(&out);
    assert_eq!(
        artifact["imports"],
        serde_json::json!([
            "get-context",
            "get-secret",
            "http-get",
            "http-post",
            "log",
            "read-env",
            "read-file",
            "recall-memory",
            "write-file"
        ])
    );
    assert!(dir.join("skill.wasm").is_file());
}

#[test]
fn an_undeclared_capability_is_a_warning_and_the_component_is_adopted() {
    let root = tempfile::tempdir().unwrap();
    let dir = probe_folder(root.path(), "http-get");
    std::fs::write(dir.join("skill.wasm"), b"the last good build").unwrap();
    let probe = skill_test_support::guest_wasm_path("probe");
    let out = run_in(
        root.path(),
        root.path(),
        &[
            "build",
            "--wasm",
            probe.to_str().unwrap(),
            "--skill",
            "probe",
        ],
    );
    // Binding generators import the whole host interface: the undeclared
    // import will be denied at every call, which is worth a warning only.
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("warning[capability-undeclared]") && err.contains("get-secret"),
        "{err}"
    );
    assert!(err.contains("will be denied"), "{err}");
    assert_ne!(
        std::fs::read(dir.join("skill.wasm")).unwrap(),
        b"the last good build"
    );
}

#[test]
fn wrong_components_are_named_precisely() {
    let root = tempfile::tempdir().unwrap();
    probe_folder(root.path(), "http-get");
    let cases = [
        (
            "core.wasm",
            "(module)",
            "the core module exports no `run` function",
        ),
        (
            "mistyped.wasm",
            r#"(component
                (core module $m (func (export "f") (result i32) i32.const 1))
                (core instance $i (instantiate $m))
                (func $f (result u32) (canon lift (core func $i "f")))
                (export "get-name" (func $f)) (export "get-description" (func $f)) (export "execute" (func $f)))"#,
            "`execute` has type func() -> u32; expected func(string) -> result<string, string>",
        ),
    ];
    for (file, wat, expected) in cases {
        let path = root.path().join(file);
        std::fs::write(&path, wat::parse_str(wat).unwrap()).unwrap();
        let out = run_in(
            root.path(),
            root.path(),
            &[
                "build",
                "--wasm",
                path.to_str().unwrap(),
                "--skill",
                "probe",
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{file}");
        assert!(stderr(&out).contains(expected), "{file}: {}", stderr(&out));
    }
}

#[test]
fn build_errors_say_what_to_change() {
    let root = tempfile::tempdir().unwrap();
    let out = build(root.path(), root.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no Cargo.toml"), "{}", stderr(&out));

    let skill = new_tool(root.path(), "broken-skill", &[]);
    let not_a_file = root.path().join("a-file");
    std::fs::write(&not_a_file, "").unwrap();
    let out = run_in(
        &skill,
        root.path(),
        &[
            "build",
            "--target-dir",
            not_a_file.join("sub").to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is not writable"), "{}", stderr(&out));

    let manifest = skill.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace("crate-type = [\"cdylib\"]", "crate-type = [\"rlib\"]"),
    )
    .unwrap();
    let out = build(&skill, root.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is not a cdylib"), "{}", stderr(&out));
    std::fs::write(&manifest, text).unwrap();

    std::fs::write(skill.join("skill.wasm"), b"previous").unwrap();
    let lib = skill.join("src/lib.rs");
    let source = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(&lib, source.replace("= json!(", "= jsn!(")).unwrap();
    let out = build(&skill, root.path(), &[]);
    assert_ne!(out.status.code(), Some(0));
    let err = stderr(&out);
    assert!(
        err.contains("cannot find macro `jsn`"),
        "cargo's diagnostic is shown: {err}"
    );
    assert!(err.contains("could not build `broken-skill`"), "{err}");
    assert_eq!(
        std::fs::read(skill.join("skill.wasm")).unwrap(),
        b"previous"
    );
}

#[test]
fn json_messages_are_all_that_reaches_stdout() {
    let root = tempfile::tempdir().unwrap();
    let skill = new_tool(root.path(), "quiet-one", &[]);
    let out = build(&skill, root.path(), &["--message-format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("only JSON on stdout"))
        .collect();
    assert_eq!(lines.len(), 1);
    for key in ["path", "sha256", "size", "imports"] {
        assert!(lines[0].get(key).is_some(), "missing {key}");
    }
}
