//! The scan every install, update and publish passes: findings at `high`
//! or above refuse a skill unless the operator allowed those rules by name,
//! for every skill (`--allow RULE`) or for one (`--allow SKILL:RULE`).

use std::path::Path;

use anyhow::{Result, bail};
use skill_runtime::scan::{self, Risk};

use crate::scanning::report;

/// What refuses a skill: `high` and above.
pub const THRESHOLD: Risk = Risk::High;

/// Checks `--allow` entries (`RULE` or `SKILL:RULE`) against the rule set.
pub fn check_allowed(allowed: &[String]) -> Result<()> {
    for entry in allowed {
        let id = match entry.split_once(':') {
            Some((skill, id)) => {
                skill_runtime::manifest::skill_name::check(skill)
                    .map_err(|e| anyhow::anyhow!("--allow {entry}: {e}"))?;
                id
            }
            None => entry.as_str(),
        };
        if scan::rule(id).is_none() {
            let all: Vec<&str> = scan::RULES.iter().map(|r| r.id).collect();
            // capability-undeclared is medium: it never refuses an install.
            bail!(
                "--allow {entry}: no such scan rule; the rules are: {}",
                all.join(", ")
            );
        }
    }
    Ok(())
}

/// The rules `--allow` entries accept for the skill `name`.
pub fn allowed_for(name: &str, allowed: &[String]) -> Vec<String> {
    allowed
        .iter()
        .filter_map(|entry| match entry.split_once(':') {
            Some((skill, id)) => (skill == name).then(|| id.to_string()),
            None => Some(entry.clone()),
        })
        .collect()
}

/// What the gate makes of one skill.
pub struct Verdict {
    /// Allowed rules that excused a finding, to be recorded.
    pub excused: Vec<String>,
    /// The findings that refuse it, rendered for people.
    pub blocking: Vec<String>,
    /// Their rules, sorted, each once.
    pub rules: Vec<String>,
}

/// Scans `dir`, with `allowed` the rules accepted for this skill and links
/// beneath `boundary` read as what they lead to; findings name their files
/// under `shown`.
pub fn judge(dir: &Path, boundary: Option<&Path>, shown: &Path, allowed: &[String]) -> Verdict {
    let mut scan = scan::scan_skill_within(dir, boundary);
    scan.dir = shown.to_path_buf();
    let ids = |allowed: &[String]| {
        let mut ids: Vec<String> = scan
            .blocking(THRESHOLD, allowed)
            .map(|f| f.rule.to_string())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    };
    let rules = ids(allowed);
    let excused = ids(&[])
        .into_iter()
        .filter(|id| !rules.contains(id))
        .collect();
    Verdict {
        excused,
        blocking: scan
            .blocking(THRESHOLD, allowed)
            .map(|f| report::human(&scan, f))
            .collect(),
        rules,
    }
}

/// Scans `dir` (the skill `name`, before `what` happens to it); refuses
/// when a finding at the threshold is not allowed, showing every such one.
/// Returns the allowed rules that excused a finding, to be recorded.
pub fn pass(dir: &Path, name: &str, what: &str, allowed: &[String]) -> Result<Vec<String>> {
    check_allowed(allowed)?;
    let verdict = judge(dir, None, dir, &allowed_for(name, allowed));
    if verdict.blocking.is_empty() {
        return Ok(verdict.excused);
    }
    bail!(
        "{name}: the scan found {} finding(s) at {THRESHOLD} or above, so it was not {what}:\n{}\nIf you have read them and trust the skill anyway, pass --allow {}",
        verdict.blocking.len(),
        verdict.blocking.join("\n"),
        verdict.rules.join(",")
    )
}
