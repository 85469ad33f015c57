//! One module per subcommand: a clap `Args` struct and an `exec`.

pub mod audit;
pub mod bench;
pub mod build;
pub mod compile;
pub mod convert;
pub mod disable;
pub mod doctor;
pub mod enable;
pub mod grant;
pub mod inspect;
pub mod install;
pub mod keygen;
pub mod list;
pub mod mcp;
pub mod new;
pub mod publish;
pub mod remove;
pub mod revoke;
pub mod run;
pub mod secret;
pub mod sign;
pub mod test;
pub mod to_prompt;
pub mod update;
pub mod validate;
pub mod verify;
