//! Core-module skills in the other agent runtime's shape (`docs/core-abi.md`):
//! WAT modules importing from `blufio` with its signatures, limits and
//! capabilities read from real `skill.toml` text, each case in process
//! (local tier) and in the sandbox worker (untrusted tier).

mod common;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use skill_runtime::limits::sources::LimitInputs;
use skill_runtime::manifest::{Mode, skill_toml};
use skill_runtime::{ErrorKind, Grants, LimitRequest, LoadError, Policy, Report, TrustTier};
use skill_test_support::http_server::{Response, TestServer};

use common::{assert_kind, invoke_wasm, policy, runtime};

const TIERS: [TrustTier; 2] = [TrustTier::Local, TrustTier::Untrusted];

/// A module with one page of memory, the given imports, data and `run` body.
fn module(imports: &str, data: &str, run: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
            {imports}
            (memory (export "memory") 1)
            {data}
            (func (export "run") {run}))"#
    ))
    .unwrap()
}

/// `skill.toml` text read by the real parser.
fn parse(toml: &str) -> skill_runtime::manifest::Parsed {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("skill.toml");
    std::fs::write(&path, toml).unwrap();
    skill_toml::parse_file(&path, Mode::Lenient)
}

/// The grants and resources a `skill.toml` gives.
fn manifest(toml: &str) -> (Policy, LimitRequest) {
    let parsed = parse(toml);
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    let m = parsed.manifest.unwrap();
    let policy = Policy {
        grants: Grants::from_declared(&m.ext.capabilities),
        ..Policy::default()
    };
    (policy, m.ext.resources)
}

/// The diagnostics' messages for a `skill.toml`.
fn problems(toml: &str) -> Vec<String> {
    parse(toml)
        .diagnostics
        .into_iter()
        .map(|d| d.message)
        .collect()
}

fn toml(extra: &str) -> String {
    format!(
        "[skill]\nname = \"test-skill\"\nversion = \"0.1.0\"\ndescription = \"A test skill\"\n{extra}"
    )
}

fn run_as(wasm: &[u8], tier: TrustTier, policy: Policy, request: LimitRequest) -> Report {
    let none = LimitRequest::default();
    invoke_wasm(runtime(), wasm, tier, "{}", policy, |l| {
        // The skill's own request, as `prepare` applies it.
        *l = LimitInputs {
            tier,
            default: *l,
            ceiling: tier.default_ceiling(),
            skill: &request,
            approved: &none,
            bot: &none,
            flags: &none,
            installed: None,
        }
        .resolve()
        .expect("no flags")
        .limits
    })
}

fn output(report: &Report) -> &str {
    report.result.as_deref().unwrap_or_else(|f| panic!("{f}"))
}

fn message(report: &Report) -> &str {
    &report.result.as_ref().unwrap_err().message
}

