//! `cargo skill remove NAME`: uninstall a skill, refused while another
//! installed skill depends on it or inherits from it.

use anyhow::{Context, Result, bail};
use clap::Args;
use skill_runtime::installed::{Lockfile, read_installed};

use crate::exit;
use crate::home;

#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// An installed skill
    pub name: String,
    /// Remove it even though installed skills depend on it
    #[arg(long)]
    pub force: bool,
}

pub fn exec(args: RemoveArgs) -> Result<u8> {
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
    let change = skill_runtime::installed::journal::begin(&home, std::slice::from_ref(&meta.name))?;
    // Out of sight first (one rename), then deleted: never half a skill in place.
    let parent = dir.parent().expect("skills/<name> has a parent");
    let trash = tempfile::Builder::new()
        .prefix(".removing-")
        .tempdir_in(parent)?;
    std::fs::rename(&dir, trash.path().join(&meta.name))
        .with_context(|| format!("could not remove {}", dir.display()))?;
    // The lock as read already leaves the pending, now absent, skill out.
    Lockfile::read(home.root())?.write(home.root())?;
    change.finish()?;
    eprintln!("     Removed {} {}", meta.name, meta.version_label());
    Ok(exit::SUCCESS)
}
