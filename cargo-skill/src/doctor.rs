//! `cargo skill doctor`: is this machine ready to build skills and to run
//! untrusted ones? Each check says what it found and, when something is
//! missing, how to fix it.

use std::path::Path;

use serde::Serialize;
use skill_runtime::sandbox::probe;
#[cfg(target_os = "linux")]
use skill_runtime::sandbox::{self, MIN_LANDLOCK_ABI};
use skill_runtime::{BotIdentity, Home, Invocation, Runtime, TrustTier};

use crate::help::UNSANDBOXED;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Error,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

fn check(name: &'static str, status: Status, detail: String, fix: Option<&str>) -> Check {
    Check {
        name,
        status,
        detail,
        fix: fix.map(String::from),
    }
}

/// Every check, sandbox first.
pub fn run(home: Option<&Home>, runtime: &Runtime) -> Vec<Check> {
    let mut checks = os_sandbox();
    checks.extend([worker(runtime), sandboxed_run(runtime), wasm_target()]);
    match home {
        Some(home) => checks.extend(home_checks(home)),
        None => checks.push(check(
            "home",
            Status::Error,
            "no home folder: neither CARGO_SKILL_HOME nor HOME is set".into(),
            Some("set CARGO_SKILL_HOME to a folder cargo-skill may own"),
        )),
    }
    checks
}

#[cfg(target_os = "linux")]
fn os_sandbox() -> Vec<Check> {
    vec![landlock(), seccomp()]
}

/// Seatbelt is part of every macOS: nothing to look for before the worker
/// check, which applies the profile and says so ("confined by Seatbelt").
#[cfg(target_os = "macos")]
fn os_sandbox() -> Vec<Check> {
    Vec::new()
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn os_sandbox() -> Vec<Check> {
    vec![check(
        "os sandbox",
        Status::Error,
        format!(
            "{} has no OS sandbox cargo-skill can apply: untrusted skills will be refused",
            std::env::consts::OS
        ),
        Some(UNSANDBOXED),
    )]
}

#[cfg(target_os = "linux")]
fn landlock() -> Check {
    let abi = sandbox::landlock_abi();
    if abi >= MIN_LANDLOCK_ABI {
        check(
            "landlock",
            Status::Ok,
            format!("kernel ABI {abi} (at least {MIN_LANDLOCK_ABI} needed)"),
            None,
        )
    } else {
        check(
            "landlock",
            Status::Error,
            format!(
                "kernel ABI {} (at least {MIN_LANDLOCK_ABI} needed): untrusted skills will be refused",
                abi.max(0)
            ),
            Some(
                "run Linux 6.7 or newer with Landlock enabled (CONFIG_SECURITY_LANDLOCK=y and `landlock` in the `lsm=` boot parameter)",
            ),
        )
    }
}

#[cfg(target_os = "linux")]
fn seccomp() -> Check {
    if sandbox::seccomp_available() {
        check(
            "seccomp",
            Status::Ok,
            "seccomp filters are available".into(),
            None,
        )
    } else {
        check(
            "seccomp",
            Status::Error,
            "seccomp is not available: untrusted skills will be refused".into(),
            Some(
                "run a kernel built with CONFIG_SECCOMP_FILTER=y (containers: do not disable seccomp)",
            ),
        )
    }
}

/// Starts a real worker and has it try to escape.
fn worker(runtime: &Runtime) -> Check {
    match runtime.probe_sandbox() {
        Ok((report, started)) if report.all_blocked() => {
            let attempts: Vec<&str> = report.checks.iter().map(|c| c.attempt.as_str()).collect();
            check(
                "sandbox worker",
                Status::Ok,
                format!(
                    "confined by {} in {:.1} ms; blocked: {}",
                    report.layers,
                    started.as_secs_f64() * 1000.0,
                    attempts.join(", ")
                ),
                None,
            )
        }
        Ok((report, _)) => {
            let open: Vec<String> = report
                .checks
                .iter()
                .filter(|c| !c.blocked)
                .map(|c| c.attempt.clone())
                .collect();
            check(
                "sandbox worker",
                Status::Error,
                format!("a confined worker could still: {}", open.join(", ")),
                Some("report this: the sandbox is not holding on this system"),
            )
        }
        Err(e) => check(
            "sandbox worker",
            Status::Error,
            format!("{e}: untrusted skills will be refused until a worker starts"),
            Some(&format!("see the checks above; {UNSANDBOXED}")),
        ),
    }
}

/// Runs the smallest skill as an untrusted one: compiled here, loaded and
/// run in a worker under the OS sandbox, answered over the pipe.
fn sandboxed_run(runtime: &Runtime) -> Check {
    const NAME: &str = "sandboxed run";
    let started = std::time::Instant::now();
    let tier = TrustTier::Untrusted;
    let skill = match runtime.load(probe::RUN_PROBE_MODULE, tier) {
        Ok(skill) => skill,
        Err(e) => return check(NAME, Status::Error, format!("the probe module: {e}"), None),
    };
    let report = runtime.invoke(
        &skill,
        &Invocation {
            input: "{}",
            skill_name: "doctor-probe",
            skill_version: "0.0.0",
            bot: &BotIdentity::default(),
            limits: runtime.limits_for(tier),
            policy: Default::default(),
            trace_id: None,
        },
    );
    match &report.result {
        Ok(output) if report.sandboxed && output == probe::RUN_PROBE_OUTPUT => check(
            NAME,
            Status::Ok,
            format!(
                "a minimal skill ran as an untrusted one in a worker ({:.1} ms, compiling included)",
                started.elapsed().as_secs_f64() * 1000.0
            ),
            None,
        ),
        Ok(output) => check(
            NAME,
            Status::Error,
            format!(
                "the probe skill answered {output:?} (sandboxed: {})",
                report.sandboxed
            ),
            Some("report this: untrusted skills must run in a worker"),
        ),
        Err(failure) => check(
            NAME,
            Status::Error,
            format!("{}: untrusted skills cannot run here", failure.message),
            Some(&format!("see the checks above; {UNSANDBOXED}")),
        ),
    }
}

fn wasm_target() -> Check {
    let listed = std::process::Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    match listed {
        Ok(out)
            if String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| l.trim() == "wasm32-wasip2") =>
        {
            check(
                "wasm target",
                Status::Ok,
                "wasm32-wasip2 is installed".into(),
                None,
            )
        }
        Ok(_) => check(
            "wasm target",
            Status::Warn,
            "wasm32-wasip2 is not installed: tool skills cannot be built".into(),
            Some("rustup target add wasm32-wasip2"),
        ),
        Err(_) => check(
            "wasm target",
            Status::Warn,
            "rustup was not found: tool skills need the wasm32-wasip2 target".into(),
            Some("install rustup (https://rustup.rs), then `rustup target add wasm32-wasip2`"),
        ),
    }
}

