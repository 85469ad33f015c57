//! Where `install` takes skills from: a local folder, a git URL with an
//! optional `#ref`, `owner/repo[@skill]` on GitHub, a GitHub tree URL, or
//! `well-known:https://SITE[@skill]`; git sources are fetched into the
//! cached bare clone `publish` uses and checked out into a temporary
//! folder, a site's well-known skills are downloaded into one.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use git2::Repository;

use crate::git_remote::{self, CachedRepo};
use crate::install::well_known;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Local(PathBuf),
    Git {
        url: String,
        reference: Option<String>,
        /// A folder inside the repository (GitHub tree URLs).
        subpath: Option<String>,
    },
    /// A web site's `/.well-known/skills/` (see [`well_known`]).
    WellKnown {
        url: String,
    },
}

/// How a well-known site is written as a source.
pub const WELL_KNOWN_PREFIX: &str = "well-known:";

/// A parsed SOURCE argument, with the skill it names, if any (`owner/repo@skill`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSpec {
    pub source: Source,
    pub skill: Option<String>,
}

impl SourceSpec {
    /// The URL (or folder) the lock records for this source.
    pub fn locator(&self) -> String {
        match &self.source {
            Source::Local(path) => path
                .canonicalize()
                .map_or_else(|_| path.display().to_string(), |p| p.display().to_string()),
            Source::Git { url, .. } => url.clone(),
            Source::WellKnown { url } => format!("{WELL_KNOWN_PREFIX}{url}"),
        }
    }

    /// The same source at another ref (a commit, for `--locked`).
    pub fn at(&self, commit: &str) -> SourceSpec {
        let mut spec = self.clone();
        if let Source::Git { reference, .. } = &mut spec.source {
            *reference = Some(commit.to_string());
        }
        spec
    }
}

/// Parses a SOURCE argument (or a source recorded in the lock) and checks
/// every part that will become a path, a git ref or a skill name.
pub fn parse(text: &str) -> Result<SourceSpec> {
    if text.contains('\0') || text.chars().any(char::is_control) {
        bail!(
            "the source `{}` contains a control character",
            text.escape_default()
        );
    }
    if let Some(site) = text.strip_prefix(WELL_KNOWN_PREFIX) {
        return parse_well_known(text, site);
    }
    let spec = parse_unchecked(text);
    if let Some(skill) = &spec.skill {
        skill_runtime::manifest::skill_name::check(skill)
            .with_context(|| format!("in the source `{text}`"))?;
    }
    if let Source::Git {
        reference, subpath, ..
    } = &spec.source
    {
        if let Some(r) = reference
            && (r.starts_with('-') || !git2::Reference::is_valid_name(&format!("refs/heads/{r}")))
        {
            bail!("`{r}` in the source `{text}` is not a valid branch, tag or commit name");
        }
        if let Some(sub) = subpath {
            let escapes = sub
                .split('/')
                .any(|part| part.is_empty() || part == "." || part == "..")
                || sub.contains('\\');
            if escapes {
                bail!(
                    "the folder `{sub}` in the source `{text}` must be a plain path inside the repository (no `..`, `.` or leading `/`)"
                );
            }
        }
    }
    Ok(spec)
}

/// `well-known:URL[@skill]`: a URL holds no `@` once user names are
/// refused, so one after its last `/` names a skill.
fn parse_well_known(text: &str, site: &str) -> Result<SourceSpec> {
    let (site, skill) = match site.rsplit_once('@') {
        Some((site, skill)) if !skill.contains('/') => (site, Some(skill.to_string())),
        _ => (site, None),
    };
    let url = crate::web::check_url(site).with_context(|| format!("in the source `{text}`"))?;
    if let Some(skill) = &skill {
        skill_runtime::manifest::skill_name::check(skill)
            .with_context(|| format!("in the source `{text}`"))?;
    }
    Ok(SourceSpec {
        source: Source::WellKnown {
            url: url.as_str().trim_end_matches('/').to_string(),
        },
        skill,
    })
}

