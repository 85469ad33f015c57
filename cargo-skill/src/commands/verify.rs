//! `cargo skill verify [SKILL]`: check the signature, every file and the
//! claims; exit 0 only when all hold.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;

use crate::exit;
use crate::output::MessageFormat;
use crate::setup;
use crate::signing::keys;
use crate::signing::signable::{manifest_version, signable};
use crate::signing::{self, VerifyError};

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The skill folder [default: .]
    #[arg(default_value = ".")]
    pub skill: PathBuf,

    /// The signer's public key: a .pub file or its base64 line
    #[arg(long, value_name = "PUB", conflicts_with = "trusted_keys")]
    pub key: Option<String>,

    /// A file of trusted public keys [default: $CARGO_SKILL_HOME/trusted-keys]
    #[arg(long, value_name = "FILE")]
    pub trusted_keys: Option<PathBuf>,

    #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
    pub message_format: MessageFormat,
}

pub fn exec(args: VerifyArgs) -> Result<u8> {
    let manifest = signable(&args.skill)?;
    let version = manifest_version(&manifest)?;
    let keys = match (&args.key, &args.trusted_keys) {
        (Some(key), _) => vec![keys::parse_public(key)?],
        (None, Some(file)) => keys::load_trusted(file)?,
        (None, None) => keys::load_trusted(&setup::home()?.trusted_keys_file())?,
    };
    if keys.is_empty() {
        bail!(
            "no public key to verify against: pass --key, or add the signer's key to {}",
            setup::home()?.trusted_keys_file().display()
        );
    }
    let json = args.message_format == MessageFormat::Json;
    let result = signing::verify(&args.skill, &keys, Some((&manifest.name, &version)));
    let (verified, report) = match result {
        Ok(v) => (
            v.is_ok(),
            serde_json::json!({
                "verified": v.is_ok(),
                "key_id": v.key_id,
                "trusted_comment": v.trusted_comment,
                "claims": v.claims,
                "problems": v.problems,
            }),
        ),
        Err(e @ VerifyError::Io { .. }) => return Err(e.into()),
        Err(e) => (
            false,
            serde_json::json!({"verified": false, "error": e.to_string()}),
        ),
    };
    if json {
        println!("{report}");
    } else if verified {
        println!(
            "verified: {} v{} signed by key {} ({})",
            manifest.name,
            version,
            report["key_id"].as_str().unwrap_or_default(),
            report["trusted_comment"].as_str().unwrap_or_default()
        );
    } else {
        eprintln!("error: {} is NOT verified", args.skill.display());
        if let Some(error) = report["error"].as_str() {
            eprintln!("  {error}");
        }
        for problem in report["problems"].as_array().into_iter().flatten() {
            eprintln!(
                "  {}: {}",
                problem["kind"].as_str().unwrap_or_default(),
                problem["detail"].as_str().unwrap_or_default()
            );
        }
    }
    Ok(if verified {
        exit::SUCCESS
    } else {
        exit::FAILURE
    })
}
