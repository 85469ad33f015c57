//! What a fetched source offers: the skills at the fetched ref, and for git
//! sources every version tagged `<name>-vX.Y.Z` (as `publish` tags them),
//! each tagged commit checked out once, when it is first needed.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{Context, Result};
use semver::Version;
use skill_runtime::discover;
use skill_runtime::manifest::{self, Mode, SkillManifest};
use skill_runtime::validate::graph::SkillSet;

use crate::fetch_source::{self, Fetched};
use crate::resolve::{Catalog, Release};

/// The skills one checkout holds.
struct Tree {
    skills: Vec<SkillManifest>,
    commit: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

pub struct SourceCatalog {
    source: String,
    head: Tree,
    repo: Option<git2::Repository>,
    /// name → version → tagged commit.
    tags: BTreeMap<String, BTreeMap<Version, git2::Oid>>,
    tagged: HashMap<git2::Oid, Tree>,
}

/// One version of a skill, ready to verify and install; its folder lives
/// as long as the catalog.
pub struct Located {
    pub manifest: SkillManifest,
    /// What it declares after mixins (parents at the same commit).
    pub capabilities: Vec<String>,
    pub commit: Option<String>,
}

impl SourceCatalog {
    pub fn new(fetched: Fetched) -> SourceCatalog {
        let Fetched {
            dir,
            source,
            commit,
            repo,
            checkout,
        } = fetched;
        let tags = repo.as_ref().map(tagged_versions).unwrap_or_default();
        SourceCatalog {
            source,
            head: Tree {
                skills: skills_in(&dir),
                commit,
                _dir: checkout,
            },
            repo,
            tags,
            tagged: HashMap::new(),
        }
    }

    /// The URL or folder the lock records.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The skills at the fetched ref.
    pub fn head(&self) -> &[SkillManifest] {
        &self.head.skills
    }

    /// `name` at `version`: the fetched ref's copy when it has that version,
    /// else the tagged commit's.
    pub fn locate(&mut self, name: &str, version: &Version) -> Result<Located> {
        let at_head = self
            .head
            .skills
            .iter()
            .any(|m| m.name == name && m.ext.version.as_ref() == Some(version));
        let tree = if at_head {
            &self.head
        } else {
            let oid = *self
                .tags
                .get(name)
                .and_then(|versions| versions.get(version))
                .with_context(|| {
                    format!(
                        "{} has no {name} v{version}: no tag `{name}-v{version}` and not at the fetched ref",
                        self.source
                    )
                })?;
            if !self.tagged.contains_key(&oid) {
                let repo = self.repo.as_ref().expect("tags come from a repository");
                let dir = fetch_source::check_out(repo, oid)?;
                self.tagged.insert(
                    oid,
                    Tree {
                        skills: skills_in(dir.path()),
                        commit: Some(oid.to_string()),
                        _dir: Some(dir),
                    },
                );
            }
            &self.tagged[&oid]
        };
        let manifest = tree
            .skills
            .iter()
            .find(|m| m.name == name && m.ext.version.as_ref() == Some(version))
            .with_context(|| {
                format!(
                    "the tag {name}-v{version} of {} does not hold {name} v{version} (its SKILL.md says otherwise)",
                    self.source
                )
            })?;
        let set = SkillSet::new(tree.skills.iter().collect());
        Ok(Located {
            capabilities: set
                .resolved_capabilities(manifest)
                .iter()
                .map(ToString::to_string)
                .collect(),
            manifest: manifest.clone(),
            commit: tree.commit.clone(),
        })
    }
}

impl Catalog for SourceCatalog {
    fn versions(&mut self, name: &str) -> Result<Vec<Version>> {
        let mut versions: Vec<Version> = self
            .head
            .skills
            .iter()
            .filter(|m| m.name == name)
            .filter_map(|m| m.ext.version.clone())
            .chain(
                self.tags
                    .get(name)
                    .into_iter()
                    .flat_map(|v| v.keys().cloned()),
            )
            .collect();
        versions.sort();
        versions.dedup();
        Ok(versions)
    }

    fn release(&mut self, name: &str, version: &Version) -> Result<Release> {
        Ok(release_of(&self.locate(name, version)?.manifest))
    }
}

pub fn release_of(manifest: &SkillManifest) -> Release {
    Release {
        version: manifest
            .ext
            .version
            .clone()
            .unwrap_or_else(|| Version::new(0, 0, 0)),
        dependencies: manifest.ext.dependencies.clone(),
        conflicts_with: manifest.ext.conflicts_with.clone(),
    }
}

/// `<name>-vX.Y.Z` tags of the cached clone.
fn tagged_versions(repo: &git2::Repository) -> BTreeMap<String, BTreeMap<Version, git2::Oid>> {
    let mut tags: BTreeMap<String, BTreeMap<Version, git2::Oid>> = BTreeMap::new();
    for full in crate::git_remote::ref_names(repo, "refs/remote-tags/") {
        let short = full.trim_start_matches("refs/remote-tags/");
        let Some((name, version)) = short.rsplit_once("-v") else {
            continue;
        };
        let (Ok(version), Ok(reference)) = (version.parse(), repo.find_reference(&full)) else {
            continue;
        };
        if let Ok(commit) = reference.peel_to_commit() {
            tags.entry(name.to_string())
                .or_default()
                .insert(version, commit.id());
        }
    }
    tags
}

/// Every skill in a folder, by the discovery rules `validate` uses.
pub fn skills_in(dir: &Path) -> Vec<SkillManifest> {
    discover::discover(dir)
        .into_iter()
        .filter_map(|found| match found {
            discover::Found::Manifest(path) => manifest::parse_file(&path, Mode::Lenient).manifest,
            discover::Found::OutsideTree { .. } => None,
        })
        .filter(|m| !m.name.is_empty())
        .collect()
}
