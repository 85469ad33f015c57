//! What `cargo skill inspect PATH` shows: the resolved manifest, the
//! capability set after mixins, and what the component really imports.

use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};
use skill_runtime::engine::component_check::{self, ImportKind};
use skill_runtime::manifest::{Diagnostic, SkillManifest, SkillType};
use skill_runtime::validate::graph::SkillSet;
use skill_runtime::validate::{self, Options};
use skill_runtime::{Runtime, TrustTier};

#[derive(Debug, Serialize)]
pub struct Inspection {
    pub manifest: SkillManifest,
    pub skill_type: SkillType,
    /// Mixin ancestors, nearest first.
    pub mixin_chain: Vec<String>,
    /// Own capabilities plus every ancestor's.
    pub resolved_capabilities: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<ComponentInfo>,
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Debug, Serialize)]
pub struct ComponentInfo {
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
    /// Host functions it imports, or why it does not load.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imports: Option<Vec<String>>,
    /// Every interface it imports and how the host answers it: `host
    /// interface`, `provided`, `provided, denied`, or `not linked`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub interfaces: Vec<Interface>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Every skill under `path`, with mixins resolved among its siblings.
pub fn inspect(path: &Path, runtime: &Runtime) -> Vec<Inspection> {
    let targets = validate::load(&[path.to_path_buf()], Options::default());
    let pool_paths: Vec<PathBuf> = targets
        .manifests()
        .filter_map(|m| m.dir.parent().map(Path::to_path_buf))
        .collect();
    let pool = validate::load(&pool_paths, Options::default());
    let set = SkillSet::new(targets.manifests().chain(pool.manifests()).collect());

    targets
        .skills
        .iter()
        .filter_map(|report| {
            let manifest = report.manifest.clone()?;
            let mixin_chain = set
                .ancestors(&manifest)
                .iter()
                .map(|m| m.name.clone())
                .collect();
            let resolved_capabilities = set
                .resolved_capabilities(&manifest)
                .iter()
                .map(ToString::to_string)
                .collect();
            let component = component_info(&manifest, runtime);
            Some(Inspection {
                skill_type: manifest.skill_type(),
                manifest,
                mixin_chain,
                resolved_capabilities,
                component,
                diagnostics: report.diagnostics.clone(),
            })
        })
        .collect()
}

#[derive(Debug, Serialize)]
pub struct Interface {
    pub name: String,
    pub linked: &'static str,
}

fn component_info(manifest: &SkillManifest, runtime: &Runtime) -> Option<ComponentInfo> {
    let path = manifest.wasm_path();
    let wasm = std::fs::read(&path).ok()?;
    let (imports, error) = match runtime.load(&wasm, TrustTier::Untrusted) {
        Ok(skill) => (Some(skill.host_functions().to_vec()), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let interfaces = component_check::imports(&wasm)
        .unwrap_or_default()
        .into_iter()
        .map(|(name, kind)| Interface {
            name,
            linked: kind.map_or("not linked", ImportKind::label),
        })
        .collect();
    Some(ComponentInfo {
        interfaces,
        size: wasm.len() as u64,
        sha256: hex::encode(Sha256::digest(&wasm)),
        path,
        imports,
        error,
    })
}
