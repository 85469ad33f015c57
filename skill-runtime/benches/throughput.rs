//! Invocations per second with many calls in flight, against the floor.
//!
//! `cargo bench -p skill-runtime --features baseline --bench throughput`
//! runs a trivial `execute` (verified tier) from 1, 2, 8 and 64 threads for
//! `SECONDS` each: plain wasmtime on the same engine (the floor), the runtime
//! in process, in process with the audit log (durable records, group commit),
//! and in sandbox workers. It prints calls/s, calls/s per core, p50 and p99
//! latency, the ratio to the floor at the same concurrency and this process's
//! CPU time per call (a worker's own is not in it); then what the audit
//! log alone sustains (durable appends from as many threads, no calls).
//! Arguments pick rows by part of their name (`-- audit` for the audited
//! row and the log alone; `-- "in process"` for both in-process rows); the
//! floor always runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use skill_runtime::audit::{AuditLog, AuditRecord};
use skill_runtime::baseline::Floor;
use skill_runtime::sandbox::{SandboxConfig, WorkerCommand};
use skill_runtime::{BotIdentity, Invocation, Runtime, RuntimeConfig, TrustTier};

const TIER: TrustTier = TrustTier::Verified;
const SECONDS: f64 = 1.5;
const CONCURRENCY: [usize; 4] = [1, 2, 8, 64];

/// This process's CPU time so far, user and system.
fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// One point: calls/s, p50 and p99 latency, and this process's CPU time per
/// call (the host's alone: a sandbox worker's is not counted).
#[derive(Clone, Copy)]
struct Point {
    rate: f64,
    p50: Duration,
    p99: Duration,
    cpu: Duration,
}

/// Runs `call` from `threads` threads at once for `SECONDS`.
fn measure(threads: usize, call: &(dyn Fn() + Sync)) -> Point {
    let stop = AtomicBool::new(false);
    let started = Instant::now();
    let cpu_before = cpu_time();
    let latencies: Vec<Vec<Duration>> = std::thread::scope(|s| {
        let lanes: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut times = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        let t = Instant::now();
                        call();
                        times.push(t.elapsed());
                    }
                    times
                })
            })
            .collect();
        std::thread::sleep(Duration::from_secs_f64(SECONDS));
        stop.store(true, Ordering::Relaxed);
        lanes.into_iter().map(|l| l.join().unwrap()).collect()
    });
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_time() - cpu_before;
    let mut all: Vec<Duration> = latencies.into_iter().flatten().collect();
    all.sort();
    Point {
        rate: all.len() as f64 / elapsed,
        p50: all[all.len() / 2],
        p99: all[all.len() * 99 / 100],
        cpu: cpu / all.len() as u32,
    }
}

fn runtime(threads: usize, audit: Option<Arc<AuditLog>>, in_workers: bool) -> Runtime {
    Runtime::new(RuntimeConfig {
        concurrency: threads as u32,
        audit,
        sandbox: SandboxConfig {
            worker: Some(WorkerCommand {
                program: env!("CARGO_BIN_EXE_skill-worker").into(),
                args: vec![],
            }),
            sandbox_verified: in_workers,
            pool_size: threads.min(8),
            ..SandboxConfig::default()
        },
        ..RuntimeConfig::default()
    })
}

/// One trivial call of the probe under the tier's limits.
fn invocation<'a>(runtime: &Runtime, bot: &'a BotIdentity) -> Invocation<'a> {
    Invocation {
        input: "{}",
        skill_name: "probe",
        skill_version: "0.1.0",
        bot,
        limits: runtime.limits_for(TIER),
        policy: Default::default(),
        trace_id: None,
    }
}

/// Context switches so far of this process's epoch threads (`/proc`).
fn epoch_thread_switches() -> u64 {
    let mut total = 0;
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim() != "skill-epoch" {
            continue;
        }
        let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
        total += status
            .lines()
            .filter(|l| l.contains("ctxt_switches"))
            .filter_map(|l| l.split_whitespace().last()?.parse::<u64>().ok())
            .sum::<u64>();
    }
    total
}

/// Wake-ups per second of an idle runtime's epoch thread, after one call.
fn idle_wakeups(wasm: &[u8]) -> f64 {
    let runtime = runtime(1, None, false);
    let skill = runtime.load(wasm, TIER).unwrap();
    let bot = BotIdentity::default();
    let invocation = invocation(&runtime, &bot);
    assert!(runtime.invoke(&skill, &invocation).is_ok());
    std::thread::sleep(Duration::from_millis(100));
    let before = epoch_thread_switches();
    std::thread::sleep(Duration::from_secs(1));
    (epoch_thread_switches() - before) as f64
}

