//! Every limit and every refusal, against the real Rust guest
//! (`tests/guests/probe`) and hand-written WAT components. Each hostile case
//! asserts the typed error and then that the same runtime still serves a
//! normal invocation.

mod common;

use std::time::Duration;

use common::{assert_kind, probe, runtime};

use serde_json::{Value, json};
use skill_runtime::{
    BotIdentity, CompileSource, ErrorKind, Invocation, LoadError, Report, Runtime, RuntimeConfig,
    TrustTier,
};

fn invoke_with(
    tier: TrustTier,
    input: Value,
    tweak: impl FnOnce(&mut skill_runtime::Limits),
) -> Report {
    common::invoke_on(runtime(), tier, input, Default::default(), tweak)
}

fn invoke(tier: TrustTier, input: Value) -> Report {
    invoke_with(tier, input, |_| {})
}

/// After any failure the runtime must still serve a normal call.
fn assert_still_healthy(tier: TrustTier) {
    let report = invoke(tier, json!({"mode": "echo", "n": 7}));
    let output: Value =
        serde_json::from_str(report.result.as_ref().expect("echo succeeds")).unwrap();
    assert_eq!(output["n"], 7);
}

#[test]
fn echo_round_trips_and_reports_metrics() {
    let report = invoke(
        TrustTier::Untrusted,
        json!({"mode": "echo", "hello": "world"}),
    );
    let output: Value = serde_json::from_str(report.result.as_ref().unwrap()).unwrap();
    assert_eq!(output["hello"], "world");
    assert!(report.metrics.fuel_consumed > 0);
    assert!(report.metrics.fuel_consumed <= 500_000);
    assert!(
        report.metrics.peak_memory_bytes >= 64 * 1024,
        "at least one wasm page"
    );
    assert!(report.metrics.duration > Duration::ZERO);
    let json = report.to_json();
    assert_eq!(json["outcome"], "ok");
    assert_eq!(json["output"]["hello"], "world");
    for key in [
        "fuel_consumed",
        "peak_memory_bytes",
        "duration_ms",
        "host_calls",
        "logs",
    ] {
        assert!(json.get(key).is_some(), "missing {key} in {json}");
    }
}

#[test]
fn infinite_loop_runs_out_of_fuel() {
    let report = invoke(TrustTier::Untrusted, json!({"mode": "loop"}));
    assert_kind(&report, ErrorKind::FuelExhausted);
    assert_eq!(report.metrics.fuel_consumed, 500_000_000);
    assert_still_healthy(TrustTier::Untrusted);
}

#[test]
fn infinite_loop_with_unlimited_fuel_hits_the_deadline() {
    let report = invoke_with(TrustTier::Local, json!({"mode": "loop"}), |l| {
        assert_eq!(l.fuel, None, "the local tier has unlimited fuel");
        l.timeout = Duration::from_millis(200);
    });
    assert_kind(&report, ErrorKind::Timeout);
    assert!(report.metrics.duration >= Duration::from_millis(200));
    assert_still_healthy(TrustTier::Local);
}

#[test]
fn memory_growth_past_the_limit_is_a_memory_limit() {
    let report = invoke_with(TrustTier::Local, json!({"mode": "alloc"}), |l| {
        l.memory_bytes = 8 << 20;
    });
    assert_kind(&report, ErrorKind::MemoryLimit);
    assert!(report.metrics.peak_memory_bytes <= 8 << 20);
    assert!(
        report.metrics.peak_memory_bytes > 4 << 20,
        "it did grow: {}",
        report.metrics.peak_memory_bytes
    );
    assert_still_healthy(TrustTier::Local);
}

#[test]
fn untrusted_memory_cap_is_sixteen_mib() {
    let report = invoke_with(TrustTier::Untrusted, json!({"mode": "alloc"}), |l| {
        l.fuel = None
    });
    assert_kind(&report, ErrorKind::MemoryLimit);
    assert!(report.metrics.peak_memory_bytes <= 16 << 20);
    assert_still_healthy(TrustTier::Untrusted);
}

