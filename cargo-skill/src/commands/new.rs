//! `cargo skill new NAME`: scaffold a prompt or tool skill.

use std::path::PathBuf;

use anyhow::{Result, anyhow};
use clap::Args;
use skill_runtime::manifest::CapabilityDecl;

use crate::author::scaffold::{NewSkill, SkillKind, scaffold};
use crate::exit;
use crate::output::GlobalArgs;

#[derive(Debug, Args)]
pub struct NewArgs {
    /// The skill's name: lowercase letters, digits and hyphens
    pub name: String,

    /// A tool skill: SKILL.md plus a Rust component (the default)
    #[arg(long, conflicts_with_all = ["prompt", "core"])]
    pub tool: bool,

    /// A core-module skill: skill.toml, SKILL.md and a Rust core module (docs/core-abi.md)
    #[arg(long, conflicts_with = "prompt")]
    pub core: bool,

    /// A prompt skill: SKILL.md and references only
    #[arg(long)]
    pub prompt: bool,

    /// Where to create it [default: ./NAME]
    #[arg(long, value_name = "DIR")]
    pub path: Option<PathBuf>,

    /// What the skill does and when to use it
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,

    /// Capabilities to declare, e.g. "http-get:api.example.com read-env:TZ"
    #[arg(long, value_name = "LIST")]
    pub capabilities: Option<String>,
}

pub fn exec(args: NewArgs, global: &GlobalArgs) -> Result<u8> {
    let capabilities = args
        .capabilities
        .as_deref()
        .unwrap_or("")
        .split_whitespace()
        .map(|token| {
            token
                .parse::<CapabilityDecl>()
                .map_err(|e| anyhow!("--capabilities: `{token}`: {e}"))
        })
        .collect::<Result<Vec<_>>>()?;
    if args.core && !capabilities.is_empty() {
        anyhow::bail!(
            "--capabilities does not apply to --core skills: declare them in skill.toml's [capabilities] (and SKILL.md)"
        );
    }
    let kind = match (args.prompt, args.core) {
        (true, _) => SkillKind::Prompt,
        (_, true) => SkillKind::Core,
        _ => SkillKind::Tool,
    };
    let done = scaffold(&NewSkill {
        name: args.name.clone(),
        kind,
        path: args.path,
        description: args.description,
        capabilities,
    })?;
    if !global.quiet {
        let what = match kind {
            SkillKind::Tool => "tool",
            SkillKind::Core => "core-module",
            SkillKind::Prompt => "prompt",
        };
        eprintln!(
            "     Created {what} skill `{}` in {}",
            args.name,
            done.dir.display()
        );
        if let Some(workspace) = &done.workspace {
            eprintln!(
                "       Added it to the workspace in {}",
                workspace.display()
            );
        }
        let next = match kind {
            SkillKind::Tool | SkillKind::Core => format!(
                "cd {} && cargo skill build --release && cargo skill run . --input '{{}}'",
                done.dir.display()
            ),
            SkillKind::Prompt => format!("cargo skill validate --strict {}", done.dir.display()),
        };
        eprintln!("        Next: {next}");
    }
    Ok(exit::SUCCESS)
}
