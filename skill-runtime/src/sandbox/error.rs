//! Why a sandboxed invocation could not run, and the failure it ends with.

use crate::outcome::{ErrorKind, Failure, Remedy};
use crate::sandbox::confine::ConfineError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SandboxError {
    #[error("could not start the sandbox worker `{program}`: {error}")]
    Spawn { program: String, error: String },
    #[error("the sandbox worker refused to run: {0}")]
    Refused(ConfineError),
    #[error("the sandbox worker died {when} ({status}); the next call gets a new worker")]
    Died { when: &'static str, status: String },
    /// No answer by the deadline (plus a grace second during a call).
    #[error(
        "the sandbox worker stopped answering {0} and was killed; the next call gets a new worker"
    )]
    Hung(&'static str),
    #[error(
        "the sandbox worker broke the protocol ({0}) and was killed; the next call gets a new worker"
    )]
    Protocol(String),
    #[error("the sandbox worker could not load the component: {0}")]
    Load(String),
}

impl SandboxError {
    /// The outcome kind an invocation that hit this error ends with.
    pub fn kind(&self) -> ErrorKind {
        match self {
            SandboxError::Hung(_) => ErrorKind::Timeout,
            _ => ErrorKind::SandboxFailure,
        }
    }

    /// The failure an invocation that hit this error ends with.
    pub fn failure(&self) -> Failure {
        let mut failure = Failure::new(self.kind(), self.to_string());
        if matches!(self, SandboxError::Spawn { .. } | SandboxError::Refused(_)) {
            failure.remedy = Some(Remedy::CheckSandbox);
        }
        failure
    }
}
