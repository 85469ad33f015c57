//! `install --agents`: also put skills where coding agents look in a
//! project, the way the `npx skills` installer does: the files in
//! `.agents/skills/<name>/`, agents with their own folder (Claude Code's
//! `.claude/skills/`) given a relative link to it, and an entry in the
//! project's `skills-lock.json` with the same `computedHash` that installer
//! computes, so either tool can check and update what the other placed.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use skill_runtime::store::installed::{InstalledMeta, META_FILE};

/// The shared folder most agents read.
pub const SHARED_DIR: &str = ".agents/skills";
pub const LOCK_FILE: &str = "skills-lock.json";

/// An agent and the project folder it reads skills from (the `npx skills`
/// table; `claude` is short for `claude-code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Agent {
    pub name: &'static str,
    pub dir: &'static str,
}

pub const AGENTS: &[Agent] = &[
    Agent {
        name: "amp",
        dir: SHARED_DIR,
    },
    Agent {
        name: "augment",
        dir: ".augment/skills",
    },
    Agent {
        name: "claude",
        dir: ".claude/skills",
    },
    Agent {
        name: "claude-code",
        dir: ".claude/skills",
    },
    Agent {
        name: "cline",
        dir: SHARED_DIR,
    },
    Agent {
        name: "codex",
        dir: SHARED_DIR,
    },
    Agent {
        name: "continue",
        dir: ".continue/skills",
    },
    Agent {
        name: "cursor",
        dir: SHARED_DIR,
    },
    Agent {
        name: "gemini-cli",
        dir: SHARED_DIR,
    },
    Agent {
        name: "github-copilot",
        dir: SHARED_DIR,
    },
    Agent {
        name: "goose",
        dir: ".goose/skills",
    },
    Agent {
        name: "junie",
        dir: ".junie/skills",
    },
    Agent {
        name: "kilo",
        dir: SHARED_DIR,
    },
    Agent {
        name: "opencode",
        dir: SHARED_DIR,
    },
    Agent {
        name: "openhands",
        dir: ".openhands/skills",
    },
    Agent {
        name: "roo",
        dir: ".roo/skills",
    },
];

/// One agent by name (`--agents claude,codex` gives each), or an error
/// listing the known ones.
pub fn parse(name: &str) -> Result<Agent, String> {
    AGENTS
        .iter()
        .copied()
        .find(|a| a.name == name.trim())
        .ok_or_else(|| {
            let known: Vec<&str> = AGENTS.iter().map(|a| a.name).collect();
            format!("unknown agent `{name}`; known: {}", known.join(", "))
        })
}

/// Places the installed skill in `project` for `agents` and records it in
/// `skills-lock.json`.
pub fn place(
    project: &Path,
    agents: &[Agent],
    installed: &Path,
    meta: &InstalledMeta,
) -> Result<()> {
    let shared = skill_runtime::manifest::skill_name::join(&project.join(SHARED_DIR), &meta.name)?;
    crate::install::place::swap_in(&shared, |staging| {
        crate::install::place::copy_skill(installed, staging)?;
        std::fs::remove_file(staging.join(META_FILE)).ok();
        Ok(())
    })?;
    for agent in agents.iter().filter(|a| a.dir != SHARED_DIR) {
        link(project, agent.dir, &meta.name)?;
    }
    let hash = computed_hash(&shared)?;
    update_lock(project, meta, &hash)
}

/// `<agent dir>/<name>` → `../../.agents/skills/<name>`, replaced atomically.
fn link(project: &Path, agent_dir: &str, name: &str) -> Result<()> {
    let at = skill_runtime::manifest::skill_name::join(&project.join(agent_dir), name)?;
    let parent = at.parent().expect("a link has a parent");
    std::fs::create_dir_all(parent)?;
    if std::fs::symlink_metadata(&at).is_ok_and(|m| !m.file_type().is_symlink()) {
        bail!(
            "{} exists and is not a link: move it away to let --agents link it to {SHARED_DIR}/{name}",
            at.display()
        );
    }
    let temp = parent.join(format!(".{name}.link-{}", std::process::id()));
    std::fs::remove_file(&temp).ok();
    std::os::unix::fs::symlink(link_target(agent_dir, name), &temp)?;
    std::fs::rename(&temp, &at).with_context(|| format!("could not link {}", at.display()))?;
    Ok(())
}

/// What an agent's link to the shared copy holds: `../../.agents/skills/<name>`.
fn link_target(agent_dir: &str, name: &str) -> PathBuf {
    let up: PathBuf = Path::new(agent_dir).components().map(|_| "..").collect();
    up.join(SHARED_DIR).join(name)
}

/// Whether `<agent_dir>/<name>` in `project` is the link an installer made.
fn is_our_link(project: &Path, agent_dir: &str, name: &str) -> Result<Option<PathBuf>> {
    let at = skill_runtime::manifest::skill_name::join(&project.join(agent_dir), name)?;
    let ours = std::fs::read_link(&at).is_ok_and(|t| t == link_target(agent_dir, name));
    Ok(ours.then_some(at))
}

