//! One writer of installed state at a time. Commands that change what is
//! installed, approved or locked hold an advisory lock (`flock`) on
//! `$CARGO_SKILL_HOME/.lock` for their whole read-modify-write; the kernel
//! drops it when the process ends, however it ends, so a crash never
//! leaves the home locked.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use crate::store::home::Home;

/// The lock file's name in the home folder.
pub const LOCK_FILE: &str = ".lock";

/// Held while it lives.
#[derive(Debug)]
pub struct WriteLock {
    _file: File,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another process is still changing {home} after {waited:?}: wait for it to finish and try again (a process that died releases the lock by itself)"
    )]
    TimedOut { home: String, waited: Duration },
    #[error("could not lock {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl Home {
    /// Takes the write lock, waiting up to `timeout` for another writer;
    /// `on_wait` runs once, when there is one to wait for.
    pub fn lock_for_writing(
        &self,
        timeout: Duration,
        on_wait: impl FnOnce(),
    ) -> Result<WriteLock, LockError> {
        let path = self.root().join(LOCK_FILE);
        let io = |source| LockError::Io {
            path: path.display().to_string(),
            source,
        };
        std::fs::create_dir_all(self.root()).map_err(io)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io)?;
        let started = Instant::now();
        let mut on_wait = Some(on_wait);
        loop {
            // SAFETY: a valid open descriptor for the whole call.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
                return Ok(WriteLock { _file: file });
            }
            let error = std::io::Error::last_os_error();
            if error.raw_os_error() != Some(libc::EWOULDBLOCK) {
                return Err(io(error));
            }
            if started.elapsed() >= timeout {
                return Err(LockError::TimedOut {
                    home: self.root().display().to_string(),
                    waited: timeout,
                });
            }
            if let Some(f) = on_wait.take() {
                f();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_waits_then_times_out_and_gets_it_once_released() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path());
        let first = home.lock_for_writing(Duration::ZERO, || {}).unwrap();
        let mut waited = false;
        let err = home
            .lock_for_writing(Duration::from_millis(100), || waited = true)
            .unwrap_err();
        assert!(waited);
        assert!(matches!(err, LockError::TimedOut { .. }), "{err}");
        drop(first);
        home.lock_for_writing(Duration::ZERO, || panic!("no one holds it"))
            .unwrap();
    }
}
