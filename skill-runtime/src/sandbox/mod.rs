//! Defence in depth: untrusted (and, by default, verified) skills run in a
//! worker process confined by Landlock, seccomp and resource limits, with
//! no authority of its own; every capability call is brokered back to the
//! host, which answers it against the invocation's policy. Local skills run
//! in process. Workers are pre-forked per tier, reused with a fresh store
//! per call, and retired after a number of calls or any trap or crash.

pub mod confine;
mod pool;
pub mod probe;
pub(crate) mod protocol;
pub mod worker;

use std::path::PathBuf;

pub use confine::{
    ConfineError, Confinement, MIN_LANDLOCK_ABI, ProcessLimits, landlock_abi, seccomp_available,
    set_rlimit,
};
pub(crate) use pool::Pool;
pub use pool::SandboxError;
pub use probe::{ProbeCheck, ProbeReport};

use crate::tier::TrustTier;

/// How to start a worker: a program and its arguments, e.g. the
/// `skill-worker` binary, or `cargo-skill __worker`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerCommand {
    pub program: PathBuf,
    pub args: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxConfig {
    /// Without one, untrusted skills are refused (never run in process).
    pub worker: Option<WorkerCommand>,
    /// Run verified skills in workers too.
    pub sandbox_verified: bool,
    /// Workers per tier: kept warm, and the most that run at once.
    pub pool_size: usize,
    /// Calls a worker serves before it is replaced.
    pub max_uses: u32,
    pub process_limits: ProcessLimits,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            worker: None,
            sandbox_verified: true,
            pool_size: 4,
            max_uses: 256,
            process_limits: ProcessLimits::default(),
        }
    }
}

/// Where an invocation of a tier runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Isolation {
    InProcess,
    Worker,
    /// It must be sandboxed and cannot be: the reason.
    Refused(String),
}

impl SandboxConfig {
    /// Untrusted: always a worker. Verified: a worker unless the operator
    /// turned that off. Local: in process.
    pub fn isolation(&self, tier: TrustTier) -> Isolation {
        let wanted = match tier {
            TrustTier::Untrusted => true,
            TrustTier::Verified => self.sandbox_verified,
            TrustTier::Local => false,
        };
        match (wanted, &self.worker) {
            (false, _) => Isolation::InProcess,
            (true, Some(_)) => Isolation::Worker,
            (true, None) => Isolation::Refused(format!(
                "{tier} skills run only inside the OS sandbox, and this runtime has no worker program configured (RuntimeConfig::sandbox.worker)"
            )),
        }
    }
}
