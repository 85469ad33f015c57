//! Signatures at install: verified by a trusted key, or untrusted (said
//! so); tampering and bad signatures always refuse.

use anyhow::{Result, bail};
use skill_runtime::manifest::SkillManifest;

use crate::signing::{self, SUMS, VerifyError};
use skill_runtime::store::installed::Verification;

/// Verified by a trusted key, or untrusted (said so, unless simply
/// unsigned); tampering and bad signatures always refuse.
pub fn verify(
    manifest: &SkillManifest,
    version: &str,
    trusted: &[minisign::PublicKey],
    require_signature: bool,
) -> Result<(Verification, Option<String>, Option<String>)> {
    let sums = std::fs::read(manifest.dir.join(SUMS))
        .ok()
        .map(|s| signing::sha256_hex(&s));
    let name = &manifest.name;
    // Unsigned skills are summarised by the caller in one line.
    let untrusted =
        |why: String, say: bool| -> Result<(Verification, Option<String>, Option<String>)> {
            if require_signature {
                bail!("{name}: {why}; --require-signature refuses it");
            }
            if say {
                eprintln!("warning: {name}: {why}");
            }
            Ok((Verification::Untrusted, None, sums.clone()))
        };
    match signing::verify(&manifest.dir, trusted, Some((name, version))) {
        Ok(v) if v.is_ok() => Ok((Verification::Verified, Some(v.key_id), sums)),
        Ok(v) => {
            let problems: Vec<String> = v
                .problems
                .iter()
                .map(|p| format!("{} {}", p.kind, p.detail))
                .collect();
            bail!(
                "{name} does not match its signature ({}): refusing to install tampered content",
                problems.join(", ")
            )
        }
        Err(VerifyError::Unsigned(_)) => untrusted("it is not signed".into(), false),
        Err(VerifyError::UnknownKey { key_id }) => untrusted(
            format!("it is signed by key {key_id}, which is not in the trusted-keys file"),
            true,
        ),
        Err(e) => bail!("{name}: {e}; refusing to install it"),
    }
}
