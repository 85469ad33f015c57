//! Mixin relations at install: parents present, no cycle, at most three
//! levels, no `conflicts-with` across a chain, checked over the installed
//! skills as they would be after the plan, with the checks and messages of
//! `validate`. Only problems the plan brings refuse it, so an installed
//! child is re-checked whenever its parent is replaced.

use std::collections::BTreeSet;

use anyhow::{Result, bail};
use skill_runtime::manifest::{Code, Diagnostic, Mode, SkillManifest};
use skill_runtime::validate::{graph, install::RELATIONS};

use crate::install::refusal::render;

/// Refuses the plan when the skills installed after it would have a
/// relation problem they do not have now.
pub fn check(installed: &[&SkillManifest], plan: &[&SkillManifest]) -> Result<()> {
    let before = problems(installed.to_vec());
    let replaced: BTreeSet<&str> = plan.iter().map(|m| m.name.as_str()).collect();
    let after: Vec<&SkillManifest> = installed
        .iter()
        .filter(|m| !replaced.contains(m.name.as_str()))
        .chain(plan)
        .copied()
        .collect();
    let brought: Vec<Diagnostic> = problems(after)
        .into_iter()
        .filter(|d| !before.iter().any(|b| same(b, d)))
        .collect();
    if brought.is_empty() {
        return Ok(());
    }
    let missing = brought.iter().any(|d| d.code == Code::ParentMissing);
    bail!(
        "the skills would not fit together once installed; nothing was installed:\n{}{}",
        render(&brought),
        if missing {
            "a mixin parent must be installed already or come from the same source: install it first"
        } else {
            "install versions that fit, or remove the skill they clash with first"
        }
    )
}

fn problems(skills: Vec<&SkillManifest>) -> Vec<Diagnostic> {
    graph::check(&graph::SkillSet::new(skills), Mode::Lenient)
        .into_iter()
        .filter(|d| RELATIONS.contains(&d.code))
        .collect()
}

/// The same problem, whichever copy of a skill (installed or new) it names.
fn same(a: &Diagnostic, b: &Diagnostic) -> bool {
    a.code == b.code && a.message == b.message
}
