//! `cargo skill remove NAME...`: uninstall skills from the home and the
//! project's agent folders; refused while another installed skill depends
//! on one or inherits from it.

use anyhow::Result;
use clap::Args;

use crate::exit;
use crate::install::agents::{self, Agent};
use crate::install::remove::{RemoveOptions, remove};
use crate::setup;

#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// Installed skills
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,
    /// Remove them even though installed skills depend on them
    #[arg(long)]
    pub force: bool,
    /// Only from these agents' folders in the current project; the home keeps the skills
    #[arg(long, value_name = "AGENT,...", value_delimiter = ',', value_parser = agents::parse)]
    pub agents: Vec<Agent>,
}

pub fn exec(args: RemoveArgs) -> Result<u8> {
    let home = setup::home()?;
    let project = std::env::current_dir()?;
    let _lock = setup::lock_for_writing(&home)?;
    let (removed, warnings) = remove(
        &home,
        &RemoveOptions {
            names: &args.names,
            force: args.force,
            agents: &args.agents,
            project: &project,
        },
    )?;
    for warning in warnings {
        eprintln!("warning: {warning}");
    }
    for r in removed {
        let mut what: Vec<String> = r.version.iter().cloned().collect();
        if !r.project.is_empty() {
            what.push(format!("and {}", r.project.join(", ")));
        }
        eprintln!("     Removed {} {}", r.name, what.join(" "));
    }
    Ok(exit::SUCCESS)
}
