//! `cargo skill sign [SKILL]`: write `skill.sums` and `skill.sums.minisig`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::exit;
use crate::signing;
use crate::signing::keys;
use crate::signing::signable::{manifest_version, secret_key_path, signable};

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
