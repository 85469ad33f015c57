//! `cargo skill update [NAME]...`: newer versions of installed skills, by
//! the policy in `update.rs`.

use anyhow::Result;
use clap::Args;

use crate::exit;
use crate::install::compile::Compiler;
use crate::install::update::{Outcome, UpdateOptions, update};
use crate::output::GlobalArgs;
use crate::setup;

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Installed skills to update [default: all]
    pub names: Vec<String>,
    /// Also take minor releases (1.2.x → 1.3.0)
    #[arg(long)]
    pub minor: bool,
    /// Also take major releases (1.x → 2.0.0); implies --minor
    #[arg(long)]
    pub major: bool,
    /// Approve newly declared capabilities without asking
    #[arg(short, long)]
    pub yes: bool,
    /// Say what would be updated; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Use the cached clones of the sources; no network
    #[arg(long)]
    pub offline: bool,

    /// Accept the findings of these scan rules (docs/scan.md) for the skills
    /// installed now; recorded in their install metadata and skills.lock
    #[arg(long, value_name = "RULE,...", value_delimiter = ',')]
    pub allow: Vec<String>,
}

pub fn exec(args: UpdateArgs, global: &GlobalArgs) -> Result<u8> {
    let home = setup::home()?;
    let compiler = Compiler::child_of_current_exe()?;
    let options = UpdateOptions {
        minor: args.minor,
        major: args.major,
        yes: args.yes,
        dry_run: args.dry_run,
        offline: args.offline,
        quiet: global.quiet,
        compiler: &compiler,
        allow: &args.allow,
    };
    let _lock = if args.dry_run {
        None
    } else {
        Some(setup::lock_for_writing(&home)?)
    };
    let would = if args.dry_run {
        "Would update"
    } else {
        "Updated"
    };
    for outcome in update(&home, &args.names, &options)? {
        match outcome {
            Outcome::UpToDate { name, version } if !global.quiet => {
                eprintln!("  Up to date {name} {version}");
            }
            Outcome::UpToDate { .. } => {}
            Outcome::Updated {
                name,
                from,
                to,
                changes,
            } => {
                eprintln!("     {would} {name} {from} -> {to}");
                for change in changes {
                    eprintln!("             {change}");
                }
            }
            Outcome::Held {
                name,
                version,
                available,
                needs,
            } => eprintln!(
                "        Held {name} v{version}: v{available} is available; pass {needs} to take it"
            ),
        }
    }
    Ok(exit::SUCCESS)
}
