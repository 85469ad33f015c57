//! `cargo skill sign [SKILL]`: write `skill.sums` and `skill.sums.minisig`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use skill_runtime::manifest::{self, Mode, SkillManifest};

use crate::exit;
use crate::home;
use crate::keys;
use crate::signing;

#[derive(Debug, Args)]
pub struct SignArgs {
    /// The skill folder [default: .]
    #[arg(default_value = ".")]
    pub skill: PathBuf,

    /// The minisign secret key [default: $CARGO_SKILL_HOME/keys/default.key]
    #[arg(long, value_name = "SECRET_KEY")]
    pub key: Option<PathBuf>,
}

pub fn exec(args: SignArgs) -> Result<u8> {
    let manifest = signable(&args.skill)?;
    let key = secret_key_path(args.key)?;
    let (sk, pk) = keys::load_secret(&key)?;
    let version = manifest_version(&manifest)?;
    let signed = signing::sign(&args.skill, &manifest.name, &version, &sk, &pk)?;
    eprintln!(
        "      Signed {} v{} ({} files) with key {}; skill.sums sha256 {}",
        manifest.name, version, signed.files, signed.key_id, signed.claims.sums
    );
    Ok(exit::SUCCESS)
}

pub fn secret_key_path(key: Option<PathBuf>) -> Result<PathBuf> {
    match key {
        Some(key) => Ok(key),
        None => Ok(keys::key_paths(&home::home()?.keys_dir(), "default").0),
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
