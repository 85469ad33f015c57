//! What `cargo skill run SKILL` was pointed at: a bare `.wasm` file, or a
//! skill folder with `SKILL.md` and its component.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use skill_runtime::manifest::CapabilityDecl;
use skill_runtime::manifest::{self, Mode};
use skill_runtime::{Capability, Grant, Grants, LimitRequest, TrustTier};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillSource {
    pub wasm: PathBuf,
    /// The name the skill runs under (`get-context`'s `skill-name`).
    pub name: String,
    /// `metadata.version`, or `0.0.0` when the manifest has none.
    pub version: String,
    /// The skill folder, when one was given; a bare `.wasm` has none, and no grants.
    pub folder: Option<PathBuf>,
    /// `metadata.resources`: what the skill asks for, which only lowers a tier.
    pub resources: LimitRequest,
    /// What the source earns: the tier install recorded for an installed
    /// skill (the operator's decision), else untrusted.
    pub earned: TrustTier,
    /// `metadata.trust-tier` of a folder: it can only lower `earned`.
    pub declared_tier: Option<TrustTier>,
    /// `metadata.capabilities` and `metadata.secrets`: what running one's own
    /// skill folder grants. A bare `.wasm` declares nothing.
    pub capabilities: Vec<CapabilityDecl>,
    pub secrets: Vec<String>,
}

impl SkillSource {
    /// The tier of one run: a skill's own `trust-tier` only lowers what its
    /// source earns; `operator` (`--tier`) may raise it, with a warning.
    pub fn tier(&self, operator: Option<TrustTier>) -> skill_runtime::TierChoice {
        TrustTier::choose(self.earned, self.declared_tier, operator)
    }

    /// The grants for one run: what the folder declares, plus `grant`, minus
    /// `deny`; with the secret names approved (declared, or granted by name).
    pub fn grants(&self, grant: &[Grant], deny: &[Capability]) -> (Grants, BTreeSet<String>) {
        let mut grants = Grants::from_declared(&self.capabilities);
        grants.grant_all(grant);
        for &cap in deny {
            grants.revoke(cap);
        }
        let mut secrets: BTreeSet<String> = self.secrets.iter().cloned().collect();
        // An explicit `--grant get-secret:NAME` approves that secret for this run.
        secrets.extend(
            grant
                .iter()
                .filter(|g| g.capability == Capability::GetSecret)
                .filter_map(|g| g.scope.clone()),
        );
        (grants, secrets)
    }
}

/// An installed skill (its folder under the home's `skills/` and what
/// install recorded), run with what was approved at install, not what its
/// manifest asks for.
pub fn resolve_installed(dir: &Path, meta: crate::installed::InstalledMeta) -> Result<SkillSource> {
    let mut source = resolve(dir)?;
    source.capabilities = meta
        .grants
        .iter()
        .map(|g| {
            g.parse()
                .map_err(|(_, e)| anyhow::anyhow!("{}: grant `{g}`: {e}", dir.display()))
        })
        .collect::<Result<_>>()?;
    source.secrets = meta.secrets;
    source.earned = meta.trust_tier.parse().map_err(|e| {
        anyhow::anyhow!(
            "{}: trust-tier: {e}; install the skill again",
            dir.display()
        )
    })?;
    source.declared_tier = None;
    source.version = meta.version.unwrap_or_else(|| "unversioned".into());
    Ok(source)
}

pub fn resolve(path: &Path) -> Result<SkillSource> {
    if path.is_dir() {
        let Some(manifest_path) = manifest::find_manifest(path) else {
            bail!(
                "{} is not a skill folder: it has no SKILL.md; create one with `cargo skill new`, or pass a .wasm file",
                path.display()
            );
        };
        // The name and component path come from the manifest when it reads;
        // `validate` is where its problems are reported.
        let parsed = manifest::parse_file(&manifest_path, Mode::Lenient);
        let Some(m) = parsed.manifest.filter(|m| !m.name.is_empty()) else {
            bail!(
                "{} cannot be read as a skill manifest: run `cargo skill validate {}` to see why",
                manifest_path.display(),
                path.display()
            );
        };
        let wasm = m.wasm_path();
        if !wasm.is_file() {
            bail!(
                "{} does not exist: this is a prompt skill, or a tool skill that is not built yet; run `cargo skill build` in {}",
                wasm.display(),
                path.display()
            );
        }
        return Ok(SkillSource {
            wasm,
            name: m.name.clone(),
            version: m
                .ext
                .version
                .as_ref()
                .map_or("0.0.0".into(), ToString::to_string),
            folder: Some(path.to_path_buf()),
            resources: m.ext.resources,
            earned: TrustTier::Untrusted,
            declared_tier: m.ext.trust_tier,
            capabilities: m.ext.capabilities.clone(),
            secrets: m.ext.secrets.clone(),
        });
    }
    if path.is_file() {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        return Ok(SkillSource {
            wasm: path.to_path_buf(),
            name,
            version: "0.0.0".to_string(),
            folder: None,
            resources: LimitRequest::default(),
            earned: TrustTier::Untrusted,
            declared_tier: None,
            capabilities: Vec::new(),
            secrets: Vec::new(),
        });
    }
    bail!(
        "{} does not exist: pass a skill folder or a .wasm component",
        path.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_need_a_manifest_and_a_component() {
        let dir = tempfile::tempdir().unwrap();
        let skill = dir.path().join("weather");
        std::fs::create_dir(&skill).unwrap();
        let err = resolve(&skill).unwrap_err().to_string();
        assert!(err.contains("no SKILL.md"), "{err}");
        std::fs::write(
            skill.join("skill.md"),
            "---\nname: forecast\ndescription: d\nmetadata:\n  wasm: bin/f.wasm\n---\n",
        )
        .unwrap();
        let err = resolve(&skill).unwrap_err().to_string();
        assert!(
            err.contains("bin/f.wasm") && err.contains("cargo skill build"),
            "{err}"
        );
        std::fs::create_dir(skill.join("bin")).unwrap();
        std::fs::write(skill.join("bin/f.wasm"), b"").unwrap();
        let got = resolve(&skill.join(".")).unwrap();
        assert_eq!(got.name, "forecast");
        assert_eq!(got.folder.as_deref(), Some(skill.join(".").as_path()));
        let bare = resolve(&skill.join("bin/f.wasm")).unwrap();
        assert_eq!((bare.name.as_str(), bare.folder), ("f", None));
        assert!(
            resolve(&dir.path().join("nope"))
                .unwrap_err()
                .to_string()
                .contains("does not exist")
        );
    }
}
