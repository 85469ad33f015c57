//! Where secret values come from: `SKILL_SECRET_<NAME>` environment
//! variables, then a 0600 file in the home folder managed by
//! `cargo skill secret`.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SecretStoreError {
    #[error("could not read the secret store {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the secret store {path} is readable by other users (mode {mode:o}): run `chmod 600 {path}`"
    )]
    Exposed { path: PathBuf, mode: u32 },
    #[error("the secret store {path} is not valid JSON ({source}): fix or remove it")]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("could not write the secret store {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "`{0}` is not a secret name: use letters, digits and underscores (it becomes SKILL_SECRET_{0})"
    )]
    BadName(String),
}

/// The file store; values are kept in a JSON object, the file is 0600.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretStore {
    path: PathBuf,
}

impl SecretStore {
    pub fn new(path: impl Into<PathBuf>) -> SecretStore {
        SecretStore { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// All stored secrets; an absent file is an empty store.
    pub fn load(&self) -> Result<BTreeMap<String, String>, SecretStoreError> {
        let read_error = |source| SecretStoreError::Read {
            path: self.path.clone(),
            source,
        };
        let meta = match std::fs::metadata(&self.path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(e) => return Err(read_error(e)),
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(SecretStoreError::Exposed {
                path: self.path.clone(),
                mode,
            });
        }
        let text = std::fs::read_to_string(&self.path).map_err(read_error)?;
        serde_json::from_str(&text).map_err(|source| SecretStoreError::Corrupt {
            path: self.path.clone(),
            source,
        })
    }

    pub fn get(&self, name: &str) -> Result<Option<String>, SecretStoreError> {
        Ok(self.load()?.remove(name))
    }

    pub fn set(&self, name: &str, value: &str) -> Result<(), SecretStoreError> {
        check_name(name)?;
        let mut all = self.load()?;
        all.insert(name.to_string(), value.to_string());
        self.save(&all)
    }

    /// Returns whether the secret existed.
    pub fn remove(&self, name: &str) -> Result<bool, SecretStoreError> {
        let mut all = self.load()?;
        let existed = all.remove(name).is_some();
        if existed {
            self.save(&all)?;
        }
        Ok(existed)
    }

    /// Atomic: the new file is written 0600 beside the old one, then renamed
    /// over it.
    fn save(&self, all: &BTreeMap<String, String>) -> Result<(), SecretStoreError> {
        let write_error = |source| SecretStoreError::Write {
            path: self.path.clone(),
            source,
        };
        let json = serde_json::to_vec_pretty(all).expect("strings serialize");
        crate::atomic_file::write(&self.path, &json, 0o600).map_err(write_error)?;
        Ok(())
    }
}

pub fn check_name(name: &str) -> Result<(), SecretStoreError> {
    let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(SecretStoreError::BadName(name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_private_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let store = SecretStore::new(dir.path().join("secrets.json"));
        assert!(store.load().unwrap().is_empty());
        store.set("API_KEY", "s3cret").unwrap();
        store.set("OTHER", "x").unwrap();
        assert_eq!(store.get("API_KEY").unwrap().as_deref(), Some("s3cret"));
        let mode = std::fs::metadata(store.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(store.remove("API_KEY").unwrap());
        assert!(!store.remove("API_KEY").unwrap());
        assert_eq!(store.load().unwrap().len(), 1);
        assert!(matches!(
            store.set("bad name", "x"),
            Err(SecretStoreError::BadName(_))
        ));
    }

    #[test]
    fn exposed_or_corrupt_stores_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.json");
        std::fs::write(&path, "{not json").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let err = SecretStore::new(&path).load().unwrap_err().to_string();
        assert!(err.contains("not valid JSON"), "{err}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = SecretStore::new(&path).load().unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
    }
}
