//! `skill-runtime`: runs boternity skills, WebAssembly components of the
//! `boternity:skill/skill-plugin` world, under trust-tier limits (fuel,
//! deadline, memory, output) with deny-by-default host capabilities.
//!
//! ```no_run
//! use skill_runtime::{BotIdentity, Invocation, Runtime, RuntimeConfig, TrustTier};
//! let runtime = Runtime::new(RuntimeConfig::default());
//! let wasm = std::fs::read("skill.wasm").unwrap();
//! let skill = runtime.load(&wasm, TrustTier::Untrusted).unwrap();
//! let report = runtime.invoke(&skill, &Invocation {
//!     input: "{}",
//!     skill_name: "my-skill",
//!     skill_version: "1.0.0",
//!     bot: &BotIdentity::default(),
//!     limits: runtime.limits_for(TrustTier::Untrusted),
//!     policy: Default::default(),
//! });
//! println!("{}", report.to_json());
//! ```

pub mod atomic_file;
pub mod audit;
#[cfg(feature = "baseline")]
pub mod baseline;
mod bindings;
pub mod bots;
mod capability;
mod capability_calls;
mod compile_cache;
pub mod component_check;
mod core_abi;
mod core_io;
pub mod discover;
mod engine;
pub mod files;
mod grants;
mod guest_call;
pub mod home;
mod home_lock;
mod host;
pub mod http;
pub mod installed;
pub mod io_schema;
pub mod limit_sources;
mod limiter;
pub mod links;
mod loaded_skill;
mod log;
pub mod manifest;
mod memory;
mod outcome;
mod permits;
pub mod prepare;
mod runtime;
mod runtime_error;
pub mod sandbox;
pub mod scan;
pub mod secret_store;
pub mod skill_name;
pub mod tier;
mod toml_file;
pub mod validate;
mod wasi_denied;

pub use audit::{AuditLog, AuditQuery, AuditRecord};
pub use compile_cache::CompileSource;
pub use component_check::LoadError;
pub use grants::{Capability, CapabilityDenied, Grant, Grants, Policy, Values};
pub use home::Home;
pub use home_lock::{LockError, WriteLock};
pub use limiter::MemoryLimitExceeded;
pub use log::{LogLimits, LogLine};
pub use memory::{FileMemory, MemoryProvider, StaticMemory};
pub use outcome::{ErrorKind, Failure, HostCall, Metrics, Report};
pub use runtime::{BotIdentity, Invocation, LoadedSkill, Runtime, RuntimeConfig, RuntimeError};
pub use secret_store::SecretStore;
pub use tier::{LimitRequest, Limits, TierChoice, TrustTier};
