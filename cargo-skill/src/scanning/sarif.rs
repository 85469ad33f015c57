//! SARIF 2.1.0 for GitHub code scanning: every rule with its help and
//! default level, results with locations relative to the path scanned.
//! Built as JSON, then read into `serde_sarif`'s typed model, so what is
//! printed is a `Sarif` value of the standard's schema.

use std::path::Path;

use serde_json::{Value, json};
use skill_runtime::scan::{COMPONENT_RULE, RULES, Risk, SkillScan};

pub fn level(severity: Risk) -> &'static str {
    match severity {
        Risk::Critical | Risk::High => "error",
        Risk::Medium => "warning",
        Risk::Low => "note",
    }
}

/// `path` below `root`, `/`-separated (the SARIF artifact URI).
fn relative_uri(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    relative
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// One SARIF log for all `scans`, each paired with the path it was found under.
pub fn log(scans: &[(&Path, &SkillScan)]) -> anyhow::Result<String> {
    let rules: Vec<Value> = RULES
        .iter()
        .chain([&COMPONENT_RULE])
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.id,
                "shortDescription": {"text": r.message},
                "fullDescription": {"text": r.message},
                "help": {
                    "text": format!("{} Fix: {}", r.message, r.fix),
                    "markdown": format!("{}\n\n**Fix:** {}\n\nSee docs/scan.md in cargo-skill.", r.message, r.fix),
                },
                "defaultConfiguration": {"level": level(r.severity)},
                "properties": {"tags": ["security"], "severity": r.severity.as_str()},
            })
        })
        .collect();
    let mut results = Vec::new();
    for (root, scan) in scans {
        for f in &scan.findings {
            let index = RULES
                .iter()
                .position(|r| r.id == f.rule)
                .unwrap_or(RULES.len());
            results.push(json!({
                "ruleId": f.rule,
                "ruleIndex": index,
                "level": level(f.severity),
                "message": {"text": format!("{} Fix: {}", f.message, f.fix)},
                "properties": {"context": f.context},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": relative_uri(root, &scan.dir.join(&f.path))},
                        "region": {"startLine": f.line, "startColumn": f.column},
                    }
                }],
            }));
        }
    }
    let value = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "cargo-skill scan",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://agentskills.io",
                "rules": rules,
            }},
            "results": results,
        }],
    });
    let typed: serde_sarif::sarif::Sarif = serde_json::from_value(value)?;
    Ok(serde_json::to_string_pretty(&typed)?)
}
