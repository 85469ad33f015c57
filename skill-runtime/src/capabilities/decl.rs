//! `http-get:api.example.com`: how a skill declares (and an operator
//! grants) a capability, with the scope rules of each capability.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use super::{Capability, UnknownCapability};

/// `http-get:api.example.com`: a capability with an optional scope.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct CapabilityDecl {
    pub capability: Capability,
    pub scope: Option<String>,
}

impl fmt::Display for CapabilityDecl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.scope {
            Some(scope) => write!(f, "{}:{scope}", self.capability),
            None => write!(f, "{}", self.capability),
        }
    }
}

impl FromStr for CapabilityDecl {
    type Err = DeclError;
    fn from_str(token: &str) -> Result<Self, Self::Err> {
        let (name, scope) = match token.split_once(':') {
            Some((name, scope)) => (name, Some(scope)),
            None => (token, None),
        };
        let capability: Capability = name.parse()?;
        if let Some(scope) = scope {
            check_scope(capability, scope).map_err(DeclError::Scope)?;
        }
        Ok(CapabilityDecl {
            capability,
            scope: scope.map(str::to_string),
        })
    }
}

/// Why a declaration does not parse: the name or the scope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeclError {
    #[error(transparent)]
    Unknown(#[from] UnknownCapability),
    #[error("{0}")]
    Scope(String),
}

fn check_scope(capability: Capability, scope: &str) -> Result<(), String> {
    if scope.is_empty() {
        return Err("the scope after `:` is empty".into());
    }
    match capability {
        Capability::HttpGet | Capability::HttpPost => check_host_pattern(scope),
        Capability::ReadFile | Capability::WriteFile => check_file_scope(scope),
        Capability::GetSecret => check_upper_snake(scope),
        Capability::ReadEnv => {
            if scope.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !scope.starts_with(|c: char| c.is_ascii_digit())
            {
                Ok(())
            } else {
                Err(format!("`{scope}` is not an environment variable name"))
            }
        }
        Capability::RecallMemory => Err("recall-memory takes no scope".into()),
    }
}

/// `[http://|https://]host[:port]`, host a DNS name, `*.` wildcard, `localhost` or IP literal.
fn check_host_pattern(scope: &str) -> Result<(), String> {
    super::http::HostPattern::parse(scope).map(|_| ())
}

/// A folder inside the data folder (relative), or a host folder (absolute,
/// approved by the operator like any grant): no `.`, `..` or empty parts.
fn check_file_scope(path: &str) -> Result<(), String> {
    if path.contains(['\0', '\\']) {
        return Err(format!("`{path}` must be a plain path"));
    }
    let inner = path.strip_prefix('/').unwrap_or(path).trim_end_matches('/');
    if inner.is_empty() {
        return Err(format!(
            "`{path}` would grant the whole filesystem: name the folder the skill needs"
        ));
    }
    if inner.split('/').any(|p| p == "..") {
        return Err(format!("`{path}` leaves its folder with `..`"));
    }
    if inner.split('/').any(|p| p.is_empty() || p == ".") {
        return Err(format!("`{path}` has empty or `.` parts"));
    }
    Ok(())
}

/// Secret names (`get-secret:API_KEY`, `metadata.secrets`).
pub(crate) fn check_upper_snake(name: &str) -> Result<(), String> {
    let ok = name.starts_with(|c: char| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!("`{name}` is not UPPER_SNAKE_CASE"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_scopes_are_checked_per_capability() {
        for ok in [
            "http-get",
            "http-get:api.example.com",
            "http-post:*.example.com:8443",
            "http-get:https://api.example.com",
            "http-get:127.0.0.1:8080",
            "http-get:localhost",
            "read-file:cache/data",
            "read-file:/srv/cache",
            "get-secret:API_KEY",
            "read-env:HOME",
        ] {
            assert!(ok.parse::<CapabilityDecl>().is_ok(), "{ok}");
        }
        for bad in [
            "socket",
            "http-get:",
            "http-get:ftp://x.com",
            "http-get:example.com/path",
            "http-get:bad_host",
            "read-file:/",
            "read-file:/srv/../etc",
            "read-file:../up",
            "write-file:a//b",
            "get-secret:lower",
            "recall-memory:x",
            "http-get:x.com:99999",
        ] {
            assert!(bad.parse::<CapabilityDecl>().is_err(), "{bad}");
        }
    }
}
