//! Releasing skills: `skills/index.json`, and the commit-and-tag release
//! itself, pushed to a git remote.

pub mod release;
pub mod repo_index;
