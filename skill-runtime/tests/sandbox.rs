//! The second wall: untrusted skills run in OS-sandboxed workers (Landlock
//! and seccomp, or Seatbelt) whose capability calls are brokered by the
//! host. Attacks first: a native probe inside a real worker tries to leave
//! it, a guest asks for what it was not granted, a worker is killed
//! mid-call, and 100 calls share 4 workers.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use skill_runtime::sandbox::SandboxConfig;
use skill_runtime::{
    BotIdentity, ErrorKind, Invocation, Policy, Runtime, RuntimeConfig, TrustTier,
};
use skill_test_support::http_server::{Response, TestServer};

use common::{assert_kind, invoke_on, probe_wasm};

fn untrusted_echo(runtime: &Runtime) -> skill_runtime::Report {
    invoke_on(
        runtime,
        TrustTier::Untrusted,
        json!({"mode": "echo"}),
        Policy::default(),
        |_| {},
    )
}

fn runtime_with(sandbox: SandboxConfig) -> Runtime {
    Runtime::new(RuntimeConfig {
        concurrency: 8,
        sandbox,
        ..Default::default()
    })
}

#[test]
fn a_native_probe_inside_a_worker_cannot_open_files_sockets_or_programs() {
    let runtime = runtime_with(common::sandbox());
    let (report, _) = runtime.probe_sandbox().expect("the worker starts confined");
    let outcome = |attempt: &str| {
        report
            .checks
            .iter()
            .find(|c| c.attempt == attempt)
            .unwrap_or_else(|| panic!("no `{attempt}` in {report:#?}"))
            .clone()
    };
    for attempt in [
        "read /etc/passwd",
        "list /",
        "write /tmp",
        "AF_INET socket",
        "AF_INET6 socket",
        "ptrace the parent",
        if cfg!(target_os = "macos") {
            "look up a system service (mach)"
        } else {
            "io_uring"
        },
        "execve /bin/true",
    ] {
        let check = outcome(attempt);
        assert!(check.blocked, "{attempt} was not blocked: {check:?}");
    }
    assert!(outcome("AF_INET socket").detail.contains("not permitted"));
    assert!(report.all_blocked());
    let layers = if cfg!(target_os = "macos") {
        "Seatbelt"
    } else {
        "Landlock ABI"
    };
    assert!(report.layers.starts_with(layers), "{}", report.layers);
}

