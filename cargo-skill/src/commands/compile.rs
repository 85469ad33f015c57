//! `cargo-skill __compile --tier T FILE` (hidden): the child `install`
//! compiles untrusted components in, under the limits `compile.rs` sets.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use skill_runtime::TrustTier;

use crate::exit;
use crate::setup;

#[derive(Debug, Args)]
pub struct CompileArgs {
    #[arg(long)]
    pub tier: TrustTier,
    pub file: PathBuf,
}

pub fn exec(args: CompileArgs) -> Result<u8> {
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("could not read {}", args.file.display()))?;
    setup::runtime().load(&bytes, args.tier)?;
    Ok(exit::SUCCESS)
}
