//! The checks on a skill folder's files as files: links, sizes, counts,
//! native executables and archives by their first bytes; and on its
//! manifest: a look-alike name, scripts `allowed-tools` cannot run.

use std::path::Path;

use unicode_security::MixedScript;

use super::Finding;
use super::rules::rule;
use crate::manifest::SkillManifest;

/// Larger files are reported (and not read as text).
pub(super) const MAX_FILE_BYTES: u64 = 5 << 20;
/// More files than this in one skill are reported.
pub(super) const MAX_FILES: usize = 1000;

fn found(id: &str, path: &str, detail: String) -> Finding {
    Finding::new(rule(id).expect("a rule"), path, 1, 1, &detail)
}

pub(super) fn symlink(path: &str, target: &Path) -> Finding {
    found(
        "symlink",
        path,
        format!("it points at `{}`", target.display()),
    )
}

pub(super) fn oversize(path: &str, bytes: u64) -> Finding {
    found(
        "oversize",
        path,
        format!(
            "{:.1} MiB, over the {} MiB limit",
            bytes as f64 / (1 << 20) as f64,
            MAX_FILE_BYTES >> 20
        ),
    )
}

pub(super) fn too_many_files(count: usize) -> Finding {
    found(
        "oversize",
        ".",
        format!("{count} files, over the limit of {MAX_FILES}"),
    )
}

/// Native executables and archives, told by their first bytes.
pub(super) fn magic(path: &str, head: &[u8]) -> Option<Finding> {
    let starts = |m: &[u8]| head.starts_with(m);
    let executable = if starts(b"\x7fELF") {
        Some("ELF")
    } else if starts(b"MZ") && head.len() >= 64 {
        Some("PE (Windows)")
    } else if [
        [0xfe, 0xed, 0xfa, 0xce],
        [0xfe, 0xed, 0xfa, 0xcf],
        [0xce, 0xfa, 0xed, 0xfe],
        [0xcf, 0xfa, 0xed, 0xfe],
    ]
    .iter()
    .any(|m| starts(m))
    {
        Some("Mach-O")
    } else {
        None
    };
    if let Some(kind) = executable {
        return Some(found(
            "embedded-executable",
            path,
            format!("a {kind} executable"),
        ));
    }
    let tar = head.get(257..262) == Some(b"ustar");
    let archive = if starts(b"PK\x03\x04") {
        Some("zip")
    } else if starts(&[0x1f, 0x8b]) {
        Some("gzip")
    } else if starts(b"7z\xbc\xaf\x27\x1c") {
        Some("7z")
    } else if starts(b"Rar!\x1a\x07") {
        Some("rar")
    } else if tar {
        Some("tar")
    } else {
        None
    };
    archive.map(|kind| found("embedded-archive", path, format!("a {kind} archive")))
}

/// A name that is not plain ASCII and mixes scripts or looks like another.
pub(super) fn confusable_name(manifest: &SkillManifest, manifest_file: &str) -> Option<Finding> {
    let name = &manifest.name;
    if name.is_ascii() {
        return None;
    }
    let skeleton: String = unicode_security::skeleton(name).collect();
    let mixed = !name.is_single_script();
    if !mixed && !skeleton.is_ascii() {
        return None;
    }
    let pos = manifest.positions.get("name").copied();
    Some(Finding::new(
        rule("confusable-name").expect("a rule"),
        manifest_file,
        pos.map_or(1, |p| p.line),
        pos.map_or(1, |p| p.column),
        &format!(
            "`{name}` looks like `{skeleton}`{}",
            if mixed { " and mixes scripts" } else { "" }
        ),
    ))
}

/// Scripts the skill ships that its `allowed-tools` gives no way to run.
pub(super) fn allowed_tools(
    manifest: &SkillManifest,
    manifest_file: &str,
    text: &str,
    scripts: &[String],
) -> Option<Finding> {
    let tools = manifest.allowed_tools.as_deref()?;
    let runs_shell = tools
        .split_whitespace()
        .any(|t| t == "Bash" || t.starts_with("Bash("));
    if runs_shell || scripts.is_empty() {
        return None;
    }
    let line = text
        .lines()
        .position(|l| l.trim_start().starts_with("allowed-tools:"))
        .map_or(1, |i| i + 1);
    let mut shown: Vec<&str> = scripts.iter().map(String::as_str).take(3).collect();
    if scripts.len() > 3 {
        shown.push("…");
    }
    Some(Finding::new(
        rule("allowed-tools-mismatch").expect("a rule"),
        manifest_file,
        line,
        1,
        &format!("`allowed-tools: {tools}`; scripts: {}", shown.join(", ")),
    ))
}
