//! `skills.lock`: every installed skill's source, commit, version and
//! content, sorted by name, so an install can be repeated exactly.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::manifest::SkillManifest;
use crate::store::error::{Repair, Result, StoreError};
use crate::store::installed::InstalledMeta;
use crate::store::toml_file::{parse, read_if_present, write_atomic};

pub const LOCK_FILE: &str = "skills.lock";

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
    /// Scan rules the operator allowed for this skill (`install --allow`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_findings: Vec<String>,
}

impl Locked {
    /// The entry for a skill installed with this metadata and manifest.
    pub fn of(meta: &InstalledMeta, manifest: &SkillManifest) -> Locked {
        Locked {
            name: meta.name.clone(),
            version: meta.version.clone(),
            source: meta.source.clone(),
            commit: meta.commit.clone(),
            sums_sha256: meta.sums_sha256.clone(),
            content_sha256: meta.content_sha256.clone(),
            signer: meta.signer.clone(),
            grants: meta.grants.clone(),
            dependencies: manifest
                .ext
                .dependencies
                .iter()
                .map(|d| format!("{}@{}", d.name, d.req))
                .collect(),
            allowed_findings: meta.allowed_findings.clone(),
        }
    }
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

    /// The lock file as written; `Lockfile::read` (in `journal.rs`) is the
    /// lock as every command sees it, pending changes applied.
    pub(crate) fn read_file(home: &Path) -> Result<Lockfile> {
        let path = Lockfile::path(home);
        let Some(text) = read_if_present(&path)? else {
            return Ok(Lockfile::default());
        };
        let lock: Lockfile = parse(&path, &text, Repair::FixOrReinstallListed)?;
        for locked in &lock.skills {
            crate::manifest::skill_name::check(&locked.name).map_err(|e| {
                StoreError::malformed(
                    path.display().to_string(),
                    e.to_string(),
                    Repair::FixOrReinstallListed,
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
            allowed_findings: vec![],
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
