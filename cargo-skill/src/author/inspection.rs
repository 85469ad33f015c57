//! What `cargo skill inspect PATH` shows: the resolved manifest, the
//! capability set after mixins, and what the component really imports.

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};
use skill_runtime::engine::component_check::{self, ImportKind};
use skill_runtime::manifest::skill_name;
use skill_runtime::manifest::{Diagnostic, SkillManifest, SkillType};
use skill_runtime::validate::graph::SkillSet;
use skill_runtime::validate::{self, Options, Validation};
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
    let pool = mixin_pool(&targets);
    let set = SkillSet::new(
        targets
            .manifests()
            .chain(pool.iter().flat_map(Validation::manifests))
            .collect(),
    );

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

/// The targets' mixin ancestors among their siblings, each read from the
/// sibling folder of its name (a home of a thousand skills reads a few);
/// when one is not there (a folder named otherwise), every sibling is read.
fn mixin_pool(targets: &Validation) -> Vec<Validation> {
    let parents_of = |m: &SkillManifest| -> Vec<(PathBuf, String)> {
        let siblings = m.dir.parent().map(Path::to_path_buf).unwrap_or_default();
        m.ext
            .parents
            .iter()
            .map(|name| (siblings.clone(), name.clone()))
            .collect()
    };
    let mut seen: HashSet<String> = targets.manifests().map(|m| m.name.clone()).collect();
    let mut queue: VecDeque<(PathBuf, String)> = targets.manifests().flat_map(parents_of).collect();
    let mut pool = Vec::new();
    while let Some((siblings, name)) = queue.pop_front() {
        if !seen.insert(name.clone()) || skill_name::check(&name).is_err() {
            continue;
        }
        let loaded = validate::load(&[siblings.join(&name)], Options::default());
        let Some(found) = loaded.manifests().find(|m| m.name == name) else {
            let everything: BTreeSet<PathBuf> = targets
                .manifests()
                .filter_map(|m| m.dir.parent().map(Path::to_path_buf))
                .collect();
            let everything: Vec<PathBuf> = everything.into_iter().collect();
            return vec![validate::load(&everything, Options::default())];
        };
        queue.extend(parents_of(found));
        pool.push(loaded);
    }
    pool
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
