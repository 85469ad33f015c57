//! One registry's index as cached under `cache/registries/<name>.json`:
//! what search reads, and all it reads, so search works offline.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use minisign::PublicKey;
use serde::{Deserialize, Serialize};
use skill_runtime::Home;

use crate::registry::config::{Kind, Registry};
use crate::signing::{self, VerifyError};

/// A skill as a registry lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    pub name: String,
    pub description: String,
    pub version: Option<String>,
    /// `metadata.category`, else one assigned from keywords.
    pub category: Option<String>,
    /// Distinct words of the body, most frequent first (bounded), one
    /// space between: one string per skill keeps a big index quick to read.
    pub keywords: String,
    /// The folder inside the registry's repository.
    pub path: String,
    /// Digest of the skill's files (as `install` records it): the same
    /// skill in two registries has the same one. Empty when the registry
    /// does not serve the files (a skills directory).
    pub content: String,
    pub signature: Signature,
    /// The highest risk the scanner found, if any (`low`, `medium`, `high`).
    pub risk: Option<String>,
    /// What `install` takes, when not the registry's own source (a skills
    /// directory lists skills of many repositories).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Installs counted by the registry, where it counts them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installs: Option<u64>,
}

/// The signature as checked against the trusted keys when the index was built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Signature {
    Unsigned,
    /// Signed by a key in `trusted-keys`, every file as signed: installs
    /// as `verified`.
    Trusted {
        key_id: String,
    },
    /// Signed by a key this home does not trust: installs as `untrusted`.
    UnknownKey {
        key_id: String,
    },
    /// A signature that does not check: install refuses it.
    Invalid {
        why: String,
    },
    /// Listed without its files (a skills directory): `preview` checks it.
    NotChecked,
}

impl Signature {
    /// How the folder's signature checks against `trusted`.
    pub fn check(dir: &Path, trusted: &[PublicKey]) -> Signature {
        match signing::verify(dir, trusted, None) {
            Ok(check) if check.is_ok() => Signature::Trusted {
                key_id: check.key_id,
            },
            Ok(check) => Signature::Invalid {
                why: check
                    .problems
                    .first()
                    .map_or_else(String::new, |p| p.detail.clone()),
            },
            Err(VerifyError::Unsigned(_)) => Signature::Unsigned,
            Err(VerifyError::UnknownKey { key_id }) => Signature::UnknownKey { key_id },
            Err(e) => Signature::Invalid { why: e.to_string() },
        }
    }

    /// The tier `install` would give it (`unknown` before it is checked).
    pub fn tier(&self) -> &'static str {
        match self {
            Signature::Trusted { .. } => "verified",
            Signature::NotChecked => "unknown",
            _ => "untrusted",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryIndex {
    pub registry: String,
    pub kind: Kind,
    pub url: String,
    /// When it was fetched, in seconds since the Unix epoch.
    pub fetched_at: u64,
    /// The commit it was built from (git registries).
    pub commit: Option<String>,
    pub skills: Vec<Listing>,
}

impl RegistryIndex {
    pub fn new(registry: &Registry, commit: Option<String>, skills: Vec<Listing>) -> RegistryIndex {
        RegistryIndex {
            registry: registry.name.clone(),
            kind: registry.kind,
            url: registry.url.clone(),
            fetched_at: now(),
            commit,
            skills,
        }
    }

    /// How long ago it was fetched.
    pub fn age(&self) -> Duration {
        Duration::from_secs(now().saturating_sub(self.fetched_at))
    }

    /// What `install` takes for one of its skills.
    pub fn source_of(&self, listing: &Listing) -> String {
        match &listing.source {
            Some(source) => source.clone(),
            None => Registry {
                name: self.registry.clone(),
                kind: self.kind,
                url: self.url.clone(),
            }
            .source(),
        }
    }

    /// Whether it was built for this registry as now configured.
    pub fn is_for(&self, registry: &Registry) -> bool {
        self.registry == registry.name && self.kind == registry.kind && self.url == registry.url
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub fn cache_file(home: &Home, registry: &str) -> PathBuf {
    home.cache_dir()
        .join("registries")
        .join(format!("{registry}.json"))
}

/// The cached index of a registry, `None` when there is none yet.
pub fn read_cached(home: &Home, registry: &Registry) -> Result<Option<RegistryIndex>> {
    let path = cache_file(home, &registry.name);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("could not read {}", path.display())),
    };
    let index: RegistryIndex = serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "the cached index {} is damaged: the next refresh replaces it",
            path.display()
        )
    })?;
    // A registry re-added under an old name never shows the old listings.
    Ok(index.is_for(registry).then_some(index))
}

pub fn write_cached(home: &Home, index: &RegistryIndex) -> Result<()> {
    let path = cache_file(home, &index.registry);
    let json = serde_json::to_vec(index).expect("an index serializes");
    skill_runtime::atomic_file::write(&path, &json, 0o644)
        .with_context(|| format!("could not write {}", path.display()))
}

/// `3 minutes`, `2 hours`, `5 days`: how old a cache is, for people.
pub fn describe_age(age: Duration) -> String {
    let s = age.as_secs();
    let (n, unit) = match s {
        0..60 => (s, "second"),
        60..3600 => (s / 60, "minute"),
        3600..86400 => (s / 3600, "hour"),
        _ => (s / 86400, "day"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}
