//! `http-get` and `http-post`: scopes, address vetting and the client.

mod address;
mod client;
mod fixtures;
mod method;
mod scope;

pub use address::blocked_reason;
pub use client::{Context, HttpError, HttpLimits, Request, exchange, success_body};
pub use fixtures::{Exchange, HttpFixtures, HttpRecorder};
pub use method::Method;
pub use scope::HostPattern;
