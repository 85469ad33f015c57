//! Swapping two paths in one step, so a reader sees the old folder or the
//! new one and a crash leaves one of them: Linux `renameat2(RENAME_EXCHANGE)`,
//! macOS `renamex_np(RENAME_SWAP)`.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Exchanges what `a` and `b` name; both must exist on one file system.
pub fn swap_paths(a: &Path, b: &Path) -> std::io::Result<()> {
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))
    };
    exchange(&c(a)?, &c(b)?)
}

#[cfg(any(target_os = "linux", target_os = "macos"))]
fn os_result(status: libc::c_int) -> std::io::Result<()> {
    match status {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

#[cfg(target_os = "linux")]
fn exchange(a: &CString, b: &CString) -> std::io::Result<()> {
    // SAFETY: two valid C strings, relative to the current directory.
    os_result(unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    })
}

#[cfg(target_os = "macos")]
fn exchange(a: &CString, b: &CString) -> std::io::Result<()> {
    // SAFETY: two valid C strings.
    os_result(unsafe { libc::renamex_np(a.as_ptr(), b.as_ptr(), libc::RENAME_SWAP) })
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn exchange(_: &CString, _: &CString) -> std::io::Result<()> {
    // Two plain renames would leave neither path named between them.
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "this platform cannot swap two folders in one step",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_folders_trade_places_with_their_contents() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::create_dir(&a).unwrap();
        std::fs::create_dir(&b).unwrap();
        std::fs::write(a.join("from-a"), "").unwrap();
        std::fs::write(b.join("from-b"), "").unwrap();
        swap_paths(&a, &b).unwrap();
        assert!(a.join("from-b").exists() && b.join("from-a").exists());
        assert!(!a.join("from-a").exists());
    }

    #[test]
    fn a_missing_side_is_an_error_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        std::fs::create_dir(&a).unwrap();
        let error = swap_paths(&a, &dir.path().join("missing")).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::NotFound, "{error}");
        assert!(a.is_dir());
    }
}
