//! A chain made ready to run, or every reason it cannot: each step
//! prepared exactly as a lone run of it would be (installed, enabled and
//! in the pinned version for the bot; its tier, grants and limits), its
//! schemas read, and each step's output checked against the next step's
//! input ([`compat`](crate::chain::compat)).

use crate::chain::compat::mismatches;
use crate::chain::file::{Chain, Chains, Step};
use crate::chain::{ChainError, Problem};
use crate::manifest::SkillType;
use crate::manifest::io_schema::IoSchemas;
use crate::prepare::{Overrides, Prepared, SkillRef, prepare};
use std::sync::Arc;

use crate::runtime::{LoadedSkill, Runtime};
use crate::store::home::Home;
use crate::store::installed;

/// One step, ready to run.
pub struct ReadyStep {
    pub step: Step,
    pub prepared: Prepared,
    pub schemas: IoSchemas,
    /// Its component, loaded for its tier (a component that does not load
    /// fails the step when it runs, as a lone run does).
    pub loaded: Result<Arc<LoadedSkill>, String>,
}

/// Prepares every step of `chain` for `bot`; all problems at once.
pub fn ready(
    home: &Home,
    runtime: &Runtime,
    chains: &Chains,
    chain: &Chain,
    bot: Option<&str>,
) -> Result<Vec<ReadyStep>, ChainError> {
    let mut problems = named_like_a_skill(home, chains);
    problems.retain(|p| p.at == chain.at);
    // Loaded only once every step checks out: a broken chain compiles nothing.
    let mut checked: Vec<(&Step, Prepared, IoSchemas)> = Vec::new();
    for (i, step) in chain.steps.iter().enumerate() {
        let index = i + 1;
        let about = |message: String| {
            Problem::new(
                &step.at,
                format!(
                    "chain `{}`, step {index} `{}`: {message}",
                    chain.name, step.skill
                ),
            )
        };
        if chains.get(&step.skill).is_some() {
            problems.push(about(
                "names a chain; a chain's steps are installed skills: list that chain's steps here"
                    .into(),
            ));
            continue;
        }
        let Some(dir) = installed::installed_dir(home, &step.skill) else {
            problems.push(about(
                "no skill of that name is installed: install it, or correct the name".into(),
            ));
            continue;
        };
        let prepared = match prepare(
            home,
            runtime.config(),
            SkillRef::Installed(&step.skill),
            bot,
            &Overrides::default(),
        ) {
            Ok(prepared) => prepared,
            Err(e) => {
                let prompt = installed::read_with_manifest(&dir)
                    .is_ok_and(|(_, m)| m.skill_type() == SkillType::Prompt);
                problems.push(about(if prompt {
                    "is a prompt skill, which has nothing to run: a chain's steps are tool skills"
                        .into()
                } else {
                    e.to_string()
                }));
                continue;
            }
        };
        let schemas = match prepared.manifest.as_ref().map(IoSchemas::load) {
            Some(Ok(schemas)) => schemas,
            None => IoSchemas::default(),
            Some(Err(e)) => {
                problems.push(about(e.to_string()));
                continue;
            }
        };
        // Compared only when every step before it was prepared.
        if checked.len() == i
            && let Some((previous, _, previous_schemas)) = checked.last()
            && let (Some(output), Some(input)) = (&previous_schemas.output, &schemas.input)
        {
            for mismatch in mismatches(output, input, step.input.as_ref()) {
                problems.push(about(format!(
                    "does not fit what step {} `{}` gives: {}",
                    index - 1,
                    previous.skill,
                    mismatch.what
                )));
            }
        }
        checked.push((step, prepared, schemas));
    }
    if !problems.is_empty() {
        return Err(ChainError::Invalid(problems));
    }
    Ok(checked
        .into_iter()
        .map(|(step, prepared, schemas)| ReadyStep {
            step: step.clone(),
            loaded: prepared.load(runtime),
            prepared,
            schemas,
        })
        .collect())
}

/// Chains named like an installed skill: a tool or `run` argument of that
/// name would be ambiguous.
pub fn named_like_a_skill(home: &Home, chains: &Chains) -> Vec<Problem> {
    chains
        .chains
        .iter()
        .filter(|c| installed::installed_dir(home, &c.name).is_some())
        .map(|c| {
            Problem::new(
                &c.at,
                format!(
                    "chain `{}` is named like an installed skill: rename the chain",
                    c.name
                ),
            )
        })
        .collect()
}
