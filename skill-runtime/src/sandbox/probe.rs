//! A confined worker trying to get out, for tests and `cargo skill doctor`:
//! reading and writing files, opening network sockets, tracing, and running
//! another program must all fail.

use std::ffi::CString;

use serde::{Deserialize, Serialize};

/// The smallest skill there is, for checking that code runs in a worker at
/// all (the OS sandbox may allow the escapes to fail and still stop the
/// engine): a core module that only sets its output. Its source, checked
/// against these bytes (one section a line) in the tests:
///
/// ```wat
/// (module
///   (import "blufio" "set_output" (func (param i32 i32)))
///   (memory (export "memory") 1)
///   (data (i32.const 0) "{\"sandboxed\":true}")
///   (func (export "run") (call 0 (i32.const 0) (i32.const 18))))
/// ```
pub const RUN_PROBE_MODULE: &[u8] = b"\0asm\x01\0\0\0\
    \x01\x09\x02\x60\x02\x7f\x7f\x00\x60\x00\x00\
    \x02\x15\x01\x06blufio\x0aset_output\x00\x00\
    \x03\x02\x01\x01\
    \x05\x03\x01\x00\x01\
    \x07\x10\x02\x06memory\x02\x00\x03run\x00\x01\
    \x0a\x0a\x01\x08\x00\x41\x00\x41\x12\x10\x00\x0b\
    \x0b\x18\x01\x00\x41\x00\x0b\x12{\"sandboxed\":true}";

/// What [`RUN_PROBE_MODULE`] answers.
pub const RUN_PROBE_OUTPUT: &str = r#"{"sandboxed":true}"#;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeCheck {
    pub attempt: String,
    /// The sandbox stopped it.
    pub blocked: bool,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeReport {
    /// What the worker is confined by (e.g. "Seatbelt, rlimits").
    pub layers: String,
    pub checks: Vec<ProbeCheck>,
}

impl ProbeReport {
    pub fn all_blocked(&self) -> bool {
        self.checks.iter().all(|c| c.blocked)
    }
}

fn check(attempt: &str, result: std::io::Result<()>) -> ProbeCheck {
    match result {
        Ok(()) => ProbeCheck {
            attempt: attempt.into(),
            blocked: false,
            detail: "succeeded".into(),
        },
        Err(e) => ProbeCheck {
            attempt: attempt.into(),
            blocked: true,
            detail: e.to_string(),
        },
    }
}

fn os_result(status: libc::c_long) -> std::io::Result<()> {
    if status < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Runs every attempt in this (confined) process. `execve` goes last: if
/// the sandbox failed to stop it, this process becomes `/bin/true` and the
/// host sees the worker vanish mid-probe, which it reports as not blocked.
pub fn run(layers: &str) -> ProbeReport {
    let mut checks = vec![
        check("read /etc/passwd", std::fs::read("/etc/passwd").map(drop)),
        check("list /", std::fs::read_dir("/").map(drop)),
        check(
            "write /tmp",
            std::fs::write(
                std::env::temp_dir().join(format!("skill-probe-{}", std::process::id())),
                b"x",
            ),
        ),
    ];
    // SAFETY: plain system calls with constant arguments.
    checks.push(check("AF_INET socket", unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        if fd >= 0 {
            libc::close(fd);
        }
        os_result(fd as libc::c_long)
    }));
    checks.push(check("AF_INET6 socket", unsafe {
        let fd = libc::socket(libc::AF_INET6, libc::SOCK_DGRAM, 0);
        if fd >= 0 {
            libc::close(fd);
        }
        os_result(fd as libc::c_long)
    }));
    checks.extend(platform_checks());
    let program = CString::new("/bin/true").expect("no NUL");
    let argv = [program.as_ptr(), std::ptr::null()];
    let envp = [std::ptr::null()];
    // SAFETY: valid NUL-terminated argv and envp arrays.
    checks.push(check("execve /bin/true", unsafe {
        os_result(libc::execve(program.as_ptr(), argv.as_ptr(), envp.as_ptr()) as libc::c_long)
    }));
    ProbeReport {
        layers: layers.into(),
        checks,
    }
}

#[cfg(target_os = "linux")]
fn platform_checks() -> Vec<ProbeCheck> {
    // SAFETY: plain system calls with constant arguments.
    unsafe {
        vec![
            check(
                "ptrace the parent",
                os_result(libc::ptrace(libc::PTRACE_ATTACH, libc::getppid(), 0, 0)),
            ),
            check(
                "io_uring",
                os_result(libc::syscall(
                    libc::SYS_io_uring_setup,
                    1,
                    std::ptr::null_mut::<u8>(),
                )),
            ),
        ]
    }
}

#[cfg(target_os = "macos")]
fn platform_checks() -> Vec<ProbeCheck> {
    // libSystem's bootstrap interface: how a process reaches system
    // services over Mach, which Seatbelt's `mach-lookup` governs.
    unsafe extern "C" {
        static bootstrap_port: libc::mach_port_t;
        fn bootstrap_look_up(
            bp: libc::mach_port_t,
            service_name: *const std::ffi::c_char,
            sp: *mut libc::mach_port_t,
        ) -> libc::c_int;
    }
    let service = CString::new("com.apple.system.opendirectoryd.libinfo").expect("no NUL");
    let mut port: libc::mach_port_t = 0;
    // SAFETY: valid pointers; the port, if any, is this process's to keep.
    let looked_up = unsafe { bootstrap_look_up(bootstrap_port, service.as_ptr(), &mut port) };
    vec![
        // SAFETY: a plain system call with constant arguments.
        check("ptrace the parent", unsafe {
            os_result(libc::ptrace(libc::PT_ATTACH, libc::getppid(), std::ptr::null_mut(), 0) as _)
        }),
        check(
            "look up a system service (mach)",
            match looked_up {
                0 => Ok(()),
                code => Err(std::io::Error::other(format!("bootstrap_look_up: {code}"))),
            },
        ),
    ]
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn platform_checks() -> Vec<ProbeCheck> {
    Vec::new()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_run_probe_is_its_documented_source() {
        let source = r#"(module
  (import "blufio" "set_output" (func (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "{\"sandboxed\":true}")
  (func (export "run") (call 0 (i32.const 0) (i32.const 18))))"#;
        let bytes = wat::parse_str(source).unwrap();
        assert_eq!(super::RUN_PROBE_MODULE, &bytes[..], "{bytes:?}");
        assert_eq!(super::RUN_PROBE_OUTPUT.len(), 18);
    }
}
