//! `scan`: the malicious and the risky in skill folders, found offline by
//! reading them (nothing is run): hidden text, prompt injection, dangerous
//! commands, credential access and exfiltration, committed secrets,
//! obfuscation and embedded binaries, and a manifest that does not fit the
//! scripts. One pass over each file, rules compiled once, skills in parallel.

mod archive;
mod context;
mod decode;
mod files;
mod finding;
mod flow;
pub mod rules;
mod text;

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::discover::links::{Boundary, Target};
use crate::discover::{Found, discover};
use crate::manifest::{self, Mode, SkillManifest};
use crate::store::installed::NOT_SHIPPED;
pub use context::Context;
pub use finding::Finding;
pub use rules::{COMPONENT_RULE, Family, RULES, Risk, Rule, rule};

/// What one skill folder holds that a rule flags.
#[derive(Debug, Clone, Serialize)]
pub struct SkillScan {
    pub dir: PathBuf,
    /// The manifest's name, when it could be read.
    pub name: Option<String>,
    pub files: usize,
    pub findings: Vec<Finding>,
}

impl SkillScan {
    /// The findings at `threshold` or above that `allowed` rules do not excuse.
    pub fn blocking<'a>(
        &'a self,
        threshold: Risk,
        allowed: &'a [String],
    ) -> impl Iterator<Item = &'a Finding> {
        self.findings
            .iter()
            .filter(move |f| f.severity >= threshold && !allowed.iter().any(|a| a == f.rule))
    }
}

/// Every skill under `paths` (the same discovery as `validate`), scanned in
/// parallel; the second list names paths that hold no skill.
pub fn scan_paths(paths: &[PathBuf]) -> (Vec<SkillScan>, Vec<PathBuf>) {
    let mut dirs = Vec::new();
    let mut empty = Vec::new();
    for path in paths {
        let found = discover(path);
        if found.is_empty() {
            empty.push(path.clone());
        }
        for f in found {
            let manifest = match f {
                Found::Manifest(m) => m,
                Found::OutsideTree { manifest, .. } => manifest,
            };
            if let Some(dir) = manifest.parent() {
                dirs.push(dir.to_path_buf());
            }
        }
    }
    dirs.sort();
    dirs.dedup();
    // Links inside the folder given are read as what they lead to.
    let scans = dirs
        .par_iter()
        .map(|d| scan_skill_within(d, Some(root_of(paths, d))))
        .collect();
    (scans, empty)
}

/// The path given that `dir` was found under (a SKILL.md given stands for
/// its folder).
pub fn root_of<'a>(paths: &'a [PathBuf], dir: &Path) -> &'a Path {
    paths
        .iter()
        .map(|p| match p.is_file() {
            true => p.parent().unwrap_or(Path::new(".")),
            false => p.as_path(),
        })
        .filter(|p| dir.starts_with(p))
        .max_by_key(|p| p.components().count())
        .unwrap_or(Path::new("."))
}

/// Scans one skill folder; every link in it is a finding.
pub fn scan_skill(dir: &Path) -> SkillScan {
    scan_skill_within(dir, None)
}

/// Scans one skill folder of a source whose root is `boundary`: a link
/// that stays beneath it is read as the file or folder it leads to, as
/// `install` copies it; any other link is a finding.
pub fn scan_skill_within(dir: &Path, boundary: Option<&Path>) -> SkillScan {
    let mut findings = Vec::new();
    let mut walked = Walk {
        boundary: boundary.and_then(|b| Boundary::open(b).ok()),
        ..Walk::default()
    };
    let manifest_text: Option<(&str, String)> = manifest::MANIFEST_NAMES
        .iter()
        .find_map(|name| Some((*name, std::fs::read_to_string(dir.join(name)).ok()?)));
    // Documents SKILL.md tells the agent to follow are read as instructions.
    walked.followed = manifest_text
        .as_ref()
        .map_or_else(Vec::new, |(_, text)| context::followed(text));
    walked.walk(dir, "", 0, &mut findings);
    if walked.files > files::MAX_FILES {
        findings.push(files::too_many_files(walked.files));
    }
    if walked.unread > 0 {
        findings.push(files::unread_files(walked.unread));
    }
    let manifest = read_manifest(dir);
    if let Some((manifest, file)) = &manifest {
        findings.extend(files::confusable_name(manifest, file));
        let text = manifest_text
            .as_ref()
            .filter(|(name, _)| name == file)
            .map_or("", |(_, text)| text.as_str());
        findings.extend(files::allowed_tools(manifest, file, text, &walked.scripts));
    }
    // A flow and a pattern may both find one line; it is said once.
    let mut seen = std::collections::HashSet::new();
    findings.retain(|f| seen.insert((f.rule, f.path.clone(), f.line)));
    findings.sort_by(|a, b| {
        (b.severity, &a.path, a.line, a.column, a.rule)
            .cmp(&(a.severity, &b.path, b.line, b.column, b.rule))
    });
    SkillScan {
        dir: dir.to_path_buf(),
        name: manifest.map(|(m, _)| m.name),
        files: walked.files,
        findings,
    }
}

