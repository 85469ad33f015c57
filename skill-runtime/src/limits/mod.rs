//! How much a run may use: trust tiers and their default limits and
//! ceilings ([`tier`]), and where each limit of one run came from
//! ([`sources`]: the tier, the skill's ask, the operator's approval, the
//! bot's lowering, the flags of one run).

pub mod sources;
pub mod tier;
