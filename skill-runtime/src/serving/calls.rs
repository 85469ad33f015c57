//! One `tools/call`: the arguments checked against the input schema, then
//! the installed skill run exactly as `cargo skill run NAME --bot BOT` runs
//! it (same `prepare`, tier, grants, limits, sandbox and audit). What was
//! prepared and loaded is kept per skill until its files change, so a call
//! costs a few `stat`s more than an in-process invocation.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::blocking;
use crate::chain::{self, Chain, Chains, ReadyStep};
use crate::manifest::io_schema::{IoSchemas, Schema};
use crate::prepare::{Overrides, Prepared, SkillRef, prepare};
use crate::runtime::LoadedSkill;
use crate::runtime::Runtime;
use crate::store::home::Home;
use serde_json::{Map, Value};

use crate::serving::stamp::{chain_stamp, skill_stamp};

/// Why a call produced no output, as the client sees it: `"<kind>: <message>"`.
#[derive(Debug)]
pub struct CallError {
    pub kind: String,
    pub message: String,
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

/// An output against the output schema its skill declares.
fn check_output(schema: &Schema, output: &str) -> Result<(), CallError> {
    let value: Value = serde_json::from_str(output)
        .map_err(|e| call_error("invalid-output", format!("the output is not JSON: {e}")))?;
    schema.check(&value).map_err(|e| {
        call_error(
            "invalid-output",
            format!(
                "the output does not match the skill's output schema: {e}; the skill's author must fix the skill or its `metadata.output-schema`"
            ),
        )
    })
}

fn call_error(kind: &str, message: impl Into<String>) -> CallError {
    CallError {
        kind: kind.into(),
        message: message.into(),
    }
}

/// A skill prepared for this bot, with its component loaded.
struct Ready {
    stamp: u64,
    prepared: Prepared,
    schemas: IoSchemas,
    loaded: Result<Arc<LoadedSkill>, String>,
}

/// A chain checked and its steps prepared for this bot.
struct ReadyChain {
    stamp: u64,
    chain: Chain,
    steps: Vec<ReadyStep>,
}

impl ReadyChain {
    fn skills(&self) -> Vec<&str> {
        self.chain.steps.iter().map(|s| s.skill.as_str()).collect()
    }
}

/// How a front end words what to do about an error (the CLI names its own
/// commands); `None` adds nothing to the message.
pub type Wording = fn(&(dyn std::error::Error + 'static)) -> Option<String>;

pub struct Calls {
    home: Home,
    bot: String,
    runtime: Arc<Runtime>,
    wording: Wording,
    ready: Mutex<HashMap<String, Arc<Ready>>>,
    chains: Mutex<HashMap<String, Arc<ReadyChain>>>,
}

impl Calls {
    pub fn new(home: Home, bot: String, runtime: Arc<Runtime>, wording: Wording) -> Calls {
        Calls {
            home,
            bot,
            runtime,
            wording,
            ready: Mutex::default(),
            chains: Mutex::default(),
        }
    }

    /// Runs installed `name` once with `arguments` as its JSON input. The
    /// output is checked against the output schema when one is declared.
    pub fn call(&self, name: &str, arguments: Map<String, Value>) -> Result<String, CallError> {
        let arguments = Value::Object(arguments);
        let ready = self.ready(name)?;
        let schemas = &ready.schemas;
        if let Some(schema) = &schemas.input {
            schema
                .check(&arguments)
                .map_err(|e| call_error("invalid-arguments", e))?;
        }
        let report = ready.prepared.run_loaded(
            &self.runtime,
            ready.loaded.as_deref(),
            &arguments.to_string(),
        );
        if let Some(error) = &report.audit_error {
            eprintln!("warning: {name}: this call was not recorded in the audit log: {error}");
        }
        let output = match report.result {
            Ok(output) => output,
            Err(failure) => {
                let message = match (self.wording)(&failure) {
                    Some(help) => format!("{}. {help}", failure.message),
                    None => failure.message,
                };
                return Err(call_error(failure.kind.as_str(), message));
            }
        };
        if let Some(schema) = &schemas.output {
            check_output(schema, &output)?;
        }
        Ok(output)
    }

    /// Runs the bot's chain `name` once with `arguments` as the chain's
    /// input, checked and prepared as its file and steps are now (reused
    /// while they are unchanged). A failure names the step and the trace id
    /// its audit records share; the output is checked against the last
    /// step's output schema.
    pub fn call_chain(
        &self,
        name: &str,
        arguments: Map<String, Value>,
    ) -> Result<String, CallError> {
        let input = Value::Object(arguments).to_string();
        let ready = self.ready_chain(name)?;
        let report = chain::run::run(&self.runtime, &ready.chain, &ready.steps, &input);
        let last = ready.steps.last().map(|s| &s.schemas);
        for step in &report.steps {
            if let Some(error) = &step.report.audit_error {
                eprintln!(
                    "warning: {name}: step `{}` was not recorded in the audit log: {error}",
                    step.skill
                );
            }
        }
        let output = match (report.result, report.failed_step) {
            (Ok(output), _) => output,
            (Err(failure), step) => {
                let at = step.map_or(String::new(), |i| {
                    format!("step {i} `{}`: ", report.steps[i - 1].skill)
                });
                let message = match (self.wording)(&failure) {
                    Some(help) => format!("{}. {help}", failure.message),
                    None => failure.message,
                };
                return Err(call_error(
                    failure.kind.as_str(),
                    format!("{at}{message} (trace {})", report.trace_id),
                ));
            }
        };
        if let Some(schema) = last.and_then(|s| s.output.as_ref()) {
            check_output(schema, &output)?;
        }
        Ok(output)
    }

    fn ready_chain(&self, name: &str) -> Result<Arc<ReadyChain>, CallError> {
        let cached = self.chains_lock().get(name).cloned();
        if let Some(ready) =
            cached.filter(|r| r.stamp == chain_stamp(&self.home, &self.bot, &r.skills()))
        {
            return Ok(ready);
        }
        // Reading, checking and compiling may take seconds.
        blocking::run(self.runtime.config().blocking, || {
            // Taken first: a file changed while it is read is read again.
            let file = chain_stamp(&self.home, &self.bot, &[]);
            let not_runnable = |e: chain::ChainError| call_error("not-runnable", e.to_string());
            let chains = Chains::read(&self.home, &self.bot).map_err(not_runnable)?;
            let chain = chains.get(name).cloned().ok_or_else(|| {
                call_error(
                    "not-runnable",
                    format!("bot `{}` has no chain `{name}` any more", self.bot),
                )
            })?;
            let skills: Vec<&str> = chain.steps.iter().map(|s| s.skill.as_str()).collect();
            let stamp = chain_stamp(&self.home, &self.bot, &skills);
            let steps =
                chain::check::ready(&self.home, &self.runtime, &chains, &chain, Some(&self.bot))
                    .map_err(not_runnable)?;
            let ready = Arc::new(ReadyChain {
                stamp,
                chain,
                steps,
            });
            if chain_stamp(&self.home, &self.bot, &[]) == file {
                self.chains_lock().insert(name.to_string(), ready.clone());
            }
            Ok(ready)
        })
    }

    fn chains_lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<ReadyChain>>> {
        self.chains.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The skill prepared as its files are now: reused while they are
    /// unchanged, prepared again (grants re-read) as soon as they change.
    fn ready(&self, name: &str) -> Result<Arc<Ready>, CallError> {
        let dir = self
            .home
            .skill_dir(name)
            .map_err(|e| call_error("not-runnable", e.to_string()))?;
        let stamp = skill_stamp(&self.home, &self.bot, &dir);
        if let Some(ready) = self.lock().get(name).filter(|r| r.stamp == stamp) {
            return Ok(ready.clone());
        }
        // Reading, checking and compiling may take seconds.
        blocking::run(self.runtime.config().blocking, || {
            self.prepared(name, stamp)
        })
    }

    fn prepared(&self, name: &str, stamp: u64) -> Result<Arc<Ready>, CallError> {
        let prepared = prepare(
            &self.home,
            self.runtime.config(),
            SkillRef::Installed(name),
            Some(&self.bot),
            &Overrides::default(),
        )
        .map_err(|e| {
            let message = match (self.wording)(&e) {
                Some(help) => format!("{e}; {help}"),
                None => e.to_string(),
            };
            call_error("not-runnable", message)
        })?;
        let schemas = match &prepared.manifest {
            Some(manifest) => {
                IoSchemas::load(manifest).map_err(|e| call_error("not-runnable", e.to_string()))?
            }
            None => IoSchemas::default(),
        };
        let loaded = prepared.load(&self.runtime);
        let ready = Arc::new(Ready {
            stamp,
            prepared,
            schemas,
            loaded,
        });
        self.lock().insert(name.to_string(), ready.clone());
        Ok(ready)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Ready>>> {
        self.ready.lock().unwrap_or_else(|e| e.into_inner())
    }
}
