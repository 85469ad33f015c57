//! Core-module skills (`docs/core-abi.md`): WAT modules and a Rust guest
//! exercise input and output, each gated import denied and granted, the
//! limits, a module without `run`, and hostile pointers and lengths.

mod common;

use std::time::Duration;

use serde_json::{Value, json};
use skill_runtime::{ErrorKind, LoadError, Policy, Report, TrustTier};
use skill_test_support::http_server::{Response, TestServer};

use common::{assert_kind, invoke_wasm, policy, runtime};

/// A module with memory, a bump `alloc` from 8 KiB up, the given imports,
/// data and `run` body.
fn module(imports: &str, data: &str, run: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
            {imports}
            (import "env" "set_output" (func $set_output (param i32 i32)))
            (memory (export "memory") 1)
            (global $bump (mut i32) (i32.const 8192))
            (func (export "alloc") (param $n i32) (result i32) (local $p i32)
              (local.set $p (global.get $bump))
              (global.set $bump (i32.add (global.get $bump) (local.get $n)))
              (local.get $p))
            {data}
            (func (export "run") {run}))"#
    ))
    .unwrap()
}

fn echo() -> Vec<u8> {
    module(
        r#"(import "env" "get_input_len" (func $len (result i32)))
           (import "env" "get_input" (func $get (param i32)))
           (import "env" "log" (func $log (param i32 i32)))"#,
        r#"(data (i32.const 16) "echoing")"#,
        r#"(local $n i32)
           (local.set $n (call $len))
           (call $get (i32.const 4096))
           (call $log (i32.const 16) (i32.const 7))
           (call $set_output (i32.const 4096) (local.get $n))"#,
    )
}

