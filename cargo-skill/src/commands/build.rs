//! `cargo skill build`: skill packages to checked `skill.wasm` components, or
//! `--wasm FILE` to adopt a component built by another toolchain.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use skill_runtime::Runtime;

use crate::author::build::{Artifact, CargoOptions, build_skills, finish};
use crate::author::componentize::BuildTarget;
use crate::diagnostics::{DiagnosticFormat, render};
use crate::exit;
use crate::output::GlobalArgs;
use crate::setup;

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Build only these skill packages
    #[arg(short, long = "package", value_name = "SPEC")]
    pub package: Vec<String>,

    /// Build every skill package in the workspace
    #[arg(long)]
    pub workspace: bool,

    /// Build optimized (what you publish)
    #[arg(short, long)]
    pub release: bool,

    /// The wasm target; core-module targets are componentized
    #[arg(long, value_enum, default_value_t = BuildTarget::Wasip2)]
    pub target: BuildTarget,

    #[arg(long, value_name = "DIR")]
    pub target_dir: Option<PathBuf>,

    /// Path to Cargo.toml
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,

    /// Require Cargo.lock to be up to date
    #[arg(long)]
    pub locked: bool,

    /// Run without accessing the network
    #[arg(long)]
    pub offline: bool,

    /// Parallel jobs
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<u32>,

    /// Adopt this component (built by any toolchain) into a skill folder
    #[arg(long, value_name = "FILE", conflicts_with_all = ["package", "workspace", "release", "target"])]
    pub wasm: Option<PathBuf>,

    /// The skill folder for --wasm
    #[arg(long, value_name = "DIR", default_value = ".", requires = "wasm")]
    pub skill: PathBuf,

    #[arg(long, value_enum, default_value_t = BuildFormat::Human)]
    pub message_format: BuildFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BuildFormat {
    Human,
    /// One JSON object per artifact on stdout, nothing else there
    Json,
}

pub fn exec(args: BuildArgs, global: &GlobalArgs) -> Result<u8> {
    let runtime = setup::runtime();
    let artifacts = match &args.wasm {
        Some(file) => {
            let bytes = std::fs::read(file)
                .with_context(|| format!("could not read {}", file.display()))?;
            vec![finish(
                &args.skill,
                &bytes,
                BuildTarget::Wasip2,
                None,
                &runtime,
            )?]
        }
        None => build_packages(&args, global, &runtime)?,
    };
    for artifact in &artifacts {
        report(
            artifact,
            args.message_format,
            global,
            args.release || args.wasm.is_some(),
        );
    }
    Ok(exit::SUCCESS)
}

fn build_packages(
    args: &BuildArgs,
    global: &GlobalArgs,
    runtime: &Runtime,
) -> Result<Vec<Artifact>> {
    let options = CargoOptions {
        manifest_path: args.manifest_path.clone(),
        packages: args.package.clone(),
        workspace: args.workspace,
        release: args.release,
        target: args.target,
        target_dir: args.target_dir.clone(),
        locked: args.locked,
        offline: args.offline,
        jobs: args.jobs,
        quiet: global.quiet,
        verbose: global.verbose,
        color: global.color,
    };
    Ok(build_skills(&options, runtime)?
        .into_iter()
        .map(|(_, artifact)| artifact)
        .collect())
}

fn report(artifact: &Artifact, format: BuildFormat, global: &GlobalArgs, optimized: bool) {
    if format == BuildFormat::Json {
        println!(
            "{}",
            serde_json::to_string(artifact).expect("artifacts serialize")
        );
        return;
    }
    if global.quiet {
        return;
    }
    eprintln!(
        "       Built skill `{}` -> {} ({:.1} KiB, sha256 {})",
        artifact.name,
        artifact.path.display(),
        artifact.size as f64 / 1024.0,
        artifact.sha256
    );
    let imports = if artifact.imports.is_empty() {
        "none".to_string()
    } else {
        artifact.imports.join(" ")
    };
    eprintln!("             host imports: {imports}");
    for warning in &artifact.warnings {
        eprint!(
            "{}",
            render(warning, DiagnosticFormat::Human, global.stderr_colors())
        );
    }
    if !optimized {
        eprintln!(
            "        note: a debug build is large and slow under fuel limits; publish the output of `--release`"
        );
    }
}
