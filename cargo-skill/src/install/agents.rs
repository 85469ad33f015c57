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

use skill_runtime::installed::{InstalledMeta, META_FILE};

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

const AGENTS: &[Agent] = &[
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
    let shared = skill_runtime::skill_name::join(&project.join(SHARED_DIR), &meta.name)?;
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
    let at = skill_runtime::skill_name::join(&project.join(agent_dir), name)?;
    let parent = at.parent().expect("a link has a parent");
    std::fs::create_dir_all(parent)?;
    if std::fs::symlink_metadata(&at).is_ok_and(|m| !m.file_type().is_symlink()) {
        bail!(
            "{} exists and is not a link: move it away to let --agents link it to {SHARED_DIR}/{name}",
            at.display()
        );
    }
    let up: PathBuf = Path::new(agent_dir).components().map(|_| "..").collect();
    let temp = parent.join(format!(".{name}.link-{}", std::process::id()));
    std::fs::remove_file(&temp).ok();
    std::os::unix::fs::symlink(up.join(SHARED_DIR).join(name), &temp)?;
    std::fs::rename(&temp, &at).with_context(|| format!("could not link {}", at.display()))?;
    Ok(())
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
    let path = project.join(LOCK_FILE);
    let mut skills: BTreeMap<String, Value> = match std::fs::read_to_string(&path) {
        Ok(text) => {
            let lock: Value = serde_json::from_str(&text).map_err(|e| {
                anyhow::anyhow!(
                    "{}:{}:{}: {e}; fix it or remove it",
                    path.display(),
                    e.line(),
                    e.column()
                )
            })?;
            lock.get("skills")
                .and_then(Value::as_object)
                .map(|m| m.clone().into_iter().collect())
                .unwrap_or_default()
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
        Err(e) => return Err(e).with_context(|| format!("could not read {}", path.display())),
    };
    skills.insert(meta.name.clone(), entry(project, meta, hash));
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
