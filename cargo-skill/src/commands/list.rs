//! `cargo skill list`: the installed skills.

use anyhow::Result;
use clap::Args;

use crate::exit;
use crate::install::agents::{self, Agent};
use crate::output::MessageFormat;
use crate::setup;
use skill_runtime::store::installed::{self, InstalledMeta};

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
    pub message_format: MessageFormat,

    /// What this agent sees in the current project instead (its skills folder)
    #[arg(long, value_name = "AGENT", value_parser = agents::parse)]
    pub agent: Option<Agent>,
}

pub fn exec(args: ListArgs) -> Result<u8> {
    if let Some(agent) = args.agent {
        return list_agent(agent, args.message_format);
    }
    let mut installed: Vec<InstalledMeta> = installed::dirs(&setup::home()?)?
        .iter()
        .filter_map(|(_, dir)| InstalledMeta::read(dir).ok())
        .collect();
    installed.sort_by(|a, b| a.name.cmp(&b.name));
    match args.message_format {
        MessageFormat::Json => println!("{}", serde_json::to_value(&installed)?),
        MessageFormat::Human if installed.is_empty() => eprintln!("no skills installed"),
        MessageFormat::Human => {
            for m in &installed {
                println!(
                    "{} {}  {:?}, {} tier{}  from {}",
                    m.name,
                    m.version_label(),
                    m.verification,
                    m.trust_tier,
                    m.signer
                        .as_ref()
                        .map(|s| format!(", signed by {s}"))
                        .unwrap_or_default(),
                    m.source
                );
            }
        }
    }
    Ok(exit::SUCCESS)
}

fn list_agent(agent: Agent, format: MessageFormat) -> Result<u8> {
    let seen = agents::visible(&std::env::current_dir()?, agent)?;
    match format {
        MessageFormat::Json => println!("{}", serde_json::to_value(&seen)?),
        MessageFormat::Human if seen.is_empty() => {
            eprintln!("{} sees no skills in {}", agent.name, agent.dir)
        }
        MessageFormat::Human => {
            for s in &seen {
                println!(
                    "{}  {}  {}",
                    s.name,
                    s.path,
                    s.source
                        .as_ref()
                        .map_or("(not in skills-lock.json)".to_string(), |src| format!(
                            "from {src}"
                        ))
                );
            }
        }
    }
    Ok(exit::SUCCESS)
}
