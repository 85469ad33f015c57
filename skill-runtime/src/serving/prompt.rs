//! The `<available_skills>` block, in the reference implementation's layout.

use crate::manifest::{Diagnostic, Severity};
use crate::validate::Validation;

/// The block for every skill that loads without errors, and the first error
/// of each one left out.
pub fn available_skills(report: &Validation) -> (String, Vec<Diagnostic>) {
    let mut lines = vec!["<available_skills>".to_string()];
    let mut skipped: Vec<Diagnostic> = report.diagnostics.clone();
    for skill in &report.skills {
        if let Some(error) = skill
            .diagnostics
            .iter()
            .find(|d| d.severity == Severity::Error)
        {
            skipped.push(error.clone());
            continue;
        }
        let Some(manifest) = &skill.manifest else {
            continue;
        };
        let location = manifest
            .path
            .canonicalize()
            .unwrap_or_else(|_| manifest.path.clone());
        lines.push("<skill>".into());
        let location = location.display().to_string();
        for (tag, value) in [
            ("name", manifest.name.trim()),
            ("description", manifest.description.trim()),
            ("location", &location),
        ] {
            lines.extend([format!("<{tag}>"), escape(value), format!("</{tag}>")]);
        }
        lines.push("</skill>".into());
    }
    lines.push("</available_skills>".into());
    (lines.join("\n"), skipped)
}

/// Python's `html.escape`, which the reference uses.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_python_html_escape() {
        assert_eq!(
            escape(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#x27;Jerry&#x27;&lt;/a&gt;"
        );
    }
}
