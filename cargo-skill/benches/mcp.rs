//! What serving a skill over MCP costs, against the same invocation in process.
//!
//! `cargo bench -p cargo-skill --bench mcp` installs the probe guest as an
//! untrusted tool skill, then measures a trivial `execute`:
//! - the floor: `prepare` once, then `Prepared::run_loaded` back to back in
//!   this process (the same sandbox worker pool and audit log `mcp` uses);
//! - `tools/call` round trips over stdio to `cargo skill mcp`, driven by the
//!   official SDK's client;
//! - calls per second with 8 in flight, both ways;
//! - ping and `tools/call` round trips from a bare client (JSON lines over
//!   pipes, one blocking thread): the server's share without the SDK
//!   client's own cost.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::TokioChildProcess;
use serde_json::json;
use skill_runtime::prepare::{Overrides, SkillRef, prepare};
use skill_runtime::sandbox::WorkerCommand;
use skill_runtime::{AuditLog, Home, Runtime, RuntimeConfig};

const SEQUENTIAL: usize = 2000;
const CONCURRENT: usize = 4000;
const IN_FLIGHT: usize = 8;
const INPUT: &str = r#"{"mode":"echo"}"#;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn install(home: &Path, work: &Path) {
    let dir = work.join("src/probe");
    skill_test_support::write_probe_skill(&dir);
    let status = Command::new(env!("CARGO_BIN_EXE_cargo-skill"))
        .env("CARGO_SKILL_HOME", home)
        .args(["install", "-q", "--yes"])
        .arg(&dir)
        .status()
        .unwrap();
    assert!(status.success());
}

/// The runtime `cargo skill mcp -j 8` builds: the binary's own worker, the audit log.
fn runtime(home: &Home, audit: bool) -> Runtime {
    let mut config = RuntimeConfig {
        cache_dir: Some(home.compiled_cache_dir()),
        concurrency: IN_FLIGHT as u32,
        audit: audit.then(|| Arc::new(AuditLog::open(&home.audit_db()).unwrap())),
        ..RuntimeConfig::default()
    };
    config.sandbox.worker = Some(WorkerCommand {
        program: env!("CARGO_BIN_EXE_cargo-skill").into(),
        args: vec!["__worker".into()],
    });
    config.sandbox.pool_size = IN_FLIGHT;
    Runtime::new(config)
}

fn in_process(home: &Home, audit: bool) -> (Vec<Duration>, f64) {
    let runtime = runtime(home, audit);
    let ready = prepare(
        home,
        runtime.config(),
        SkillRef::Installed("probe"),
        Some("bench"),
        &Overrides::default(),
    )
    .unwrap();
    let loaded = ready.load(&runtime);
    let run = || {
        let report = ready.run_loaded(&runtime, loaded.as_deref(), INPUT);
        assert!(report.is_ok(), "{:?}", report.result);
    };
    for _ in 0..200 {
        run();
    }
    let mut times: Vec<Duration> = (0..SEQUENTIAL)
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed()
        })
        .collect();
    times.sort();
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..IN_FLIGHT {
            s.spawn(|| {
                for _ in 0..CONCURRENT / IN_FLIGHT {
                    run();
                }
            });
        }
    });
    (times, CONCURRENT as f64 / start.elapsed().as_secs_f64())
}

async fn over_mcp(home: &Path, audit: bool) -> (Vec<Duration>, f64) {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_cargo-skill"));
    cmd.env("CARGO_SKILL_HOME", home)
        .args(["mcp", "--bot", "bench", "-j"])
        .arg(IN_FLIGHT.to_string());
    if !audit {
        cmd.arg("--no-audit");
    }
    let client = Arc::new(
        ().serve(TokioChildProcess::new(cmd).unwrap())
            .await
            .unwrap(),
    );
    let arguments =
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(INPUT).unwrap();
    let call = |client: Arc<rmcp::service::RunningService<rmcp::RoleClient, ()>>,
                arguments: serde_json::Map<_, _>| async move {
        let result = client
            .call_tool(CallToolRequestParams::new("probe").with_arguments(arguments))
            .await
            .unwrap();
        assert_eq!(result.structured_content, Some(json!({"mode": "echo"})));
    };
    for _ in 0..200 {
        call(client.clone(), arguments.clone()).await;
    }
    let mut pings = Vec::with_capacity(SEQUENTIAL);
    for _ in 0..SEQUENTIAL {
        let start = Instant::now();
        client
            .send_request(rmcp::model::ClientRequest::PingRequest(Default::default()))
            .await
            .unwrap();
        pings.push(start.elapsed());
    }
    pings.sort();
    println!(
        "  (protocol floor: ping round trip p50 {:.1} µs)",
        micros(percentile(&pings, 0.5))
    );
    let mut times = Vec::with_capacity(SEQUENTIAL);
    for _ in 0..SEQUENTIAL {
        let start = Instant::now();
        call(client.clone(), arguments.clone()).await;
        times.push(start.elapsed());
    }
    times.sort();
    let start = Instant::now();
    let mut lanes = tokio::task::JoinSet::new();
    for _ in 0..IN_FLIGHT {
        let (client, arguments) = (client.clone(), arguments.clone());
        lanes.spawn(async move {
            for _ in 0..CONCURRENT / IN_FLIGHT {
                call(client.clone(), arguments.clone()).await;
            }
        });
    }
    while lanes.join_next().await.is_some() {}
    let rate = CONCURRENT as f64 / start.elapsed().as_secs_f64();
    Arc::into_inner(client).unwrap().cancel().await.unwrap();
    (times, rate)
}

