//! `cargo skill`: the command-line half of the boternity skill toolchain.
//! `main.rs` only parses arguments; each verb lives in `commands/<verb>.rs`
//! and calls library modules that tests can use without the CLI.

pub mod agents;
pub mod build;
pub mod catalog;
pub mod cli;
pub mod commands;
pub mod compile;
pub mod componentize;
pub mod content;
pub mod convert;
pub mod diagnostics;
pub mod doctor;
pub mod exit;
pub mod fetch_source;
pub mod git_remote;
pub mod home;
pub mod input;
pub mod inspection;
pub mod install;
pub mod junit;
pub mod keys;
pub mod output;
pub mod prompt;
pub mod publish;
pub mod repo_index;
pub mod resolve;
pub mod scaffold;
pub mod signing;
pub mod strip;
pub mod test_case;
pub mod test_fixtures;
pub mod test_runner;
pub mod tty;
pub mod update;
