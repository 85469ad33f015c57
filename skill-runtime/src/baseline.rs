//! The floor that benchmarks compare the runtime against: plain wasmtime on
//! the same engine and compiled code (pooling allocator, `InstancePre`, a
//! fresh store per call) with none of the runtime's policy: no limiter, no
//! log capture, no call record, a bare WASI context.

use std::time::{Duration, Instant};

use wasmtime::Store;
use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::engine::bindings::{SkillContext, SkillPluginPre, boternity::skill::host::Host};
use crate::engine::component_check::LoadError;
use crate::runtime::{LoadedSkill, Runtime};

pub struct Floor {
    kind: FloorKind,
}

enum FloorKind {
    Component(SkillPluginPre<FloorData>),
    /// A core module: `blufio` functions that only move input and output.
    Core(wasmtime::InstancePre<CoreFloorData>),
}

#[derive(Default)]
struct CoreFloorData {
    input: Vec<u8>,
    output: Vec<u8>,
}

struct FloorData {
    wasi: WasiCtx,
    table: ResourceTable,
    /// `wasi:http`, which other languages' components import, as plain
    /// wasmtime-wasi-http links it; no request leaves.
    http: wasmtime_wasi_http::WasiHttpCtx,
    hooks: crate::engine::wasi_denied::Refusals,
}

impl wasmtime_wasi_http::WasiHttpView for FloorData {
    fn http(&mut self) -> wasmtime_wasi_http::WasiHttpCtxView<'_> {
        wasmtime_wasi_http::WasiHttpCtxView {
            hooks: &mut self.hooks,
            table: &mut self.table,
            ctx: &mut self.http,
        }
    }
}