/// A record as the runtime writes one for a trivial call.
fn record(id: u64) -> AuditRecord {
    AuditRecord {
        invocation_id: format!("bench-{id}"),
        time_ms: 1_700_000_000_000,
        bot: "default".into(),
        skill: "probe".into(),
        version: "0.1.0".into(),
        tier: TIER.as_str().into(),
        capabilities_used: vec![],
        capabilities_denied: vec![],
        input_sha256: "0".repeat(64),
        output_sha256: Some("1".repeat(64)),
        fuel: 1000,
        peak_memory_bytes: 65536,
        duration_us: 20,
        outcome: "ok".into(),
        trace_id: None,
    }
}

/// Durable appends alone, from `threads` threads at once.
fn audit_alone(log: &AuditLog, threads: usize) {
    let next = AtomicU64::new(0);
    let point = measure(threads, &|| {
        log.append(&record(next.fetch_add(1, Ordering::Relaxed)))
            .unwrap()
    });
    println!(
        "{threads:>9} {:<22} {:>10.0} {:>12} {:>10.1} {:>10.1} {:>8} {:>8.1}",
        "audit log alone",
        point.rate,
        "",
        point.p50.as_secs_f64() * 1e6,
        point.p99.as_secs_f64() * 1e6,
        "",
        point.cpu.as_secs_f64() * 1e6
    );
}

/// Whether a row runs: each argument not starting with `-` names part of
/// the rows to run (`cargo bench … -- audit`); none runs them all.
fn selected(row: &str) -> bool {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    filters.is_empty() || filters.iter().any(|f| row.contains(f.as_str()))
}

fn main() {
    let wasm = skill_test_support::guest_wasm("probe");
    println!(
        "idle runtime: {:.0} epoch-thread context switches per second (a ticker that never parks: about 1000)",
        idle_wakeups(&wasm)
    );
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let bot = BotIdentity::default();
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(AuditLog::open(&dir.path().join("audit.db")).unwrap());
    println!("trivial execute, {TIER} tier, {SECONDS} s per point, {cores} cores");
    println!(
        "{:>9} {:<22} {:>10} {:>12} {:>10} {:>10} {:>8} {:>8}",
        "in flight", "", "calls/s", "per core", "p50 µs", "p99 µs", "floor ×", "CPU µs"
    );
    for threads in CONCURRENCY {
        let invoke_with = |runtime: &Runtime| {
            let skill = runtime.load(&wasm, TIER).unwrap();
            let invocation = invocation(runtime, &bot);
            runtime.prewarm(TIER, threads);
            std::thread::sleep(Duration::from_millis(200));
            measure(threads, &|| {
                assert!(runtime.invoke(&skill, &invocation).is_ok())
            })
        };
        let plain = runtime(threads, None, false);
        let floor = Floor::new(&plain, &plain.load(&wasm, TIER).unwrap()).unwrap();
        let floor_row = measure(threads, &|| {
            floor.invoke("{}").unwrap().unwrap();
        });
        let floor_rate = floor_row.rate;
        let mut rows = vec![("floor (plain wasmtime)", floor_row)];
        let cases: [(&str, &dyn Fn() -> Runtime); 3] = [
            ("in process", &|| runtime(threads, None, false)),
            ("in process, audited", &|| {
                runtime(threads, Some(log.clone()), false)
            }),
            ("sandboxed", &|| runtime(threads, None, true)),
        ];
        for (name, make) in cases {
            if selected(name) {
                rows.push((name, invoke_with(&make())));
            }
        }
        for (name, point) in &rows {
            println!(
                "{threads:>9} {name:<22} {:>10.0} {:>12.0} {:>10.1} {:>10.1} {:>8.2} {:>8.1}",
                point.rate,
                point.rate / cores,
                point.p50.as_secs_f64() * 1e6,
                point.p99.as_secs_f64() * 1e6,
                point.rate / floor_rate,
                point.cpu.as_secs_f64() * 1e6
            );
        }
        let row = |name: &str| rows.iter().find(|(n, _)| *n == name).map(|(_, r)| *r);
        if let (Some(unaudited), Some(sandboxed)) = (row("in process"), row("sandboxed")) {
            println!(
                "{threads:>9} sandboxed p99 / in-process p99: {:.2}x",
                sandboxed.p99.as_secs_f64() / unaudited.p99.as_secs_f64()
            );
        }
        if let (Some(unaudited), Some(audited)) = (row("in process"), row("in process, audited")) {
            println!(
                "{threads:>9} audited p50 / unaudited p50: {:.2}x, audited / unaudited calls/s: {:.2}x",
                audited.p50.as_secs_f64() / unaudited.p50.as_secs_f64(),
                audited.rate / unaudited.rate
            );
        }
    }
    if !selected("audit log alone") {
        return;
    }
    println!(
        "{:>9} {:<22} {:>10} {:>12} {:>10} {:>10} {:>8} {:>8}",
        "", "", "records/s", "", "p50 µs", "p99 µs", "", "CPU µs"
    );
    for threads in CONCURRENCY {
        audit_alone(
            &AuditLog::open(&dir.path().join(format!("alone-{threads}.db"))).unwrap(),
            threads,
        );
    }
}
