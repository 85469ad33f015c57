//! `http-get` and `http-post`: scopes, address vetting and the client.

mod address;
mod client;
mod scope;

pub use address::blocked_reason;
pub use client::{HttpError, HttpLimits, Method, Request, fetch};
pub use scope::HostPattern;
