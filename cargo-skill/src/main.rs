use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli =
        cargo_skill::cli::Cli::parse_from(cargo_skill::cli::normalized_args(std::env::args_os()));
    cargo_skill::cli::exec(cli)
}
