//! Installing skills: fetch the source, pick the skills, verify their
//! signatures, get the operator's approval of what they may do, compile
//! them, and swap them into `$CARGO_SKILL_HOME/skills/<name>/` atomically.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use skill_runtime::manifest::SkillManifest;
use skill_runtime::{Home, TrustTier};

use crate::agents::{self, Agent};
use crate::catalog::{Located, SourceCatalog};
use crate::compile::Compiler;
use crate::fetch_source::{self, SourceSpec};
use crate::installed::{
    self, InstalledMeta, Locked, Lockfile, META_FILE, Verification, capability_name,
};
use crate::keys;
use crate::resolve;
use crate::signing::{self, SIGNATURE, SUMS, VerifyError};

/// Set by tests to stop an install between staging and swapping it in,
/// as a crash would.
pub const FAILPOINT_ENV: &str = "CARGO_SKILL_TEST_FAILPOINT";

pub struct InstallOptions<'a> {
    /// Only these skills (by name); empty installs every skill found.
    pub skills: &'a [String],
    pub version: Option<semver::VersionReq>,
    /// Approve the skills' capabilities without asking.
    pub yes: bool,
    /// Approve only these of the declared capabilities (`cap` or `cap:scope`).
    pub grants: &'a [String],
    pub trust_tier: Option<TrustTier>,
    pub require_signature: bool,
    /// Install exactly what `skills.lock` records for this source, or fail.
    pub locked: bool,
    /// Use the cached clone as it is.
    pub offline: bool,
    /// Also place the skills where these agents look, under `project`.
    pub agents: &'a [Agent],
    pub project: &'a Path,
    pub compiler: &'a Compiler,
    pub quiet: bool,
}

/// One skill of the plan, checked and ready to place.
struct Pending {
    located: Located,
    version: semver::Version,
    verification: Verification,
    signer: Option<String>,
    sums: Option<String>,
    tier: TrustTier,
    /// Approved: carried over from the installed version, plus what is approved now.
    grants: Vec<String>,
    /// Declared here and not by the installed version: needs approval.
    new: Vec<String>,
    new_secrets: Vec<String>,
}

/// Installs the skills `spec` names with their dependencies (dependencies
/// first); returns what was installed. Nothing is placed until every skill
/// of the plan is verified, approved and compiled.
pub fn install(
    home: &Home,
    spec: &SourceSpec,
    options: &InstallOptions<'_>,
) -> Result<Vec<InstalledMeta>> {
    let lock = Lockfile::read(home.root())?;
    let locked_commit = lock
        .skills
        .iter()
        .find(|l| l.source == spec.locator())
        .and_then(|l| l.commit.clone());
    let spec = match (&locked_commit, options.locked) {
        (Some(commit), true) => spec.at(commit),
        _ => spec.clone(),
    };
    let fetched = fetch_source::fetch(&spec, &home.cache_dir(), options.offline, options.quiet)?;
    let mut catalog = SourceCatalog::new(fetched);
    install_from(home, &mut catalog, spec.skill.as_ref(), options)
}

