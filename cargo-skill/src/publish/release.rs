//! Publishing signed skills into a git repository: each at `skills/<name>/`
//! (where the `npx skills` installer looks), `skills/index.json` updated, one
//! commit, an annotated tag `<name>-v<version>` per skill, pushed. Versions
//! are immutable and only go up.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use git2::{Oid, Repository, Signature, Tree};
use semver::Version;

use crate::git_remote::{self, GitError};
use crate::publish::repo_index::{INDEX_PATH, IndexEntry, RepoIndex};
use crate::signing::{self, SIGNATURE, SUMS};

/// A signed skill folder, ready to publish.
#[derive(Debug, Clone)]
pub struct SignedSkill {
    pub dir: PathBuf,
    pub name: String,
    pub version: Version,
    pub description: String,
    /// sha256 of `skill.sums`.
    pub sums: String,
    pub signer: String,
}

impl SignedSkill {
    fn tag(&self) -> String {
        format!("{}-v{}", self.name, self.version)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(
        "{name} v{version} is already published with different content (tag {tag}): versions are immutable; bump `metadata.version`"
    )]
    Changed {
        name: String,
        version: Version,
        tag: String,
    },
    #[error(
        "{name} v{version} is not greater than v{latest}, the latest published version: bump `metadata.version` above it"
    )]
    NotNewer {
        name: String,
        version: Version,
        latest: Version,
    },
    #[error("{0}")]
    BadRepository(String),
    #[error(
        "the remote refused {refname}: {message}; nothing of this publish is on the remote (check its push rules or your permissions)"
    )]
    Refused { refname: String, message: String },
    #[error(
        "the remote moved twice while publishing (another publish?): nothing was pushed by this run; run it again"
    )]
    Raced,
    /// The branch (and perhaps some tags) reached the remote before a later
    /// push failed: the remote changed, so this is no "nothing changed".
    #[error(
        "the remote now has {} but {refname} was not pushed: {reason}; run the publish again to push what is missing (pushed versions are never rewritten)",
        reached.join(", ")
    )]
    Partial {
        reached: Vec<String>,
        refname: String,
        reason: String,
    },
    #[error(transparent)]
    Git(#[from] GitError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl From<git2::Error> for PublishError {
    fn from(e: git2::Error) -> Self {
        PublishError::Git(GitError::Other(e))
    }
}

impl PublishError {
    /// A refusal of the content or a remote left half-updated (exit 1), as
    /// opposed to a failure that changed nothing (2).
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            PublishError::Changed { .. }
                | PublishError::NotNewer { .. }
                | PublishError::Partial { .. }
        )
    }
}

pub struct Target<'a> {
    pub url: &'a str,
    pub branch: &'a str,
    pub cache_dir: &'a Path,
    pub dry_run: bool,
    pub quiet: bool,
}

/// What a publish did, or would do with `--dry-run`.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// The new commit, when there was something to publish.
    pub commit: Option<String>,
    pub parent: Option<String>,
    /// Tags pushed (or to push).
    pub tags: Vec<String>,
    /// Paths the commit adds, changes or removes.
    pub changed_paths: Vec<String>,
    /// `name vX`: already published with the same content.
    pub unchanged: Vec<String>,
}

/// Fetches, plans the commit and tags on the remote's tip, and pushes;
/// when the remote moved meanwhile, does it once more on the new tip.
pub fn publish(target: &Target<'_>, skills: &[SignedSkill]) -> Result<Outcome, PublishError> {
    let repo = git_remote::open_cache(target.cache_dir, target.url)?;
    for attempt in 0..2 {
        git_remote::fetch(&repo, target.url, target.quiet)?;
        let planned = plan(&repo, target.branch, skills)?;
        if target.dry_run || planned.outcome.commit.is_none() {
            return Ok(planned.outcome);
        }
        match push_planned(&repo, target, &planned) {
            Ok(()) => return Ok(planned.outcome),
            Err(PublishError::Git(GitError::Rejected { refname, message })) => {
                // A remote that moved is a race; one that did not refused us.
                git_remote::fetch(&repo, target.url, target.quiet)?;
                let tip = branch_tip(&repo, target.branch).map(|c| c.to_string());
                if tip == planned.outcome.parent {
                    return Err(PublishError::Refused { refname, message });
                }
                if attempt == 1 {
                    return Err(PublishError::Raced);
                }
            }
            Err(e) => return Err(e),
        }
    }
    unreachable!("the loop returns on its second attempt")
}

struct Planned {
    outcome: Outcome,
    commit: Oid,
    tags: Vec<(String, Oid)>,
}