/// Whether `name` is placed in `project`: in `skills-lock.json`, or linked
/// from an agent's folder.
pub fn placed(project: &Path, name: &str) -> Result<bool> {
    if read_lock(project)?.contains_key(name) {
        return Ok(true);
    }
    for agent in AGENTS.iter().filter(|a| a.dir != SHARED_DIR) {
        if is_our_link(project, agent.dir, name)?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Undoes [`place`] for `agents` (every agent when empty): their links to
/// the shared copy go; the copy and its `skills-lock.json` entry go once no
/// link leads to it and an agent that reads it directly was named; folders
/// left empty go. Returns the paths removed, relative to `project`.
pub fn unplace(project: &Path, name: &str, agents: &[Agent]) -> Result<Vec<String>> {
    let chosen = if agents.is_empty() { AGENTS } else { agents };
    let mut removed = Vec::new();
    for agent in chosen.iter().filter(|a| a.dir != SHARED_DIR) {
        if let Some(at) = is_our_link(project, agent.dir, name)? {
            if removed
                .iter()
                .any(|r| *r == format!("{}/{name}", agent.dir))
            {
                continue;
            }
            std::fs::remove_file(&at)
                .with_context(|| format!("could not remove {}", at.display()))?;
            removed.push(format!("{}/{name}", agent.dir));
            prune_empty(project, agent.dir);
        }
    }
    let reads_shared = agents.is_empty() || agents.iter().any(|a| a.dir == SHARED_DIR);
    let mut still_linked = false;
    for agent in AGENTS.iter().filter(|a| a.dir != SHARED_DIR) {
        still_linked |= is_our_link(project, agent.dir, name)?.is_some();
    }
    let mut lock = read_lock(project)?;
    if !reads_shared || still_linked || !lock.contains_key(name) {
        return Ok(removed);
    }
    let shared = skill_runtime::manifest::skill_name::join(&project.join(SHARED_DIR), name)?;
    if std::fs::symlink_metadata(&shared).is_ok_and(|m| m.is_dir()) {
        // Out of sight in one rename, then deleted: never half a skill in place.
        let trash = tempfile::Builder::new()
            .prefix(".removing-")
            .tempdir_in(project.join(SHARED_DIR))?;
        std::fs::rename(&shared, trash.path().join(name))
            .with_context(|| format!("could not remove {}", shared.display()))?;
        removed.push(format!("{SHARED_DIR}/{name}"));
    }
    lock.remove(name);
    write_lock(project, lock)?;
    prune_empty(project, SHARED_DIR);
    Ok(removed)
}

/// A skill an agent sees in a project.
#[derive(Debug, serde::Serialize)]
pub struct Seen {
    pub name: String,
    /// Relative to the project.
    pub path: String,
    /// As `skills-lock.json` records it; none when no installer placed it.
    pub source: Option<String>,
}

/// The skills `agent` sees in `project`: the folders of its skills folder
/// (links followed, as the agent follows them) that hold a `SKILL.md`.
pub fn visible(project: &Path, agent: Agent) -> Result<Vec<Seen>> {
    let lock = read_lock(project)?;
    let Ok(entries) = std::fs::read_dir(project.join(agent.dir)) else {
        return Ok(Vec::new());
    };
    let mut seen: Vec<Seen> = entries
        .flatten()
        .filter(|e| e.path().join("SKILL.md").is_file())
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            Seen {
                path: format!("{}/{name}", agent.dir),
                source: lock
                    .get(&name)
                    .and_then(|l| l.get("source"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
                name,
            }
        })
        .collect();
    seen.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(seen)
}

/// Removes `project/<dir>` and its parents below `project` while empty.
fn prune_empty(project: &Path, dir: &str) {
    let mut at = project.join(dir);
    while at != project && std::fs::remove_dir(&at).is_ok() {
        at.pop();
    }
}

/// The `npx skills` folder hash: sha256 over each file's relative path and
/// bytes, in JavaScript `localeCompare` order of the paths, skipping `.git`
/// and `node_modules`.
pub fn computed_hash(dir: &Path) -> Result<String> {
    let mut files = Vec::new();
    collect(dir, dir, &mut files)?;
    files.sort_by(|a, b| locale_compare(a, b));
    let mut hash = Sha256::new();
    for file in &files {
        hash.update(file.as_bytes());
        hash.update(std::fs::read(dir.join(file))?);
    }
    Ok(hex::encode(hash.finalize()))
}

fn collect(base: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let name = entry.file_name();
        if kind.is_dir() {
            if name != ".git" && name != "node_modules" {
                collect(base, &entry.path(), out)?;
            }
        } else if kind.is_file() {
            let relative = entry
                .path()
                .strip_prefix(base)
                .expect("below base")
                .to_path_buf();
            out.push(relative.to_string_lossy().into_owned());
        }
    }
    Ok(())
}

/// ICU root collation (what `localeCompare` uses) for the ASCII characters
/// file names hold: punctuation before digits before letters, letters
/// case-blind first and lowercase first on a tie.
fn locale_compare(a: &str, b: &str) -> Ordering {
    const PUNCTUATION: &str = "\t\n\r _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$";
    let primary = |c: char| -> (u32, u32) {
        if let Some(i) = PUNCTUATION.find(c) {
            (0, i as u32)
        } else if c.is_ascii_digit() {
            (1, c as u32)
        } else if c.is_ascii_alphabetic() {
            (2, c.to_ascii_lowercase() as u32)
        } else {
            (3, c as u32)
        }
    };
    let keys = |s: &str| s.chars().map(primary).collect::<Vec<_>>();
    keys(a)
        .cmp(&keys(b))
        .then_with(|| {
            let case = |s: &str| {
                s.chars()
                    .map(|c| c.is_ascii_uppercase())
                    .collect::<Vec<_>>()
            };
            case(a).cmp(&case(b))
        })
        .then_with(|| a.cmp(b))
}

/// Adds or replaces the skill's entry in `skills-lock.json` (version 1,
/// entries sorted by name, two-space JSON as `npx skills` writes it).
fn update_lock(project: &Path, meta: &InstalledMeta, hash: &str) -> Result<()> {
    let mut skills = read_lock(project)?;
    skills.insert(meta.name.clone(), entry(project, meta, hash));
    write_lock(project, skills)
}

/// The entries of the project's `skills-lock.json`; none when it is absent.
fn read_lock(project: &Path) -> Result<BTreeMap<String, Value>> {
    let path = project.join(LOCK_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let lock: Value = serde_json::from_str(&text).map_err(|e| {
                anyhow::anyhow!(
                    "{}:{}:{}: {e}; fix it or remove it",
                    path.display(),
                    e.line(),
                    e.column()
                )
            })?;
            Ok(lock
                .get("skills")
                .and_then(Value::as_object)
                .map(|m| m.clone().into_iter().collect())
                .unwrap_or_default())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(e).with_context(|| format!("could not read {}", path.display())),
    }
}

/// Writes `skills` as the project's `skills-lock.json`; with none left, the
/// file goes, as it was before the first install.
fn write_lock(project: &Path, skills: BTreeMap<String, Value>) -> Result<()> {
    let path = project.join(LOCK_FILE);
    if skills.is_empty() {
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("could not remove {}", path.display()))
            }
            _ => Ok(()),
        };
    }
    let lock =
        json!({ "version": 1, "skills": skills.into_iter().collect::<Map<String, Value>>() });
    let text = serde_json::to_string_pretty(&lock).expect("JSON serializes") + "\n";
    skill_runtime::atomic_file::write(&path, text.as_bytes(), 0o644)
        .with_context(|| format!("could not write {}", path.display()))
}

