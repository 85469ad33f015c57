//! Checks on the Markdown body: length, links to missing files, and
//! references that chain on to further files.

use std::io::Read;
use std::path::Path;

use super::diagnostic::{Code, Pos, Reporter};

pub const MAX_LINES: usize = 500;
/// Referenced files are read only this far when looking for onward links.
const MAX_REFERENCE_BYTES: u64 = 256 * 1024;

pub fn check(text: &str, body: &str, body_line: usize, dir: &Path, r: &mut Reporter<'_>) {
    let lines = text.lines().count();
    if lines > MAX_LINES {
        r.report(
            Code::BodyTooLong,
            Some(Pos::new(MAX_LINES + 1, 1)),
            format!("SKILL.md has {lines} lines; agents load all of it into context"),
            Some(format!(
                "keep it under {MAX_LINES} lines and move detail into files under references/"
            )),
        );
    }
    let mut chained = Vec::new();
    for link in local_links(body) {
        let pos = Pos::new(body_line + link.line, link.column);
        let path = dir.join(&link.target);
        if !path.exists() {
            r.report(
                Code::LinkBroken,
                Some(pos),
                format!("`{}` does not exist in the skill folder", link.target),
                Some("fix the path (relative to SKILL.md) or add the file".into()),
            );
            continue;
        }
        let is_markdown = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("md"));
        if is_markdown && !chained.contains(&link.target) && links_onward(&path) {
            r.report(
                Code::ReferenceTooDeep,
                Some(pos),
                format!(
                    "`{}` links on to further files; agents may not follow chains of references",
                    link.target
                ),
                Some("link every file from SKILL.md directly (one level deep)".into()),
            );
            chained.push(link.target);
        }
    }
}

fn links_onward(path: &Path) -> bool {
    let mut text = String::new();
    let read = std::fs::File::open(path)
        .and_then(|f| f.take(MAX_REFERENCE_BYTES).read_to_string(&mut text));
    read.is_ok() && local_links(&text).next().is_some()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// 0-based line within the text scanned; 1-based column.
    pub line: usize,
    pub column: usize,
    pub target: String,
}

/// Links to local files: `[text](target)` and `[ref]: target`, outside code.
pub fn local_links(markdown: &str) -> impl Iterator<Item = Link> + '_ {
    let mut in_fence = false;
    markdown
        .lines()
        .enumerate()
        .flat_map(move |(line_index, line)| {
            let trimmed = line.trim_start();
            if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
                in_fence = !in_fence;
                return Vec::new();
            }
            if in_fence {
                return Vec::new();
            }
            let mut found = Vec::new();
            if let Some(rest) = trimmed.strip_prefix('[')
                && let Some((_, target)) = rest.split_once("]:")
            {
                let start = line.len() - target.trim_start().len();
                push_local(&mut found, line_index, line, start, target.trim());
            }
            let mut in_code = false;
            let bytes = line.as_bytes();
            let mut i = 0;
            while i < bytes.len() {
                match bytes[i] {
                    b'`' => in_code = !in_code,
                    b']' if !in_code && bytes.get(i + 1) == Some(&b'(') => {
                        if let Some(len) = line[i + 2..].find(')') {
                            push_local(
                                &mut found,
                                line_index,
                                line,
                                i + 2,
                                &line[i + 2..i + 2 + len],
                            );
                            i += 2 + len;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            found
        })
}

fn push_local(found: &mut Vec<Link>, line_index: usize, line: &str, start: usize, raw: &str) {
    let target = raw
        .split_whitespace()
        .next()
        .unwrap_or("")
        .trim_start_matches('<')
        .trim_end_matches('>');
    let target = target
        .split('#')
        .next()
        .unwrap_or("")
        .split('?')
        .next()
        .unwrap_or("");
    if target.is_empty()
        || target.contains("://")
        || target.starts_with("mailto:")
        || target.starts_with('/')
    {
        return;
    }
    found.push(Link {
        line: line_index,
        column: line[..start].chars().count() + 1,
        target: target.replace("%20", " "),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_local_links_outside_code() {
        let md = "See [ref](references/a.md#part) and [web](https://x.y).\n```\n[no](code.md)\n```\n`[no](inline.md)` [img](img/p%20q.png \"t\")\n[def]: ./defs.md\n";
        let links: Vec<_> = local_links(md)
            .map(|l| (l.line, l.column, l.target))
            .collect();
        assert_eq!(
            links,
            [
                (0, 11, "references/a.md".to_string()),
                (4, 25, "img/p q.png".to_string()),
                (5, 8, "./defs.md".to_string()),
            ]
        );
    }
}
