//! Releasing skills: minisign keys and signatures, the cached git remote,
//! `skills/index.json`, and the commit-and-tag release itself.

pub mod git_remote;
pub mod keys;
pub mod release;
pub mod repo_index;
pub mod signable;
pub mod signing;
