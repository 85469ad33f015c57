//! Small TOML files the home folder keeps (install metadata, the lock, a
//! bot's settings): positions for parse errors, atomic writes.

use std::path::Path;

use anyhow::{Context, Result};

/// `file:line:column: message` for a file of installed state that does
/// not parse (install metadata, the lock, a bot's settings).
pub(crate) fn toml_error(path: &Path, text: &str, e: toml::de::Error) -> anyhow::Error {
    anyhow::anyhow!(
        "{}: {}; fix the file or remove it (the skills it lists must then be installed again)",
        located(path, text, &e),
        e.message()
    )
}

/// `file:line:column` of a TOML parse error.
pub(crate) fn located(path: &Path, text: &str, e: &toml::de::Error) -> String {
    let (line, column) = e.span().map_or((0, 0), |span| {
        let before = &text[..span.start.min(text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        (line, column)
    });
    format!("{}:{line}:{column}", path.display())
}

pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::atomic_file::write(path, bytes, 0o644)
        .with_context(|| format!("could not write {}", path.display()))
}
