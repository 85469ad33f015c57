//! Skills of a source the installer sets aside, each with every reason and
//! what, if anything, would accept it.

use std::path::{Path, PathBuf};

use skill_runtime::manifest::{Code, Diagnostic, SkillManifest};

/// A skill that is not installed, and why.
#[derive(Debug, Clone)]
pub struct Refused {
    /// The name it gives, when it could be read.
    pub name: Option<String>,
    /// The folder it stands in: its name, and where it is now.
    pub folder: String,
    pub dir: PathBuf,
    pub reasons: Vec<Reason>,
}

#[derive(Debug, Clone)]
pub enum Reason {
    /// The manifest does not pass the validator; only a fix accepts it.
    Manifest(Diagnostic),
    /// Findings at the gate's threshold: rendered, and their rules.
    Scan {
        findings: Vec<String>,
        rules: Vec<String>,
    },
    /// It needs a skill of the plan that was refused.
    Needs(String),
    /// What it ships cannot be installed (a link, install metadata).
    Files(String),
    /// Another skill of the source, found first, has its name (its folder).
    SameName(String),
    /// A skill of that name is installed from another source.
    Replaces { source: String, version: String },
}

impl Refused {
    /// `manifest`'s skill, refused for `reason`.
    pub fn of(manifest: &SkillManifest, reason: Reason) -> Refused {
        Refused::with(manifest, vec![reason])
    }

    /// `manifest`'s skill, refused for every one of `reasons`.
    pub fn with(manifest: &SkillManifest, reasons: Vec<Reason>) -> Refused {
        Refused {
            name: Some(manifest.name.clone()),
            folder: manifest
                .dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            dir: manifest.dir.clone(),
            reasons,
        }
    }

    /// Whether `wanted` (a name from the command line) means this skill.
    pub fn is(&self, wanted: &str) -> bool {
        self.name.as_deref() == Some(wanted) || self.folder == wanted
    }

    /// How the listing names it; names and folders come from the source,
    /// so control characters are escaped, never sent to the terminal.
    pub fn label(&self) -> String {
        match &self.name {
            Some(name) if *name == self.folder => name.escape_debug().to_string(),
            Some(name) => format!(
                "{} (folder {})",
                name.escape_debug(),
                self.folder.escape_debug()
            ),
            None => format!("folder {}", self.folder.escape_debug()),
        }
    }

    /// Whether its folder leads out of the source (it is not read then).
    pub fn leads_out(&self) -> bool {
        self.reasons
            .iter()
            .any(|r| matches!(r, Reason::Manifest(d) if d.code == Code::ManifestOutsideTree))
    }

    /// Names the diagnostics' files as `show` does (not a temporary checkout).
    pub fn show_files(&mut self, show: impl Fn(&Path) -> PathBuf) {
        for reason in &mut self.reasons {
            if let Reason::Manifest(d) = reason {
                d.file = show(&d.file);
            }
        }
    }

