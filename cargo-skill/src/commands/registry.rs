//! `cargo skill registry add|remove|list`: where `search` looks.

use anyhow::Result;
use clap::{Args, Subcommand};
use serde_json::json;

use crate::exit;
use crate::output::MessageFormat;
use crate::registry::config::{self, Kind, Registry};
use crate::registry::index::{self, describe_age};
use crate::registry::not_listed;
use crate::setup;

#[derive(Debug, Args)]
pub struct RegistryArgs {
    #[command(subcommand)]
    pub action: RegistryAction,
}

#[derive(Debug, Subcommand)]
pub enum RegistryAction {
    /// Add a registry (fetched at the next search)
    Add {
        /// A name for it: lowercase letters, digits and hyphens
        name: String,
        /// owner/repo on GitHub, a git URL (private ones through git's credential helpers), or a folder
        url: String,
        #[arg(long, value_enum, default_value_t = Kind::Git)]
        kind: Kind,
    },
    /// Remove a registry and its cached index
    Remove { name: String },
    /// List the registries, with their cached indexes' age
    List {
        #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
        message_format: MessageFormat,
    },
}

pub fn exec(args: RegistryArgs) -> Result<u8> {
    let home = setup::home()?;
    match args.action {
        RegistryAction::Add { name, url, kind } => {
            let _lock = setup::lock_for_writing(&home)?;
            config::add(
                &home,
                Registry {
                    name: name.clone(),
                    kind,
                    url: url.clone(),
                },
            )?;
            eprintln!("added registry `{name}` ({kind}: {url})");
        }
        RegistryAction::Remove { name } => {
            let _lock = setup::lock_for_writing(&home)?;
            if !config::remove(&home, &name)? {
                let listed = config::read(&home)?;
                eprintln!("error: {}", not_listed(&name, &listed));
                return Ok(exit::FAILURE);
            }
            let cache = index::cache_file(&home, &name);
            if cache.exists() {
                std::fs::remove_file(&cache)?;
            }
            eprintln!("removed registry `{name}`");
        }
        RegistryAction::List { message_format } => {
            for registry in config::read(&home)? {
                let cached = index::read_cached(&home, &registry).ok().flatten();
                match message_format {
                    MessageFormat::Json => println!(
                        "{}",
                        json!({
                            "name": registry.name,
                            "kind": registry.kind,
                            "url": registry.url,
                            "skills": cached.as_ref().map(|c| c.skills.len()),
                            "fetched_at": cached.as_ref().map(|c| c.fetched_at),
                        })
                    ),
                    MessageFormat::Human => println!(
                        "{}  {} {}  {}",
                        registry.name,
                        registry.kind,
                        registry.url,
                        cached.map_or_else(
                            || "not fetched yet".to_string(),
                            |c| format!(
                                "{} skills, fetched {} ago",
                                c.skills.len(),
                                describe_age(c.age())
                            )
                        )
                    ),
                }
            }
        }
    }
    Ok(exit::SUCCESS)
}
