//! The git side of publishing, with git2: a cached bare clone per remote,
//! fetches, pushes with progress, and credentials from the environment.

use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use git2::{
    Cred, CredentialType, FetchOptions, FetchPrune, PushOptions, RemoteCallbacks, Repository,
};
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

/// Where `OWNER/NAME` repositories live; GitHub Enterprise and tests change it.
pub const GITHUB_URL_ENV: &str = "CARGO_SKILL_GITHUB_URL";

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error(
        "authentication to {url} failed: set GITHUB_TOKEN (or GH_TOKEN) to a token that may push (contents: write) for https, or use an ssh URL with a key in ssh-agent"
    )]
    Auth { url: String },
    #[error("could not reach {url}: {message}; check the URL and the network")]
    Unreachable { url: String, message: String },
    #[error("the remote refused {refname}: {message}")]
    Rejected { refname: String, message: String },
    #[error(
        "git could not read {url}: {message}; check that the URL or path names a git repository you can read"
    )]
    Failed { url: String, message: String },
    #[error(
        "cannot reach {url}: this cargo-skill was built without HTTPS git support (the `https` feature); use an ssh:// URL, or install cargo-skill with its default features"
    )]
    NoHttps { url: String },
    #[error("git: {0}")]
    Other(#[from] git2::Error),
}

/// `OWNER/NAME` becomes `<base>/OWNER/NAME.git` (base `https://github.com`
/// unless CARGO_SKILL_GITHUB_URL says otherwise); URLs and paths pass through.
pub fn repo_url(repo: &str) -> String {
    let shorthand = repo.split('/').count() == 2
        && !repo.contains(':')
        && !repo.starts_with('.')
        && !Path::new(repo).exists();
    if !shorthand {
        return repo.to_string();
    }
    let base = std::env::var(GITHUB_URL_ENV).unwrap_or_else(|_| "https://github.com".into());
    format!("{}/{repo}.git", base.trim_end_matches('/'))
}

/// A cached bare clone, used by this process alone while it lives: `install`,
/// `update` and `publish` share the home's clones, and a flock on
/// `<clone>.in-use` beside each one serialises them. Git's own lock files
/// inside the clone can then only be a killed process's, and are cleared on
/// opening, or every later fetch would fail on them.
pub struct CachedRepo {
    repo: Repository,
    _in_use: std::fs::File,
}

impl std::ops::Deref for CachedRepo {
    type Target = Repository;

    fn deref(&self) -> &Repository {
        &self.repo
    }
}

/// The bare cache repository for a remote under `cache_dir`, waiting while
/// another cargo skill uses it.
pub fn open_cache(cache_dir: &Path, url: &str) -> Result<CachedRepo, GitError> {
    let key = hex::encode(&Sha256::digest(url.as_bytes())[..8]);
    let path: PathBuf = cache_dir.join("git").join(&key);
    let io = |e: std::io::Error| git2::Error::from_str(&format!("{}: {e}", path.display()));
    std::fs::create_dir_all(&path).map_err(io)?;
    let in_use = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(cache_dir.join("git").join(format!("{key}.in-use")))
        .map_err(io)?;
    hold(&in_use, url).map_err(io)?;
    clear_stale_locks(&path).map_err(io)?;
    let repo = match Repository::open_bare(&path) {
        Ok(repo) => repo,
        Err(_) => Repository::init_bare(&path)?,
    };
    Ok(CachedRepo {
        repo,
        _in_use: in_use,
    })
}

/// Takes the flock on `file`, saying once that it waits for another user;
/// the kernel releases it when that process ends, however it ends.
fn hold(file: &std::fs::File, url: &str) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let mut said = false;
    loop {
        // SAFETY: a valid open descriptor for the whole call.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok(());
        }
        let error = std::io::Error::last_os_error();
        if error.raw_os_error() != Some(libc::EWOULDBLOCK) {
            return Err(error);
        }
        if !said {
            eprintln!("waiting for another cargo skill to finish with its clone of {url}…");
            said = true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Deletes git's lock files (`index.lock`, `packed-refs.lock`,
/// `refs/…/x.lock`) in a clone nobody else is using.
fn clear_stale_locks(clone: &Path) -> std::io::Result<()> {
    /// `*.lock` files in `dir`, and beneath it when `deep`.
    fn sweep(dir: &Path, deep: bool) -> std::io::Result<()> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Ok(());
        };
        for entry in entries.flatten() {
            let kind = entry.file_type()?;
            if kind.is_file() && entry.file_name().to_string_lossy().ends_with(".lock") {
                std::fs::remove_file(entry.path())?;
            } else if kind.is_dir() && deep {
                sweep(&entry.path(), deep)?;
            }
        }
        Ok(())
    }
    sweep(clone, false)?;
    sweep(&clone.join("refs"), true)
}

/// Remote branches land in `refs/remotes/origin/`, remote tags in
/// `refs/remote-tags/`; both pruned, so they mirror the remote exactly.
pub fn fetch(repo: &Repository, url: &str, quiet: bool) -> Result<(), GitError> {
    let mut remote = repo.remote_anonymous(url)?;
    let mut options = FetchOptions::new();
    options.prune(FetchPrune::On);
    let asked = Rc::new(Cell::new(false));
    options.remote_callbacks(callbacks(
        url,
        progress_bar(quiet, "fetching"),
        asked.clone(),
    ));
    let fetched = remote.fetch(
        &[
            "+refs/heads/*:refs/remotes/origin/*",
            "+refs/tags/*:refs/remote-tags/*",
        ],
        Some(&mut options),
        None,
    );
    drop(options);
    fetched.map_err(|e| classify(url, e, asked.get()))?;
    Ok(())
}

