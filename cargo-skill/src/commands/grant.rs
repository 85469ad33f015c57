//! `cargo skill grant NAME CAP[:SCOPE]`: approve one more capability for an
//! installed skill; the metadata and the lock are rewritten atomically.

use anyhow::Result;
use clap::Args;
use skill_runtime::Grant;
use skill_runtime::installed::{self, read_installed};

use crate::exit;
use crate::home;

#[derive(Debug, Args)]
pub struct GrantArgs {
    /// An installed skill
    pub name: String,
    /// `cap[:scope]`, e.g. `http-get:api.example.com`
    pub capability: String,
}

pub fn exec(args: GrantArgs) -> Result<u8> {
    let home = home::home()?;
    let _lock = home::lock_for_writing(&home)?;
    let mut meta = read_installed(&home, &args.name)?;
    let grant: Grant = args
        .capability
        .parse()
        .map_err(|(_, e)| anyhow::anyhow!("{}: {e}", args.capability))?;
    let text = grant.to_string();
    if !meta.grants.contains(&text) {
        meta.grants.push(text.clone());
        meta.grants.sort();
    }
    // Granting a host folder again approves the folder there now.
    if let Some(folder) = installed::host_folder(&text) {
        meta.pinned_folders.remove(folder);
    }
    let pinned = meta.pin_host_folders();
    installed::save_grants(&home, &meta)?;
    eprintln!("     Granted {text} to {}", meta.name);
    for folder in pinned {
        eprintln!(
            "      Pinned {folder} as the folder approved: a folder put in its place is refused"
        );
    }
    Ok(exit::SUCCESS)
}
