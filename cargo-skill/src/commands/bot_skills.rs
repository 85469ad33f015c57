//! `cargo skill enable | disable NAME --bot BOT`: per-bot settings in
//! `bots/<bot>/skills.toml` (enabled, version pin, lowered limits).

use anyhow::{Result, bail};
use clap::Args;
use semver::{Version, VersionReq};

use crate::bot_skills::{BotSkill, BotSkills};
use crate::exit;
use crate::home;
use crate::installed::{InstalledMeta, installed_dir};

#[derive(Debug, Args)]
pub struct EnableArgs {
    /// An installed skill
    pub name: String,
    /// The bot (its slug)
    #[arg(long, value_name = "BOT")]
    pub bot: String,
    /// Pin the versions this bot runs, e.g. `^1.2` (updates stay within it)
    #[arg(long, value_name = "REQ")]
    pub version: Option<VersionReq>,
    /// Lower the fuel budget for this bot
    #[arg(long, value_name = "UNITS")]
    pub fuel: Option<u64>,
    /// Lower the deadline for this bot, in milliseconds
    #[arg(long, value_name = "MS")]
    pub timeout: Option<u64>,
    /// Lower the memory limit for this bot, in MiB
    #[arg(long, value_name = "MB")]
    pub memory: Option<u64>,
}

#[derive(Debug, Args)]
pub struct DisableArgs {
    /// An installed skill
    pub name: String,
    /// The bot (its slug)
    #[arg(long, value_name = "BOT")]
    pub bot: String,
}

fn installed(home: &skill_runtime::Home, name: &str) -> Result<InstalledMeta> {
    let Some(dir) = installed_dir(home, name) else {
        bail!("`{name}` is not installed: `cargo skill list` shows what is");
    };
    InstalledMeta::read(&dir)
}

pub fn enable(args: EnableArgs) -> Result<u8> {
    let home = home::home()?;
    let meta = installed(&home, &args.name)?;
    home::bot_identity(&home, Some(&args.bot))?;
    let mut settings = BotSkills::read(&home, &args.bot)?;
    let previous = settings.skills.get(&args.name).cloned();
    let skill = BotSkill {
        enabled: true,
        version: args
            .version
            .map(|v| v.to_string())
            .or(previous.as_ref().and_then(|p| p.version.clone())),
        fuel: args.fuel.or(previous.as_ref().and_then(|p| p.fuel)),
        timeout_ms: args
            .timeout
            .or(previous.as_ref().and_then(|p| p.timeout_ms)),
        memory_mb: args.memory.or(previous.as_ref().and_then(|p| p.memory_mb)),
    };
    if let (Some(pin), Ok(version)) = (skill.pin(), Version::parse(&meta.version))
        && !pin.matches(&version)
    {
        eprintln!(
            "warning: {} v{} is installed, outside the pin {pin}: bot `{}` cannot run it until a matching version is installed",
            meta.name, meta.version, args.bot
        );
    }
    settings.skills.insert(args.name.clone(), skill);
    settings.write(&home, &args.bot)?;
    eprintln!("     Enabled {} for bot `{}`", args.name, args.bot);
    Ok(exit::SUCCESS)
}

pub fn disable(args: DisableArgs) -> Result<u8> {
    let home = home::home()?;
    installed(&home, &args.name)?;
    home::bot_identity(&home, Some(&args.bot))?;
    let mut settings = BotSkills::read(&home, &args.bot)?;
    let entry = settings
        .skills
        .entry(args.name.clone())
        .or_insert(BotSkill {
            enabled: false,
            version: None,
            fuel: None,
            timeout_ms: None,
            memory_mb: None,
        });
    entry.enabled = false;
    settings.write(&home, &args.bot)?;
    eprintln!("    Disabled {} for bot `{}`", args.name, args.bot);
    Ok(exit::SUCCESS)
}