pub fn ref_names(repo: &Repository, prefix: &str) -> Vec<String> {
    repo.references_glob(&format!("{prefix}*"))
        .map(|refs| {
            refs.flatten()
                .filter_map(|r| r.name().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Pushes `local` (a ref in the cache) to `remote_ref`. A refusal by the
/// remote (it moved, or the tag exists) comes back as `Rejected`.
pub fn push(
    repo: &Repository,
    url: &str,
    local: &str,
    remote_ref: &str,
    quiet: bool,
) -> Result<(), GitError> {
    let mut remote = repo.remote_anonymous(url)?;
    let rejected: RefCell<Option<(String, String)>> = RefCell::new(None);
    let bar = progress_bar(quiet, "pushing");
    let asked = Rc::new(Cell::new(false));
    let mut callbacks = callbacks(url, bar.clone(), asked.clone());
    callbacks.push_update_reference(|refname, status| {
        if let Some(message) = status {
            *rejected.borrow_mut() = Some((refname.to_string(), message.to_string()));
        }
        Ok(())
    });
    let mut options = PushOptions::new();
    options.remote_callbacks(callbacks);
    let pushed = remote.push(&[format!("{local}:{remote_ref}")], Some(&mut options));
    drop(options);
    bar.finish_and_clear();
    match pushed {
        Err(e) if is_rejection(&e) => Err(GitError::Rejected {
            refname: remote_ref.to_string(),
            message: e.message().to_string(),
        }),
        Err(e) => Err(classify(url, e, asked.get())),
        Ok(()) => match rejected.into_inner() {
            Some((refname, message)) => Err(GitError::Rejected { refname, message }),
            None => Ok(()),
        },
    }
}

fn is_rejection(e: &git2::Error) -> bool {
    let message = e.message();
    e.code() == git2::ErrorCode::NotFastForward
        || [
            "non-fast",
            "fetch first",
            "cannot lock",
            "rejected",
            "already exists",
        ]
        .iter()
        .any(|m| message.contains(m))
}

/// What went wrong, by what libgit2 said. Only a remote that asked for
/// credentials can have refused them: anything else is reported as it is.
fn classify(url: &str, e: git2::Error, credentials_asked: bool) -> GitError {
    if !cfg!(feature = "https") && url.starts_with("https://") {
        return GitError::NoHttps { url: url.into() };
    }
    let message = e.message().to_string();
    if credentials_asked
        && (e.code() == git2::ErrorCode::Auth
            || e.class() == git2::ErrorClass::Http
            || message.contains("authentication"))
    {
        return GitError::Auth { url: url.into() };
    }
    let local = url.starts_with("file://") || !(url.contains("://") || url.starts_with("git@"));
    if !local
        && (matches!(
            e.class(),
            git2::ErrorClass::Net | git2::ErrorClass::Os | git2::ErrorClass::Ssh
        ) || message.contains("failed to connect"))
    {
        return GitError::Unreachable {
            url: url.into(),
            message,
        };
    }
    GitError::Failed {
        url: url.into(),
        message,
    }
}

/// Credentials: a token from GITHUB_TOKEN or GH_TOKEN for https, ssh-agent
/// for ssh; a bounded number of attempts, so a bad token fails fast.
fn callbacks<'a>(url: &str, bar: ProgressBar, asked: Rc<Cell<bool>>) -> RemoteCallbacks<'a> {
    let mut callbacks = RemoteCallbacks::new();
    let mut attempts = 0;
    let url = url.to_string();
    callbacks.credentials(move |_, username, allowed| {
        asked.set(true);
        attempts += 1;
        if attempts > 2 {
            return Err(git2::Error::new(
                git2::ErrorCode::Auth,
                git2::ErrorClass::Http,
                format!("authentication to {url} failed"),
            ));
        }
        let token = std::env::var("GITHUB_TOKEN").or_else(|_| std::env::var("GH_TOKEN"));
        if allowed.contains(CredentialType::USER_PASS_PLAINTEXT)
            && let Ok(token) = token
        {
            return Cred::userpass_plaintext("x-access-token", &token);
        }
        if allowed.contains(CredentialType::SSH_KEY) {
            return Cred::ssh_key_from_agent(username.unwrap_or("git"));
        }
        if allowed.contains(CredentialType::DEFAULT) {
            return Cred::default();
        }
        Err(git2::Error::new(
            git2::ErrorCode::Auth,
            git2::ErrorClass::Http,
            "no credentials: set GITHUB_TOKEN or GH_TOKEN",
        ))
    });
    let push_bar = bar.clone();
    callbacks.transfer_progress(move |progress| {
        bar.set_length(progress.total_objects() as u64);
        bar.set_position(progress.received_objects() as u64);
        true
    });
    callbacks.push_transfer_progress(move |current, total, _bytes| {
        push_bar.set_length(total as u64);
        push_bar.set_position(current as u64);
    });
    callbacks
}

fn progress_bar(quiet: bool, what: &str) -> ProgressBar {
    if quiet || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} objects")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(what.to_string());
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorthands_become_github_urls() {
        assert_eq!(repo_url("git://host/x.git"), "git://host/x.git");
        assert_eq!(repo_url("file:///tmp/r.git"), "file:///tmp/r.git");
        assert_eq!(repo_url("git@github.com:o/n.git"), "git@github.com:o/n.git");
        if std::env::var_os(GITHUB_URL_ENV).is_none() {
            assert_eq!(
                repo_url("acme/skills"),
                "https://github.com/acme/skills.git"
            );
        }
    }
}
