//! `cargo skill revoke NAME CAP[:SCOPE]`: withdraw a capability from an
//! installed skill (a bare `cap` withdraws every scope of it).

use anyhow::{Result, bail};
use clap::Args;
use skill_runtime::Capability;
use skill_runtime::store::installed::{self, capability_name, read_installed};

use crate::exit;
use crate::setup;

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// An installed skill
    pub name: String,
    /// `cap[:scope]`, or a bare `cap` for every scope of it
    pub capability: String,
}

pub fn exec(args: RevokeArgs) -> Result<u8> {
    let home = setup::home()?;
    let _lock = setup::lock_for_writing(&home)?;
    let mut meta = read_installed(&home, &args.name)?;
    let whole: Option<Capability> = args.capability.parse().ok();
    let before = meta.grants.len();
    meta.grants.retain(|g| match whole {
        Some(cap) => capability_name(g) != cap.as_str(),
        None => *g != args.capability,
    });
    if meta.grants.len() == before {
        bail!(
            "{} holds no grant `{}`; it holds: {}",
            meta.name,
            args.capability,
            meta.grants.join(", ")
        );
    }
    meta.pin_host_folders();
    installed::save_grants(&home, &meta)?;
    eprintln!("     Revoked {} from {}", args.capability, meta.name);
    Ok(exit::SUCCESS)
}
