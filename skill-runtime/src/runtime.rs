//! The runtime bots embed: loads skill components once, then runs each
//! invocation in a fresh store under its tier's limits.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Module};

use crate::audit::{AuditLog, AuditRecord, Subject};
use crate::capabilities::calls::{Capabilities, PolicyHost, merge_calls};
use crate::capabilities::grants::Policy;
use crate::engine::bindings::{SkillContext, SkillPluginPre};
use crate::engine::compile_cache::{CompileCache, CompileSource, Compiled};
use crate::engine::component_check::{self, LoadError};
use crate::engine::core_abi;
use crate::engine::guest_call::Entry;
pub(crate) use crate::engine::guest_call::{Ran, run_entry};
use crate::engine::host::{StoreData, linker};
use crate::engine::loaded_skill::Code;
pub use crate::engine::loaded_skill::LoadedSkill;
use crate::engine::log::LogLimits;
use crate::engine::permits::Permits;
pub use crate::engine::runtime_error::RuntimeError;
use crate::engine::{EpochTicker, Ticking, build_engine};
use crate::limits::tier::{Limits, TrustTier};
use crate::outcome::{ErrorKind, Failure, Report};
use crate::sandbox::protocol::WorkerCall;
use crate::sandbox::{Isolation, Pool, ProbeReport, SandboxConfig, SandboxError};
use crate::store::bots::BotIdentity;
use crate::store::error::StoreError;
use crate::store::home::Home;

/// How a runtime is set up; one per process is the norm.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Where compiled components are kept between processes; `None` keeps
    /// them in memory only.
    pub cache_dir: Option<PathBuf>,
    /// Invocations that may run at once per tier; the instance pool is sized
    /// for it and further invocations wait for a slot.
    pub concurrency: u32,
    /// Each tier's ceiling, indexed by [`TrustTier`]; operators may change them.
    pub tier_limits: [Limits; 3],
    /// Each tier's ceiling: no grant or flag passes it.
    pub tier_ceilings: [Limits; 3],
    pub log_limits: LogLimits,
    /// Loaded skills kept per runtime before the oldest are forgotten.
    pub max_loaded: usize,
    /// Where every invocation is recorded; `None` records nothing.
    pub audit: Option<Arc<AuditLog>>,
    /// Where untrusted and verified skills run: see [`SandboxConfig`].
    pub sandbox: SandboxConfig,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            cache_dir: None,
            concurrency: 16,
            tier_limits: TrustTier::ALL.map(TrustTier::default_limits),
            tier_ceilings: TrustTier::ALL.map(TrustTier::default_ceiling),
            log_limits: LogLimits::default(),
            max_loaded: 256,
            audit: None,
            sandbox: SandboxConfig::default(),
        }
    }
}

impl RuntimeConfig {
    /// What the home decides: compiled components cached in it, and each
    /// tier's ceiling as its `config.toml` `[tiers.*]` sets it (an error
    /// when that does not read). The audit log and the sandbox worker are
    /// the caller's to add: `AuditLog::open(&home.audit_db())`, and a
    /// [`WorkerCommand`](crate::sandbox::WorkerCommand) for its binary.
    pub fn for_home(home: &Home) -> Result<RuntimeConfig, StoreError> {
        Ok(RuntimeConfig {
            cache_dir: Some(home.compiled_cache_dir()),
            tier_ceilings: crate::store::config::tier_ceilings(home)?,
            ..RuntimeConfig::default()
        })
    }
}

/// One call of `execute`.
#[derive(Debug, Clone)]
pub struct Invocation<'a> {
    pub input: &'a str,
    pub skill_name: &'a str,
    /// Recorded in the audit log.
    pub skill_version: &'a str,
    pub bot: &'a BotIdentity,
    /// The limits to run under; see [`Runtime::limits_for`].
    pub limits: Limits,
    /// What the invocation may do; [`Policy::deny_all`] grants nothing.
    pub policy: Arc<Policy>,
}

/// Loaded skills by tier and wasm sha256.
type LoadedMap = HashMap<(TrustTier, [u8; 32]), Arc<LoadedSkill>>;

pub struct Runtime {
    config: RuntimeConfig,
    engines: Arc<[OnceLock<Engine>; 3]>,
    linkers: [OnceLock<Linker<StoreData>>; 3],
    core_linkers: [OnceLock<wasmtime::Linker<StoreData>>; 3],
    permits: [Permits; 3],
    loaded: Mutex<LoadedMap>,
    cache: Option<CompileCache>,
    pool: Option<Arc<Pool>>,
    ticker: EpochTicker,
}