impl WasiView for FloorData {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

const REFUSED: &str = "not available in the baseline";

impl Host for FloorData {
    fn get_context(&mut self) -> wasmtime::Result<SkillContext> {
        Ok(SkillContext {
            bot_name: String::new(),
            bot_slug: String::new(),
            skill_name: String::new(),
            invocation_id: String::new(),
        })
    }
    fn log(&mut self, _level: String, _message: String) -> wasmtime::Result<()> {
        Ok(())
    }
    fn recall_memory(&mut self, _query: String, _limit: u32) -> wasmtime::Result<Vec<String>> {
        Ok(Vec::new())
    }
    fn http_get(&mut self, _url: String) -> wasmtime::Result<Result<String, String>> {
        Ok(Err(REFUSED.into()))
    }
    fn http_post(&mut self, _: String, _: String) -> wasmtime::Result<Result<String, String>> {
        Ok(Err(REFUSED.into()))
    }
    fn read_file(&mut self, _path: String) -> wasmtime::Result<Result<String, String>> {
        Ok(Err(REFUSED.into()))
    }
    fn write_file(&mut self, _: String, _: String) -> wasmtime::Result<Result<(), String>> {
        Ok(Err(REFUSED.into()))
    }
    fn get_secret(&mut self, _name: String) -> wasmtime::Result<Result<String, String>> {
        Ok(Err(REFUSED.into()))
    }
    fn read_env(&mut self, _name: String) -> wasmtime::Result<Result<String, String>> {
        Ok(Err(REFUSED.into()))
    }
}

impl Floor {
    /// Links the skill's compiled code with a plain linker.
    pub fn new(runtime: &Runtime, skill: &LoadedSkill) -> Result<Floor, LoadError> {
        let engine = runtime.engine(skill.tier())?;
        let mismatch = |e: wasmtime::Error| LoadError::Link(format!("{e:#}"));
        if let Some(module) = skill.module() {
            let pre = core_linker(engine)
                .and_then(|l| l.instantiate_pre(module))
                .map_err(mismatch)?;
            return Ok(Floor {
                kind: FloorKind::Core(pre),
            });
        }
        let mut linker = Linker::new(engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(mismatch)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_sync(&mut linker).map_err(mismatch)?;
        crate::engine::bindings::SkillPlugin::add_to_linker::<FloorData, HasSelf<FloorData>>(
            &mut linker,
            |d| d,
        )
        .map_err(mismatch)?;
        let component = skill
            .component()
            .expect("a skill is a module or a component");
        let pre = linker.instantiate_pre(component).map_err(mismatch)?;
        Ok(Floor {
            kind: FloorKind::Component(SkillPluginPre::new(pre).map_err(mismatch)?),
        })
    }

    /// One `execute` in a fresh store. Fuel and epochs are on in the engine,
    /// so the store gets the most of both.
    pub fn invoke(&self, input: &str) -> wasmtime::Result<Result<String, String>> {
        let pre = match &self.kind {
            FloorKind::Component(pre) => pre,
            FloorKind::Core(pre) => return invoke_core(pre, input),
        };
        let data = FloorData {
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
            http: wasmtime_wasi_http::WasiHttpCtx::new(),
            hooks: Default::default(),
        };
        let mut store = Store::new(pre.engine(), data);
        store.set_fuel(u64::MAX)?;
        store.set_epoch_deadline(u64::MAX / 2);
        let plugin = pre.instantiate(&mut store)?;
        plugin.call_execute(&mut store, input)
    }
}

fn invoke_core(
    pre: &wasmtime::InstancePre<CoreFloorData>,
    input: &str,
) -> wasmtime::Result<Result<String, String>> {
    let data = CoreFloorData {
        input: input.as_bytes().to_vec(),
        output: Vec::new(),
    };
    let mut store = Store::new(pre.module().engine(), data);
    store.set_fuel(u64::MAX)?;
    store.set_epoch_deadline(u64::MAX / 2);
    let instance = pre.instantiate(&mut store)?;
    instance
        .get_typed_func::<(), ()>(&mut store, crate::engine::core_abi::RUN)?
        .call(&mut store, ())?;
    Ok(Ok(
        String::from_utf8_lossy(&store.into_data().output).into_owned()
    ))
}

/// The core ABI with nothing but input and output: gated calls answer
/// nothing (status 0, `get_env` -1), as the component floor's fail.
fn core_linker(engine: &wasmtime::Engine) -> wasmtime::Result<wasmtime::Linker<CoreFloorData>> {
    use wasmtime::{Caller, Extern};
    type C<'a> = Caller<'a, CoreFloorData>;
    fn memory(c: &mut C<'_>) -> wasmtime::Result<wasmtime::Memory> {
        match c.get_export(crate::engine::core_abi::MEMORY) {
            Some(Extern::Memory(m)) => Ok(m),
            _ => Err(wasmtime::Error::msg("no memory")),
        }
    }
    let mut l = wasmtime::Linker::new(engine);
    let m = crate::engine::core_abi::IMPORT_MODULE;
    l.func_wrap(m, "log", |_: C<'_>, _: i32, _: i32, _: i32| {})?;
    l.func_wrap(m, "get_input_len", |c: C<'_>| c.data().input.len() as i32)?;
    l.func_wrap(m, "get_input", |mut c: C<'_>, ptr: i32| {
        let input = std::mem::take(&mut c.data_mut().input);
        memory(&mut c)?.write(&mut c, ptr as u32 as usize, &input)?;
        c.data_mut().input = input;
        Ok(())
    })?;
    l.func_wrap(m, "set_output", |mut c: C<'_>, ptr: i32, len: i32| {
        let mut output = vec![0; len as u32 as usize];
        memory(&mut c)?.read(&c, ptr as u32 as usize, &mut output)?;
        c.data_mut().output = output;
        Ok(())
    })?;
    l.func_wrap(
        m,
        "http_request",
        |_: C<'_>, _: i32, _: i32, _: i32, _: i32, _: i32| 0,
    )?;
    l.func_wrap(m, "read_file", |_: C<'_>, _: i32, _: i32, _: i32, _: i32| 0)?;
    l.func_wrap(
        m,
        "write_file",
        |_: C<'_>, _: i32, _: i32, _: i32, _: i32| 0,
    )?;
    l.func_wrap(m, "get_env", |_: C<'_>, _: i32, _: i32, _: i32, _: i32| -1)?;
    Ok(l)
}

/// Median and 99th percentile of a set of timings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Percentiles {
    pub p50: std::time::Duration,
    pub p99: std::time::Duration,
}

impl Percentiles {
    fn of(mut samples: Vec<std::time::Duration>) -> Percentiles {
        samples.sort();
        let at = |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize];
        Percentiles {
            p50: at(0.5),
            p99: at(0.99),
        }
    }
}

/// Warm invocations through the runtime against the floor on the same
/// compiled code, interleaved so both see the same machine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    pub runtime: Percentiles,
    pub floor: Percentiles,
    pub fuel_per_call: u64,
}

impl Comparison {
    pub fn ratio_p50(&self) -> f64 {
        self.runtime.p50.as_secs_f64() / self.floor.p50.as_secs_f64()
    }
}

/// Runs `iterations` (at least one) invocations each way; the runtime's must
/// succeed, or its failure is returned.
pub fn compare(
    runtime: &Runtime,
    skill: &LoadedSkill,
    invocation: &crate::Invocation<'_>,
    iterations: usize,
) -> Result<Comparison, crate::Failure> {
    let floor = Floor::new(runtime, skill)
        .map_err(|e| crate::Failure::new(crate::ErrorKind::InvalidComponent, e.to_string()))?;
    let (mut ours, mut plain, mut fuel) = (Vec::new(), Vec::new(), 0);
    for _ in 0..iterations.max(1) {
        let started = std::time::Instant::now();
        let report = runtime.invoke(skill, invocation);
        ours.push(started.elapsed());
        report.result?;
        fuel = report.metrics.fuel_consumed;
        let started = std::time::Instant::now();
        let _ = floor.invoke(invocation.input);
        plain.push(started.elapsed());
    }
    Ok(Comparison {
        runtime: Percentiles::of(ours),
        floor: Percentiles::of(plain),
        fuel_per_call: fuel,
    })
}

/// Why a measurement could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("could not create a temporary compile cache to measure loading from: {0}")]
    Io(#[from] std::io::Error),
    #[error(
        "the disk cache did not serve the component, so its load time cannot be measured; check that the temporary folder is writable"
    )]
    CacheUnused,
    #[error("plain wasmtime, the floor, could not compile or load it: {0}")]
    Plain(String),
}

