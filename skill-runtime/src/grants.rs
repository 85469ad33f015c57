//! Capabilities: the host function families a skill must be granted.

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

/// Raised inside a host function to end the invocation: a denied capability is
/// never an error value the guest could ignore.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "capability `{capability}` was not granted to this skill (the call was `{call}`): skills run deny-by-default, and this runtime version grants no capabilities"
)]
pub struct CapabilityDenied {
    pub capability: Capability,
    pub call: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for cap in Capability::ALL {
            assert_eq!(cap.as_str().parse::<Capability>().unwrap(), cap);
        }
        assert!(
            "socket"
                .parse::<Capability>()
                .unwrap_err()
                .to_string()
                .contains("http-get")
        );
    }
}
