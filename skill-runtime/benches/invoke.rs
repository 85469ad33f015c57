//! Cost of the runtime against plain wasmtime, measured in the same run.
//!
//! `cargo bench -p skill-runtime --bench invoke` prints criterion's estimates
//! for a trivial `execute` through the runtime and through the floor (plain
//! wasmtime on the same engine: pooling, `InstancePre`, fresh store, no
//! policy), then a summary: compile time, cached load time, invoke p50/p99
//! of both, and the ratio.

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group};
use skill_runtime::audit::AuditLog;
use skill_runtime::baseline::{Floor, compare, load_times};
use skill_runtime::{BotIdentity, Invocation, LoadedSkill, Runtime, RuntimeConfig, TrustTier};

const INPUT: &str = "{}";
const TIER: TrustTier = TrustTier::Untrusted;

/// The probe loaded in a runtime, and the same compiled code behind the floor.
struct Fixture {
    runtime: Runtime,
    skill: Arc<LoadedSkill>,
    floor: Floor,
    bot: BotIdentity,
}

impl Fixture {
    fn new(wasm: &[u8]) -> Fixture {
        let runtime = Runtime::new(RuntimeConfig::default());
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
        }
    }
}

fn criterion_benches(c: &mut Criterion) {
    let fixture = Fixture::new(&skill_test_support::guest_wasm("probe"));
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

    let (compile, load) = load_times(&wasm, TIER, 9).unwrap();
    let fixture = Fixture::new(&wasm);
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
    println!("  compile (p50 of 9)          {:>10.1} us", micros(compile));
    println!("  cached load (p50 of 9)      {:>10.1} us", micros(load));
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
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    summary();
}
