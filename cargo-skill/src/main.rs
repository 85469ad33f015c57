use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Like other Unix tools, end quietly when the reader of stdout goes away
    // (`cargo skill validate | head`) instead of panicking on a broken pipe.
    // SAFETY: called first thing, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli =
        cargo_skill::cli::Cli::parse_from(cargo_skill::cli::normalized_args(std::env::args_os()));
    cargo_skill::cli::exec(cli)
}
