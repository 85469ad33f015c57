//! Small TOML files the home folder keeps (install metadata, the lock, a
//! bot's settings): positions for parse errors, atomic writes.

use std::path::Path;

use crate::store::error::{Repair, Result, StoreError};

/// Parses a TOML file of installed state; an error says file:line:column.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(
    path: &Path,
    text: &str,
    repair: Repair,
) -> Result<T> {
    toml::from_str(text)
        .map_err(|e| StoreError::malformed(located(path, text, &e), e.message(), repair))
}

/// `file:line:column` of a TOML parse error.
pub(crate) fn located(path: &Path, text: &str, e: &toml::de::Error) -> String {
    match e.span() {
        Some(span) => position(path, text, span.start),
        None => format!("{}:0:0", path.display()),
    }
}

/// `file:line:column` of a byte offset in `text` (columns count bytes).
pub(crate) fn position(path: &Path, text: &str, offset: usize) -> String {
    let before = &text[..text.floor_char_boundary(offset.min(text.len()))];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    format!("{}:{line}:{column}", path.display())
}

/// The file's text, or `None` when there is no such file.
pub(crate) fn read_if_present(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::io("read", path, e)),
    }
}

pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::atomic_file::write(path, bytes, 0o644).map_err(|e| StoreError::io("write", path, e))
}
