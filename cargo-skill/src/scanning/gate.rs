//! The scan every install, update and publish passes: findings at `high`
//! or above refuse a skill unless the operator allowed those rules by name.

use std::path::Path;

use anyhow::{Result, bail};
use skill_runtime::scan::{self, Severity};

use crate::scanning::report;

/// What refuses a skill: `high` and above.
pub const THRESHOLD: Severity = Severity::High;

/// Checks `--allow` names against the rule set.
pub fn check_allowed(allowed: &[String]) -> Result<()> {
    for id in allowed {
        if scan::rule(id).is_none() {
            let all: Vec<&str> = scan::RULES.iter().map(|r| r.id).collect();
            // capability-undeclared is medium: it never refuses an install.
            bail!(
                "--allow {id}: no such scan rule; the rules are: {}",
                all.join(", ")
            );
        }
    }
    Ok(())
}

/// Scans `dir` (the skill `name`, before `what` happens to it); refuses
/// when a finding at the threshold is not allowed, showing every such one.
/// Returns the allowed rules that excused a finding, to be recorded.
pub fn pass(dir: &Path, name: &str, what: &str, allowed: &[String]) -> Result<Vec<String>> {
    check_allowed(allowed)?;
    let scan = scan::scan_skill(dir);
    let blocking: Vec<String> = scan
        .blocking(THRESHOLD, allowed)
        .map(|f| report::human(&scan, f))
        .collect();
    if blocking.is_empty() {
        let mut excused: Vec<String> = scan
            .blocking(THRESHOLD, &[])
            .map(|f| f.rule.to_string())
            .collect();
        excused.sort();
        excused.dedup();
        return Ok(excused);
    }
    let rules: std::collections::BTreeSet<&str> =
        scan.blocking(THRESHOLD, allowed).map(|f| f.rule).collect();
    bail!(
        "{name}: the scan found {} finding(s) at {THRESHOLD} or above, so it was not {what}:\n{}\nIf you have read them and trust the skill anyway, pass --allow {}",
        blocking.len(),
        blocking.join("\n"),
        rules.into_iter().collect::<Vec<_>>().join(",")
    )
}
