//! What differs between Linux and macOS, one small interface per concern:
//! resource limits, swapping two paths atomically, opening a folder with
//! no symbolic link anywhere on its path, and sizing a pipe's buffer. The OS sandbox itself is
//! [`crate::sandbox::confine`].

mod no_symlinks;
mod pipe;
mod rlimit;
mod swap;

pub use no_symlinks::open_dir_no_symlinks;
pub use pipe::{DEFAULT_PIPE_SIZE, set_pipe_size};
pub use rlimit::{Resource, set_rlimit};
pub use swap::swap_paths;
