//! Each capability doing its real job, scoped exactly as granted, against a
//! real HTTP server on loopback, real files and a real SQLite audit log;
//! every way out is tried and must end the invocation as denied.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::{assert_kind, granting, invoke_granted, invoke_on, policy, runtime};
use serde_json::{Value, json};
use skill_runtime::audit::{AuditLog, AuditQuery, AuditRecord};
use skill_runtime::{
    ErrorKind, FileMemory, Policy, Report, Runtime, RuntimeConfig, SecretStore, TrustTier, Values,
};
use skill_test_support::http_server::{Response, TestServer};

fn output(report: &Report) -> Value {
    let text = report.result.as_ref().unwrap_or_else(|f| panic!("{f}"));
    serde_json::from_str(text).unwrap()
}

fn message(report: &Report) -> &str {
    &report.result.as_ref().unwrap_err().message
}

fn get(url: &str, policy: Policy) -> Report {
    invoke_granted(json!({"mode": "http", "url": url}), policy)
}

fn loopback_server() -> TestServer {
    TestServer::start(|req| match req.target.as_str() {
        "/ok" => Response::ok("hello from loopback"),
        "/echo" => Response::ok(format!("{} {}", req.method, req.body)),
        "/big" => Response::ok(vec![b'x'; 5000]),
        "/drip" => Response {
            drip: Some(Duration::from_millis(50)),
            ..Response::ok(vec![b'.'; 400])
        },
        "/missing" => Response {
            status: 404,
            ..Response::ok("not here")
        },
        target => match target.strip_prefix("/redirect?to=") {
            Some(to) => Response::redirect(to),
            None => Response::ok("?"),
        },
    })
}

#[test]
fn a_grant_naming_the_literal_reaches_loopback() {
    let server = loopback_server();
    let report = get(&server.url("/ok"), granting(&["http-get:127.0.0.1"]));
    assert_eq!(output(&report)["body"], "hello from loopback");
    // Same address in decimal: the grant names it, so it is allowed too.
    let decimal = format!("http://2130706433:{}/ok", server.port);
    assert!(get(&decimal, granting(&["http-get:127.0.0.1"])).is_ok());
    let port_scoped = format!("http-get:127.0.0.1:{}", server.port);
    assert!(get(&server.url("/ok"), granting(&[&port_scoped])).is_ok());
    let localhost = format!("http://localhost:{}/ok", server.port);
    assert!(get(&localhost, granting(&["http-get:localhost"])).is_ok());

    let status = get(&server.url("/missing"), granting(&["http-get:127.0.0.1"]));
    assert_kind(&status, ErrorKind::SkillError);
    assert!(message(&status).contains("HTTP 404"), "{status:?}");
}

#[test]
fn every_form_of_an_internal_address_is_refused_before_connecting() {
    let server = loopback_server();
    let port = server.port;
    let mut name = [0u8; 256];
    // SAFETY: a buffer of the length passed.
    let named = unsafe { libc::gethostname(name.as_mut_ptr().cast(), name.len()) };
    assert_eq!(named, 0, "the machine's hostname");
    let hostname = std::ffi::CStr::from_bytes_until_nul(&name)
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let resolved: Vec<std::net::SocketAddr> =
        std::net::ToSocketAddrs::to_socket_addrs(&(hostname.as_str(), port))
            .expect("the hostname resolves")
            .collect();
    assert!(
        resolved
            .iter()
            .all(|a| skill_runtime::capabilities::http::blocked_reason(a.ip()).is_some()),
        "this test needs a host name resolving to internal addresses; {hostname} resolves to {resolved:?}"
    );
    let cases = [
        (format!("http://127.0.0.1:{port}/ok"), "http-get"),
        (format!("http://2130706433:{port}/ok"), "http-get"),
        (format!("http://0177.0.0.1:{port}/ok"), "http-get"),
        (format!("http://0x7f.0.0.1:{port}/ok"), "http-get"),
        (format!("http://0x7f000001:{port}/ok"), "http-get"),
        (format!("http://127.1:{port}/ok"), "http-get"),
        (format!("http://[::ffff:127.0.0.1]:{port}/ok"), "http-get"),
        (format!("http://[::1]:{port}/ok"), "http-get"),
        (format!("http://localhost:{port}/ok"), "http-get"),
        (format!("http://LOCALHOST:{port}/ok"), "http-get"),
        (
            format!("http://{hostname}:{port}/ok"),
            &*format!("http-get:{hostname}"),
        ),
        (
            "http://169.254.169.254/latest/meta-data/".to_string(),
            "http-get",
        ),
        ("http://[fd00::1]/".to_string(), "http-get"),
        ("http://10.0.0.1/".to_string(), "http-get"),
        ("http://0.0.0.0/".to_string(), "http-get"),
        ("file:///etc/passwd".to_string(), "http-get"),
        (
            format!("http://user:pw@127.0.0.1:{port}/ok"),
            "http-get:127.0.0.1",
        ),
    ];
    for (url, grant) in &cases {
        let report = get(url, granting(&[grant]));
        assert_kind(&report, ErrorKind::CapabilityDenied);
        assert!(message(&report).contains("http-get("), "{url}: {report:?}");
    }
    assert_eq!(server.hits(), 0, "no refused request may reach the server");
    // A grant for another host, or a wildcard, never covers the address.
    for grant in ["http-get:example.com", "http-get:*.0.0.1"] {
        assert_kind(
            &get(&server.url("/ok"), granting(&[grant])),
            ErrorKind::CapabilityDenied,
        );
    }
    assert_eq!(server.hits(), 0);
}

