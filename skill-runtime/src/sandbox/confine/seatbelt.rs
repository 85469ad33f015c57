//! macOS: the worker's Seatbelt profile, applied with `sandbox_init` before
//! the worker touches a skill. It is the Linux policy in Seatbelt's words:
//! everything denied by default, and nothing allowed that Landlock or the
//! seccomp filter refuses on Linux. The profile text is built on every
//! platform so that it is tested everywhere; only macOS applies it.

/// The worker may do nothing but run code it was sent and talk to the host
/// over the pipes it inherited, so beyond `(deny default)` it is allowed
/// only what the engine needs from the system:
///
/// | Linux (Landlock, seccomp)                 | Seatbelt                        |
/// |-------------------------------------------|---------------------------------|
/// | every file right handled, none granted    | no `file-*` rule                |
/// | TCP bind/connect; `socket`, `connect`, …  | no `network-*`, `system-socket` |
/// | `execve`, `execveat`                      | no `process-exec`, `process-fork` |
/// | `ptrace`, `process_vm_*`, signal scope    | `signal`, `process-info*` on itself only |
/// | (abstract sockets scoped)                 | no `mach-lookup`, `ipc-*`, `iokit-*` |
///
/// The engine reads the page size, the CPU count and the CPU's features
/// (to check that precompiled code suits this machine) through `sysctl`.
pub fn profile() -> String {
    let sysctls = SYSCTL_NAMES
        .iter()
        .map(|name| format!("\n  (sysctl-name \"{name}\")"))
        .chain(
            SYSCTL_PREFIXES
                .iter()
                .map(|prefix| format!("\n  (sysctl-name-prefix \"{prefix}\")")),
        )
        .collect::<String>();
    format!(
        "(version 1)\n\
         ; cargo-skill sandbox worker: no files, no network, no programs,\n\
         ; no other process; the same policy as Landlock + seccomp on Linux.\n\
         (deny default)\n\
         (allow signal (target self))\n\
         (allow process-info* (target self))\n\
         (allow sysctl-read{sysctls})\n"
    )
}

/// Read-only system values the engine and the standard library ask for.
const SYSCTL_NAMES: &[&str] = &[
    "hw.pagesize",
    "hw.pagesize_compat",
    "hw.ncpu",
    "hw.activecpu",
    "hw.logicalcpu",
    "hw.logicalcpu_max",
    "hw.physicalcpu",
    "hw.physicalcpu_max",
    "hw.cachelinesize",
    "hw.cputype",
    "hw.cpusubtype",
    "hw.cpufamily",
    "kern.osrelease",
    "kern.osproductversion",
];

/// CPU feature flags (`hw.optional.arm.FEAT_*`, `hw.optional.avx2_0`, …).
const SYSCTL_PREFIXES: &[&str] = &["hw.optional."];

