//! The runtime bots embed: loads skill components once, then runs each
//! invocation in a fresh store under its tier's limits.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::Engine;

use crate::audit::{AuditLog, AuditRecord, Subject};
use crate::blocking::{self, Blocking};
use crate::capabilities::calls::{Capabilities, PolicyHost, merge_calls};
use crate::capabilities::grants::Policy;
use crate::engine::bindings::SkillContext;
use crate::engine::component_check::LoadError;
use crate::engine::guest_call::{Entry, Ran, run_entry};
pub use crate::engine::loaded_skill::LoadedSkill;
use crate::engine::loader::{DEFAULT_MAX_LOADED, Loader};
use crate::engine::log::LogLimits;
use crate::engine::permits::Permits;
pub use crate::engine::runtime_error::RuntimeError;
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
    /// What each wait inside a call runs through: see [`Blocking`].
    pub blocking: Blocking,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            cache_dir: None,
            concurrency: 16,
            tier_limits: TrustTier::ALL.map(TrustTier::default_limits),
            tier_ceilings: TrustTier::ALL.map(TrustTier::default_ceiling),
            log_limits: LogLimits::default(),
            max_loaded: DEFAULT_MAX_LOADED,
            audit: None,
            sandbox: SandboxConfig::default(),
            blocking: blocking::here,
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
    /// Recorded with it in the audit log: the chain run it is a step of.
    pub trace_id: Option<&'a str>,
}

/// Skills loaded in this process, run here or in a sandbox worker, and
/// recorded in the audit log.
pub struct Runtime {
    config: RuntimeConfig,
    loader: Loader,
    permits: [Permits; 3],
    pool: Option<Arc<Pool>>,
}

impl Runtime {
    pub fn new(config: RuntimeConfig) -> Runtime {
        let pool = config.sandbox.worker.clone().map(|command| {
            Pool::new(
                command,
                config.sandbox.clone(),
                config.log_limits,
                config.blocking,
            )
        });
        let workers: Vec<TrustTier> = TrustTier::ALL
            .into_iter()
            .filter(|tier| pool.is_some() && config.sandbox.isolation(*tier) == Isolation::Worker)
            .collect();
        Runtime {
            pool,
            loader: Loader::new(
                config.concurrency,
                config.cache_dir.clone(),
                config.max_loaded,
            )
            .sending_to_workers(workers),
            permits: std::array::from_fn(|_| Permits::new(config.concurrency)),
            config,
        }
    }

    pub fn config(&self) -> &RuntimeConfig {
        &self.config
    }

    /// Records later invocations in `audit` (or none): a caller may open
    /// the log while a [`Runtime::prewarm`]ed worker starts.
    pub fn set_audit(&mut self, audit: Option<Arc<AuditLog>>) {
        self.config.audit = audit;
    }

    /// The tier's ceiling as configured for this runtime.
    pub fn limits_for(&self, tier: TrustTier) -> Limits {
        self.config.tier_limits[tier.index()]
    }

    /// The engine for a tier, built on first use.
    pub fn engine(&self, tier: TrustTier) -> Result<&Engine, RuntimeError> {
        self.loader.engine(tier)
    }

    /// Checks and compiles a component for a tier; repeated loads of the same
    /// bytes are served from memory, then from the disk cache.
    pub fn load(&self, wasm: &[u8], tier: TrustTier) -> Result<Arc<LoadedSkill>, LoadError> {
        self.loader.load(wasm, tier)
    }

    /// What [`Runtime::invoke`] needs and no more: for a tier that runs in
    /// sandbox workers, the checked compiled form from the disk cache,
    /// which this process sends on without deserializing it (such a skill
    /// has no host functions listed, and no code here to call); otherwise
    /// as [`Runtime::load`].
    pub fn load_to_invoke(
        &self,
        wasm: &[u8],
        tier: TrustTier,
    ) -> Result<Arc<LoadedSkill>, LoadError> {
        self.loader.load_for_workers(wasm, tier)
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
            Isolation::InProcess => blocking::run(self.config.blocking, || {
                let _permit = self.permits[skill.tier.index()].acquire();
                let _ticking = self.loader.ticking();
                run_entry(
                    skill,
                    entry,
                    input,
                    limits,
                    self.config.log_limits,
                    context,
                    Box::new(caps),
                )
            }),
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
            trace_id: invocation.trace_id,
        };
        let record = AuditRecord::new(report, subject);
        let appended = blocking::run(self.config.blocking, || audit.append(&record));
        if let Err(e) = appended {
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
}