/// Adds validate's capability lint for a tool skill's component: each
/// capability it imports that the manifest does not declare. Loading the
/// component compiles it (through the runtime's cache), so this is separate
/// from [`scan_skill`].
pub fn lint_component(scan: &mut SkillScan, runtime: &crate::runtime::Runtime) {
    let Some((manifest, _)) = read_manifest(&scan.dir) else {
        return;
    };
    for d in crate::validate::component::check(&manifest, runtime, Mode::Lenient) {
        if d.code == crate::manifest::Code::CapabilityUndeclared {
            let file = d
                .file
                .strip_prefix(&scan.dir)
                .unwrap_or(&d.file)
                .to_string_lossy()
                .replace('\\', "/");
            let (line, column) = d.pos.map_or((1, 1), |p| (p.line, p.column));
            scan.findings.push(Finding::new(
                &COMPONENT_RULE,
                &file,
                line,
                column,
                &d.message,
            ));
        }
    }
}

fn read_manifest(dir: &Path) -> Option<(SkillManifest, &'static str)> {
    manifest::MANIFEST_NAMES.iter().find_map(|name| {
        let path = dir.join(name);
        path.is_file()
            .then(|| manifest::parse_file(&path, Mode::Lenient).manifest)
            .flatten()
            .map(|m| (m, *name))
    })
}

/// How deep links to folders are followed before one is taken for a loop.
const MAX_LINK_DEPTH: usize = 8;

struct Walk {
    files: usize,
    /// Files past [`files::MAX_READ_FILES`], counted and not read.
    unread: usize,
    /// Bytes this skill may still have read.
    budget: u64,
    /// Shell, Python, JavaScript and other scripts, for `allowed-tools`.
    scripts: Vec<String>,
    /// Documents SKILL.md tells the agent to follow, relative to the skill.
    followed: Vec<String>,
    /// The source's root, when links beneath it are followed.
    boundary: Option<Boundary>,
}

impl Default for Walk {
    fn default() -> Walk {
        Walk {
            files: 0,
            unread: 0,
            budget: files::MAX_SKILL_BYTES,
            scripts: Vec::new(),
            followed: Vec::new(),
            boundary: None,
        }
    }
}

