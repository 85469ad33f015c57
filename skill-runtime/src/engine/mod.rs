//! Running WebAssembly in this process: one wasmtime `Engine` per trust
//! tier and the ticker that drives deadlines (here), the checks before a
//! component compiles, the compile cache, the linker and host state, and
//! one call of a guest entry with every limit armed.

pub(crate) mod bindings;
pub(crate) mod compile_cache;
pub mod component_check;
pub(crate) mod core_abi;
pub(crate) mod core_io;
pub(crate) mod guest_call;
pub(crate) mod host;
pub(crate) mod limiter;
pub(crate) mod loaded_skill;
pub(crate) mod loader;
pub(crate) mod log;
pub(crate) mod permits;
pub(crate) mod runtime_error;
pub(crate) mod wasi_denied;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig, Strategy,
};

use crate::limits::tier::TrustTier;

/// Epoch length: the granularity of invocation deadlines.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(1);

/// Core instances, memories and tables one component may hold. A Rust
/// `wasm32-wasip2` component has a handful of core instances, one memory and
/// a shim table; componentize-py 0.25 output built with `--stub-wasi` has
/// 38 (CPython, libc and their shims are separate modules). The pool reserves these per concurrent invocation as address
/// space, committed only when used (docs/security.md has the figures).
pub(crate) const MAX_CORE_INSTANCES_PER_COMPONENT: u32 = 64;
pub(crate) const MAX_MEMORIES_PER_COMPONENT: u32 = 4;
pub(crate) const MAX_TABLES_PER_COMPONENT: u32 = 16;

/// The wasmtime configuration for a tier. Proposals that widen the attack
/// surface or the resource model (threads, GC, memory64, stack switching)
/// are off everywhere (threads and component-model async are not even
/// compiled into this build of wasmtime); untrusted code also loses SIMD.
pub(crate) fn build_engine(tier: TrustTier, concurrency: u32) -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    config
        .strategy(Strategy::Cranelift)
        .cranelift_opt_level(OptLevel::Speed)
        .wasm_component_model(true)
        .consume_fuel(true)
        .epoch_interruption(true)
        .max_wasm_stack(tier.max_wasm_stack())
        .wasm_shared_everything_threads(false)
        .wasm_gc(false)
        .wasm_memory64(false)
        .wasm_stack_switching(false)
        .wasm_custom_page_sizes(false)
        .wasm_wide_arithmetic(false);
    if tier == TrustTier::Untrusted {
        config.wasm_relaxed_simd(false).wasm_simd(false);
    }

    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(concurrency)
        .total_core_instances(concurrency * MAX_CORE_INSTANCES_PER_COMPONENT)
        .total_memories(concurrency * MAX_MEMORIES_PER_COMPONENT)
        .total_tables(concurrency * MAX_TABLES_PER_COMPONENT)
        // Async stacks are never used (no async support); do not reserve 1,000.
        .total_stacks(concurrency)
        .max_core_instances_per_component(MAX_CORE_INSTANCES_PER_COMPONENT)
        .max_memories_per_component(MAX_MEMORIES_PER_COMPONENT)
        .max_tables_per_component(MAX_TABLES_PER_COMPONENT)
        // Pages touched by one invocation are zeroed before the next one uses
        // the slot; keep a few resident to make that cheap.
        .linear_memory_keep_resident(64 * 1024)
        .table_keep_resident(16 * 1024);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&config)
}

/// Advances the epoch of every engine a runtime owns, once per
/// [`EPOCH_TICK`], while at least one guest runs in this process; an idle
/// runtime's ticker is parked and makes no wake-ups.
pub(crate) struct EpochTicker {
    shared: Arc<TickerState>,
    thread: Option<JoinHandle<()>>,
}

struct TickerState {
    stop: AtomicBool,
    running: AtomicUsize,
}

/// Held while a guest runs: the epoch advances as long as one exists.
pub(crate) struct Ticking<'a>(&'a EpochTicker);

impl EpochTicker {
    pub(crate) fn start(engines: Weak<[std::sync::OnceLock<Engine>; 3]>) -> EpochTicker {
        let shared = Arc::new(TickerState {
            stop: AtomicBool::new(false),
            running: AtomicUsize::new(0),
        });
        let state = shared.clone();
        let thread = std::thread::Builder::new()
            .name("skill-epoch".into())
            .spawn(move || {
                while !state.stop.load(Ordering::Acquire) {
                    if state.running.load(Ordering::Acquire) == 0 {
                        // `ticking` unparks; an unpark before this park makes it return at once.
                        std::thread::park();
                        continue;
                    }
                    std::thread::sleep(EPOCH_TICK);
                    let Some(engines) = engines.upgrade() else {
                        return;
                    };
                    for engine in engines.iter().filter_map(|e| e.get()) {
                        engine.increment_epoch();
                    }
                }
            })
            .expect("spawning the epoch thread");
        EpochTicker {
            shared,
            thread: Some(thread),
        }
    }

    /// Keeps the epoch advancing until the guard drops; take it before a
    /// store sets its deadline.
    pub(crate) fn ticking(&self) -> Ticking<'_> {
        if self.shared.running.fetch_add(1, Ordering::AcqRel) == 0
            && let Some(thread) = &self.thread
        {
            thread.thread().unpark();
        }
        Ticking(self)
    }
}

impl Drop for Ticking<'_> {
    fn drop(&mut self) {
        self.0.shared.running.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

/// The number of epoch ticks that covers `timeout`, rounded up.
pub(crate) fn deadline_ticks(timeout: Duration) -> u64 {
    let tick = EPOCH_TICK.as_nanos();
    (timeout.as_nanos().div_ceil(tick)).max(1) as u64
}