/// Calls a gated import whose arguments are set up by `args`, then outputs
/// `<status>:<buffer>` so a test sees both.
fn gated(import: &str, data: &str, call: &str) -> Vec<u8> {
    module(
        import,
        &format!(r#"{data} (data (i32.const 100) "0:1:")"#),
        &format!(
            r#"(local $status i32) (local $p i32) (local $n i32)
               (local.set $status {call})
               (local.set $p (i32.load (i32.const 64)))
               (local.set $n (i32.load (i32.const 68)))
               ;; "<status>:" then the buffer, copied to 16 KiB
               (memory.copy (i32.const 16384) (i32.add (i32.const 100) (i32.mul (local.get $status) (i32.const 2))) (i32.const 2))
               (memory.copy (i32.const 16386) (local.get $p) (local.get $n))
               (call $set_output (i32.const 16384) (i32.add (local.get $n) (i32.const 2)))"#
        ),
    )
}

fn run(wasm: &[u8], tier: TrustTier, input: &str, policy: Policy) -> Report {
    invoke_wasm(runtime(), wasm, tier, input, policy, |_| {})
}

fn output(report: &Report) -> &str {
    report.result.as_deref().unwrap_or_else(|f| panic!("{f}"))
}

#[test]
fn input_comes_in_and_output_goes_out_in_process_and_sandboxed() {
    let input = json!({"city": "Oslo", "n": 3}).to_string();
    for tier in [TrustTier::Local, TrustTier::Untrusted] {
        let report = run(&echo(), tier, &input, Policy::default());
        assert_eq!(output(&report), input);
        assert_eq!(report.sandboxed, tier == TrustTier::Untrusted);
        assert_eq!(report.logs[0].message, "echoing");
        let calls: Vec<&str> = report
            .metrics
            .host_calls
            .iter()
            .map(|c| c.function.as_str())
            .collect();
        assert_eq!(
            calls,
            ["get_input_len", "get_input", "log", "set_output"],
            "{tier}"
        );
        assert!(report.metrics.fuel_consumed > 0);
    }
    let silent = module("", "", "");
    let report = run(&silent, TrustTier::Untrusted, "{}", Policy::default());
    assert_kind(&report, ErrorKind::SkillError);
    assert!(
        report
            .result
            .unwrap_err()
            .message
            .contains("without calling set_output")
    );
}

#[test]
fn modules_that_break_the_abi_are_refused_at_load_with_every_reason() {
    let load = |wat: &str| runtime().load(&wat::parse_str(wat).unwrap(), TrustTier::Untrusted);
    let Err(LoadError::CoreAbi(problems)) = load(
        r#"(module
            (import "env" "spawn" (func))
            (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
            (import "env" "log" (func (param i32)))
            (func (export "alloc") (result i32) i32.const 0))"#,
    ) else {
        panic!("loaded")
    };
    let all = problems.join("\n");
    for expected in [
        "`env.spawn`, which the core ABI does not provide",
        "`wasi_snapshot_preview1.fd_write` (WASI)",
        "imports `env.log` as (i32) -> (), but the ABI's is (i32, i32) -> ()",
        "exports no `run` function",
        "exports no `memory`",
        "exports `alloc`, but not as `alloc(i32) -> i32`",
    ] {
        assert!(all.contains(expected), "missing `{expected}` in:\n{all}");
    }
}

#[test]
fn each_gated_import_is_denied_without_a_grant_and_works_with_one() {
    let server = TestServer::start(|req| Response::ok(format!("{} {}", req.method, req.body)));
    let url = server.url("/x");
    let http = gated(
        r#"(import "env" "http_request" (func $http (param i32 i32 i32 i32 i32 i32 i32) (result i32)))"#,
        &format!(
            r#"(data (i32.const 16) "POST") (data (i32.const 24) "hi") (data (i32.const 200) "{url}")"#
        ),
        &format!(
            "(call $http (i32.const 16) (i32.const 4) (i32.const 200) (i32.const {}) (i32.const 24) (i32.const 2) (i32.const 64))",
            url.len()
        ),
    );
    let denied = run(&http, TrustTier::Untrusted, "{}", Policy::default());
    assert_kind(&denied, ErrorKind::CapabilityDenied);
    assert_eq!(server.hits(), 0);
    let granted = run(
        &http,
        TrustTier::Untrusted,
        "{}",
        policy(&["http-post:127.0.0.1"], &[], &[], &[]),
    );
    assert_eq!(output(&granted), "0:POST hi");
    assert_eq!(server.hits(), 1);
    let get_only = run(
        &http,
        TrustTier::Untrusted,
        "{}",
        policy(&["http-get:127.0.0.1"], &[], &[], &[]),
    );
    assert_kind(&get_only, ErrorKind::CapabilityDenied);

    let env = gated(
        r#"(import "env" "get_env" (func $env (param i32 i32 i32) (result i32)))"#,
        r#"(data (i32.const 16) "ZONE")"#,
        "(call $env (i32.const 16) (i32.const 4) (i32.const 64))",
    );
    assert_kind(
        &run(&env, TrustTier::Untrusted, "{}", Policy::default()),
        ErrorKind::CapabilityDenied,
    );
    let zone = policy(&["read-env:ZONE"], &[], &[("ZONE", "Europe/Oslo")], &[]);
    assert_eq!(
        output(&run(&env, TrustTier::Untrusted, "{}", zone)),
        "0:Europe/Oslo"
    );
    let unset = policy(&["read-env:ZONE"], &[], &[], &[]);
    assert_eq!(
        output(&run(&env, TrustTier::Untrusted, "{}", unset)),
        "1:`ZONE` is not set"
    );

    let data = tempfile::tempdir().unwrap();
    let files = |grants: &[&str]| Policy {
        data_dir: Some(data.path().to_path_buf()),
        ..policy(grants, &[], &[], &[])
    };
    let write = gated(
        r#"(import "env" "write_file" (func $write (param i32 i32 i32 i32 i32) (result i32)))"#,
        r#"(data (i32.const 16) "notes.txt") (data (i32.const 32) "kept")"#,
        "(call $write (i32.const 16) (i32.const 9) (i32.const 32) (i32.const 4) (i32.const 64))",
    );
    let read = gated(
        r#"(import "env" "read_file" (func $read (param i32 i32 i32) (result i32)))"#,
        r#"(data (i32.const 16) "notes.txt")"#,
        "(call $read (i32.const 16) (i32.const 9) (i32.const 64))",
    );
    assert_kind(
        &run(&write, TrustTier::Untrusted, "{}", files(&[])),
        ErrorKind::CapabilityDenied,
    );
    assert!(!data.path().join("notes.txt").exists());
    assert_eq!(
        output(&run(
            &write,
            TrustTier::Untrusted,
            "{}",
            files(&["write-file"])
        )),
        "0:"
    );
    assert_eq!(
        std::fs::read_to_string(data.path().join("notes.txt")).unwrap(),
        "kept"
    );
    assert_kind(
        &run(&read, TrustTier::Untrusted, "{}", files(&["write-file"])),
        ErrorKind::CapabilityDenied,
    );
    assert_eq!(
        output(&run(&read, TrustTier::Local, "{}", files(&["read-file"]))),
        "0:kept"
    );
    let escape = gated(
        r#"(import "env" "read_file" (func $read (param i32 i32 i32) (result i32)))"#,
        r#"(data (i32.const 16) "../../etc/passwd")"#,
        "(call $read (i32.const 16) (i32.const 16) (i32.const 64))",
    );
    assert_kind(
        &run(&escape, TrustTier::Untrusted, "{}", files(&["read-file"])),
        ErrorKind::CapabilityDenied,
    );
}

#[test]
fn fuel_deadline_and_memory_limits_hold() {
    let spin = module("", "", "(loop $l (br $l))");
    assert_kind(
        &run(&spin, TrustTier::Untrusted, "{}", Policy::default()),
        ErrorKind::FuelExhausted,
    );
    let timed = invoke_wasm(
        runtime(),
        &spin,
        TrustTier::Untrusted,
        "{}",
        Policy::default(),
        |l| {
            l.fuel = None;
            l.timeout = Duration::from_millis(200);
        },
    );
    assert_kind(&timed, ErrorKind::Timeout);
    let grow = module("", "", "(drop (memory.grow (i32.const 1024)))");
    let grown = run(&grow, TrustTier::Untrusted, "{}", Policy::default());
    assert_kind(&grown, ErrorKind::MemoryLimit);
}

#[test]
fn hostile_pointers_and_lengths_end_in_a_trap_never_a_host_panic() {
    let bad = |run_body: &str, imports: &str| {
        module(imports, r#"(data (i32.const 16) "ZONE")"#, run_body)
    };
    let cases = [
        ("(call $set_output (i32.const -16) (i32.const 100))", ""),
        ("(call $set_output (i32.const 0) (i32.const -1))", ""),
        ("(call $set_output (i32.const 65530) (i32.const 7))", ""),
        (
            "(call $log (i32.const 2147483647) (i32.const 2147483647))",
            r#"(import "env" "log" (func $log (param i32 i32)))"#,
        ),
        (
            "(call $get (i32.const 65535))",
            r#"(import "env" "get_input" (func $get (param i32)))"#,
        ),
        (
            "(drop (call $env (i32.const 16) (i32.const 4) (i32.const 65534)))",
            r#"(import "env" "get_env" (func $env (param i32 i32 i32) (result i32)))"#,
        ),
    ];
    for (body, imports) in cases {
        let zone = policy(&["read-env:ZONE"], &[], &[("ZONE", "x")], &[]);
        let report = run(
            &bad(body, imports),
            TrustTier::Untrusted,
            r#"{"x":1}"#,
            zone,
        );
        assert_kind(&report, ErrorKind::Trap);
        let message = &report.result.as_ref().unwrap_err().message;
        assert!(message.contains("outside its memory"), "{body}: {message}");
    }
    // A gated call needs `alloc`, and its answer must point inside memory.
    let no_alloc = wat::parse_str(
        r#"(module
            (import "env" "get_env" (func $env (param i32 i32 i32) (result i32)))
            (memory (export "memory") 1)
            (data (i32.const 16) "ZONE")
            (func (export "run") (drop (call $env (i32.const 16) (i32.const 4) (i32.const 64)))))"#,
    )
    .unwrap();
    let zone = || policy(&["read-env:ZONE"], &[], &[("ZONE", "x")], &[]);
    let report = run(&no_alloc, TrustTier::Untrusted, "{}", zone());
    assert!(
        report
            .result
            .unwrap_err()
            .message
            .contains("exports no `alloc")
    );
    let lying_alloc = wat::parse_str(
        r#"(module
            (import "env" "get_env" (func $env (param i32 i32 i32) (result i32)))
            (memory (export "memory") 1)
            (func (export "alloc") (param i32) (result i32) (i32.const -8))
            (data (i32.const 16) "ZONE")
            (func (export "run") (drop (call $env (i32.const 16) (i32.const 4) (i32.const 64)))))"#,
    )
    .unwrap();
    let report = run(&lying_alloc, TrustTier::Untrusted, "{}", zone());
    assert_kind(&report, ErrorKind::Trap);
    assert!(
        report
            .result
            .unwrap_err()
            .message
            .contains("outside its memory")
    );
}

#[test]
fn a_rust_core_guest_round_trips_and_uses_granted_capabilities() {
    let wasm = skill_test_support::core_guest_wasm("core-probe");
    assert!(
        wasmparser::Parser::is_core_wasm(&wasm),
        "a core module, not a component"
    );
    let echo = run(
        &wasm,
        TrustTier::Untrusted,
        r#"{"mode":"echo","x":[1,2]}"#,
        Policy::default(),
    );
    let value: Value = serde_json::from_str(output(&echo)).unwrap();
    assert_eq!(value["x"], json!([1, 2]));
    let zone = policy(&["read-env:ZONE"], &[], &[("ZONE", "Europe/Oslo")], &[]);
    let env = run(
        &wasm,
        TrustTier::Untrusted,
        r#"{"mode":"env","name":"ZONE"}"#,
        zone,
    );
    assert_eq!(
        serde_json::from_str::<Value>(output(&env)).unwrap()["value"],
        "Europe/Oslo"
    );
    let denied = run(
        &wasm,
        TrustTier::Untrusted,
        r#"{"mode":"env","name":"ZONE"}"#,
        Policy::default(),
    );
    assert_kind(&denied, ErrorKind::CapabilityDenied);
}
