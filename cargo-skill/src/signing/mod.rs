//! Signing a skill folder: `skill.sums` (sha256sum format, one line per file,
//! sorted) and `skill.sums.minisig` (a minisign signature of it whose
//! trusted comment binds the skill's name, version, the sums' sha256 and the
//! time). Both check with standard tools: `sha256sum -c skill.sums` and
//! `minisign -Vm skill.sums -P <public key>`.

pub mod keys;
pub mod signable;

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use minisign::{PublicKey, SecretKey, SignatureBox};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::signing::keys::key_id;

pub const SUMS: &str = "skill.sums";
pub const SIGNATURE: &str = "skill.sums.minisig";
use skill_runtime::store::installed::NOT_SHIPPED as SKIPPED;

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error(
        "{0} is a symlink: signatures cover regular files only; replace it with the file it points to"
    )]
    Symlink(PathBuf),
    #[error(
        "{0}: file names with newlines, backslashes or invalid UTF-8 cannot be listed in skill.sums; rename it"
    )]
    BadName(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("signing failed: {0}")]
    Minisign(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SignError + '_ {
    move |source| SignError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The files a signature covers, relative with `/`, sorted: everything in
/// the folder but the signature files and build leftovers.
pub fn skill_files(dir: &Path) -> Result<Vec<String>, SignError> {
    let mut files = Vec::new();
    walk(dir, "", &mut files)?;
    files.sort();
    Ok(files)
}

fn walk(dir: &Path, prefix: &str, files: &mut Vec<String>) -> Result<(), SignError> {
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let path = entry.path();
        let name = entry.file_name();
        let Some(name) = name.to_str().filter(|n| !n.contains(['\n', '\\'])) else {
            return Err(SignError::BadName(path));
        };
        let relative = format!("{prefix}{name}");
        let top_level = prefix.is_empty();
        if SKIPPED.contains(&name) || (top_level && (name == SUMS || name == SIGNATURE)) {
            continue;
        }
        let kind = entry.file_type().map_err(io(&path))?;
        if kind.is_symlink() {
            return Err(SignError::Symlink(path));
        } else if kind.is_dir() {
            walk(&path, &format!("{relative}/"), files)?;
        } else if kind.is_file() {
            files.push(relative);
        }
    }
    Ok(())
}

/// `skill.sums` for these files, exactly as `sha256sum` prints it.
pub fn sums_text(dir: &Path, files: &[String]) -> Result<String, SignError> {
    let mut text = String::new();
    for file in files {
        let path = dir.join(file);
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        text.push_str(&format!("{}  {file}\n", sha256_hex(&bytes)));
    }
    Ok(text)
}

/// What a signature's trusted comment binds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Claims {
    pub name: String,
    pub version: String,
    /// sha256 of `skill.sums`.
    pub sums: String,
    pub time: String,
}

impl Claims {
    pub fn to_comment(&self) -> String {
        format!(
            "cargo-skill name={} version={} sums={} time={}",
            self.name, self.version, self.sums, self.time
        )
    }

