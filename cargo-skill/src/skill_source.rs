//! What `cargo skill run SKILL` was pointed at: a bare `.wasm` file, or a
//! skill folder with `SKILL.md` and its component.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

/// Manifest file names, in the order they are looked for.
pub const MANIFEST_NAMES: [&str; 2] = ["SKILL.md", "skill.md"];
/// The component a tool skill ships beside its manifest.
pub const COMPONENT_NAME: &str = "skill.wasm";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillSource {
    pub wasm: PathBuf,
    /// The name the skill runs under (`get-context`'s `skill-name`).
    pub name: String,
    /// The skill folder, when one was given; a bare `.wasm` has none, and no grants.
    pub folder: Option<PathBuf>,
}

pub fn resolve(path: &Path) -> Result<SkillSource> {
    if path.is_dir() {
        let Some(manifest) = MANIFEST_NAMES
            .iter()
            .map(|n| path.join(n))
            .find(|p| p.is_file())
        else {
            bail!(
                "{} is not a skill folder: it has no SKILL.md; create one with `cargo skill new`, or pass a .wasm file",
                path.display()
            );
        };
        let wasm = path.join(COMPONENT_NAME);
        if !wasm.is_file() {
            bail!(
                "{} has no {COMPONENT_NAME}: it is a prompt skill, or a tool skill that is not built yet; run `cargo skill build` in it",
                manifest.parent().unwrap_or(path).display()
            );
        }
        let name = folder_name(path);
        return Ok(SkillSource {
            wasm,
            name,
            folder: Some(path.to_path_buf()),
        });
    }
    if path.is_file() {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        return Ok(SkillSource {
            wasm: path.to_path_buf(),
            name,
            folder: None,
        });
    }
    bail!(
        "{} does not exist: pass a skill folder or a .wasm component",
        path.display()
    )
}

fn folder_name(path: &Path) -> String {
    // Canonical, so `.` and `..` name the real folder.
    let real = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    real.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_need_a_manifest_and_a_component() {
        let dir = tempfile::tempdir().unwrap();
        let skill = dir.path().join("weather");
        std::fs::create_dir(&skill).unwrap();
        let err = resolve(&skill).unwrap_err().to_string();
        assert!(err.contains("no SKILL.md"), "{err}");
        std::fs::write(skill.join("skill.md"), "---\n").unwrap();
        let err = resolve(&skill).unwrap_err().to_string();
        assert!(err.contains("cargo skill build"), "{err}");
        std::fs::write(skill.join("skill.wasm"), b"").unwrap();
        let got = resolve(&skill.join(".")).unwrap();
        assert_eq!(got.name, "weather");
        assert_eq!(got.folder.as_deref(), Some(skill.join(".").as_path()));
        let bare = resolve(&skill.join("skill.wasm")).unwrap();
        assert_eq!((bare.name.as_str(), bare.folder), ("skill", None));
        assert!(
            resolve(&dir.path().join("nope"))
                .unwrap_err()
                .to_string()
                .contains("does not exist")
        );
    }
}