#[test]
fn unbounded_recursion_is_a_stack_overflow() {
    let report = invoke(TrustTier::Local, json!({"mode": "recurse"}));
    assert_kind(&report, ErrorKind::StackOverflow);
    assert_still_healthy(TrustTier::Local);
}

#[test]
fn output_over_the_cap_is_refused() {
    let report = invoke_with(
        TrustTier::Local,
        json!({"mode": "big-output", "bytes": 2048}),
        |l| {
            l.output_bytes = 1024;
        },
    );
    assert_kind(&report, ErrorKind::OutputLimit);
    assert!(report.result.unwrap_err().message.contains("2048"));
    let report = invoke_with(
        TrustTier::Local,
        json!({"mode": "big-output", "bytes": 1024}),
        |l| {
            l.output_bytes = 1024;
        },
    );
    assert_eq!(report.result.unwrap().len(), 1024);
}

#[test]
fn a_panic_is_a_trap() {
    let report = invoke(TrustTier::Untrusted, json!({"mode": "panic"}));
    assert_kind(&report, ErrorKind::Trap);
    assert_still_healthy(TrustTier::Untrusted);
}

#[test]
fn a_returned_err_is_a_skill_error() {
    let report = invoke(TrustTier::Untrusted, json!({"mode": "fail"}));
    assert_kind(&report, ErrorKind::SkillError);
    assert_eq!(
        report.result.unwrap_err().message,
        "the probe was asked to fail"
    );
}

#[test]
fn an_ungranted_host_call_ends_the_invocation() {
    let report = invoke(TrustTier::Untrusted, json!({"mode": "http"}));
    assert_kind(&report, ErrorKind::CapabilityDenied);
    let message = report.result.as_ref().unwrap_err().message.clone();
    assert!(message.contains("http-get"), "{message}");
    assert!(message.contains("https://example.com/"), "{message}");
    let denied: Vec<_> = report
        .metrics
        .host_calls
        .iter()
        .filter(|c| !c.allowed)
        .collect();
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0].function, "http-get");

    let report = invoke(TrustTier::Local, json!({"mode": "secret"}));
    assert_kind(&report, ErrorKind::CapabilityDenied);
    assert_still_healthy(TrustTier::Untrusted);
}

#[test]
fn a_hundred_thousand_log_calls_stay_bounded() {
    // Fuel that cannot pay for them ends the call, with the log capped.
    let report = invoke_with(
        TrustTier::Untrusted,
        json!({"mode": "log", "times": 100_000}),
        |l| l.fuel = Some(500_000),
    );
    assert_kind(&report, ErrorKind::FuelExhausted);
    assert!(report.logs.len() <= 1000);

    // With fuel to spare, they all run and the log keeps its caps.
    let report = invoke(TrustTier::Local, json!({"mode": "log", "times": 100_000}));
    assert!(report.is_ok(), "{report:#?}");
    assert_eq!(report.logs.len(), 1000);
    assert_eq!(report.logs_dropped, 99_000);
    assert_eq!(report.logs[0].message, "line 0");
    let log_calls = report
        .metrics
        .host_calls
        .iter()
        .find(|c| c.function == "log")
        .unwrap();
    assert_eq!(log_calls.count, 100_000);
    assert_still_healthy(TrustTier::Local);
}

#[test]
fn stdout_and_stderr_are_captured_into_the_log() {
    let report = invoke(TrustTier::Untrusted, json!({"mode": "print"}));
    assert!(report.is_ok(), "{report:#?}");
    let lines: Vec<_> = report
        .logs
        .iter()
        .map(|l| (l.level.as_str(), l.message.as_str()))
        .collect();
    assert!(lines.contains(&("stdout", "to stdout")), "{lines:?}");
    assert!(lines.contains(&("stderr", "to stderr")), "{lines:?}");
}

