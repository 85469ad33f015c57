//! Running a ready chain: each step through the same entry point a lone
//! run takes (its tier, grants and limits), each limit lowered to what is
//! left of the chain's budget, and the first step that does not end `ok`
//! ends the chain with its outcome.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::chain::check::ReadyStep;
use crate::chain::file::Chain;
use crate::limits::tier::Limits;
use crate::outcome::{ErrorKind, Failure, Report};
use crate::runtime::{Invocation, Runtime};

/// What a chain run did.
#[derive(Debug, Clone)]
pub struct ChainReport {
    pub chain: String,
    /// On each step's audit record.
    pub trace_id: String,
    /// The steps that ran (or were refused), in order.
    pub steps: Vec<StepReport>,
    /// The last step's output, or the failure that ended the chain.
    pub result: Result<String, Failure>,
    /// The 1-based index of the step that ended the chain with an error.
    pub failed_step: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct StepReport {
    pub skill: String,
    pub report: Report,
}

/// What is left of a chain's budget.
struct Left {
    fuel: Option<u64>,
    deadline: Option<Instant>,
    output_bytes: Option<u64>,
}

impl Left {
    /// Lowers `limits` to what is left; says which ones the chain lowered.
    fn cap(&self, limits: &mut Limits) -> Vec<ErrorKind> {
        let mut lowered = Vec::new();
        if let Some(left) = self.fuel
            && limits.fuel.is_none_or(|own| own > left)
        {
            limits.fuel = Some(left);
            lowered.push(ErrorKind::FuelExhausted);
        }
        if let Some(deadline) = self.deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if left < limits.timeout {
                limits.timeout = left;
                lowered.push(ErrorKind::Timeout);
            }
        }
        if let Some(left) = self.output_bytes
            && left < limits.output_bytes
        {
            limits.output_bytes = left;
            lowered.push(ErrorKind::OutputLimit);
        }
        lowered
    }

    fn spend(&mut self, report: &Report) {
        if let Some(fuel) = &mut self.fuel {
            *fuel = fuel.saturating_sub(report.metrics.fuel_consumed);
        }
        if let (Some(bytes), Ok(output)) = (&mut self.output_bytes, &report.result) {
            *bytes = bytes.saturating_sub(output.len() as u64);
        }
    }
}

/// Runs `steps` (what [`check::ready`](crate::chain::check::ready) made
/// of `chain`) once with `input`.
pub fn run(runtime: &Runtime, chain: &Chain, steps: &[ReadyStep], input: &str) -> ChainReport {
    let trace_id = uuid::Uuid::now_v7().to_string();
    let mut left = Left {
        fuel: chain.budget.fuel,
        deadline: chain.budget.timeout.map(|t| Instant::now() + t),
        output_bytes: chain.budget.output_bytes,
    };
    let chain_input: Option<Value> = serde_json::from_str(input).ok();
    let mut reports: Vec<StepReport> = Vec::new();
    let mut current = input.to_string();
    for (i, ready) in steps.iter().enumerate() {
        let report = run_step(
            runtime,
            chain,
            ready,
            &mut left,
            &trace_id,
            &current,
            chain_input.as_ref(),
        );
        let result = report.result.clone();
        reports.push(StepReport {
            skill: ready.step.skill.clone(),
            report,
        });
        match result {
            Ok(output) => current = output,
            Err(failure) => {
                return ChainReport {
                    chain: chain.name.clone(),
                    trace_id,
                    steps: reports,
                    result: Err(failure),
                    failed_step: Some(i + 1),
                };
            }
        }
    }
    ChainReport {
        chain: chain.name.clone(),
        trace_id,
        steps: reports,
        result: Ok(current),
        failed_step: None,
    }
}

