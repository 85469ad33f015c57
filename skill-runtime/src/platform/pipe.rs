//! A pipe's buffer: on Linux a writer may ask for a larger one, so that a
//! whole component goes in at once instead of 64 KiB per wake-up of its
//! reader; elsewhere the kernel sizes pipes itself.

#[cfg(target_os = "linux")]
use std::os::fd::AsRawFd;
use std::os::fd::BorrowedFd;

/// The buffer of a new pipe on Linux, and what [`set_pipe_size`] returns to.
pub const DEFAULT_PIPE_SIZE: usize = 64 << 10;
/// What an unprivileged process may ask for (`/proc/sys/fs/pipe-max-size`).
#[cfg(target_os = "linux")]
const MAX_PIPE_SIZE: usize = 1 << 20;

/// Sets the buffer of the pipe `fd` to hold at least `bytes` (at most 1 MiB);
/// whether it was changed. Every pipe buffer counts against the user's
/// quota (`pipe-user-pages-soft`): put it back to [`DEFAULT_PIPE_SIZE`]
/// once the large write is read.
#[cfg(target_os = "linux")]
pub fn set_pipe_size(fd: BorrowedFd<'_>, bytes: usize) -> bool {
    let bytes = bytes.clamp(DEFAULT_PIPE_SIZE, MAX_PIPE_SIZE) as libc::c_int;
    // SAFETY: fcntl on a descriptor the caller keeps open.
    unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, bytes) >= 0 }
}

#[cfg(not(target_os = "linux"))]
pub fn set_pipe_size(_fd: BorrowedFd<'_>, _bytes: usize) -> bool {
    false
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::fd::AsFd;

    #[test]
    fn a_grown_pipe_takes_a_megabyte_in_one_write_and_shrinks_back_when_empty() {
        let (mut reader, mut writer) = std::io::pipe().unwrap();
        assert!(set_pipe_size(writer.as_fd(), 900 << 10));
        set_nonblocking(&writer);
        let big = vec![7u8; 900 << 10];
        // Non-blocking: all of it fits, or this fails with WouldBlock.
        assert_eq!(writer.write(&big).unwrap(), big.len());
        let mut back = vec![0u8; big.len()];
        reader.read_exact(&mut back).unwrap();
        assert_eq!(back, big);
        assert!(set_pipe_size(writer.as_fd(), DEFAULT_PIPE_SIZE));
        let err = writer.write_all(&big).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    }

    fn set_nonblocking(fd: &impl AsRawFd) {
        // SAFETY: fcntl on a descriptor this test owns.
        unsafe {
            let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
            assert!(libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) >= 0);
        }
    }
}
