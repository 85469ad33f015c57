//! Finding skills under a path the way the ecosystem's installer (`npx
//! skills` 1.5) does: the path itself if it holds a manifest; else skill
//! folders among the path's children, up to three levels below the
//! well-known skill folders, and in the plugin folders a
//! `.claude-plugin` manifest names; else a bounded recursive search.
//! Symlinked folders are not followed.

pub mod links;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::manifest::{MANIFEST_NAMES, find_manifest};

/// Folders whose descendants are skills, in the installer's priority order.
pub const PRIORITY_DIRS: &[&str] = &[
    "skills",
    "skills/.curated",
    "skills/.experimental",
    "skills/.system",
    ".agents/skills",
    ".claude/skills",
    ".cline/skills",
    ".codebuddy/skills",
    ".codex/skills",
    ".commandcode/skills",
    ".continue/skills",
    ".cursor/skills",
    ".factory/skills",
    ".gemini/skills",
    ".github/skills",
    ".goose/skills",
    ".junie/skills",
    ".kilocode/skills",
    ".kiro/skills",
    ".opencode/skills",
    ".openhands/skills",
    ".qoder/skills",
    ".roo/skills",
    ".trae/skills",
    ".windsurf/skills",
];
/// How far below a priority folder skill folders are looked for.
const PRIORITY_DEPTH: usize = 3;

/// Never searched: vendored code and build output.
pub const SKIP_DIRS: &[&str] = &[
    ".git",
    "node_modules",
    "target",
    "dist",
    "build",
    "__pycache__",
];
/// How deep the recursive search goes below the given path.
pub const MAX_DEPTH: usize = 5;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// A manifest file to read.
    Manifest(PathBuf),
    /// A manifest that is a symlink leading outside the tree given.
    OutsideTree { manifest: PathBuf, target: PathBuf },
}

/// Every skill under `path` (a skill folder, a manifest file, or a
/// repository root). Empty when there is none.
pub fn discover(path: &Path) -> Vec<Found> {
    if path.is_file() && is_manifest_name(path) {
        let root = path.parent().unwrap_or(Path::new("."));
        return vec![check_inside(path.to_path_buf(), root)];
    }
    if let Some(manifest) = find_manifest(path) {
        return vec![check_inside(manifest, path)];
    }
    let mut walk = Walk {
        root: path,
        found: Vec::new(),
        seen: HashSet::new(),
    };
    walk.children(path, 1, 1);
    for dir in PRIORITY_DIRS {
        walk.children(&path.join(dir), PRIORITY_DEPTH, 1);
    }
    for dir in plugin_dirs(path) {
        walk.children(&dir, 1, 1);
    }
    if walk.found.is_empty() {
        search(path, path, 0, &mut walk.found);
    }
    walk.found
}

fn is_manifest_name(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| MANIFEST_NAMES.contains(&n))
}

/// The real (not symlinked) subfolders of `dir`, sorted.
fn sorted_children(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut children: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    children.sort();
    children
}

struct Walk<'a> {
    root: &'a Path,
    found: Vec<Found>,
    seen: HashSet<PathBuf>,
}

impl Walk<'_> {
    /// Skill folders among the children of `dir`, descending into the
    /// others while `depth < max_depth`.
    fn children(&mut self, dir: &Path, max_depth: usize, depth: usize) {
        for child in sorted_children(dir) {
            if let Some(manifest) = find_manifest(&child) {
                if self.seen.insert(manifest.clone()) {
                    self.found.push(check_inside(manifest, self.root));
                }
                continue;
            }
            let skipped = child
                .file_name()
                .is_some_and(|n| SKIP_DIRS.iter().any(|s| n == *s));
            if depth < max_depth && !skipped {
                self.children(&child, max_depth, depth + 1);
            }
        }
    }
}

/// Folders a `.claude-plugin/marketplace.json` or `plugin.json` names: each
/// plugin's `skills/` and the folders of the skills it lists (`./` paths
/// inside the repository only, as the installer takes them).
fn plugin_dirs(root: &Path) -> Vec<PathBuf> {
    let read = |file: &str| -> Option<serde_json::Value> {
        let text = std::fs::read_to_string(root.join(".claude-plugin").join(file)).ok()?;
        serde_json::from_str(&text).ok()
    };
    // `./a/../b` as `a/../b`: `inside` then judges the `..`.
    let relative = |v: &serde_json::Value| {
        v.as_str().filter(|p| p.starts_with("./")).map(|p| {
            Path::new(p)
                .components()
                .filter(|c| !matches!(c, std::path::Component::CurDir))
                .collect::<PathBuf>()
        })
    };
    let mut dirs = Vec::new();
    let mut add = |base: PathBuf, skills: Option<&serde_json::Value>| {
        if !inside(&base, root) {
            return;
        }
        for skill in skills.and_then(|s| s.as_array()).into_iter().flatten() {
            if let Some(path) = relative(skill) {
                let dir = base.join(path);
                if let Some(parent) = dir.parent().filter(|d| inside(d, root)) {
                    dirs.push(parent.to_path_buf());
                }
            }
        }
        dirs.push(base.join("skills"));
    };
    if let Some(marketplace) = read("marketplace.json") {
        let plugin_root = marketplace.pointer("/metadata/pluginRoot");
        let plugin_root = match plugin_root {
            None => Some(PathBuf::new()),
            Some(v) => relative(v),
        };
        if let Some(plugin_root) = plugin_root {
            for plugin in marketplace["plugins"].as_array().into_iter().flatten() {
                let source = match plugin.get("source") {
                    None => Some(PathBuf::new()),
                    Some(v) => relative(v),
                };
                if let Some(source) = source {
                    add(root.join(&plugin_root).join(source), plugin.get("skills"));
                }
            }
        }
    }
    if let Some(plugin) = read("plugin.json") {
        add(root.to_path_buf(), plugin.get("skills"));
    }
    dirs
}

