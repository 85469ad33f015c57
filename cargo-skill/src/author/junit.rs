//! JUnit XML for CI dashboards: one `<testsuite>` per skill.

use std::fmt::Write as _;

use crate::author::test_runner::CaseResult;

pub fn render(results: &[CaseResult]) -> String {
    let failures = results.iter().filter(|r| !r.passed).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"cargo-skill\" tests=\"{}\" failures=\"{failures}\">",
        results.len()
    );
    let mut skills: Vec<&str> = results.iter().map(|r| r.skill.as_str()).collect();
    skills.dedup();
    for skill in skills {
        let cases: Vec<&CaseResult> = results.iter().filter(|r| r.skill == skill).collect();
        let failed = cases.iter().filter(|r| !r.passed).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\">",
            escape(skill),
            cases.len()
        );
        for case in cases {
            let seconds = case
                .metrics
                .as_ref()
                .map_or(0.0, |m| m.duration.as_secs_f64());
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\" time=\"{seconds:.6}\"",
                escape(skill),
                escape(&case.name),
                escape(&case.file.display().to_string())
            );
            match &case.failure {
                None => out.push_str("/>\n"),
                Some(failure) => {
                    let _ = writeln!(
                        out,
                        ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                        escape(failure),
                        escape(failure)
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

fn escape(s: &str) -> String {
    s.chars()
        .filter(|&c| matches!(c, '\t' | '\n' | '\r') || c >= ' ')
        .collect::<String>()
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}
