//! Printing diagnostics: rustc-style for people, JSON lines for scripts,
//! workflow commands for GitHub Actions annotations.

use std::fmt::Write as _;

use clap::ValueEnum;
use serde_json::json;
use skill_runtime::manifest::{Diagnostic, Severity};

use crate::output::Palette;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum DiagnosticFormat {
    #[default]
    Human,
    Json,
    Github,
}

/// Counts for the closing line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub skills: usize,
    pub errors: usize,
    pub warnings: usize,
}

pub fn render(diagnostic: &Diagnostic, format: DiagnosticFormat, palette: Palette) -> String {
    match format {
        DiagnosticFormat::Human => human(diagnostic, palette),
        DiagnosticFormat::Json => {
            let mut value = serde_json::to_value(diagnostic).expect("diagnostics serialize");
            value["type"] = "diagnostic".into();
            value.to_string()
        }
        DiagnosticFormat::Github => github(diagnostic),
    }
}

pub fn render_summary(summary: Summary, format: DiagnosticFormat, palette: Palette) -> String {
    let Summary {
        skills,
        errors,
        warnings,
    } = summary;
    match format {
        DiagnosticFormat::Json => {
            json!({"type": "summary", "skills": skills, "errors": errors, "warnings": warnings})
                .to_string()
        }
        _ => {
            let line = format!(
                "validated {skills} skill{}: {errors} error{}, {warnings} warning{}",
                plural(skills),
                plural(errors),
                plural(warnings)
            );
            if errors > 0 {
                palette.error(&line)
            } else {
                palette.bold(&line)
            }
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Text from a manifest (a name, a source line) as it may be printed: a
/// control character (but tab and newline) becomes its escape, so a crafted `name: "\e[2J…"`
/// cannot drive the operator's terminal.
fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let hostile = |c: char| c.is_control() && c != '\t' && c != '\n';
    if !text.chars().any(hostile) {
        return text.into();
    }
    text.chars()
        .map(|c| {
            if hostile(c) {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

fn human(d: &Diagnostic, palette: Palette) -> String {
    let label = match d.severity {
        Severity::Error => palette.error(&format!("error[{}]", d.code)),
        Severity::Warning => palette.warning(&format!("warning[{}]", d.code)),
    };
    let mut out = format!(
        "{label}{} {}\n",
        palette.bold(":"),
        palette.bold(&printable(&d.message))
    );
    let location = match d.pos {
        Some(pos) => format!("{}:{}:{}", d.file.display(), pos.line, pos.column),
        None => d.file.display().to_string(),
    };
    let _ = writeln!(out, " {} {location}", palette.accent("-->"));
    if let Some(pos) = d.pos
        && let Some(line) = d.source_line.clone().or_else(|| read_line(d, pos.line))
    {
        let (line, column) = excerpt(&printable(&line), pos.column);
        let number = pos.line.to_string();
        let gutter = " ".repeat(number.len());
        let before: String = line.chars().take(column.saturating_sub(1)).collect();
        let width = line
            .chars()
            .skip(column.saturating_sub(1))
            .take_while(|c| !c.is_whitespace())
            .count()
            .max(1);
        let pad: String = before
            .chars()
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let _ = writeln!(out, "{gutter} {}", palette.accent("|"));
        let _ = writeln!(out, "{} {line}", palette.accent(&format!("{number} |")));
        let caret = "^".repeat(width);
        let caret = if d.severity == Severity::Error {
            palette.error(&caret)
        } else {
            palette.warning(&caret)
        };
        let _ = writeln!(out, "{gutter} {} {pad}{caret}", palette.accent("|"));
    }
    if let Some(help) = &d.help {
        let _ = writeln!(out, "  {} {}", palette.accent("= help:"), printable(help));
    }
    out
}

/// Characters of a source line shown around the column.
const EXCERPT: usize = 100;

/// The part of `line` around `column` (1-based, in characters), cut with
/// `…` where it goes on, and the column within that part: a 200 KB line
/// prints as one screen line.
fn excerpt(line: &str, column: usize) -> (String, usize) {
    let length = line.chars().count();
    if length <= EXCERPT {
        return (line.to_string(), column);
    }
    let at = column.saturating_sub(1).min(length);
    let start = at.saturating_sub(EXCERPT / 2).min(length - EXCERPT);
    let end = start + EXCERPT;
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    out.extend(line.chars().skip(start).take(EXCERPT));
    if end < length {
        out.push('…');
    }
    (out, at - start + 1 + usize::from(start > 0))
}

/// Diagnostics raised away from the source text carry no line; read it.
fn read_line(d: &Diagnostic, line: usize) -> Option<String> {
    let text = std::fs::read_to_string(&d.file).ok()?;
    text.lines().nth(line.checked_sub(1)?).map(str::to_string)
}

fn github(d: &Diagnostic) -> String {
    let command = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut props = format!("file={}", escape_property(&d.file.display().to_string()));
    if let Some(pos) = d.pos {
        let _ = write!(props, ",line={},col={}", pos.line, pos.column);
    }
    let _ = write!(props, ",title={}", escape_property(d.code.as_str()));
    let mut message = printable(&d.message).into_owned();
    if let Some(help) = &d.help {
        let _ = write!(message, "\nhelp: {}", printable(help));
    }
    format!("::{command} {props}::{}", escape_data(&message))
}

pub(crate) fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

pub(crate) fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use skill_runtime::manifest::{Code, Pos};

    #[test]
    fn control_characters_from_manifests_are_printed_escaped() {
        let mut d = diagnostic();
        d.message = "`\u{1b}[2Jevil` contains `\u{1b}`".into();
        d.source_line = Some("name: \"\u{1b}[2Jevil\"\t# x".into());
        for format in [DiagnosticFormat::Human, DiagnosticFormat::Github] {
            let out = render(&d, format, Palette::default());
            assert!(!out.contains('\u{1b}'), "{out}");
            assert!(out.contains("\\u{1b}[2Jevil"), "{out}");
        }
    }

    #[test]
    fn a_long_line_is_shown_around_its_column() {
        let mut d = diagnostic();
        let line = format!("{}key = @{}", "a".repeat(200_000), "b".repeat(200_000));
        d.pos = Some(Pos::new(1, 200_007));
        d.source_line = Some(line);
        let out = render(&d, DiagnosticFormat::Human, Palette::default());
        assert!(out.len() < 1_000, "{} bytes", out.len());
        let shown = out.lines().find(|l| l.contains("key = @")).unwrap();
        let caret = out.lines().find(|l| l.contains('^')).unwrap();
        assert!(shown.contains("…a") && shown.ends_with("b…"), "{shown}");
        // The caret stands under the `@` the column names.
        let at = shown.chars().position(|c| c == '@').unwrap();
        assert_eq!(caret.chars().position(|c| c == '^'), Some(at), "{out}");
        // Short lines are left whole.
        assert_eq!(excerpt("name: x", 7), ("name: x".to_string(), 7));
    }

    fn diagnostic() -> Diagnostic {
        Diagnostic {
            code: Code::NameDirMismatch,
            severity: Severity::Error,
            message: "the name `pdf` differs from the folder name `pdf-tools`".into(),
            file: "skills/pdf-tools/SKILL.md".into(),
            pos: Some(Pos::new(2, 7)),
            source_line: Some("name: pdf".into()),
            help: Some("rename the folder to `pdf`".into()),
        }
    }

    #[test]
    fn human_is_rustc_style_with_a_caret() {
        let text = render(&diagnostic(), DiagnosticFormat::Human, Palette::default());
        assert_eq!(
            text,
            "error[name-dir-mismatch]: the name `pdf` differs from the folder name `pdf-tools`\n --> skills/pdf-tools/SKILL.md:2:7\n  |\n2 | name: pdf\n  |       ^^^\n  = help: rename the folder to `pdf`\n"
        );
    }

    #[test]
    fn json_is_one_object_with_position() {
        let v: serde_json::Value = serde_json::from_str(&render(
            &diagnostic(),
            DiagnosticFormat::Json,
            Palette::default(),
        ))
        .unwrap();
        assert_eq!(v["type"], "diagnostic");
        assert_eq!(v["code"], "name-dir-mismatch");
        assert_eq!(v["severity"], "error");
        assert_eq!(
            (v["line"].as_u64(), v["column"].as_u64()),
            (Some(2), Some(7))
        );
    }

    #[test]
    fn github_annotations_escape_their_fields() {
        let mut d = diagnostic();
        d.file = "a,b:c.md".into();
        d.message = "50% done\nnext".into();
        assert_eq!(
            render(&d, DiagnosticFormat::Github, Palette::default()),
            "::error file=a%2Cb%3Ac.md,line=2,col=7,title=name-dir-mismatch::50%25 done%0Anext%0Ahelp: rename the folder to `pdf`"
        );
    }
}