fn run_step(
    runtime: &Runtime,
    chain: &Chain,
    ready: &ReadyStep,
    left: &mut Left,
    trace_id: &str,
    previous: &str,
    chain_input: Option<&Value>,
) -> Report {
    let prepared = &ready.prepared;
    let mut limits = prepared.limits;
    let lowered = left.cap(&mut limits);
    let built = build_input(ready, previous, chain_input);
    let input = built.as_deref().unwrap_or(previous);
    let invocation = Invocation {
        limits,
        trace_id: Some(trace_id),
        ..prepared.invocation(input)
    };
    let refused = |failure: Failure| {
        let mut report = Report::refused(prepared.tier.tier, limits, failure);
        runtime.record(&mut report, &invocation);
        report
    };
    if let Err(message) = &built {
        return refused(Failure::new(ErrorKind::InvalidInput, message.clone()));
    }
    if limits.timeout.is_zero() {
        let mut failure = Failure::new(ErrorKind::Timeout, "the step did not start");
        failure
            .message
            .push_str(&chain_words(chain, ErrorKind::Timeout));
        return refused(failure);
    }
    let mut report = match &ready.loaded {
        Ok(skill) => runtime.invoke(skill, &invocation),
        Err(message) => refused(Failure::new(ErrorKind::InvalidComponent, message.clone())),
    };
    left.spend(&report);
    if let Err(failure) = &mut report.result {
        if lowered.contains(&failure.kind) {
            failure.message.push_str(&chain_words(chain, failure.kind));
        } else {
            failure.explain(&prepared.resolved);
        }
    }
    report
}

/// The step's input: mapped when the step says how, then checked against
/// its input schema when it declares one.
fn build_input(
    ready: &ReadyStep,
    previous: &str,
    chain_input: Option<&Value>,
) -> Result<String, String> {
    let value = match &ready.step.input {
        Some(mapping) => {
            let previous: Option<Value> = serde_json::from_str(previous).ok();
            mapping.build(previous.as_ref(), chain_input)?
        }
        None if ready.schemas.input.is_none() => return Ok(previous.to_string()),
        None => serde_json::from_str(previous).map_err(|e| {
            format!("the input is not JSON ({e}), and the skill declares an input schema")
        })?,
    };
    if let Some(schema) = &ready.schemas.input {
        schema.check(&value).map_err(|e| {
            format!(
                "the input does not match the skill's input schema ({}): {e}",
                schema.path.display()
            )
        })?;
    }
    Ok(value.to_string())
}

/// What a limit hit because of the chain's budget is told.
fn chain_words(chain: &Chain, kind: ErrorKind) -> String {
    let (key, what) = match kind {
        ErrorKind::FuelExhausted => ("fuel", "fuel"),
        ErrorKind::Timeout => ("timeout-ms", "time"),
        _ => ("output-bytes", "output"),
    };
    format!(
        " (the chain `{}`'s {what} budget ran out: its steps together may use no more; raise `{key}` of the chain at {})",
        chain.name, chain.at
    )
}

impl ChainReport {
    pub fn is_ok(&self) -> bool {
        self.result.is_ok()
    }

    /// Time spent in the steps.
    pub fn duration(&self) -> Duration {
        self.steps.iter().map(|s| s.report.metrics.duration).sum()
    }

    /// The chain's outcome, as `run --message-format json` prints it:
    /// the final output or error (with the failing `"step"`, 1-based, and
    /// its `"skill"`), the `"trace_id"`, and each step's own report.
    pub fn to_json(&self) -> Value {
        let mut obj = serde_json::Map::new();
        obj.insert("chain".into(), self.chain.clone().into());
        match &self.result {
            Ok(output) => {
                obj.insert("outcome".into(), "ok".into());
                let value =
                    serde_json::from_str(output).unwrap_or_else(|_| Value::String(output.clone()));
                obj.insert("output".into(), value);
            }
            Err(failure) => {
                obj.insert("outcome".into(), "error".into());
                obj.insert("kind".into(), failure.kind.as_str().into());
                obj.insert("message".into(), failure.message.clone().into());
                if let Some(step) = self.failed_step {
                    obj.insert("step".into(), step.into());
                    obj.insert("skill".into(), self.steps[step - 1].skill.clone().into());
                }
            }
        }
        obj.insert("trace_id".into(), self.trace_id.clone().into());
        let fuel: u64 = self
            .steps
            .iter()
            .map(|s| s.report.metrics.fuel_consumed)
            .sum();
        obj.insert("fuel_consumed".into(), fuel.into());
        obj.insert(
            "duration_ms".into(),
            (self.duration().as_secs_f64() * 1000.0).into(),
        );
        let steps: Vec<Value> = self
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let mut step = serde_json::Map::new();
                step.insert("step".into(), (i + 1).into());
                step.insert("skill".into(), s.skill.clone().into());
                if let Value::Object(report) = s.report.to_json() {
                    step.extend(report);
                }
                Value::Object(step)
            })
            .collect();
        obj.insert("steps".into(), steps.into());
        Value::Object(obj)
    }
}
