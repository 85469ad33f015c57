//! `skill-runtime`: runs boternity skills, WebAssembly components of the
//! `boternity:skill/skill-plugin` world, under trust-tier limits (fuel,
//! deadline, memory, output) with deny-by-default host capabilities.
//!
//! Rooms: [`prepare`] (one run decided: tier, limits, grants), [`engine`]
//! (running WebAssembly in this process), [`sandbox`] (worker processes
//! under Landlock and seccomp), [`capabilities`] (what a skill may be
//! granted, and the host side of each), [`limits`], [`manifest`] and
//! [`validate`] (reading and checking skills), [`discover`] (finding them
//! in a source, and the links inside it), [`store`] (the home's installed state),
//! [`audit`], [`chain`] (skills run one after another as one call), [`serving`] (prompt block, catalog, calls, MCP), and with the
//! default `scan` feature, [`scan`].
//!
//! An untrusted skill runs only in a sandbox worker: configure one.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # // A real component and worker for the example to run with.
//! # let dir = tempfile::tempdir()?;
//! # std::fs::write(dir.path().join("skill.wasm"), skill_test_support::guest_wasm("probe"))?;
//! # std::env::set_current_dir(dir.path())?;
//! # // SAFETY: nothing else runs yet in this process.
//! # unsafe { std::env::set_var("SKILL_WORKER", skill_test_support::skill_worker()) };
//! use skill_runtime::sandbox::WorkerCommand;
//! use skill_runtime::{BotIdentity, Invocation, Runtime, RuntimeConfig, TrustTier};
//! let mut config = RuntimeConfig::default();
//! config.sandbox.worker = WorkerCommand::skill_worker();
//! let runtime = Runtime::new(config);
//! let wasm = std::fs::read("skill.wasm")?;
//! let skill = runtime.load(&wasm, TrustTier::Untrusted)?;
//! let report = runtime.invoke(&skill, &Invocation {
//!     input: r#"{"text": "hello"}"#,
//!     skill_name: "my-skill",
//!     skill_version: "1.0.0",
//!     bot: &BotIdentity::default(),
//!     limits: runtime.limits_for(TrustTier::Untrusted),
//!     policy: Default::default(),
//!     trace_id: None,
//! });
//! println!("{}", report.to_json());
//! # assert!(report.sandboxed, "{}", report.to_json());
//! # assert!(report.result.is_ok(), "{}", report.to_json());
//! # Ok(())
//! # }
//! ```

pub mod atomic_file;
pub mod audit;
#[cfg(feature = "baseline")]
pub mod baseline;
pub mod blocking;
pub mod capabilities;
pub mod chain;
pub mod discover;
pub mod engine;
pub mod limits;
pub mod manifest;
mod outcome;
pub mod platform;
pub mod prepare;
mod runtime;
pub mod sandbox;
#[cfg(feature = "scan")]
pub mod scan;
pub mod serving;
pub mod store;
pub mod validate;

pub use audit::{AuditLog, AuditQuery, AuditRecord};
pub use capabilities::grants::{Capability, CapabilityDenied, Grant, Grants, Policy, Values};
pub use capabilities::memory::{FileMemory, MemoryProvider, StaticMemory};
pub use capabilities::secret_store::SecretStore;
pub use engine::compile_cache::CompileSource;
pub use engine::component_check::LoadError;
pub use engine::limiter::MemoryLimitExceeded;
pub use engine::log::LogLimits;
pub use limits::tier::{LimitName, LimitRequest, Limits, TierChoice, TrustTier};
pub use outcome::{ErrorKind, Failure, HostCall, LogLine, Metrics, Remedy, Report};
pub use prepare::PrepareError;
pub use runtime::{Invocation, LoadedSkill, Runtime, RuntimeConfig, RuntimeError};
pub use store::bots::BotIdentity;
pub use store::error::StoreError;
pub use store::home::Home;
pub use store::home_lock::{LockError, WriteLock};
