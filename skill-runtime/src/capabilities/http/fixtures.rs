//! Stand-ins and witnesses for the network, for tests: fixtures answer
//! requests that passed every grant check; a recorder sees real exchanges.

use std::fmt::Debug;

use super::method::Method;

/// What one request got back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    pub method: Method,
    pub url: String,
    pub status: u16,
    /// The `Location` header, for redirects.
    pub location: Option<String>,
    pub body: String,
}

/// Answers requests in place of the network. Only the connection is
/// replaced: scopes, literal-address vetting, redirects, caps and status
/// handling apply exactly as for real requests.
pub trait HttpFixtures: Debug + Send + Sync {
    /// The response for a request, or why there is none (shown to the guest).
    fn respond(&self, method: Method, url: &str, body: Option<&str>) -> Result<Exchange, String>;
}

/// Sees every exchange made over the network (`cargo skill test --record`).
pub trait HttpRecorder: Debug + Send + Sync {
    fn record(&self, exchange: &Exchange);
}
