//! `cargo skill validate [PATHS]`: spec, extensions, components, relations.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use skill_runtime::manifest::{Mode, Severity};
use skill_runtime::validate::{self, Options};

use crate::diagnostics::{DiagnosticFormat, Summary, render, render_summary};
use crate::exit;
use crate::output::GlobalArgs;
use crate::setup;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Skill folders, SKILL.md files or repository roots [default: .]
    pub paths: Vec<PathBuf>,

    /// Parity with the agentskills.io reference validator: only the six
    /// fields, the strict YAML subset, names matching folders
    #[arg(long)]
    pub strict: bool,

    /// Fail on warnings too
    #[arg(long)]
    pub deny_warnings: bool,

    /// Do not load tool skills' components
    #[arg(long)]
    pub no_components: bool,

    #[arg(long, value_enum, default_value_t = DiagnosticFormat::Human)]
    pub message_format: DiagnosticFormat,
}

pub fn exec(args: ValidateArgs, global: &GlobalArgs) -> Result<u8> {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths
    };
    let options = Options {
        mode: if args.strict {
            Mode::Strict
        } else {
            Mode::Lenient
        },
    };
    let runtime = (!args.no_components).then(setup::runtime);
    let report = validate::validate(&paths, options, runtime.as_ref());

    let palette = global.stdout_colors();
    for diagnostic in report.all() {
        println!("{}", render(diagnostic, args.message_format, palette));
    }
    let summary = Summary {
        skills: report.skills.len(),
        errors: report.count(Severity::Error),
        warnings: report.count(Severity::Warning),
    };
    if !global.quiet || args.message_format == DiagnosticFormat::Json {
        println!("{}", render_summary(summary, args.message_format, palette));
    }
    let failed = summary.errors > 0 || (args.deny_warnings && summary.warnings > 0);
    Ok(if failed { exit::FAILURE } else { exit::SUCCESS })
}
