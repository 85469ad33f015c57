//! `cargo skill to-prompt PATHS`: the `<available_skills>` block agents put
//! in their system prompts.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use skill_runtime::validate::{self, Options};

use crate::exit;
use skill_runtime::serving::prompt::available_skills;

#[derive(Debug, Args)]
pub struct ToPromptArgs {
    /// Skill folders, SKILL.md files, repository roots or installed skills' names [default: .]
    pub paths: Vec<PathBuf>,
}

pub fn exec(args: ToPromptArgs) -> Result<u8> {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths
            .iter()
            .map(|p| crate::setup::skill_path(p))
            .collect::<Result<_>>()?
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
