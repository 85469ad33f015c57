//! `cargo skill list`: the installed skills.

use anyhow::Result;
use clap::Args;

use crate::exit;
use crate::home;
use crate::output::MessageFormat;
use skill_runtime::installed::{self, InstalledMeta};

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
    pub message_format: MessageFormat,
}

pub fn exec(args: ListArgs) -> Result<u8> {
    let mut installed: Vec<InstalledMeta> = installed::dirs(&home::home()?)?
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
