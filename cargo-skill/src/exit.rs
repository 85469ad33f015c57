//! Exit statuses a CI pipeline can rely on.

use std::process::ExitCode;

/// The command did what was asked and found nothing wrong.
pub const SUCCESS: u8 = 0;
/// The command ran, and what it ran failed: a skill invocation ended in an
/// error outcome, a validation found errors, a test failed.
pub const FAILURE: u8 = 1;
/// The command could not run: bad arguments, unreadable or malformed input,
/// a missing file. Nothing was changed.
pub const USAGE: u8 = 2;

pub fn code(status: u8) -> ExitCode {
    ExitCode::from(status)
}
