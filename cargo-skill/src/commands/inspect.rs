//! `cargo skill inspect PATH|NAME`: the resolved manifest and capability set,
//! and for an installed skill what install recorded and approved.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;

use crate::author::inspection::{Inspection, inspect};
use crate::exit;
use crate::output::{GlobalArgs, MessageFormat};
use crate::setup;
use skill_runtime::manifest::SkillManifest;
use skill_runtime::store::installed::{self, InstalledMeta};

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A skill folder, a SKILL.md, or the name of an installed skill
    pub path: PathBuf,

    #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
    pub message_format: MessageFormat,
}

pub fn exec(args: InspectArgs, global: &GlobalArgs) -> Result<u8> {
    let runtime = setup::runtime();
    let installed = installed(&args.path)?;
    let path = match &installed {
        Some(_) => setup::home()?.skill_dir(&args.path.to_string_lossy())?,
        None => args.path.clone(),
    };
    let inspections = inspect(&path, &runtime);
    if inspections.is_empty() {
        bail!(
            "no readable skill at {}: run `cargo skill validate {}` to see why",
            args.path.display(),
            args.path.display()
        );
    }
    match args.message_format {
        MessageFormat::Json => {
            let mut value = if inspections.len() == 1 {
                serde_json::to_value(&inspections[0])?
            } else {
                serde_json::to_value(&inspections)?
            };
            if let Some(meta) = &installed {
                value["installed"] = serde_json::to_value(meta)?;
                value["installed"]["findings"] =
                    serde_json::to_value(skill_runtime::scan::scan_skill(&path).findings)?;
                value["installed"]["dependency_tree"] =
                    serde_json::to_value(dependency_tree(&setup::home()?, &meta.name)?)?;
            }
            println!("{value}");
        }
        MessageFormat::Human => {
            let palette = global.stdout_colors();
            for inspection in &inspections {
                if let Some(meta) = &installed {
                    print_installed(meta, inspection.skill_type, &palette);
                    print_findings(&skill_runtime::scan::scan_skill(&path), meta, &palette);
                    let tree = dependency_tree(&setup::home()?, &meta.name)?;
                    if !tree.is_empty() {
                        println!("{}", palette.bold("  dependencies:"));
                        print_tree(&tree, 1);
                    }
                }
                print_human(inspection, &palette);
            }
        }
    }
    Ok(exit::SUCCESS)
}

/// The installed skill a name refers to (one not written as a path).
fn installed(path: &std::path::Path) -> Result<Option<InstalledMeta>> {
    if skill_runtime::prepare::names_a_path(path) {
        return Ok(None);
    }
    let home = setup::home()?;
    match skill_runtime::store::installed::installed_dir(&home, &path.to_string_lossy()) {
        Some(dir) => {
            setup::note_shadowed(path);
            Ok(Some(InstalledMeta::read(&dir)?))
        }
        None => Ok(None),
    }
}

/// One dependency of an installed skill, and what is installed for it.
#[derive(Debug, serde::Serialize)]
struct Node {
    name: String,
    requirement: String,
    /// The installed version (`unversioned` for a skill without one), if any.
    installed: Option<String>,
    dependencies: Vec<Node>,
}

/// The installed dependencies of `name`, transitively (a cycle stops).
/// An installed skill's version and manifest.
type Reached = (Option<String>, SkillManifest);

/// The installed skills `name` reaches through its dependencies, read one
/// by one (not the whole home: a home may hold thousands).
fn reachable(home: &skill_runtime::Home, name: &str) -> Result<HashMap<String, Reached>> {
    let mut found = HashMap::new();
    let mut next = vec![name.to_string()];
    while let Some(name) = next.pop() {
        if found.contains_key(&name) {
            continue;
        }
        let Some(dir) = installed::installed_dir(home, &name) else {
            continue;
        };
        let (meta, manifest) = installed::read_with_manifest(&dir)?;
        next.extend(manifest.ext.dependencies.iter().map(|d| d.name.clone()));
        found.insert(name, (meta.version, manifest));
    }
    Ok(found)
}

fn dependency_tree(home: &skill_runtime::Home, name: &str) -> Result<Vec<Node>> {
    let all = reachable(home, name)?;
    fn walk(all: &HashMap<String, Reached>, name: &str, path: &mut Vec<String>) -> Vec<Node> {
        let Some((_, manifest)) = all.get(name) else {
            return vec![];
        };
        path.push(name.to_string());
        let nodes = manifest
            .ext
            .dependencies
            .iter()
            .map(|d| Node {
                name: d.name.clone(),
                requirement: d.req.to_string(),
                installed: all
                    .get(&d.name)
                    .map(|(version, _)| version.clone().unwrap_or_else(|| "unversioned".into())),
                dependencies: if path.contains(&d.name) {
                    vec![]
                } else {
                    walk(all, &d.name, path)
                },
            })
            .collect();
        path.pop();
        nodes
    }
    Ok(walk(&all, name, &mut Vec::new()))
}

