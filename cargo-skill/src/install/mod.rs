//! Installing skills: fetch the source, read its manifests with the
//! validator `validate` uses, pick the skills, verify their signatures, get
//! the operator's approval of what they may do, compile them, and swap them
//! into `$CARGO_SKILL_HOME/skills/<name>/` atomically.

pub mod agents;
mod approve;
pub mod compile;
pub mod content;
mod decide;
pub mod files;
pub mod place;
pub mod plan;
pub mod refusal;
mod relations;
pub mod remove;
pub mod resolve;
pub mod source;
pub mod source_catalog;
pub mod update;
mod verify;
pub mod well_known;

use std::collections::BTreeSet;

use anyhow::{Context, Result, bail};

use skill_runtime::manifest::SkillManifest;
use skill_runtime::validate::graph::SkillSet;
use skill_runtime::{Home, TrustTier};

use crate::exit::Partial;
use crate::install::content::Content;
use crate::install::decide::{component, gated, same_source, set_aside_dependents};
use crate::install::files::SkillFiles;
use crate::install::refusal::{Reason, Refused};
use crate::install::source::SourceSpec;
use crate::install::source_catalog::{Located, SourceCatalog};
use crate::signing::keys;
use skill_runtime::store::installed::{
    self, InstalledMeta, Locked, Lockfile, Verification, capability_name,
};

use crate::install::plan::Pending;
pub use crate::install::plan::{InstallOptions, InstallReport};

/// Installs the skills `spec` names with their dependencies (dependencies
/// first); returns what was installed and what was refused. Nothing is
/// placed until every skill of the plan is verified, approved and compiled.
pub fn install(
    home: &Home,
    spec: &SourceSpec,
    options: &InstallOptions<'_>,
) -> Result<InstallReport> {
    if options.locked {
        return install_locked(home, spec, options);
    }
    install_at(home, spec, options)
}

fn install_at(
    home: &Home,
    spec: &SourceSpec,
    options: &InstallOptions<'_>,
) -> Result<InstallReport> {
    let fetched = source::fetch(spec, &home.cache_dir(), options.offline, options.quiet)?;
    let mut catalog = SourceCatalog::new(fetched);
    install_from(home, &mut catalog, spec.skill.as_ref(), options)
}

/// `--locked`: each skill of this source from the commit the lock records
/// for it (skills updated one at a time sit at different commits).
fn install_locked(
    home: &Home,
    spec: &SourceSpec,
    options: &InstallOptions<'_>,
) -> Result<InstallReport> {
    let lock = Lockfile::read(home.root())?;
    let source = spec.locator();
    let wanted: Vec<&String> = options.skills.iter().chain(spec.skill.as_ref()).collect();
    let mut by_commit: std::collections::BTreeMap<Option<String>, Vec<String>> = Default::default();
    for locked in lock.skills.iter().filter(|l| l.source == source) {
        if wanted.is_empty() || wanted.contains(&&locked.name) {
            by_commit
                .entry(locked.commit.clone())
                .or_default()
                .push(locked.name.clone());
        }
    }
    if by_commit.is_empty() {
        // Nothing locked from here: the plan check names what is missing.
        return install_at(home, spec, options);
    }
    let mut report = InstallReport::default();
    for (commit, names) in by_commit {
        let at = match &commit {
            Some(commit) => spec.at(commit),
            None => spec.clone(),
        };
        let these = InstallOptions {
            skills: &names,
            ..*options
        };
        let at = SourceSpec { skill: None, ..at };
        let done = install_at(home, &at, &these)?;
        report.installed.extend(done.installed);
        report.refused.extend(done.refused);
    }
    Ok(report)
}

