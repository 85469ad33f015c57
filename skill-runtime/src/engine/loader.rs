//! Loading skills into this process: one engine per tier (built on first
//! use) and the ticker that moves their deadlines, the checks and the
//! compile cache before a component is linked, and the loaded skills kept
//! by tier and sha256. The runtime and each sandbox worker have one.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Module};

use crate::engine::bindings::SkillPluginPre;
use crate::engine::compile_cache::{CompileCache, CompileSource, Compiled, Serialized};
use crate::engine::component_check::{self, LoadError};
use crate::engine::core_abi;
use crate::engine::host::{StoreData, linker};
use crate::engine::loaded_skill::{Code, LoadedSkill};
use crate::engine::runtime_error::RuntimeError;
use crate::engine::{EpochTicker, Ticking, build_engine};
use crate::limits::tier::TrustTier;

/// Skills kept loaded before the oldest are forgotten, unless configured.
pub(crate) const DEFAULT_MAX_LOADED: usize = 256;

/// Loaded skills by tier and wasm sha256.
type LoadedMap = HashMap<(TrustTier, [u8; 32]), Arc<LoadedSkill>>;

pub(crate) struct Loader {
    concurrency: u32,
    max_loaded: usize,
    engines: Arc<[OnceLock<Engine>; 3]>,
    linkers: [OnceLock<Linker<StoreData>>; 3],
    core_linkers: [OnceLock<wasmtime::Linker<StoreData>>; 3],
    loaded: Mutex<LoadedMap>,
    cache: Option<CompileCache>,
    /// Tiers whose skills run in sandbox workers, which are sent the
    /// serialized form: kept from the disk cache for them.
    sent_to_workers: [bool; 3],
    ticker: EpochTicker,
}

/// Where a compiled form came from.
enum Origin {
    /// The disk cache, with the serialized bytes it was made from.
    Cache(Serialized),
    Compiled,
}

impl Loader {
    /// Engines sized for `concurrency` calls per tier; compiled components
    /// kept in `cache_dir` when given; at most `max_loaded` skills in memory.
    pub(crate) fn new(concurrency: u32, cache_dir: Option<PathBuf>, max_loaded: usize) -> Loader {
        let engines: Arc<[OnceLock<Engine>; 3]> = Arc::new(Default::default());
        let ticker = EpochTicker::start(Arc::downgrade(&engines));
        Loader {
            concurrency,
            max_loaded,
            cache: cache_dir.map(CompileCache::new),
            linkers: Default::default(),
            core_linkers: Default::default(),
            loaded: Mutex::default(),
            engines,
            sent_to_workers: [false; 3],
            ticker,
        }
    }

    /// Keep the serialized form of `tiers`' skills, which workers are sent.
    pub(crate) fn sending_to_workers(
        mut self,
        tiers: impl IntoIterator<Item = TrustTier>,
    ) -> Loader {
        for tier in tiers {
            self.sent_to_workers[tier.index()] = true;
        }
        self
    }

