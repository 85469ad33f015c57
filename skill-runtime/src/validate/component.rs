//! Checks on a tool skill's component: it exists, loads, matches the world,
//! imports only declared capabilities, and names itself as the manifest does.

use crate::capabilities::grants::Capability;
use crate::engine::component_check::LoadError;
use crate::engine::core_abi;
use crate::limits::tier::TrustTier;
use crate::manifest::diagnostic::Reporter;
use crate::manifest::{Code, Diagnostic, Mode, SkillManifest, SkillType};
use crate::outcome::Remedy;
use crate::runtime::Runtime;

/// Checks the component a tool skill's manifest points at.
pub fn check(manifest: &SkillManifest, runtime: &Runtime, mode: Mode) -> Vec<Diagnostic> {
    if manifest.skill_type() != SkillType::Tool {
        return Vec::new();
    }
    let wasm_path = manifest.wasm_path();
    match std::fs::read(&wasm_path) {
        Ok(wasm) => check_bytes(manifest, &wasm, runtime, mode),
        Err(e) => {
            let mut in_manifest = Reporter::new(mode, manifest.path.clone());
            in_manifest.report(
                Code::ComponentMissing,
                Some(manifest.pos("metadata.skill-type")),
                format!("this tool skill has no component at {}: {e}", wasm_path.display()),
                Some("run `cargo skill build` in the skill folder, or set `metadata.skill-type: prompt`".into()),
            );
            in_manifest.diagnostics
        }
    }
}

/// Checks component bytes against a manifest before or after they are
/// written to its `wasm` path (diagnostics about the bytes name that path).
pub fn check_bytes(
    manifest: &SkillManifest,
    wasm: &[u8],
    runtime: &Runtime,
    mode: Mode,
) -> Vec<Diagnostic> {
    let mut in_manifest = Reporter::new(mode, manifest.path.clone());
    let mut in_wasm = Reporter::new(mode, manifest.wasm_path());
    let skill = match runtime.load(wasm, TrustTier::Untrusted) {
        Ok(skill) => skill,
        Err(LoadError::World(report)) => {
            for problem in report.problems() {
                in_wasm.report(
                    Code::WorldMismatch,
                    None,
                    format!("the component {problem}"),
                    Some(
                        "rebuild it against wit/boternity-skill.wit with `cargo skill build`"
                            .into(),
                    ),
                );
            }
            return in_wasm.diagnostics;
        }
        Err(LoadError::CoreAbi(problems)) => {
            for problem in problems {
                in_wasm.report(
                    Code::ComponentInvalid,
                    None,
                    format!("the core module {problem}"),
                    Some(
                        "follow docs/core-abi.md (`cargo skill new NAME --core` shows one)".into(),
                    ),
                );
            }
            return in_wasm.diagnostics;
        }
        Err(e) => {
            in_wasm.report(Code::ComponentInvalid, None, e.to_string(), None);
            return in_wasm.diagnostics;
        }
    };

    let declared: Vec<Capability> = manifest
        .ext
        .capabilities
        .iter()
        .map(|c| c.capability)
        .collect();
    // Each import needs one of its capabilities declared (a core module's
    // `http_request` serves both `http-get` and `http-post`).
    let needs: Vec<Vec<Capability>> = skill
        .host_functions()
        .iter()
        .map(|f| match skill.is_core() {
            true => core_abi::capabilities_of(f).to_vec(),
            false => f.parse().ok().into_iter().collect(),
        })
        .filter(|caps: &Vec<Capability>| !caps.is_empty())
        .collect();
    let imported: Vec<Capability> = needs.iter().flatten().copied().collect();
    let capabilities_pos = Some(manifest.pos("metadata.capabilities"));
    for caps in needs
        .iter()
        .filter(|caps| !caps.iter().any(|c| declared.contains(c)))
    {
        let cap = caps[0];
        in_manifest.report(
            Code::CapabilityUndeclared,
            capabilities_pos,
            format!("the component imports `{cap}`, which the manifest does not declare: every call to it will be denied"),
            Some(format!("if the skill needs it, add `{cap}` (with a scope) to `metadata.capabilities`; binding generators import the whole host interface, so an import the code never calls is harmless (an error only under --deny-warnings)")),
        );
    }
    for cap in declared.iter().filter(|c| !imported.contains(c)) {
        in_manifest.report(
            Code::CapabilityUnused,
            capabilities_pos,
            format!("`{cap}` is declared but the component never imports it"),
            Some(format!(
                "remove `{cap}` from `metadata.capabilities` so operators are not asked to grant it"
            )),
        );
    }
    if skill.is_core() {
        // Core modules have no `get-name`; their name is the manifest's.
        in_manifest.diagnostics.append(&mut in_wasm.diagnostics);
        return in_manifest.diagnostics;
    }
    match runtime.skill_name(&skill) {
        Ok(name) if name == manifest.name => {}
        Ok(name) => in_manifest.report(
            Code::ComponentNameMismatch,
            Some(manifest.pos("name")),
            format!(
                "the component's `get-name` returns `{name}`, but the manifest's name is `{}`",
                manifest.name
            ),
            Some("make `get-name` return the manifest's name and rebuild".into()),
        ),
        // A worker that could not start says nothing about the component.
        Err(failure) if failure.remedy == Some(Remedy::CheckSandbox) => in_wasm.report(
            Code::ComponentInvalid,
            None,
            format!("calling `get-name` failed: {failure}"),
            Some("the OS sandbox could not run it here: `cargo skill doctor` says what this machine lacks".into()),
        ),
        Err(failure) => in_wasm.report(
            Code::ComponentInvalid,
            None,
            format!("calling `get-name` failed: {failure}"),
            Some("`get-name` must return a constant string without calling the host".into()),
        ),
    }
    in_manifest.diagnostics.append(&mut in_wasm.diagnostics);
    in_manifest.diagnostics
}
