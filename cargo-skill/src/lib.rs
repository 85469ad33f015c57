//! `cargo skill`: the command-line half of the boternity skill toolchain.
//! `main.rs` only parses arguments; each verb lives in `commands/<verb>.rs`
//! as a clap `Args` and a thin `exec` over the domain folders: `author/`
//! (new, build, test cases), `signing/` (keys, sums, signatures),
//! `git_remote.rs` (the cached clone of a remote), `publish/` (the
//! release), `install/` (sources, resolution, placing, updates),
//! `scanning/` (scan output and the install gate). `exit.rs` and `help.rs`
//! map errors to statuses and remedies. What a bot embeds, serving over
//! MCP included, lives in the `skill-runtime` crate.

mod author;
mod browse;
pub mod cli;
mod commands;
mod diagnostics;
mod doctor;
mod exit;
mod git_remote;
mod help;
mod input;
mod install;
mod limit_flags;
mod output;
mod publish;
mod registry;
mod scanning;
mod setup;
mod signing;
mod tty;
mod web;

/// The limited compile child, public for the end-to-end test that limits it.
pub use install::compile;
