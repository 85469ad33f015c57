//! The home folder bots and cargo-skill share: `$CARGO_SKILL_HOME`, by
//! default `~/.boternity`, laid out as the bots expect.

use std::path::{Path, PathBuf};

use crate::manifest::skill_name::{self, InvalidName};

pub const HOME_ENV: &str = "CARGO_SKILL_HOME";

#[derive(Debug, thiserror::Error)]
#[error(
    "neither CARGO_SKILL_HOME nor HOME is set: set CARGO_SKILL_HOME to the folder cargo-skill should use"
)]
pub struct NoHome;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    pub fn new(root: impl Into<PathBuf>) -> Home {
        Home { root: root.into() }
    }

    /// `$CARGO_SKILL_HOME`, else `$HOME/.boternity`.
    pub fn from_env() -> Result<Home, NoHome> {
        if let Some(dir) = std::env::var_os(HOME_ENV).filter(|v| !v.is_empty()) {
            return Ok(Home::new(dir));
        }
        let user_home = std::env::var_os("HOME")
            .filter(|v| !v.is_empty())
            .ok_or(NoHome)?;
        Ok(Home::new(PathBuf::from(user_home).join(".boternity")))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where installed skills live.
    pub fn skills_root(&self) -> PathBuf {
        self.root.join("skills")
    }

    /// Installed skills: `skills/<name>/` with SKILL.md, skill.wasm and
    /// `.boternity-meta.toml`; only for a valid skill name.
    pub fn skill_dir(&self, skill: &str) -> Result<PathBuf, InvalidName> {
        skill_name::join(&self.skills_root(), skill)
    }

    pub fn bot_dir(&self, bot_slug: &str) -> PathBuf {
        self.root.join("bots").join(bot_slug)
    }

    /// What `read-file` and `write-file` see: one folder per skill per bot.
    pub fn data_dir(&self, bot_slug: &str, skill: &str) -> Result<PathBuf, InvalidName> {
        skill_name::join(&self.bot_dir(bot_slug).join("data"), skill)
    }

    /// What the file-backed memory provider reads for a bot.
    pub fn memory_file(&self, bot_slug: &str) -> PathBuf {
        self.bot_dir(bot_slug).join("memory.json")
    }

    pub fn cache_dir(&self) -> PathBuf {
        self.root.join("cache")
    }

    pub fn compiled_cache_dir(&self) -> PathBuf {
        self.cache_dir().join("compiled")
    }

    pub fn secrets_file(&self) -> PathBuf {
        self.root.join("secrets.json")
    }

    pub fn audit_db(&self) -> PathBuf {
        self.root.join("audit.db")
    }

    /// Signing keys: `default.key` (secret, 0600) and `default.pub`.
    pub fn keys_dir(&self) -> PathBuf {
        self.root.join("keys")
    }

    /// Public keys whose signatures make a skill `verified`, one per line.
    pub fn trusted_keys_file(&self) -> PathBuf {
        self.root.join("trusted-keys")
    }

    /// Operator settings, such as the bot's name and slug.
    pub fn config_file(&self) -> PathBuf {
        self.root.join("config.toml")
    }
}