/// Sequential round trips of `request` (its `"id"` filled in) from a
/// bare client, sorted.
fn bare_round_trips(home: &Path, audit: bool, request: &str) -> Vec<Duration> {
    use std::io::{BufRead, BufReader, Write};
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cargo-skill"));
    cmd.env("CARGO_SKILL_HOME", home)
        .args(["mcp", "--bot", "bench", "-j"])
        .arg(IN_FLIGHT.to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    if !audit {
        cmd.arg("--no-audit");
    }
    let mut server = cmd.spawn().unwrap();
    let mut to = server.stdin.take().unwrap();
    let mut from = BufReader::new(server.stdout.take().unwrap());
    let mut line = String::new();
    // Writes `message`, then reads the answer unless it is a notification.
    let mut round_trip = |message: &str| {
        to.write_all(message.as_bytes()).unwrap();
        to.write_all(b"\n").unwrap();
        to.flush().unwrap();
        if !message.contains("\"id\"") {
            return;
        }
        line.clear();
        from.read_line(&mut line).unwrap();
        assert!(
            line.contains("\"result\"") && !line.contains("\"isError\":true"),
            "{line}"
        );
    };
    round_trip(
        r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}"#,
    );
    round_trip(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    let with_id = |id: usize| request.replacen("\"id\":0", &format!("\"id\":{id}"), 1);
    for id in 1..=200 {
        round_trip(&with_id(id));
    }
    let mut times: Vec<Duration> = (0..SEQUENTIAL)
        .map(|i| {
            let message = with_id(1000 + i);
            let start = Instant::now();
            round_trip(&message);
            start.elapsed()
        })
        .collect();
    drop(to);
    server.wait().unwrap();
    times.sort();
    times
}

fn main() {
    let work = tempfile::tempdir().unwrap();
    let home_dir = work.path().join("home");
    install(&home_dir, work.path());
    let home = Home::new(&home_dir);
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!(
        "trivial execute, untrusted tier (sandbox worker); {SEQUENTIAL} sequential calls, then {CONCURRENT} with {IN_FLIGHT} in flight"
    );
    for audit in [false, true] {
        let (floor, floor_rate) = in_process(&home, audit);
        let (mcp, mcp_rate) = tokio.block_on(over_mcp(&home_dir, audit));
        let (f50, f99) = (percentile(&floor, 0.5), percentile(&floor, 0.99));
        let (m50, m99) = (percentile(&mcp, 0.5), percentile(&mcp, 0.99));
        println!(
            "{}",
            if audit {
                "audited (one durable record per call)"
            } else {
                "not audited"
            }
        );
        println!(
            "  in process (floor)   p50 {:>8.1} µs   p99 {:>8.1} µs   {floor_rate:>7.0} calls/s",
            micros(f50),
            micros(f99)
        );
        println!(
            "  tools/call over MCP  p50 {:>8.1} µs   p99 {:>8.1} µs   {mcp_rate:>7.0} calls/s   (p50 +{:.1} µs; {:.2}x the floor's calls/s)",
            micros(m50),
            micros(m99),
            micros(m50) - micros(f50),
            mcp_rate / floor_rate
        );
        let ping = bare_round_trips(
            &home_dir,
            audit,
            r#"{"jsonrpc":"2.0","id":0,"method":"ping"}"#,
        );
        let call = bare_round_trips(
            &home_dir,
            audit,
            &format!(
                r#"{{"jsonrpc":"2.0","id":0,"method":"tools/call","params":{{"name":"probe","arguments":{INPUT}}}}}"#
            ),
        );
        let c50 = percentile(&call, 0.5);
        println!(
            "  bare client: ping    p50 {:>8.1} µs   p99 {:>8.1} µs",
            micros(percentile(&ping, 0.5)),
            micros(percentile(&ping, 0.99))
        );
        println!(
            "  bare client: call    p50 {:>8.1} µs   p99 {:>8.1} µs   (p50 +{:.1} µs over the floor: the server's share)",
            micros(c50),
            micros(percentile(&call, 0.99)),
            micros(c50) - micros(f50)
        );
    }
}
