//! What a skill folder holds, file by file: the digest an install records
//! (unversioned skills are tracked by it, `--locked` compares it) and the
//! per-file changes `update` shows.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Result, bail};

use crate::install::files::SkillFiles;
use crate::signing::{self, sha256_hex};
use skill_runtime::store::installed::META_FILE;

/// Relative path → sha256 of the file, for every file a skill installs
/// (as signed: no `.git`, `target`, `node_modules`, `skill.sums` or its
/// signature, and never install metadata).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Content {
    pub files: BTreeMap<String, String>,
}

impl Content {
    /// The content of a skill about to be installed, links inside its
    /// source read as what they lead to. An install metadata file of its
    /// own refuses it.
    pub fn of_source(files: &SkillFiles) -> Result<Content> {
        let mut content = Content::default();
        for (file, beneath) in &files.files {
            if file == META_FILE {
                bail!(
                    "it ships {META_FILE}, which only `cargo skill install` writes: a skill cannot bring its own grants or tier; remove the file"
                );
            }
            content
                .files
                .insert(file.clone(), sha256_hex(&files.bytes(beneath)?.0));
        }
        Ok(content)
    }

    /// The content of an installed skill, its metadata aside.
    pub fn of_installed(dir: &Path) -> Result<Content> {
        let mut content = Content::read(dir)?;
        content.files.remove(META_FILE);
        Ok(content)
    }

    fn read(dir: &Path) -> Result<Content> {
        let mut files = BTreeMap::new();
        for file in signing::skill_files(dir)? {
            let bytes = std::fs::read(dir.join(&file))?;
            files.insert(file, sha256_hex(&bytes));
        }
        Ok(Content { files })
    }

    /// sha256 over `sha256sum`-style lines, one per file in path order.
    pub fn digest(&self) -> String {
        let listing: String = self
            .files
            .iter()
            .map(|(path, hash)| format!("{hash}  {path}\n"))
            .collect();
        sha256_hex(listing.as_bytes())
    }

    /// `+ added`, `- removed`, `~ changed`, by path.
    pub fn changes_to(&self, newer: &Content) -> Vec<String> {
        let mut out = Vec::new();
        for (path, hash) in &newer.files {
            match self.files.get(path) {
                None => out.push(format!("+ {path}")),
                Some(old) if old != hash => out.push(format!("~ {path}")),
                Some(_) => {}
            }
        }
        out.extend(
            self.files
                .keys()
                .filter(|p| !newer.files.contains_key(*p))
                .map(|p| format!("- {p}")),
        );
        out.sort_by(|a, b| a[2..].cmp(&b[2..]));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_and_changes_follow_the_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("SKILL.md"), "a").unwrap();
        std::fs::create_dir(dir.path().join("scripts")).unwrap();
        std::fs::write(dir.path().join("scripts/run.sh"), "x").unwrap();
        let before =
            Content::of_source(&SkillFiles::read(dir.path(), dir.path(), dir.path()).unwrap())
                .unwrap();
        assert_eq!(
            before.digest(),
            Content::of_source(&SkillFiles::read(dir.path(), dir.path(), dir.path()).unwrap())
                .unwrap()
                .digest()
        );
        std::fs::write(dir.path().join("SKILL.md"), "b").unwrap();
        std::fs::remove_file(dir.path().join("scripts/run.sh")).unwrap();
        std::fs::write(dir.path().join("notes.md"), "n").unwrap();
        let after =
            Content::of_source(&SkillFiles::read(dir.path(), dir.path(), dir.path()).unwrap())
                .unwrap();
        assert_ne!(before.digest(), after.digest());
        assert_eq!(
            before.changes_to(&after),
            ["~ SKILL.md", "+ notes.md", "- scripts/run.sh"]
        );
        std::fs::write(dir.path().join(META_FILE), "trust-tier = \"local\"").unwrap();
        let err =
            Content::of_source(&SkillFiles::read(dir.path(), dir.path(), dir.path()).unwrap())
                .unwrap_err()
                .to_string();
        assert!(err.contains("cannot bring its own grants"), "{err}");
        assert_eq!(Content::of_installed(dir.path()).unwrap(), after);
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("link")).unwrap();
        assert!(Content::of_installed(dir.path()).is_err());
    }
}