/// [`install`] from a source already fetched.
pub fn install_from(
    home: &Home,
    catalog: &mut SourceCatalog,
    named: Option<&String>,
    options: &InstallOptions<'_>,
) -> Result<Vec<InstalledMeta>> {
    let mut lock = Lockfile::read(home.root())?;
    let roots = roots(catalog, named, options)?;
    let installed = installed::all(home)?;
    let as_resolved: Vec<resolve::Installed> = installed
        .iter()
        .map(|(meta, manifest)| resolve::Installed {
            name: meta.name.clone(),
            release: crate::catalog::release_of(manifest),
        })
        .collect();
    let steps = resolve::resolve(&roots, &as_resolved, catalog)?;
    resolve::check_conflicts(&steps, &as_resolved)?;
    let trusted = keys::load_trusted(&home.trusted_keys_file())?;
    let mut plan = Vec::new();
    for step in steps.iter().filter(|s| !s.keep) {
        let located = catalog.locate(&step.name, &step.release.version)?;
        let previous = installed
            .iter()
            .map(|(m, _)| m)
            .find(|m| m.name == step.name);
        plan.push(check(located, previous, &trusted, options)?);
    }
    if options.locked {
        check_locked(&lock, &plan, catalog.source())?;
    }
    approve(&mut plan, options)?;
    for pending in &plan {
        let wasm = pending.located.manifest.wasm_path();
        if wasm.is_file() {
            options
                .compiler
                .compile(home, &wasm, pending.tier)
                .with_context(|| {
                    format!(
                        "{}: the component does not compile; nothing was installed",
                        pending.located.manifest.name
                    )
                })?;
        }
    }
    let mut done = Vec::new();
    for pending in plan {
        let manifest = &pending.located.manifest;
        let meta = InstalledMeta {
            name: manifest.name.clone(),
            version: pending.version.to_string(),
            source: catalog.source().to_string(),
            commit: pending.located.commit.clone(),
            trust_tier: pending.tier.as_str().to_string(),
            verification: pending.verification,
            signer: pending.signer.clone(),
            sums_sha256: pending.sums.clone(),
            installed_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now())
                .to_string(),
            grants: pending.grants.clone(),
            secrets: manifest.ext.secrets.clone(),
            declared: pending.located.capabilities.clone(),
        };
        place(home, &manifest.dir, &meta).with_context(|| {
            format!(
                "could not install {} v{} (is the disk full?); the installed version, if any, is untouched",
                meta.name, meta.version
            )
        })?;
        lock.upsert(Locked {
            name: meta.name.clone(),
            version: meta.version.clone(),
            source: meta.source.clone(),
            commit: meta.commit.clone(),
            sums_sha256: meta.sums_sha256.clone(),
            signer: meta.signer.clone(),
            grants: meta.grants.clone(),
            dependencies: manifest
                .ext
                .dependencies
                .iter()
                .map(|d| format!("{}@{}", d.name, d.req))
                .collect(),
        });
        lock.write(home.root())?;
        if !options.agents.is_empty() {
            agents::place(
                options.project,
                options.agents,
                &home.skill_dir(&meta.name),
                &meta,
            )?;
        }
        done.push(meta);
    }
    Ok(done)
}

/// What the command line asks for: the named skills (or all) at the
/// fetched ref, at `--version` or exactly the version found there.
fn roots(
    catalog: &SourceCatalog,
    named: Option<&String>,
    options: &InstallOptions<'_>,
) -> Result<Vec<resolve::Request>> {
    let found = catalog.head();
    if found.is_empty() {
        bail!(
            "no skill in {}: expected SKILL.md files (at the root, or under skills/)",
            catalog.source()
        );
    }
    let wanted: Vec<&String> = options.skills.iter().chain(named).collect();
    let names: Vec<&str> = found.iter().map(|m| m.name.as_str()).collect();
    for name in &wanted {
        if !names.contains(&name.as_str()) {
            bail!(
                "no skill named `{name}` in {}; found: {}",
                catalog.source(),
                names.join(", ")
            );
        }
    }
    found
        .iter()
        .filter(|m| wanted.is_empty() || wanted.iter().any(|w| **w == m.name))
        .map(|m| {
            let version = m.ext.version.clone().with_context(|| {
                format!("{} has no metadata.version: it cannot be installed", m.name)
            })?;
            let req = match &options.version {
                Some(req) => req.clone(),
                None => format!("={version}")
                    .parse()
                    .expect("an exact requirement parses"),
            };
            Ok(resolve::Request {
                name: m.name.clone(),
                req,
            })
        })
        .collect()
}

/// Verifies one skill and works out what it may keep and what is new.
fn check(
    located: Located,
    previous: Option<&InstalledMeta>,
    trusted: &[minisign::PublicKey],
    options: &InstallOptions<'_>,
) -> Result<Pending> {
    let manifest = &located.manifest;
    let version = manifest
        .ext
        .version
        .clone()
        .expect("resolved skills have versions");
    let (verification, signer, sums) = verify(manifest, &version.to_string(), trusted, options)?;
    let tier = options.trust_tier.unwrap_or(match verification {
        Verification::Verified => TrustTier::Verified,
        Verification::Untrusted => TrustTier::Untrusted,
    });
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
        verification,
        signer,
        sums,
        tier,
        grants,
        new,
        new_secrets,
    })
}