#[test]
fn untrusted_calls_run_in_a_worker_and_every_capability_is_brokered() {
    let server = TestServer::start(|_| Response::ok("from the host"));
    let url = server.url("/");
    // The worker has no network: the host fetched it for the granted call.
    let granted = common::granting(&["http-get:127.0.0.1"]);
    let report = invoke_on(
        common::runtime(),
        TrustTier::Untrusted,
        json!({"mode": "http", "url": url}),
        granted,
        |_| {},
    );
    assert!(report.sandboxed);
    assert_eq!(
        report.result.as_deref().ok(),
        Some(r#"{"body":"from the host"}"#),
        "{report:#?}"
    );
    assert_eq!(server.hits(), 1);
    let call = &report.metrics.host_calls[0];
    assert_eq!((call.function.as_str(), call.allowed), ("http-get", true));

    // Ungranted: the host refuses it; the worker never sees the server.
    let denied = invoke_on(
        common::runtime(),
        TrustTier::Untrusted,
        json!({"mode": "http", "url": url}),
        Policy::default(),
        |_| {},
    );
    assert_kind(&denied, ErrorKind::CapabilityDenied);
    assert_eq!(server.hits(), 1);
    for (mode, extra) in [
        ("secret", json!({})),
        ("env-var", json!({"name": "HOME"})),
        ("read-file", json!({})),
    ] {
        let mut input = json!({"mode": mode});
        input
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let report = invoke_on(
            common::runtime(),
            TrustTier::Untrusted,
            input,
            Policy::default(),
            |_| {},
        );
        assert_kind(&report, ErrorKind::CapabilityDenied);
        assert!(report.sandboxed);
    }

    // Local skills run in process; without a worker, untrusted ones are refused.
    let local = invoke_on(
        common::runtime(),
        TrustTier::Local,
        json!({"mode": "echo"}),
        Policy::default(),
        |_| {},
    );
    assert!(local.is_ok() && !local.sandboxed);
    let bare = runtime_with(SandboxConfig::default());
    let refused = invoke_on(
        &bare,
        TrustTier::Untrusted,
        json!({"mode": "echo"}),
        Policy::default(),
        |_| {},
    );
    assert_kind(&refused, ErrorKind::SandboxFailure);
    assert!(
        refused
            .result
            .unwrap_err()
            .message
            .contains("only inside the OS sandbox")
    );
    let unsandboxed_verified = runtime_with(SandboxConfig {
        sandbox_verified: false,
        ..SandboxConfig::default()
    });
    let verified = invoke_on(
        &unsandboxed_verified,
        TrustTier::Verified,
        json!({"mode": "echo"}),
        Policy::default(),
        |_| {},
    );
    assert!(verified.is_ok() && !verified.sandboxed);
}

#[test]
fn a_worker_killed_mid_call_is_a_typed_error_and_the_next_call_works() {
    let runtime = Arc::new(runtime_with(common::sandbox()));
    let spinning = {
        let runtime = Arc::clone(&runtime);
        std::thread::spawn(move || {
            invoke_on(
                &runtime,
                TrustTier::Untrusted,
                json!({"mode": "loop"}),
                Policy::default(),
                |l| {
                    l.fuel = None;
                    l.timeout = Duration::from_secs(30);
                },
            )
        })
    };
    let started = Instant::now();
    let pid = loop {
        if let Some(pid) = runtime.worker_pids().1.first() {
            break *pid;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no worker got busy"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    std::thread::sleep(Duration::from_millis(50));
    // SAFETY: a signal to the worker process this runtime spawned.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
    let report = spinning.join().unwrap();
    assert_kind(&report, ErrorKind::SandboxFailure);
    let message = report.result.unwrap_err().message;
    assert!(
        message.contains("died during the invocation") && message.contains("signal 9"),
        "{message}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "not the 30 s deadline"
    );

    let next = invoke_on(
        &runtime,
        TrustTier::Untrusted,
        json!({"mode": "echo"}),
        Policy::default(),
        |_| {},
    );
    assert!(next.is_ok(), "{next:#?}");
    assert!(!runtime.worker_pids().0.contains(&pid));
}

#[test]
fn traps_retire_workers_and_healthy_ones_are_reused_up_to_their_limit() {
    let runtime = runtime_with(SandboxConfig {
        pool_size: 1,
        max_uses: 3,
        ..common::sandbox()
    });
    let echo = || untrusted_echo(&runtime);
    assert!(echo().is_ok());
    let first = runtime.worker_pids().0;
    assert_eq!(first.len(), 1);
    assert!(echo().is_ok());
    assert_eq!(runtime.worker_pids().0, first, "reused");
    let trapped = invoke_on(
        &runtime,
        TrustTier::Untrusted,
        json!({"mode": "panic"}),
        Policy::default(),
        |_| {},
    );
    assert_kind(&trapped, ErrorKind::Trap);
    let after = echo();
    assert!(after.is_ok());
    assert!(
        !runtime.worker_pids().0.contains(&first[0]),
        "the trapped worker was retired"
    );
}

#[test]
fn a_worker_at_its_limit_hands_over_to_a_successor_started_beside_it() {
    let runtime = runtime_with(SandboxConfig {
        pool_size: 1,
        max_uses: 3,
        ..common::sandbox()
    });
    let echo = || {
        let report = untrusted_echo(&runtime);
        assert!(report.is_ok(), "{report:#?}");
    };
    for _ in 0..3 {
        echo();
    }
    let (idle, _) = runtime.worker_pids();
    assert_eq!(idle.len(), 1);
    let old = idle[0];
    // The successor starts in the background and takes the old one's place.
    let started = Instant::now();
    let successor = loop {
        let (idle, busy) = runtime.worker_pids();
        if idle.len() == 1 && idle[0] != old && busy.is_empty() {
            break idle[0];
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no successor: {idle:?} {busy:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    // The old one is stopped and reaped (a zombie would keep its entry).
    #[cfg(target_os = "linux")]
    while std::path::Path::new(&format!("/proc/{old}")).exists() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "worker {old} was not reaped"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    echo();
    assert_eq!(runtime.worker_pids().0, vec![successor]);
}

#[test]
fn a_worker_whose_successor_cannot_start_serves_on_up_to_twice_its_limit() {
    // Only the first worker starts: every later one exits at once.
    let dir = tempfile::tempdir().unwrap();
    let started = dir.path().join("started");
    let script = format!(
        "if [ -e '{marker}' ]; then exit 1; fi; : > '{marker}'; exec '{worker}'",
        marker = started.display(),
        worker = env!("CARGO_BIN_EXE_skill-worker"),
    );
    let runtime = runtime_with(SandboxConfig {
        pool_size: 1,
        max_uses: 3,
        worker: Some(skill_runtime::sandbox::WorkerCommand {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), script],
        }),
        ..common::sandbox()
    });
    let echo = || untrusted_echo(&runtime);
    for call in 1..=6 {
        let report = echo();
        assert!(report.is_ok(), "call {call}: {report:#?}");
    }
    let after = echo();
    assert_kind(&after, ErrorKind::SandboxFailure);
}

#[test]
fn a_hundred_concurrent_calls_share_a_pool_of_four() {
    let runtime = Arc::new(runtime_with(SandboxConfig {
        pool_size: 4,
        ..common::sandbox()
    }));
    let skill = runtime.load(probe_wasm(), TrustTier::Untrusted).unwrap();
    let threads: Vec<_> = (0..100)
        .map(|i| {
            let (runtime, skill) = (Arc::clone(&runtime), Arc::clone(&skill));
            std::thread::spawn(move || {
                let input = json!({"mode": "echo", "n": i}).to_string();
                let bot = BotIdentity::default();
                let report = runtime.invoke(
                    &skill,
                    &Invocation {
                        input: &input,
                        skill_name: "probe",
                        skill_version: "0.1.0",
                        bot: &bot,
                        limits: runtime.limits_for(TrustTier::Untrusted),
                        policy: Arc::new(Policy::default()),
                        trace_id: None,
                    },
                );
                let (idle, busy) = runtime.worker_pids();
                (report, idle.len() + busy.len())
            })
        })
        .collect();
    for (i, thread) in threads.into_iter().enumerate() {
        let (report, workers) = thread.join().unwrap();
        assert!(report.sandboxed);
        assert!(
            report
                .result
                .as_deref()
                .unwrap()
                .contains(&format!("\"n\":{i}")),
            "{report:#?}"
        );
        assert!(workers <= 4, "{workers} workers for a pool of 4");
    }
}

/// A worker program that cannot start is the machine's problem, not the
/// component's: validate says so and points at the sandbox check.
#[test]
fn validate_blames_the_sandbox_not_the_component_when_no_worker_starts() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("SKILL.md"),
        "---\nname: probe\ndescription: The probe. Use it in tests.\nmetadata:\n  skill-type: tool\n---\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("skill.wasm"), probe_wasm()).unwrap();
    let runtime = runtime_with(SandboxConfig {
        worker: Some(skill_runtime::sandbox::WorkerCommand {
            program: dir.path().join("no-such-worker"),
            args: vec![],
        }),
        ..SandboxConfig::default()
    });
    let report = skill_runtime::validate::validate(
        &[dir.path().to_path_buf()],
        skill_runtime::validate::Options {
            mode: skill_runtime::manifest::Mode::Lenient,
        },
        Some(&runtime),
    );
    let helps: Vec<String> = report
        .skills
        .iter()
        .flat_map(|s| &s.diagnostics)
        .filter_map(|d| d.help.clone())
        .collect();
    assert!(
        helps.iter().any(|h| h.contains("`cargo skill doctor`"))
            && !helps.iter().any(|h| h.contains("constant string")),
        "{helps:?}"
    );
}

/// A bot serves many tool skills through a few workers: each distinct
/// component a worker loads holds memory images (memfds) under its small
/// open-file limit. Found by the 1,000-skill home bench: the 61st skill
/// through one worker failed with "cannot create a memfd".
#[test]
fn a_pool_of_one_runs_more_distinct_skills_than_a_worker_holds_open() {
    let runtime = runtime_with(SandboxConfig {
        pool_size: 1,
        max_uses: 1_000,
        ..common::sandbox()
    });
    let probe = probe_wasm();
    for n in 0..70 {
        // The same guest with different bytes: another skill to the loader.
        let mut wasm = probe.to_vec();
        wasm.extend_from_slice(&custom_section(&format!("copy-{n}")));
        let skill = runtime.load(&wasm, TrustTier::Untrusted).unwrap();
        let input = json!({"mode": "echo", "n": n}).to_string();
        let report = runtime.invoke(
            &skill,
            &Invocation {
                input: &input,
                skill_name: "probe",
                skill_version: "0.1.0",
                bot: &BotIdentity::default(),
                limits: runtime.limits_for(TrustTier::Untrusted),
                policy: Arc::new(Policy::default()),
                trace_id: None,
            },
        );
        assert!(report.sandboxed);
        assert!(report.result.is_ok(), "skill {n}: {report:#?}");
    }
}

/// A custom section named `name`, empty: a component stays valid with it.
fn custom_section(name: &str) -> Vec<u8> {
    let mut body = vec![name.len() as u8];
    body.extend_from_slice(name.as_bytes());
    let mut section = vec![0u8, body.len() as u8];
    section.extend(body);
    section
}
