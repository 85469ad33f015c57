//! Skills in other languages, built with the toolchains their authors use
//! (componentize-py, componentize-js; pinned) from the shipped WIT with no
//! trimming: adopted, validated and run like a Rust skill.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;
use skill_test_support::http_server::{Response, TestServer};
use skill_test_support::other_languages::{javascript_guest, python_guest};

use crate::run::run_json as run;
use crate::{cargo_skill, probe_skill_folder, stderr, stdout_json};

/// A skill folder `root/<name>` whose component is adopted from `wasm`.
fn adopted(home: &Path, name: &str, capabilities: &str, wasm: &Path) -> PathBuf {
    let dir = home.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("SKILL.md"),
        format!("---\nname: {name}\ndescription: A skill in another language.\nmetadata:\n  skill-type: tool\n  capabilities: {capabilities}\n---\n# {name}\n"),
    )
    .unwrap();
    let out = cargo_skill(home)
        .args(["skill", "build", "--wasm"])
        .arg(wasm)
        .arg("--skill")
        .arg(&dir)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    // The bindings import the whole host interface; what is not declared
    // is a warning, never a refusal.
    assert!(!err.contains("error["), "{err}");
    assert!(err.contains("warning[capability-undeclared]"), "{err}");
    let out = cargo_skill(home)
        .args(["skill", "validate"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    dir
}

fn denied_calls(out: &Value) -> Vec<String> {
    out["host_calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["allowed"] == false)
        .map(|c| c["function"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_python_skill_runs_logs_and_reaches_only_what_it_was_granted() {
    let home = tempfile::tempdir().unwrap();
    let skill = adopted(
        home.path(),
        "py-probe",
        "http-get:127.0.0.1",
        &python_guest(),
    );
    // The world report: componentize-py's libc links sockets, present but denied.
    let out = cargo_skill(home.path())
        .args(["skill", "inspect"])
        .arg(&skill)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("wasi:sockets/tcp-create-socket@0.2.9 (provided, denied)"),
        "{text}"
    );

    let out = run(home.path(), &skill, r#"{"mode":"echo","n":1}"#, &[]);
    let json = stdout_json(&out);
    assert_eq!(json["outcome"], "ok", "{json}");
    assert_eq!(json["output"]["language"], "python");
    assert_eq!(json["tier"], "untrusted");

    let json = stdout_json(&run(home.path(), &skill, r#"{"mode":"log"}"#, &[]));
    assert_eq!(json["logs"][0]["message"], "hello from python", "{json}");

    let server = TestServer::start(|_| Response::ok("pong"));
    let http = format!(r#"{{"mode":"http","url":"{}"}}"#, server.url("/"));
    let json = stdout_json(&run(home.path(), &skill, &http, &[]));
    assert_eq!(json["output"]["body"], "pong", "{json}");

    let out = run(home.path(), &skill, r#"{"mode":"secret"}"#, &[]);
    let json = stdout_json(&out);
    assert_eq!(json["kind"], "capability-denied", "{json}");
    assert_eq!(denied_calls(&json), ["get-secret"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_javascript_skill_runs_and_its_fetch_is_refused_visibly() {
    let home = tempfile::tempdir().unwrap();
    let skill = adopted(
        home.path(),
        "js-probe",
        "http-get:127.0.0.1",
        &javascript_guest(),
    );

    let json = stdout_json(&run(home.path(), &skill, r#"{"mode":"echo","n":1}"#, &[]));
    assert_eq!(json["output"]["language"], "javascript", "{json}");
    let json = stdout_json(&run(home.path(), &skill, r#"{"mode":"log"}"#, &[]));
    assert_eq!(
        json["logs"][0]["message"], "hello from javascript",
        "{json}"
    );

    // fetch() goes through wasi:http: present, refused, recorded.
    let server = TestServer::start(|_| Response::ok("pong"));
    let fetch = format!(r#"{{"mode":"fetch","url":"{}"}}"#, server.url("/"));
    let json = stdout_json(&run(home.path(), &skill, &fetch, &[]));
    assert_eq!(json["outcome"], "ok", "{json}");
    assert_eq!(denied_calls(&json), ["wasi:http/outgoing-handler#handle"]);
    assert_eq!(server.hits(), 0);

    // Measured next to plain wasmtime (which links wasi:http as it comes).
    let out = cargo_skill(home.path())
        .args([
            "skill",
            "bench",
            "--iterations",
            "20",
            "--message-format",
            "json",
        ])
        .args(["--input", r#"{"mode":"echo"}"#])
        .arg(&skill)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let bench: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        bench["ratio_p50"].as_f64().is_some_and(|r| r > 0.0),
        "{bench}"
    );
    assert!(
        bench["fuel_per_call"].as_u64().is_some_and(|f| f > 100_000),
        "{bench}"
    );
    for floor in ["floor_compile_us", "floor_load_us"] {
        assert!(bench[floor].as_f64().is_some_and(|t| t > 0.0), "{bench}");
    }
}

#[test]
fn sockets_are_linked_but_every_use_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let skill = probe_skill_folder(
        home.path(),
        "probe",
        "---\nname: probe\ndescription: d\nmetadata:\n  capabilities: http-get:127.0.0.1\n---\n",
    );
    let input = format!(r#"{{"mode":"connect","addr":"{addr}","host":"localhost"}}"#);
    for tier in ["untrusted", "local"] {
        let json = stdout_json(&run(home.path(), &skill, &input, &["--tier", tier]));
        assert_eq!(json["outcome"], "ok", "{json}");
        let output = &json["output"];
        // The guest sees the refusal as an error of its own library.
        assert!(
            output["connect"]
                .as_str()
                .is_some_and(|e| e.contains("ermission denied")),
            "{output}"
        );
        assert!(output["lookup"].is_string(), "{output}");
        assert_eq!(
            denied_calls(&json),
            [
                "wasi:sockets/tcp-create-socket#create-tcp-socket",
                "wasi:sockets/ip-name-lookup#resolve-addresses"
            ],
            "{tier}"
        );
    }
    listener.set_nonblocking(true).unwrap();
    assert!(listener.accept().is_err(), "nothing connected");
}

#[test]
fn a_foreign_component_is_refused_before_anything_is_compiled() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("server");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("SKILL.md"),
        "---\nname: server\ndescription: d\nmetadata:\n  skill-type: tool\n---\n",
    )
    .unwrap();
    // Another world's component with much code: compiling it would take
    // seconds, so a refusal in well under one shows nothing was compiled.
    let functions: String = (0..60_000)
        .map(|i| format!("(func (param i64) (result i64) (i64.mul (i64.add (local.get 0) (i64.const {i})) (i64.xor (local.get 0) (i64.const 7))))"))
        .collect();
    let wasm = dir.join("foreign.wasm");
    let text = format!(
        r#"(component (import "wasi:http/incoming-handler@0.2.0" (instance)) (core module {functions}))"#
    );
    std::fs::write(&wasm, wat::parse_str(text).unwrap()).unwrap();
    let started = Instant::now();
    let out = cargo_skill(home.path())
        .args(["skill", "build", "--wasm"])
        .arg(&wasm)
        .args(["--skill"])
        .arg(&dir)
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("wasi:http/incoming-handler@0.2.0"), "{err}");
    assert!(err.contains("does not export `execute`"), "{err}");
    assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");
    let cache = home.path().join("cache/compiled");
    let entries = std::fs::read_dir(&cache).map(|d| d.count()).unwrap_or(0);
    assert_eq!(entries, 0, "nothing compiled into {}", cache.display());
}

#[test]
fn a_skill_asks_for_more_memory_and_only_the_operator_grants_it() {
    let home = tempfile::tempdir().unwrap();
    let src = home.path().join("src/py-probe");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::copy(python_guest(), src.join("skill.wasm")).unwrap();
    std::fs::write(
        src.join("SKILL.md"),
        "---\nname: py-probe\ndescription: d\nmetadata:\n  skill-type: tool\n  resources: memory=64MiB\n---\n",
    )
    .unwrap();
    let skill = |args: &[&str]| {
        cargo_skill(home.path())
            .arg("skill")
            .args(args)
            .output()
            .unwrap()
    };
    let out = skill(&["install", src.to_str().unwrap(), "--yes"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    // `--yes` shows the ask; it grants nothing.
    assert!(
        err.contains("asks for more than the untrusted tier gives (memory=64MiB)")
            && err.contains("`cargo skill grant py-probe memory=64MiB`"),
        "{err}"
    );

    // Three MB of text needs more than the untrusted tier's 16 MiB.
    let big = format!(r#"{{"mode":"big","text":"{}"}}"#, "x".repeat(3 << 20));
    let input = home.path().join("big.json");
    std::fs::write(&input, &big).unwrap();
    let input = input.to_str().unwrap();
    let out = skill(&["run", "py-probe", "--input-file", input]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    for part in [
        "error[memory-limit]",
        "The memory limit is 16 MiB, from the untrusted tier's default",
        "the skill asks for memory=64MiB in `metadata.resources`, which the operator has not approved",
        "`cargo skill grant py-probe memory=64MiB`",
        "`--memory 64`",
        // The summary's peak is what the skill held, next to the limit.
        "peak memory 15.",
        "(its next growth was refused) of 16.0 MiB",
    ] {
        assert!(err.contains(part), "{part}: {err}");
    }

    // Nothing passes the tier's ceiling, not a grant nor a flag.
    let out = skill(&["grant", "py-probe", "memory=1GiB"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("`max-memory` under `[tiers.untrusted]`"),
        "{}",
        stderr(&out)
    );
    let out = skill(&["run", "py-probe", "--input", "{}", "--memory", "100000"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("ceiling of 256 MiB"),
        "{}",
        stderr(&out)
    );

    let out = skill(&["grant", "py-probe", "memory=64MiB"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let meta =
        std::fs::read_to_string(home.path().join("skills/py-probe/.boternity-meta.toml")).unwrap();
    assert!(meta.contains("memory-bytes = 67108864"), "{meta}");
    let json = stdout_json(&skill(&[
        "run",
        "py-probe",
        "--message-format",
        "json",
        "--input-file",
        input,
    ]));
    assert_eq!(json["outcome"], "ok", "{json}");
    assert_eq!(json["limits"]["memory_bytes"], 64 << 20);

    // Only the operator's config moves the ceiling: lowered, the approval is capped.
    std::fs::write(
        home.path().join("config.toml"),
        "[tiers.untrusted]\nmax-memory = \"20MiB\"\n",
    )
    .unwrap();
    let out = skill(&["run", "py-probe", "--input-file", input]);
    let err = stderr(&out);
    assert!(
        err.contains("error[memory-limit]") && err.contains("max-memory"),
        "{err}"
    );
}
