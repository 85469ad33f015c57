//! `cargo skill publish`: validate, build, test and sign each skill, then
//! commit, tag and push them to a git repository in one go.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use skill_runtime::manifest::{Diagnostic, Mode, Severity, SkillManifest};
use skill_runtime::validate::{self, Options};
use skill_runtime::{Runtime, discover};

use crate::author::build::{CargoOptions, build_skills};
use crate::author::test_runner::{RunOptions, run_skill};
use crate::diagnostics::{DiagnosticFormat, render};
use crate::exit;
use crate::git_remote;
use crate::output::GlobalArgs;
use crate::publish::release::{self, SignedSkill, Target};
use crate::setup;
use crate::signing;
use crate::signing::keys;
use crate::signing::signable::{manifest_version, secret_key_path, signable};

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The skill folder [default: .]
    #[arg(conflicts_with = "workspace")]
    pub skill: Option<PathBuf>,

    /// Publish every skill found under the current folder
    #[arg(long)]
    pub workspace: bool,

    /// Where to publish: OWNER/NAME (on GitHub, or CARGO_SKILL_GITHUB_URL) or a git URL
    #[arg(long, value_name = "OWNER/NAME|URL")]
    pub repo: String,

    #[arg(long, default_value = "main")]
    pub branch: String,

    /// Show the commit and tags without pushing
    #[arg(long)]
    pub dry_run: bool,

    /// Do not run the skills' test cases first
    #[arg(long)]
    pub no_test: bool,

    /// The minisign secret key [default: $CARGO_SKILL_HOME/keys/default.key]
    #[arg(long, value_name = "SECRET_KEY")]
    pub key: Option<PathBuf>,

    /// Where tool skills are built
    #[arg(long, value_name = "DIR")]
    pub target_dir: Option<PathBuf>,
}

pub fn exec(args: PublishArgs, global: &GlobalArgs) -> Result<u8> {
    let folders = skill_folders(&args)?;
    let (sk, pk) = keys::load_secret(&secret_key_path(args.key.clone())?)?;
    let runtime = setup::runtime();
    let mut prepared = Vec::new();
    for dir in &folders {
        match prepare(dir, &args, global, &runtime, (&sk, &pk))? {
            Some(skill) => prepared.push(skill),
            None => return Ok(exit::FAILURE),
        }
    }
    let url = git_remote::repo_url(&args.repo);
    let cache_dir = setup::home()?.cache_dir();
    let target = Target {
        url: &url,
        branch: &args.branch,
        cache_dir: &cache_dir,
        dry_run: args.dry_run,
        quiet: global.quiet,
    };
    let outcome = match release::publish(&target, &prepared) {
        Ok(outcome) => outcome,
        Err(e) if e.is_refusal() => {
            eprintln!("error: {e}");
            return Ok(exit::FAILURE);
        }
        Err(e) => return Err(e.into()),
    };
    for skill in &outcome.unchanged {
        eprintln!("   Unchanged {skill}: already published with the same content");
    }
    let Some(commit) = &outcome.commit else {
        eprintln!("     Nothing to publish to {url}");
        return Ok(exit::SUCCESS);
    };
    let verb = if args.dry_run { "Would push" } else { "Pushed" };
    eprintln!(
        "{verb:>12} commit {commit} onto {} ({} {}):",
        outcome.parent.as_deref().unwrap_or("an empty branch"),
        url,
        args.branch
    );
    for path in &outcome.changed_paths {
        eprintln!("              {path}");
    }
    for tag in &outcome.tags {
        eprintln!(
            "{:>12} tag {tag}",
            if args.dry_run { "Would push" } else { "Pushed" }
        );
    }
    Ok(exit::SUCCESS)
}

fn skill_folders(args: &PublishArgs) -> Result<Vec<PathBuf>> {
    if !args.workspace {
        return Ok(vec![
            args.skill.clone().unwrap_or_else(|| PathBuf::from(".")),
        ]);
    }
    let folders: Vec<PathBuf> = discover::discover(Path::new("."))
        .into_iter()
        .filter_map(|found| match found {
            discover::Found::Manifest(path) => path.parent().map(Path::to_path_buf),
            discover::Found::OutsideTree { .. } => None,
        })
        .collect();
    if folders.is_empty() {
        bail!("no skills under the current folder: run from a repository with skills, or name one");
    }
    Ok(folders)
}