/// [`install`] from a source already fetched.
pub fn install_from(
    home: &Home,
    catalog: &mut SourceCatalog,
    named: Option<&String>,
    options: &InstallOptions<'_>,
) -> Result<InstallReport> {
    let mut lock = Lockfile::read(home.root())?;
    crate::scanning::gate::check_allowed(options.allow)?;
    let (roots, mut refused) = roots(catalog, named, options)?;
    for r in &mut refused {
        r.show_files(|path| catalog.shown(path));
    }
    for r in refused.iter_mut().filter(|r| !r.leads_out()) {
        // Every reason at once, so one fix is not followed by another refusal.
        let allowed =
            crate::scanning::gate::allowed_for(r.name.as_deref().unwrap_or(""), options.allow);
        let verdict = crate::scanning::gate::judge(
            &r.dir,
            Some(catalog.boundary()),
            &catalog.shown(&r.dir),
            &allowed,
        );
        if !verdict.blocking.is_empty() {
            r.reasons.push(Reason::Scan {
                findings: verdict.blocking,
                rules: verdict.rules,
            });
        }
    }
    let installed = installed::all(home)?;
    let as_resolved: Vec<resolve::Installed> = installed
        .iter()
        .map(|(meta, manifest)| resolve::Installed {
            name: meta.name.clone(),
            release: source_catalog::release_of(manifest),
        })
        .collect();
    let steps = resolve::resolve(&roots, &as_resolved, catalog)?;
    resolve::check_conflicts(&steps, &as_resolved)?;
    let trusted = keys::load_trusted(&home.trusted_keys_file())?;
    let mut plan = Vec::new();
    let mut runtime = None;
    for step in steps.iter().filter(|s| !s.keep) {
        let located = catalog.locate(&step.name, &step.release.version)?;
        let previous = installed
            .iter()
            .map(|(m, _)| m)
            .find(|m| m.name == step.name);
        if let Some(Err(swap)) =
            previous.map(|prev| same_source(&located, prev, catalog.source(), options))
        {
            refused.push(swap);
            continue;
        }
        let manifest = &located.manifest;
        let folder = manifest.dir.file_name().map(|f| f.to_string_lossy());
        if folder.as_deref().is_some_and(|f| f != manifest.name)
            && !catalog.is_checkout(&manifest.dir)
        {
            eprintln!(
                "warning: {} installs as `{}`, the name its SKILL.md gives",
                catalog.shown(&manifest.dir).display(),
                manifest.name
            );
        }
        let shown = catalog.shown(&located.manifest.dir);
        let read = SkillFiles::read(&located.manifest.dir, &located.boundary, &shown)
            .and_then(|files| Ok((Content::of_source(&files)?, files)));
        let (content, files) = match read {
            Ok(read) => read,
            Err(e) => {
                refused.push(Refused::of(
                    &located.manifest,
                    Reason::Files(format!("{e:#}")),
                ));
                continue;
            }
        };
        let excused = match gated(&located, &shown, previous, options) {
            Ok(excused) => excused,
            Err(flagged) => {
                refused.push(flagged);
                continue;
            }
        };
        let pending = check(
            located,
            (content, files),
            previous,
            &trusted,
            options,
            excused,
        )?;
        match component(home, &pending, options, &mut runtime) {
            Ok(()) => plan.push(pending),
            Err(mut failed) => {
                failed.show_files(|path| catalog.shown(path));
                refused.push(failed);
            }
        }
    }
    set_aside_dependents(&mut plan, &mut refused);
    if plan.is_empty() {
        return Ok(InstallReport {
            installed: Vec::new(),
            refused,
        });
    }
    crate::install::relations::check(
        &installed.iter().map(|(_, m)| m).collect::<Vec<_>>(),
        &plan.iter().map(|p| &p.located.manifest).collect::<Vec<_>>(),
    )?;
    if options.locked {
        check_locked(&lock, &plan, catalog.source())?;
    }
    warn_unsigned(&plan);
    for pending in &plan {
        if let Some(warning) = pending.tier.raised() {
            eprintln!("warning: {}: {warning}", pending.located.manifest.name);
        }
    }
    crate::install::approve::approve(&mut plan, options)?;
    let mut done: Vec<InstalledMeta> = Vec::new();
    let placed = |done: &[InstalledMeta]| -> Vec<String> {
        done.iter()
            .map(|m| format!("installed {} {}", m.name, m.version_label()))
            .collect()
    };
    let names: Vec<String> = plan
        .iter()
        .map(|p| p.located.manifest.name.clone())
        .collect();
    let change = installed::journal::begin(home, &names)?;
    for pending in plan {
        let manifest = &pending.located.manifest;
        // Folders approved before keep the identity they had then.
        let before = installed.iter().find(|(m, _)| m.name == manifest.name);
        let pinned_folders = before
            .map(|(m, _)| m.pinned_folders.clone())
            .unwrap_or_default();
        // Limits the operator approved stay approved across updates.
        let resources = before.map(|(m, _)| m.resources).unwrap_or_default();
        let mut meta = InstalledMeta {
            name: manifest.name.clone(),
            version: pending.version.as_ref().map(ToString::to_string),
            source: catalog.source().to_string(),
            commit: pending.located.commit.clone(),
            trust_tier: pending.tier.tier.as_str().to_string(),
            verification: pending.verification,
            signer: pending.signer.clone(),
            sums_sha256: pending.sums.clone(),
            content_sha256: Some(pending.content.digest()),
            installed_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now())
                .to_string(),
            grants: pending.grants.clone(),
            secrets: manifest.ext.secrets.clone(),
            declared: pending.located.capabilities.clone(),
            allowed_findings: pending.allowed_findings.clone(),
            pinned_folders,
            resources,
        };
        meta.pin_host_folders();
        crate::install::place::place(home, &pending.files, &pending.content, &meta)
            .with_context(|| {
                format!(
                    "could not install {} {} (is the disk full?); the installed version, if any, is untouched",
                    meta.name,
                    meta.version_label()
                )
            })
            .map_err(|e| Partial::after(&placed(&done), e))?;
        lock.upsert(Locked::of(&meta, manifest));
        done.push(meta);
        let meta = done.last().expect("just pushed");
        lock.write(home.root())
            .map_err(|e| Partial::after(&placed(&done), e.into()))?;
        if !options.agents.is_empty() {
            crate::install::agents::place(
                options.project,
                options.agents,
                &home.skill_dir(&meta.name)?,
                meta,
            )
            .map_err(|e| Partial::after(&placed(&done), e))?;
        }
    }
    change.finish()?;
    Ok(InstallReport {
        installed: done,
        refused,
    })
}

