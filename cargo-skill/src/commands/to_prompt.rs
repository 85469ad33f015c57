//! `cargo skill to-prompt PATHS`: the `<available_skills>` block agents put
//! in their system prompts.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use skill_runtime::validate::{self, Options};

use crate::author::prompt::available_skills;
use crate::exit;

#[derive(Debug, Args)]
pub struct ToPromptArgs {
    /// Skill folders, SKILL.md files or repository roots [default: .]
    pub paths: Vec<PathBuf>,
}

pub fn exec(args: ToPromptArgs) -> Result<u8> {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths
    };
    let report = validate::load(&paths, Options::default());
    let (block, skipped) = available_skills(&report);
    println!("{block}");
    for diagnostic in &skipped {
        eprintln!(
            "warning: left out {}: {}",
            diagnostic.file.display(),
            diagnostic.message
        );
    }
    Ok(if skipped.is_empty() {
        exit::SUCCESS
    } else {
        exit::FAILURE
    })
}
