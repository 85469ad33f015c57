//! One thing a rule found, where, and what to do about it: what every
//! check returns, so it depends on the rules alone.

use serde::Serialize;

use super::rules::{Risk, Rule};

/// One thing found, where, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Risk,
    /// Relative to the skill folder, `/`-separated.
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub fix: &'static str,
    /// How the text was read: `instruction`, `script`, `reference`,
    /// `data`, or `file` for what a file is rather than what it says.
    pub context: &'static str,
}

impl Finding {
    pub(super) fn new(
        rule: &'static Rule,
        path: &str,
        line: usize,
        column: usize,
        detail: &str,
    ) -> Finding {
        Finding {
            rule: rule.id,
            severity: rule.severity,
            path: path.to_string(),
            line,
            column,
            message: format!("{}: {detail}", rule.message),
            fix: rule.fix,
            context: "file",
        }
    }
}
