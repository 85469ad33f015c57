//! Skill names as they become folder names. A name comes from a manifest, a
//! lockfile, a remote or an argument, so it is checked here, once, before
//! any path is built from it: [`join`] is the only way a skill name turns
//! into a path under `skills/`, `.agents/skills/`, a bot's data folder or a
//! published tree.

use std::path::{Path, PathBuf};

use crate::manifest::fields::MAX_NAME_CHARS;

/// Why a string cannot name a skill folder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{shown}` is not a valid skill name: {why}; skill names are 1 to {MAX_NAME_CHARS} lowercase letters, digits and single hyphens"
)]
pub struct InvalidName {
    /// The name with control characters escaped, safe to print.
    pub shown: String,
    pub why: &'static str,
}

/// The agentskills.io name rule: 1 to 64 characters, lowercase letters
/// (any script) and digits, single hyphens inside. Such a name is always
/// exactly one normal path component: no separator, dot, NUL or control
/// character, and nothing that Unicode normalisation turns into one.
pub fn check(name: &str) -> Result<(), InvalidName> {
    let why = if name.is_empty() {
        Some("it is empty")
    } else if name.chars().count() > MAX_NAME_CHARS {
        Some("it is too long")
    } else if name.contains(['/', '\\']) {
        Some("it contains a path separator")
    } else if name.contains('\0') || name.chars().any(char::is_control) {
        Some("it contains a control character")
    } else if name.starts_with('.') || name.contains('.') {
        Some("it contains a dot")
    } else if name.starts_with('-') || name.ends_with('-') || name.contains("--") {
        Some("it starts or ends with a hyphen or has two in a row")
    } else if !name
        .chars()
        .all(|c| c == '-' || (c.is_alphanumeric() && !c.is_uppercase()))
    {
        Some("it has characters other than lowercase letters, digits and hyphens")
    } else if !is_nfkc_stable(name) {
        Some("it changes under Unicode normalisation (NFKC)")
    } else {
        None
    };
    match why {
        None => Ok(()),
        Some(why) => Err(InvalidName {
            shown: name.escape_default().to_string(),
            why,
        }),
    }
}

fn is_nfkc_stable(name: &str) -> bool {
    use unicode_normalization::UnicodeNormalization;
    name.nfkc().eq(name.chars())
}

/// `base/name`, for a `name` that passed [`check`]; never anything else.
pub fn join(base: &Path, name: &str) -> Result<PathBuf, InvalidName> {
    check(name)?;
    Ok(base.join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_leave_a_folder_are_refused() {
        for bad in [
            "",
            "../../../../tmp/escape",
            "..",
            ".",
            ".hidden",
            "a/b",
            "a\\b",
            "/etc",
            "a\0b",
            "a\nb",
            "a\u{7f}b",
            "Upper",
            "-lead",
            "trail-",
            "two--hyphens",
            "dotted.name",
            // Lookalikes of separators and dots.
            "a\u{2215}b",
            "a\u{ff0f}b",
            "a\u{2044}b",
            "a\u{ff0e}b",
            "a\u{2024}b",
            // Fullwidth letters normalise to ASCII ones: one folder, two names.
            "\u{ff41}bc",
            "a b",
            &"x".repeat(65),
        ] {
            assert!(check(bad).is_err(), "{bad:?} was accepted");
            assert!(join(Path::new("/home"), bad).is_err());
        }
        for good in ["pdf", "geo-lookup", "v2", "données", "天气"] {
            assert_eq!(
                join(Path::new("/home"), good).unwrap(),
                Path::new("/home").join(good)
            );
        }
        let err = check("a\nb").unwrap_err().to_string();
        assert!(err.contains("a\\nb") && err.contains("control"), "{err}");
    }
}
