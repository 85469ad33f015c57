//! What signing needs from a skill folder: its manifest, the version a
//! signature binds, and where the operator's secret key is.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use skill_runtime::manifest::{self, Mode, SkillManifest};

use crate::setup;
use crate::signing::keys;

/// The secret key to sign with: the one given, else the home's default.
pub fn secret_key_path(key: Option<PathBuf>) -> Result<PathBuf> {
    match key {
        Some(key) => Ok(key),
        None => Ok(keys::key_paths(&setup::home()?.keys_dir(), "default").0),
    }
}

/// The manifest of a folder about to be signed or verified.
pub fn signable(dir: &Path) -> Result<SkillManifest> {
    let path = manifest::find_manifest(dir).with_context(|| {
        format!(
            "{} is not a skill folder: it has no SKILL.md",
            dir.display()
        )
    })?;
    let parsed = manifest::parse_file(&path, Mode::Lenient);
    parsed
        .manifest
        .filter(|m| !m.name.is_empty())
        .with_context(|| {
            format!(
                "{} cannot be read as a skill manifest: run `cargo skill validate {}`",
                path.display(),
                dir.display()
            )
        })
}

pub fn manifest_version(manifest: &SkillManifest) -> Result<String> {
    match &manifest.ext.version {
        Some(version) => Ok(version.to_string()),
        None => bail!(
            "{} has no `metadata.version`: a signature binds a version; add e.g. `version: \"0.1.0\"` under metadata",
            manifest.path.display()
        ),
    }
}