#[test]
fn the_guest_sees_no_env_args_or_files() {
    let report = invoke(TrustTier::Local, json!({"mode": "env"}));
    let out: Value = serde_json::from_str(&report.result.unwrap()).unwrap();
    assert_eq!(out, json!({"vars": 0, "args": 0}));
    let report = invoke(TrustTier::Local, json!({"mode": "fs"}));
    let out: Value = serde_json::from_str(&report.result.unwrap()).unwrap();
    assert_eq!(out, json!({"root": false, "etc": false}));
}

#[test]
fn context_carries_bot_skill_and_a_fresh_uuid_v7() {
    let first = invoke(TrustTier::Untrusted, json!({"mode": "context"}));
    let second = invoke(TrustTier::Untrusted, json!({"mode": "context"}));
    let a: Value = serde_json::from_str(first.result.as_ref().unwrap()).unwrap();
    let b: Value = serde_json::from_str(second.result.as_ref().unwrap()).unwrap();
    assert_eq!(a["bot_name"], "Test Bot");
    assert_eq!(a["bot_slug"], "test-bot");
    assert_eq!(a["skill_name"], "probe");
    assert_eq!(a["invocation_id"], first.invocation_id);
    assert_ne!(a["invocation_id"], b["invocation_id"]);
    let id: uuid_like::Id = a["invocation_id"].as_str().unwrap().parse().unwrap();
    assert_eq!(id.version, 7);
}

/// Just enough UUID parsing to check the version nibble.
mod uuid_like {
    pub struct Id {
        pub version: u32,
    }
    impl std::str::FromStr for Id {
        type Err = String;
        fn from_str(s: &str) -> Result<Id, String> {
            let groups: Vec<_> = s.split('-').collect();
            let lens: Vec<_> = groups.iter().map(|g| g.len()).collect();
            if lens != [8, 4, 4, 4, 12] {
                return Err(format!("not a UUID: {s}"));
            }
            let version = groups[2][..1].parse::<u32>().map_err(|e| e.to_string())?;
            Ok(Id { version })
        }
    }
}

#[test]
fn concurrent_invocations_beyond_the_pool_wait_for_a_slot() {
    let threads: Vec<_> = (0..24)
        .map(|i| {
            std::thread::spawn(move || invoke(TrustTier::Verified, json!({"mode": "echo", "i": i})))
        })
        .collect();
    for (i, t) in threads.into_iter().enumerate() {
        let report = t.join().unwrap();
        let out: Value = serde_json::from_str(report.result.as_ref().unwrap()).unwrap();
        assert_eq!(out["i"], i);
    }
}

fn load_error(wasm: &[u8]) -> LoadError {
    match runtime().load(wasm, TrustTier::Untrusted) {
        Ok(_) => panic!("loaded a component that should be refused"),
        Err(e) => e,
    }
}

#[test]
fn a_core_module_off_the_core_abi_is_refused_with_how_to_fix_it() {
    let module = wat::parse_str(
        "(module (import \"blufio\" \"log\" (func (param i32 i32 i32))) (func (export \"run\")))",
    )
    .unwrap();
    let err = load_error(&module);
    let LoadError::CoreAbi(problems) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("exports no `memory`"));
    assert!(
        err.to_string().contains("docs/core-abi.md") && err.to_string().contains("wasm32-wasip2")
    );
    assert_still_healthy(TrustTier::Untrusted);
}

#[test]
fn imports_outside_the_world_are_named() {
    for import in [
        "wasi:sockets/tcp@0.3.0",
        "wasi:http/incoming-handler@0.2.0",
        "evil:net/raw",
    ] {
        let wasm = wat::parse_str(format!("(component (import \"{import}\" (instance)))")).unwrap();
        let LoadError::World(report) = load_error(&wasm) else {
            panic!("not a world error")
        };
        assert_eq!(report.disallowed_imports, [import]);
        assert!(report.to_string().contains(import));
    }
    assert_still_healthy(TrustTier::Untrusted);
}

