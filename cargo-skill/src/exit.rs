//! Exit statuses a CI pipeline can rely on, and the one mapping from an
//! error at the edge to a status.

use std::process::ExitCode;

/// The command did what was asked and found nothing wrong.
pub const SUCCESS: u8 = 0;
/// The command ran, and what it ran failed: a skill invocation ended in an
/// error outcome, a validation found errors, a test failed; or it did only
/// part of what was asked, and said which part.
pub const FAILURE: u8 = 1;
/// The command could not run: bad arguments, unreadable or malformed input,
/// a missing file, a refusal before anything was changed. Nothing was changed.
pub const USAGE: u8 = 2;

pub fn code(status: u8) -> ExitCode {
    ExitCode::from(status)
}

/// An error after part of the work was done: the status is [`FAILURE`],
/// never [`USAGE`]'s "nothing was changed".
#[derive(Debug, thiserror::Error)]
#[error("{error:#}; already done before it: {done}")]
pub struct Partial {
    pub done: String,
    pub error: anyhow::Error,
}

impl Partial {
    /// `error`, as a partial failure when `done` is not empty.
    pub fn after(done: &[String], error: anyhow::Error) -> anyhow::Error {
        if done.is_empty() {
            error
        } else {
            Partial {
                done: done.join(", "),
                error,
            }
            .into()
        }
    }
}

/// The status an error ends a command with.
pub fn status_of(error: &anyhow::Error) -> u8 {
    if error.downcast_ref::<Partial>().is_some() {
        FAILURE
    } else {
        USAGE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_partial_failure_is_not_a_usage_error() {
        let plain = anyhow::anyhow!("bad input");
        assert_eq!(status_of(&plain), USAGE);
        let none_done = Partial::after(&[], anyhow::anyhow!("refused"));
        assert_eq!(status_of(&none_done), USAGE);
        let partial = Partial::after(&["installed a v1.0.0".into()], anyhow::anyhow!("disk full"));
        assert_eq!(status_of(&partial), FAILURE);
        assert_eq!(
            partial.to_string(),
            "disk full; already done before it: installed a v1.0.0"
        );
    }
}
