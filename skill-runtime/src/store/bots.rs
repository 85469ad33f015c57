//! Bots: who is invoking (`[bot]` in the home's `config.toml`), and each
//! bot's settings for installed skills, `bots/<bot>/skills.toml`. A skill
//! runs for every bot unless that bot disabled it; a bot may pin a version
//! requirement (runs and updates honour it) and lower the skill's limits.
//!
//! ```toml
//! [skills.weather]
//! enabled = true
//! version = "^1.2"
//! fuel = 5000000
//! timeout-ms = 2000
//! memory-mb = 8
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use semver::{Version, VersionReq};
use serde::{Deserialize, Serialize};

use crate::limits::tier::LimitRequest;
use crate::store::error::{Repair, Result, StoreError};
use crate::store::home::Home;
use crate::store::toml_file::{parse, read_if_present, write_atomic};

pub const FILE: &str = "skills.toml";

/// Who is invoking: filled into `get-context`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BotIdentity {
    pub name: String,
    pub slug: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BotSkills {
    #[serde(default)]
    pub skills: BTreeMap<String, BotSkill>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct BotSkill {
    pub enabled: bool,
    /// A version requirement, e.g. `^1.2` or `=1.2.3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuel: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mb: Option<u64>,
}

impl BotSkill {
    pub fn pin(&self) -> Option<VersionReq> {
        self.version.as_deref().and_then(|v| v.parse().ok())
    }

    /// The bot's lowering of the skill's limits.
    pub fn limits(&self) -> LimitRequest {
        LimitRequest {
            memory_bytes: self.memory_mb.map(|mb| mb * 1024 * 1024),
            fuel: self.fuel,
            timeout: self.timeout_ms.map(Duration::from_millis),
            output_bytes: None,
        }
    }
}

fn path(home: &Home, bot: &str) -> PathBuf {
    home.bot_dir(bot).join(FILE)
}

impl BotSkills {
    /// The bot's settings; none yet is empty. Errors say file:line:column.
    pub fn read(home: &Home, bot: &str) -> Result<BotSkills> {
        let path = path(home, bot);
        let Some(text) = read_if_present(&path)? else {
            return Ok(BotSkills::default());
        };
        let parsed: BotSkills = parse(&path, &text, Repair::FixOrRemove)?;
        for (name, skill) in &parsed.skills {
            if let Some(v) = &skill.version
                && v.parse::<VersionReq>().is_err()
            {
                return Err(StoreError::malformed(
                    path.display().to_string(),
                    format!("skills.{name}.version `{v}` is not a version requirement (e.g. ^1.2)"),
                    Repair::FixOrRemove,
                ));
            }
        }
        Ok(parsed)
    }

    pub fn write(&self, home: &Home, bot: &str) -> Result<()> {
        let path = path(home, bot);
        let text = format!(
            "# Written by cargo skill enable/disable.\n{}",
            toml::to_string(self).expect("the settings serialize")
        );
        write_atomic(&path, text.as_bytes())
    }
}

/// What a run of installed `name` v`version` for `bot` may use: refused when
/// the bot disabled it or pins another version; else the bot's limits.
pub fn for_run(home: &Home, bot: &str, name: &str, version: Option<&str>) -> Result<LimitRequest> {
    BotSkills::read(home, bot)?.for_run(bot, name, version)
}

impl BotSkills {
    /// [`for_run`] on settings already read, for callers asking about many skills.
    pub fn for_run(&self, bot: &str, name: &str, version: Option<&str>) -> Result<LimitRequest> {
        let Some(skill) = self.skills.get(name) else {
            return Ok(LimitRequest::default());
        };
        if !skill.enabled {
            return Err(StoreError::Disabled {
                name: name.to_string(),
                bot: bot.to_string(),
            });
        }
        if let Some(pin) = skill.pin()
            && !version
                .and_then(|v| Version::parse(v).ok())
                .is_some_and(|v| pin.matches(&v))
        {
            return Err(StoreError::PinMismatch {
                name: name.to_string(),
                bot: bot.to_string(),
                pin,
                installed: version.map_or("an unversioned copy".into(), |v| format!("v{v}")),
            });
        }
        Ok(skill.limits())
    }
}

/// Every bot's pin on `name`: (bot, requirement).
pub fn pins(home: &Home, name: &str) -> Result<Vec<(String, VersionReq)>> {
    let mut out = Vec::new();
    let Ok(bots) = std::fs::read_dir(home.root().join("bots")) else {
        return Ok(out);
    };
    for bot in bots.flatten() {
        let bot = bot.file_name().to_string_lossy().into_owned();
        if let Some(pin) = BotSkills::read(home, &bot)?
            .skills
            .get(name)
            .and_then(BotSkill::pin)
        {
            out.push((bot, pin));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// The bot invoking skills: `slug` if given, else `[bot] slug` in the home
/// folder's `config.toml`, else `local`; its name from `[bot] name`.
pub fn identity(home: &Home, slug: Option<&str>) -> Result<BotIdentity> {
    let config = crate::store::config::read(home)?;
    let field = |key: &str| {
        config
            .get("bot")
            .and_then(|b| b.get(key))
            .and_then(|v| v.as_str())
    };
    let slug = slug.or(field("slug")).unwrap_or("local").to_string();
    if slug.is_empty()
        || !slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return Err(StoreError::BadBotSlug { slug });
    }
    let name = field("name").unwrap_or(&slug).to_string();
    Ok(BotIdentity { name, slug })
}
