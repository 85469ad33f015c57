//! Finding skills under a path the way the ecosystem's installer does: the
//! path itself if it holds a manifest; else the children of the well-known
//! skill folders; else a bounded recursive search.

use std::path::{Path, PathBuf};

use crate::manifest::{MANIFEST_NAMES, find_manifest};

/// Folders whose children are skills, in the installer's priority order.
pub const PRIORITY_DIRS: &[&str] = &[
    "skills",
    "skills/.curated",
    "skills/.experimental",
    "skills/.system",
    ".agents/skills",
    ".claude/skills",
    ".codex/skills",
    ".cursor/skills",
    ".gemini/skills",
    ".github/skills",
    ".opencode/skills",
];

/// Never searched: vendored code and build output.
pub const SKIP_DIRS: &[&str] = &[".git", "node_modules", "target", "dist", "build"];
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
    let mut found = Vec::new();
    for dir in PRIORITY_DIRS {
        for child in sorted_children(&path.join(dir)) {
            if let Some(manifest) = find_manifest(&child) {
                found.push(check_inside(manifest, path));
            }
        }
    }
    if found.is_empty() {
        search(path, path, 0, &mut found);
    }
    found
}

fn is_manifest_name(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| MANIFEST_NAMES.contains(&n))
}

fn sorted_children(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut children: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    children.sort();
    children
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

        // Tier 2 wins over tier 3.
        skill(&root.join("skills/zeta"));
        skill(&root.join(".claude/skills/alpha"));
        assert_eq!(
            names(&discover(root), root),
            ["skills/zeta/SKILL.md", ".claude/skills/alpha/SKILL.md"]
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
