//! The second wall: what a worker process does to itself before it touches
//! a skill. The same on every platform: resource limits, then the OS
//! sandbox, with no file access, no network, no new programs, no tracing.
//! Linux: `no_new_privs`, Landlock and seccomp ([`linux`]); macOS: a
//! deny-by-default Seatbelt profile ([`seatbelt`]). Where neither exists
//! the worker refuses, so untrusted skills never run unconfined. All of it
//! is permanent for the process, which is why only a child calls this.

#[cfg(target_os = "linux")]
mod linux;
pub mod seatbelt;

use serde::{Deserialize, Serialize};

use crate::platform::{Resource, set_rlimit};

#[cfg(target_os = "linux")]
pub use linux::{landlock_abi, seccomp_available};

/// Kernels older than Landlock ABI 4 (Linux 6.7) cannot restrict TCP; the
/// sandbox refuses to run on them rather than run weaker.
pub const MIN_LANDLOCK_ABI: i32 = 4;

/// Resource limits for a worker process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessLimits {
    /// Virtual address space (the pooling allocator reserves guard regions).
    pub address_space_bytes: u64,
    /// Writable memory: linear memories are counted as they become writable.
    pub data_bytes: u64,
    /// CPU seconds over the worker's whole life.
    pub cpu_seconds: u64,
    pub open_files: u64,
}

impl Default for ProcessLimits {
    fn default() -> Self {
        ProcessLimits {
            address_space_bytes: 64 << 30,
            data_bytes: 1 << 30,
            cpu_seconds: 600,
            open_files: 64,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum ConfineError {
    #[error("could not set resource limit {0}: {1}")]
    Rlimit(String, String),
    #[error("could not set no_new_privs: {0}")]
    NoNewPrivs(String),
    #[error(
        "Landlock is not available (kernel ABI {0}, at least {MIN_LANDLOCK_ABI} needed: Linux 6.7 with `lsm=...,landlock`): untrusted skills are not run without it"
    )]
    LandlockUnavailable(i32),
    #[error("Landlock is not fully enforced ({0}): untrusted skills are not run without it")]
    LandlockNotEnforced(String),
    #[error("could not install the seccomp filter: {0}")]
    Seccomp(String),
    #[error("the Seatbelt profile was not applied ({0}): untrusted skills are not run without it")]
    Seatbelt(String),
    #[error(
        "this platform ({0}) has no OS sandbox this runtime can apply (Landlock and seccomp on Linux, Seatbelt on macOS): untrusted skills are not run here"
    )]
    Unsupported(String),
}

/// What the worker runs under, once confined, in words: e.g. "Landlock
/// ABI 6, seccomp, rlimits".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confinement {
    pub layers: String,
}

/// Confines the calling process for good; call before any other thread exists.
pub fn confine(limits: &ProcessLimits) -> Result<Confinement, ConfineError> {
    set_limits(limits)?;
    let layers = os_sandbox()?;
    Ok(Confinement {
        layers: format!("{layers}, rlimits"),
    })
}

#[cfg(target_os = "linux")]
fn os_sandbox() -> Result<String, ConfineError> {
    linux::confine()
}

#[cfg(target_os = "macos")]
fn os_sandbox() -> Result<String, ConfineError> {
    seatbelt::apply(&seatbelt::profile())?;
    Ok("Seatbelt".into())
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn os_sandbox() -> Result<String, ConfineError> {
    Err(ConfineError::Unsupported(std::env::consts::OS.into()))
}

fn set_limits(limits: &ProcessLimits) -> Result<(), ConfineError> {
    let set = |resource: Resource, value: u64| {
        set_rlimit(resource, value)
            .map_err(|e| ConfineError::Rlimit(resource.name().into(), e.to_string()))
    };
    // macOS takes RLIMIT_AS as its resident-set limit and enforces neither;
    // guest memory is bounded by the engine's own limits there.
    if cfg!(target_os = "linux") {
        set(Resource::AddressSpace, limits.address_space_bytes)?;
    }
    set(Resource::Data, limits.data_bytes)?;
    set(Resource::Cpu, limits.cpu_seconds)?;
    set(Resource::OpenFiles, limits.open_files)?;
    set(Resource::Core, 0)?;
    Ok(())
}
