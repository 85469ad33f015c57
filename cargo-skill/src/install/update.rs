//! `update`: move installed skills to newer versions from their source.
//! Patch releases go automatically; minor and major releases need
//! `--minor`/`--major` or a yes at the terminal; never a downgrade, never
//! past a bot's pin. Every update is verified again (a verified skill must
//! stay signed by a trusted key), and capabilities it newly declares need
//! approval as on install.

use anyhow::{Context, Result};
use semver::Version;
use skill_runtime::Home;

use crate::exit::Partial;
use crate::install::content::Content;
use crate::install::files::SkillFiles;
use crate::install::resolve::Catalog;
use crate::install::source;
use crate::install::source_catalog::{self, SourceCatalog};
use crate::install::{self, InstallOptions};
use skill_runtime::store::bots;
use skill_runtime::store::installed::{self, InstalledMeta, Verification};

pub struct UpdateOptions<'a> {
    pub minor: bool,
    pub major: bool,
    /// Approve newly declared capabilities without asking.
    pub yes: bool,
    /// Say what would change; change nothing.
    pub dry_run: bool,
    pub offline: bool,
    pub quiet: bool,
    pub compiler: &'a crate::install::compile::Compiler,
    /// Scan rules whose findings the operator accepts (`--allow`).
    pub allow: &'a [String],
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
    /// Updated (or, on a dry run, would be); versions as labels
    /// (`v1.2.0`, `unversioned (content …)`), with the files that change.
    Updated {
        name: String,
        from: String,
        to: String,
        changes: Vec<String>,
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
            return Err(skill_runtime::StoreError::NotInstalled { name: name.clone() }.into());
        }
    }
    let mut outcomes = Vec::new();
    let mut catalogs: std::collections::BTreeMap<String, SourceCatalog> = Default::default();
    for (meta, _) in installed
        .iter()
        .filter(|(m, _)| names.is_empty() || names.contains(&m.name))
    {
        // What was updated before an error makes that error a partial failure.
        let updated: Vec<String> = outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::Updated { name, to, .. } if !options.dry_run => {
                    Some(format!("updated {name} to {to}"))
                }
                _ => None,
            })
            .collect();
        // Skills published together share one fetch of their source.
        let catalog = match catalogs.entry(meta.source.clone()) {
            std::collections::btree_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::btree_map::Entry::Vacant(entry) => {
                let fetched = source::parse(&meta.source).and_then(|spec| {
                    source::fetch(&spec, &home.cache_dir(), options.offline, options.quiet)
                });
                entry.insert(SourceCatalog::new(
                    fetched.map_err(|e| Partial::after(&updated, e))?,
                ))
            }
        };
        let outcome = match &meta.version {
            Some(version) => version
                .parse()
                .with_context(|| format!("{}: the installed version `{version}`", meta.name))
                .and_then(|current| update_versioned(home, meta, current, catalog, options)),
            None => update_unversioned(home, meta, catalog, options),
        };
        outcomes.extend(outcome.map_err(|e| Partial::after(&updated, e))?);
    }
    Ok(outcomes)
}

/// A released skill: to the newest version the policy and the bots' pins allow.
fn update_versioned(
    home: &Home,
    meta: &InstalledMeta,
    current: Version,
    catalog: &mut SourceCatalog,
    options: &UpdateOptions<'_>,
) -> Result<Vec<Outcome>> {
    let mut outcomes = Vec::new();
    let pins = bots::pins(home, &meta.name)?;
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
            version: current.to_string(),
            needs: Step::between(&current, newest).flag(),
            available: newest.clone(),
        });
    }
    let Some(target) = target else {
        if held.is_none() {
            outcomes.push(Outcome::UpToDate {
                name: meta.name.clone(),
                version: meta.version_label(),
            });
        }
        return Ok(outcomes);
    };
    let changes = reinstall(home, meta, catalog, &target, None, options)?;
    outcomes.push(Outcome::Updated {
        name: meta.name.clone(),
        from: meta.version_label(),
        to: format!("v{target}"),
        changes,
    });
    Ok(outcomes)
}

/// An unversioned skill follows its source's ref: it moves when the
/// content there differs from what was installed (or when the source
/// starts versioning it).
fn update_unversioned(
    home: &Home,
    meta: &InstalledMeta,
    catalog: &mut SourceCatalog,
    options: &UpdateOptions<'_>,
) -> Result<Vec<Outcome>> {
    let Some(at_head) = catalog.head().iter().find(|m| m.name == meta.name) else {
        anyhow::bail!(
            "{} is no longer in {}: `cargo skill remove {}` removes it, or install it from where it moved",
            meta.name,
            meta.source,
            meta.name
        );
    };
    let target = source_catalog::version_of(at_head);
    let content = Content::of_source(&SkillFiles::read(
        &at_head.dir,
        catalog.boundary(),
        &catalog.shown(&at_head.dir),
    )?)?;
    let digest = content.digest();
    if at_head.ext.version.is_none() && meta.content_sha256.as_deref() == Some(digest.as_str()) {
        return Ok(vec![Outcome::UpToDate {
            name: meta.name.clone(),
            version: meta.version_label(),
        }]);
    }
    let to = installed::version_label(
        at_head
            .ext
            .version
            .as_ref()
            .map(ToString::to_string)
            .as_deref(),
        Some(&digest),
    );
    let changes = reinstall(home, meta, catalog, &target, Some(content), options)?;
    Ok(vec![Outcome::Updated {
        name: meta.name.clone(),
        from: meta.version_label(),
        to,
        changes,
    }])
}

/// Installs `target` of `meta`'s skill from `catalog` as `install` would,
/// unless this is a dry run; returns the files that change. `content` is
/// the target's, when the caller has already read it.
fn reinstall(
    home: &Home,
    meta: &InstalledMeta,
    catalog: &mut SourceCatalog,
    target: &Version,
    content: Option<Content>,
    options: &UpdateOptions<'_>,
) -> Result<Vec<String>> {
    let content = match content {
        Some(content) => content,
        None => {
            let located = catalog.locate(&meta.name, target)?;
            let shown = catalog.shown(&located.manifest.dir);
            Content::of_source(&SkillFiles::read(
                &located.manifest.dir,
                &located.boundary,
                &shown,
            )?)?
        }
    };
    let changes = Content::of_installed(&home.skill_dir(&meta.name)?)?.changes_to(&content);
    if options.dry_run {
        return Ok(changes);
    }
    let only = [meta.name.clone()];
    let exact: semver::VersionReq = format!("={target}")
        .parse()
        .expect("an exact requirement parses");
    let install_options = InstallOptions {
        skills: &only,
        version: Some(&exact),
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
        allow: options.allow,
        // The locked source is the only one an update reads.
        replace: false,
    };
    let report = install::install_from(home, catalog, None, &install_options)?;
    if !report.refused.is_empty() {
        anyhow::bail!(
            "{} was not updated:\n{}{}",
            meta.name,
            report
                .refused
                .iter()
                .map(|r| r.render())
                .collect::<String>(),
            crate::install::refusal::listing(&report.refused)
        );
    }
    Ok(changes)
}
