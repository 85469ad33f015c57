//! What a bot offers its agent: the `<available_skills>` block for a system
//! prompt ([`prompt`]), the installed skills one bot may run ([`catalog`]),
//! calls of them as `prepare` runs them, reused until their files change
//! ([`calls`]), and with the `mcp` feature, all of it served over the Model
//! Context Protocol ([`mcp`]).

pub mod calls;
pub mod catalog;
#[cfg(feature = "mcp")]
pub mod mcp;
pub mod prompt;
mod stamp;

pub use stamp::{chain_stamp, home_stamp, skill_stamp};