/// `--grant WANTED` approves `declared`: the same `cap:scope`, or a bare
/// `cap` for every scope of it.
fn grant_covers(wanted: &str, declared: &str) -> bool {
    wanted == declared || capability_name(declared) == wanted
}

/// `--locked`: every skill of the plan must be in the lock, from this
/// source, at the same version and with the same `skill.sums`.
fn check_locked(lock: &Lockfile, plan: &[Pending], source: &str) -> Result<()> {
    for pending in plan {
        let name = &pending.located.manifest.name;
        let Some(locked) = lock.get(name) else {
            bail!("--locked: {name} is not in skills.lock; install it without --locked first");
        };
        let version = pending.version.to_string();
        let differs = [
            (locked.source != source)
                .then(|| format!("source {} (locked {})", source, locked.source)),
            (locked.version != version)
                .then(|| format!("version {version} (locked {})", locked.version)),
            (locked.sums_sha256 != pending.sums)
                .then(|| "content (skill.sums differs)".to_string()),
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

/// Verified by a trusted key, or untrusted (said so); tampering and bad
/// signatures always refuse.
fn verify(
    manifest: &SkillManifest,
    version: &str,
    trusted: &[minisign::PublicKey],
    options: &InstallOptions<'_>,
) -> Result<(Verification, Option<String>, Option<String>)> {
    let sums = std::fs::read(manifest.dir.join(SUMS))
        .ok()
        .map(|s| signing::sha256_hex(&s));
    let name = &manifest.name;
    let untrusted = |why: String| -> Result<(Verification, Option<String>, Option<String>)> {
        if options.require_signature {
            bail!("{name}: {why}; --require-signature refuses it");
        }
        eprintln!("warning: {name}: {why}; it is installed as untrusted");
        Ok((Verification::Untrusted, None, sums.clone()))
    };
    match signing::verify(&manifest.dir, trusted, Some((name, version))) {
        Ok(v) if v.is_ok() => Ok((Verification::Verified, Some(v.key_id), sums)),
        Ok(v) => {
            let problems: Vec<String> = v
                .problems
                .iter()
                .map(|p| format!("{} {}", p.kind, p.detail))
                .collect();
            bail!(
                "{name} does not match its signature ({}): refusing to install tampered content",
                problems.join(", ")
            )
        }
        Err(VerifyError::Unsigned(_)) => untrusted("it is not signed".into()),
        Err(VerifyError::UnknownKey { key_id }) => untrusted(format!(
            "it is signed by key {key_id}, which is not in the trusted-keys file"
        )),
        Err(e) => bail!("{name}: {e}; refusing to install it"),
    }
}

/// Shows the plan and what each skill may do, then takes the approval:
/// `--grant` approves exactly those capabilities, `--yes` every one, else
/// a terminal prompt; with nothing new to approve, nothing is asked.
fn approve(plan: &mut [Pending], options: &InstallOptions<'_>) -> Result<()> {
    let none = |v: &[String]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    for p in plan.iter() {
        let m = &p.located.manifest;
        eprintln!(
            "  {} v{} ({:?}): capabilities: {}{}; secrets: {}",
            m.name,
            p.version,
            p.verification,
            none(&p.located.capabilities),
            if p.new.len() < p.located.capabilities.len() {
                format!(" (new: {})", none(&p.new))
            } else {
                String::new()
            },
            none(&m.ext.secrets)
        );
    }
    if !options.grants.is_empty() {
        for wanted in options.grants {
            let declared = plan.iter().any(|p| {
                p.located
                    .capabilities
                    .iter()
                    .any(|d| grant_covers(wanted, d))
            });
            if !declared {
                let all: Vec<String> = plan
                    .iter()
                    .flat_map(|p| p.located.capabilities.clone())
                    .collect();
                bail!(
                    "--grant {wanted}: no skill being installed declares it; they declare: {}",
                    none(&all)
                );
            }
        }
        for p in plan.iter_mut() {
            let chosen: Vec<String> = p
                .located
                .capabilities
                .iter()
                .filter(|d| options.grants.iter().any(|g| grant_covers(g, d)))
                .cloned()
                .collect();
            p.grants = chosen;
            p.grants.sort();
        }
        return Ok(());
    }
    let asks: Vec<&str> = plan
        .iter()
        .filter(|p| !p.new.is_empty() || !p.new_secrets.is_empty())
        .map(|p| p.located.manifest.name.as_str())
        .collect();
    if !asks.is_empty() && !options.yes {
        if !crate::tty::interactive() {
            bail!(
                "approving the capabilities of {} needs a terminal: pass --yes to approve them non-interactively, or --grant CAP for each one to approve",
                asks.join(", ")
            );
        }
        if !crate::tty::confirm("  approve? [y/N] ") {
            bail!("not approved: nothing was installed");
        }
    }
    for p in plan.iter_mut() {
        p.grants.extend(p.new.iter().cloned());
        p.grants.sort();
        p.grants.dedup();
    }
    Ok(())
}

/// Copies the skill's files and its metadata into place.
fn place(home: &Home, from: &Path, meta: &InstalledMeta) -> Result<()> {
    swap_in(&home.skill_dir(&meta.name), |staging| {
        copy_skill(from, staging)?;
        skill_runtime::atomic_file::write(
            &staging.join(META_FILE),
            meta.to_toml().as_bytes(),
            0o644,
        )?;
        Ok(())
    })
}

/// The skill's files (as signed), with `skill.sums` and its signature.
pub(crate) fn copy_skill(from: &Path, to: &Path) -> Result<()> {
    let mut files = signing::skill_files(from)?;
    files.extend(
        [SUMS, SIGNATURE]
            .iter()
            .map(|f| f.to_string())
            .filter(|f| from.join(f).is_file()),
    );
    for file in &files {
        let dest = to.join(file);
        std::fs::create_dir_all(dest.parent().expect("a file has a parent"))?;
        std::fs::copy(from.join(file), &dest).with_context(|| format!("copying {file}"))?;
        // On disk before the swap makes them visible: a crash must not
        // leave the new folder in place with empty files.
        std::fs::File::open(&dest)?.sync_all()?;
    }
    Ok(())
}

/// Fills a staging folder next to `target`, then swaps it in with one
/// atomic rename (an exchange when `target` exists), so a crash leaves the
/// old folder or the new one.
pub(crate) fn swap_in(target: &Path, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let parent = target.parent().expect("a target folder has a parent");
    std::fs::create_dir_all(parent)?;
    let staging = tempfile::Builder::new()
        .prefix(".staging-")
        .tempdir_in(parent)?;
    fill(staging.path())?;
    std::fs::File::open(staging.path())?.sync_all()?;
    if std::env::var(FAILPOINT_ENV).as_deref() == Ok("install-before-swap") {
        eprintln!("failpoint: stopping before the swap");
        std::process::abort();
    }
    let staged: PathBuf = staging.keep();
    if target.exists() {
        exchange(&staged, target)?;
        std::fs::remove_dir_all(&staged).ok();
    } else {
        std::fs::rename(&staged, target)?;
    }
    std::fs::File::open(parent)?.sync_all()?;
    Ok(())
}

/// Swaps two paths atomically (Linux `renameat2(RENAME_EXCHANGE)`).
fn exchange(a: &Path, b: &Path) -> Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes()).expect("paths have no NUL");
    let (a_c, b_c) = (c(a), c(b));
    // SAFETY: two valid C strings, relative to the current directory.
    let status = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a_c.as_ptr(),
            libc::AT_FDCWD,
            b_c.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if status != 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("could not swap {} into place", b.display()));
    }
    Ok(())
}