/// A `call` of an import whose string arguments are at 0 and 512.
fn call_with(import: &str, first: &str, second: &str, call: &str) -> Vec<u8> {
    module(
        import,
        &format!(r#"(data (i32.const 0) "{first}") (data (i32.const 512) "{second}")"#),
        &format!("(drop {call})"),
    )
}

fn http_call(url: &str) -> Vec<u8> {
    call_with(
        r#"(import "blufio" "http_request" (func $http (param i32 i32 i32 i32 i32) (result i32)))"#,
        url,
        "",
        &format!(
            "(call $http (i32.const 0) (i32.const {}) (i32.const 0) (i32.const 0) (i32.const 0))",
            url.len()
        ),
    )
}

fn read_call(path: &str) -> Vec<u8> {
    call_with(
        r#"(import "blufio" "read_file" (func $read (param i32 i32 i32 i32) (result i32)))"#,
        path,
        "",
        &format!(
            "(call $read (i32.const 0) (i32.const {}) (i32.const 0) (i32.const 0))",
            path.len()
        ),
    )
}

fn write_call(path: &str, data: &str) -> Vec<u8> {
    call_with(
        r#"(import "blufio" "write_file" (func $write (param i32 i32 i32 i32) (result i32)))"#,
        path,
        data,
        &format!(
            "(call $write (i32.const 0) (i32.const {}) (i32.const 512) (i32.const {}))",
            path.len(),
            data.len()
        ),
    )
}

#[test]
fn the_minimal_module_and_log_run_as_in_blufio() {
    let minimal = module("", "", "");
    let bare = wat::parse_str(r#"(module (func (export "run")))"#).unwrap();
    let logs = module(
        r#"(import "blufio" "log" (func $log (param i32 i32 i32)))"#,
        r#"(data (i32.const 0) "hello") (data (i32.const 8) "careful")"#,
        "(call $log (i32.const 2) (i32.const 0) (i32.const 5))
         (call $log (i32.const 3) (i32.const 8) (i32.const 7))
         (call $log (i32.const 99) (i32.const 0) (i32.const 5))",
    );
    let (policy, request) = manifest(&toml(""));
    for tier in TIERS {
        for wasm in [&minimal, &bare] {
            let report = run_as(wasm, tier, policy.clone(), request);
            assert_eq!(output(&report), "Skill completed successfully (no output)");
            assert_eq!(report.sandboxed, tier == TrustTier::Untrusted);
        }
        // Without set_output the result is the log, as blufio joins it.
        let report = run_as(&logs, tier, policy.clone(), request);
        assert_eq!(
            output(&report),
            "[INFO] hello\n[WARN] careful\n[INFO] hello",
            "{tier}"
        );
        let levels: Vec<&str> = report.logs.iter().map(|l| l.level.as_str()).collect();
        assert_eq!(levels, ["info", "warn", "info"]);
    }
}

#[test]
fn input_comes_in_and_set_output_is_the_result() {
    let echo = module(
        r#"(import "blufio" "get_input_len" (func $len (result i32)))
           (import "blufio" "get_input" (func $get (param i32)))
           (import "blufio" "set_output" (func $set (param i32 i32)))"#,
        "",
        "(call $get (i32.const 1024)) (call $set (i32.const 1024) (call $len))",
    );
    let input = json!({"city": "Oslo"}).to_string();
    for tier in TIERS {
        let report = invoke_wasm(runtime(), &echo, tier, &input, Policy::default(), |_| {});
        assert_eq!(output(&report), input);
        let calls: Vec<&str> = report
            .metrics
            .host_calls
            .iter()
            .map(|c| c.function.as_str())
            .collect();
        assert_eq!(calls, ["get_input", "get_input_len", "set_output"]);
    }
}

#[test]
fn fuel_and_the_epoch_deadline_from_skill_toml_hold() {
    let spin = module("", "", "(loop $forever (br $forever))");
    let (policy, request) = manifest(&toml(
        "[resources]\nfuel = 10_000\nepoch_timeout_secs = 60\n",
    ));
    assert_eq!(request.fuel, Some(10_000));
    for tier in TIERS {
        let report = run_as(&spin, tier, policy.clone(), request);
        assert_kind(&report, ErrorKind::FuelExhausted);
        assert!(message(&report).contains("10000"), "{}", message(&report));
    }
    let (policy, request) = manifest(&toml(
        "[resources]\nfuel = 1_000_000_000_000\nepoch_timeout_secs = 1\n",
    ));
    for tier in TIERS {
        let started = Instant::now();
        let report = invoke_wasm(runtime(), &spin, tier, "{}", policy.clone(), |l| {
            // The operator raises fuel out of the way, as `--fuel` would.
            l.fuel = request.fuel;
            l.timeout = l.timeout.min(request.timeout.unwrap());
        });
        assert_kind(&report, ErrorKind::Timeout);
        assert!(started.elapsed() < Duration::from_secs(5), "{tier}");
    }
    let grow = module("", "", "(drop (memory.grow (i32.const 1024)))");
    let (policy, request) = manifest(&toml("[resources]\nmemory_mb = 2\n"));
    for tier in TIERS {
        assert_kind(
            &run_as(&grow, tier, policy.clone(), request),
            ErrorKind::MemoryLimit,
        );
    }
}

#[test]
fn gated_calls_without_capabilities_are_denied() {
    let cases = [
        http_call("https://example.com"),
        read_call("/etc/passwd"),
        write_call("/tmp/blufio-denied", "x"),
    ];
    let (policy, request) = manifest(&toml("[capabilities]\n"));
    for tier in TIERS {
        for wasm in &cases {
            let report = run_as(wasm, tier, policy.clone(), request);
            assert_kind(&report, ErrorKind::CapabilityDenied);
            assert!(report.metrics.host_calls.iter().any(|c| !c.allowed));
        }
    }
    assert!(!std::path::Path::new("/tmp/blufio-denied").exists());
}

/// `$lognum`: logs an i32 in decimal (level info), so a test reads what an
/// import returned.
const LOGNUM: &str = r#"
    (func $lognum (param $n i32) (local $p i32) (local $neg i32)
      (local.set $p (i32.const 3100))
      (local.set $neg (i32.lt_s (local.get $n) (i32.const 0)))
      (if (local.get $neg) (then (local.set $n (i32.sub (i32.const 0) (local.get $n)))))
      (loop $digit
        (local.set $p (i32.sub (local.get $p) (i32.const 1)))
        (i32.store8 (local.get $p) (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
        (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
        (br_if $digit (local.get $n)))
      (if (local.get $neg) (then
        (local.set $p (i32.sub (local.get $p) (i32.const 1)))
        (i32.store8 (local.get $p) (i32.const 45))))
      (call $log (i32.const 2) (local.get $p) (i32.sub (i32.const 3100) (local.get $p))))"#;

const LOG_IMPORT: &str = r#"(import "blufio" "log" (func $log (param i32 i32 i32)))"#;

fn returned(report: &Report) -> i32 {
    report
        .logs
        .last()
        .expect("a logged status")
        .message
        .parse()
        .unwrap()
}

#[test]
fn http_goes_to_listed_domains_only_and_returns_status_and_body() {
    let server = TestServer::start(|req| match req.target.as_str() {
        "/missing" => Response {
            status: 404,
            ..Response::ok("no such thing")
        },
        _ => Response::ok(format!("{} {}", req.method, req.body)),
    });
    // A listed domain allows its subdomains; these are not listed.
    let (policy, request) = manifest(&toml(
        "[capabilities.network]\ndomains = [\"api.weather.com\"]\n",
    ));
    assert!(
        policy
            .grants
            .iter()
            .any(|g| g.to_string() == "http-get:*.api.weather.com")
    );
    for tier in TIERS {
        for url in ["https://evil.example.com/", "https://weather.com/"] {
            let report = run_as(&http_call(url), tier, policy.clone(), request);
            assert_kind(&report, ErrorKind::CapabilityDenied);
            assert!(message(&report).contains(url), "{}", message(&report));
        }
    }
    // Addresses the client refuses cannot be listed: blufio's SSRF check
    // refuses them too, and here only the operator may grant one.
    for domain in [
        "127.0.0.1",
        "localhost",
        "169.254.169.254",
        "10.0.0.8",
        "::1",
    ] {
        let messages = problems(&toml(&format!(
            "[capabilities.network]\ndomains = [\"{domain}\"]\n"
        )));
        assert!(
            messages
                .iter()
                .any(|m| m.contains("may not name for themselves")),
            "{domain}: {messages:?}"
        );
    }
    // The loopback test server is reached only through an operator's grant
    // (`cargo skill grant NAME http-get:127.0.0.1`): skill.toml cannot name it.
    let mut operator = policy.clone();
    for grant in ["http-get:127.0.0.1", "http-post:127.0.0.1"] {
        operator.grants.grant(grant.parse().unwrap());
    }
    let exchange = |path: &str, post: Option<&str>| {
        let url = server.url(path);
        let body = post.unwrap_or("");
        let method = if post.is_some() { 1 } else { 0 };
        module(
            &format!(
                r#"(import "blufio" "http_request" (func $http (param i32 i32 i32 i32 i32) (result i32))) {LOG_IMPORT}"#
            ),
            &format!(r#"(data (i32.const 0) "{url}") (data (i32.const 512) "{body}") {LOGNUM}"#),
            &format!(
                "(call $lognum (call $http (i32.const 0) (i32.const {}) (i32.const {method}) (i32.const 512) (i32.const {})))",
                url.len(),
                body.len()
            ),
        )
    };
    for tier in TIERS {
        let report = run_as(&exchange("/x", None), tier, operator.clone(), request);
        assert_eq!(
            (output(&report), returned(&report)),
            ("GET ", 200),
            "{tier}"
        );
        let report = run_as(&exchange("/missing", None), tier, operator.clone(), request);
        assert_eq!((output(&report), returned(&report)), ("no such thing", 404));
        let report = run_as(&exchange("/x", Some("hi")), tier, operator.clone(), request);
        assert_eq!((output(&report), returned(&report)), ("POST hi", 200));
    }
    assert_eq!(server.hits(), 6);
}

#[test]
fn files_are_reached_beneath_the_declared_host_folders_only() {
    let allowed = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let inside = allowed.path().join("test.txt");
    std::fs::write(&inside, "hello from file").unwrap();
    let secret = outside.path().join("secret.txt");
    std::fs::write(&secret, "secret data").unwrap();
    // A sibling folder whose name starts with the granted one's.
    let sibling = format!("{}-evil", allowed.path().display());
    std::fs::create_dir_all(&sibling).unwrap();
    std::fs::write(format!("{sibling}/x"), "nope").unwrap();
    std::os::unix::fs::symlink(&secret, allowed.path().join("link")).unwrap();
    std::fs::hard_link(&secret, allowed.path().join("hard")).unwrap();
    let folder = allowed.path().display().to_string();
    let (policy, request) = manifest(&toml(&format!(
        "[capabilities.filesystem]\nread = [\"{folder}\"]\nwrite = [\"{folder}/out\"]\n"
    )));
    std::fs::create_dir_all(allowed.path().join("out")).unwrap();
    for tier in TIERS {
        let report = run_as(
            &read_call(inside.to_str().unwrap()),
            tier,
            policy.clone(),
            request,
        );
        assert_eq!(output(&report), "hello from file", "{tier}");
        for path in [
            secret.display().to_string(),
            format!("{sibling}/x"),
            format!("{folder}/../{}/secret.txt", outside.path().display()),
            format!("{folder}/link"),
            format!("{folder}/hard"),
        ] {
            let report = run_as(&read_call(&path), tier, policy.clone(), request);
            assert_kind(&report, ErrorKind::CapabilityDenied);
        }
        // A missing file ends the run, as in blufio.
        let report = run_as(
            &read_call(&format!("{folder}/absent")),
            tier,
            policy.clone(),
            request,
        );
        assert_kind(&report, ErrorKind::SkillError);
        assert!(message(&report).contains("read_file failed"));

        let target = allowed.path().join(format!("out/{tier}.txt"));
        let report = run_as(
            &write_call(target.to_str().unwrap(), "written by wasm"),
            tier,
            policy.clone(),
            request,
        );
        assert_eq!(output(&report), "Skill completed successfully (no output)");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "written by wasm");
        for path in [
            format!("{folder}/top.txt"),
            outside.path().join("new.txt").display().to_string(),
        ] {
            let report = run_as(&write_call(&path, "x"), tier, policy.clone(), request);
            assert_kind(&report, ErrorKind::CapabilityDenied);
            assert!(!std::path::Path::new(&path).exists());
        }
    }
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "secret data");
}

#[test]
fn a_granted_folder_swapped_for_a_link_after_approval_leads_nowhere() {
    let root = tempfile::tempdir().unwrap();
    let granted = root.path().join("granted");
    let elsewhere = root.path().join("elsewhere");
    for dir in [&granted, &elsewhere] {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("test.txt"), dir.display().to_string()).unwrap();
    }
    let folder = granted.display().to_string();
    let (policy, request) = manifest(&toml(&format!(
        "[capabilities.filesystem]\nread = [\"{folder}\"]\nwrite = [\"{folder}\"]\n"
    )));
    let read = read_call(&format!("{folder}/test.txt"));
    let write = write_call(&format!("{folder}/new.txt"), "landed");
    for tier in TIERS {
        let report = run_as(&read, tier, policy.clone(), request);
        assert_eq!(output(&report), folder, "{tier}");
    }
    // The folder itself, not something beneath it, becomes a link.
    std::fs::rename(&granted, root.path().join("granted.old")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &granted).unwrap();
    let denied = |policy: &Policy, why: &str| {
        for tier in TIERS {
            for wasm in [&read, &write] {
                let report = run_as(wasm, tier, policy.clone(), request);
                assert_kind(&report, ErrorKind::CapabilityDenied);
                assert!(
                    message(&report).contains(why),
                    "{tier}: {}",
                    message(&report)
                );
            }
        }
    };
    denied(&policy, "symbolic link");
    assert!(!elsewhere.join("new.txt").exists());
    // Pinned at approval, the folder cannot be swapped for a real one either.
    std::fs::remove_file(&granted).unwrap();
    std::fs::rename(root.path().join("granted.old"), &granted).unwrap();
    let mut pinned = policy.clone();
    pinned.pinned_folders.insert(
        granted.clone(),
        skill_runtime::capabilities::files::pin_folder(&granted).unwrap(),
    );
    for tier in TIERS {
        let report = run_as(&read, tier, pinned.clone(), request);
        assert_eq!(output(&report), folder, "{tier}");
    }
    std::fs::rename(&granted, root.path().join("granted.pinned")).unwrap();
    std::fs::rename(&elsewhere, &granted).unwrap();
    denied(&pinned, "not the folder that was approved");
    assert!(!granted.join("new.txt").exists());
    std::fs::rename(&granted, &elsewhere).unwrap();
    std::fs::rename(root.path().join("granted.pinned"), &granted).unwrap();

    // A link on the way to it is refused the same way.
    let via = root.path().join("via");
    std::os::unix::fs::symlink(root.path(), &via).unwrap();
    let linked = via.join("granted").display().to_string();
    let (policy, request) = manifest(&toml(&format!(
        "[capabilities.filesystem]\nread = [\"{linked}\"]\n"
    )));
    for tier in TIERS {
        let report = run_as(
            &read_call(&format!("{linked}/test.txt")),
            tier,
            policy.clone(),
            request,
        );
        assert_kind(&report, ErrorKind::CapabilityDenied);
    }
}

#[test]
fn get_env_hands_over_granted_variables_and_minus_one_otherwise() {
    let get = |name: &str, buf_len: i32| {
        module(
            &format!(
                r#"(import "blufio" "get_env" (func $env (param i32 i32 i32 i32) (result i32)))
                   (import "blufio" "set_output" (func $set (param i32 i32))) {LOG_IMPORT}"#
            ),
            &format!(r#"(data (i32.const 0) "{name}") {LOGNUM}"#),
            &format!(
                "(local $n i32)
                 (local.set $n (call $env (i32.const 0) (i32.const {}) (i32.const 1024) (i32.const {buf_len})))
                 (call $lognum (local.get $n))
                 (if (i32.gt_s (local.get $n) (i32.const 0))
                   (then (call $set (i32.const 1024) (local.get $n))))",
                name.len()
            ),
        )
    };
    let (declared, request) = manifest(&toml("[capabilities]\nenv = [\"WEATHER_API_KEY\"]\n"));
    let with_values = Policy {
        grants: declared.grants.clone(),
        ..policy(
            &[],
            &[],
            &[("WEATHER_API_KEY", "k-123"), ("HOME", "/root")],
            &[],
        )
    };
    for tier in TIERS {
        let granted = run_as(
            &get("WEATHER_API_KEY", 64),
            tier,
            with_values.clone(),
            request,
        );
        assert_eq!((output(&granted), returned(&granted)), ("k-123", 5));
        let small = run_as(
            &get("WEATHER_API_KEY", 2),
            tier,
            with_values.clone(),
            request,
        );
        assert_eq!(returned(&small), -2);
        let refused = run_as(&get("HOME", 64), tier, with_values.clone(), request);
        assert!(
            refused.result.is_ok(),
            "blufio's get_env never ends the run"
        );
        assert_eq!(returned(&refused), -1);
        assert!(
            refused
                .metrics
                .host_calls
                .iter()
                .any(|c| c.function == "read-env" && !c.allowed),
            "the refusal is recorded: {:?}",
            refused.metrics.host_calls
        );
    }
}

#[test]
fn modules_off_the_abi_are_refused_at_load_with_every_reason() {
    let load = |wat: &str| runtime().load(&wat::parse_str(wat).unwrap(), TrustTier::Untrusted);
    let Err(LoadError::CoreAbi(problems)) = load(
        r#"(module
            (import "blufio" "spawn" (func))
            (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
            (import "blufio" "log" (func (param i32 i32)))
            (import "env" "get_input_len" (func (result i32))))"#,
    ) else {
        panic!("loaded")
    };
    let all = problems.join("\n");
    for expected in [
        "`blufio.spawn`, which the core ABI does not provide",
        "`wasi_snapshot_preview1.fd_write` (WASI)",
        "imports `blufio.log` as (i32, i32) -> (), but the ABI's is (i32, i32, i32) -> ()",
        "`env.get_input_len`, which the core ABI does not provide",
        "exports no `run` function",
        "exports no `memory`",
    ] {
        assert!(all.contains(expected), "missing `{expected}` in:\n{all}");
    }
}

#[test]
fn hostile_pointers_and_lengths_end_in_a_trap_never_a_host_panic() {
    let cases = [
        "(call $set (i32.const -16) (i32.const 100))",
        "(call $set (i32.const 0) (i32.const -1))",
        "(call $set (i32.const 65530) (i32.const 7))",
        "(call $log (i32.const 2) (i32.const 2147483647) (i32.const 2147483647))",
        "(call $get (i32.const 65535))",
        "(drop (call $env (i32.const 0) (i32.const 4) (i32.const 65534) (i32.const 100)))",
        "(drop (call $read (i32.const -1) (i32.const 10) (i32.const 0) (i32.const 0)))",
    ];
    let imports = r#"(import "blufio" "set_output" (func $set (param i32 i32)))
        (import "blufio" "log" (func $log (param i32 i32 i32)))
        (import "blufio" "get_input" (func $get (param i32)))
        (import "blufio" "get_env" (func $env (param i32 i32 i32 i32) (result i32)))
        (import "blufio" "read_file" (func $read (param i32 i32 i32 i32) (result i32)))"#;
    let zone = || policy(&["read-env:ZONE"], &[], &[("ZONE", "a value")], &[]);
    for tier in TIERS {
        for body in cases {
            let wasm = module(imports, r#"(data (i32.const 0) "ZONE")"#, body);
            let report = invoke_wasm(runtime(), &wasm, tier, r#"{"x":1}"#, zone(), |_| {});
            assert_kind(&report, ErrorKind::Trap);
            assert!(
                message(&report).contains("outside its memory"),
                "{body}: {}",
                message(&report)
            );
        }
    }
}

#[test]
fn a_rust_core_guest_round_trips_and_uses_granted_capabilities() {
    let wasm = skill_test_support::core_guest_wasm("core-probe");
    assert!(wasmparser::Parser::is_core_wasm(&wasm));
    let server = TestServer::start(|req| Response::ok(format!("{} {}", req.method, req.body)));
    for tier in TIERS {
        let run = |input: Value, policy: Policy| {
            invoke_wasm(runtime(), &wasm, tier, &input.to_string(), policy, |_| {})
        };
        let echo = run(json!({"mode": "echo", "x": [1, 2]}), Policy::default());
        assert_eq!(
            serde_json::from_str::<Value>(output(&echo)).unwrap()["x"],
            json!([1, 2])
        );
        let zone = policy(&["read-env:ZONE"], &[], &[("ZONE", "Europe/Oslo")], &[]);
        let env = run(json!({"mode": "env", "name": "ZONE"}), zone);
        assert_eq!(output(&env), r#"{"value":"Europe/Oslo"}"#);
        let denied = run(json!({"mode": "env", "name": "ZONE"}), Policy::default());
        assert_eq!(output(&denied), r#"{"status":-1}"#);
        let net = policy(&["http-post:127.0.0.1"], &[], &[], &[]);
        let posted = run(
            json!({"mode": "http", "url": server.url("/p"), "body": "hi"}),
            net,
        );
        assert_eq!(output(&posted), "POST hi");
        assert_eq!(posted.logs[1].message, "status 200");
        let quiet = run(json!({"mode": "quiet"}), Policy::default());
        assert_eq!(output(&quiet), r#"[DEBUG] mode "quiet""#);
    }
}
