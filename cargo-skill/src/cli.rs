//! Argument parsing and dispatch; behaviour lives in the commands and the
//! library modules they call.

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::commands;
use crate::exit;
use crate::help;
use crate::output::GlobalArgs;

#[derive(Debug, Parser)]
#[command(
    name = "cargo-skill",
    bin_name = "cargo skill",
    version,
    about = "Build, test, sign, publish, install and run skills for AI agents",
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new skill from a template
    New(commands::new::NewArgs),
    /// Build skill packages into checked components (skill.wasm)
    Build(commands::build::BuildArgs),
    /// Run skills' test cases under the limits bots use
    Test(commands::test::TestArgs),
    /// Measure a skill's compile, load and invoke cost against plain wasmtime
    Bench(commands::bench::BenchArgs),
    /// Check skills: the agentskills.io spec, extensions, components, relations
    Validate(commands::validate::ValidateArgs),
    /// Find the malicious and the risky in skill folders (offline; SARIF for code scanning)
    Scan(commands::scan::ScanArgs),
    /// Show a skill's resolved manifest and capability set
    Inspect(commands::inspect::InspectArgs),
    /// Print the <available_skills> block for agent system prompts
    ToPrompt(commands::to_prompt::ToPromptArgs),
    /// Run a skill's `execute` once in the sandboxed runtime
    Run(commands::run::RunArgs),
    /// Serve installed skills to AI agents over MCP (stdio): tools, prompts and skill:// resources
    Mcp(commands::mcp::McpArgs),
    /// Manage the secret store skills read with `get-secret`
    Secret(commands::secret::SecretArgs),
    /// Show what skills did: every invocation from the audit log
    Audit(commands::audit::AuditArgs),
    /// Create a minisign key pair for signing skills
    Keygen(commands::keygen::KeygenArgs),
    /// Sign a skill folder: skill.sums and skill.sums.minisig
    Sign(commands::sign::SignArgs),
    /// Check a skill folder's signature, files and claims
    Verify(commands::verify::VerifyArgs),
    /// Validate, build, test, sign, then commit, tag and push skills to a git repository
    Publish(commands::publish::PublishArgs),
    /// Install skills from GitHub, a git URL or a folder: verified, approved, locked
    #[command(disable_version_flag = true, visible_alias = "add")]
    Install(commands::install::InstallArgs),
    /// List installed skills
    List(commands::list::ListArgs),
    /// Grant an installed skill a capability
    Grant(commands::grant::GrantArgs),
    /// Revoke a capability from an installed skill
    Revoke(commands::revoke::RevokeArgs),
    /// Uninstall skills from the home and the project's agent folders
    #[command(visible_aliases = ["rm", "uninstall"])]
    Remove(commands::remove::RemoveArgs),
    /// Update installed skills: patch releases automatically, minor and major when asked
    Update(commands::update::UpdateArgs),
    /// Enable an installed skill for a bot, optionally pinned and with lowered limits
    #[command(disable_version_flag = true)]
    Enable(commands::enable::EnableArgs),
    /// Disable an installed skill for a bot
    Disable(commands::disable::DisableArgs),
    /// Search the registries for skills to install (`find` is the same)
    #[command(visible_alias = "find")]
    Search(commands::search::SearchArgs),
    /// Browse the registries' skills in the terminal: search, categories, preview, install
    Browse(commands::browse::BrowseArgs),
    /// Show a skill of a source in full before installing it: capabilities, files, signature, scan
    Preview(commands::preview::PreviewArgs),
    /// Manage the registries `search` looks in
    Registry(commands::registry::RegistryArgs),
    /// Write SKILL.md for a skill.toml (core-module) skill, so it can be published as a skill folder
    Convert(commands::convert::ConvertArgs),
    /// Check this machine: sandbox (Landlock and seccomp, or Seatbelt; a real worker), wasm targets, home and cache
    Doctor(commands::doctor::DoctorArgs),
    #[command(name = "__compile", hide = true)]
    Compile(commands::compile::CompileArgs),
    /// A sandbox worker: serves the runtime over stdin/stdout.
    #[command(name = "__worker", hide = true)]
    Worker,
}

/// Cargo runs `cargo-skill skill <verb> ...` for `cargo skill <verb> ...`;
/// drop that `skill` so both spellings (and `cargo-skill <verb>`) parse alike.
pub fn normalized_args(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut args: Vec<OsString> = args.into_iter().collect();
    if args.get(1).is_some_and(|a| a == "skill") {
        args.remove(1);
    }
    args
}

pub fn exec(cli: Cli) -> ExitCode {
    let global = cli.global;
    let result = match cli.command {
        Command::New(args) => commands::new::exec(args, &global),
        Command::Build(args) => commands::build::exec(args, &global),
        Command::Test(args) => commands::test::exec(args, &global),
        Command::Bench(args) => commands::bench::exec(args),
        Command::Validate(args) => commands::validate::exec(args, &global),
        Command::Scan(args) => commands::scan::exec(args, &global),
        Command::Inspect(args) => commands::inspect::exec(args, &global),
        Command::ToPrompt(args) => commands::to_prompt::exec(args),
        Command::Run(args) => commands::run::exec(args, &global),
        Command::Mcp(args) => commands::mcp::exec(args),
        Command::Secret(args) => commands::secret::exec(args),
        Command::Audit(args) => commands::audit::exec(args),
        Command::Keygen(args) => commands::keygen::exec(args),
        Command::Sign(args) => commands::sign::exec(args),
        Command::Verify(args) => commands::verify::exec(args),
        Command::Publish(args) => commands::publish::exec(args, &global),
        Command::Install(args) => commands::install::exec(args, &global),
        Command::List(args) => commands::list::exec(args),
        Command::Grant(args) => commands::grant::exec(args),
        Command::Revoke(args) => commands::revoke::exec(args),
        Command::Remove(args) => commands::remove::exec(args),
        Command::Update(args) => commands::update::exec(args, &global),
        Command::Enable(args) => commands::enable::exec(args),
        Command::Disable(args) => commands::disable::exec(args),
        Command::Compile(args) => commands::compile::exec(args),
        Command::Doctor(args) => commands::doctor::exec(args),
        Command::Convert(args) => commands::convert::exec(args),
        Command::Search(args) => commands::search::exec(args, &global),
        Command::Registry(args) => commands::registry::exec(args),
        Command::Preview(args) => commands::preview::exec(args, &global),
        Command::Browse(args) => commands::browse::exec(args, &global),
        Command::Worker => return ExitCode::from(skill_runtime::sandbox::worker::main() as u8),
    };
    match result {
        Ok(status) => exit::code(status),
        Err(err) => {
            eprintln!("error: {err:#}");
            if let Some(help) = help::for_error(&err) {
                eprintln!("help: {help}");
            }
            exit::code(exit::status_of(&err))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_cargo_and_direct_spellings_parse() {
        for argv in [
            vec!["cargo-skill", "skill", "run", "x.wasm"],
            vec!["cargo-skill", "run", "x.wasm"],
        ] {
            let args = normalized_args(argv.into_iter().map(OsString::from));
            let cli = Cli::try_parse_from(args).unwrap();
            assert!(matches!(cli.command, Command::Run(_)));
        }
    }

    #[test]
    fn the_cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
