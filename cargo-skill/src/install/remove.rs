//! Removing skills undoes installing them: the folder in the home, its
//! `skills.lock` entry and every bot's settings for it; in the project, the
//! `.agents/skills/<name>` copy, the agents' links to it and its
//! `skills-lock.json` entry, and the folders `--agents` created that are
//! left empty. Nothing an installer did not write is touched.

use std::path::Path;

use anyhow::{Context, Result, bail};
use skill_runtime::Home;
use skill_runtime::store::bots::BotSkills;
use skill_runtime::store::installed::{self, InstalledMeta, Lockfile};

use crate::install::agents::{self, Agent};

pub struct RemoveOptions<'a> {
    pub names: &'a [String],
    /// Remove it even though installed skills depend on it.
    pub force: bool,
    /// Only these agents' places in the project; the home keeps the skill.
    pub agents: &'a [Agent],
    pub project: &'a Path,
}

/// What was removed of one skill.
#[derive(Debug)]
pub struct Removed {
    pub name: String,
    /// The installed version's label, when it was installed in the home.
    pub version: Option<String>,
    /// Paths removed from the project, relative to it.
    pub project: Vec<String>,
}

/// Removes `options.names`. Every name is checked before anything changes:
/// it must be installed in the home or placed in the project, and no other
/// installed skill may need it (unless `force`).
pub fn remove(home: &Home, options: &RemoveOptions<'_>) -> Result<(Vec<Removed>, Vec<String>)> {
    let mut targets = Vec::new();
    for name in options.names {
        skill_runtime::manifest::skill_name::check(name)?;
        let meta = match installed::installed_dir(home, name) {
            Some(dir) if options.agents.is_empty() => Some(InstalledMeta::read(&dir)?),
            _ => None,
        };
        let placed = agents::placed(options.project, name)?;
        if meta.is_none() && !placed {
            bail!(
                "`{name}` is not installed{}: `cargo skill list` shows what is; nothing was removed",
                if options.agents.is_empty() {
                    " here or in this project"
                } else {
                    " in this project for those agents"
                }
            );
        }
        targets.push((name.clone(), meta));
    }
    let warnings = dependents(home, options)?;
    let mut removed = Vec::new();
    let in_home: Vec<String> = targets
        .iter()
        .filter(|(_, m)| m.is_some())
        .map(|(n, _)| n.clone())
        .collect();
    if !in_home.is_empty() {
        from_home(home, &in_home)?;
    }
    for (name, meta) in targets {
        let project = agents::unplace(options.project, &name, options.agents)?;
        removed.push(Removed {
            name,
            version: meta.map(|m| m.version_label()),
            project,
        });
    }
    Ok((removed, warnings))
}

/// Installed skills (other than those removed) that depend on or inherit
/// from a removed one: refused, or with `force` warned about.
fn dependents(home: &Home, options: &RemoveOptions<'_>) -> Result<Vec<String>> {
    if !options.agents.is_empty() {
        return Ok(Vec::new());
    }
    let gone = |n: &String| options.names.contains(n);
    let mut needers: std::collections::BTreeMap<&String, Vec<String>> = Default::default();
    let all = installed::all(home)?;
    for (meta, manifest) in &all {
        if gone(&meta.name) {
            continue;
        }
        let needs = manifest
            .ext
            .dependencies
            .iter()
            .map(|d| &d.name)
            .chain(&manifest.ext.parents);
        for needed in needs.filter(|n| gone(n)) {
            let by = format!("{} {}", meta.name, meta.version_label());
            let list = needers.entry(needed).or_default();
            if !list.contains(&by) {
                list.push(by);
            }
        }
    }
    let found: Vec<String> = needers
        .into_iter()
        .map(|(needed, by)| format!("{needed} is needed by {}", by.join(", ")))
        .collect();
    if !found.is_empty() && !options.force {
        bail!(
            "{}: remove those first, or pass --force; nothing was removed",
            found.join("; ")
        );
    }
    Ok(found)
}

/// The folders out of place (one rename each), the lock rewritten, then
/// every bot's settings for them dropped. A kill in between leaves the
/// journal to finish the lock; settings for an absent skill are inert.
fn from_home(home: &Home, names: &[String]) -> Result<()> {
    let change = installed::journal::begin(home, names)?;
    let trash = tempfile::Builder::new()
        .prefix(".removing-")
        .tempdir_in(home.skills_root())?;
    for name in names {
        let dir = home.skill_dir(name)?;
        std::fs::rename(&dir, trash.path().join(name))
            .with_context(|| format!("could not remove {}", dir.display()))?;
    }
    // The lock as read already leaves the pending, now absent, skills out.
    Lockfile::read(home.root())?.write(home.root())?;
    change.finish()?;
    for bot in bots(home) {
        let mut settings = BotSkills::read(home, &bot)?;
        let before = settings.skills.len();
        settings.skills.retain(|name, _| !names.contains(name));
        if settings.skills.len() != before {
            settings.write(home, &bot)?;
        }
    }
    Ok(())
}

fn bots(home: &Home) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(home.root().join("bots")) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}
