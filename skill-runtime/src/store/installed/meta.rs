//! `.boternity-meta.toml`: what install recorded and the operator approved
//! for one installed skill.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::limits::sources::ApprovedResources;
use crate::store::error::{Repair, Result, StoreError};
use crate::store::toml_file::{parse, write_atomic};

pub const META_FILE: &str = ".boternity-meta.toml";

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
    /// sha256 over `sha256  path` lines of every installed file.
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
    /// Scan rules whose findings the operator accepted at install (`--allow`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_findings: Vec<String>,
    /// Granted host folders and their identity when approved (`device:inode`):
    /// a call beneath one that has been replaced since is denied.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pinned_folders: BTreeMap<String, String>,
    /// Limits the operator approved for this skill (`grant NAME fuel=…`).
    #[serde(default, skip_serializing_if = "ApprovedResources::is_empty")]
    pub resources: ApprovedResources,
}

impl InstalledMeta {
    pub fn read(skill_dir: &Path) -> Result<InstalledMeta> {
        let path = skill_dir.join(META_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| StoreError::io("read", &path, e))?;
        let meta: InstalledMeta = parse(&path, &text, Repair::Reinstall)?;
        crate::manifest::skill_name::check(&meta.name).map_err(|e| {
            StoreError::malformed(path.display().to_string(), e.to_string(), Repair::Reinstall)
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

    /// Pins every granted host folder not pinned yet that is a real folder
    /// now, and forgets pins of folders no longer granted; returns the
    /// folders pinned now. A folder not there yet is pinned on its first use.
    pub fn pin_host_folders(&mut self) -> Vec<String> {
        let granted: Vec<&str> = self
            .grants
            .iter()
            .filter_map(|g| super::host_folder(g))
            .collect();
        self.pinned_folders
            .retain(|folder, _| granted.contains(&folder.as_str()));
        let mut pinned = Vec::new();
        for folder in granted {
            if self.pinned_folders.contains_key(folder) {
                continue;
            }
            if let Ok(id) = crate::capabilities::files::pin_folder(Path::new(folder)) {
                self.pinned_folders
                    .insert(folder.to_string(), id.to_string());
                pinned.push(folder.to_string());
            }
        }
        pinned
    }

    /// The pinned folders as the runtime's policy takes them; a pin that
    /// does not read is left out (its folder is then checked for links only).
    pub fn pinned(&self) -> BTreeMap<PathBuf, crate::capabilities::files::FolderId> {
        self.pinned_folders
            .iter()
            .filter_map(|(folder, id)| Some((PathBuf::from(folder), id.parse().ok()?)))
            .collect()
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
