//! Capabilities, grants and the policy: the one value that decides what an
//! invocation may do.

use std::collections::{BTreeMap, BTreeSet};

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
    "capability `{capability}` was not granted to this skill for this call (`{call}`): skills run deny-by-default; declare it in SKILL.md `metadata.capabilities` (with a scope) and grant it"
)]
pub struct CapabilityDenied {
    pub capability: Capability,
    pub call: String,
}

pub use crate::manifest::CapabilityDecl as Grant;

impl Capability {
    /// Whether this runtime version can perform the capability when granted.
    /// The others stay denied even when declared: callers are told which.
    pub fn is_implemented(self) -> bool {
        matches!(self, Capability::ReadEnv | Capability::GetSecret)
    }
}

/// The capabilities one invocation holds, with their scopes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    granted: BTreeSet<Grant>,
}

impl Grants {
    pub fn none() -> Grants {
        Grants::default()
    }

    /// Grants what a manifest declares; returns the grants and the declared
    /// capabilities this runtime version cannot perform (left denied).
    pub fn from_declared(declared: &[Grant]) -> (Grants, Vec<Capability>) {
        let mut grants = Grants::none();
        let unsupported = grants.grant_all(declared);
        (grants, unsupported)
    }

    /// Adds every grant it can; returns the capabilities it could not add
    /// (not implemented yet), each once.
    pub fn grant_all(&mut self, grants: &[Grant]) -> Vec<Capability> {
        let mut unsupported = Vec::new();
        for grant in grants {
            if let Err(cap) = self.grant(grant.clone())
                && !unsupported.contains(&cap)
            {
                unsupported.push(cap);
            }
        }
        unsupported
    }

    /// Adds a grant, unless the capability is not implemented yet.
    pub fn grant(&mut self, grant: Grant) -> Result<(), Capability> {
        if !grant.capability.is_implemented() {
            return Err(grant.capability);
        }
        self.granted.insert(grant);
        Ok(())
    }

    /// Removes every scope of one capability; the others keep working.
    pub fn revoke(&mut self, capability: Capability) {
        self.granted.retain(|g| g.capability != capability);
    }

    pub fn is_granted(&self, capability: Capability) -> bool {
        self.granted.iter().any(|g| g.capability == capability)
    }

    /// Whether `name` (a variable or secret name) falls inside a grant: an
    /// unscoped grant covers every name, a scoped one only its own.
    pub fn allows(&self, capability: Capability, name: &str) -> bool {
        self.granted
            .iter()
            .any(|g| g.capability == capability && g.scope.as_deref().is_none_or(|s| s == name))
    }
}

/// Where granted values come from: the host process, or fixed values (tests).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Values {
    /// Environment variables; secrets from `SKILL_SECRET_<NAME>`.
    #[default]
    Process,
    Map(BTreeMap<String, String>),
}

/// Everything that decides what one invocation may do. Host functions
/// consult this value and nothing else.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    pub grants: Grants,
    /// Secret names the skill declares and the operator approved.
    pub secrets: BTreeSet<String>,
    pub env: Values,
    pub secret_values: Values,
}

impl Policy {
    /// Nothing granted: every gated call ends the invocation.
    pub fn deny_all() -> Policy {
        Policy::default()
    }

    pub(crate) fn env_var(&self, name: &str) -> Option<String> {
        match &self.env {
            Values::Process => std::env::var(name).ok(),
            Values::Map(map) => map.get(name).cloned(),
        }
    }

    pub(crate) fn secret(&self, name: &str) -> Option<String> {
        match &self.secret_values {
            Values::Process => std::env::var(format!("SKILL_SECRET_{name}")).ok(),
            Values::Map(map) => map.get(name).cloned(),
        }
    }
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

    fn grant(text: &str) -> Grant {
        text.parse().unwrap()
    }

    #[test]
    fn scopes_limit_names_and_revocation_is_per_capability() {
        let declared = [
            grant("read-env:TZ"),
            grant("get-secret"),
            grant("http-get:api.example.com"),
        ];
        let (mut grants, unsupported) = Grants::from_declared(&declared);
        assert_eq!(
            unsupported,
            [Capability::HttpGet],
            "not implemented yet, so not granted"
        );
        assert!(grants.allows(Capability::ReadEnv, "TZ"));
        assert!(!grants.allows(Capability::ReadEnv, "HOME"));
        assert!(grants.allows(Capability::GetSecret, "ANY"));
        assert!(!grants.is_granted(Capability::HttpGet));
        grants.revoke(Capability::ReadEnv);
        assert!(!grants.is_granted(Capability::ReadEnv));
        assert!(grants.is_granted(Capability::GetSecret));
    }

    #[test]
    fn nothing_is_granted_by_default() {
        let policy = Policy::deny_all();
        for cap in Capability::ALL {
            assert!(!policy.grants.is_granted(cap), "{cap}");
        }
    }
}
