//! Installing skills: fetch the source, pick the skills, verify their
//! signatures, get the operator's approval of what they may do, compile
//! them, and swap them into `$CARGO_SKILL_HOME/skills/<name>/` atomically.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use skill_runtime::manifest::{self, Mode, SkillManifest};
use skill_runtime::{Home, Runtime, TrustTier, discover};

use crate::fetch_source::{self, SourceSpec};
use crate::installed::{InstalledMeta, Locked, Lockfile, META_FILE, Verification};
use crate::keys;
use crate::signing::{self, SIGNATURE, SUMS, VerifyError};

/// Set by tests to stop an install between staging and swapping it in,
/// as a crash would.
pub const FAILPOINT_ENV: &str = "CARGO_SKILL_TEST_FAILPOINT";

pub struct InstallOptions<'a> {
    /// Only these skills (by name); empty installs every skill found.
    pub skills: &'a [String],
    pub version: Option<semver::VersionReq>,
    /// Approve the capabilities without asking.
    pub yes: bool,
    pub trust_tier: Option<TrustTier>,
    pub require_signature: bool,
    /// Install exactly what `skills.lock` records for this source, or fail.
    pub locked: bool,
    pub quiet: bool,
}

/// Installs the skills `spec` names; returns what was installed.
pub fn install(
    home: &Home,
    spec: &SourceSpec,
    options: &InstallOptions<'_>,
    runtime: &Runtime,
) -> Result<Vec<InstalledMeta>> {
    let mut lock = Lockfile::read(home.root())?;
    let locked_commit = lock
        .skills
        .iter()
        .find(|l| l.source == spec.locator())
        .and_then(|l| l.commit.clone());
    let spec = match (&locked_commit, options.locked) {
        (Some(commit), true) => spec.at(commit),
        _ => spec.clone(),
    };
    let fetched = fetch_source::fetch(&spec, &home.cache_dir(), options.quiet)?;
    let found = skills_in(&fetched.dir);
    if found.is_empty() {
        bail!(
            "no skill in {}: expected SKILL.md files (at the root, or under skills/)",
            fetched.source
        );
    }
    let wanted: Vec<&String> = options.skills.iter().chain(spec.skill.as_ref()).collect();
    let names: Vec<&str> = found.iter().map(|m| m.name.as_str()).collect();
    for name in &wanted {
        if !names.contains(&name.as_str()) {
            bail!(
                "no skill named `{name}` in {}; found: {}",
                fetched.source,
                names.join(", ")
            );
        }
    }
    let selected: Vec<&SkillManifest> = found
        .iter()
        .filter(|m| wanted.is_empty() || wanted.iter().any(|w| **w == m.name))
        .collect();
    let trusted = keys::load_trusted(&home.trusted_keys_file())?;
    if options.locked {
        check_locked(&lock, &selected, &fetched.source)?;
    }
    let mut installed = Vec::new();
    for manifest in selected {
        let version = manifest.ext.version.clone().with_context(|| {
            format!(
                "{} has no metadata.version: it cannot be installed",
                manifest.name
            )
        })?;
        if let Some(req) = &options.version
            && !req.matches(&version)
        {
            bail!(
                "{} v{version} does not match the requested version {req}",
                manifest.name
            );
        }
        let (verification, signer, sums) =
            verify(manifest, &version.to_string(), &trusted, options)?;
        let tier = options.trust_tier.unwrap_or(match verification {
            Verification::Verified => TrustTier::Verified,
            Verification::Untrusted => TrustTier::Untrusted,
        });
        let grants: Vec<String> = manifest
            .ext
            .capabilities
            .iter()
            .map(ToString::to_string)
            .collect();
        approve(manifest, &grants, verification, options.yes)?;
        let wasm = manifest.wasm_path();
        if wasm.is_file() {
            let bytes = std::fs::read(&wasm)?;
            runtime.load(&bytes, tier).with_context(|| {
                format!(
                    "{}: the component does not load; nothing was installed",
                    manifest.name
                )
            })?;
        }
        let meta = InstalledMeta {
            name: manifest.name.clone(),
            version: version.to_string(),
            source: fetched.source.clone(),
            commit: fetched.commit.clone(),
            trust_tier: tier.as_str().to_string(),
            verification,
            signer: signer.clone(),
            sums_sha256: sums.clone(),
            installed_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now())
                .to_string(),
            grants: grants.clone(),
            secrets: manifest.ext.secrets.clone(),
        };
        place(home, &manifest.dir, &meta)?;
        lock.upsert(Locked {
            name: meta.name.clone(),
            version: meta.version.clone(),
            source: meta.source.clone(),
            commit: meta.commit.clone(),
            sums_sha256: sums,
            signer,
            grants,
            dependencies: manifest
                .ext
                .dependencies
                .iter()
                .map(|d| format!("{}@{}", d.name, d.req))
                .collect(),
        });
        lock.write(home.root())?;
        installed.push(meta);
    }
    Ok(installed)
}

