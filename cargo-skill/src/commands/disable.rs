//! `cargo skill disable NAME --bot BOT`: the bot no longer runs the skill.

use anyhow::Result;
use clap::Args;
use skill_runtime::store::bots::BotSkills;
use skill_runtime::store::installed::read_installed;

use crate::exit;
use crate::setup;

#[derive(Debug, Args)]
pub struct DisableArgs {
    /// An installed skill
    pub name: String,
    /// The bot (its slug)
    #[arg(long, value_name = "BOT")]
    pub bot: String,
}

pub fn exec(args: DisableArgs) -> Result<u8> {
    let home = setup::home()?;
    let _lock = setup::lock_for_writing(&home)?;
    read_installed(&home, &args.name)?;
    skill_runtime::store::bots::identity(&home, Some(&args.bot))?;
    let mut settings = BotSkills::read(&home, &args.bot)?;
    settings
        .skills
        .entry(args.name.clone())
        .or_default()
        .enabled = false;
    settings.write(&home, &args.bot)?;
    eprintln!("    Disabled {} for bot `{}`", args.name, args.bot);
    Ok(exit::SUCCESS)
}
