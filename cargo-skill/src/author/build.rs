//! `cargo skill build`: compile skill packages with cargo, turn the output
//! into a checked component, and write it as the skill's `skill.wasm`.
//! Nothing is written unless the component passes its checks, so a bad
//! build never replaces the last good one.

use std::io::{BufReader, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use cargo_metadata::{Message, MetadataCommand, Package};
use serde::Serialize;
use sha2::{Digest, Sha256};
use skill_runtime::manifest::{self, Diagnostic, Mode, Severity, SkillManifest};
use skill_runtime::validate::component::check_bytes;
use skill_runtime::{LoadError, Runtime, TrustTier};

use crate::author::componentize::{BuildTarget, componentize};
use crate::author::strip::strip;
use crate::diagnostics::{DiagnosticFormat, render};
use crate::output::ColorChoice;
use crate::output::Palette;

/// Cargo's own flags, passed through.
#[derive(Debug, Clone, Default)]
pub struct CargoOptions {
    pub manifest_path: Option<PathBuf>,
    pub packages: Vec<String>,
    pub workspace: bool,
    pub release: bool,
    pub target: BuildTarget,
    pub target_dir: Option<PathBuf>,
    pub locked: bool,
    pub offline: bool,
    pub jobs: Option<u32>,
    pub quiet: bool,
    pub verbose: u8,
    pub color: ColorChoice,
}

/// A workspace package that is a skill.
#[derive(Debug, Clone)]
pub struct SkillPackage {
    pub name: String,
    pub dir: PathBuf,
    pub manifest_path: PathBuf,
    /// The `wasm32` artifact's file stem (the lib target name).
    pub lib_name: String,
    pub repository: Option<String>,
}

/// What a build wrote, for people and for `--message-format json`.
#[derive(Debug, Clone, Serialize)]
pub struct Artifact {
    pub reason: &'static str,
    pub name: String,
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
    /// Host functions of the skill world the component imports.
    pub imports: Vec<String>,
    /// Lint warnings (errors stop the build).
    pub warnings: Vec<Diagnostic>,
}

/// The skill packages to build: those named with `-p`, all with
/// `--workspace` or when the manifest is a virtual workspace, else the
/// package whose manifest was given (or found from the current folder).
pub fn find_skill_packages(options: &CargoOptions) -> Result<Vec<SkillPackage>> {
    let mut command = MetadataCommand::new();
    command.no_deps();
    if let Some(path) = &options.manifest_path {
        command.manifest_path(path);
    }
    let mut other_args = Vec::new();
    if options.offline {
        other_args.push("--offline".to_string());
    }
    if options.locked {
        other_args.push("--locked".to_string());
    }
    command.other_options(other_args);
    let metadata = command.exec().map_err(|e| match e {
        cargo_metadata::Error::CargoMetadata { stderr } if stderr.contains("could not find `Cargo.toml`") => anyhow::anyhow!(
            "no Cargo.toml here or above: run `cargo skill build` in a skill created by `cargo skill new --tool`, pass --manifest-path, or adopt a component built elsewhere with `--wasm FILE`"
        ),
        other => anyhow::anyhow!("cargo metadata failed: {other}"),
    })?;
    let members: Vec<&Package> = metadata.workspace_packages();
    let skills: Vec<&Package> = members.iter().copied().filter(|p| is_skill(p)).collect();

    let chosen: Vec<&Package> = if !options.packages.is_empty() {
        options
            .packages
            .iter()
            .map(|name| {
                let found = members.iter().find(|p| p.name.as_str() == name.as_str());
                match found {
                    Some(p) if is_skill(p) => Ok(*p),
                    Some(_) => bail!("package `{name}` is not a skill: it has no SKILL.md beside its Cargo.toml and no [package.metadata.skill]"),
                    None => bail!("no package `{name}` in this workspace; skill packages: {}", names(&skills)),
                }
            })
            .collect::<Result<_>>()?
    } else {
        let manifest = options
            .manifest_path
            .clone()
            .map_or_else(|| std::env::current_dir().map(|d| d.join("Cargo.toml")), Ok)?;
        let manifest = manifest.canonicalize().unwrap_or(manifest);
        match members
            .iter()
            .find(|p| p.manifest_path.as_std_path() == manifest)
        {
            Some(p) if !options.workspace => {
                if !is_skill(p) {
                    bail!(
                        "package `{}` is not a skill: add a SKILL.md beside {} (see `cargo skill new`)",
                        p.name,
                        p.manifest_path
                    );
                }
                vec![*p]
            }
            _ => skills.clone(),
        }
    };
    if chosen.is_empty() {
        bail!(
            "no skill packages in this workspace: a skill package has a SKILL.md beside its Cargo.toml"
        );
    }
    chosen.into_iter().map(skill_package).collect()
}

fn is_skill(package: &Package) -> bool {
    let dir = package
        .manifest_path
        .parent()
        .expect("manifests live in folders");
    manifest::find_manifest(dir.as_std_path()).is_some() || package.metadata.get("skill").is_some()
}

/// A core-module skill: its folder has a `skill.toml`.
pub fn is_core_skill(dir: &Path) -> bool {
    dir.join(manifest::skill_toml::FILE_NAME).is_file()
}

fn names(packages: &[&Package]) -> String {
    if packages.is_empty() {
        "none".into()
    } else {
        packages
            .iter()
            .map(|p| p.name.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn skill_package(package: &Package) -> Result<SkillPackage> {
    let lib = package.targets.iter().find(|t| t.kind.iter().any(|k| k.to_string() == "cdylib")).with_context(|| {
        format!("package `{}` is not a cdylib, so it builds no .wasm: add `[lib]\\ncrate-type = [\"cdylib\"]` to {}", package.name, package.manifest_path)
    })?;
    Ok(SkillPackage {
        name: package.name.to_string(),
        dir: package
            .manifest_path
            .parent()
            .expect("manifests live in folders")
            .as_std_path()
            .to_path_buf(),
        manifest_path: package.manifest_path.as_std_path().to_path_buf(),
        lib_name: lib.name.replace('-', "_"),
        repository: package.repository.clone(),
    })
}

/// Installs the rustup target when it is missing, and says so.
pub fn ensure_target(triple: &str, quiet: bool) -> Result<()> {
    let listed = match Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
    {
        Ok(out) => out,
        Err(_) => {
            let sysroot = Command::new("rustc")
                .args(["--print", "sysroot"])
                .output()
                .ok();
            let present = sysroot.is_some_and(|o| {
                Path::new(String::from_utf8_lossy(&o.stdout).trim())
                    .join("lib/rustlib")
                    .join(triple)
                    .is_dir()
            });
            if present {
                return Ok(());
            }
            bail!(
                "the {triple} target is not installed and rustup is not available to install it: install the {triple} standard library for your Rust toolchain"
            );
        }
    };
    if String::from_utf8_lossy(&listed.stdout)
        .lines()
        .any(|l| l.trim() == triple)
    {
        return Ok(());
    }
    if !quiet {
        eprintln!("  Installing rustup target {triple} (it was missing)");
    }
    let status = Command::new("rustup")
        .args(["target", "add", triple])
        .status()
        .context("running rustup")?;
    if !status.success() {
        bail!("`rustup target add {triple}` failed; run it yourself and build again");
    }
    Ok(())
}

/// Runs cargo with diagnostics rendered to stderr as cargo renders them,
/// and returns each package's `.wasm` artifact.
pub fn cargo_build(
    options: &CargoOptions,
    packages: &[SkillPackage],
) -> Result<Vec<(SkillPackage, PathBuf)>> {
    if let Some(dir) = &options.target_dir {
        check_writable(dir)?;
    }
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.args([
        "build",
        "--message-format",
        "json-render-diagnostics",
        "--target",
        options.target.triple(),
    ]);
    for package in packages {
        command.args(["-p", &package.name]);
    }
    if let Some(path) = &options.manifest_path {
        command.arg("--manifest-path").arg(path);
    }
    if let Some(dir) = &options.target_dir {
        command.arg("--target-dir").arg(dir);
    }
    if let Some(jobs) = options.jobs {
        command.args(["-j", &jobs.to_string()]);
    }
    let flags = [
        (options.release, "--release"),
        (options.locked, "--locked"),
        (options.offline, "--offline"),
        (options.quiet, "-q"),
    ];
    command.args(flags.iter().filter(|(on, _)| *on).map(|(_, flag)| *flag));
    command.args((0..options.verbose).map(|_| "-v"));
    command.args([
        "--color",
        match options.color {
            ColorChoice::Auto => "auto",
            ColorChoice::Always => "always",
            ColorChoice::Never => "never",
        },
    ]);
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("could not run cargo")?;
    let mut artifacts = Vec::new();
    for message in Message::parse_stream(BufReader::new(child.stdout.take().expect("piped"))) {
        if let Message::CompilerArtifact(artifact) = message.context("reading cargo's output")? {
            let wasm = artifact
                .filenames
                .iter()
                .find(|f| f.extension() == Some("wasm"));
            let package = packages.iter().find(|p| {
                artifact.target.name.replace('-', "_") == p.lib_name
                    && artifact.manifest_path.as_std_path() == p.manifest_path
            });
            if let (Some(wasm), Some(package)) = (wasm, package) {
                artifacts.push((package.clone(), wasm.as_std_path().to_path_buf()));
            }
        }
    }
    let status = child.wait().context("waiting for cargo")?;
    if !status.success() {
        bail!(
            "cargo could not build {}: fix the errors above",
            packages
                .iter()
                .map(|p| format!("`{}`", p.name))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(artifacts)
}

fn check_writable(dir: &Path) -> Result<()> {
    skill_runtime::atomic_file::probe_writable(dir).with_context(|| format!("the target directory {} is not writable: pass --target-dir with a folder you can write to", dir.display()))
}

/// The whole pipeline: find the skill packages, make sure the target is
/// installed, build with cargo, then check and write each component (with a
/// progress bar when several are checked on a terminal).
pub fn build_skills(
    options: &CargoOptions,
    runtime: &Runtime,
) -> Result<Vec<(SkillPackage, Artifact)>> {
    let packages = find_skill_packages(options)?;
    // Core-module skills (with a skill.toml) build for wasm32-unknown-unknown.
    let (core, components): (Vec<SkillPackage>, Vec<SkillPackage>) =
        packages.into_iter().partition(|p| is_core_skill(&p.dir));
    let mut built = Vec::new();
    for (packages, target) in [(components, options.target), (core, BuildTarget::Unknown)] {
        if packages.is_empty() {
            continue;
        }
        ensure_target(target.triple(), options.quiet)?;
        let options = CargoOptions {
            target,
            ..options.clone()
        };
        built.extend(
            cargo_build(&options, &packages)?
                .into_iter()
                .map(|b| (b, target)),
        );
    }
    let progress =
        (built.len() > 1 && !options.quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(built.len() as u64);
            let style = indicatif::ProgressStyle::with_template(
                "    Checking [{bar:30}] {pos}/{len} {msg}",
            )
            .expect("valid template");
            bar.set_style(style.progress_chars("=> "));
            bar
        });
    let mut artifacts = Vec::new();
    for ((package, wasm), target) in built {
        if let Some(bar) = &progress {
            bar.set_message(package.name.clone());
        }
        let bytes =
            std::fs::read(&wasm).with_context(|| format!("could not read {}", wasm.display()))?;
        let artifact = finish(
            &package.dir,
            &bytes,
            target,
            package.repository.as_deref(),
            runtime,
        )?;
        artifacts.push((package, artifact));
        if let Some(bar) = &progress {
            bar.inc(1);
        }
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    Ok(artifacts)
}

/// Turns built wasm into the skill's checked, stamped `skill.wasm`.
pub fn finish(
    skill_dir: &Path,
    built: &[u8],
    target: BuildTarget,
    repository: Option<&str>,
    runtime: &Runtime,
) -> Result<Artifact> {
    let manifest_path = manifest::find_manifest(skill_dir).with_context(|| {
        format!(
            "{} has no SKILL.md: a skill needs one beside its Cargo.toml (see `cargo skill new`)",
            skill_dir.display()
        )
    })?;
    let parsed = manifest::parse_file(&manifest_path, Mode::Lenient);
    let manifest = parsed.manifest.with_context(|| {
        let first = parsed
            .diagnostics
            .first()
            .map(ToString::to_string)
            .unwrap_or_default();
        format!(
            "{} cannot be read: {first}; run `cargo skill validate` for details",
            manifest_path.display()
        )
    })?;
    let core = is_core_skill(skill_dir);
    let component = match (
        core,
        target,
        skill_runtime::engine::component_check::check_preamble(built),
    ) {
        // Core skills stay core modules: the runtime runs them as they are.
        (true, _, Err(LoadError::CoreModule)) => built.to_vec(),
        (true, _, _) => bail!(
            "{} has a skill.toml, so it is a core-module skill, but the build produced a component: build it for wasm32-unknown-unknown (`cargo skill build` does for packages with a skill.toml)",
            skill_dir.display()
        ),
        (false, BuildTarget::Wasip2, _) | (false, _, Ok(())) => built.to_vec(),
        (false, _, Err(LoadError::CoreModule)) => componentize(built, target)?,
        (false, _, Err(e)) => return Err(e.into()),
    };
    let component = stamp(&strip(&component)?, &manifest, skill_dir, repository)?;

    let diagnostics = check_bytes(&manifest, &component, runtime, Mode::Lenient);
    let (errors, warnings): (Vec<_>, Vec<_>) = diagnostics
        .into_iter()
        .partition(|d| d.severity == Severity::Error);
    if !errors.is_empty() {
        let list: Vec<String> = errors
            .iter()
            .map(|d| render(d, DiagnosticFormat::Human, Palette::default()))
            .collect();
        bail!(
            "the component for `{}` fails its checks, so {} was left as it was:\n{}",
            manifest.name,
            manifest.wasm_path().display(),
            list.join("\n")
        );
    }
    // Served from the runtime's memory: `check_bytes` just loaded these bytes.
    let imports = runtime
        .load(&component, TrustTier::Untrusted)?
        .host_functions()
        .to_vec();
    let path = manifest.wasm_path();
    write_atomically(&path, &component)?;
    Ok(Artifact {
        reason: "skill-artifact",
        name: manifest.name.clone(),
        size: component.len() as u64,
        sha256: hex::encode(Sha256::digest(&component)),
        path,
        imports,
        warnings,
    })
}

/// Name, version, source and revision in the component's metadata.
fn stamp(
    component: &[u8],
    manifest: &SkillManifest,
    dir: &Path,
    repository: Option<&str>,
) -> Result<Vec<u8>> {
    use wasm_metadata::{AddMetadata, AddMetadataField, Description, Revision, Source, Version};
    fn set<T: std::fmt::Debug + Clone>(value: Option<T>) -> AddMetadataField<T> {
        value.map_or(AddMetadataField::Keep, AddMetadataField::Set)
    }
    let revision = git2::Repository::discover(dir).ok().and_then(|r| {
        r.head()
            .ok()?
            .peel_to_commit()
            .ok()
            .map(|c| c.id().to_string())
    });
    let mut add = AddMetadata::default();
    add.name = AddMetadataField::Set(manifest.name.clone());
    add.version = set(manifest
        .ext
        .version
        .as_ref()
        .map(|v| Version::new(v.to_string())));
    add.description =
        AddMetadataField::Set(Description::new(manifest.description.trim().to_string()));
    add.source = set(repository.and_then(|r| Source::new(r).ok()));
    add.revision = set(revision.map(Revision::new));
    add.processed_by = vec![("cargo-skill".into(), env!("CARGO_PKG_VERSION").into())];
    add.to_wasm(component)
        .context("stamping metadata into the component")
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    skill_runtime::atomic_file::write(path, bytes, 0o644).with_context(|| {
        format!(
            "could not write {}: is its folder writable?",
            path.display()
        )
    })
}
