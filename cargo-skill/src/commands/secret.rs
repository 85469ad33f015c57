//! `cargo skill secret set|list|remove`: the 0600 secret store in the home
//! folder that `get-secret` reads after `SKILL_SECRET_<NAME>`.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use skill_runtime::SecretStore;

use crate::exit;
use crate::home;

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
    let store = SecretStore::new(home::home()?.secrets_file());
    match args.action {
        SecretAction::Set { name } => {
            skill_runtime::secret_store::check_name(&name)?;
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

/// One line from stdin; on a terminal, prompted with echo turned off so the
/// value never shows on screen or in scrollback.
fn read_value(name: &str) -> Result<String> {
    let stdin = std::io::stdin();
    let tty = stdin.is_terminal();
    let _echo_off = tty.then(|| {
        eprint!("value for {name}: ");
        let _ = std::io::stderr().flush();
        EchoOff::new()
    });
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("reading the secret value from stdin")?;
    if tty {
        eprintln!();
    }
    let value = line.strip_suffix('\n').unwrap_or(&line);
    let value = value.strip_suffix('\r').unwrap_or(value);
    if value.is_empty() {
        bail!(
            "the value for `{name}` is empty: pipe it in, e.g. `printf %s \"$TOKEN\" | cargo skill secret set {name}`"
        );
    }
    Ok(value.to_string())
}

/// Terminal echo off for as long as it lives.
struct EchoOff(Option<libc::termios>);

impl EchoOff {
    fn new() -> EchoOff {
        // SAFETY: termios is plain data; tcgetattr fills it or fails.
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        if unsafe { libc::tcgetattr(libc::STDIN_FILENO, &mut saved) } != 0 {
            return EchoOff(None);
        }
        let mut quiet = saved;
        quiet.c_lflag &= !libc::ECHO;
        // SAFETY: a valid termios for stdin, read just above.
        unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &quiet) };
        EchoOff(Some(saved))
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        if let Some(saved) = &self.0 {
            // SAFETY: restores the settings read in `new`.
            unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, saved) };
        }
    }
}
