//! Process resource limits, named the same on every platform.

/// A limit [`set_rlimit`] can set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// Virtual address space. Linux enforces it; macOS accepts it as an
    /// alias of the resident-set limit and does not enforce it.
    AddressSpace,
    /// Writable data.
    Data,
    /// CPU seconds: SIGXCPU at the limit.
    Cpu,
    OpenFiles,
    /// Core dump size: 0 writes none.
    Core,
}

impl Resource {
    pub fn name(self) -> &'static str {
        match self {
            Resource::AddressSpace => "RLIMIT_AS",
            Resource::Data => "RLIMIT_DATA",
            Resource::Cpu => "RLIMIT_CPU",
            Resource::OpenFiles => "RLIMIT_NOFILE",
            Resource::Core => "RLIMIT_CORE",
        }
    }

    fn raw(self) -> RawResource {
        (match self {
            Resource::AddressSpace => libc::RLIMIT_AS,
            Resource::Data => libc::RLIMIT_DATA,
            Resource::Cpu => libc::RLIMIT_CPU,
            Resource::OpenFiles => libc::RLIMIT_NOFILE,
            Resource::Core => libc::RLIMIT_CORE,
        }) as RawResource
    }
}

/// What `setrlimit` takes: glibc has its own type, the others `int`.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
type RawResource = libc::__rlimit_resource_t;
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
type RawResource = libc::c_int;

/// Sets both the soft and the hard limit of `resource` to `value`; safe to
/// call between fork and exec (one system call, no allocation).
pub fn set_rlimit(resource: Resource, value: u64) -> std::io::Result<()> {
    let limit = libc::rlimit {
        rlim_cur: value as libc::rlim_t,
        rlim_max: value as libc::rlim_t,
    };
    // SAFETY: a valid rlimit for a valid resource.
    if unsafe { libc::setrlimit(resource.raw(), &limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_set_in_a_child_is_the_one_it_reads_back() {
        // A child process: limits lowered here would stay lowered for the
        // whole test binary.
        let status = std::process::Command::new("/bin/sh")
            .args(["-c", "ulimit -n"])
            .output()
            .unwrap();
        let inherited: u64 = String::from_utf8_lossy(&status.stdout)
            .trim()
            .parse()
            .unwrap();
        assert!(inherited > 32, "{inherited}");
        let mut command = std::process::Command::new("/bin/sh");
        command.args(["-c", "ulimit -n"]);
        // SAFETY: setrlimit only, between fork and exec.
        unsafe {
            use std::os::unix::process::CommandExt;
            command.pre_exec(|| set_rlimit(Resource::OpenFiles, 32));
        }
        let out = command.output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "32");
    }
}
