//! Defence in depth: untrusted (and, by default, verified) skills run in a
//! worker process confined by the OS sandbox (Landlock and seccomp on
//! Linux, Seatbelt on macOS) and resource limits, with
//! no authority of its own; every capability call is brokered back to the
//! host, which answers it against the invocation's policy. Local skills run
//! in process. Workers are pre-forked per tier, reused with a fresh store
//! per call, and retired after a number of calls or any trap or crash.

mod config;
pub mod confine;
mod error;
mod pool;
pub mod probe;
pub(crate) mod protocol;
pub mod worker;

pub use config::{Isolation, SandboxConfig, WorkerCommand};
pub use confine::{ConfineError, Confinement, MIN_LANDLOCK_ABI, ProcessLimits};
#[cfg(target_os = "linux")]
pub use confine::{landlock_abi, seccomp_available};
pub use error::SandboxError;
pub(crate) use pool::Pool;
pub use probe::{ProbeCheck, ProbeReport};
