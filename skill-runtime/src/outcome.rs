//! What one invocation produced: its output or a typed error, plus metrics.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::limits::sources::ResolvedLimits;
use crate::limits::tier::{LimitName, Limits, TrustTier};

/// Why an invocation did not produce output. The set is a stable contract:
/// scripts and bots match on these names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    FuelExhausted,
    Timeout,
    MemoryLimit,
    StackOverflow,
    CapabilityDenied,
    OutputLimit,
    Trap,
    InvalidComponent,
    /// The guest returned `err` from `execute`.
    SkillError,
    /// The OS sandbox could not be set up, or its worker died mid-call.
    SandboxFailure,
    /// The input could not be built (a chain step's mapping found nothing
    /// at its pointer) or does not match the skill's input schema.
    InvalidInput,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 11] = [
        ErrorKind::FuelExhausted,
        ErrorKind::Timeout,
        ErrorKind::MemoryLimit,
        ErrorKind::StackOverflow,
        ErrorKind::CapabilityDenied,
        ErrorKind::OutputLimit,
        ErrorKind::Trap,
        ErrorKind::InvalidComponent,
        ErrorKind::SkillError,
        ErrorKind::SandboxFailure,
        ErrorKind::InvalidInput,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::FuelExhausted => "fuel-exhausted",
            ErrorKind::Timeout => "timeout",
            ErrorKind::MemoryLimit => "memory-limit",
            ErrorKind::StackOverflow => "stack-overflow",
            ErrorKind::CapabilityDenied => "capability-denied",
            ErrorKind::OutputLimit => "output-limit",
            ErrorKind::Trap => "trap",
            ErrorKind::InvalidComponent => "invalid-component",
            ErrorKind::SkillError => "skill-error",
            ErrorKind::SandboxFailure => "sandbox-failure",
            ErrorKind::InvalidInput => "invalid-input",
        }
    }

    pub fn parse(s: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed invocation: the kind to match on, a message for people, and
/// what the operator can do about it when there is something.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub kind: ErrorKind,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remedy: Option<Remedy>,
}

impl Failure {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            message: message.into(),
            remedy: None,
        }
    }

    /// The limit a `fuel-exhausted`, `memory-limit` or `timeout` failure hit.
    pub fn limit_hit(&self) -> Option<LimitName> {
        match self.kind {
            ErrorKind::FuelExhausted => Some(LimitName::Fuel),
            ErrorKind::MemoryLimit => Some(LimitName::Memory),
            ErrorKind::Timeout => Some(LimitName::Timeout),
            _ => None,
        }
    }

    /// Adds to a failure that hit a limit which one, where it came from,
    /// and how to raise it (as its remedy); whether it hit one.
    pub fn explain(&mut self, limits: &ResolvedLimits) -> bool {
        let Some(hit) = self.limit_hit().and_then(|name| limits.hit(name)) else {
            return false;
        };
        self.message.push_str(&hit.words);
        if let Some(raise) = hit.raise {
            self.remedy = Some(Remedy::RaiseLimit {
                limit: raise.limit,
                to: raise.to,
                grant: raise.grant,
                skill: raise.skill,
            });
        }
        true
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for Failure {}

/// What the operator can do about a failure, as data: a front end words it
/// (the CLI names its commands, a bot its own settings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Remedy {
    /// Raise `limit` to `to` (fuel units, MiB, or milliseconds): for every
    /// run of the installed `skill` by approving `grant` (`fuel=4000000`),
    /// or for one run.
    RaiseLimit {
        limit: LimitName,
        to: u64,
        grant: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        skill: Option<String>,
    },
    /// The OS sandbox could not be set up here: see what the machine lacks.
    CheckSandbox,
}

/// One line a skill logged or printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// `trace`, `debug`, `info`, `warn`, `error`, or `stdout`/`stderr` for
    /// captured output.
    pub level: String,
    pub message: String,
}

/// How often the guest called one host function, and whether it was let through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostCall {
    pub function: String,
    pub allowed: bool,
    pub count: u64,
}

/// What an invocation cost.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub fuel_consumed: u64,
    pub peak_memory_bytes: u64,
    #[serde(rename = "duration_ms", with = "duration_ms_f64")]
    pub duration: Duration,
    pub host_calls: Vec<HostCall>,
}

/// Everything one invocation produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub invocation_id: String,
    pub tier: TrustTier,
    pub limits: Limits,
    pub result: Result<String, Failure>,
    pub metrics: Metrics,
    pub logs: Vec<LogLine>,
    /// Log lines dropped because the invocation went over the log caps.
    pub logs_dropped: u64,
    /// Why the invocation could not be recorded in the audit log.
    pub audit_error: Option<String>,
    /// Ran inside a sandbox worker process (not in the host process).
    pub sandboxed: bool,
}

impl Report {
    /// A report for an invocation that never started (e.g. the component did
    /// not load), so callers print one shape for every outcome.
    pub fn refused(tier: TrustTier, limits: Limits, failure: Failure) -> Report {
        Report {
            invocation_id: uuid::Uuid::now_v7().to_string(),
            tier,
            limits,
            result: Err(failure),
            metrics: Metrics::default(),
            logs: Vec::new(),
            logs_dropped: 0,
            audit_error: None,
            sandboxed: false,
        }
    }

    pub fn is_ok(&self) -> bool {
        self.result.is_ok()
    }

    pub fn error_kind(&self) -> Option<ErrorKind> {
        self.result.as_ref().err().map(|f| f.kind)
    }

    /// The stable JSON form printed by `cargo skill run --message-format json`.
    /// The output is embedded as JSON when it parses, else as a string.
    pub fn to_json(&self) -> serde_json::Value {
        let mut obj = serde_json::Map::new();
        match &self.result {
            Ok(output) => {
                obj.insert("outcome".into(), "ok".into());
                let value = serde_json::from_str(output)
                    .unwrap_or_else(|_| serde_json::Value::String(output.clone()));
                obj.insert("output".into(), value);
            }
            Err(failure) => {
                obj.insert("outcome".into(), "error".into());
                obj.insert("kind".into(), failure.kind.as_str().into());
                obj.insert("message".into(), failure.message.clone().into());
                if let Some(remedy) = &failure.remedy {
                    let remedy = serde_json::to_value(remedy).expect("a remedy serializes");
                    obj.insert("remedy".into(), remedy);
                }
            }
        }
        let metrics = serde_json::to_value(&self.metrics).expect("metrics serialize");
        obj.extend(metrics.as_object().expect("metrics is an object").clone());
        obj.insert(
            "logs".into(),
            serde_json::to_value(&self.logs).expect("logs serialize"),
        );
        obj.insert("logs_dropped".into(), self.logs_dropped.into());
        if let Some(error) = &self.audit_error {
            obj.insert("audit_error".into(), error.clone().into());
        }
        obj.insert("invocation_id".into(), self.invocation_id.clone().into());
        obj.insert("tier".into(), self.tier.as_str().into());
        obj.insert("sandboxed".into(), self.sandboxed.into());
        obj.insert(
            "limits".into(),
            serde_json::to_value(self.limits).expect("limits serialize"),
        );
        serde_json::Value::Object(obj)
    }
}

mod duration_ms_f64 {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64() * 1000.0)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        f64::deserialize(d).map(|ms| Duration::from_secs_f64(ms / 1000.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_names() {
        for k in ErrorKind::ALL {
            assert_eq!(ErrorKind::parse(k.as_str()), Some(k));
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
        }
        assert_eq!(ErrorKind::parse("oops"), None);
    }
}
