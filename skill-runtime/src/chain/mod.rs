//! Chains: installed skills run one after another as one call, each
//! step's output the next step's input, under one budget and one trace.
//! A bot declares them in `bots/<bot>/chains.toml` ([`file`]); a step's
//! input may be built from the previous output and the chain's input
//! ([`mapping`]); before anything runs every step is prepared as a lone
//! run of it would be, and neighbouring schemas are compared ([`check`],
//! [`compat`]); then [`run`] runs it.
//!
//! ```toml
//! [[chain]]
//! name = "digest"
//! description = "Fetch a page, extract its text, summarise it"
//! steps = ["fetch", { skill = "extract", input = { html = "$prev/body" } }, "summarise"]
//! fuel = 50000000        # all steps together
//! timeout-ms = 10000     # from the chain's start
//! output-bytes = 1000000 # all steps' outputs together
//! ```

pub mod check;
pub mod compat;
pub mod file;
pub mod mapping;
pub mod run;

use std::fmt;

use crate::runtime::Runtime;
use crate::store::error::StoreError;
use crate::store::home::Home;

pub use check::ReadyStep;
pub use file::{Budget, Chain, Chains, Step};
pub use run::{ChainReport, StepReport};

/// One thing wrong with a chain, where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `file:line:column`.
    pub at: String,
    pub message: String,
}

impl Problem {
    pub fn new(at: &str, message: impl Into<String>) -> Problem {
        Problem {
            at: at.to_string(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

/// Why a chain did not start; no step ran.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// The chains file does not read.
    #[error(transparent)]
    File(#[from] StoreError),
    /// The file reads, but a chain is not valid: each problem with its place.
    #[error("{}", list(.0))]
    Invalid(Vec<Problem>),
    #[error("bot `{bot}` has no chain named `{name}` in {file}{}", known_list(.known))]
    Unknown {
        name: String,
        bot: String,
        file: String,
        known: Vec<String>,
    },
}

fn list(problems: &[Problem]) -> String {
    let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
    lines.join("\n")
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        " (it declares none)".into()
    } else {
        format!(" (it declares: {})", known.join(", "))
    }
}

/// Runs `bot`'s chain `name` once with `input`: read, checked and
/// prepared as a whole first (an error there runs nothing), then step by
/// step, each recorded in the runtime's audit log under one trace id.
pub fn run_chain(
    home: &Home,
    runtime: &Runtime,
    bot: Option<&str>,
    name: &str,
    input: &str,
) -> Result<ChainReport, ChainError> {
    let (chain, steps) = ready_chain(home, runtime, bot, name)?;
    Ok(run::run(runtime, &chain, &steps, input))
}

/// `bot`'s chain `name`, read from its file, with every step ready to run
/// (prepared, schemas read, component loaded).
pub fn ready_chain(
    home: &Home,
    runtime: &Runtime,
    bot: Option<&str>,
    name: &str,
) -> Result<(Chain, Vec<ReadyStep>), ChainError> {
    let slug = crate::store::bots::identity(home, bot)?.slug;
    let chains = Chains::read(home, &slug)?;
    let Some(chain) = chains.get(name) else {
        return Err(ChainError::Unknown {
            name: name.to_string(),
            bot: slug,
            file: chains.path.display().to_string(),
            known: chains.chains.iter().map(|c| c.name.clone()).collect(),
        });
    };
    let steps = check::ready(home, runtime, &chains, chain, Some(&slug))?;
    Ok((chain.clone(), steps))
}