/// `path` stays within `root` once `.` and `..` are resolved lexically.
fn inside(path: &Path, root: &Path) -> bool {
    let mut depth: usize = 0;
    let Ok(rest) = path.strip_prefix(root) else {
        return false;
    };
    for part in rest.components() {
        match part {
            std::path::Component::ParentDir => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return false,
            },
            std::path::Component::Normal(_) => depth += 1,
            _ => {}
        }
    }
    true
}

/// Depth-first below `dir`, not following directory symlinks, not looking
/// inside a skill folder once found.
fn search(root: &Path, dir: &Path, depth: usize, found: &mut Vec<Found>) {
    if depth > MAX_DEPTH {
        return;
    }
    if depth > 0
        && let Some(manifest) = find_manifest(dir)
    {
        found.push(check_inside(manifest, root));
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut subdirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| !SKIP_DIRS.iter().any(|s| e.file_name() == *s))
        .map(|e| e.path())
        .collect();
    subdirs.sort();
    for sub in subdirs {
        search(root, &sub, depth + 1, found);
    }
}

/// A manifest must not be a symlink to a file outside the tree given.
fn check_inside(manifest: PathBuf, root: &Path) -> Found {
    let is_link = std::fs::symlink_metadata(&manifest).is_ok_and(|m| m.file_type().is_symlink());
    if !is_link {
        return Found::Manifest(manifest);
    }
    match (manifest.canonicalize(), root.canonicalize()) {
        (Ok(target), Ok(root)) if target.starts_with(&root) => Found::Manifest(manifest),
        (Ok(target), _) => Found::OutsideTree { manifest, target },
        (Err(_), _) => Found::Manifest(manifest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skill(dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("SKILL.md"), "---\n").unwrap();
    }

    fn names(found: &[Found], root: &Path) -> Vec<String> {
        found
            .iter()
            .map(|f| match f {
                Found::Manifest(p) => p.strip_prefix(root).unwrap().display().to_string(),
                Found::OutsideTree { manifest, .. } => {
                    format!("outside:{}", manifest.strip_prefix(root).unwrap().display())
                }
            })
            .collect()
    }

    #[test]
    fn the_three_tiers_in_order() {
        let repo = tempfile::tempdir().unwrap();
        let root = repo.path();
        // Tier 3 only: nested skills, skipping vendored folders and going 5 deep at most.
        skill(&root.join("a/b/deep-one"));
        skill(&root.join("node_modules/vendored"));
        skill(&root.join("1/2/3/4/5/6/too-deep"));
        assert_eq!(names(&discover(root), root), ["a/b/deep-one/SKILL.md"]);

        // Tier 2 wins over tier 3: the root's own children, then up to three
        // levels below the skill folders, then plugin folders.
        skill(&root.join("skills/zeta"));
        skill(&root.join("skills/office/docs/pdf"));
        skill(&root.join("skills/a/b/c/too-deep"));
        skill(&root.join(".claude/skills/alpha"));
        skill(&root.join("template"));
        skill(&root.join("plugins/tools/skills/lint"));
        skill(&root.join("plugins/tools/extra/fmt"));
        std::fs::create_dir_all(root.join(".claude-plugin")).unwrap();
        std::fs::write(
            root.join(".claude-plugin/marketplace.json"),
            r#"{"plugins":[{"source":"./plugins/tools","skills":["./extra/fmt"]},{"source":"../outside"}]}"#,
        )
        .unwrap();
        assert_eq!(
            names(&discover(root), root),
            [
                "template/SKILL.md",
                "skills/office/docs/pdf/SKILL.md",
                "skills/zeta/SKILL.md",
                ".claude/skills/alpha/SKILL.md",
                "plugins/tools/extra/fmt/SKILL.md",
                "plugins/tools/skills/lint/SKILL.md",
            ]
        );

        // Tier 1: the path itself, as a folder or as the file.
        assert_eq!(
            discover(&root.join("skills/zeta")),
            [Found::Manifest(root.join("skills/zeta/SKILL.md"))]
        );
        assert_eq!(
            discover(&root.join("skills/zeta/SKILL.md")),
            [Found::Manifest(root.join("skills/zeta/SKILL.md"))]
        );
        assert!(discover(&root.join("missing")).is_empty());
    }

    #[test]
    fn symlinked_folders_are_not_followed() {
        let outside = tempfile::tempdir().unwrap();
        skill(&outside.path().join("elsewhere"));
        let repo = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(repo.path().join("skills")).unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("elsewhere"),
            repo.path().join("skills/elsewhere"),
        )
        .unwrap();
        assert!(discover(repo.path()).is_empty());
    }

    #[test]
    fn a_manifest_linking_outside_the_tree_is_flagged() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.md"), "---\n").unwrap();
        let repo = tempfile::tempdir().unwrap();
        let dir = repo.path().join("skills/linked");
        std::fs::create_dir_all(&dir).unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret.md"), dir.join("SKILL.md")).unwrap();
        assert_eq!(
            names(&discover(repo.path()), repo.path()),
            ["outside:skills/linked/SKILL.md"]
        );
    }
}
