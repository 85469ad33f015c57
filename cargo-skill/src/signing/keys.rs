//! Minisign key pairs: generated password-protected by default, stored in the
//! home folder's `keys/`, loaded for signing; and the public keys a verifier
//! trusts.

use std::path::{Path, PathBuf};

use minisign::{KeyPair, PublicKey, SecretKey, SecretKeyBox};

use crate::tty;

/// Where CI passes the secret key's password.
pub const PASSWORD_ENV: &str = "CARGO_SKILL_KEY_PASSWORD";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "{0} already exists: pass --force to replace it (skills signed with the old key will no longer verify against the new one)"
    )]
    Exists(PathBuf),
    #[error("no secret key at {0}: create one with `cargo skill keygen`, or pass --key FILE")]
    Missing(PathBuf),
    #[error("wrong password for the secret key {0}")]
    WrongPassword(PathBuf),
    #[error("{path} is not a minisign secret key ({why})")]
    NotASecretKey { path: PathBuf, why: String },
    #[error(
        "the secret key {0} is password-protected: set CARGO_SKILL_KEY_PASSWORD, or run on a terminal to be asked"
    )]
    NeedPassword(PathBuf),
    #[error(
        "no password for the new key: set CARGO_SKILL_KEY_PASSWORD, run on a terminal to be asked, or pass --no-password"
    )]
    NoNewPassword,
    #[error("the two passwords differ")]
    PasswordsDiffer,
    #[error(
        "`{0}` is neither a minisign public key file nor a public key (the base64 line of a .pub file)"
    )]
    NotAPublicKey(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The key id minisign prints: the key number as 16 hex digits.
pub fn key_id(keynum: &[u8]) -> String {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&keynum[..8]);
    format!("{:016X}", u64::from_le_bytes(bytes))
}

/// The secret and public key files of a key pair named `name` in `dir`.
pub fn key_paths(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    (
        dir.join(format!("{name}.key")),
        dir.join(format!("{name}.pub")),
    )
}

pub struct Generated {
    pub key_id: String,
    /// The base64 line to share (what `minisign -P` and `--key` take).
    pub public_key: String,
    pub secret_path: PathBuf,
    pub public_path: PathBuf,
}

/// Generates `default.key` (0600) and `default.pub` in `dir`, each written
/// atomically; refuses to replace existing ones unless `force`.
pub fn generate(dir: &Path, password: Option<String>, force: bool) -> Result<Generated, KeyError> {
    let (secret_path, public_path) = key_paths(dir, "default");
    for path in [&secret_path, &public_path] {
        if path.exists() && !force {
            return Err(KeyError::Exists(path.clone()));
        }
    }
    let generate_error = |e: minisign::PError| KeyError::Io {
        path: secret_path.clone(),
        source: std::io::Error::other(e.to_string()),
    };
    let KeyPair { pk, sk } = match password {
        Some(password) => KeyPair::generate_encrypted_keypair(Some(password)),
        None => KeyPair::generate_unencrypted_keypair(),
    }
    .map_err(generate_error)?;
    let secret_box = sk
        .to_box(Some("cargo-skill secret key"))
        .map_err(generate_error)?;
    let public_box = pk.to_box().map_err(generate_error)?;
    write_atomic(&secret_path, secret_box.to_string().as_bytes(), 0o600)?;
    write_atomic(&public_path, public_box.to_string().as_bytes(), 0o644)?;
    Ok(Generated {
        key_id: key_id(pk.keynum()),
        public_key: pk.to_base64(),
        secret_path,
        public_path,
    })
}

fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), KeyError> {
    skill_runtime::atomic_file::write(path, bytes, mode).map_err(io(path))
}

/// The password for a new key: the environment, else asked twice on a terminal.
pub fn new_password() -> Result<String, KeyError> {
    if let Ok(password) = std::env::var(PASSWORD_ENV) {
        return Ok(password);
    }
    if !tty::interactive() {
        return Err(KeyError::NoNewPassword);
    }
    let ask = |prompt: &str| tty::read_hidden_line(prompt).map_err(io(Path::new("stdin")));
    let first = ask("password for the new key: ")?;
    if ask("the same password again: ")? != first {
        return Err(KeyError::PasswordsDiffer);
    }
    Ok(first)
}