#[test]
fn redirects_are_rechecked_at_every_hop() {
    let server = loopback_server();
    let port = server.port;
    let named = granting(&["http-get:localhost"]);
    let same_host = format!("http://localhost:{port}/redirect?to=/ok");
    assert_eq!(
        output(&get(&same_host, named.clone()))["body"],
        "hello from loopback"
    );
    assert_eq!(server.hits(), 2);

    for to in [
        format!("http://127.0.0.1:{port}/ok"),
        "http://169.254.169.254/latest/meta-data/".to_string(),
    ] {
        let url = format!("http://localhost:{port}/redirect?to={to}");
        let report = get(&url, named.clone());
        assert_kind(&report, ErrorKind::CapabilityDenied);
        assert!(
            message(&report).contains("redirect to another host"),
            "{report:?}"
        );
    }
    assert_eq!(server.hits(), 4, "only the redirecting requests were sent");
}

#[test]
fn post_needs_its_own_grant_and_sends_the_body() {
    let server = loopback_server();
    let post = |policy| {
        invoke_granted(
            json!({"mode": "http-post", "url": server.url("/echo"), "body": "{\"q\":1}"}),
            policy,
        )
    };
    assert_eq!(
        output(&post(granting(&["http-post:127.0.0.1"])))["body"],
        "POST {\"q\":1}"
    );
    assert_kind(
        &post(granting(&["http-get:127.0.0.1"])),
        ErrorKind::CapabilityDenied,
    );
}

#[test]
fn oversized_and_drip_fed_responses_end_inside_the_deadline() {
    let server = loopback_server();
    let mut small = granting(&["http-get:127.0.0.1"]);
    small.http.max_response_bytes = 1000;
    let big = get(&server.url("/big"), small);
    assert_kind(&big, ErrorKind::SkillError);
    assert!(
        message(&big).contains("larger than the limit of 1000 bytes"),
        "{big:?}"
    );

    // The drip takes 20 s; the invocation's deadline is 1 s.
    let drip = invoke_on(
        runtime(),
        TrustTier::Untrusted,
        json!({"mode": "http", "url": server.url("/drip")}),
        granting(&["http-get:127.0.0.1"]),
        |limits| limits.timeout = Duration::from_secs(1),
    );
    assert_kind(&drip, ErrorKind::Timeout);
    assert!(message(&drip).contains("http-get"), "{drip:?}");
    assert!(drip.metrics.duration < Duration::from_secs(5), "{drip:?}");

    // A request timeout shorter than the deadline is the guest's to handle.
    let mut short = granting(&["http-get:127.0.0.1"]);
    short.http.request_timeout = Duration::from_millis(300);
    let timed_out = get(&server.url("/drip"), short);
    assert_kind(&timed_out, ErrorKind::SkillError);
    assert!(message(&timed_out).contains("timed out"), "{timed_out:?}");
}

fn files_policy(data: &Path, grants: &[&str]) -> Policy {
    Policy {
        data_dir: Some(data.to_path_buf()),
        ..granting(grants)
    }
}

fn read(path: &str, policy: Policy) -> Report {
    invoke_granted(json!({"mode": "read-file", "path": path}), policy)
}

