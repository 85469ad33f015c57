//! Core-module skills through the real binary: `new --core`, `build` (kept a
//! core module), `validate`, `test`, `run`, `sign`, `publish`, `install`,
//! `convert`, `skill.toml` errors with their positions, and projects in the
//! shape the other runtime's own `skill init` writes, built with its command.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

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
    // The other runtime's format: its `[wasm] entry`, its import module.
    let toml = std::fs::read_to_string(skill.join("skill.toml")).unwrap();
    assert!(toml.contains("[wasm]\nentry = \"skill.wasm\""), "{toml}");
    let modules: Vec<String> = wasmparser::Parser::new(0)
        .parse_all(&wasm)
        .filter_map(|p| match p.unwrap() {
            wasmparser::Payload::ImportSection(s) => Some(s),
            _ => None,
        })
        .flat_map(|s| {
            s.into_imports()
                .map(|i| i.unwrap().module.to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        !modules.is_empty() && modules.iter().all(|m| m == "blufio"),
        "{modules:?}"
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
        report["limits"]["fuel"], 500_000_000,
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
        "[skill]\nname = \"weather_lookup\"\nversion = \"1.0.0\"\ndescription = \"Weather.\"\n\n[capabilities.network]\ndomains = [\"api.example.com\", \"bad host!\"]\n\n[resources]\nfuel = 0\ncolour = 1\n",
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
        "[skill]\nname = \"weather_lookup\"\nversion = \"1.0.0\"\ndescription = \"Weather.\"\n\n[capabilities.network]\ndomains = [\"api.example.com\", \"bad host!\"]\n\n[resources]\nfuel = 0\n",
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
        "[skill]\nname = \"weather_lookup\"\nversion = \"1.0.0\"\ndescription = \"Looks up the weather. Use it for forecasts.\"\nauthor = \"Ada\"\n\n[capabilities]\nenv = [\"TZ\"]\n\n[capabilities.network]\ndomains = [\"api.example.com\"]\n\n[capabilities.filesystem]\nread = [\"/srv/weather\"]\n\n[wasm]\nentry = \"weather_lookup.wasm\"\n",
    )
    .unwrap();
    ok(&run_in(h, h, &["convert", "weather_lookup"]));
    let md = std::fs::read_to_string(skill.join("SKILL.md")).unwrap();
    assert!(md.contains("name: weather-lookup"), "{md}");
    assert!(
        md.contains(
            "capabilities: \"http-get:*.api.example.com http-get:api.example.com http-post:*.api.example.com http-post:api.example.com read-file:/srv/weather read-env:TZ\""
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

/// What the other runtime's `skill init NAME` writes
/// (`crates/blufio-skill/src/scaffold.rs`): its Cargo.toml, a `run()` with
/// `body`, and its skill.toml with `extra` sections. One change: Rust 2024
/// refuses its `#[no_mangle]` ("unsafe attribute used without unsafe"), so
/// this writes the fix rustc suggests, as its users must.
fn blufio_init(parent: &Path, name: &str, body: &str, extra: &str) -> PathBuf {
    let dir = parent.join(name);
    let underscored = name.replace('-', "_");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[lib]\ncrate-type = [\"cdylib\"]\n\n[dependencies]\n# Add skill SDK dependencies here\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("src/lib.rs"),
        format!(
            "//! {name} - A Blufio skill\n//!\n//! Build: cargo build --target wasm32-wasip1 --release\n\n#[unsafe(no_mangle)]\npub extern \"C\" fn run() {{\n{body}\n}}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("skill.toml"),
        format!(
            "[skill]\nname = \"{name}\"\nversion = \"0.1.0\"\ndescription = \"A Blufio skill\"\n\n# Capabilities this skill needs (all empty = no permissions).\n[capabilities]\n# network.domains = [\"api.example.com\"]\n# env = [\"MY_API_KEY\"]\n\n# Resource limits for the WASM sandbox.\n[resources]\n{extra}\n[wasm]\nentry = \"{underscored}.wasm\"\n"
        ),
    )
    .unwrap();
    // `cargo build --target wasm32-wasip1 --release`, then the module where
    // `[wasm] entry` says.
    let target = skill_test_support::repo_root().join("target/e2e-skills/blufio");
    let built = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "build",
            "--target",
            "wasm32-wasip1",
            "--release",
            "--target-dir",
        ])
        .arg(&target)
        .current_dir(&dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .output()
        .unwrap();
    assert!(built.status.success(), "{}", stderr(&built));
    std::fs::copy(
        target.join(format!("wasm32-wasip1/release/{underscored}.wasm")),
        dir.join(format!("{underscored}.wasm")),
    )
    .unwrap();
    dir
}

#[test]
fn a_skill_made_by_the_other_runtimes_skill_init_runs_unchanged() {
    skill_test_support::ensure_wasm_target("wasm32-wasip1");
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let hello = blufio_init(
        h,
        "hello-blufio",
        "    // Skill implementation here.",
        "# fuel = 1_000_000_000\n",
    );
    ok(&run_in(h, h, &["validate", "--strict", "hello-blufio"]));
    let ran = run_in(
        h,
        h,
        &[
            "run",
            "hello-blufio",
            "--message-format",
            "json",
            "--input",
            "{}",
        ],
    );
    let report = stdout_json(&ran);
    assert_eq!(report["outcome"], "ok", "{report}");
    assert_eq!(report["output"], "Skill completed successfully (no output)");
    assert_eq!(report["sandboxed"], true);
    let inspected = run_in(&hello, h, &["inspect", "."]);
    ok(&inspected);

    // Its limits come from skill.toml: an endless loop under `fuel = 10_000`.
    blufio_init(
        h,
        "spin-blufio",
        "    loop {}",
        "fuel = 10_000\nepoch_timeout_secs = 1\n",
    );
    let ran = run_in(
        h,
        h,
        &[
            "run",
            "spin-blufio",
            "--message-format",
            "json",
            "--input",
            "{}",
        ],
    );
    let report = stdout_json(&ran);
    assert_eq!(report["kind"], "fuel-exhausted", "{report}");
    assert_eq!(report["limits"]["fuel"], 10_000);
    // With fuel out of the way (the operator's --fuel), the 1 s deadline ends it.
    let started = std::time::Instant::now();
    let ran = run_in(
        h,
        h,
        &[
            "run",
            "spin-blufio",
            "--fuel",
            "20000000000",
            "--message-format",
            "json",
            "--input",
            "{}",
        ],
    );
    let report = stdout_json(&ran);
    assert_eq!(report["kind"], "timeout", "{report}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));

    // std's I/O pulls WASI in, which neither runtime links: refused, naming it.
    blufio_init(h, "noisy-blufio", "    println!(\"hello\");", "");
    let ran = run_in(h, h, &["run", "noisy-blufio", "--input", "{}"]);
    assert_eq!(ran.status.code(), Some(1), "{}", stderr(&ran));
    let says = stderr(&ran);
    assert!(
        says.contains("error[invalid-component]")
            && says.contains("`wasi_snapshot_preview1.fd_write`")
            && says.contains("println!")
            && says.contains("wasm32-unknown-unknown"),
        "{says}"
    );
    assert_eq!(says.matches("(WASI)").count(), 1, "one sentence: {says}");
    let validated = run_in(h, h, &["validate", "noisy-blufio"]);
    assert_eq!(validated.status.code(), Some(1));
    let said = format!(
        "{}{}",
        stderr(&validated),
        String::from_utf8_lossy(&validated.stdout)
    );
    assert!(
        said.contains("noisy_blufio.wasm") && said.contains("fd_write"),
        "{said}"
    );
}

#[test]
fn host_folders_are_approved_at_install_with_a_warning_and_reached_beneath_only() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let cache = tempfile::tempdir().unwrap();
    let folder = cache.path().join("forecasts");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("oslo.json"), r#"{"temp":-3}"#).unwrap();
    std::fs::write(cache.path().join("private.txt"), "not for skills").unwrap();
    let skill = h.join("src/cache-reader");
    std::fs::create_dir_all(&skill).unwrap();
    std::fs::write(
        skill.join("skill.toml"),
        format!(
            "[skill]\nname = \"cache_reader\"\nversion = \"1.0.0\"\ndescription = \"Reads cached forecasts. Use it for the weather.\"\n\n[capabilities.filesystem]\nread = [\"{}/\"]\n",
            folder.display()
        ),
    )
    .unwrap();
    // `{}` (two bytes of input) reads inside the folder; anything else tries beside it.
    let inside = folder.join("oslo.json").display().to_string();
    let beside = cache.path().join("private.txt").display().to_string();
    let wasm = wat::parse_str(format!(
        r#"(module
            (import "blufio" "get_input_len" (func $len (result i32)))
            (import "blufio" "read_file" (func $read (param i32 i32 i32 i32) (result i32)))
            (memory (export "memory") 1)
            (data (i32.const 0) "{inside}")
            (data (i32.const 1024) "{beside}")
            (func (export "run")
              (if (i32.eq (call $len) (i32.const 2))
                (then (drop (call $read (i32.const 0) (i32.const {}) (i32.const 0) (i32.const 0))))
                (else (drop (call $read (i32.const 1024) (i32.const {}) (i32.const 0) (i32.const 0)))))))"#,
        inside.len(),
        beside.len()
    ))
    .unwrap();
    std::fs::write(skill.join("skill.wasm"), wasm).unwrap();
    ok(&run_in(h, h, &["convert", "src/cache-reader"]));
    let installed = run_in(h, h, &["install", skill.to_str().unwrap(), "--yes"]);
    ok(&installed);
    let said = stderr(&installed);
    assert!(
        said.contains(&format!(
            "warning: cache-reader asks for folders of this machine, outside its data folder: read-file:{}",
            folder.display()
        )),
        "{said}"
    );
    let run = |input: &str| {
        stdout_json(&run_in(
            h,
            h,
            &[
                "run",
                "cache-reader",
                "--message-format",
                "json",
                "--input",
                input,
            ],
        ))
    };
    let report = run("{}");
    assert_eq!(
        report["output"],
        serde_json::json!({"temp": -3}),
        "{report}"
    );
    assert_eq!(report["sandboxed"], true);
    let report = run(r#"{"x":1}"#);
    assert_eq!(report["kind"], "capability-denied", "{report}");
    assert!(
        report["message"]
            .as_str()
            .unwrap()
            .contains("outside the granted host folders"),
        "{report}"
    );
    // The folder's identity was pinned at approval.
    let meta_file = h.join("skills/cache-reader/.boternity-meta.toml");
    let meta = std::fs::read_to_string(&meta_file).unwrap();
    assert!(meta.contains("[pinned-folders]"), "{meta}");

    // Another real folder put in its place after approval is refused, with
    // the grant that approves it.
    std::fs::rename(&folder, cache.path().join("forecasts.old")).unwrap();
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("oslo.json"), r#"{"temp":99}"#).unwrap();
    let report = run("{}");
    assert_eq!(report["kind"], "capability-denied", "{report}");
    let message = report["message"].as_str().unwrap();
    assert!(
        message.contains("not the folder that was approved")
            && message.contains("approves it again by granting the skill `read-file:"),
        "{report}"
    );
    // The operator approves the folder there now.
    let granted = run_in(
        h,
        h,
        &[
            "grant",
            "cache-reader",
            &format!("read-file:{}", folder.display()),
        ],
    );
    ok(&granted);
    assert!(stderr(&granted).contains("Pinned"), "{}", stderr(&granted));
    assert_eq!(run("{}")["output"], serde_json::json!({"temp": 99}));

    // A grant recorded before folders were pinned is pinned at its first use.
    let unpinned: String = std::fs::read_to_string(&meta_file)
        .unwrap()
        .split("[pinned-folders]")
        .next()
        .unwrap()
        .to_string();
    std::fs::write(&meta_file, &unpinned).unwrap();
    assert_eq!(run("{}")["output"], serde_json::json!({"temp": 99}));
    assert!(
        std::fs::read_to_string(&meta_file)
            .unwrap()
            .contains("[pinned-folders]")
    );
    // The audit log shows the run that pinned it, and only that one.
    assert_eq!(run("{}")["output"], serde_json::json!({"temp": 99}));
    let audit = stdout_json(&run_in(
        h,
        h,
        &[
            "audit",
            "--skill",
            "cache-reader",
            "--message-format",
            "json",
        ],
    ));
    let pinned = format!("pinned-folder:{}", folder.display());
    let pinning = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r.to_string().contains(&pinned))
        .count();
    assert_eq!(pinning, 1, "{audit:#}");

    // The operator takes it back: the next run is denied.
    ok(&run_in(h, h, &["revoke", "cache-reader", "read-file"]));
    assert_eq!(run("{}")["kind"], "capability-denied");
}
