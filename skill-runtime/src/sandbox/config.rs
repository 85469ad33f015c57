//! What a runtime's sandbox is configured with, and where each tier runs.

use std::path::PathBuf;

use crate::limits::tier::TrustTier;
use crate::sandbox::confine::ProcessLimits;

/// Distinct skills one worker holds at most. Each keeps memory images
/// (memfds) open under the worker's small open-file limit, so a bot with
/// many skills spreads them over fresh workers instead of running out.
pub(crate) const SKILLS_PER_WORKER: usize = 16;

/// How to start a worker: a program and its arguments, e.g. the
/// `skill-worker` binary, or `cargo-skill __worker`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerCommand {
    pub program: PathBuf,
    pub args: Vec<String>,
}

impl WorkerCommand {
    /// This crate's `skill-worker` binary: `SKILL_WORKER` when set, else
    /// `skill-worker` in the running program's folder or the one above
    /// (where cargo puts binaries beside examples and tests).
    pub fn skill_worker() -> Option<WorkerCommand> {
        let program = match std::env::var_os("SKILL_WORKER") {
            Some(path) => PathBuf::from(path),
            None => std::env::current_exe()
                .ok()?
                .ancestors()
                .skip(1)
                .take(2)
                .map(|dir| dir.join("skill-worker"))
                .find(|p| p.is_file())?,
        };
        Some(WorkerCommand {
            program,
            args: Vec::new(),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxConfig {
    /// Without one, untrusted skills are refused (never run in process).
    pub worker: Option<WorkerCommand>,
    /// Run verified skills in workers too.
    pub sandbox_verified: bool,
    /// Workers per tier: kept warm, and the most that run at once.
    pub pool_size: usize,
    /// Calls a worker serves before a successor is started for it; it
    /// serves on until the successor is ready (at most twice as many).
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