fn write(path: &str, content: &str, policy: Policy) -> Report {
    invoke_granted(
        json!({"mode": "write-file", "path": path, "content": content}),
        policy,
    )
}

#[test]
fn files_round_trip_inside_the_data_folder_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let rw = files_policy(&data, &["read-file", "write-file"]);
    assert!(write("notes/today.txt", "first", rw.clone()).is_ok());
    assert!(write("notes/today.txt", "second", rw.clone()).is_ok());
    assert_eq!(
        output(&read("notes/today.txt", rw.clone()))["content"],
        "second"
    );
    let names: Vec<_> = std::fs::read_dir(data.join("notes"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["today.txt"], "no temporary file is left behind");

    let missing = read("nope.txt", rw.clone());
    assert_kind(&missing, ErrorKind::SkillError);
    assert!(message(&missing).contains("does not exist"));

    let mut capped = rw.clone();
    capped.files.max_write_bytes = 10;
    let too_big = write("big.txt", &"x".repeat(11), capped);
    assert_kind(&too_big, ErrorKind::SkillError);
    assert!(message(&too_big).contains("write limit"), "{too_big:?}");

    let scoped = files_policy(&data, &["write-file:reports"]);
    assert!(write("reports/a.txt", "ok", scoped.clone()).is_ok());
    assert_kind(
        &write("notes/x.txt", "no", scoped),
        ErrorKind::CapabilityDenied,
    );
    assert_kind(
        &read("notes/today.txt", granting(&["read-file"])),
        ErrorKind::CapabilityDenied,
    );
    assert_kind(
        &write("x", "no", files_policy(&data, &["read-file"])),
        ErrorKind::CapabilityDenied,
    );
}

#[test]
fn every_path_leading_out_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret.txt"), "OUTSIDE").unwrap();
    std::os::unix::fs::symlink(&outside, data.join("out")).unwrap();
    std::os::unix::fs::symlink(outside.join("secret.txt"), data.join("link.txt")).unwrap();
    std::os::unix::fs::symlink("../outside/secret.txt", data.join("rel.txt")).unwrap();
    std::fs::hard_link(outside.join("secret.txt"), data.join("hard.txt")).unwrap();
    let rw = files_policy(&data, &["read-file", "write-file"]);
    for path in [
        "/etc/passwd",
        "../outside/secret.txt",
        "a/../../outside/secret.txt",
        "out/secret.txt",
        "link.txt",
        "rel.txt",
        "hard.txt",
        "secret.txt/",
        "a\0b",
        "./link.txt",
        "",
    ] {
        let report = read(path, rw.clone());
        assert_kind(&report, ErrorKind::CapabilityDenied);
    }
    for path in [
        "out/new.txt",
        "../outside/new.txt",
        "/tmp/new.txt",
        "link.txt/x",
    ] {
        let report = write(path, "pwned", rw.clone());
        assert_eq!(
            report.error_kind(),
            Some(ErrorKind::CapabilityDenied),
            "{path}: {report:?}"
        );
    }
    // Replacing a symlink replaces the link, never writes through it.
    assert!(write("link.txt", "mine", rw.clone()).is_ok());
    let names: Vec<_> = std::fs::read_dir(&outside)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["secret.txt"]);
    assert_eq!(
        std::fs::read_to_string(outside.join("secret.txt")).unwrap(),
        "OUTSIDE"
    );
}

#[test]
fn a_symlink_swapped_in_between_check_and_use_is_still_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(dir.path().join("secret.txt"), "OUTSIDE").unwrap();
    std::fs::write(data.join("x"), "inside").unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swapper = {
        let (data, stop) = (data.clone(), stop.clone());
        let target = dir.path().join("secret.txt");
        std::thread::spawn(move || {
            let mut flips = 0u64;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let _ = std::fs::remove_file(data.join("tmp"));
                if flips.is_multiple_of(2) {
                    std::os::unix::fs::symlink(&target, data.join("tmp")).unwrap();
                } else {
                    std::fs::write(data.join("tmp"), "inside").unwrap();
                }
                std::fs::rename(data.join("tmp"), data.join("x")).unwrap();
                flips += 1;
            }
            flips
        })
    };
    let report = invoke_granted(
        json!({"mode": "read-race", "path": "x", "times": 3000}),
        files_policy(&data, &["read-file"]),
    );
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let flips = swapper.join().unwrap();
    assert!(flips > 10, "the swapper ran ({flips} flips)");
    // Either the read saw the file or the invocation ended as denied on a
    // symlink; the outside content never appears.
    match &report.result {
        Ok(out) => assert!(!out.contains("OUTSIDE"), "{out}"),
        Err(failure) => assert_eq!(failure.kind, ErrorKind::CapabilityDenied, "{failure}"),
    }
}