    pub fn parse(comment: &str) -> Option<Claims> {
        let rest = comment.strip_prefix("cargo-skill ")?;
        let fields: BTreeMap<&str, &str> =
            rest.split(' ').filter_map(|f| f.split_once('=')).collect();
        Some(Claims {
            name: fields.get("name")?.to_string(),
            version: fields.get("version")?.to_string(),
            sums: fields.get("sums")?.to_string(),
            time: fields.get("time").unwrap_or(&"").to_string(),
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Signed {
    pub key_id: String,
    pub files: usize,
    pub claims: Claims,
}

/// Writes `skill.sums` and its signature, each atomically.
pub fn sign(
    dir: &Path,
    name: &str,
    version: &str,
    sk: &SecretKey,
    pk: &PublicKey,
) -> Result<Signed, SignError> {
    let files = skill_files(dir)?;
    let sums = sums_text(dir, &files)?;
    let claims = Claims {
        name: name.to_string(),
        version: version.to_string(),
        sums: sha256_hex(sums.as_bytes()),
        time: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
    };
    let untrusted = format!("signature from cargo-skill key {}", key_id(pk.keynum()));
    let signature = minisign::sign(
        Some(pk),
        sk,
        Cursor::new(sums.as_bytes()),
        Some(&claims.to_comment()),
        Some(&untrusted),
    )
    .map_err(|e| SignError::Minisign(e.to_string()))?;
    write_atomic(&dir.join(SUMS), sums.as_bytes())?;
    write_atomic(&dir.join(SIGNATURE), signature.to_string().as_bytes())?;
    Ok(Signed {
        key_id: key_id(pk.keynum()),
        files: files.len(),
        claims,
    })
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SignError> {
    skill_runtime::atomic_file::write(path, bytes, 0o644).map_err(io(path))
}

/// One thing wrong with a signed folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// `added`, `removed`, `changed`, `claims` or `sums`.
    pub kind: &'static str,
    pub detail: String,
}

/// A signature checked against a key, and the folder against the signature.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureCheck {
    pub key_id: String,
    pub trusted_comment: String,
    pub claims: Option<Claims>,
    pub problems: Vec<Problem>,
}

impl SignatureCheck {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("{0} is not signed (no {SUMS} or {SIGNATURE}): run `cargo skill sign`")]
    Unsigned(PathBuf),
    #[error("{path} is not a minisign signature ({why})")]
    Malformed { path: PathBuf, why: String },
    #[error(
        "signed by key {key_id}, which is not trusted here: pass --key with that public key, or add it to the trusted-keys file"
    )]
    UnknownKey { key_id: String },
    #[error(
        "the signature by key {key_id} does not match {SUMS}: the file or the signature was changed after signing"
    )]
    BadSignature { key_id: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Checks the signature with whichever of `keys` made it, then every file
/// against `skill.sums` and the claims against `expected` (name, version).
pub fn verify(
    dir: &Path,
    keys: &[PublicKey],
    expected: Option<(&str, &str)>,
) -> Result<SignatureCheck, VerifyError> {
    let (sums_path, sig_path) = (dir.join(SUMS), dir.join(SIGNATURE));
    if !sums_path.is_file() || !sig_path.is_file() {
        return Err(VerifyError::Unsigned(dir.to_path_buf()));
    }
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| VerifyError::Io {
            path: path.to_path_buf(),
            source,
        })
    };
    let sums = read(&sums_path)?;
    let sig_text = String::from_utf8(read(&sig_path)?).unwrap_or_default();
    let malformed = |why: String| VerifyError::Malformed {
        path: sig_path.clone(),
        why,
    };
    let signature = SignatureBox::from_string(&sig_text).map_err(|e| malformed(e.to_string()))?;
    let signer = key_id(signature.keynum());
    let Some(key) = keys.iter().find(|k| k.keynum() == signature.keynum()) else {
        return Err(VerifyError::UnknownKey { key_id: signer });
    };
    minisign::verify(key, &signature, Cursor::new(&sums), true, false, false).map_err(|_| {
        VerifyError::BadSignature {
            key_id: signer.clone(),
        }
    })?;
    let trusted_comment = signature
        .trusted_comment()
        .map_err(|e| malformed(e.to_string()))?;
    let claims = Claims::parse(&trusted_comment);
    let mut problems = claim_problems(claims.as_ref(), &sha256_hex(&sums), expected);
    problems.extend(
        file_problems(dir, &String::from_utf8_lossy(&sums)).map_err(|e| VerifyError::Io {
            path: dir.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        })?,
    );
    Ok(SignatureCheck {
        key_id: signer,
        trusted_comment,
        claims,
        problems,
    })
}

fn claim_problems(
    claims: Option<&Claims>,
    sums_sha: &str,
    expected: Option<(&str, &str)>,
) -> Vec<Problem> {
    let problem = |detail: String| Problem {
        kind: "claims",
        detail,
    };
    let Some(claims) = claims else {
        return vec![problem(
            "the trusted comment is not a cargo-skill claim (name, version, sums)".into(),
        )];
    };
    let mut problems = Vec::new();
    if claims.sums != sums_sha {
        problems.push(problem(format!(
            "the signature was made for a skill.sums with sha256 {}, this one has {sums_sha}",
            claims.sums
        )));
    }
    if let Some((name, version)) = expected {
        if claims.name != name {
            problems.push(problem(format!(
                "the signature names skill `{}`, the manifest `{name}`",
                claims.name
            )));
        }
        if claims.version != version {
            problems.push(problem(format!(
                "the signature names version {}, the manifest {version}",
                claims.version
            )));
        }
    }
    problems
}

