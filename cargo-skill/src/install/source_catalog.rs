//! What a fetched source offers: the skills at the fetched ref, and for git
//! sources every version tagged `<name>-vX.Y.Z` (as `publish` tags them),
//! each tagged commit checked out once, when it is first needed.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use semver::Version;
use skill_runtime::manifest::{Code, Diagnostic, Mode, SkillManifest};
use skill_runtime::validate::{self, graph::SkillSet};

use crate::git_remote::CachedRepo;
use crate::install::refusal::{Reason, Refused};
use crate::install::resolve::{Catalog, Release};
use crate::install::source::{self, Fetched};

/// The skills one checkout holds.
struct Tree {
    skills: Vec<SkillManifest>,
    refused: Vec<Refused>,
    commit: Option<String>,
    /// The temporary checkout, and what to call it in messages.
    checkout: Option<(tempfile::TempDir, String)>,
    /// What links must stay beneath: the checkout, or the folder given.
    boundary: PathBuf,
}

/// The version an unversioned skill resolves as: it satisfies `*` and
/// nothing else, and is never newer than a released version.
pub const UNVERSIONED: Version = Version::new(0, 0, 0);

/// `metadata.version`, or [`UNVERSIONED`].
pub fn version_of(manifest: &SkillManifest) -> Version {
    manifest.ext.version.clone().unwrap_or(UNVERSIONED)
}

pub struct SourceCatalog {
    source: String,
    head: Tree,
    repo: Option<CachedRepo>,
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
    /// What the skill's links must stay beneath.
    pub boundary: PathBuf,
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
        let tags = repo.as_deref().map(tagged_versions).unwrap_or_default();
        let (skills, refused) = skills_in(&dir);
        let label = source.clone();
        let boundary = checkout.as_ref().map_or(dir, |c| c.path().to_path_buf());
        SourceCatalog {
            source,
            head: Tree {
                skills,
                refused,
                commit,
                checkout: checkout.map(|c| (c, label)),
                boundary,
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

    /// `path` as messages show it: under a temporary checkout, as
    /// `SOURCE:path/in/the/repository` (or `SOURCE@COMMIT:…` for a tag).
    pub fn shown(&self, path: &Path) -> PathBuf {
        for tree in std::iter::once(&self.head).chain(self.tagged.values()) {
            if let Some((dir, label)) = &tree.checkout
                && let Ok(rel) = path.strip_prefix(dir.path())
            {
                let rel = if rel.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    rel
                };
                return PathBuf::from(format!("{label}:{}", rel.display()));
            }
        }
        path.to_path_buf()
    }

    /// Whether `dir` is a temporary checkout's own folder, whose name
    /// means nothing.
    pub fn is_checkout(&self, dir: &Path) -> bool {
        std::iter::once(&self.head)
            .chain(self.tagged.values())
            .any(|t| t.checkout.as_ref().is_some_and(|(c, _)| c.path() == dir))
    }

    /// What the fetched ref's links must stay beneath.
    pub fn boundary(&self) -> &Path {
        &self.head.boundary
    }

    /// The manifests at the fetched ref that cannot be installed.
    pub fn refused(&self) -> &[Refused] {
        &self.head.refused
    }

    /// `name` at `version`: the fetched ref's copy when it has that version,
    /// else the tagged commit's.
    pub fn locate(&mut self, name: &str, version: &Version) -> Result<Located> {
        let at_head = self
            .head
            .skills
            .iter()
            .any(|m| m.name == name && version_of(m) == *version);
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
                let dir = source::check_out(repo, oid)?;
                let (skills, refused) = skills_in(dir.path());
                self.tagged.insert(
                    oid,
                    Tree {
                        skills,
                        refused,
                        commit: Some(oid.to_string()),
                        boundary: dir.path().to_path_buf(),
                        checkout: Some((
                            dir,
                            format!("{}@{}", self.source, &oid.to_string()[..12]),
                        )),
                    },
                );
            }
            &self.tagged[&oid]
        };
        if let Some(refused) = tree.refused.iter().find(|r| r.is(name)) {
            anyhow::bail!(
                "{name} v{version} of {} cannot be installed:\n{}",
                self.source,
                refused.render()
            );
        }
        let manifest = tree
            .skills
            .iter()
            .find(|m| m.name == name && version_of(m) == *version)
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
            boundary: tree.boundary.clone(),
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
            .map(version_of)
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
        version: version_of(manifest),
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

/// Every skill in a folder, by the discovery rules and the validator
/// `validate` uses, split into the installable and the refused. A skill
/// whose name differs from its folder installs under its name, as
/// `npx skills` installs it (the name itself must still be valid).
pub fn skills_in(dir: &Path) -> (Vec<SkillManifest>, Vec<Refused>) {
    let report = validate::load(
        &[dir.to_path_buf()],
        validate::Options {
            mode: Mode::Lenient,
        },
    );
    let mut skills = Vec::new();
    let mut refused = Vec::new();
    let root = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    for skill in report.skills {
        let mut blocking: Vec<Diagnostic> = validate::install::blocking(&skill.diagnostics)
            .into_iter()
            .filter(|d| d.code != Code::NameDirMismatch)
            .cloned()
            .collect();
        blocking.extend(outside(&root, &skill.manifest_path));
        match skill.manifest {
            Some(manifest) if blocking.is_empty() => skills.push(manifest),
            manifest => refused.push(Refused {
                dir: skill
                    .manifest_path
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_default(),
                folder: skill
                    .manifest_path
                    .parent()
                    .and_then(Path::file_name)
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                name: manifest.map(|m| m.name).filter(|n| !n.is_empty()),
                reasons: blocking.into_iter().map(Reason::Manifest).collect(),
            }),
        }
    }
    (skills, refused)
}

/// A skill folder reached through a symlink that leads out of the source
/// would make the installer copy whatever it points at.
fn outside(root: &Path, manifest_path: &Path) -> Option<Diagnostic> {
    let folder = manifest_path.parent()?;
    let real = folder.canonicalize().ok()?;
    if real.starts_with(root) {
        return None;
    }
    Some(Diagnostic {
        code: Code::ManifestOutsideTree,
        severity: skill_runtime::manifest::Severity::Error,
        message: format!(
            "the skill folder {} leads to {}, outside the source",
            folder.display(),
            real.display()
        ),
        file: manifest_path.to_path_buf(),
        pos: None,
        source_line: None,
        help: Some("a skill folder must be a real folder inside the repository, not a link".into()),
    })
}
