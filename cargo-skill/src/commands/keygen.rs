//! `cargo skill keygen`: a minisign key pair for signing skills.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::exit;
use crate::setup;
use crate::signing::keys;

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Folder for `default.key` and `default.pub` [default: $CARGO_SKILL_HOME/keys]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Store the secret key unencrypted (for throwaway keys; CI should use
    /// CARGO_SKILL_KEY_PASSWORD instead)
    #[arg(long)]
    pub no_password: bool,

    /// Replace an existing key pair
    #[arg(long)]
    pub force: bool,
}

pub fn exec(args: KeygenArgs) -> Result<u8> {
    let dir = match args.out {
        Some(dir) => dir,
        None => setup::home()?.keys_dir(),
    };
    let password = if args.no_password {
        None
    } else {
        Some(keys::new_password()?)
    };
    let made = keys::generate(&dir, password, args.force)?;
    eprintln!("secret key: {}", made.secret_path.display());
    eprintln!("public key: {}", made.public_path.display());
    eprintln!("key id:     {}", made.key_id);
    eprintln!("share this public key (what `cargo skill verify --key` and `minisign -P` take):");
    println!("{}", made.public_key);
    Ok(exit::SUCCESS)
}