fn branch_tip(repo: &Repository, branch: &str) -> Option<Oid> {
    let reference = repo
        .find_reference(&format!("refs/remotes/origin/{branch}"))
        .ok()?;
    Some(reference.peel_to_commit().ok()?.id())
}

fn plan(repo: &Repository, branch: &str, skills: &[SignedSkill]) -> Result<Planned, PublishError> {
    let tip = branch_tip(repo, branch)
        .map(|oid| repo.find_commit(oid))
        .transpose()?;
    let base_tree = tip.as_ref().map(|c| c.tree()).transpose()?;
    let mut index = match base_tree.as_ref().map(|t| blob_at(repo, t, INDEX_PATH)) {
        Some(Some(bytes)) => RepoIndex::parse(&bytes).map_err(PublishError::BadRepository)?,
        _ => RepoIndex::default(),
    };
    let mut outcome = Outcome {
        parent: tip.as_ref().map(|c| c.id().to_string()),
        ..Outcome::default()
    };
    let mut new_skills: Vec<(&SignedSkill, Oid)> = Vec::new();
    for skill in skills {
        let published = published_versions(repo, &skill.name);
        if let Some(tag_commit) = published.get(&skill.version) {
            let sums = repo
                .find_commit(*tag_commit)?
                .tree()
                .ok()
                .and_then(|t| blob_at(repo, &t, &format!("skills/{}/{SUMS}", skill.name)));
            if sums.map(|s| signing::sha256_hex(&s)) == Some(skill.sums.clone()) {
                outcome
                    .unchanged
                    .push(format!("{} v{}", skill.name, skill.version));
                continue;
            }
            return Err(PublishError::Changed {
                name: skill.name.clone(),
                version: skill.version.clone(),
                tag: skill.tag(),
            });
        }
        if let Some(latest) = published.keys().max().filter(|l| **l > skill.version) {
            return Err(PublishError::NotNewer {
                name: skill.name.clone(),
                version: skill.version.clone(),
                latest: latest.clone(),
            });
        }
        new_skills.push((skill, folder_tree(repo, skill)?));
        index.upsert(IndexEntry {
            name: skill.name.clone(),
            description: skill.description.clone(),
            version: skill.version.to_string(),
            sha256: skill.sums.clone(),
            signer: skill.signer.clone(),
        });
    }
    if new_skills.is_empty() {
        return Ok(Planned {
            outcome,
            commit: Oid::zero(),
            tags: Vec::new(),
        });
    }

    let skills_dir = base_tree
        .as_ref()
        .and_then(|t| t.get_path(Path::new("skills")).ok())
        .and_then(|e| e.to_object(repo).ok()?.into_tree().ok());
    let mut skills_builder = repo.treebuilder(skills_dir.as_ref())?;
    for (skill, tree) in &new_skills {
        skills_builder.insert(&skill.name, *tree, 0o040000)?;
    }
    let index_blob = repo.blob(index.to_json().as_bytes())?;
    skills_builder.insert("index.json", index_blob, 0o100644)?;
    let mut root = repo.treebuilder(base_tree.as_ref())?;
    root.insert("skills", skills_builder.write()?, 0o040000)?;
    let tree = repo.find_tree(root.write()?)?;
    outcome.changed_paths = changed_paths(repo, base_tree.as_ref(), &tree)?;

    let names: Vec<String> = new_skills
        .iter()
        .map(|(s, _)| format!("{} v{}", s.name, s.version))
        .collect();
    let body: Vec<String> = new_skills
        .iter()
        .map(|(s, _)| {
            format!(
                "{} v{}: skill.sums sha256 {}, signed by key {}",
                s.name, s.version, s.sums, s.signer
            )
        })
        .collect();
    let message = format!("Publish {}\n\n{}\n", names.join(", "), body.join("\n"));
    let author = signature(repo)?;
    let parents: Vec<&git2::Commit> = tip.iter().collect();
    let commit = repo.commit(None, &author, &author, &message, &tree, &parents)?;
    let commit_object = repo.find_object(commit, None)?;
    let mut tags = Vec::new();
    for (skill, _) in &new_skills {
        let tag_message = format!(
            "{} v{}\n\nskill.sums sha256 {}\nsigned by key {}\n",
            skill.name, skill.version, skill.sums, skill.signer
        );
        let tag =
            repo.tag_annotation_create(&skill.tag(), &commit_object, &author, &tag_message)?;
        tags.push((skill.tag(), tag));
    }
    outcome.commit = Some(commit.to_string());
    outcome.tags = tags.iter().map(|(name, _)| name.clone()).collect();
    Ok(Planned {
        outcome,
        commit,
        tags,
    })
}

