//! What an install leaves behind: `.boternity-meta.toml` in each installed
//! skill's folder, and the home folder's `skills.lock`; both written
//! atomically, both plain TOML a bot can read.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use skill_runtime::manifest::SkillManifest;

pub const META_FILE: &str = ".boternity-meta.toml";
pub const LOCK_FILE: &str = "skills.lock";

/// The folder of the installed skill `name`, if there is one: `name` must
/// be a valid skill name (never a path) with `.boternity-meta.toml` in its folder.
pub fn installed_dir(home: &skill_runtime::Home, name: &str) -> Option<PathBuf> {
    let dir = home.skill_dir(name).ok()?;
    dir.join(META_FILE).is_file().then_some(dir)
}

/// The metadata of the installed skill `name`, or an error saying how to
/// see what is installed.
pub fn read_installed(home: &skill_runtime::Home, name: &str) -> Result<InstalledMeta> {
    let Some(dir) = installed_dir(home, name) else {
        anyhow::bail!("`{name}` is not installed: `cargo skill list` shows what is");
    };
    InstalledMeta::read(&dir)
}

/// The capability a grant or declaration names: `http-get` for both
/// `http-get` and `http-get:api.example.com`.
pub fn capability_name(grant: &str) -> &str {
    grant.split(':').next().unwrap_or(grant)
}

/// Every installed skill with its manifest, sorted by name; a folder whose
/// metadata or SKILL.md does not read is an error naming it.
pub fn all(home: &skill_runtime::Home) -> Result<Vec<(InstalledMeta, SkillManifest)>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(home.root().join("skills")) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e).context("could not read the installed skills"),
    };
    for entry in entries.flatten() {
        let dir = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') || !dir.join(META_FILE).is_file() {
            continue;
        }
        let meta = InstalledMeta::read(&dir)?;
        let path = skill_runtime::manifest::find_manifest(&dir).with_context(|| {
            format!(
                "{} has no SKILL.md: remove it and install it again",
                dir.display()
            )
        })?;
        let manifest =
            skill_runtime::manifest::parse_file(&path, skill_runtime::manifest::Mode::Lenient)
                .manifest
                .with_context(|| {
                    format!(
                        "{} does not parse: remove it and install it again",
                        path.display()
                    )
                })?;
        out.push((meta, manifest));
    }
    out.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    Ok(out)
}

/// How an installed skill was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verification {
    /// Signed by a key in the trusted-keys file, every file matching.
    Verified,
    /// Unsigned, or signed by a key nobody trusts here.
    Untrusted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct InstalledMeta {
    pub name: String,
    /// `metadata.version`; none for an unversioned skill, which is tracked
    /// by its source commit and `content-sha256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    pub trust_tier: String,
    pub verification: Verification,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sums_sha256: Option<String>,
    /// [`crate::content::Content::digest`] of what was installed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_sha256: Option<String>,
    pub installed_at: String,
    /// What the operator approved: `cap[:scope]`.
    #[serde(default)]
    pub grants: Vec<String>,
    /// Secret names approved with `get-secret`.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// What this version declares (after mixins), approved or not: an
    /// update asks again only for what is new here.
    #[serde(default)]
    pub declared: Vec<String>,
}

impl InstalledMeta {
    pub fn read(skill_dir: &Path) -> Result<InstalledMeta> {
        let path = skill_dir.join(META_FILE);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("could not read {}", path.display()))?;
        let meta: InstalledMeta = toml::from_str(&text).map_err(|e| toml_error(&path, &text, e))?;
        skill_runtime::skill_name::check(&meta.name).map_err(|e| {
            anyhow::anyhow!(
                "{}: {e}; remove the folder and install it again",
                path.display()
            )
        })?;
        Ok(meta)
    }

    /// `v1.2.0`, or `unversioned (content 1a2b3c4d)`, for messages.
    pub fn version_label(&self) -> String {
        version_label(self.version.as_deref(), self.content_sha256.as_deref())
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("the metadata serializes")
    }

    /// Rewrites the metadata of an installed skill, atomically.
    pub fn write(&self, skill_dir: &Path) -> Result<()> {
        write_atomic(&skill_dir.join(META_FILE), self.to_toml().as_bytes())
    }
}

