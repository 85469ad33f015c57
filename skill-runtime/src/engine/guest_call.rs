//! One call of a guest entry (`execute`, `get-name`, or a core module's
//! `run`) in this process: a fresh store with every limit armed, and what
//! ended it mapped to a typed outcome.

use std::time::Instant;

use serde::{Deserialize, Serialize};
use wasmtime::{Store, Trap};

use crate::capabilities::calls::{Capabilities, DeadlineReached};
use crate::capabilities::grants::CapabilityDenied;
use crate::engine::bindings::SkillContext;
use crate::engine::core_abi;
use crate::engine::deadline_ticks;
use crate::engine::host::{HostState, StoreData};
use crate::engine::limiter::{Limiter, MemoryLimitExceeded};
use crate::engine::loaded_skill::Code;
use crate::engine::loaded_skill::LoadedSkill;
use crate::engine::log::{LogLimits, LogSink};
use crate::limits::tier::Limits;
use crate::outcome::{ErrorKind, Failure, Metrics};

/// Which guest entry a call runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Entry {
    Execute,
    GetName,
}

/// What one call of a guest entry produced.
pub(crate) struct Ran {
    pub(crate) result: Result<String, Failure>,
    pub(crate) metrics: Metrics,
    pub(crate) logs: Vec<crate::outcome::LogLine>,
    pub(crate) logs_dropped: u64,
    pub(crate) sandboxed: bool,
}

impl Ran {
    pub(crate) fn failed(failure: Failure) -> Ran {
        Ran {
            result: Err(failure),
            metrics: Metrics::default(),
            logs: Vec::new(),
            logs_dropped: 0,
            sandboxed: false,
        }
    }
}

/// Calls `entry` of `skill` in this process in a fresh store with every
/// limit armed; capability calls go to `caps`.
pub(crate) fn run_entry(
    skill: &LoadedSkill,
    entry: Entry,
    input: &str,
    limits: &Limits,
    log_limits: LogLimits,
    context: SkillContext,
    caps: Box<dyn Capabilities>,
) -> Ran {
    let log = LogSink::new(log_limits);
    let host = HostState::new(log.clone(), context, caps);
    let mut data = StoreData::new(host, Limiter::new(limits.memory_bytes));
    data.core.input = input.as_bytes().to_vec();
    let Some(code) = &skill.code else {
        return Ran::failed(Failure::new(
            ErrorKind::SandboxFailure,
            "this skill was loaded to run in sandbox workers only (Runtime::load_to_invoke); load it with Runtime::load to run it in this process",
        ));
    };
    let engine = match code {
        Code::Component(pre) => pre.engine(),
        Code::Core(pre) => pre.module().engine(),
    };
    let mut store = Store::new(engine, data);
    store.limiter(|data| &mut data.limiter);
    store
        .set_fuel(limits.fuel.unwrap_or(u64::MAX))
        .expect("fuel is enabled on every engine");
    store.set_epoch_deadline(deadline_ticks(limits.timeout));
    store.epoch_deadline_trap();

    let started = Instant::now();
    let called = match (code, entry) {
        (Code::Component(pre), entry) => {
            pre.instantiate(&mut store).and_then(|plugin| match entry {
                Entry::Execute => plugin.call_execute(&mut store, input),
                Entry::GetName => plugin.call_get_name(&mut store).map(Ok),
            })
        }
        (Code::Core(pre), Entry::Execute) => run_core(pre, &mut store),
        (Code::Core(_), Entry::GetName) => Ok(Err("core modules have no get-name".into())),
    };
    let duration = started.elapsed();
    let result = match called {
        Ok(returned) => check_output(returned, limits),
        Err(err) => Err(classify(&err, limits)),
    };
    let fuel = limits.fuel.unwrap_or(u64::MAX);
    let fuel_left = store.get_fuel().unwrap_or(0);
    let mut data = store.into_data();
    let (logs, logs_dropped) = log.finish();
    Ran {
        result,
        metrics: Metrics {
            fuel_consumed: fuel - fuel_left,
            peak_memory_bytes: data.limiter.peak_bytes(),
            duration,
            host_calls: data.take_calls(),
        },
        logs,
        logs_dropped,
        sandboxed: false,
    }
}

/// `run()` once; what it passed to `set_output` (or the last gated call's
/// answer) is the result, else its log as blufio joins it.
fn run_core(
    pre: &wasmtime::InstancePre<StoreData>,
    store: &mut Store<StoreData>,
) -> wasmtime::Result<Result<String, String>> {
    let instance = pre.instantiate(&mut *store)?;
    instance
        .get_typed_func::<(), ()>(&mut *store, core_abi::RUN)?
        .call(&mut *store, ())?;
    Ok(match store.data_mut().core.output.take() {
        Some(bytes) => String::from_utf8(bytes)
            .map_err(|_| "the output passed to set_output is not UTF-8".to_string()),
        None => Ok(core_abi::output_without_set_output(
            &store.data().host.log.lines(),
        )),
    })
}

/// Applies the output cap to both `ok` and `err` results.
fn check_output(returned: Result<String, String>, limits: &Limits) -> Result<String, Failure> {
    let len = match &returned {
        Ok(s) | Err(s) => s.len() as u64,
    };
    if len > limits.output_bytes {
        return Err(Failure::new(
            ErrorKind::OutputLimit,
            format!(
                "the skill returned {len} bytes, over the output limit of {} bytes",
                limits.output_bytes
            ),
        ));
    }
    returned.map_err(|message| Failure::new(ErrorKind::SkillError, message))
}

/// Maps whatever ended the invocation to its kind.
fn classify(err: &wasmtime::Error, limits: &Limits) -> Failure {
    if let Some(violation) = err.downcast_ref::<core_abi::AbiViolation>() {
        return Failure::new(ErrorKind::Trap, violation.to_string());
    }
    if let Some(failed) = err.downcast_ref::<core_abi::HostCallFailed>() {
        return Failure::new(ErrorKind::SkillError, failed.to_string());
    }
    if let Some(denied) = err.downcast_ref::<CapabilityDenied>() {
        return Failure::new(ErrorKind::CapabilityDenied, denied.to_string());
    }
    if let Some(waiting) = err.downcast_ref::<DeadlineReached>() {
        return Failure::new(
            ErrorKind::Timeout,
            format!("{waiting} ({} ms)", limits.timeout.as_millis()),
        );
    }
    if let Some(over) = err.downcast_ref::<MemoryLimitExceeded>() {
        return Failure::new(ErrorKind::MemoryLimit, over.to_string());
    }
    match err.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => Failure::new(
            ErrorKind::FuelExhausted,
            format!(
                "the skill used all {} units of fuel before finishing",
                limits.fuel.unwrap_or(u64::MAX)
            ),
        ),
        Some(Trap::Interrupt) => Failure::new(
            ErrorKind::Timeout,
            format!(
                "the skill ran past its deadline of {} ms",
                limits.timeout.as_millis()
            ),
        ),
        Some(Trap::StackOverflow) => Failure::new(
            ErrorKind::StackOverflow,
            "the skill overflowed its call stack (unbounded recursion?)",
        ),
        _ => Failure::new(ErrorKind::Trap, format!("{err:#}")),
    }
}
