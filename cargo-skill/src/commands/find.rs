//! `cargo skill find QUERY`: what `npx skills find` users type. Until
//! `search` exists it says so, rather than printing an empty result.

use anyhow::{Result, bail};
use clap::Args;

#[derive(Debug, Args)]
pub struct FindArgs {
    /// What to look for
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub query: Vec<String>,
}

pub fn exec(args: FindArgs) -> Result<u8> {
    bail!(
        "searching for skills{} is not available yet; install from a repository you know with `cargo skill install OWNER/REPO` (or `add`), and `cargo skill list` shows what is installed",
        if args.query.is_empty() {
            String::new()
        } else {
            format!(" (`{}`)", args.query.join(" "))
        }
    )
}