fn entry(project: &Path, meta: &InstalledMeta, hash: &str) -> Value {
    let github = meta
        .source
        .strip_prefix("https://github.com/")
        .map(|r| r.trim_end_matches(".git").to_string());
    match (github, meta.commit.is_some()) {
        (Some(owner_repo), _) => json!({
            "source": owner_repo,
            "sourceUrl": meta.source,
            "sourceType": "github",
            "computedHash": hash,
        }),
        (None, true) => json!({
            "source": meta.source,
            "sourceUrl": meta.source,
            "sourceType": "git",
            "computedHash": hash,
        }),
        (None, false) => {
            let source = Path::new(&meta.source);
            let relative = pathdiff(source, project);
            json!({ "source": relative, "sourceType": "local", "computedHash": hash })
        }
    }
}

/// `path` relative to `base` as `npx skills` writes it: `./sub`, `../up`, `.`.
fn pathdiff(path: &Path, base: &Path) -> String {
    let base = base.canonicalize().unwrap_or_else(|_| base.to_path_buf());
    let (a, b): (Vec<_>, Vec<_>) = (path.components().collect(), base.components().collect());
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<String> = vec!["..".to_string(); b.len() - common];
    parts.extend(
        a[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    match parts.first().map(String::as_str) {
        None => ".".into(),
        Some("..") => parts.join("/"),
        Some(_) => format!("./{}", parts.join("/")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_sort_as_locale_compare_does() {
        let mut names = vec![
            "b.md",
            "SKILL.md",
            "a_b",
            "a-b",
            "A.md",
            "a.md",
            "skill.sums",
            "1.md",
            "references/x.md",
        ];
        names.sort_by(|a, b| locale_compare(a, b));
        assert_eq!(
            names,
            [
                "1.md",
                "a_b",
                "a-b",
                "a.md",
                "A.md",
                "b.md",
                "references/x.md",
                "SKILL.md",
                "skill.sums"
            ]
        );
        assert_eq!(parse("claude").unwrap().dir, ".claude/skills");
        assert_eq!(
            pathdiff(Path::new("/a/src"), Path::new("/a/proj")),
            "../src"
        );
        assert_eq!(
            pathdiff(Path::new("/a/proj/s"), Path::new("/a/proj")),
            "./s"
        );
        assert!(parse("clippy").unwrap_err().contains("known: amp"));
    }
}