/// `--locked`: every selected skill must be in the lock, from this source,
/// at the same version and with the same `skill.sums`.
fn check_locked(lock: &Lockfile, selected: &[&SkillManifest], source: &str) -> Result<()> {
    for manifest in selected {
        let Some(locked) = lock.get(&manifest.name) else {
            bail!(
                "--locked: {} is not in skills.lock; install it without --locked first",
                manifest.name
            );
        };
        let version = manifest
            .ext
            .version
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let sums = std::fs::read(manifest.dir.join(SUMS))
            .ok()
            .map(|s| signing::sha256_hex(&s));
        let differs = [
            (locked.source != source)
                .then(|| format!("source {} (locked {})", source, locked.source)),
            (locked.version != version)
                .then(|| format!("version {version} (locked {})", locked.version)),
            (locked.sums_sha256 != sums).then(|| "content (skill.sums differs)".to_string()),
        ];
        let differs: Vec<String> = differs.into_iter().flatten().collect();
        if !differs.is_empty() {
            bail!(
                "--locked: {} differs from skills.lock: {}",
                manifest.name,
                differs.join("; ")
            );
        }
    }
    Ok(())
}

fn skills_in(dir: &Path) -> Vec<SkillManifest> {
    discover::discover(dir)
        .into_iter()
        .filter_map(|found| match found {
            discover::Found::Manifest(path) => manifest::parse_file(&path, Mode::Lenient).manifest,
            discover::Found::OutsideTree { .. } => None,
        })
        .filter(|m| !m.name.is_empty())
        .collect()
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

/// Shows what the skill may do; asks on a terminal unless `--yes`.
fn approve(
    manifest: &SkillManifest,
    grants: &[String],
    verification: Verification,
    yes: bool,
) -> Result<()> {
    let caps = if grants.is_empty() {
        "none".to_string()
    } else {
        grants.join(", ")
    };
    let secrets = if manifest.ext.secrets.is_empty() {
        "none".to_string()
    } else {
        manifest.ext.secrets.join(", ")
    };
    eprintln!(
        "  {} v{} ({:?}): capabilities: {caps}; secrets: {secrets}",
        manifest.name,
        manifest
            .ext
            .version
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        verification
    );
    if yes {
        return Ok(());
    }
    if !crate::tty::interactive() {
        bail!(
            "approving {}'s capabilities needs a terminal: pass --yes to approve them non-interactively",
            manifest.name
        );
    }
    let answer = crate::tty::read_hidden_line("  approve? [y/N] ").unwrap_or_default();
    if !matches!(answer.trim(), "y" | "Y" | "yes") {
        bail!("not approved: {} was not installed", manifest.name);
    }
    Ok(())
}

/// Stages the skill next to its final place, then swaps it in with one
/// atomic rename (an exchange when an older version is there), so a crash
/// leaves the old version or the new one.
fn place(home: &Home, from: &Path, meta: &InstalledMeta) -> Result<()> {
    let target = home.skill_dir(&meta.name);
    let parent = target.parent().expect("skills/<name> has a parent");
    std::fs::create_dir_all(parent)?;
    let staging = tempfile::Builder::new()
        .prefix(".staging-")
        .tempdir_in(parent)?;
    let mut files = signing::skill_files(from)?;
    files.extend(
        [SUMS, SIGNATURE]
            .iter()
            .map(|f| f.to_string())
            .filter(|f| from.join(f).is_file()),
    );
    for file in &files {
        let dest = staging.path().join(file);
        std::fs::create_dir_all(dest.parent().expect("a file has a parent"))?;
        std::fs::copy(from.join(file), &dest).with_context(|| format!("copying {file}"))?;
    }
    std::fs::write(staging.path().join(META_FILE), meta.to_toml())?;
    std::fs::File::open(staging.path())?.sync_all()?;
    if std::env::var(FAILPOINT_ENV).as_deref() == Ok("install-before-swap") {
        eprintln!("failpoint: stopping before the swap");
        std::process::abort();
    }
    let staged: PathBuf = staging.keep();
    if target.exists() {
        exchange(&staged, &target)?;
        std::fs::remove_dir_all(&staged).ok();
    } else {
        std::fs::rename(&staged, &target)?;
    }
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
