//! Invocations per second with many calls in flight, against the floor.
//!
//! `cargo bench -p skill-runtime --features baseline --bench throughput`
//! runs a trivial `execute` (verified tier) from 1, 2, 8 and 64 threads for
//! `SECONDS` each: plain wasmtime on the same engine (the floor), the runtime
//! in process, in process with the audit log (durable records, group commit),
//! and in sandbox workers. It prints calls/s, calls/s per core, p50 and p99
//! latency and the ratio to the floor at the same concurrency; then what the audit
//! log alone sustains (durable appends from as many threads, no calls).

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

/// Calls/s, p50 and p99 latency of `call` run from `threads` threads at once.
fn measure(threads: usize, call: &(dyn Fn() + Sync)) -> (f64, Duration, Duration) {
    let stop = AtomicBool::new(false);
    let started = Instant::now();
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
    let mut all: Vec<Duration> = latencies.into_iter().flatten().collect();
    all.sort();
    (
        all.len() as f64 / elapsed,
        all[all.len() / 2],
        all[all.len() * 99 / 100],
    )
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
    }
}

/// Durable appends alone, from `threads` threads at once.
fn audit_alone(log: &AuditLog, threads: usize) {
    let next = AtomicU64::new(0);
    let (rate, p50, p99) = measure(threads, &|| {
        log.append(&record(next.fetch_add(1, Ordering::Relaxed)))
            .unwrap()
    });
    println!(
        "{threads:>9} {:<22} {rate:>10.0} {:>12} {:>10.1} {:>10.1}",
        "audit log alone",
        "",
        p50.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6
    );
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
        "{:>9} {:<22} {:>10} {:>12} {:>10} {:>10} {:>8}",
        "in flight", "", "calls/s", "per core", "p50 µs", "p99 µs", "floor ×"
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
        let floor_rate = floor_row.0;
        let rows = [
            ("floor (plain wasmtime)", floor_row),
            ("in process", invoke_with(&plain)),
            (
                "in process, audited",
                invoke_with(&runtime(threads, Some(log.clone()), false)),
            ),
            ("sandboxed", invoke_with(&runtime(threads, None, true))),
        ];
        for (name, (rate, p50, p99)) in rows {
            println!(
                "{threads:>9} {name:<22} {rate:>10.0} {:>12.0} {:>10.1} {:>10.1} {:>8.2}",
                rate / cores,
                p50.as_secs_f64() * 1e6,
                p99.as_secs_f64() * 1e6,
                rate / floor_rate
            );
        }
        let (audited, unaudited, sandboxed) = (rows[2].1, rows[1].1, rows[3].1);
        println!(
            "{threads:>9} sandboxed p99 / in-process p99: {:.2}x",
            sandboxed.2.as_secs_f64() / unaudited.2.as_secs_f64()
        );
        println!(
            "{threads:>9} audited p50 / unaudited p50: {:.2}x, audited / unaudited calls/s: {:.2}x",
            audited.1.as_secs_f64() / unaudited.1.as_secs_f64(),
            audited.0 / unaudited.0
        );
    }
    println!(
        "{:>9} {:<22} {:>10} {:>12} {:>10} {:>10}",
        "", "", "records/s", "", "p50 µs", "p99 µs"
    );
    for threads in CONCURRENCY {
        audit_alone(
            &AuditLog::open(&dir.path().join(format!("alone-{threads}.db"))).unwrap(),
            threads,
        );
    }
}