#[test]
fn read_env_follows_the_grant_and_its_scope() {
    let env = [("TZ", "Europe/Oslo"), ("HOME", "/root")];
    let ungranted = invoke_granted(
        json!({"mode": "env-var", "name": "TZ"}),
        policy(&[], &[], &env, &[]),
    );
    assert_kind(&ungranted, ErrorKind::CapabilityDenied);

    let scoped = policy(&["read-env:TZ"], &[], &env, &[]);
    let ok = invoke_granted(json!({"mode": "env-var", "name": "TZ"}), scoped.clone());
    assert_eq!(ok.result.unwrap(), r#"{"value":"Europe/Oslo"}"#);
    let outside = invoke_granted(json!({"mode": "env-var", "name": "HOME"}), scoped.clone());
    assert_kind(&outside, ErrorKind::CapabilityDenied);
    assert!(message(&outside).contains("read-env(HOME)"));

    let mut revoked = scoped;
    revoked.grants.revoke(skill_runtime::Capability::ReadEnv);
    assert_kind(
        &invoke_granted(json!({"mode": "env-var", "name": "TZ"}), revoked),
        ErrorKind::CapabilityDenied,
    );

    let unset = invoke_granted(
        json!({"mode": "env-var", "name": "LANG"}),
        policy(&["read-env"], &[], &env, &[]),
    );
    assert_eq!(
        unset.result.unwrap_err(),
        skill_runtime::Failure::new(ErrorKind::SkillError, "`LANG` is not set")
    );
}

#[test]
fn secrets_need_a_grant_and_a_declaration_and_never_reach_log_or_audit() {
    let values = [("API_KEY", "s3cr3t-value")];
    let undeclared = invoke_granted(
        json!({"mode": "leak-secret"}),
        policy(&["get-secret"], &[], &[], &values),
    );
    assert_kind(&undeclared, ErrorKind::CapabilityDenied);
    let ungranted = invoke_granted(
        json!({"mode": "leak-secret"}),
        policy(&[], &["API_KEY"], &[], &values),
    );
    assert_kind(&ungranted, ErrorKind::CapabilityDenied);

    let dir = tempfile::tempdir().unwrap();
    let audited = audited_runtime(&dir.path().join("audit.db"));
    let report = invoke_on(
        &audited,
        TrustTier::Untrusted,
        json!({"mode": "leak-secret"}),
        policy(&["get-secret:API_KEY"], &["API_KEY"], &[], &values),
        |_| {},
    );
    assert_eq!(report.result.as_deref(), Ok(r#"{"length":12}"#));
    let logged: Vec<&str> = report.logs.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(logged, ["the secret is [redacted]!", "printed: [redacted]"]);
    assert!(!report.to_json().to_string().contains("s3cr3t"));
    let db = std::fs::read(dir.path().join("audit.db")).unwrap();
    let wal = std::fs::read(dir.path().join("audit.db-wal")).unwrap_or_default();
    for bytes in [db, wal] {
        assert!(
            !bytes.windows(6).any(|w| w == b"s3cr3t"),
            "the secret reached the audit log"
        );
    }
    let records = audit_of(&audited).query(&AuditQuery::default()).unwrap();
    assert_eq!(records[0].capabilities_used, ["get-secret"]);
}

#[test]
fn secrets_come_from_the_private_file_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = SecretStore::new(dir.path().join("secrets.json"));
    store.set("API_KEY", "from-the-store").unwrap();
    let from_store = Policy {
        secret_values: Values::Process,
        secret_store: Some(store),
        ..policy(&["get-secret"], &["API_KEY"], &[], &[])
    };
    let report = invoke_granted(json!({"mode": "secret"}), from_store);
    assert_eq!(report.result.as_deref(), Ok("from-the-store"));
}

#[test]
fn memory_is_recalled_through_the_provider_only_when_granted() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("memory.json");
    std::fs::write(
        &file,
        r#"["likes green tea", "lives in Lyon", "owns a cat"]"#,
    )
    .unwrap();
    let with_memory = |grants: &[&str]| Policy {
        memory: Some(Arc::new(FileMemory::new(&file))),
        ..granting(grants)
    };
    let recall = json!({"mode": "recall", "query": "tea", "limit": 5});
    let report = invoke_granted(recall.clone(), with_memory(&["recall-memory"]));
    assert_eq!(output(&report)["memories"], json!(["likes green tea"]));
    assert_kind(
        &invoke_granted(recall, with_memory(&[])),
        ErrorKind::CapabilityDenied,
    );
}

fn audited_runtime(db: &Path) -> Runtime {
    Runtime::new(RuntimeConfig {
        audit: Some(Arc::new(AuditLog::open(db).unwrap())),
        sandbox: common::sandbox(),
        ..Default::default()
    })
}

fn audit_of(runtime: &Runtime) -> &AuditLog {
    runtime.config().audit.as_deref().unwrap()
}

#[test]
fn every_outcome_is_audited_and_queryable() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let audited = audited_runtime(&db);
    let run = |input: Value| {
        invoke_on(
            &audited,
            TrustTier::Untrusted,
            input,
            Policy::default(),
            |_| {},
        )
    };
    let ok = run(json!({"mode": "echo"}));
    run(json!({"mode": "fail"}));
    let denied = run(json!({"mode": "http", "url": "http://example.com/"}));
    run(json!({"mode": "loop"}));

    let log = audit_of(&audited);
    let all = log.query(&AuditQuery::default()).unwrap();
    let outcomes: Vec<&str> = all.iter().map(|r| r.outcome.as_str()).collect();
    assert_eq!(
        outcomes,
        ["ok", "skill-error", "capability-denied", "fuel-exhausted"]
    );
    let first = &all[0];
    assert_eq!(
        (
            first.invocation_id.as_str(),
            first.bot.as_str(),
            first.skill.as_str()
        ),
        (ok.invocation_id.as_str(), "test-bot", "probe")
    );
    assert_eq!(first.version, "0.1.0");
    assert_eq!(first.tier, "untrusted");
    assert_eq!(first.input_sha256.len(), 64);
    assert!(first.output_sha256.is_some() && all[1].output_sha256.is_none());
    assert!(first.fuel > 0 && first.peak_memory_bytes > 0);
    assert_eq!(all[2].invocation_id, denied.invocation_id);
    assert_eq!(all[2].capabilities_denied, ["http-get"]);

    let only = |query: AuditQuery| log.query(&query).unwrap().len();
    let q = AuditQuery::default;
    assert_eq!(
        only(AuditQuery {
            outcome: Some("ok".into()),
            ..q()
        }),
        1
    );
    assert_eq!(
        only(AuditQuery {
            skill: Some("other".into()),
            ..q()
        }),
        0
    );
    assert_eq!(
        only(AuditQuery {
            bot: Some("test-bot".into()),
            ..q()
        }),
        4
    );
    assert_eq!(
        only(AuditQuery {
            limit: Some(2),
            ..q()
        }),
        2
    );
    let future = std::time::SystemTime::now() + Duration::from_secs(60);
    assert_eq!(
        only(AuditQuery {
            since: Some(future),
            ..q()
        }),
        0
    );

    // Reopening migrates nothing and loses nothing.
    let reopened = AuditLog::open(&db).unwrap();
    assert_eq!(reopened.schema_version().unwrap(), 2);
    assert_eq!(reopened.query(&q()).unwrap().len(), 4);
}