/// A secret key ready to sign with, and its public key.
pub fn load_secret(path: &Path) -> Result<(SecretKey, PublicKey), KeyError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(KeyError::Missing(path.to_path_buf()));
        }
        Err(e) => return Err(io(path)(e)),
    };
    let not_a_key = |e: minisign::PError| KeyError::NotASecretKey {
        path: path.to_path_buf(),
        why: e.to_string(),
    };
    let secret_box = SecretKeyBox::from_string(&text).map_err(not_a_key)?;
    // An encrypted key fails the unencrypted reading's checksum; anything
    // else failing there is not a key at all.
    let plain = match secret_box.clone().into_unencrypted_secret_key() {
        Ok(key) => Some(key).filter(|k| !k.is_encrypted()),
        Err(e) if e.to_string().contains("encrypted") => None,
        Err(e) => return Err(not_a_key(e)),
    };
    let sk = if let Some(plain) = plain {
        plain
    } else {
        let password = match std::env::var(PASSWORD_ENV) {
            Ok(password) => password,
            Err(_) if tty::interactive() => {
                tty::read_hidden_line(&format!("password for {}: ", path.display()))
                    .map_err(io(path))?
            }
            Err(_) => return Err(KeyError::NeedPassword(path.to_path_buf())),
        };
        SecretKey::from_box(secret_box, Some(password))
            .map_err(|_| KeyError::WrongPassword(path.to_path_buf()))?
    };
    let pk = PublicKey::from_secret_key(&sk).map_err(not_a_key)?;
    Ok((sk, pk))
}

/// A public key from a `.pub` file, a file holding just the base64 line, or
/// the base64 line itself.
pub fn parse_public(text_or_path: &str) -> Result<PublicKey, KeyError> {
    let text = match std::fs::read_to_string(text_or_path) {
        Ok(text) => text,
        Err(_) => text_or_path.to_string(),
    };
    public_keys_in(&text)
        .into_iter()
        .next()
        .ok_or_else(|| KeyError::NotAPublicKey(text_or_path.to_string()))
}

/// Every public key in a text: `.pub` files concatenated, or one base64 key
/// per line; comments (`#`, `untrusted comment:`) and blank lines skipped.
pub fn public_keys_in(text: &str) -> Vec<PublicKey> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("untrusted comment:"))
        .filter_map(|l| PublicKey::from_base64(l).ok())
        .collect()
}

/// The keys in a trusted-keys file; an absent file trusts nobody.
pub fn load_trusted(path: &Path) -> Result<Vec<PublicKey>, KeyError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(public_keys_in(&text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(io(path)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn generated_keys_load_with_their_password_only() {
        let dir = tempfile::tempdir().unwrap();
        let made = generate(dir.path(), None, false).unwrap();
        assert_eq!(made.key_id.len(), 16);
        let mode = std::fs::metadata(&made.secret_path)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(matches!(
            generate(dir.path(), None, false),
            Err(KeyError::Exists(_))
        ));
        let (_, pk) = load_secret(&made.secret_path).unwrap();
        assert_eq!(key_id(pk.keynum()), made.key_id);
        let from_file = parse_public(made.public_path.to_str().unwrap()).unwrap();
        assert_eq!(from_file.to_base64(), made.public_key);
        assert_eq!(
            parse_public(&made.public_key).unwrap().to_base64(),
            made.public_key
        );
        assert!(matches!(
            parse_public("nonsense"),
            Err(KeyError::NotAPublicKey(_))
        ));
        assert!(matches!(
            load_secret(&dir.path().join("nope.key")),
            Err(KeyError::Missing(_))
        ));
        std::fs::write(dir.path().join("junk.key"), "hello").unwrap();
        assert!(matches!(
            load_secret(&dir.path().join("junk.key")),
            Err(KeyError::NotASecretKey { .. })
        ));
    }

    #[test]
    fn trusted_keys_files_hold_pub_files_or_bare_lines() {
        let dir = tempfile::tempdir().unwrap();
        let a = generate(&dir.path().join("a"), None, false).unwrap();
        let b = generate(&dir.path().join("b"), None, false).unwrap();
        let pub_file = std::fs::read_to_string(&a.public_path).unwrap();
        let text = format!("# ours\n{pub_file}\n{}\n", b.public_key);
        let keys = public_keys_in(&text);
        let ids: Vec<String> = keys.iter().map(|k| key_id(k.keynum())).collect();
        assert_eq!(ids, [a.key_id, b.key_id]);
        assert!(load_trusted(&dir.path().join("none")).unwrap().is_empty());
    }
}
