//! The home folder bots and cargo-skill share: `$CARGO_SKILL_HOME`, by
//! default `~/.boternity`.

use std::path::PathBuf;

use anyhow::{Context, Result};

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