/// Files added, removed or changed since `skill.sums` was written.
fn file_problems(dir: &Path, sums: &str) -> Result<Vec<Problem>, SignError> {
    let mut listed: BTreeMap<&str, &str> = BTreeMap::new();
    let mut problems = Vec::new();
    for line in sums.lines() {
        match line.split_once("  ") {
            Some((hash, path)) => {
                listed.insert(path, hash);
            }
            None => problems.push(Problem {
                kind: "sums",
                detail: format!("malformed line in skill.sums: {line:?}"),
            }),
        }
    }
    let present = skill_files(dir)?;
    for path in &present {
        let Some(hash) = listed.remove(path.as_str()) else {
            problems.push(Problem {
                kind: "added",
                detail: path.clone(),
            });
            continue;
        };
        let full = dir.join(path);
        let bytes = std::fs::read(&full).map_err(io(&full))?;
        if sha256_hex(&bytes) != hash {
            problems.push(Problem {
                kind: "changed",
                detail: path.clone(),
            });
        }
    }
    problems.extend(listed.into_keys().map(|path| Problem {
        kind: "removed",
        detail: path.to_string(),
    }));
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keypair() -> (SecretKey, PublicKey) {
        let minisign::KeyPair { pk, sk } =
            minisign::KeyPair::generate_unencrypted_keypair().unwrap();
        (sk, pk)
    }

    fn folder() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("SKILL.md"), "---\nname: a\n---\n").unwrap();
        std::fs::create_dir_all(dir.path().join("tests")).unwrap();
        std::fs::write(dir.path().join("tests/c.json"), "{}").unwrap();
        std::fs::create_dir_all(dir.path().join("target/debug")).unwrap();
        std::fs::write(dir.path().join("target/debug/x"), "leftover").unwrap();
        dir
    }

    #[test]
    fn signed_folders_verify_and_changes_are_named() {
        let dir = folder();
        let (sk, pk) = keypair();
        let signed = sign(dir.path(), "a", "1.0.0", &sk, &pk).unwrap();
        assert_eq!(signed.files, 2);
        let sums = std::fs::read_to_string(dir.path().join(SUMS)).unwrap();
        let paths: Vec<&str> = sums
            .lines()
            .map(|l| l.split_once("  ").unwrap().1)
            .collect();
        assert_eq!(paths, ["SKILL.md", "tests/c.json"]);
        let ok = verify(dir.path(), std::slice::from_ref(&pk), Some(("a", "1.0.0"))).unwrap();
        assert!(ok.is_ok(), "{ok:?}");
        assert_eq!(ok.claims.unwrap().name, "a");

        std::fs::write(dir.path().join("tests/c.json"), "[]").unwrap();
        std::fs::write(dir.path().join("new.txt"), "x").unwrap();
        std::fs::remove_file(dir.path().join("SKILL.md")).unwrap();
        let bad = verify(dir.path(), std::slice::from_ref(&pk), Some(("b", "2.0.0"))).unwrap();
        let kinds: Vec<(&str, &str)> = bad
            .problems
            .iter()
            .map(|p| (p.kind, p.detail.as_str()))
            .collect();
        assert!(kinds.contains(&("changed", "tests/c.json")), "{kinds:?}");
        assert!(kinds.contains(&("added", "new.txt")), "{kinds:?}");
        assert!(kinds.contains(&("removed", "SKILL.md")), "{kinds:?}");
        assert_eq!(
            kinds.iter().filter(|k| k.0 == "claims").count(),
            2,
            "{kinds:?}"
        );
    }

    #[test]
    fn other_keys_and_tampered_sums_are_refused() {
        let dir = folder();
        let (sk, pk) = keypair();
        let (_, other) = keypair();
        sign(dir.path(), "a", "1.0.0", &sk, &pk).unwrap();
        assert!(matches!(
            verify(dir.path(), &[other], None),
            Err(VerifyError::UnknownKey { .. })
        ));
        let sums = dir.path().join(SUMS);
        let text = std::fs::read_to_string(&sums).unwrap();
        std::fs::write(&sums, text.replace("tests/c.json", "tests/d.json")).unwrap();
        assert!(matches!(
            verify(dir.path(), std::slice::from_ref(&pk), None),
            Err(VerifyError::BadSignature { .. })
        ));
        std::fs::write(dir.path().join(SIGNATURE), "garbage").unwrap();
        assert!(matches!(
            verify(dir.path(), std::slice::from_ref(&pk), None),
            Err(VerifyError::Malformed { .. })
        ));
        std::fs::remove_file(dir.path().join(SIGNATURE)).unwrap();
        assert!(matches!(
            verify(dir.path(), &[pk], None),
            Err(VerifyError::Unsigned(_))
        ));
    }

    #[test]
    fn symlinks_are_refused() {
        let dir = folder();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("pw")).unwrap();
        assert!(matches!(
            skill_files(dir.path()),
            Err(SignError::Symlink(_))
        ));
    }
}
