//! `cargo skill grant | revoke NAME CAP[:SCOPE]` and `cargo skill remove
//! NAME`: change what an installed skill may do, or uninstall it. The
//! metadata and the lock are rewritten atomically.

use anyhow::{Context, Result, bail};
use clap::Args;
use skill_runtime::{Capability, Grant, Home};

use crate::exit;
use crate::home;
use skill_runtime::installed::{InstalledMeta, Lockfile, capability_name, read_installed};

#[derive(Debug, Args)]
pub struct GrantArgs {
    /// An installed skill
    pub name: String,
    /// `cap[:scope]`, e.g. `http-get:api.example.com`; `revoke` also takes a bare `cap` for every scope
    pub capability: String,
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// An installed skill
    pub name: String,
    /// Remove it even though installed skills depend on it
    #[arg(long)]
    pub force: bool,
}

fn save(home: &Home, meta: &InstalledMeta) -> Result<()> {
    meta.write(&home.skill_dir(&meta.name)?)?;
    let mut lock = Lockfile::read(home.root())?;
    if let Some(mut locked) = lock.get(&meta.name).cloned() {
        locked.grants = meta.grants.clone();
        lock.upsert(locked);
        lock.write(home.root())?;
    }
    Ok(())
}

pub fn grant(args: GrantArgs) -> Result<u8> {
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
    save(&home, &meta)?;
    eprintln!("     Granted {text} to {}", meta.name);
    Ok(exit::SUCCESS)
}

pub fn revoke(args: GrantArgs) -> Result<u8> {
    let home = home::home()?;
    let _lock = home::lock_for_writing(&home)?;
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
    save(&home, &meta)?;
    eprintln!("     Revoked {} from {}", args.capability, meta.name);
    Ok(exit::SUCCESS)
}

pub fn remove(args: RemoveArgs) -> Result<u8> {
    let home = home::home()?;
    let _lock = home::lock_for_writing(&home)?;
    let meta = read_installed(&home, &args.name)?;
    // Skills that depend on it, or inherit from it as a mixin parent.
    let dependents: Vec<String> = skill_runtime::installed::all(&home)?
        .into_iter()
        .filter(|(_, m)| {
            m.ext.dependencies.iter().any(|d| d.name == meta.name)
                || m.ext.parents.contains(&meta.name)
        })
        .map(|(m, _)| format!("{} {}", m.name, m.version_label()))
        .collect();
    if !dependents.is_empty() {
        if !args.force {
            bail!(
                "{} is needed by {}: remove those first, or pass --force",
                meta.name,
                dependents.join(", ")
            );
        }
        eprintln!(
            "warning: {} is needed by {}",
            meta.name,
            dependents.join(", ")
        );
    }
    let dir = home.skill_dir(&meta.name)?;
    // Out of sight first (one rename), then deleted: never half a skill in place.
    let parent = dir.parent().expect("skills/<name> has a parent");
    let trash = tempfile::Builder::new()
        .prefix(".removing-")
        .tempdir_in(parent)?;
    std::fs::rename(&dir, trash.path().join(&meta.name))
        .with_context(|| format!("could not remove {}", dir.display()))?;
    let mut lock = Lockfile::read(home.root())?;
    lock.skills.retain(|s| s.name != meta.name);
    lock.write(home.root())?;
    eprintln!("     Removed {} {}", meta.name, meta.version_label());
    Ok(exit::SUCCESS)
}