/// Median compile and cached-load times through the runtime, each next to
/// plain wasmtime (its default configuration: no fuel, epochs or pooling)
/// doing the same with `Component::new` and `Component::deserialize_file`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadTimes {
    /// Compiled with no disk cache.
    pub compile: Duration,
    /// Loaded from a warm disk cache, in a fresh runtime.
    pub load: Duration,
    pub floor_compile: Duration,
    pub floor_load: Duration,
}

/// Takes up to `runs` samples of each; a component that compiles for seconds
/// (an interpreter inside) stops sampling its compile after about two.
pub fn load_times(
    wasm: &[u8],
    tier: crate::TrustTier,
    runs: usize,
) -> Result<LoadTimes, MeasureError> {
    let cache = tempfile::tempdir()?;
    let runtime = |cache_dir: Option<std::path::PathBuf>| {
        Runtime::new(crate::RuntimeConfig {
            cache_dir,
            concurrency: 1,
            ..Default::default()
        })
    };
    let compile = sampled(runs, || Ok(runtime(None).load(wasm, tier)?.compile_time()))?;
    runtime(Some(cache.path().to_path_buf())).load(wasm, tier)?;
    let load = sampled(runs, || {
        let skill = runtime(Some(cache.path().to_path_buf())).load(wasm, tier)?;
        if skill.source() != crate::CompileSource::DiskCache {
            return Err(MeasureError::CacheUnused);
        }
        Ok(skill.compile_time())
    })?;

    let plain = |e: wasmtime::Error| MeasureError::Plain(format!("{e:#}"));
    let engine = || wasmtime::Engine::new(&wasmtime::Config::new()).map_err(plain);
    let component = wasmparser::Parser::is_component(wasm);
    let floor_compile = sampled(runs, || {
        let engine = engine()?;
        let started = Instant::now();
        if component {
            wasmtime::component::Component::new(&engine, wasm).map_err(plain)?;
        } else {
            wasmtime::Module::new(&engine, wasm).map_err(plain)?;
        }
        Ok(started.elapsed())
    })?;
    let serialized = cache.path().join("plain.cwasm");
    let bytes = if component {
        engine()?.precompile_component(wasm)
    } else {
        engine()?.precompile_module(wasm)
    };
    std::fs::write(&serialized, bytes.map_err(plain)?)?;
    let floor_load = sampled(runs, || {
        let engine = engine()?;
        let started = Instant::now();
        // SAFETY: the file was written just above by the same wasmtime from
        // the same bytes, in a folder only this process knows of.
        unsafe {
            if component {
                wasmtime::component::Component::deserialize_file(&engine, &serialized).map(drop)
            } else {
                wasmtime::Module::deserialize_file(&engine, &serialized).map(drop)
            }
        }
        .map_err(plain)?;
        Ok(started.elapsed())
    })?;
    Ok(LoadTimes {
        compile,
        load,
        floor_compile,
        floor_load,
    })
}

/// The median of up to `runs` samples, fewer once they add up to 2 s.
fn sampled(
    runs: usize,
    mut sample: impl FnMut() -> Result<Duration, MeasureError>,
) -> Result<Duration, MeasureError> {
    let mut taken = Vec::new();
    for _ in 0..runs.max(1) {
        taken.push(sample()?);
        if taken.iter().sum::<Duration>() > Duration::from_secs(2) {
            break;
        }
    }
    Ok(Percentiles::of(taken).p50)
}