#[test]
fn a_version_1_audit_log_gains_the_trace_column_and_keeps_its_records() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    {
        // The schema as version 1 shipped it, with one record.
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(
            "CREATE TABLE invocations (
                invocation_id TEXT PRIMARY KEY, time_ms INTEGER NOT NULL, bot TEXT NOT NULL,
                skill TEXT NOT NULL, version TEXT NOT NULL, tier TEXT NOT NULL,
                capabilities_used TEXT NOT NULL, capabilities_denied TEXT NOT NULL,
                input_sha256 TEXT NOT NULL, output_sha256 TEXT, fuel INTEGER NOT NULL,
                peak_memory_bytes INTEGER NOT NULL, duration_us INTEGER NOT NULL,
                outcome TEXT NOT NULL);
             INSERT INTO invocations VALUES ('old', 1, 'b', 's', '1.0.0', 'untrusted', '[]', '[]',
                'x', NULL, 1, 1, 1, 'ok');
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    let log = AuditLog::open(&db).unwrap();
    assert_eq!(log.schema_version().unwrap(), 2);
    let all = log.query(&AuditQuery::default()).unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(
        (all[0].invocation_id.as_str(), all[0].trace_id.as_ref()),
        ("old", None)
    );

    // A trace's records come back in the order they were appended, even
    // within one millisecond and with ids that sort the other way.
    for (id, trace) in [
        ("c", Some("t1")),
        ("b", Some("t1")),
        ("z", None),
        ("a", Some("t1")),
    ] {
        log.append(&AuditRecord {
            invocation_id: id.into(),
            time_ms: 5,
            trace_id: trace.map(str::to_string),
            ..plain_record(0)
        })
        .unwrap();
    }
    let traced = log
        .query(&AuditQuery {
            trace: Some("t1".into()),
            ..AuditQuery::default()
        })
        .unwrap();
    let ids: Vec<&str> = traced.iter().map(|r| r.invocation_id.as_str()).collect();
    assert_eq!(ids, ["c", "b", "a"]);
}

