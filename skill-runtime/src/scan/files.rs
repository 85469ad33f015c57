//! The checks on a skill folder's files as files: links, sizes, counts,
//! native executables and archives by their first bytes; and on its
//! manifest: a look-alike name, scripts `allowed-tools` cannot run.

use std::path::Path;

use unicode_security::MixedScript;

use super::finding::Finding;
use super::rules::rule;
use crate::manifest::SkillManifest;

/// Larger files are reported as `oversize`.
pub(super) const MAX_FILE_BYTES: u64 = 5 << 20;
/// More files than this in one skill are reported as `oversize`.
pub(super) const MAX_FILES: usize = 1000;
/// Longer lines in scripts and documents are reported as `oversize`:
/// nobody reviews them, and a payload hides well in one.
pub(super) const MAX_LINE_BYTES: usize = 20_000;
/// Files up to this size are read whole; larger ones at their start and
/// end, and the middle is reported as `unscannable`.
pub(super) const MAX_READ_BYTES: u64 = 16 << 20;
const HEAD_AND_TAIL: u64 = 1 << 20;
/// The files of one skill past this many are not read (`unscannable`).
pub(super) const MAX_READ_FILES: usize = 5000;
/// Bytes read from one skill at most, so a flood of large files cannot
/// hold the scan; past it, files are `unscannable`.
pub(super) const MAX_SKILL_BYTES: u64 = 256 << 20;

/// What was read of a file, and how many of its bytes were not.
pub(super) struct Read {
    pub bytes: Vec<u8>,
    pub unread: u64,
}

/// Whether the file starts as WebAssembly does. A component or module is
/// read whole whatever its size (within the skill's budget) and is not
/// `oversize`: an interpreter inside one (CPython, SpiderMonkey) is tens
/// of MiB, and the runtime checks it as a component before it runs, in a
/// sandbox, with nothing granted that the operator did not approve.
pub(super) fn is_wasm(path: &Path) -> bool {
    use std::io::Read as _;
    let mut head = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| &head == b"\0asm")
}

/// The whole file when it is small enough (or WebAssembly) and the skill's
/// budget allows, else its first and last MiB (as much as the budget allows).
pub(super) fn read(path: &Path, size: u64, wasm: bool, budget: &mut u64) -> std::io::Result<Read> {
    use std::io::{Read as _, Seek, SeekFrom};
    if (size <= MAX_READ_BYTES || wasm) && size <= *budget {
        let bytes = std::fs::read(path)?;
        *budget -= size.min(*budget);
        return Ok(Read { bytes, unread: 0 });
    }
    let part = HEAD_AND_TAIL.min(*budget / 2).min(size / 2);
    let mut file = std::fs::File::open(path)?;
    let mut bytes = Vec::with_capacity(2 * part as usize + 1);
    (&mut file).take(part).read_to_end(&mut bytes)?;
    bytes.push(b'\n');
    file.seek(SeekFrom::End(-(part as i64)))?;
    file.take(part).read_to_end(&mut bytes)?;
    *budget -= (2 * part).min(*budget);
    Ok(Read {
        bytes,
        unread: size - 2 * part,
    })
}

pub(super) fn unread(path: &str, size: u64, unread: u64) -> Finding {
    found(
        "unscannable",
        path,
        format!(
            "{:.1} MiB of {:.1} MiB not read (files are read whole up to {} MiB, and {} MiB per skill)",
            unread as f64 / (1 << 20) as f64,
            size as f64 / (1 << 20) as f64,
            MAX_READ_BYTES >> 20,
            MAX_SKILL_BYTES >> 20
        ),
    )
}

pub(super) fn unreadable(path: &str, error: &std::io::Error) -> Finding {
    found(
        "unscannable",
        if path.is_empty() { "." } else { path },
        format!("it could not be read: {error}"),
    )
}

pub(super) fn undecodable(path: &str) -> Finding {
    found(
        "unscannable",
        path,
        "named as text, but its bytes read as neither UTF-8 nor UTF-16".to_string(),
    )
}

pub(super) fn unopened_archive(path: &str) -> Finding {
    found(
        "unscannable",
        path,
        "a 7z or rar archive, which scan does not open".to_string(),
    )
}

pub(super) fn unread_files(count: usize) -> Finding {
    found(
        "unscannable",
        ".",
        format!(
            "{count} {} past the first {MAX_READ_FILES} not read",
            if count == 1 { "file" } else { "files" }
        ),
    )
}

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

pub(super) fn long_line(path: &str, line: usize, chars: usize) -> Finding {
    let mut f = found(
        "oversize",
        path,
        format!("a line of {chars} characters (over {MAX_LINE_BYTES} bytes)"),
    );
    f.line = line;
    f
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
    let archive = if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") {
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
