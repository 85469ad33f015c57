//! Cost of the runtime against plain wasmtime, measured in the same run.
//!
//! `cargo bench -p skill-runtime --bench invoke` prints criterion's estimates
//! for a trivial `execute` through the runtime and through the floor (plain
//! wasmtime on the same engine: pooling, `InstancePre`, fresh store, no
//! policy), then a summary: compile time, cached load time, invoke p50/p99
//! of both, and the ratio; the same skill in a warm sandbox worker
//! (Landlock + seccomp, brokered host calls) against in process; and the
//! cold start of a confined worker.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use skill_runtime::audit::AuditLog;
use skill_runtime::baseline::{Floor, compare, load_times};
use skill_runtime::sandbox::{SandboxConfig, WorkerCommand};
use skill_runtime::{BotIdentity, Invocation, LoadedSkill, Runtime, RuntimeConfig, TrustTier};

const INPUT: &str = "{}";
/// Verified: the one tier that runs either way (sandboxed by default, in
/// process when the operator says so), so both are measured on one engine.
const TIER: TrustTier = TrustTier::Verified;

fn sandbox(in_workers: bool) -> SandboxConfig {
    SandboxConfig {
        worker: Some(WorkerCommand {
            program: env!("CARGO_BIN_EXE_skill-worker").into(),
            args: vec![],
        }),
        sandbox_verified: in_workers,
        ..SandboxConfig::default()
    }
}

/// The probe loaded in a runtime, and the same compiled code behind the floor.
struct Fixture {
    runtime: Runtime,
    skill: Arc<LoadedSkill>,
    floor: Floor,
    bot: BotIdentity,
}

impl Fixture {
    fn new(wasm: &[u8], in_workers: bool) -> Fixture {
        let runtime = Runtime::new(RuntimeConfig {
            sandbox: sandbox(in_workers),
            ..RuntimeConfig::default()
        });
        let skill = runtime.load(wasm, TIER).unwrap();
        let floor = Floor::new(&runtime, &skill).unwrap();
        Fixture {
            runtime,
            skill,
            floor,
            bot: BotIdentity::default(),
        }
    }

    fn invocation(&self) -> Invocation<'_> {
        Invocation {
            input: INPUT,
            skill_name: "probe",
            skill_version: "0.1.0",
            bot: &self.bot,
            limits: self.runtime.limits_for(TIER),
            policy: Default::default(),
            trace_id: None,
        }
    }
}

fn criterion_benches(c: &mut Criterion) {
    let fixture = Fixture::new(&skill_test_support::guest_wasm("probe"), false);
    let Fixture {
        runtime,
        skill,
        floor,
        ..
    } = &fixture;
    let invocation = fixture.invocation();

    let mut group = c.benchmark_group("invoke");
    group.bench_function("runtime", |b| {
        b.iter(|| assert!(runtime.invoke(skill, &invocation).is_ok()))
    });
    group.bench_function("floor", |b| {
        b.iter(|| floor.invoke(INPUT).unwrap().unwrap())
    });
    group.finish();
}

criterion_group!(benches, criterion_benches);

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// The numbers the closing notes quote, measured after criterion's runs.
fn summary() {
    let wasm = skill_test_support::guest_wasm("probe");

    let times = load_times(&wasm, TIER, 9).unwrap();
    let fixture = Fixture::new(&wasm, false);
    let c = compare(
        &fixture.runtime,
        &fixture.skill,
        &fixture.invocation(),
        5000,
    )
    .unwrap();
    println!(
        "\nskill-runtime summary (probe guest, {} bytes, {TIER} tier)",
        wasm.len()
    );
    println!(
        "  compile runtime / plain     {:>10.1} us / {:.1} us",
        micros(times.compile),
        micros(times.floor_compile)
    );
    println!(
        "  cached load runtime / plain {:>10.1} us / {:.1} us",
        micros(times.load),
        micros(times.floor_load)
    );
    println!(
        "  invoke p50 runtime / floor  {:>10.1} us / {:.1} us",
        micros(c.runtime.p50),
        micros(c.floor.p50)
    );
    println!(
        "  invoke p99 runtime / floor  {:>10.1} us / {:.1} us",
        micros(c.runtime.p99),
        micros(c.floor.p99)
    );
    println!(
        "  ratio p50 {:.2}, p99 {:.2} (target: p50 at most 1.30)",
        c.ratio_p50(),
        micros(c.runtime.p99) / micros(c.floor.p99)
    );

    // The same invocation recorded in a SQLite audit log (WAL, synchronous=FULL).
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(&dir.path().join("audit.db")).unwrap();
    let audited = Runtime::new(RuntimeConfig {
        audit: Some(Arc::new(log)),
        sandbox: sandbox(false),
        ..Default::default()
    });
    let skill = audited.load(&wasm, TIER).unwrap();
    let invocation = Invocation {
        limits: audited.limits_for(TIER),
        ..fixture.invocation()
    };
    let a = compare(&audited, &skill, &invocation, 1000).unwrap();
    println!(
        "  audited invoke p50 / p99     {:>10.1} us / {:.1} us ({:.2}x the unaudited p50)",
        micros(a.runtime.p50),
        micros(a.runtime.p99),
        micros(a.runtime.p50) / micros(c.runtime.p50)
    );

    // The same invocation in a warm sandbox worker (one, reused).
    let sandboxed = Fixture::new(&wasm, true);
    let w = compare(
        &sandboxed.runtime,
        &sandboxed.skill,
        &sandboxed.invocation(),
        5000,
    )
    .unwrap();
    println!(
        "  sandboxed warm invoke p50 / p99 {:>7.1} us / {:.1} us; in process {:.1} us / {:.1} us",
        micros(w.runtime.p50),
        micros(w.runtime.p99),
        micros(c.runtime.p50),
        micros(c.runtime.p99)
    );
    println!(
        "  sandbox cost p50 +{:.1} us, ratio {:.2} (target: at most +50 us)",
        micros(w.runtime.p50) - micros(c.runtime.p50),
        micros(w.runtime.p50) / micros(c.runtime.p50)
    );

    // After 2 ms idle, the worker has stopped spinning and sleeps: this call
    // pays the wake-up. In process gets the same pause, for fairness.
    let after_idle = |f: &Fixture| {
        let invocation = f.invocation();
        let mut times: Vec<Duration> = (0..200)
            .map(|_| {
                std::thread::sleep(Duration::from_millis(2));
                let started = Instant::now();
                assert!(f.runtime.invoke(&f.skill, &invocation).is_ok());
                started.elapsed()
            })
            .collect();
        times.sort();
        times[100]
    };
    let (idle_sandboxed, idle_in_process) = (after_idle(&sandboxed), after_idle(&fixture));
    println!(
        "  after 2 ms idle p50 sandboxed / in process {:>5.1} us / {:.1} us (+{:.1} us)",
        micros(idle_sandboxed),
        micros(idle_in_process),
        micros(idle_sandboxed) - micros(idle_in_process)
    );

    // Cold: exec the worker, confine it (rlimits and the OS sandbox), ready.
    let mut starts: Vec<Duration> = (0..50)
        .map(|_| sandboxed.runtime.probe_sandbox().unwrap().1)
        .collect();
    starts.sort();
    println!(
        "  cold worker start p50 / p99  {:>10.1} us / {:.1} us (target: p50 at most 2 ms)",
        micros(starts[25]),
        micros(starts[49])
    );
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    summary();
}
