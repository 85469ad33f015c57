//! `scan`'s human, JSON-lines and GitHub-annotation output.

use std::path::Path;

use serde_json::json;

use crate::diagnostics::{escape_data, escape_property};
use skill_runtime::scan::{Finding, Risk, SkillScan};

/// Counts for the closing line (and the JSON summary object).
#[derive(Debug, Clone, Copy, Default)]
pub struct Totals {
    pub skills: usize,
    pub files: usize,
    pub by_severity: [usize; 4],
}

impl Totals {
    pub fn of(scans: &[SkillScan]) -> Totals {
        let mut totals = Totals {
            skills: scans.len(),
            ..Totals::default()
        };
        for scan in scans {
            totals.files += scan.files;
            for f in &scan.findings {
                totals.by_severity[f.severity as usize] += 1;
            }
        }
        totals
    }

    pub fn findings(&self) -> usize {
        self.by_severity.iter().sum()
    }

    pub fn at_least(&self, threshold: Risk) -> usize {
        self.by_severity[threshold as usize..].iter().sum()
    }
}

/// Where a finding is, as the user named the skill.
fn location(scan: &SkillScan, f: &Finding) -> String {
    format!(
        "{}:{}:{}",
        scan.dir.join(&f.path).display(),
        f.line,
        f.column
    )
}

pub fn human(scan: &SkillScan, f: &Finding) -> String {
    let read_as = if f.context == "file" {
        String::new()
    } else {
        format!("\n  = read as: {}", f.context)
    };
    format!(
        "{}[{}]: {}: {}{read_as}\n  = fix: {}",
        f.severity,
        f.rule,
        location(scan, f),
        f.message,
        f.fix
    )
}

pub fn json_line(scan: &SkillScan, f: &Finding) -> String {
    let mut value = serde_json::to_value(f).expect("findings serialize");
    value["skill"] = json!(scan.dir.display().to_string());
    value.to_string()
}

pub fn github(scan: &SkillScan, f: &Finding) -> String {
    let command = match f.severity {
        Risk::Critical | Risk::High => "error",
        Risk::Medium => "warning",
        Risk::Low => "notice",
    };
    let file = escape_property(&scan.dir.join(&f.path).display().to_string());
    let message = escape_data(&format!("{}\nfix: {}", f.message, f.fix));
    format!(
        "::{command} file={file},line={},col={},title={}::{message}",
        f.line,
        f.column,
        escape_property(f.rule)
    )
}

pub fn summary_human(totals: &Totals, fail_on: Risk) -> String {
    let [low, medium, high, critical] = totals.by_severity;
    format!(
        "scanned {} skill(s), {} file(s): {critical} critical, {high} high, {medium} medium, {low} low; {} at or above {fail_on}",
        totals.skills,
        totals.files,
        totals.at_least(fail_on)
    )
}

pub fn summary_json(totals: &Totals, fail_on: Risk) -> String {
    let [low, medium, high, critical] = totals.by_severity;
    json!({
        "type": "summary",
        "skills": totals.skills,
        "files": totals.files,
        "findings": totals.findings(),
        "critical": critical,
        "high": high,
        "medium": medium,
        "low": low,
        "fail_on": fail_on.as_str(),
        "failed": totals.at_least(fail_on) > 0,
    })
    .to_string()
}

/// A path that holds no skill, for every format.
pub fn no_skill(path: &Path) -> String {
    format!(
        "error: {} holds no skill (no SKILL.md or skill.toml in it or beneath it)",
        path.display()
    )
}
