//! What differs between Linux and macOS, one small interface per concern:
//! resource limits, swapping two paths atomically, and opening a folder
//! with no symbolic link anywhere on its path. The OS sandbox itself is
//! [`crate::sandbox::confine`].

mod no_symlinks;
mod rlimit;
mod swap;

pub use no_symlinks::open_dir_no_symlinks;
pub use rlimit::{Resource, set_rlimit};
pub use swap::swap_paths;
