//! `cargo skill inspect PATH`: the resolved manifest and capability set.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};

use crate::exit;
use crate::home;
use crate::inspection::{Inspection, inspect};
use crate::output::GlobalArgs;

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A skill folder or SKILL.md
    pub path: PathBuf,

    #[arg(long, value_enum, default_value_t = InspectFormat::Human)]
    pub message_format: InspectFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InspectFormat {
    Human,
    Json,
}

pub fn exec(args: InspectArgs, global: &GlobalArgs) -> Result<u8> {
    let runtime = home::runtime();
    let inspections = inspect(&args.path, &runtime);
    if inspections.is_empty() {
        bail!(
            "no readable skill at {}: run `cargo skill validate {}` to see why",
            args.path.display(),
            args.path.display()
        );
    }
    match args.message_format {
        InspectFormat::Json => {
            let value = if inspections.len() == 1 {
                serde_json::to_value(&inspections[0])
            } else {
                serde_json::to_value(&inspections)
            };
            println!("{}", value?);
        }
        InspectFormat::Human => {
            let palette = global.stdout_colors();
            for inspection in &inspections {
                print_human(inspection, &palette);
            }
        }
    }
    Ok(exit::SUCCESS)
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