/// Build (tool skills with a Cargo.toml), validate, test and sign one
/// folder. `None` when a check failed (already reported).
fn prepare(
    dir: &Path,
    args: &PublishArgs,
    global: &GlobalArgs,
    runtime: &Runtime,
    (sk, pk): (&minisign::SecretKey, &minisign::PublicKey),
) -> Result<Option<SignedSkill>> {
    let manifest = signable(dir)?;
    let version = manifest_version(&manifest)?;
    // A release is tagged `<name>-v<version>`: the short forms validate
    // reads leniently ("1.0") are not enough here.
    let written = manifest.metadata.get("version").map(|v| v.trim());
    if written != Some(version.as_str()) {
        bail!(
            "{}: `metadata.version: {}` is not a full semantic version; publish tags releases by it: write `version: \"{version}\"`",
            manifest.path.display(),
            written.unwrap_or_default()
        );
    }
    if dir.join("Cargo.toml").is_file() {
        let options = CargoOptions {
            manifest_path: Some(dir.join("Cargo.toml")),
            release: true,
            target_dir: args.target_dir.clone(),
            quiet: global.quiet,
            verbose: global.verbose,
            color: global.color,
            ..Default::default()
        };
        build_skills(&options, runtime)
            .with_context(|| format!("building {} failed: nothing was published", manifest.name))?;
    }
    // What is published must pass the reference validator (strict) and be
    // usable by this toolchain (lenient): an error in either mode refuses.
    let strict = Options { mode: Mode::Strict };
    let report = validate::validate(&[dir.to_path_buf()], strict, Some(runtime));
    let errors: Vec<Diagnostic> = report
        .all()
        .filter(|d| {
            d.severity == Severity::Error || d.code.severity(Mode::Lenient) == Severity::Error
        })
        .map(|d| Diagnostic {
            severity: Severity::Error,
            ..d.clone()
        })
        .collect();
    if !errors.is_empty() {
        for diagnostic in &errors {
            eprintln!(
                "{}",
                render(diagnostic, DiagnosticFormat::Human, global.stderr_colors())
            );
        }
        eprintln!(
            "error: {} does not validate: nothing was published",
            manifest.name
        );
        return Ok(None);
    }
    // What agents will read and run is scanned too: high and above refuses.
    if let Err(refused) = crate::scanning::gate::pass(dir, &manifest.name, "published", &[]) {
        eprintln!("error: {refused:#}");
        return Ok(None);
    }
    // The name becomes `skills/<name>/` in the published tree; validation
    // refused every invalid one, and this says so again where it matters.
    skill_runtime::manifest::skill_name::check(&manifest.name)
        .with_context(|| manifest.path.display().to_string())?;
    if !args.no_test && !tests_pass(&manifest, runtime) {
        return Ok(None);
    }
    let signed = signing::sign(dir, &manifest.name, &version, sk, pk)?;
    if !global.quiet {
        eprintln!(
            "      Signed {} v{version} ({} files) with key {}",
            manifest.name, signed.files, signed.key_id
        );
    }
    Ok(Some(SignedSkill {
        dir: dir.to_path_buf(),
        name: manifest.name.clone(),
        version: version.parse().context("metadata.version")?,
        description: manifest.description.clone(),
        sums: signed.claims.sums,
        signer: signed.key_id,
    }))
}

fn tests_pass(manifest: &SkillManifest, runtime: &Runtime) -> bool {
    let results = run_skill(manifest, runtime, RunOptions::default());
    let failed: Vec<_> = results.iter().filter(|r| !r.passed).collect();
    for r in &failed {
        eprintln!(
            "error: test {}::{} failed: {}",
            r.skill,
            r.name,
            r.failure.as_deref().unwrap_or("")
        );
    }
    if !failed.is_empty() {
        eprintln!(
            "error: {} has failing tests: nothing was published (fix them, or pass --no-test)",
            manifest.name
        );
    }
    failed.is_empty()
}
