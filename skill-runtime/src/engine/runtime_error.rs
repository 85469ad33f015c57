//! The one way setting up the runtime itself fails.

use crate::limits::tier::TrustTier;

/// Errors setting up the runtime itself, not a skill.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "could not set up the wasmtime engine for the {tier} tier: {message}; this is a problem with the host (memory or address-space limits), not with the skill"
)]
pub struct RuntimeError {
    pub(crate) tier: TrustTier,
    pub(crate) message: String,
}
