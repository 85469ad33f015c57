//! `cargo skill convert`: the `SKILL.md` a `skill.toml` skill needs to be
//! published in the agentskills.io layout, saying exactly what `skill.toml`
//! says (the two must agree; `validate` checks that they do).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use skill_runtime::manifest::extensions::check_skill_name;
use skill_runtime::manifest::{self, DEFAULT_WASM, Mode, Severity, SkillManifest, skill_toml};

use crate::author::scaffold::{title_case, yaml_string};

/// Writes `SKILL.md` beside the `skill.toml` in `dir`; returns its path.
pub fn convert(dir: &Path, force: bool) -> Result<PathBuf> {
    let toml_path = dir.join(skill_toml::FILE_NAME);
    if !toml_path.is_file() {
        bail!("{} has no skill.toml to convert", dir.display());
    }
    let parsed = skill_toml::parse_file(&toml_path, Mode::Lenient);
    let errors: Vec<String> = parsed
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(ToString::to_string)
        .collect();
    let Some(toml) = parsed.manifest.filter(|_| errors.is_empty()) else {
        bail!("fix skill.toml first:\n  {}", errors.join("\n  "));
    };
    let target = dir.join("SKILL.md");
    if target.exists() && !force {
        bail!(
            "{} exists: pass --force to replace it with one written from skill.toml",
            target.display()
        );
    }
    let text = skill_md(&toml)?;
    skill_runtime::atomic_file::write(&target, text.as_bytes(), 0o644)
        .with_context(|| format!("could not write {}", target.display()))?;
    let check = manifest::parse_file(&target, Mode::Lenient);
    let disagreements: Vec<String> = check
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(ToString::to_string)
        .collect();
    if !disagreements.is_empty() {
        bail!(
            "wrote {}, but it does not check out:\n  {}",
            target.display(),
            disagreements.join("\n  ")
        );
    }
    Ok(target)
}

/// The `SKILL.md` text for a manifest read from `skill.toml`.
pub fn skill_md(toml: &SkillManifest) -> Result<String> {
    let name = skill_toml::spec_name(&toml.name);
    check_skill_name(&name).map_err(|e| {
        anyhow::anyhow!(
            "`{}` has no agentskills.io form (`{name}`: {e}): rename it in skill.toml to lowercase letters, digits and hyphens",
            toml.name
        )
    })?;
    let ext = &toml.ext;
    let mut metadata = vec![("skill-type".to_string(), "tool".to_string())];
    if let Some(version) = &ext.version {
        metadata.insert(0, ("version".into(), version.to_string()));
    }
    let caps: Vec<String> = ext.capabilities.iter().map(ToString::to_string).collect();
    if !caps.is_empty() {
        metadata.push(("capabilities".into(), caps.join(" ")));
    }
    let r = &ext.resources;
    let mut resources = Vec::new();
    if let Some(fuel) = r.fuel {
        resources.push(format!("fuel={fuel}"));
    }
    if let Some(bytes) = r.memory_bytes {
        resources.push(format!("memory={}MiB", bytes >> 20));
    }
    if let Some(timeout) = r.timeout {
        resources.push(format!("timeout={}s", timeout.as_secs()));
    }
    if !resources.is_empty() {
        metadata.push(("resources".into(), resources.join(" ")));
    }
    if let Some(wasm) = ext.wasm.as_deref().filter(|w| *w != DEFAULT_WASM) {
        metadata.push(("wasm".into(), wasm.to_string()));
    }
    for (key, value) in &toml.metadata {
        metadata.push((key.clone(), value.clone()));
    }
    let metadata: String = metadata
        .iter()
        .map(|(k, v)| {
            format!(
                "  {k}: {}\n",
                serde_json::to_string(v).expect("strings serialize")
            )
        })
        .collect();
    Ok(format!(
        "---\nname: {name}\ndescription: {}\nmetadata:\n{metadata}---\n\n# {}\n\n{}\n\nThis skill is a core WebAssembly module described by `skill.toml` (see the core ABI in\ncargo-skill's `docs/core-abi.md`): the host calls its `run()` with one JSON input and\nreads one JSON output. Written by `cargo skill convert` from skill.toml; the two must agree.\n",
        yaml_string(&toml.description),
        title_case(&name),
        toml.description
    ))
}
