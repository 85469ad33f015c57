//! Reading `SKILL.md` within bounded memory, and splitting off its frontmatter.

use std::io::Read;
use std::path::Path;

use super::diagnostic::{Code, Pos, Reporter};

/// Larger files are refused unread: the spec asks for under ~500 lines.
pub const MAX_FILE_BYTES: u64 = 1 << 20;
/// Larger frontmatter is refused before any YAML parsing.
pub const MAX_FRONTMATTER_BYTES: usize = 64 * 1024;

/// The text of a manifest with any BOM removed (and reported).
pub fn read(path: &Path, reporter: &mut Reporter<'_>) -> Option<String> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) => {
            reporter.report(
                Code::FileUnreadable,
                None,
                format!("could not open {}: {e}", path.display()),
                Some("check that the file exists and is readable".into()),
            );
            return None;
        }
    };
    let mut bytes = Vec::new();
    if let Err(e) = file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes) {
        reporter.report(
            Code::FileUnreadable,
            None,
            format!("could not read {}: {e}", path.display()),
            None,
        );
        return None;
    }
    if bytes.len() as u64 > MAX_FILE_BYTES {
        reporter.report(
            Code::FileTooLarge,
            None,
            format!("the file is larger than {MAX_FILE_BYTES} bytes"),
            Some(
                "keep SKILL.md under about 500 lines and move detail into files under references/"
                    .into(),
            ),
        );
        return None;
    }
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let valid = std::str::from_utf8(valid).expect("prefix is valid");
            let line = valid.matches('\n').count() + 1;
            let column = valid.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            reporter.report(
                Code::FileNotUtf8,
                Some(Pos::new(line, column)),
                format!("invalid UTF-8 at byte {}", valid.len()),
                Some("save the file as UTF-8".into()),
            );
            return None;
        }
    };
    let text = match text.strip_prefix('\u{feff}') {
        Some(rest) => {
            reporter.report(
                Code::Utf8Bom,
                Some(Pos::new(1, 1)),
                "the file starts with a byte-order mark, so strict parsers do not see the opening `---`",
                Some("save the file as UTF-8 without a BOM".into()),
            );
            rest.to_string()
        }
        None => text,
    };
    Some(text)
}

/// `\r\n` and lone `\r` become `\n`: YAML counts a lone `\r` as a line
/// break, and positions must mean the same lines everywhere.
pub fn normalize_newlines(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\r') {
        text.replace("\r\n", "\n").replace('\r', "\n").into()
    } else {
        text.into()
    }
}

/// The frontmatter and body of a manifest, with where each starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts<'a> {
    pub yaml: &'a str,
    /// Line number (1-based) of the first YAML line.
    pub yaml_line: usize,
    pub body: &'a str,
    pub body_line: usize,
}

/// Splits `---\n<yaml>\n---\n<body>`; the fence lines may carry trailing spaces.
pub fn split<'a>(text: &'a str, reporter: &mut Reporter<'_>) -> Option<Parts<'a>> {
    let is_fence = |line: &str| line.trim_end() == "---";
    let first_line = text.lines().next().unwrap_or("");
    if !is_fence(first_line) {
        reporter.report(
            Code::FrontmatterMissing,
            Some(Pos::new(1, 1)),
            "SKILL.md must start with YAML frontmatter between `---` lines",
            Some("start the file with `---`, then `name:` and `description:`, then `---`".into()),
        );
        return None;
    }
    let yaml_start = text.find('\n').map_or(text.len(), |i| i + 1);
    let mut offset = yaml_start;
    for (index, line) in text[yaml_start..].split_inclusive('\n').enumerate() {
        if is_fence(line.trim_end_matches('\n')) {
            let yaml = &text[yaml_start..offset];
            if yaml.len() > MAX_FRONTMATTER_BYTES {
                reporter.report(
                    Code::FrontmatterTooLarge,
                    Some(Pos::new(2, 1)),
                    format!(
                        "the frontmatter is {} bytes, over the limit of {MAX_FRONTMATTER_BYTES}",
                        yaml.len()
                    ),
                    Some(
                        "keep the frontmatter to the skill's identity; move content into the body"
                            .into(),
                    ),
                );
                return None;
            }
            return Some(Parts {
                yaml,
                yaml_line: 2,
                body: &text[offset + line.len()..],
                body_line: index + 3,
            });
        }
        offset += line.len();
    }
    reporter.report(
        Code::FrontmatterUnclosed,
        Some(Pos::new(1, 1)),
        "the frontmatter opened here is never closed",
        Some("add a line `---` after the last frontmatter field".into()),
    );
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::diagnostic::Mode;

    fn reporter() -> Reporter<'static> {
        Reporter::new(Mode::Strict, "SKILL.md".into())
    }

    #[test]
    fn splits_frontmatter_and_body_with_line_numbers() {
        let mut r = reporter();
        let parts = split("---\nname: a\n---  \n# Title\nbody\n", &mut r).unwrap();
        assert_eq!(parts.yaml, "name: a\n");
        assert_eq!(parts.body, "# Title\nbody\n");
        assert_eq!((parts.yaml_line, parts.body_line), (2, 4));
        assert!(r.diagnostics.is_empty());
    }

    #[test]
    fn missing_and_unclosed_frontmatter_are_reported() {
        let mut r = reporter();
        assert!(split("# no frontmatter\n", &mut r).is_none());
        assert!(split("---\nname: a\n", &mut r).is_none());
        let codes: Vec<_> = r.diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(codes, [Code::FrontmatterMissing, Code::FrontmatterUnclosed]);
    }

    #[test]
    fn oversized_frontmatter_is_refused_before_parsing() {
        let mut r = reporter();
        let text = format!("---\n{}---\n", "a: b\n".repeat(20_000));
        assert!(split(&text, &mut r).is_none());
        assert_eq!(r.diagnostics[0].code, Code::FrontmatterTooLarge);
    }
}