/// The branch first, then the tags: a rejected branch leaves the remote
/// untouched, and a failure after it names what did reach the remote. The
/// cache keeps no ref of its own afterwards either way.
fn push_planned(
    repo: &Repository,
    target: &Target<'_>,
    planned: &Planned,
) -> Result<(), PublishError> {
    let staging = "refs/cargo-skill/publish";
    let mut refs = vec![(
        staging.to_string(),
        planned.commit,
        format!("refs/heads/{}", target.branch),
    )];
    for (name, oid) in &planned.tags {
        refs.push((
            format!("refs/cargo-skill/tags/{name}"),
            *oid,
            format!("refs/tags/{name}"),
        ));
    }
    let mut reached: Vec<String> = Vec::new();
    let mut result = Ok(());
    for (local, oid, remote) in &refs {
        let pushed = repo
            .reference(local, *oid, true, "cargo skill publish")
            .map_err(PublishError::from)
            .and_then(|_| {
                git_remote::push(repo, target.url, local, remote, target.quiet)
                    .map_err(PublishError::from)
            });
        match pushed {
            Ok(()) => reached.push(remote.clone()),
            Err(e) if reached.is_empty() => {
                result = Err(e);
                break;
            }
            Err(e) => {
                let reason = match e {
                    PublishError::Git(GitError::Rejected { message, .. }) => message,
                    other => other.to_string(),
                };
                result = Err(PublishError::Partial {
                    reached,
                    refname: remote.clone(),
                    reason,
                });
                break;
            }
        }
    }
    for (local, _, _) in &refs {
        if let Ok(mut reference) = repo.find_reference(local) {
            let _ = reference.delete();
        }
    }
    result
}

/// Published versions of a skill, from the remote's tags, with their commits.
fn published_versions(repo: &Repository, name: &str) -> BTreeMap<Version, Oid> {
    let prefix = format!("refs/remote-tags/{name}-v");
    git_remote::ref_names(repo, &prefix)
        .into_iter()
        .filter_map(|refname| {
            let version = Version::parse(&refname[prefix.len()..]).ok()?;
            let commit = repo.find_reference(&refname).ok()?.peel_to_commit().ok()?;
            Some((version, commit.id()))
        })
        .collect()
}

fn blob_at(repo: &Repository, tree: &Tree<'_>, path: &str) -> Option<Vec<u8>> {
    let entry = tree.get_path(Path::new(path)).ok()?;
    Some(repo.find_blob(entry.id()).ok()?.content().to_vec())
}

/// The skill folder as a tree: the files `skill.sums` lists, plus the sums
/// and the signature.
fn folder_tree(repo: &Repository, skill: &SignedSkill) -> Result<Oid, PublishError> {
    let mut files = signing::skill_files(&skill.dir).map_err(|e| PublishError::Io {
        path: skill.dir.clone(),
        source: std::io::Error::other(e.to_string()),
    })?;
    files.extend([SUMS.to_string(), SIGNATURE.to_string()]);
    tree_of(repo, &skill.dir, &files)
}

fn tree_of(repo: &Repository, dir: &Path, files: &[String]) -> Result<Oid, PublishError> {
    let mut direct: Vec<&str> = Vec::new();
    let mut nested: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for file in files {
        match file.split_once('/') {
            Some((folder, rest)) => nested.entry(folder).or_default().push(rest.to_string()),
            None => direct.push(file),
        }
    }
    let mut builder = repo.treebuilder(None)?;
    for name in direct {
        let path = dir.join(name);
        let io = |source| PublishError::Io {
            path: path.clone(),
            source,
        };
        let bytes = std::fs::read(&path).map_err(io)?;
        let executable = std::fs::metadata(&path).map_err(io)?.permissions().mode() & 0o111 != 0;
        let mode = if executable { 0o100755 } else { 0o100644 };
        builder.insert(name, repo.blob(&bytes)?, mode)?;
    }
    for (folder, inner) in nested {
        builder.insert(folder, tree_of(repo, &dir.join(folder), &inner)?, 0o040000)?;
    }
    Ok(builder.write()?)
}

fn changed_paths(
    repo: &Repository,
    old: Option<&Tree<'_>>,
    new: &Tree<'_>,
) -> Result<Vec<String>, PublishError> {
    let diff = repo.diff_tree_to_tree(old, Some(new), None)?;
    Ok(diff
        .deltas()
        .filter_map(|d| d.new_file().path().or(d.old_file().path()))
        .map(|p| p.display().to_string())
        .collect())
}

/// The committer from git's configuration, else cargo-skill itself.
fn signature(repo: &Repository) -> Result<Signature<'static>, git2::Error> {
    repo.signature()
        .map(|s| s.to_owned())
        .or_else(|_| Signature::now("cargo-skill", "cargo-skill@localhost"))
}
