//! `--fuel`, `--memory`, `--timeout`: the operator's limits for one run,
//! taken by every command that invokes a skill (run, test, bench). They may
//! raise the tier's defaults, never past its ceiling.

use std::time::Duration;

use clap::Args;
use skill_runtime::LimitRequest;

#[derive(Debug, Clone, Copy, Default, Args)]
pub struct LimitFlags {
    /// Fuel budget for each invocation (may exceed the tier's default, not its ceiling)
    #[arg(long, value_name = "UNITS")]
    pub fuel: Option<u64>,

    /// Deadline for each invocation, in milliseconds
    #[arg(long, value_name = "MS")]
    pub timeout: Option<u64>,

    /// Memory limit for each invocation, in MiB
    #[arg(long, value_name = "MB")]
    pub memory: Option<u64>,
}

impl LimitFlags {
    pub fn request(&self) -> LimitRequest {
        LimitRequest {
            memory_bytes: self.memory.map(|mb| mb.saturating_mul(1024 * 1024)),
            fuel: self.fuel,
            timeout: self.timeout.map(Duration::from_millis),
            output_bytes: None,
        }
    }
}