/// Not a test of its own: the child process of the concurrency and crash
/// tests. Appends records to `AUDIT_CHILD_DB`, printing each id once committed.
#[test]
#[ignore = "run as a child process by the audit tests"]
fn audit_child_writer() {
    let Ok(db) = std::env::var("AUDIT_CHILD_DB") else {
        return;
    };
    let count: usize = std::env::var("AUDIT_CHILD_COUNT").unwrap().parse().unwrap();
    // With several threads, appends arrive together and share commits.
    let threads: usize = std::env::var("AUDIT_CHILD_THREADS").map_or(1, |t| t.parse().unwrap());
    let log = AuditLog::open(Path::new(&db)).unwrap();
    let report = Report::refused(
        TrustTier::Untrusted,
        TrustTier::Untrusted.default_limits(),
        skill_runtime::Failure::new(ErrorKind::Trap, "x"),
    );
    let stdout = std::sync::Mutex::new(std::io::stdout());
    std::thread::scope(|s| {
        for t in 0..threads {
            let (log, report, stdout) = (&log, &report, &stdout);
            s.spawn(move || {
                use std::io::Write;
                for i in 0..count {
                    let record = AuditRecord {
                        invocation_id: format!("{}-{t}-{i}", std::process::id()),
                        ..AuditRecord::new(
                            report,
                            skill_runtime::audit::Subject {
                                bot: "child",
                                skill: "writer",
                                version: "1.0.0",
                                input: "{}",
                                trace_id: None,
                            },
                        )
                    };
                    log.append(&record).unwrap();
                    let mut out = stdout.lock().unwrap();
                    writeln!(out, "committed {}", record.invocation_id).unwrap();
                    out.flush().unwrap();
                }
            });
        }
    });
}

fn child_writer(db: &Path, count: usize) -> std::process::Child {
    child_writers(db, count, 1)
}

/// `threads` writers in one child process, `count` records each.
fn child_writers(db: &Path, count: usize, threads: usize) -> std::process::Child {
    std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "audit_child_writer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("AUDIT_CHILD_DB", db)
        .env("AUDIT_CHILD_COUNT", count.to_string())
        .env("AUDIT_CHILD_THREADS", threads.to_string())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

fn committed_ids(output: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(output)
        .lines()
        // The harness may print its own text before the first line.
        .filter_map(|l| l.split("committed ").nth(1))
        .map(str::to_string)
        .collect()
}

fn plain_record(id: usize) -> AuditRecord {
    AuditRecord {
        invocation_id: format!("record-{id}"),
        time_ms: 1_700_000_000_000,
        bot: "default".into(),
        skill: "probe".into(),
        version: "1.0.0".into(),
        tier: "untrusted".into(),
        capabilities_used: vec![],
        capabilities_denied: vec![],
        input_sha256: "0".repeat(64),
        output_sha256: None,
        fuel: 1,
        peak_memory_bytes: 1,
        duration_us: 1,
        outcome: "ok".into(),
        trace_id: None,
    }
}

/// Appends records until the WAL passes 1 MiB; how many.
fn fill_wal(log: &AuditLog, db: &Path) -> usize {
    let wal = db.with_extension("db-wal");
    let mut count = 0;
    while std::fs::metadata(&wal).map_or(0, |m| m.len()) <= 1 << 20 {
        log.append(&plain_record(count)).unwrap();
        count += 1;
        assert!(count < 100_000, "the WAL does not grow");
    }
    count
}

/// One-shot runs close the log without a checkpoint; the last to close a
/// long WAL truncates it, so the next opener does not read it all again.
#[test]
fn a_long_wal_is_truncated_when_the_log_closes_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let log = AuditLog::open(&db).unwrap();
    let count = fill_wal(&log, &db);
    drop(log);
    let wal = std::fs::metadata(db.with_extension("db-wal")).map_or(0, |m| m.len());
    assert_eq!(wal, 0, "the WAL was not truncated");
    let log = AuditLog::open(&db).unwrap();
    assert_eq!(log.query(&AuditQuery::default()).unwrap().len(), count);
    assert_eq!(log.check_integrity(), Ok(()));
}

