//! Installed skills, as `cargo skill install` leaves them and bots read
//! them: `skills/<name>/` with `.boternity-meta.toml`, and the home
//! folder's `skills.lock`; both written atomically, both plain TOML.

pub mod journal;
mod lock;
mod meta;

use std::path::{Path, PathBuf};

pub use lock::{LOCK_FILE, Locked, Lockfile};
pub use meta::{InstalledMeta, META_FILE, Verification, version_label};

use crate::manifest::SkillManifest;
use crate::store::error::{Repair, Result, StoreError};
use crate::store::home::Home;

/// Folders of a skill that are never signed, published or installed:
/// build leftovers and tool folders.
pub const NOT_SHIPPED: [&str; 3] = ["target", ".git", "node_modules"];

/// The folder of the installed skill `name`, if there is one: `name` must
/// be a valid skill name (never a path) with `.boternity-meta.toml` in its folder.
pub fn installed_dir(home: &Home, name: &str) -> Option<PathBuf> {
    let dir = home.skill_dir(name).ok()?;
    dir.join(META_FILE).is_file().then_some(dir)
}

/// The metadata of the installed skill `name`, or [`StoreError::NotInstalled`].
pub fn read_installed(home: &Home, name: &str) -> Result<InstalledMeta> {
    let Some(dir) = installed_dir(home, name) else {
        return Err(StoreError::NotInstalled {
            name: name.to_string(),
        });
    };
    InstalledMeta::read(&dir)
}

/// Rewrites an installed skill's metadata and its grants in the lock
/// (each atomically, a crash between them recovered), after `grant` or
/// `revoke`. Call it under the home's write lock.
pub fn save_grants(home: &Home, meta: &InstalledMeta) -> Result<()> {
    let change = journal::begin(home, std::slice::from_ref(&meta.name))?;
    meta.write(&home.skill_dir(&meta.name)?)?;
    // The lock as read already carries the pending skill's new grants.
    Lockfile::read(home.root())?.write(home.root())?;
    change.finish()
}

/// The capability a grant or declaration names: `http-get` for both
/// `http-get` and `http-get:api.example.com`.
pub fn capability_name(grant: &str) -> &str {
    grant.split(':').next().unwrap_or(grant)
}

/// The host folder a grant or declaration reaches: `read-file:/srv/cache`
/// (from `skill.toml`'s filesystem paths) gives `/srv/cache`; a scope inside
/// the data folder, or another capability, gives none.
pub fn host_folder(grant: &str) -> Option<&str> {
    grant
        .split_once(':')
        .filter(|(cap, scope)| matches!(*cap, "read-file" | "write-file") && scope.starts_with('/'))
        .map(|(_, scope)| scope)
}

/// The installed skills' folders by name, sorted: entries of `skills/`
/// whose name is a valid skill name and that hold `.boternity-meta.toml`.
pub fn dirs(home: &Home) -> Result<Vec<(String, PathBuf)>> {
    let entries = match std::fs::read_dir(home.skills_root()) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::io("read", &home.skills_root(), e)),
    };
    let mut out: Vec<(String, PathBuf)> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let dir = installed_dir(home, &name)?;
            Some((name, dir))
        })
        .collect();
    out.sort();
    Ok(out)
}

/// One installed skill's metadata and manifest; an error says to reinstall.
pub fn read_with_manifest(dir: &Path) -> Result<(InstalledMeta, SkillManifest)> {
    let meta = InstalledMeta::read(dir)?;
    let path = crate::manifest::find_manifest(dir).ok_or_else(|| {
        StoreError::malformed(
            dir.display().to_string(),
            "it has no SKILL.md",
            Repair::Reinstall,
        )
    })?;
    let manifest = crate::manifest::parse_file(&path, crate::manifest::Mode::Lenient)
        .manifest
        .ok_or_else(|| {
            StoreError::malformed(
                path.display().to_string(),
                "it does not parse",
                Repair::Reinstall,
            )
        })?;
    Ok((meta, manifest))
}

/// Every installed skill with its manifest, sorted by name; a folder whose
/// metadata or SKILL.md does not read is an error naming it.
pub fn all(home: &Home) -> Result<Vec<(InstalledMeta, SkillManifest)>> {
    dirs(home)?
        .iter()
        .map(|(_, dir)| read_with_manifest(dir))
        .collect()
}