/// One line for every unsigned skill of the plan, not one each.
fn warn_unsigned(plan: &[Pending]) {
    let unsigned: Vec<&str> = plan
        .iter()
        .filter(|p| p.verification == Verification::Untrusted && p.sums.is_none())
        .map(|p| p.located.manifest.name.as_str())
        .collect();
    let (first, rest) = unsigned.split_at(unsigned.len().min(5));
    let more = match rest.len() {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    match unsigned.len() {
        0 => {}
        1 => eprintln!(
            "warning: 1 skill is not signed, so it installs as untrusted: {}",
            first[0]
        ),
        n => eprintln!(
            "warning: {n} skills are not signed, so they install as untrusted: {}{more}",
            first.join(", ")
        ),
    }
}

/// What the command line asks for: the named skills (or all) at the
/// fetched ref, at `--version` or exactly the version found there, with
/// the mixin parents they inherit from in the same source. Named skills
/// that cannot be installed refuse the command; when every skill is asked
/// for, those are set aside and returned, and the others go on.
fn roots(
    catalog: &SourceCatalog,
    named: Option<&String>,
    options: &InstallOptions<'_>,
) -> Result<(Vec<resolve::Request>, Vec<Refused>)> {
    let wanted: Vec<&String> = options.skills.iter().chain(named).collect();
    for name in &wanted {
        skill_runtime::manifest::skill_name::check(name)?;
    }
    let found = catalog.head();
    let refused: Vec<&Refused> = catalog
        .refused()
        .iter()
        .filter(|r| wanted.is_empty() || wanted.iter().any(|w| r.is(w)))
        .collect();
    if found.is_empty() || (!wanted.is_empty() && !refused.is_empty()) {
        if refused.is_empty() {
            bail!(
                "no skill in {}: expected SKILL.md files (at the root, or under skills/)",
                catalog.source()
            );
        }
        bail!(
            "cannot install from {}; nothing was installed:\n{}",
            catalog.source(),
            refused.iter().map(|r| r.render()).collect::<String>()
        );
    }
    // The first skill found under a name installs; later ones are refused.
    let mut unique: Vec<&SkillManifest> = Vec::new();
    let mut refused: Vec<Refused> = refused.into_iter().cloned().collect();
    for m in found {
        match unique.iter().find(|u| u.name == m.name) {
            Some(first) => refused.push(Refused::of(
                m,
                Reason::SameName(catalog.shown(&first.dir).display().to_string()),
            )),
            None => unique.push(m),
        }
    }
    let names: Vec<&str> = unique.iter().map(|m| m.name.as_str()).collect();
    for name in &wanted {
        if !names.contains(&name.as_str()) {
            bail!(
                "no skill named `{name}` in {}; found: {}",
                catalog.source(),
                names.join(", ")
            );
        }
    }
    let set = SkillSet::new(unique.clone());
    let mut chosen = BTreeSet::new();
    for skill in unique
        .iter()
        .filter(|m| wanted.is_empty() || wanted.iter().any(|w| **w == m.name))
    {
        chosen.insert(skill.name.as_str());
        chosen.extend(set.ancestors(skill).iter().map(|p| p.name.as_str()));
    }
    let mut requests = Vec::new();
    for name in chosen {
        let copy = unique
            .iter()
            .find(|m| m.name == name)
            .expect("chosen from these");
        let is_root = wanted.is_empty() || wanted.iter().any(|w| *w == name);
        let req = match (options.version, is_root) {
            (Some(req), true) => req.clone(),
            _ => format!("={}", source_catalog::version_of(copy))
                .parse()
                .expect("an exact requirement parses"),
        };
        requests.push(resolve::Request {
            name: name.to_string(),
            req,
        });
    }
    refused.retain(|r| wanted.is_empty() || wanted.iter().any(|w| r.is(w)));
    Ok((requests, refused))
}

/// Verifies one skill, reads what it ships, decides its tier, and works
/// out what it may keep and what is new.
fn check(
    located: Located,
    (content, files): (Content, SkillFiles),
    previous: Option<&InstalledMeta>,
    trusted: &[minisign::PublicKey],
    options: &InstallOptions<'_>,
    allowed_findings: Vec<String>,
) -> Result<Pending> {
    let manifest = &located.manifest;
    let version = manifest.ext.version.clone();
    let (verification, signer, sums) = crate::install::verify::verify(
        manifest,
        &source_catalog::version_of(manifest).to_string(),
        trusted,
        options.require_signature,
    )?;
    let earned = match verification {
        Verification::Verified => TrustTier::Verified,
        Verification::Untrusted => TrustTier::Untrusted,
    };
    let tier = TrustTier::choose(earned, manifest.ext.trust_tier, options.trust_tier);
    let declared = &located.capabilities;
    let (grants, new) = match previous {
        Some(prev) => {
            let carried = prev
                .grants
                .iter()
                .filter(|g| {
                    declared
                        .iter()
                        .any(|d| capability_name(d) == capability_name(g))
                })
                .cloned()
                .collect();
            let new = declared
                .iter()
                .filter(|d| !prev.declared.contains(d))
                .cloned()
                .collect();
            (carried, new)
        }
        None => (Vec::new(), declared.clone()),
    };
    let new_secrets = manifest
        .ext
        .secrets
        .iter()
        .filter(|s| !previous.is_some_and(|p| p.secrets.contains(s)))
        .cloned()
        .collect();
    Ok(Pending {
        located,
        version,
        content,
        files,
        verification,
        signer,
        sums,
        tier,
        grants,
        new,
        new_secrets,
        allowed_findings,
    })
}

/// `--locked`: every skill of the plan must be in the lock, from this
/// source, at the same version and with the same content.
fn check_locked(lock: &Lockfile, plan: &[Pending], source: &str) -> Result<()> {
    for pending in plan {
        let name = &pending.located.manifest.name;
        let Some(locked) = lock.get(name) else {
            bail!("--locked: {name} is not in skills.lock; install it without --locked first");
        };
        let version = pending.version.as_ref().map(ToString::to_string);
        let content = pending.content.digest();
        let label = |v: &Option<String>| v.as_deref().unwrap_or("none").to_string();
        let differs = [
            (locked.source != source)
                .then(|| format!("source {} (locked {})", source, locked.source)),
            (locked.version != version).then(|| {
                format!(
                    "version {} (locked {})",
                    label(&version),
                    label(&locked.version)
                )
            }),
            (locked.sums_sha256 != pending.sums)
                .then(|| "content (skill.sums differs)".to_string()),
            locked
                .content_sha256
                .as_ref()
                .filter(|c| **c != content)
                .map(|c| format!("content {content} (locked {c})")),
        ];
        let differs: Vec<String> = differs.into_iter().flatten().collect();
        if !differs.is_empty() {
            bail!(
                "--locked: {name} differs from skills.lock: {}",
                differs.join("; ")
            );
        }
    }
    Ok(())
}
