//! What can go wrong with the home's installed state (skill folders and
//! their metadata, the lock, bots' settings, `config.toml`), as kinds a
//! caller can match. Messages say what is wrong and where; what to run
//! about it is the front end's to word (the CLI names its own commands).

use std::path::{Path, PathBuf};

use semver::VersionReq;

use crate::manifest::skill_name::InvalidName;
use crate::store::home_lock::LockError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No skill of this name is installed.
    #[error("`{name}` is not installed")]
    NotInstalled { name: String },
    /// The bot's settings disable the skill.
    #[error("{name} is disabled for bot `{bot}`")]
    Disabled { name: String, bot: String },
    /// The bot pins a version requirement the installed copy does not meet.
    #[error("bot `{bot}` pins {name} to {pin}, and {installed} is installed")]
    PinMismatch {
        name: String,
        bot: String,
        pin: VersionReq,
        /// `v1.2.0`, or `an unversioned copy`.
        installed: String,
    },
    /// A bot slug that cannot name a folder under `bots/`.
    #[error(
        "bot slug `{slug}` must be lowercase letters, digits, `-` and `_` (it names a folder under bots/)"
    )]
    BadBotSlug { slug: String },
    /// A file of the home that does not parse, or holds what it may not:
    /// `at` is `file:line:column` where known, else the file.
    #[error("{at}: {message}; {repair}")]
    Malformed {
        at: String,
        message: String,
        repair: Repair,
    },
    /// Reading or writing a file of the home failed.
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Another writer held the home for too long.
    #[error(transparent)]
    Locked(#[from] LockError),
    /// A name given to the store that cannot be a skill name.
    #[error(transparent)]
    Name(#[from] InvalidName),
}

/// How a malformed file of the home is repaired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Repair {
    /// The lock or the pending record: the skills it lists are then installed again.
    #[error("fix the file or remove it (the skills it lists must then be installed again)")]
    FixOrReinstallListed,
    /// One installed skill's folder.
    #[error("remove the folder and install it again")]
    Reinstall,
    /// A settings file (`config.toml`, a bot's `skills.toml`).
    #[error("fix it or remove it")]
    FixOrRemove,
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    pub(crate) fn io(action: &'static str, path: &Path, source: std::io::Error) -> StoreError {
        StoreError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn malformed(
        at: impl Into<String>,
        message: impl Into<String>,
        repair: Repair,
    ) -> StoreError {
        StoreError::Malformed {
            at: at.into(),
            message: message.into(),
            repair,
        }
    }
}