/// Applies `profile` to this process for good.
#[cfg(target_os = "macos")]
pub(super) fn apply(profile: &str) -> Result<(), super::ConfineError> {
    use std::ffi::{CStr, CString, c_char, c_int};

    // libSystem's sandbox interface (sandbox.h): flags 0 means the first
    // argument is profile text, not the name of a built-in profile.
    unsafe extern "C" {
        fn sandbox_init(profile: *const c_char, flags: u64, errorbuf: *mut *mut c_char) -> c_int;
        fn sandbox_free_error(errorbuf: *mut c_char);
    }
    let failed = super::ConfineError::Seatbelt;
    let text = CString::new(profile).map_err(|_| failed("the profile contains NUL".into()))?;
    let mut error: *mut c_char = std::ptr::null_mut();
    // SAFETY: a valid C string and a pointer for the error text.
    if unsafe { sandbox_init(text.as_ptr(), 0, &mut error) } == 0 {
        return Ok(());
    }
    let message = if error.is_null() {
        std::io::Error::last_os_error().to_string()
    } else {
        // SAFETY: sandbox_init set `error` to a C string we now own.
        unsafe {
            let message = CStr::from_ptr(error).to_string_lossy().into_owned();
            sandbox_free_error(error);
            message
        }
    };
    Err(failed(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An S-expression: an atom (symbol or string) or a list.
    #[derive(Debug, PartialEq)]
    enum Sexp {
        Atom(String),
        List(Vec<Sexp>),
    }

    /// The profile as its top-level forms; panics on anything unbalanced,
    /// an unterminated string, or a character SBPL would not read.
    fn parse(text: &str) -> Vec<Sexp> {
        let mut stack: Vec<Vec<Sexp>> = vec![Vec::new()];
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                ';' => while chars.next_if(|&c| c != '\n').is_some() {},
                '(' => stack.push(Vec::new()),
                ')' => {
                    let list = stack.pop().expect("balanced");
                    stack
                        .last_mut()
                        .expect("a `)` without `(`")
                        .push(Sexp::List(list));
                }
                '"' => {
                    let mut s = String::new();
                    loop {
                        match chars.next().expect("a terminated string") {
                            '"' => break,
                            '\\' => panic!("no escapes are needed in this profile"),
                            c => s.push(c),
                        }
                    }
                    stack
                        .last_mut()
                        .unwrap()
                        .push(Sexp::Atom(format!("\"{s}\"")));
                }
                c if c.is_whitespace() => {}
                c => {
                    assert!(c.is_ascii_graphic(), "{c:?}");
                    let mut s = c.to_string();
                    while let Some(c) = chars.next_if(|c| !"() \n\t\";".contains(*c)) {
                        s.push(c);
                    }
                    stack.last_mut().unwrap().push(Sexp::Atom(s));
                }
            }
        }
        assert_eq!(stack.len(), 1, "unbalanced parentheses");
        stack.pop().unwrap()
    }

    fn atom(s: &Sexp) -> &str {
        match s {
            Sexp::Atom(a) => a,
            Sexp::List(l) => panic!("an atom, not {l:?}"),
        }
    }

    fn forms() -> Vec<Vec<Sexp>> {
        parse(&profile())
            .into_iter()
            .map(|form| match form {
                Sexp::List(items) => items,
                atom => panic!("a top-level atom: {atom:?}"),
            })
            .collect()
    }

    #[test]
    fn the_profile_is_version_1_and_denies_by_default_first() {
        let forms = forms();
        assert_eq!(atom(&forms[0][0]), "version");
        assert_eq!(atom(&forms[0][1]), "1");
        assert_eq!(atom(&forms[1][0]), "deny");
        assert_eq!(atom(&forms[1][1]), "default");
        assert_eq!(forms[1].len(), 2);
        for form in &forms[2..] {
            assert_eq!(atom(&form[0]), "allow", "only allows follow: {form:?}");
        }
    }

    #[test]
    fn nothing_landlock_or_seccomp_refuses_on_linux_is_allowed() {
        let forms = forms();
        let allowed: Vec<&str> = forms[2..].iter().map(|f| atom(&f[1])).collect();
        assert_eq!(allowed, ["signal", "process-info*", "sysctl-read"]);
        let text = profile();
        for refused in [
            "file-",
            "network",
            "system-socket",
            "process-exec",
            "process-fork",
            "mach-",
            "ipc-",
            "iokit",
            "sysctl-write",
        ] {
            assert!(!text.contains(&format!("(allow {refused}")), "{refused}");
        }
    }

    #[test]
    fn signals_and_process_information_reach_only_the_worker_itself() {
        for form in &forms()[2..] {
            if matches!(atom(&form[1]), "signal" | "process-info*") {
                assert_eq!(
                    form[2],
                    Sexp::List(vec![Sexp::Atom("target".into()), Sexp::Atom("self".into())]),
                    "{form:?}"
                );
                assert_eq!(form.len(), 3);
            }
        }
    }

    #[test]
    fn sysctls_are_read_by_name_and_prefix_only() {
        let forms = forms();
        let sysctl = forms.iter().find(|f| atom(&f[1]) == "sysctl-read").unwrap();
        assert!(
            sysctl.len() > 2,
            "an unfiltered sysctl-read would allow every one"
        );
        for filter in &sysctl[2..] {
            let Sexp::List(filter) = filter else {
                panic!("a filter: {filter:?}")
            };
            assert!(matches!(
                atom(&filter[0]),
                "sysctl-name" | "sysctl-name-prefix"
            ));
            let name = atom(&filter[1]);
            assert!(
                name.starts_with("\"hw.") || name.starts_with("\"kern.os"),
                "{name}"
            );
        }
        assert!(profile().contains("(sysctl-name \"hw.pagesize\")"));
    }
}
