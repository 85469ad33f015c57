//! `cargo skill convert [PATH] [--force]`: write SKILL.md for a skill.toml skill.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::exit;

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The skill folder holding skill.toml
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Replace an existing SKILL.md
    #[arg(long)]
    pub force: bool,
}

pub fn exec(args: ConvertArgs) -> Result<u8> {
    let written = crate::author::convert::convert(&args.path, args.force)?;
    eprintln!("       Wrote {}", written.display());
    Ok(exit::SUCCESS)
}