fn parse_unchecked(text: &str) -> SourceSpec {
    if Path::new(text).exists() {
        return SourceSpec {
            source: Source::Local(PathBuf::from(text)),
            skill: None,
        };
    }
    if let Some(rest) = text.strip_prefix("https://github.com/")
        && let Some((repo, tree)) = rest.split_once("/tree/")
    {
        let (reference, subpath) = match tree.split_once('/') {
            Some((r, path)) => (r.to_string(), Some(path.trim_end_matches('/').to_string())),
            None => (tree.to_string(), None),
        };
        return SourceSpec {
            source: Source::Git {
                url: format!("https://github.com/{repo}.git"),
                reference: Some(reference),
                subpath,
            },
            skill: None,
        };
    }
    let (text, reference) = match text.split_once('#') {
        Some((url, r)) => (url, Some(r.to_string())),
        None => (text, None),
    };
    let is_url = text.contains("://") || text.starts_with("git@");
    let (repo, skill) = match text.split_once('@').filter(|_| !is_url) {
        Some((repo, skill)) => (repo, Some(skill.to_string())),
        None => (text, None),
    };
    SourceSpec {
        source: Source::Git {
            url: git_remote::repo_url(repo),
            reference,
            subpath: None,
        },
        skill,
    }
}

/// A source made into a folder to search for skills.
pub struct Fetched {
    pub dir: PathBuf,
    /// What the lock records: the URL (or the folder's absolute path).
    pub source: String,
    pub commit: Option<String>,
    /// The cached clone, for other versions (tags) of a git source.
    pub repo: Option<CachedRepo>,
    /// Keeps the checked-out folder alive.
    pub checkout: Option<tempfile::TempDir>,
}

/// `offline`: use the cached clone as it is; a source never fetched fails.
pub fn fetch(spec: &SourceSpec, cache_dir: &Path, offline: bool, quiet: bool) -> Result<Fetched> {
    let (url, reference, subpath) = match &spec.source {
        Source::Local(path) => {
            let dir = path
                .canonicalize()
                .with_context(|| format!("{} does not exist", path.display()))?;
            return Ok(Fetched {
                source: dir.display().to_string(),
                dir,
                commit: None,
                repo: None,
                checkout: None,
            });
        }
        Source::Git {
            url,
            reference,
            subpath,
        } => (url, reference, subpath),
        Source::WellKnown { url } => return fetch_well_known(url, offline, quiet),
    };
    let repo = git_remote::open_cache(cache_dir, url)?;
    if offline {
        if git_remote::ref_names(&repo, "refs/remotes/origin/").is_empty() {
            bail!(
                "{url} is not in the cache ({}): --offline needs one install or update of it with the network first",
                cache_dir.display()
            );
        }
    } else {
        git_remote::fetch(&repo, url, quiet)?;
    }
    let commit = resolve_ref(&repo, url, reference.as_deref())?.id();
    let checkout = check_out(&repo, commit)?;
    let dir = match subpath {
        Some(sub) => checkout.path().join(sub),
        None => checkout.path().to_path_buf(),
    };
    Ok(Fetched {
        dir,
        source: url.clone(),
        commit: Some(commit.to_string()),
        repo: Some(repo),
        checkout: Some(checkout),
    })
}

/// Every skill the site lists, downloaded afresh: nothing of a site is
/// cached, so `offline` cannot reach it.
fn fetch_well_known(url: &str, offline: bool, quiet: bool) -> Result<Fetched> {
    if offline {
        bail!(
            "{url} is a web site's well-known skills, which are fetched each time: drop --offline to reach it"
        );
    }
    let index = well_known::index(url)?;
    let folder = tempfile::tempdir()?;
    for warning in well_known::download(&index, folder.path(), well_known::MAX_SITE_BYTES)? {
        if !quiet {
            eprintln!("warning: {warning}");
        }
    }
    Ok(Fetched {
        dir: folder.path().to_path_buf(),
        source: format!("{WELL_KNOWN_PREFIX}{url}"),
        commit: None,
        repo: None,
        checkout: Some(folder),
    })
}

/// The tree of `commit` in a new temporary folder.
pub fn check_out(repo: &Repository, commit: git2::Oid) -> Result<tempfile::TempDir> {
    let checkout = tempfile::tempdir()?;
    let mut builder = git2::build::CheckoutBuilder::new();
    // The cache is bare: writing its index only leaves an `index.lock`
    // behind when a kill lands mid-checkout.
    builder
        .target_dir(checkout.path())
        .force()
        .update_index(false);
    let object = repo.find_object(commit, None)?;
    repo.checkout_tree(&object, Some(&mut builder))
        .with_context(|| format!("could not check out {commit}"))?;
    Ok(checkout)
}

