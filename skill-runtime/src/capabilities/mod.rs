//! The capabilities a skill may be granted (the host function families of
//! the WIT world that are gated), what grants them, and the host side of
//! each: files, memory, secrets, HTTP.

pub(crate) mod calls;
pub mod decl;
pub mod files;
pub(crate) mod grants;
pub mod http;
pub(crate) mod memory;
pub mod secret_store;

pub use decl::{CapabilityDecl, DeclError};

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A host function family that a skill must be granted before it may call it.
/// `log` and `get-context` are always available and have no capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    RecallMemory,
    HttpGet,
    HttpPost,
    ReadFile,
    WriteFile,
    GetSecret,
    ReadEnv,
}

impl Capability {
    pub const ALL: [Capability; 7] = [
        Capability::RecallMemory,
        Capability::HttpGet,
        Capability::HttpPost,
        Capability::ReadFile,
        Capability::WriteFile,
        Capability::GetSecret,
        Capability::ReadEnv,
    ];

    /// Also the name of the WIT function it gates.
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::RecallMemory => "recall-memory",
            Capability::HttpGet => "http-get",
            Capability::HttpPost => "http-post",
            Capability::ReadFile => "read-file",
            Capability::WriteFile => "write-file",
            Capability::GetSecret => "get-secret",
            Capability::ReadEnv => "read-env",
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown capability `{0}`: expected one of recall-memory, http-get, http-post, read-file, write-file, get-secret, read-env"
)]
pub struct UnknownCapability(pub String);

impl FromStr for Capability {
    type Err = UnknownCapability;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Capability::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownCapability(s.to_string()))
    }
}