    /// Keeps deadlines moving while a guest runs in this process.
    pub(crate) fn ticking(&self) -> Ticking<'_> {
        self.ticker.ticking()
    }

    /// The engine for a tier, built on first use.
    pub(crate) fn engine(&self, tier: TrustTier) -> Result<&Engine, RuntimeError> {
        built_once(&self.engines[tier.index()], tier, || {
            build_engine(tier, self.concurrency)
        })
    }

    /// Builds the tier's engine and component linker before its first load.
    pub(crate) fn warm(&self, tier: TrustTier) -> Result<(), RuntimeError> {
        self.linker(tier).map(drop)
    }

    fn linker(&self, tier: TrustTier) -> Result<&Linker<StoreData>, RuntimeError> {
        let engine = self.engine(tier)?;
        built_once(&self.linkers[tier.index()], tier, || linker(engine))
    }

    fn core_linker(&self, tier: TrustTier) -> Result<&wasmtime::Linker<StoreData>, RuntimeError> {
        let engine = self.engine(tier)?;
        built_once(&self.core_linkers[tier.index()], tier, || {
            core_abi::linker(engine)
        })
    }

    /// Checks and compiles a component for a tier; repeated loads of the same
    /// bytes are served from memory, then from the disk cache.
    pub(crate) fn load(&self, wasm: &[u8], tier: TrustTier) -> Result<Arc<LoadedSkill>, LoadError> {
        let (core, sha256) = identify(wasm)?;
        if let Some(skill) = self.in_memory(tier, &sha256, false) {
            return Ok(skill);
        }
        self.load_new(wasm, tier, core, sha256)
    }

    /// `load` past the memory: from the disk cache, else compiled.
    fn load_new(
        &self,
        wasm: &[u8],
        tier: TrustTier,
        core: bool,
        sha256: [u8; 32],
    ) -> Result<Arc<LoadedSkill>, LoadError> {
        if core {
            return self.load_core(wasm, tier, sha256);
        }
        let engine = self.engine(tier)?;
        let started = Instant::now();
        // Names are checked before compiling only: a cached entry passed
        // them (and `check_world`) before it was stored.
        let (component, how) = self.compiled(engine, &sha256, || {
            component_check::check_names(wasm)?;
            Component::new(engine, wasm).map_err(malformed)
        })?;
        let compile_time = started.elapsed();
        component_check::check_world(engine, &component)?;
        let host_functions = component_check::host_functions(engine, &component);
        let skill = self.component_skill(tier, sha256, &component, host_functions)?;
        Ok(self.keep(engine, &component, how, compile_time, skill))
    }

    /// For a tier whose skills run in sandbox workers: the compiled form
    /// from the disk cache, checked but not deserialized, since only a worker
    /// runs it; else (another tier, or nothing cached yet) as [`Loader::load`].
    /// A cache entry is written only after its component passed every check
    /// `load` makes, for an engine configured as this tier's.
    pub(crate) fn load_for_workers(
        &self,
        wasm: &[u8],
        tier: TrustTier,
    ) -> Result<Arc<LoadedSkill>, LoadError> {
        let Some(cache) = self
            .cache
            .as_ref()
            .filter(|_| self.sent_to_workers[tier.index()])
        else {
            return self.load(wasm, tier);
        };
        let (core, sha256) = identify(wasm)?;
        if let Some(skill) = self.in_memory(tier, &sha256, true) {
            return Ok(skill);
        }
        let started = Instant::now();
        let Some(payload) = cache.payload(self.engine(tier)?, &sha256) else {
            return self.load_new(wasm, tier, core, sha256);
        };
        Ok(self.remember(LoadedSkill {
            tier,
            sha256,
            serialized: OnceLock::from(Ok(Arc::new(payload))),
            code: None,
            host_functions: Vec::new(),
            source: CompileSource::DiskCache,
            compile_time: started.elapsed(),
        }))
    }

    /// The skill kept from an earlier load: one loaded only for workers
    /// serves only a caller that sends it to them.
    fn in_memory(
        &self,
        tier: TrustTier,
        sha256: &[u8; 32],
        for_workers: bool,
    ) -> Option<Arc<LoadedSkill>> {
        self.lock_loaded()
            .get(&(tier, *sha256))
            .filter(|skill| for_workers || !skill.for_workers_only())
            .cloned()
    }

    /// A checked component linked for `tier` (compile source and time are
    /// the caller's to fill in).
    fn component_skill(
        &self,
        tier: TrustTier,
        sha256: [u8; 32],
        component: &Component,
        host_functions: Vec<String>,
    ) -> Result<LoadedSkill, LoadError> {
        let link_error = |e: wasmtime::Error| LoadError::Link(format!("{e:#}"));
        let instance_pre = self
            .linker(tier)?
            .instantiate_pre(component)
            .map_err(link_error)?;
        Ok(LoadedSkill {
            tier,
            sha256,
            serialized: OnceLock::new(),
            host_functions,
            code: Some(Code::Component(
                SkillPluginPre::new(instance_pre).map_err(link_error)?,
            )),
            source: CompileSource::Compiled,
            compile_time: Duration::ZERO,
        })
    }

    /// The compiled form from the disk cache, else from `compile`.
    fn compiled<T: Compiled>(
        &self,
        engine: &Engine,
        sha256: &[u8; 32],
        compile: impl FnOnce() -> Result<T, LoadError>,
    ) -> Result<(T, Origin), LoadError> {
        if let Some((cached, serialized)) = self
            .cache
            .as_ref()
            .and_then(|c| c.load::<T>(engine, sha256))
        {
            return Ok((cached, Origin::Cache(serialized)));
        }
        Ok((compile()?, Origin::Compiled))
    }

    /// A core module, checked against the core ABI, through the same caches.
    fn load_core(
        &self,
        wasm: &[u8],
        tier: TrustTier,
        sha256: [u8; 32],
    ) -> Result<Arc<LoadedSkill>, LoadError> {
        let engine = self.engine(tier)?;
        let started = Instant::now();
        let (module, how) = self.compiled(engine, &sha256, || {
            Module::new(engine, wasm).map_err(malformed)
        })?;
        let compile_time = started.elapsed();
        let skill = self.core_skill(tier, sha256, &module)?;
        Ok(self.keep(engine, &module, how, compile_time, skill))
    }

    /// A freshly compiled form goes to the disk cache; the loaded skill,
    /// with where its code came from, is remembered.
    fn keep<T: Compiled>(
        &self,
        engine: &Engine,
        compiled: &T,
        how: Origin,
        compile_time: Duration,
        skill: LoadedSkill,
    ) -> Arc<LoadedSkill> {
        let (source, serialized) = match how {
            Origin::Cache(bytes) => (CompileSource::DiskCache, Some(bytes)),
            Origin::Compiled => (
                CompileSource::Compiled,
                self.cache
                    .as_ref()
                    .and_then(|cache| cache.store(engine, &skill.sha256, compiled)),
            ),
        };
        // What a worker is sent: kept from the cache rather than made again.
        let serialized = match serialized {
            Some(bytes) if self.sent_to_workers[skill.tier.index()] => {
                OnceLock::from(Ok(Arc::new(bytes)))
            }
            _ => OnceLock::new(),
        };
        self.remember(LoadedSkill {
            source,
            compile_time,
            serialized,
            ..skill
        })
    }

    /// A core module checked against the core ABI and linked for `tier`.
    fn core_skill(
        &self,
        tier: TrustTier,
        sha256: [u8; 32],
        module: &Module,
    ) -> Result<LoadedSkill, LoadError> {
        let problems = core_abi::check(module);
        if !problems.is_empty() {
            return Err(LoadError::CoreAbi(problems));
        }
        let linker = self.core_linker(tier)?;
        let pre = linker
            .instantiate_pre(module)
            .map_err(|e| LoadError::Link(format!("{e:#}")))?;
        Ok(LoadedSkill {
            tier,
            sha256,
            serialized: OnceLock::new(),
            host_functions: core_abi::imported_functions(module),
            code: Some(Code::Core(pre)),
            source: CompileSource::Compiled,
            compile_time: Duration::ZERO,
        })
    }

    /// Keeps a loaded skill in memory for later loads of the same bytes.
    fn remember(&self, skill: LoadedSkill) -> Arc<LoadedSkill> {
        let skill = Arc::new(skill);
        let mut loaded = self.lock_loaded();
        if loaded.len() >= self.max_loaded {
            loaded.clear();
        }
        loaded.insert((skill.tier, skill.sha256), skill.clone());
        skill
    }

    fn lock_loaded(&self) -> std::sync::MutexGuard<'_, LoadedMap> {
        self.loaded.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A component compiled by a host runtime with the same engine settings
    /// (sandbox workers receive them so).
    pub(crate) fn load_precompiled(
        &self,
        tier: TrustTier,
        sha256: [u8; 32],
        bytes: &[u8],
    ) -> Result<Arc<LoadedSkill>, LoadError> {
        let engine = self.engine(tier)?;
        let malformed = |e: wasmtime::Error| LoadError::Malformed(format!("{e:#}"));
        let skill = if let Some(wasmtime::Precompiled::Module) = Engine::detect_precompiled(bytes) {
            // SAFETY: as below, `Module::serialize` output of the host.
            let module = unsafe { Module::deserialize(engine, bytes) }.map_err(malformed)?;
            self.core_skill(tier, sha256, &module)?
        } else {
            // SAFETY: the bytes are `Component::serialize` output of the host
            // process that started this worker, for an engine built the same way.
            let component = unsafe { Component::deserialize(engine, bytes) }.map_err(malformed)?;
            self.component_skill(tier, sha256, &component, Vec::new())?
        };
        Ok(self.remember(skill))
    }

    pub(crate) fn loaded(&self, tier: TrustTier, sha256: &[u8; 32]) -> Option<Arc<LoadedSkill>> {
        self.lock_loaded().get(&(tier, *sha256)).cloned()
    }
}

/// The value in `cell`, built by `build` on first use; a failure to build
/// is the host's problem, not the skill's.
fn built_once<T>(
    cell: &OnceLock<T>,
    tier: TrustTier,
    build: impl FnOnce() -> wasmtime::Result<T>,
) -> Result<&T, RuntimeError> {
    if let Some(value) = cell.get() {
        return Ok(value);
    }
    let value = build().map_err(|e| RuntimeError {
        tier,
        message: format!("{e:#}"),
    })?;
    Ok(cell.get_or_init(|| value))
}

/// Whether `wasm` is a core module (else a component), and its sha256.
fn identify(wasm: &[u8]) -> Result<(bool, [u8; 32]), LoadError> {
    let core = match component_check::check_preamble(wasm) {
        Ok(()) => false,
        Err(LoadError::CoreModule) => true,
        Err(e) => return Err(e),
    };
    Ok((core, Sha256::digest(wasm).into()))
}

fn malformed(e: wasmtime::Error) -> LoadError {
    LoadError::Malformed(format!("{e:#}"))
}
