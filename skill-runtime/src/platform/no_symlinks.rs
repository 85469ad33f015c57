//! Opening a granted folder so that no component of its path may be a
//! symbolic link, in the kernel's own path walk (no check-then-open gap):
//! Linux `openat2(RESOLVE_NO_SYMLINKS)`, macOS `O_NOFOLLOW_ANY`; elsewhere
//! one `openat(O_NOFOLLOW)` per component from `/`. A link on the path
//! fails with `ELOOP`.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::FromRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

const FLAGS: libc::c_int = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;

/// Opens the folder at `path` (absolute or relative to the current one).
pub fn open_dir_no_symlinks(path: &Path) -> std::io::Result<File> {
    let c_path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    let fd = open(&c_path)?;
    // SAFETY: a descriptor the kernel just returned, owned from here on.
    Ok(unsafe { File::from_raw_fd(fd) })
}

fn descriptor(fd: libc::c_long) -> std::io::Result<libc::c_int> {
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(fd as libc::c_int)
}

#[cfg(target_os = "linux")]
fn open(path: &CString) -> std::io::Result<libc::c_int> {
    // SAFETY: `open_how` is plain integers; all zero is its empty value.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = FLAGS as u64;
    how.resolve = libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS;
    // SAFETY: a valid C string and an `open_how` of the size passed.
    descriptor(unsafe {
        libc::syscall(
            libc::SYS_openat2,
            libc::AT_FDCWD,
            path.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    })
}

#[cfg(target_os = "macos")]
fn open(path: &CString) -> std::io::Result<libc::c_int> {
    // SAFETY: a valid C string.
    descriptor(unsafe { libc::open(path.as_ptr(), FLAGS | libc::O_NOFOLLOW_ANY) } as _)
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn open(path: &CString) -> std::io::Result<libc::c_int> {
    walk(path)
}

/// One `openat(O_NOFOLLOW)` per component, each relative to the last.
#[cfg(any(test, not(any(target_os = "linux", target_os = "macos"))))]
fn walk(path: &CString) -> std::io::Result<libc::c_int> {
    let bytes = path.as_bytes();
    let start: &[u8] = if bytes.starts_with(b"/") { b"/" } else { b"." };
    let start = CString::new(start).expect("no NUL");
    // SAFETY: a valid C string.
    let mut fd = descriptor(unsafe { libc::open(start.as_ptr(), FLAGS) } as _)?;
    for part in bytes.split(|&b| b == b'/').filter(|p| !p.is_empty()) {
        let part = CString::new(part).expect("split from a C string");
        // SAFETY: `fd` is an open folder and `part` a valid C string.
        let mut next =
            descriptor(unsafe { libc::openat(fd, part.as_ptr(), FLAGS | libc::O_NOFOLLOW) } as _);
        // With O_DIRECTORY, some kernels report a link as "not a folder".
        if next
            .as_ref()
            .is_err_and(|e| e.raw_os_error() == Some(libc::ENOTDIR))
        {
            // SAFETY: `stat` is plain integers, filled by fstatat.
            let mut stat: libc::stat = unsafe { std::mem::zeroed() };
            // SAFETY: as above, with a valid folder and C string.
            let found =
                unsafe { libc::fstatat(fd, part.as_ptr(), &mut stat, libc::AT_SYMLINK_NOFOLLOW) };
            if found == 0 && stat.st_mode & libc::S_IFMT == libc::S_IFLNK {
                next = Err(std::io::Error::from_raw_os_error(libc::ELOOP));
            }
        }
        // SAFETY: `fd` is ours and is not used again.
        unsafe { libc::close(fd) };
        fd = next?;
    }
    Ok(fd)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("real/inner")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("real"), dir.path().join("link")).unwrap();
        dir
    }

    #[test]
    fn a_link_anywhere_on_the_path_is_refused_with_eloop() {
        let dir = layout();
        for path in [dir.path().join("link"), dir.path().join("link/inner")] {
            let error = open_dir_no_symlinks(&path).unwrap_err();
            assert_eq!(
                error.raw_os_error(),
                Some(libc::ELOOP),
                "{}",
                path.display()
            );
            let c = CString::new(path.as_os_str().as_bytes()).unwrap();
            assert_eq!(walk(&c).unwrap_err().raw_os_error(), Some(libc::ELOOP));
        }
    }

    #[test]
    fn a_real_folder_opens_by_either_walk() {
        let dir = layout();
        // The temporary folder itself may sit under a link (macOS: /var).
        let real = dir.path().canonicalize().unwrap().join("real/inner");
        assert!(
            open_dir_no_symlinks(&real)
                .unwrap()
                .metadata()
                .unwrap()
                .is_dir()
        );
        let c = CString::new(real.as_os_str().as_bytes()).unwrap();
        let fd = walk(&c).unwrap();
        // SAFETY: the descriptor `walk` returned, closed once.
        unsafe { libc::close(fd) };
    }

    #[test]
    fn a_file_is_not_a_folder() {
        let dir = layout();
        let file = dir.path().canonicalize().unwrap().join("real/file");
        std::fs::write(&file, "").unwrap();
        let error = open_dir_no_symlinks(&file).unwrap_err();
        assert_eq!(error.raw_os_error(), Some(libc::ENOTDIR));
    }
}