/// `v1.2.0`, or `unversioned (content 1a2b3c4d)`.
pub fn version_label(version: Option<&str>, content: Option<&str>) -> String {
    match (version, content) {
        (Some(v), _) => format!("v{v}"),
        (None, Some(c)) => format!("unversioned (content {})", &c[..c.len().min(8)]),
        (None, None) => "unversioned".into(),
    }
}

/// One locked skill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Locked {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sums_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    #[serde(default)]
    pub grants: Vec<String>,
    #[serde(default)]
    pub dependencies: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lockfile {
    #[serde(default, rename = "skill")]
    pub skills: Vec<Locked>,
}

impl Lockfile {
    pub fn path(home: &Path) -> PathBuf {
        home.join(LOCK_FILE)
    }

    /// The lock in `home`; none yet is an empty lock.
    pub fn read(home: &Path) -> Result<Lockfile> {
        let path = Lockfile::path(home);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Lockfile::default()),
            Err(e) => return Err(e).with_context(|| format!("could not read {}", path.display())),
        };
        let lock: Lockfile = toml::from_str(&text).map_err(|e| toml_error(&path, &text, e))?;
        for locked in &lock.skills {
            skill_runtime::skill_name::check(&locked.name).map_err(|e| {
                anyhow::anyhow!(
                    "{}: {e}; fix the file or remove it (the skills it lists must then be installed again)",
                    path.display()
                )
            })?;
        }
        Ok(lock)
    }

    /// Adds or replaces one skill; entries stay sorted by name.
    pub fn upsert(&mut self, locked: Locked) {
        self.skills.retain(|s| s.name != locked.name);
        self.skills.push(locked);
        self.skills.sort_by(|a, b| a.name.cmp(&b.name));
    }

    pub fn get(&self, name: &str) -> Option<&Locked> {
        self.skills.iter().find(|s| s.name == name)
    }

    pub fn write(&self, home: &Path) -> Result<()> {
        let text = format!(
            "# Written by cargo skill install; do not edit by hand.\n{}",
            toml::to_string(self).expect("the lock serializes")
        );
        write_atomic(&Lockfile::path(home), text.as_bytes())
    }
}

/// `file:line:column: message` for a TOML file that does not parse.
pub(crate) fn toml_error(path: &Path, text: &str, e: toml::de::Error) -> anyhow::Error {
    let (line, column) = e.span().map_or((0, 0), |span| {
        let before = &text[..span.start.min(text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        (line, column)
    });
    anyhow::anyhow!(
        "{}:{line}:{column}: {}; fix the file or remove it (the skills it lists must then be installed again)",
        path.display(),
        e.message()
    )
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    skill_runtime::atomic_file::write(path, bytes, 0o644)
        .with_context(|| format!("could not write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_is_sorted_stable_and_errors_have_positions() {
        let dir = tempfile::tempdir().unwrap();
        let entry = |name: &str| Locked {
            name: name.into(),
            version: Some("1.0.0".into()),
            source: "file:///r.git".into(),
            commit: None,
            sums_sha256: None,
            content_sha256: None,
            signer: None,
            grants: vec!["read-env:TZ".into()],
            dependencies: vec![],
        };
        let mut lock = Lockfile::default();
        lock.upsert(entry("b"));
        lock.upsert(entry("a"));
        lock.write(dir.path()).unwrap();
        let first = std::fs::read_to_string(Lockfile::path(dir.path())).unwrap();
        let read = Lockfile::read(dir.path()).unwrap();
        assert_eq!(read, lock);
        read.write(dir.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(Lockfile::path(dir.path())).unwrap(),
            first
        );
        assert!(first.find("name = \"a\"").unwrap() < first.find("name = \"b\"").unwrap());

        std::fs::write(
            Lockfile::path(dir.path()),
            "[[skill]]\nname = \"a\"\nversion = 3\n",
        )
        .unwrap();
        let err = Lockfile::read(dir.path()).unwrap_err().to_string();
        assert!(err.contains("skills.lock:3:"), "{err}");

        // A name from the lock never becomes a path outside skills/.
        std::fs::write(
            Lockfile::path(dir.path()),
            "[[skill]]\nname = \"../../etc\"\nsource = \"file:///r.git\"\n",
        )
        .unwrap();
        let err = Lockfile::read(dir.path()).unwrap_err().to_string();
        assert!(err.contains("not a valid skill name"), "{err}");
    }
}
