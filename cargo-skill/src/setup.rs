//! The home folder at the CLI's edge: which bot this is, the runtime every
//! command uses, and the host side of a policy (data folder, memory,
//! secret store) for one skill.

use std::sync::Arc;

use anyhow::{Context, Result};
use skill_runtime::audit::AuditLog;
use skill_runtime::sandbox::{SandboxConfig, WorkerCommand};
use skill_runtime::{Home, Runtime, RuntimeConfig};

pub fn home() -> Result<Home> {
    Ok(Home::from_env()?)
}

/// How long a writer waits for another one by default; `CARGO_SKILL_LOCK_TIMEOUT`
/// (seconds) changes it.
const LOCK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// The home's write lock, for commands that change installed state; says
/// so once when another cargo skill holds it. What a killed writer left
/// half done is finished first.
pub fn lock_for_writing(home: &Home) -> Result<skill_runtime::WriteLock> {
    let timeout = std::env::var("CARGO_SKILL_LOCK_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(LOCK_TIMEOUT, std::time::Duration::from_secs);
    let lock = home.lock_for_writing(timeout, || {
        eprintln!("waiting for another cargo skill to finish…");
    })?;
    if skill_runtime::store::installed::journal::recover(home)? {
        eprintln!(
            "note: finished what an interrupted cargo skill left in {}",
            home.root().display()
        );
    }
    Ok(lock)
}

/// The hidden verb of this binary that serves as a sandbox worker.
pub const WORKER_VERB: &str = "__worker";

/// The home's audit log, opened.
pub fn audit_log(home: &Home) -> Result<Arc<AuditLog>> {
    Ok(Arc::new(AuditLog::open(&home.audit_db())?))
}

/// The configuration a command's runtime starts from: compiled components
/// cached in the home folder (when there is one), one invocation at a time,
/// untrusted and verified skills in sandbox workers of this binary, and,
/// when `audit` is set, every invocation recorded in `audit.db`.
pub fn runtime_config(audit: bool) -> Result<RuntimeConfig> {
    let home = home().ok();
    let audit = match (&home, audit) {
        (Some(home), true) => Some(audit_log(home)?),
        _ => None,
    };
    let worker = WorkerCommand {
        program: std::env::current_exe().context("could not find the cargo-skill binary")?,
        args: vec![WORKER_VERB.to_string()],
    };
    // A `[tiers]` table it cannot read leaves the default ceilings, with a warning.
    let base = match &home {
        Some(home) => RuntimeConfig::for_home(home).unwrap_or_else(|e| {
            eprintln!("warning: {e}; the tiers' default ceilings apply");
            RuntimeConfig {
                cache_dir: Some(home.compiled_cache_dir()),
                ..RuntimeConfig::default()
            }
        }),
        None => RuntimeConfig::default(),
    };
    Ok(RuntimeConfig {
        concurrency: 1,
        audit,
        sandbox: SandboxConfig {
            worker: Some(worker),
            pool_size: 1,
            ..SandboxConfig::default()
        },
        ..base
    })
}

pub fn runtime_with(audit: bool) -> Result<Runtime> {
    Ok(Runtime::new(runtime_config(audit)?))
}

/// A runtime that records nothing (building, validating, benchmarking).
pub fn runtime() -> Runtime {
    runtime_with(false).expect("a runtime without an audit log always builds (the binary is known)")
}

/// The folder a skill argument means: an installed skill's, for a name
/// that is not written as a path and is installed (with a note when a
/// same-named folder is there too), else the path as given.
pub fn skill_path(arg: &std::path::Path) -> Result<std::path::PathBuf> {
    if skill_runtime::prepare::names_a_path(arg) {
        return Ok(arg.to_path_buf());
    }
    let Ok(home) = home() else {
        return Ok(arg.to_path_buf());
    };
    let name = arg.to_string_lossy();
    match skill_runtime::store::installed::installed_dir(&home, &name) {
        Some(dir) => {
            note_shadowed(arg);
            Ok(dir)
        }
        None => Ok(arg.to_path_buf()),
    }
}

/// Says that the installed skill, not the folder of the same name, is used.
pub fn note_shadowed(arg: &std::path::Path) {
    if arg.exists() {
        eprintln!(
            "note: using the installed skill `{0}`; `./{0}` means the folder",
            arg.display()
        );
    }
}
