//! Compiling an installed component into the cache. Cranelift on untrusted
//! input is itself attack surface (a module crafted to take minutes or
//! gigabytes to compile), so `install` compiles in a child process of this
//! binary with CPU-time, data-size and wall-clock limits.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use skill_runtime::platform::{Resource, set_rlimit};
use skill_runtime::{Home, TrustTier};

/// The hidden verb the child runs: `cargo-skill __compile --tier T FILE`.
pub const VERB: &str = "__compile";

#[derive(Debug, Clone, Copy)]
pub struct CompileLimits {
    pub cpu: Duration,
    pub wall: Duration,
    /// Writable memory of the compiling process (RLIMIT_DATA).
    pub data_bytes: u64,
}

impl Default for CompileLimits {
    fn default() -> Self {
        CompileLimits {
            cpu: Duration::from_secs(60),
            wall: Duration::from_secs(120),
            data_bytes: 2 << 30,
        }
    }
}

/// Compiles components in a limited child of `exe` (this binary).
pub struct Compiler {
    pub exe: PathBuf,
    pub limits: CompileLimits,
}

impl Compiler {
    /// The child compiler of the running `cargo-skill` binary.
    pub fn child_of_current_exe() -> Result<Compiler> {
        Ok(Compiler {
            exe: std::env::current_exe().context("could not find the cargo-skill binary")?,
            limits: CompileLimits::default(),
        })
    }

    /// Compiles `wasm` for `tier` into `home`'s compiled cache.
    pub fn compile(&self, home: &Home, wasm: &Path, tier: TrustTier) -> Result<()> {
        compile_in_child(&self.exe, self.limits, home, wasm, tier)
    }
}

fn compile_in_child(
    exe: &Path,
    limits: CompileLimits,
    home: &Home,
    wasm: &Path,
    tier: TrustTier,
) -> Result<()> {
    let mut command = Command::new(exe);
    command
        .args([VERB, "--tier", tier.as_str()])
        .arg(wasm)
        .env_clear()
        .env(skill_runtime::store::home::HOME_ENV, home.root())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let cpu = limits.cpu.as_secs().max(1);
    let data = limits.data_bytes;
    // SAFETY: only async-signal-safe calls (setrlimit) between fork and exec.
    unsafe {
        use std::os::unix::process::CommandExt;
        command.pre_exec(move || {
            set_rlimit(Resource::Cpu, cpu)?;
            set_rlimit(Resource::Data, data)?;
            set_rlimit(Resource::Core, 0)
        });
    }
    let mut child = command
        .spawn()
        .with_context(|| format!("could not start {}", exe.display()))?;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > limits.wall {
            child.kill().ok();
            child.wait().ok();
            bail!(
                "compiling took longer than {} s: the component is refused",
                limits.wall.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        use std::io::Read;
        pipe.read_to_string(&mut stderr).ok();
    }
    if status.success() {
        return Ok(());
    }
    use std::os::unix::process::ExitStatusExt;
    match status.signal() {
        Some(libc::SIGXCPU) | Some(libc::SIGKILL) => {
            bail!("compiling used more than {cpu} s of CPU time: the component is refused")
        }
        Some(signal) => bail!(
            "the compiler stopped on signal {signal} (over {} MiB of memory?): the component is refused",
            data >> 20
        ),
        None => {
            let why = stderr.trim().trim_start_matches("error: ");
            let why = why.lines().take(4).collect::<Vec<_>>().join(" ");
            bail!("compiling failed ({status}): {why}; the component is refused")
        }
    }
}
