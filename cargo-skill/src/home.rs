//! The home folder bots and cargo-skill share: `$CARGO_SKILL_HOME`, by
//! default `~/.boternity`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use skill_runtime::{Runtime, RuntimeConfig};

pub const HOME_ENV: &str = "CARGO_SKILL_HOME";

pub fn home_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os(HOME_ENV).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let user_home = std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .context("neither CARGO_SKILL_HOME nor HOME is set: set CARGO_SKILL_HOME to the folder cargo-skill should use")?;
    Ok(PathBuf::from(user_home).join(".boternity"))
}

/// Compiled components, keyed by content and engine.
pub fn compile_cache_dir() -> Result<PathBuf> {
    Ok(home_dir()?.join("cache").join("compiled"))
}

/// The runtime a command uses: compiled components cached in the home folder
/// (when there is one), one invocation at a time.
pub fn runtime() -> Runtime {
    Runtime::new(RuntimeConfig {
        cache_dir: compile_cache_dir().ok(),
        concurrency: 1,
        ..Default::default()
    })
}