    /// The manifest diagnostics among the reasons.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        self.reasons
            .iter()
            .filter_map(|r| match r {
                Reason::Manifest(d) => Some(d.clone()),
                _ => None,
            })
            .collect()
    }

    /// The reasons in a word each: codes, rule ids, what it needs.
    pub fn summary(&self) -> Vec<String> {
        let mut words = Vec::new();
        for reason in &self.reasons {
            match reason {
                Reason::Manifest(d) => words.push(d.code.to_string()),
                Reason::Scan { rules, .. } => words.extend(rules.iter().cloned()),
                Reason::Needs(other) => words.push(format!("needs {other}")),
                Reason::Files(_) => words.push("a file it cannot ship".to_string()),
                Reason::SameName(first) => words.push(format!("same name as {first}")),
                Reason::Replaces { source, .. } => words.push(format!("installed from {source}")),
            }
        }
        words.dedup();
        words
    }

    /// The flags that would install it as it is, when only the operator's
    /// word (scan findings, a change of source) stands in its way.
    pub fn accepted_by(&self) -> Option<String> {
        let name = self.name.as_ref()?;
        let mut rules = Vec::new();
        let mut replace = false;
        for reason in &self.reasons {
            match reason {
                Reason::Scan { rules: r, .. } => rules.extend(r),
                Reason::Replaces { .. } => replace = true,
                Reason::Manifest(_) | Reason::Needs(_) | Reason::Files(_) | Reason::SameName(_) => {
                    return None;
                }
            }
        }
        let mut flags = Vec::new();
        if !rules.is_empty() {
            let each: Vec<String> = rules.iter().map(|r| format!("{name}:{r}")).collect();
            flags.push(format!("--allow {}", each.join(",")));
        }
        if replace {
            flags.push("--replace".to_string());
        }
        (!flags.is_empty()).then(|| flags.join(" "))
    }

    /// Every reason in full: diagnostics rustc-style, findings as `scan`
    /// shows them.
    pub fn render(&self) -> String {
        let mut out = render(&self.diagnostics());
        for reason in &self.reasons {
            match reason {
                Reason::Manifest(_) => {}
                Reason::Scan { findings, .. } => {
                    for f in findings {
                        out.push_str(f);
                        out.push('\n');
                    }
                }
                Reason::Needs(other) => out.push_str(&format!(
                    "error: {} needs {other}, which is refused\n",
                    self.label()
                )),
                Reason::Files(why) => out.push_str(&format!("error: {}\n", printable(why))),
                Reason::SameName(first) => out.push_str(&format!(
                    "warning: {} has the name of {first}, found first, which installs instead\n",
                    self.label()
                )),
                Reason::Replaces { source, version } => out.push_str(&format!(
                    "error: {} {version} is installed from {source}; this source would replace it\n",
                    self.label()
                )),
            }
        }
        out
    }
}

/// `text` with control characters (but line breaks) escaped: file names
/// from a source must not drive the terminal.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' => c.to_string(),
            c if c.is_control() => c.escape_default().to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// One line per refused skill: its reasons in a word each, and the flag
/// that would accept it or what to do instead.
pub fn listing(refused: &[Refused]) -> String {
    refused
        .iter()
        .map(|r| {
            let what = match r.accepted_by() {
                Some(flag) => format!("to install it anyway, pass {flag}"),
                None if r.reasons.iter().any(|x| matches!(x, Reason::Manifest(_))) => {
                    "fix its SKILL.md".to_string()
                }
                None => "see above".to_string(),
            };
            format!("  {}: {} ({what})\n", r.label(), r.summary().join(", "))
        })
        .collect()
}

/// The diagnostics that refuse a skill, rustc-style, as errors: whatever
/// their severity when validating, the installer does not go past them.
pub fn render(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(|d| {
            let d = Diagnostic {
                severity: skill_runtime::manifest::Severity::Error,
                ..d.clone()
            };
            crate::diagnostics::render(
                &d,
                crate::diagnostics::DiagnosticFormat::Human,
                crate::output::Palette::default(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_the_source_reach_the_listing_escaped() {
        let refused = Refused {
            name: Some("evil\u{1b}[2J".into()),
            folder: "x\u{7}".into(),
            dir: PathBuf::from("x"),
            reasons: vec![Reason::Needs("base".into())],
        };
        let listed = listing(&[refused]);
        assert!(
            !listed.contains('\u{1b}') && !listed.contains('\u{7}'),
            "{listed:?}"
        );
        assert!(
            listed.contains("evil\\u{1b}[2J (folder x\\u{7}): needs base"),
            "{listed}"
        );
        let files = Refused {
            name: Some("a".into()),
            folder: "a".into(),
            dir: PathBuf::from("a"),
            reasons: vec![Reason::Files("skills/a/\u{1b}]0;x is a link".into())],
        };
        assert!(!files.render().contains('\u{1b}'), "{:?}", files.render());
    }
}