/// Truncating needs every other connection gone: a close beside a reader
/// leaves the WAL as it is, at once.
#[test]
fn a_log_closing_beside_a_reader_does_not_wait_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let log = AuditLog::open(&db).unwrap();
    let count = fill_wal(&log, &db);
    let reader = rusqlite::Connection::open(&db).unwrap();
    reader.execute_batch("BEGIN").unwrap();
    let seen: usize = reader
        .query_row("SELECT count(*) FROM invocations", [], |row| row.get(0))
        .unwrap();
    assert_eq!(seen, count);
    let (closed, wait) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        drop(log);
        closed.send(()).unwrap();
    });
    wait.recv_timeout(Duration::from_secs(10))
        .expect("closing the log waited for the reader");
    let wal = std::fs::metadata(db.with_extension("db-wal"))
        .unwrap()
        .len();
    assert!(wal > 1 << 20, "the WAL was truncated under a reader");
    reader.execute_batch("COMMIT").unwrap();
}

/// The log syncs the WAL SQLite writes: beside the database a symbolic
/// link leads to, not beside the link.
#[test]
fn a_log_opened_through_a_symbolic_link_appends_and_syncs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("real")).unwrap();
    let link = dir.path().join("audit.db");
    std::os::unix::fs::symlink(dir.path().join("real/audit.db"), &link).unwrap();
    let child = child_writer(&link, 5).wait_with_output().unwrap();
    assert!(child.status.success());
    assert_eq!(committed_ids(&child.stdout).len(), 5);
    assert!(dir.path().join("real/audit.db-wal").exists());
    assert!(!dir.path().join("audit.db-wal").exists());
    let log = AuditLog::open(&link).unwrap();
    assert_eq!(log.query(&AuditQuery::default()).unwrap().len(), 5);
}

#[test]
fn concurrent_writers_from_several_processes_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let children: Vec<_> = (0..4).map(|_| child_writer(&db, 50)).collect();
    let mut expected = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        expected.extend(committed_ids(&out.stdout));
    }
    assert_eq!(expected.len(), 200);
    let log = AuditLog::open(&db).unwrap();
    let mut found: Vec<String> = log
        .query(&AuditQuery::default())
        .unwrap()
        .into_iter()
        .map(|r| r.invocation_id)
        .collect();
    found.sort();
    expected.sort();
    assert_eq!(found, expected);
}

#[test]
fn a_killed_writer_loses_no_committed_record_and_corrupts_nothing() {
    killed_mid_stream(1);
}

/// Eight threads share commits; the kill lands while batches are written:
/// every record whose append returned is there.
#[test]
fn a_writer_killed_while_a_batch_is_written_loses_no_returned_record() {
    killed_mid_stream(8);
}

fn killed_mid_stream(threads: usize) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let mut child = child_writers(&db, 1_000_000, threads);
    let mut stdout = child.stdout.take().unwrap();
    // Wait until some records are committed, then kill mid-stream.
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while committed_ids(&seen).len() < 20 * threads {
        let n = std::io::Read::read(&mut stdout, &mut buf).unwrap();
        assert!(n > 0, "the writer stopped early");
        seen.extend_from_slice(&buf[..n]);
    }
    child.kill().unwrap();
    child.wait().unwrap();
    std::io::Read::read_to_end(&mut stdout, &mut seen).unwrap();
    let committed = committed_ids(&seen);

    let log = AuditLog::open(&db).unwrap();
    assert_eq!(log.check_integrity(), Ok(()));
    let found: std::collections::HashSet<String> = log
        .query(&AuditQuery::default())
        .unwrap()
        .into_iter()
        .map(|r| r.invocation_id)
        .collect();
    for id in &committed {
        assert!(found.contains(id), "committed record {id} was lost");
    }
}
