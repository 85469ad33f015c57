//! `validate`: every check on the skills under some paths, each skill on its
//! own so one broken skill never hides the others.

pub mod component;
pub mod graph;
pub mod install;
pub mod schema;

use std::path::PathBuf;

use crate::discover::{Found, discover};
use crate::manifest::diagnostic::Reporter;
use crate::manifest::{self, Code, Diagnostic, Mode, Severity, SkillManifest};
use crate::runtime::Runtime;

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub mode: Mode,
}

/// One skill's manifest (when it could be read) and its diagnostics.
#[derive(Debug, Clone)]
pub struct SkillReport {
    pub manifest_path: PathBuf,
    pub manifest: Option<SkillManifest>,
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Debug, Clone, Default)]
pub struct Validation {
    pub skills: Vec<SkillReport>,
    /// About the inputs themselves (a path with no skill).
    pub diagnostics: Vec<Diagnostic>,
}

impl Validation {
    pub fn all(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .chain(self.skills.iter().flat_map(|s| &s.diagnostics))
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.all().filter(|d| d.severity == severity).count()
    }

    pub fn manifests(&self) -> impl Iterator<Item = &SkillManifest> {
        self.skills.iter().filter_map(|s| s.manifest.as_ref())
    }
}

/// Discovers and reads the skills under `paths` without checking components
/// or relations: what `inspect` and `to-prompt` need.
pub fn load(paths: &[PathBuf], options: Options) -> Validation {
    let mut report = Validation::default();
    for path in paths {
        let found = discover(path);
        if found.is_empty() {
            let mut r = Reporter::new(options.mode, path.clone());
            r.report(
                Code::NoSkillFound,
                None,
                format!("no SKILL.md in {} or below it", path.display()),
                Some(
                    "pass a skill folder, a SKILL.md, or a repository with skills under skills/"
                        .into(),
                ),
            );
            report.diagnostics.append(&mut r.diagnostics);
        }
        for item in found {
            report.skills.push(read_one(item, options.mode));
        }
    }
    report
}

/// Everything: manifests, components (with `runtime`), and relations.
pub fn validate(paths: &[PathBuf], options: Options, runtime: Option<&Runtime>) -> Validation {
    let mut report = load(paths, options);
    if let Some(runtime) = runtime {
        for skill in &mut report.skills {
            if let Some(manifest) = &skill.manifest {
                skill
                    .diagnostics
                    .extend(component::check(manifest, runtime, options.mode));
            }
        }
    }
    let set = graph::SkillSet::new(report.manifests().collect());
    let mut relations = graph::check(&set, options.mode);
    for diagnostic in relations.drain(..) {
        match report
            .skills
            .iter_mut()
            .find(|s| s.manifest_path == diagnostic.file)
        {
            Some(skill) => skill.diagnostics.push(diagnostic),
            None => report.diagnostics.push(diagnostic),
        }
    }
    report
}

fn read_one(found: Found, mode: Mode) -> SkillReport {
    match found {
        Found::Manifest(path) => {
            let mut parsed = manifest::parse_file(&path, mode);
            if let Some(manifest) = &parsed.manifest {
                parsed.diagnostics.extend(schema::check(manifest, mode));
            }
            SkillReport {
                manifest_path: path,
                manifest: parsed.manifest,
                diagnostics: parsed.diagnostics,
            }
        }
        Found::OutsideTree { manifest, target } => {
            let mut r = Reporter::new(mode, manifest.clone());
            r.report(Code::ManifestOutsideTree, None, format!("SKILL.md is a symlink to {}, outside the tree being validated; it was not read", target.display()), Some("copy the file into the skill folder instead of linking it".into()));
            SkillReport {
                manifest_path: manifest,
                manifest: None,
                diagnostics: r.diagnostics,
            }
        }
    }
}
