//! `cargo skill enable NAME --bot BOT`: per-bot settings in
//! `bots/<bot>/skills.toml` (enabled, version pin, lowered limits).

use anyhow::Result;
use clap::Args;
use semver::{Version, VersionReq};
use skill_runtime::store::bots::{BotSkill, BotSkills};
use skill_runtime::store::installed::read_installed;

use crate::exit;
use crate::setup;

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

pub fn exec(args: EnableArgs) -> Result<u8> {
    let home = setup::home()?;
    let _lock = setup::lock_for_writing(&home)?;
    let meta = read_installed(&home, &args.name)?;
    skill_runtime::store::bots::identity(&home, Some(&args.bot))?;
    let mut settings = BotSkills::read(&home, &args.bot)?;
    // Flags given replace the bot's settings; the others stay as they were.
    let previous = settings.skills.get(&args.name).cloned().unwrap_or_default();
    let skill = BotSkill {
        enabled: true,
        version: args.version.map(|v| v.to_string()).or(previous.version),
        fuel: args.fuel.or(previous.fuel),
        timeout_ms: args.timeout.or(previous.timeout_ms),
        memory_mb: args.memory.or(previous.memory_mb),
    };
    if let Some(pin) = skill.pin()
        && !meta
            .version
            .as_deref()
            .and_then(|v| Version::parse(v).ok())
            .is_some_and(|v| pin.matches(&v))
    {
        eprintln!(
            "warning: {} {} is installed, outside the pin {pin}: bot `{}` cannot run it until a matching version is installed",
            meta.name,
            meta.version_label(),
            args.bot
        );
    }
    settings.skills.insert(args.name.clone(), skill);
    settings.write(&home, &args.bot)?;
    eprintln!("     Enabled {} for bot `{}`", args.name, args.bot);
    Ok(exit::SUCCESS)
}