/// A branch or tag name, else the remote's `main`, `master`, or only branch.
fn resolve_ref<'r>(
    repo: &'r Repository,
    url: &str,
    reference: Option<&str>,
) -> Result<git2::Commit<'r>> {
    // A full commit id (what skills.lock records) is taken as it is.
    if let Some(commit) = reference
        .filter(|r| r.len() == 40)
        .and_then(|r| git2::Oid::from_str(r).ok())
        .and_then(|oid| repo.find_commit(oid).ok())
    {
        return Ok(commit);
    }
    let branches = git_remote::ref_names(repo, "refs/remotes/origin/");
    let tags = git_remote::ref_names(repo, "refs/remote-tags/");
    let short = |names: &[String], prefix: &str| -> Vec<String> {
        names
            .iter()
            .map(|n| n.trim_start_matches(prefix).to_string())
            .collect()
    };
    if branches.is_empty() {
        bail!("{url} has no branches: nothing was published there yet");
    }
    let candidates: Vec<String> = match reference {
        Some(r) => vec![
            format!("refs/remotes/origin/{r}"),
            format!("refs/remote-tags/{r}"),
        ],
        None => ["main", "master"]
            .iter()
            .map(|b| format!("refs/remotes/origin/{b}"))
            .chain(branches.first().cloned())
            .collect(),
    };
    for name in candidates {
        if let Ok(reference) = repo.find_reference(&name) {
            return Ok(reference.peel_to_commit()?);
        }
    }
    bail!(
        "`{}` is neither a branch nor a tag of {url}; branches: {}; tags: {}",
        reference.unwrap_or_default(),
        short(&branches, "refs/remotes/origin/").join(", "),
        short(&tags, "refs/remote-tags/").join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse_into_urls_refs_and_skills() {
        let git = |spec: SourceSpec| match spec.source {
            Source::Git {
                url,
                reference,
                subpath,
            } => (url, reference, subpath, spec.skill),
            other => panic!("not git: {other:?}"),
        };
        let parse = |t: &str| parse(t).unwrap();
        let (url, r, sub, skill) = git(parse("git://host/r.git#v1"));
        assert_eq!(
            (url.as_str(), r.as_deref(), sub, skill),
            ("git://host/r.git", Some("v1"), None, None)
        );
        let (url, _, _, skill) = git(parse("file:///srv/r.git"));
        assert_eq!((url.as_str(), skill), ("file:///srv/r.git", None));
        let (url, r, sub, _) = git(parse(
            "https://github.com/acme/skills/tree/main/skills/alpha",
        ));
        assert_eq!(url, "https://github.com/acme/skills.git");
        assert_eq!(
            (r.as_deref(), sub.as_deref()),
            (Some("main"), Some("skills/alpha"))
        );
        if std::env::var_os(git_remote::GITHUB_URL_ENV).is_none() {
            let (url, _, _, skill) = git(parse("acme/skills@alpha"));
            assert_eq!(
                (url.as_str(), skill.as_deref()),
                ("https://github.com/acme/skills.git", Some("alpha"))
            );
        }
        assert!(matches!(parse(".").source, Source::Local(_)));
        let site = parse("well-known:https://example.com/docs/@pdf");
        assert_eq!(
            (site.source, site.skill.as_deref()),
            (
                Source::WellKnown {
                    url: "https://example.com/docs".into()
                },
                Some("pdf")
            )
        );
        assert_eq!(
            parse("well-known:https://example.com").locator(),
            "well-known:https://example.com"
        );
    }

    #[test]
    fn crafted_sources_are_refused_before_they_become_paths_or_refs() {
        for bad in [
            "https://github.com/acme/skills/tree/main/../../../etc",
            "https://github.com/acme/skills/tree/main//etc",
            "https://github.com/acme/skills/tree/main/a/./b",
            "file:///srv/r.git#--upload-pack=evil",
            "file:///srv/r.git#a..b",
            "file:///srv/r.git#x\0y",
            "acme/skills@../../etc",
            "acme/skills@.hidden",
            "well-known:file:///etc",
            "well-known:https://user:pw@example.com",
            "well-known:https://example.com@../x",
        ] {
            assert!(super::parse(bad).is_err(), "{bad} was accepted");
        }
    }
}