#[test]
fn missing_and_mistyped_exports_are_named() {
    let empty = wat::parse_str("(component)").unwrap();
    let LoadError::World(report) = load_error(&empty) else {
        panic!("not a world error")
    };
    assert_eq!(
        report.missing_exports,
        ["get-name", "get-description", "execute"]
    );

    let mistyped = wat::parse_str(
        r#"(component
            (core module $m (func (export "f") (result i32) i32.const 1))
            (core instance $i (instantiate $m))
            (func $f (result u32) (canon lift (core func $i "f")))
            (export "get-name" (func $f))
            (export "get-description" (func $f))
            (export "execute" (func $f)))"#,
    )
    .unwrap();
    let LoadError::World(report) = load_error(&mistyped) else {
        panic!("not a world error")
    };
    let problems = report.problems();
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert_eq!(
        problems[0],
        "`get-name` has type func() -> u32; expected func() -> string"
    );
    assert_eq!(
        problems[2],
        "`execute` has type func() -> u32; expected func(string) -> result<string, string>"
    );
}

#[test]
fn truncated_and_random_bytes_are_invalid() {
    let wasm = skill_test_support::guest_wasm("probe");
    assert_eq!(load_error(&wasm[..0]), LoadError::NotWasm);
    assert_eq!(
        load_error(&wasm[..4]),
        LoadError::Malformed("unknown WebAssembly version or layer".into())
    );
    // The bare preamble is a valid, empty component.
    assert!(matches!(load_error(&wasm[..8]), LoadError::World(r) if r.missing_exports.len() == 3));
    for len in [100, wasm.len() / 2, wasm.len() - 1] {
        let err = load_error(&wasm[..len]);
        assert!(
            matches!(err, LoadError::Malformed(_)),
            "truncated to {len}: {err:?}"
        );
    }
    // A deterministic xorshift stream; half of them get the component preamble.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    for round in 0..64 {
        let mut bytes: Vec<u8> = (0..512)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        if round % 2 == 0 {
            bytes[..8].copy_from_slice(b"\0asm\x0d\0\x01\0");
        }
        let err = load_error(&bytes);
        assert!(
            matches!(err, LoadError::NotWasm | LoadError::Malformed(_)),
            "{err:?}"
        );
    }
    assert_still_healthy(TrustTier::Untrusted);
}

#[test]
fn untrusted_engine_refuses_simd() {
    // The world's exports are there by name, so the refusal comes from
    // compiling, not from the checks made before it.
    let simd = wat::parse_str(
        r#"(component
            (core module $m
                (func (export "f") (result i32)
                    v128.const i32x4 1 2 3 4
                    i32x4.extract_lane 0)
                (func (export "g")))
            (core instance $i (instantiate $m))
            (func $g (canon lift (core func $i "g")))
            (export "get-name" (func $g))
            (export "get-description" (func $g))
            (export "execute" (func $g)))"#,
    )
    .unwrap();
    assert!(matches!(load_error(&simd), LoadError::Malformed(_)));
}

#[test]
fn compiled_components_come_back_from_the_disk_cache() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = skill_test_support::guest_wasm("probe");
    let config = || RuntimeConfig {
        cache_dir: Some(dir.path().to_path_buf()),
        concurrency: 2,
        sandbox: common::sandbox(),
        ..Default::default()
    };

    let first = Runtime::new(config());
    assert_eq!(
        first.load(&wasm, TrustTier::Verified).unwrap().source(),
        CompileSource::Compiled
    );
    drop(first);

    let second = Runtime::new(config());
    let skill = second.load(&wasm, TrustTier::Verified).unwrap();
    assert_eq!(skill.source(), CompileSource::DiskCache);
    let limits = second.limits_for(TrustTier::Verified);
    let bot = BotIdentity::default();
    let report = second.invoke(
        &skill,
        &Invocation {
            input: "{\"mode\":\"echo\"}",
            skill_name: "probe",
            skill_version: "0.1.0",
            bot: &bot,
            limits,
            policy: Default::default(),
            trace_id: None,
        },
    );
    assert!(report.is_ok());

    // A tampered entry is never deserialized: it is recompiled.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let mut bytes = std::fs::read(&path).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0xff;
        std::fs::write(&path, bytes).unwrap();
    }
    let third = Runtime::new(config());
    assert_eq!(
        third.load(&wasm, TrustTier::Verified).unwrap().source(),
        CompileSource::Compiled
    );
}