impl Runtime {
    pub fn new(config: RuntimeConfig) -> Runtime {
        let engines: Arc<[OnceLock<Engine>; 3]> = Arc::new(Default::default());
        let ticker = EpochTicker::start(Arc::downgrade(&engines));
        let pool = config
            .sandbox
            .worker
            .clone()
            .map(|command| Pool::new(command, config.sandbox.clone(), config.log_limits));
        Runtime {
            pool,
            cache: config.cache_dir.clone().map(CompileCache::new),
            permits: std::array::from_fn(|_| Permits::new(config.concurrency)),
            linkers: Default::default(),
            core_linkers: Default::default(),
            loaded: Mutex::default(),
            engines,
            config,
            ticker,
        }
    }

    /// Keeps deadlines moving while a guest runs in this process.
    pub(crate) fn ticking(&self) -> Ticking<'_> {
        self.ticker.ticking()
    }

    pub fn config(&self) -> &RuntimeConfig {
        &self.config
    }

    /// The tier's ceiling as configured for this runtime.
    pub fn limits_for(&self, tier: TrustTier) -> Limits {
        self.config.tier_limits[tier.index()]
    }

    /// The engine for a tier, built on first use.
    pub fn engine(&self, tier: TrustTier) -> Result<&Engine, RuntimeError> {
        built_once(&self.engines[tier.index()], tier, || {
            build_engine(tier, self.config.concurrency)
        })
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
    pub fn load(&self, wasm: &[u8], tier: TrustTier) -> Result<Arc<LoadedSkill>, LoadError> {
        let core = match component_check::check_preamble(wasm) {
            Ok(()) => false,
            Err(LoadError::CoreModule) => true,
            Err(e) => return Err(e),
        };
        let sha256: [u8; 32] = Sha256::digest(wasm).into();
        if let Some(skill) = self.lock_loaded().get(&(tier, sha256)) {
            return Ok(skill.clone());
        }
        if core {
            return self.load_core(wasm, tier, sha256);
        }
        let engine = self.engine(tier)?;
        let started = Instant::now();
        // Names are checked before compiling only: a cached entry passed
        // them (and `check_world`) before it was stored.
        let (component, source) = self.compiled(engine, &sha256, || {
            component_check::check_names(wasm)?;
            Component::new(engine, wasm).map_err(malformed)
        })?;
        let compile_time = started.elapsed();
        component_check::check_world(engine, &component)?;
        let host_functions = component_check::host_functions(engine, &component);
        let skill = self.component_skill(tier, sha256, &component, host_functions)?;
        if source == CompileSource::Compiled
            && let Some(cache) = &self.cache
        {
            cache.store(engine, &sha256, &component);
        }
        Ok(self.remember(LoadedSkill {
            source,
            compile_time,
            ..skill
        }))
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
            code: Code::Component(SkillPluginPre::new(instance_pre).map_err(link_error)?),
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
    ) -> Result<(T, CompileSource), LoadError> {
        if let Some(cached) = self
            .cache
            .as_ref()
            .and_then(|c| c.load::<T>(engine, sha256))
        {
            return Ok((cached, CompileSource::DiskCache));
        }
        Ok((compile()?, CompileSource::Compiled))
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
        let (module, source) = self.compiled(engine, &sha256, || {
            Module::new(engine, wasm).map_err(malformed)
        })?;
        let compile_time = started.elapsed();
        let skill = self.core_skill(tier, sha256, &module)?;
        if source == CompileSource::Compiled
            && let Some(cache) = &self.cache
        {
            cache.store(engine, &sha256, &module);
        }
        Ok(self.remember(LoadedSkill {
            source,
            compile_time,
            ..skill
        }))
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
            code: Code::Core(pre),
            source: CompileSource::Compiled,
            compile_time: Duration::ZERO,
        })
    }

    /// Keeps a loaded skill in memory for later loads of the same bytes.
    fn remember(&self, skill: LoadedSkill) -> Arc<LoadedSkill> {
        let skill = Arc::new(skill);
        let mut loaded = self.lock_loaded();
        if loaded.len() >= self.config.max_loaded {
            loaded.clear();
        }
        loaded.insert((skill.tier, skill.sha256), skill.clone());
        skill
    }

    fn lock_loaded(&self) -> std::sync::MutexGuard<'_, LoadedMap> {
        self.loaded.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Calls `execute` once, in process or in a sandbox worker as the
    /// tier and [`SandboxConfig`] decide, and records it in the audit log.
    pub fn invoke(&self, skill: &LoadedSkill, invocation: &Invocation<'_>) -> Report {
        let limits = invocation.limits;
        let context = SkillContext {
            bot_name: invocation.bot.name.clone(),
            bot_slug: invocation.bot.slug.clone(),
            skill_name: invocation.skill_name.to_string(),
            invocation_id: uuid::Uuid::now_v7().to_string(),
        };
        let invocation_id = context.invocation_id.clone();
        let ran = self.run(
            skill,
            Entry::Execute,
            invocation.input,
            &limits,
            context,
            invocation.policy.clone(),
        );
        let mut report = Report {
            invocation_id,
            tier: skill.tier,
            limits,
            result: ran.result,
            metrics: ran.metrics,
            logs: ran.logs,
            logs_dropped: ran.logs_dropped,
            audit_error: None,
            sandboxed: ran.sandboxed,
        };
        self.record(&mut report, invocation);
        report
    }

    /// Runs `entry` where the tier says: the host answers capability calls
    /// against `policy` either way.
    fn run(
        &self,
        skill: &LoadedSkill,
        entry: Entry,
        input: &str,
        limits: &Limits,
        context: SkillContext,
        policy: Arc<Policy>,
    ) -> Ran {
        let deadline = Instant::now() + limits.timeout;
        let mut caps = PolicyHost::new(policy, &context.bot_slug, &context.skill_name, deadline);
        match self.config.sandbox.isolation(skill.tier) {
            Isolation::Worker => {
                let pool = self.pool.as_ref().expect("a worker command makes a pool");
                let call = WorkerCall {
                    sha256: hex::encode(skill.sha256),
                    tier: skill.tier,
                    entry,
                    input: input.to_string(),
                    limits: *limits,
                    bot_name: context.bot_name,
                    bot_slug: context.bot_slug,
                    skill_name: context.skill_name,
                    invocation_id: context.invocation_id,
                };
                match pool.invoke(skill, call, &mut caps) {
                    Ok(outcome) => {
                        let mut metrics = outcome.metrics;
                        merge_calls(&mut metrics.host_calls, caps.take_calls());
                        Ran {
                            result: outcome.result,
                            metrics,
                            logs: outcome.logs,
                            logs_dropped: outcome.logs_dropped,
                            sandboxed: true,
                        }
                    }
                    Err(e) => Ran {
                        sandboxed: true,
                        ..Ran::failed(e.failure())
                    },
                }
            }
            Isolation::Refused(why) => Ran::failed(Failure::new(ErrorKind::SandboxFailure, why)),
            Isolation::InProcess => {
                let _permit = self.permits[skill.tier.index()].acquire();
                let _ticking = self.ticking();
                run_entry(
                    skill,
                    entry,
                    input,
                    limits,
                    self.config.log_limits,
                    context,
                    Box::new(caps),
                )
            }
        }
    }

    /// Appends the report to the audit log, if the runtime keeps one. `invoke`
    /// does this itself; callers use it for invocations that never started.
    pub fn record(&self, report: &mut Report, invocation: &Invocation<'_>) {
        let Some(audit) = &self.config.audit else {
            return;
        };
        let subject = Subject {
            bot: &invocation.bot.slug,
            skill: invocation.skill_name,
            version: invocation.skill_version,
            input: invocation.input,
        };
        if let Err(e) = audit.append(&AuditRecord::new(report, subject)) {
            report.audit_error = Some(e.to_string());
        }
    }

    /// Calls the component's `get-name` under a small budget, as validation
    /// does to compare it with the manifest (sandboxed like `execute`).
    pub fn skill_name(&self, skill: &LoadedSkill) -> Result<String, Failure> {
        let limits = Limits {
            memory_bytes: self.limits_for(skill.tier).memory_bytes.min(16 << 20),
            fuel: Some(10_000_000),
            timeout: Duration::from_secs(2),
            output_bytes: 4096,
        };
        let context = SkillContext {
            bot_name: String::new(),
            bot_slug: String::new(),
            skill_name: String::new(),
            invocation_id: uuid::Uuid::now_v7().to_string(),
        };
        let policy = Arc::new(Policy::deny_all());
        self.run(skill, Entry::GetName, "", &limits, context, policy)
            .result
    }

    /// Starts `count` sandbox workers for `tier` in the background (within
    /// the pool size), so the first calls do not pay for starting them.
    pub fn prewarm(&self, tier: TrustTier, count: usize) {
        if let (Isolation::Worker, Some(pool)) = (self.config.sandbox.isolation(tier), &self.pool) {
            pool.prewarm(tier, count);
        }
    }

    /// Process ids of the sandbox workers: (idle, running a call).
    pub fn worker_pids(&self) -> (Vec<u32>, Vec<u32>) {
        self.pool.as_ref().map(|p| p.pids()).unwrap_or_default()
    }

    /// Starts a fresh worker and has it try to escape its sandbox: what
    /// `cargo skill doctor` shows. Returns the report and the start time.
    pub fn probe_sandbox(&self) -> Result<(ProbeReport, Duration), SandboxError> {
        let Some(pool) = &self.pool else {
            return Err(SandboxError::Spawn {
                program: "(none)".into(),
                error: "no worker program is configured".into(),
            });
        };
        let started = Instant::now();
        let mut worker = pool.fresh()?;
        let spawn = started.elapsed();
        Ok((worker.probe()?, spawn))
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

fn malformed(e: wasmtime::Error) -> LoadError {
    LoadError::Malformed(format!("{e:#}"))
}
