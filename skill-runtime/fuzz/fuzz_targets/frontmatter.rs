//! The SKILL.md parser on arbitrary text, in both modes: it must never
//! panic, every diagnostic must point inside the text it was given, and the
//! line it quotes must be the line it points at.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use skill_runtime::manifest::source::normalize_newlines;
use skill_runtime::manifest::{Mode, parse_text};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // Positions count lines as YAML does: a lone `\r` breaks a line too.
    let normalized = normalize_newlines(text);
    let lines: Vec<&str> = normalized.lines().collect();
    for mode in [Mode::Lenient, Mode::Strict] {
        let (_, diagnostics) = parse_text(text, Path::new("SKILL.md"), None, mode);
        for d in &diagnostics {
            let Some(pos) = d.pos else { continue };
            assert!(pos.line >= 1 && pos.line <= lines.len() + 1 && pos.column >= 1, "{d:?} points past the text");
            if let Some(line) = lines.get(pos.line - 1) {
                assert_eq!(d.source_line.as_deref(), Some(*line), "{d:?} quotes the wrong line");
            }
        }
    }
});
