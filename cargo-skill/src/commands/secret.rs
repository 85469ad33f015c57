//! `cargo skill secret set|list|remove`: the 0600 secret store in the home
//! folder that `get-secret` reads after `SKILL_SECRET_<NAME>`.

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use skill_runtime::SecretStore;

use crate::exit;
use crate::setup;

#[derive(Debug, Args)]
pub struct SecretArgs {
    #[command(subcommand)]
    pub action: SecretAction,
}

#[derive(Debug, Subcommand)]
pub enum SecretAction {
    /// Store a secret; the value is read from stdin (prompted without echo on a TTY)
    Set {
        /// The name skills declare in `metadata.secrets`, e.g. API_KEY
        name: String,
    },
    /// List the names of stored secrets (never their values)
    List,
    /// Remove a stored secret
    Remove { name: String },
}

pub fn exec(args: SecretArgs) -> Result<u8> {
    let store = SecretStore::new(setup::home()?.secrets_file());
    match args.action {
        SecretAction::Set { name } => {
            skill_runtime::capabilities::secret_store::check_name(&name)?;
            let value = read_value(&name)?;
            store.set(&name, &value)?;
            eprintln!("stored `{name}` in {}", store.path().display());
        }
        SecretAction::List => {
            for name in store.load()?.keys() {
                println!("{name}");
            }
        }
        SecretAction::Remove { name } => {
            if !store.remove(&name)? {
                eprintln!(
                    "error: no secret named `{name}` in {}",
                    store.path().display()
                );
                return Ok(exit::FAILURE);
            }
            eprintln!("removed `{name}`");
        }
    }
    Ok(exit::SUCCESS)
}

/// The value from stdin; on a terminal, prompted without echo.
fn read_value(name: &str) -> Result<String> {
    let value = crate::tty::read_hidden_line(&format!("value for {name}: "))
        .context("reading the secret value from stdin")?;
    if value.is_empty() {
        bail!(
            "the value for `{name}` is empty: pipe it in, e.g. `printf %s \"$TOKEN\" | cargo skill secret set {name}`"
        );
    }
    Ok(value)
}