fn print_tree(nodes: &[Node], depth: usize) {
    for node in nodes {
        println!(
            "{:indent$}{} {} -> {}",
            "",
            node.name,
            node.requirement,
            node.installed
                .as_ref()
                .map_or("not installed".to_string(), |v| match v.as_str() {
                    "unversioned" => v.clone(),
                    _ => format!("v{v}"),
                }),
            indent = 14 + 2 * depth
        );
        print_tree(&node.dependencies, depth + 1);
    }
}

/// What install recorded: where from, how verified, and what was approved.
/// What `scan` finds in the installed files, and what the operator allowed.
fn print_findings(
    scan: &skill_runtime::scan::SkillScan,
    meta: &InstalledMeta,
    palette: &crate::output::Palette,
) {
    let label = palette.bold(&format!("{:>14}:", "scan"));
    if scan.findings.is_empty() {
        println!("{label} no findings");
    }
    for f in &scan.findings {
        let allowed = if meta.allowed_findings.iter().any(|a| a == f.rule) {
            " (allowed at install)"
        } else {
            ""
        };
        println!(
            "{label} {}[{}] {}:{}:{}{allowed}: {}",
            f.severity, f.rule, f.path, f.line, f.column, f.message
        );
    }
}

fn print_installed(
    meta: &InstalledMeta,
    kind: skill_runtime::manifest::SkillType,
    palette: &crate::output::Palette,
) {
    let tier = match kind {
        skill_runtime::manifest::SkillType::Tool => {
            ("runs as", format!("{} tier", meta.trust_tier))
        }
        // Nothing of a prompt skill runs; the tier is only recorded.
        skill_runtime::manifest::SkillType::Prompt => (
            "tier",
            format!("{} (a prompt skill: no code runs)", meta.trust_tier),
        ),
    };
    let rows = [
        (
            "installed",
            format!("{} at {}", meta.version_label(), meta.installed_at),
        ),
        (
            "source",
            format!(
                "{}{}",
                meta.source,
                meta.commit
                    .as_ref()
                    .map(|c| format!(" @ {c}"))
                    .unwrap_or_default()
            ),
        ),
        (
            "verification",
            format!(
                "{:?}{}",
                meta.verification,
                meta.signer
                    .as_ref()
                    .map(|s| format!(", signed by {s}"))
                    .unwrap_or_default()
            ),
        ),
        tier,
        (
            "granted",
            if meta.grants.is_empty() {
                "-".into()
            } else {
                meta.grants.join(" ")
            },
        ),
    ];
    for (label, value) in rows {
        println!("{} {value}", palette.bold(&format!("{label:>14}:")));
    }
}

fn print_human(i: &Inspection, palette: &crate::output::Palette) {
    let m = &i.manifest;
    let ext = &m.ext;
    let none = || "-".to_string();
    let list = |items: Vec<String>| {
        if items.is_empty() {
            none()
        } else {
            items.join(" ")
        }
    };
    let rows: Vec<(&str, String)> = vec![
        ("name", m.name.clone()),
        ("description", m.description.trim().to_string()),
        ("path", m.path.display().to_string()),
        ("type", format!("{:?}", i.skill_type).to_lowercase()),
        (
            "version",
            ext.version.as_ref().map_or_else(none, ToString::to_string),
        ),
        (
            "trust tier",
            ext.trust_tier
                .map_or_else(|| "untrusted (not declared)".into(), |t| t.to_string()),
        ),
        (
            "capabilities",
            list(ext.capabilities.iter().map(ToString::to_string).collect()),
        ),
        ("after mixins", list(i.resolved_capabilities.clone())),
        ("mixin chain", list(i.mixin_chain.clone())),
        ("secrets", list(ext.secrets.clone())),
        (
            "dependencies",
            list(
                ext.dependencies
                    .iter()
                    .map(|d| format!("{}@{}", d.name, d.req))
                    .collect(),
            ),
        ),
        ("conflicts with", list(ext.conflicts_with.clone())),
        ("license", m.license.clone().unwrap_or_else(none)),
    ];
    for (label, value) in rows {
        println!("{} {value}", palette.bold(&format!("{label:>14}:")));
    }
    if let Some(c) = &i.component {
        let imports = match (&c.imports, &c.error) {
            (Some(imports), _) => list(imports.clone()),
            (None, Some(error)) => format!("does not load: {error}"),
            (None, None) => none(),
        };
        println!(
            "{} {} ({} bytes, sha256 {})",
            palette.bold("     component:"),
            c.path.display(),
            c.size,
            c.sha256
        );
        println!("{} {imports}", palette.bold("       imports:"));
        // The WASI the component links: provided ones counted, the rest named.
        let provided = c
            .interfaces
            .iter()
            .filter(|i| i.linked == "provided")
            .count();
        let others: Vec<String> = c
            .interfaces
            .iter()
            .filter(|i| i.linked != "provided" && i.linked != "host interface")
            .map(|i| format!("{} ({})", i.name, i.linked))
            .collect();
        if provided + others.len() > 0 {
            println!(
                "{} {provided} provided{}",
                palette.bold("          wasi:"),
                others.iter().map(|o| format!(", {o}")).collect::<String>()
            );
        }
    }
    if !i.diagnostics.is_empty() {
        println!(
            "{} {} (run `cargo skill validate` for details)",
            palette.bold("   diagnostics:"),
            i.diagnostics.len()
        );
    }
    println!();
}
