//! Capabilities, grants and the policy: the one value that decides what an
//! invocation may do.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use std::fmt;

use crate::capabilities::files::{FileLimits, FolderId};
use crate::capabilities::http::{HttpFixtures, HttpLimits, HttpRecorder};
use crate::capabilities::memory::MemoryProvider;
use crate::capabilities::secret_store::{SecretStore, SecretStoreError};

pub use crate::capabilities::Capability;

/// Raised inside a host function to end the invocation: a denied capability is
/// never an error value the guest could ignore.
#[derive(Debug, Clone, thiserror::Error)]
pub struct CapabilityDenied {
    pub capability: Capability,
    pub call: String,
    /// Why a granted capability still refused this call (an address, a path);
    /// `None` when the capability was not granted at all.
    pub reason: Option<String>,
}

impl fmt::Display for CapabilityDenied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let CapabilityDenied {
            capability,
            call,
            reason,
        } = self;
        match reason {
            Some(reason) => write!(f, "capability `{capability}` refused `{call}`: {reason}"),
            None => write!(
                f,
                "capability `{capability}` was not granted to this skill for this call (`{call}`): skills run deny-by-default; declare it in SKILL.md `metadata.capabilities` (with a scope) and grant it"
            ),
        }
    }
}

pub use super::CapabilityDecl as Grant;

/// The capabilities one invocation holds, with their scopes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    granted: BTreeSet<Grant>,
}

impl Grants {
    pub fn none() -> Grants {
        Grants::default()
    }

    /// Grants exactly what a manifest declares.
    pub fn from_declared(declared: &[Grant]) -> Grants {
        let mut grants = Grants::none();
        grants.grant_all(declared);
        grants
    }

    pub fn grant_all(&mut self, grants: &[Grant]) {
        self.granted.extend(grants.iter().cloned());
    }

    pub fn grant(&mut self, grant: Grant) {
        self.granted.insert(grant);
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
        self.scopes(capability).any(|s| s.is_none_or(|s| s == name))
    }

    /// The scopes granted for a capability; `None` is an unscoped grant.
    pub fn scopes(&self, capability: Capability) -> impl Iterator<Item = Option<&str>> {
        self.granted
            .iter()
            .filter(move |g| g.capability == capability)
            .map(|g| g.scope.as_deref())
    }

    pub fn iter(&self) -> impl Iterator<Item = &Grant> {
        self.granted.iter()
    }
}

/// Where granted values come from: the host process, or fixed values (tests).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Values {
    /// Environment variables; secrets from `SKILL_SECRET_<NAME>`, then the
    /// policy's secret store.
    #[default]
    Process,
    Map(BTreeMap<String, String>),
}

/// Everything that decides what one invocation may do. Host functions
/// consult this value and nothing else.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub grants: Grants,
    /// Secret names the skill declares and the operator approved.
    pub secrets: BTreeSet<String>,
    pub env: Values,
    pub secret_values: Values,
    /// Consulted after `SKILL_SECRET_<NAME>` when values come from the process.
    pub secret_store: Option<SecretStore>,
    /// The skill's data folder for this bot; file calls are denied without one.
    pub data_dir: Option<PathBuf>,
    /// What `recall-memory` reads; none means it returns nothing.
    pub memory: Option<Arc<dyn MemoryProvider>>,
    pub http: HttpLimits,
    /// Answer HTTP requests instead of the network (test fixtures).
    pub http_fixtures: Option<Arc<dyn HttpFixtures>>,
    /// Sees every real HTTP exchange (recording fixtures).
    pub http_recorder: Option<Arc<dyn HttpRecorder>>,
    pub files: FileLimits,
    /// Host folders as approved: a call beneath one that is no longer that
    /// folder is denied. A granted folder absent here is checked for links only.
    pub pinned_folders: BTreeMap<PathBuf, FolderId>,
    /// Host folders pinned while this run was prepared (a grant's first use
    /// since it was approved): each is a `pinned-folder:/path` host call of
    /// the invocation, so the audit log shows when a folder was pinned.
    pub pinned_now: BTreeSet<PathBuf>,
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

    pub(crate) fn secret(&self, name: &str) -> Result<Option<String>, SecretStoreError> {
        match &self.secret_values {
            Values::Map(map) => Ok(map.get(name).cloned()),
            Values::Process => match std::env::var(format!("SKILL_SECRET_{name}")) {
                Ok(value) => Ok(Some(value)),
                Err(_) => match &self.secret_store {
                    Some(store) => store.get(name),
                    None => Ok(None),
                },
            },
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
        let mut grants = Grants::from_declared(&declared);
        assert!(grants.allows(Capability::ReadEnv, "TZ"));
        assert!(!grants.allows(Capability::ReadEnv, "HOME"));
        assert!(grants.allows(Capability::GetSecret, "ANY"));
        assert_eq!(
            grants.scopes(Capability::HttpGet).collect::<Vec<_>>(),
            [Some("api.example.com")]
        );
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