fn home_checks(home: &Home) -> Vec<Check> {
    let mut checks = vec![
        writable("home", home.root()),
        writable("cache", &home.compiled_cache_dir()),
    ];
    let secrets = home.secrets_file();
    if let Ok(meta) = std::fs::metadata(&secrets) {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        checks.push(if mode & 0o077 == 0 {
            check(
                "secrets",
                Status::Ok,
                format!("{} is {mode:o}", secrets.display()),
                None,
            )
        } else {
            check(
                "secrets",
                Status::Error,
                format!(
                    "{} is readable by others ({mode:o}): skills are refused its secrets",
                    secrets.display()
                ),
                Some(&format!("chmod 600 {}", secrets.display())),
            )
        });
    }
    checks.push(
        match crate::signing::keys::load_trusted(&home.trusted_keys_file()) {
            Ok(keys) if keys.is_empty() => check(
                "trusted keys",
                Status::Warn,
                format!(
                    "{} lists no key: every install is untrusted",
                    home.trusted_keys_file().display()
                ),
                Some("add the publishers' public keys (one per line) to trusted-keys"),
            ),
            Ok(keys) => check(
                "trusted keys",
                Status::Ok,
                format!("{} key(s)", keys.len()),
                None,
            ),
            Err(e) => check(
                "trusted keys",
                Status::Error,
                e.to_string(),
                Some("fix or remove the trusted-keys file"),
            ),
        },
    );
    if home.audit_db().exists() {
        let integrity = skill_runtime::AuditLog::open(&home.audit_db())
            .map_err(|e| e.to_string())
            .and_then(|log| log.check_integrity());
        checks.push(match integrity {
            Ok(()) => check("audit log", Status::Ok, format!("{} passes its integrity check", home.audit_db().display()), None),
            Err(e) => check(
                "audit log",
                Status::Error,
                e,
                Some("move audit.db aside (keep it for the record); a new one is created on the next run"),
            ),
        });
    }
    checks.push(
        match skill_runtime::store::installed::Lockfile::read(home.root())
            .and_then(|_| skill_runtime::store::installed::all(home))
        {
            Ok(installed) => check(
                "installed skills",
                Status::Ok,
                format!("{} installed, skills.lock reads", installed.len()),
                None,
            ),
            Err(e) => check(
                "installed skills",
                Status::Error,
                format!("{e:#}"),
                Some("fix the file named, or reinstall the skill"),
            ),
        },
    );
    checks
}

fn writable(name: &'static str, dir: &Path) -> Check {
    match skill_runtime::atomic_file::probe_writable(dir) {
        Ok(()) => check(
            name,
            Status::Ok,
            format!("{} is writable", dir.display()),
            None,
        ),
        Err(e) => check(
            name,
            Status::Error,
            format!("{} is not writable: {e}", dir.display()),
            Some("fix its permissions, or point CARGO_SKILL_HOME elsewhere"),
        ),
    }
}
