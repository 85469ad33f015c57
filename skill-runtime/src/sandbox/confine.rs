//! The second wall: what a worker process does to itself before it touches
//! a skill. Resource limits, `no_new_privs`, Landlock (no file access, no
//! TCP bind/connect, signals and abstract sockets scoped) that must report
//! fully enforced, and a seccomp filter refusing sockets, tracing,
//! cross-process memory access, io_uring and new programs. All of it is
//! permanent for the process, which is why only a child ever calls this.

use std::collections::BTreeMap;

use landlock::{ABI, Access, AccessFs, AccessNet, Ruleset, RulesetAttr, RulesetStatus, Scope};
use seccompiler::{BpfProgram, SeccompAction, SeccompFilter, TargetArch};
use serde::{Deserialize, Serialize};

/// Kernels older than Landlock ABI 4 (Linux 6.7) cannot restrict TCP; the
/// sandbox refuses to run on them rather than run weaker.
pub const MIN_LANDLOCK_ABI: i32 = 4;
/// The newest ABI whose rights this code asks for (6 adds scopes).
const TARGET_LANDLOCK_ABI: i32 = 6;

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
}

/// What the worker runs under, once confined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confinement {
    pub landlock_abi: i32,
}

/// The kernel's Landlock ABI version; 0 or less when there is none.
pub fn landlock_abi() -> i32 {
    // SAFETY: the documented version query: null attributes, size 0.
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            1u32, // LANDLOCK_CREATE_RULESET_VERSION
        )
    };
    v as i32
}

/// Whether this kernel has seccomp filters.
pub fn seccomp_available() -> bool {
    // SAFETY: PR_GET_SECCOMP takes no pointers.
    unsafe { libc::prctl(libc::PR_GET_SECCOMP) >= 0 }
}

/// Confines the calling process for good; call before any other thread exists.
pub fn confine(limits: &ProcessLimits) -> Result<Confinement, ConfineError> {
    set_limits(limits)?;
    // SAFETY: PR_SET_NO_NEW_PRIVS with constant arguments.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(ConfineError::NoNewPrivs(
            std::io::Error::last_os_error().to_string(),
        ));
    }
    let abi = landlock_abi();
    if abi < MIN_LANDLOCK_ABI {
        return Err(ConfineError::LandlockUnavailable(abi.max(0)));
    }
    restrict_landlock(abi.min(TARGET_LANDLOCK_ABI))?;
    install_seccomp()?;
    Ok(Confinement { landlock_abi: abi })
}

/// Sets both the soft and the hard limit of `resource` to `value`; safe to
/// call between fork and exec.
pub fn set_rlimit(resource: libc::__rlimit_resource_t, value: u64) -> std::io::Result<()> {
    let limit = libc::rlimit {
        rlim_cur: value,
        rlim_max: value,
    };
    // SAFETY: a valid rlimit for a valid resource.
    if unsafe { libc::setrlimit(resource, &limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

fn set_limits(limits: &ProcessLimits) -> Result<(), ConfineError> {
    let set = |name: &str, resource, value: u64| {
        set_rlimit(resource, value).map_err(|e| ConfineError::Rlimit(name.into(), e.to_string()))
    };
    set("RLIMIT_AS", libc::RLIMIT_AS, limits.address_space_bytes)?;
    set("RLIMIT_DATA", libc::RLIMIT_DATA, limits.data_bytes)?;
    set("RLIMIT_CPU", libc::RLIMIT_CPU, limits.cpu_seconds)?;
    set("RLIMIT_NOFILE", libc::RLIMIT_NOFILE, limits.open_files)?;
    set("RLIMIT_CORE", libc::RLIMIT_CORE, 0)?;
    Ok(())
}

/// Handles every file and TCP right of `abi` with no rule granting any:
/// the worker already has its code mapped and talks over inherited pipes.
fn restrict_landlock(abi: i32) -> Result<(), ConfineError> {
    let abi = ABI::from(abi);
    let failed = |e: landlock::RulesetError| ConfineError::LandlockNotEnforced(e.to_string());
    let mut ruleset = Ruleset::default()
        .handle_access(AccessFs::from_all(abi))
        .map_err(failed)?
        .handle_access(AccessNet::from_all(abi))
        .map_err(failed)?;
    if abi >= ABI::V6 {
        ruleset = ruleset.scope(Scope::from_all(abi)).map_err(failed)?;
    }
    let status = ruleset
        .create()
        .map_err(failed)?
        .restrict_self()
        .map_err(failed)?;
    if status.ruleset != RulesetStatus::FullyEnforced {
        return Err(ConfineError::LandlockNotEnforced(format!(
            "{:?}",
            status.ruleset
        )));
    }
    Ok(())
}

/// System calls a worker never needs; each fails with EPERM.
fn denied_syscalls() -> Vec<i64> {
    vec![
        libc::SYS_socket,
        libc::SYS_connect,
        libc::SYS_bind,
        libc::SYS_listen,
        libc::SYS_accept,
        libc::SYS_accept4,
        libc::SYS_ptrace,
        libc::SYS_process_vm_readv,
        libc::SYS_process_vm_writev,
        libc::SYS_io_uring_setup,
        libc::SYS_io_uring_enter,
        libc::SYS_io_uring_register,
        libc::SYS_execve,
        libc::SYS_execveat,
    ]
}

fn install_seccomp() -> Result<(), ConfineError> {
    let failed = |e: String| ConfineError::Seccomp(e);
    let arch = TargetArch::try_from(std::env::consts::ARCH).map_err(|e| failed(e.to_string()))?;
    let rules: BTreeMap<i64, Vec<seccompiler::SeccompRule>> = denied_syscalls()
        .into_iter()
        .map(|call| (call, Vec::new()))
        .collect();
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .map_err(|e| failed(e.to_string()))?;
    let program: BpfProgram = filter
        .try_into()
        .map_err(|e: seccompiler::BackendError| failed(e.to_string()))?;
    seccompiler::apply_filter_all_threads(&program).map_err(|e| failed(e.to_string()))
}
