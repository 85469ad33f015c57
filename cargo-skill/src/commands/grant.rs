//! `cargo skill grant NAME CAP[:SCOPE]... | fuel=N memory=SIZE timeout=DURATION`:
//! approve more capabilities, or larger limits, for an installed skill; the
//! metadata and the lock are rewritten atomically.

use anyhow::Result;
use clap::Args;
use skill_runtime::limits::sources::{Written, check_ceiling};
use skill_runtime::manifest::extensions::apply_resource;
use skill_runtime::store::installed::{self, read_installed};
use skill_runtime::{Grant, LimitRequest, TrustTier};

use crate::exit;
use crate::setup;

#[derive(Debug, Args)]
pub struct GrantArgs {
    /// An installed skill
    pub name: String,
    /// `cap[:scope]` (e.g. `http-get:api.example.com`), or a limit above the
    /// tier's default: `fuel=2M`, `memory=64MiB`, `timeout=30s`
    #[arg(required = true, num_args = 1..)]
    pub grants: Vec<String>,
}

pub fn exec(args: GrantArgs) -> Result<u8> {
    let home = setup::home()?;
    let config = setup::runtime_config(false)?;
    let _lock = setup::lock_for_writing(&home)?;
    let mut meta = read_installed(&home, &args.name)?;
    let mut granted = Vec::new();
    let mut limits = LimitRequest::default();
    for text in &args.grants {
        if is_limit(text) {
            apply_resource(&mut limits, text).map_err(|e| anyhow::anyhow!("{text}: {e}"))?;
            granted.push(text.clone());
            continue;
        }
        let grant: Grant = text.parse().map_err(|e| anyhow::anyhow!("{text}: {e}"))?;
        let text = grant.to_string();
        if !meta.grants.contains(&text) {
            meta.grants.push(text.clone());
            meta.grants.sort();
        }
        // Granting a host folder again approves the folder there now.
        if let Some(folder) = installed::host_folder(&text) {
            meta.pinned_folders.remove(folder);
        }
        granted.push(text);
    }
    if limits != LimitRequest::default() {
        let tier: TrustTier = meta.trust_tier.parse()?;
        // No grant passes the tier's ceiling; only the operator's config moves it.
        check_ceiling(
            &limits,
            &config.tier_ceilings[tier as usize],
            tier,
            Written::Grant,
        )?;
        meta.resources.merge(&limits);
    }
    let pinned = meta.pin_host_folders();
    installed::save_grants(&home, &meta)?;
    eprintln!("     Granted {} to {}", granted.join(" "), meta.name);
    for folder in pinned {
        eprintln!(
            "      Pinned {folder} as the folder approved: a folder put in its place is refused"
        );
    }
    Ok(exit::SUCCESS)
}

fn is_limit(text: &str) -> bool {
    text.split_once('=')
        .is_some_and(|(key, _)| matches!(key, "fuel" | "memory" | "timeout"))
}
