//! `update`: move installed skills to newer versions from their source.
//! Patch releases go automatically; minor and major releases need
//! `--minor`/`--major` or a yes at the terminal; never a downgrade, never
//! past a bot's pin. Every update is verified again (a verified skill must
//! stay signed by a trusted key), and capabilities it newly declares need
//! approval as on install.

use anyhow::Result;
use semver::Version;
use skill_runtime::Home;

use crate::bot_skills;
use crate::catalog::SourceCatalog;
use crate::fetch_source;
use crate::install::{self, InstallOptions};
use crate::installed::{self, Verification};
use crate::resolve::Catalog;

pub struct UpdateOptions<'a> {
    pub minor: bool,
    pub major: bool,
    /// Approve newly declared capabilities without asking.
    pub yes: bool,
    /// Say what would change; change nothing.
    pub dry_run: bool,
    pub offline: bool,
    pub quiet: bool,
    pub compiler: &'a crate::compile::Compiler,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    Patch,
    Minor,
    Major,
}

impl Step {
    fn between(from: &Version, to: &Version) -> Step {
        match (from.major == to.major, from.minor == to.minor) {
            (true, true) => Step::Patch,
            (true, false) => Step::Minor,
            _ => Step::Major,
        }
    }

    fn flag(self) -> &'static str {
        match self {
            Step::Patch => "",
            Step::Minor => "--minor",
            Step::Major => "--major",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    UpToDate {
        name: String,
        version: String,
    },
    /// Updated (or, on a dry run, would be).
    Updated {
        name: String,
        from: String,
        to: String,
    },
    /// A newer release exists that the policy does not take on its own.
    Held {
        name: String,
        version: String,
        available: Version,
        needs: &'static str,
    },
}

/// Updates the installed skills `names` (all when empty).
pub fn update(home: &Home, names: &[String], options: &UpdateOptions<'_>) -> Result<Vec<Outcome>> {
    let installed = installed::all(home)?;
    for name in names {
        if !installed.iter().any(|(m, _)| m.name == *name) {
            anyhow::bail!("`{name}` is not installed: `cargo skill list` shows what is");
        }
    }
    let mut outcomes = Vec::new();
    let mut catalogs: std::collections::BTreeMap<String, SourceCatalog> = Default::default();
    for (meta, _) in installed
        .iter()
        .filter(|(m, _)| names.is_empty() || names.contains(&m.name))
    {
        let current: Version = meta.version.parse()?;
        // Skills published together share one fetch of their source.
        let catalog = match catalogs.entry(meta.source.clone()) {
            std::collections::btree_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::btree_map::Entry::Vacant(entry) => {
                let spec = fetch_source::parse(&meta.source);
                let fetched =
                    fetch_source::fetch(&spec, &home.cache_dir(), options.offline, options.quiet)?;
                entry.insert(SourceCatalog::new(fetched))
            }
        };
        let pins = bot_skills::pins(home, &meta.name)?;
        let newer: Vec<Version> = catalog
            .versions(&meta.name)?
            .into_iter()
            .filter(|v| *v > current && v.pre.is_empty())
            .filter(|v| pins.iter().all(|(_, pin)| pin.matches(v)))
            .collect();
        let allowed = |v: &Version| match Step::between(&current, v) {
            Step::Patch => true,
            Step::Minor => options.minor || options.major,
            Step::Major => options.major,
        };
        let newest = newer.iter().max().cloned();
        let mut target = newer.iter().filter(|v| allowed(v)).max().cloned();
        if let Some(newest) = &newest
            && target.as_ref() != Some(newest)
            && !options.dry_run
            && crate::tty::interactive()
        {
            let step = Step::between(&current, newest);
            let prompt = format!(
                "  update {} v{current} to v{newest} ({step:?})? [y/N] ",
                meta.name
            );
            if crate::tty::confirm(&prompt) {
                target = Some(newest.clone());
            }
        }
        let held = newest.filter(|n| target.as_ref() != Some(n));
        if let Some(newest) = &held {
            outcomes.push(Outcome::Held {
                name: meta.name.clone(),
                version: meta.version.clone(),
                needs: Step::between(&current, newest).flag(),
                available: newest.clone(),
            });
        }
        let Some(target) = target else {
            if held.is_none() {
                outcomes.push(Outcome::UpToDate {
                    name: meta.name.clone(),
                    version: meta.version.clone(),
                });
            }
            continue;
        };
        if !options.dry_run {
            let only = [meta.name.clone()];
            let install_options = InstallOptions {
                skills: &only,
                version: Some(
                    format!("={target}")
                        .parse()
                        .expect("an exact requirement parses"),
                ),
                yes: options.yes,
                grants: &[],
                trust_tier: None,
                // A verified skill stays verified: an update signed by nobody we trust is refused.
                require_signature: meta.verification == Verification::Verified,
                locked: false,
                offline: options.offline,
                agents: &[],
                project: home.root(),
                compiler: options.compiler,
                quiet: options.quiet,
            };
            install::install_from(home, catalog, None, &install_options)?;
        }
        outcomes.push(Outcome::Updated {
            name: meta.name.clone(),
            from: meta.version.clone(),
            to: target.to_string(),
        });
    }
    Ok(outcomes)
}
