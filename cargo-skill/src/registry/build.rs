//! The index of a git or well-known registry: the source fetched as
//! `install` fetches it (for git, the same cached clone, credentials and
//! `--offline`), each skill the installer would take from it read from its
//! frontmatter, scanned, and its signature checked; `skills/index.json`,
//! when `publish` wrote one, adds the published version.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Mutex;

use anyhow::{Context, Result};
use minisign::PublicKey;
use skill_runtime::Home;
use skill_runtime::manifest::SkillManifest;
use skill_runtime::scan::{self, Risk};

use crate::install::content::Content;
use crate::install::source;
use crate::install::source_catalog::skills_in;
use crate::publish::repo_index::{INDEX_PATH, RepoIndex};
use crate::registry::category;
use crate::registry::config::Registry;
use crate::registry::index::{Listing, RegistryIndex, Signature};

/// Keywords kept per skill: enough to match on, small enough that an
/// index of thousands of skills reads quickly.
const MAX_KEYWORDS: usize = 48;

/// Fetches the registry (or reads its cached git clone when `offline`)
/// and builds its index.
pub fn build(
    home: &Home,
    registry: &Registry,
    trusted: &[PublicKey],
    offline: bool,
    quiet: bool,
) -> Result<RegistryIndex> {
    let spec = source::parse(&registry.source())?;
    let fetched = source::fetch(&spec, &home.cache_dir(), offline, quiet)?;
    let root = fetched
        .checkout
        .as_ref()
        .map_or(fetched.dir.as_path(), |c| c.path());
    let published = published_versions(&fetched.dir)?;
    // Exactly what `install` would take from it: a skill it would refuse
    // is not offered.
    let (manifests, _refused) = skills_in(&fetched.dir);
    let risks = risks(&manifests, root);
    let mut skills = Vec::new();
    for (m, risk) in manifests.into_iter().zip(risks) {
        let relative = m
            .dir
            .strip_prefix(&fetched.dir)
            .unwrap_or(&m.dir)
            .to_string_lossy()
            .into_owned();
        let version = m
            .ext
            .version
            .as_ref()
            .map(ToString::to_string)
            .or_else(|| published.get(&m.name).cloned());
        let keywords = keywords(&m.body);
        skills.push(Listing {
            content: Content::of_installed(&m.dir)
                .with_context(|| format!("reading {}", m.dir.display()))?
                .digest(),
            signature: Signature::check(&m.dir, trusted),
            risk: risk.map(|r| r.as_str().to_string()),
            category: category::assign(
                m.metadata.get("category").map(String::as_str),
                &m.name,
                &m.description,
                &keywords,
            ),
            keywords,
            path: relative,
            name: m.name,
            description: m.description,
            version,
            source: None,
            installs: None,
        });
    }
    Ok(RegistryIndex::new(registry, fetched.commit, skills))
}

/// The highest risk the scanner finds in each skill, scanned as `install`
/// scans it (links beneath `root` read through), on every core.
fn risks(manifests: &[SkillManifest], root: &Path) -> Vec<Option<Risk>> {
    let next = Mutex::new(0..manifests.len());
    let found = Mutex::new(vec![None; manifests.len()]);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                while let Some(i) = next.lock().expect("not poisoned").next() {
                    let scan = scan::scan_skill_within(&manifests[i].dir, Some(root));
                    let risk = scan.findings.iter().map(|f| f.severity).max();
                    found.lock().expect("not poisoned")[i] = risk;
                }
            });
        }
    });
    found.into_inner().expect("not poisoned")
}

/// Name → version from `skills/index.json`, when `publish` wrote one.
fn published_versions(root: &Path) -> Result<BTreeMap<String, String>> {
    let path = root.join(INDEX_PATH);
    let Ok(bytes) = std::fs::read(&path) else {
        return Ok(BTreeMap::new());
    };
    let index = RepoIndex::parse(&bytes).map_err(anyhow::Error::msg)?;
    Ok(index
        .skills
        .into_iter()
        .map(|e| (e.name, e.version))
        .collect())
}

/// Short words too common to tell skills apart.
const STOP_WORDS: &[&str] = &[
    "all", "and", "any", "are", "but", "can", "for", "from", "has", "have", "how", "its", "not",
    "one", "that", "the", "then", "this", "use", "was", "when", "with", "you", "your",
];

/// Distinct lowercase words of three letters or more (`pdf`, `csv`),
/// common ones and numbers aside, most frequent first.
pub fn keywords(body: &str) -> String {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for word in body
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 3 && !w.chars().all(|c| c.is_ascii_digit()))
        .map(str::to_lowercase)
        .filter(|w| !STOP_WORDS.contains(&w.as_str()))
    {
        *counts.entry(word).or_default() += 1;
    }
    let mut words: Vec<(String, usize)> = counts.into_iter().collect();
    words.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let words: Vec<String> = words
        .into_iter()
        .take(MAX_KEYWORDS)
        .map(|(w, _)| w)
        .collect();
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_the_frequent_words() {
        let k = keywords("Parse the PDF. Parse tables; parse forms, 2024 and pdf files.");
        let k: Vec<&str> = k.split(' ').collect();
        assert_eq!(k[..2], ["parse", "pdf"]);
        assert!(!k.contains(&"and") && !k.contains(&"the") && !k.contains(&"2024"));
    }
}