impl Walk {
    /// Every entry beneath `dir` that would be shipped, named `prefix…`;
    /// links followed only beneath the boundary, `depth` folder links deep.
    fn walk(&mut self, dir: &Path, prefix: &str, depth: usize, findings: &mut Vec<Finding>) {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => {
                let relative = prefix.trim_end_matches('/');
                findings.push(files::unreadable(
                    if relative.is_empty() { "." } else { relative },
                    &e,
                ));
                return;
            }
        };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let relative =
                format!("{prefix}{}", entry.file_name().to_string_lossy()).replace('\\', "/");
            let Ok(meta) = entry.file_type() else {
                continue;
            };
            if meta.is_symlink() {
                let resolved = self
                    .boundary
                    .as_ref()
                    .map(|b| (b.root().to_path_buf(), b.resolve(&path)));
                match resolved {
                    Some((root, Ok(Target::File(real)))) => {
                        self.files += 1;
                        if self.files <= files::MAX_READ_FILES {
                            self.file(&root.join(real), &relative, findings);
                        } else {
                            self.unread += 1;
                        }
                    }
                    Some((root, Ok(Target::Folder(real)))) if depth < MAX_LINK_DEPTH => {
                        self.walk(
                            &root.join(real),
                            &format!("{relative}/"),
                            depth + 1,
                            findings,
                        );
                    }
                    _ => {
                        let target = std::fs::read_link(&path).unwrap_or_default();
                        findings.push(files::symlink(&relative, &target));
                    }
                }
            } else if meta.is_dir() {
                let name = entry.file_name();
                if !NOT_SHIPPED.iter().any(|n| name == *n) {
                    self.walk(&path, &format!("{relative}/"), depth, findings);
                }
            } else if meta.is_file() {
                self.files += 1;
                // Reading every one of a million files would only hold the
                // scan up; what is not read is reported.
                if self.files <= files::MAX_READ_FILES {
                    self.file(&path, &relative, findings);
                } else {
                    self.unread += 1;
                }
            }
        }
    }

    fn file(&mut self, path: &Path, relative: &str, findings: &mut Vec<Finding>) {
        // By name: what `allowed-tools` must let the agent run.
        if Context::of(relative, "") == Context::Script {
            self.scripts.push(relative.to_string());
        }
        let size = std::fs::metadata(path).map_or(0, |m| m.len());
        // Only a large file's first bytes matter here: no extra read for the rest.
        let wasm = size > files::MAX_FILE_BYTES && files::is_wasm(path);
        if size > files::MAX_FILE_BYTES && !wasm {
            findings.push(files::oversize(relative, size));
        }
        let read = match files::read(path, size, wasm, &mut self.budget) {
            Ok(read) => read,
            Err(e) => return findings.push(files::unreadable(relative, &e)),
        };
        let head = &read.bytes[..read.bytes.len().min(512)];
        if let Some(kind) = archive::Kind::of(head) {
            findings.extend(files::magic(relative, head));
            let mut visit = |path: &str, bytes: &[u8], findings: &mut Vec<Finding>| {
                contents(path, bytes, false, findings)
            };
            archive::open(relative, kind, &read.bytes, findings, &mut visit);
            return;
        }
        let followed = self.followed.iter().any(|f| f == relative);
        contents(relative, &read.bytes, followed, findings);
        if read.unread > 0 {
            findings.push(files::unread(relative, size, read.unread));
        }
    }
}

/// The checks on one file's content (or an archive member's): native
/// executables by their first bytes, then the text rules on what decodes.
fn contents(path: &str, bytes: &[u8], followed: bool, findings: &mut Vec<Finding>) {
    // A macOS resource fork (`._name`, AppleDouble) is the file's metadata.
    if bytes.starts_with(b"\x00\x05\x16\x07") {
        return;
    }
    if let Some(found) = files::magic(path, &bytes[..bytes.len().min(512)]) {
        // Zip, tar and gzip were opened before this; 7z and rar are not.
        let archived = found.rule == "embedded-archive";
        findings.push(found);
        if archived {
            findings.push(files::unopened_archive(path));
        }
        return;
    }
    match decode::decode(bytes) {
        decode::Decoded::Text(text) => {
            let context = match Context::of(path, &text) {
                Context::Reference if followed => Context::Instruction,
                context => context,
            };
            text::check(path, &text, context, findings);
        }
        decode::Decoded::Binary if Context::named_as_text(path) => {
            findings.push(files::undecodable(path));
        }
        decode::Decoded::Binary => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_cannot_be_read_is_unscannable_not_skipped() {
        // Gone between listing and reading (root reads any mode bits).
        let mut findings = Vec::new();
        Walk::default().file(Path::new("/nonexistent/run.sh"), "run.sh", &mut findings);
        let rules: Vec<&str> = findings.iter().map(|f| f.rule).collect();
        assert_eq!(rules, ["unscannable"]);
        assert!(
            findings[0].message.contains("could not be read"),
            "{}",
            findings[0].message
        );
    }
}