#[test]
fn the_probe_imports_only_what_it_uses() {
    let skill = probe(TrustTier::Untrusted);
    assert_eq!(
        skill.host_functions(),
        [
            "get-context",
            "get-secret",
            "http-get",
            "http-post",
            "log",
            "read-env",
            "read-file",
            "recall-memory",
            "write-file"
        ]
    );
}

#[test]
fn a_cached_skill_of_a_sandboxed_tier_goes_to_its_worker_without_being_deserialized_here() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = skill_test_support::guest_wasm("probe");
    let config = |sandbox_verified: bool| RuntimeConfig {
        cache_dir: Some(dir.path().to_path_buf()),
        concurrency: 2,
        sandbox: skill_runtime::sandbox::SandboxConfig {
            sandbox_verified,
            ..common::sandbox()
        },
        ..Default::default()
    };
    let echo = |runtime: &Runtime, skill: &skill_runtime::LoadedSkill| {
        let bot = BotIdentity::default();
        let report = runtime.invoke(
            skill,
            &Invocation {
                input: "{\"mode\":\"echo\"}",
                skill_name: "probe",
                skill_version: "0.1.0",
                bot: &bot,
                limits: runtime.limits_for(TrustTier::Verified),
                policy: Default::default(),
                trace_id: None,
            },
        );
        assert!(report.sandboxed);
        assert_eq!(report.result.unwrap(), "{\"mode\":\"echo\"}");
    };

    // Nothing cached yet: compiled (and checked) here, then cached.
    let first = Runtime::new(config(true));
    let compiled = first.load_to_invoke(&wasm, TrustTier::Verified).unwrap();
    assert_eq!(compiled.source(), CompileSource::Compiled);
    assert!(!compiled.for_workers_only());
    echo(&first, &compiled);
    drop(first);

    let second = Runtime::new(config(true));
    let sent = second.load_to_invoke(&wasm, TrustTier::Verified).unwrap();
    assert_eq!(sent.source(), CompileSource::DiskCache);
    assert!(sent.for_workers_only());
    assert!(sent.host_functions().is_empty());
    echo(&second, &sent);
    // A caller that needs the code here gets it, from the same entry.
    let full = second.load(&wasm, TrustTier::Verified).unwrap();
    assert!(!full.for_workers_only());
    assert_eq!(full.source(), CompileSource::DiskCache);
    assert!(!full.host_functions().is_empty());
    assert!(second.skill_name(&full).is_ok());
    // Once loaded in full, that serves invoking too.
    assert!(
        !second
            .load_to_invoke(&wasm, TrustTier::Verified)
            .unwrap()
            .for_workers_only()
    );

    // A tier that runs in process is loaded in full.
    let in_process = Runtime::new(config(false));
    assert!(
        !in_process
            .load_to_invoke(&wasm, TrustTier::Verified)
            .unwrap()
            .for_workers_only()
    );

    // A tampered entry is not sent: the wasm is compiled again.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&path, bytes).unwrap();
    }
    let third = Runtime::new(config(true));
    let recompiled = third.load_to_invoke(&wasm, TrustTier::Verified).unwrap();
    assert_eq!(recompiled.source(), CompileSource::Compiled);
    echo(&third, &recompiled);
}
