//! Linux: `no_new_privs`, Landlock (no file access, no TCP bind/connect,
//! signals and abstract sockets scoped) that must report fully enforced,
//! and a seccomp filter refusing sockets, tracing, cross-process memory
//! access, io_uring and new programs.

use std::collections::BTreeMap;

use landlock::{ABI, Access, AccessFs, AccessNet, Ruleset, RulesetAttr, RulesetStatus, Scope};
use seccompiler::{BpfProgram, SeccompAction, SeccompFilter, TargetArch};

use super::{ConfineError, MIN_LANDLOCK_ABI};

/// The newest ABI whose rights this code asks for (6 adds scopes).
const TARGET_LANDLOCK_ABI: i32 = 6;

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

/// The Linux layers, after the resource limits; says what it applied.
pub(super) fn confine() -> Result<String, ConfineError> {
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
    Ok(format!("Landlock ABI {abi}, seccomp, no_new_privs"))
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
