//! The `SKILL.md` manifest model: frontmatter fields with positions, this
//! project's extensions, and diagnostics with stable codes in a strict
//! (reference-validator parity) or lenient (how agents load) mode.

pub mod body;
pub mod diagnostic;
pub mod extensions;
pub mod fields;
pub mod io_schema;
mod model;
pub mod outline;
pub mod skill_name;
pub mod skill_toml;
pub mod source;

use std::path::{Path, PathBuf};

use serde_yaml_ng::Value;

pub use crate::capabilities::CapabilityDecl;
pub use diagnostic::{Code, Diagnostic, Mode, Pos, Severity};
pub use extensions::{Dependency, Extensions, SkillType};

use diagnostic::Reporter;

pub use model::{DEFAULT_WASM, MANIFEST_NAMES, Parsed, SkillManifest};

/// `SKILL.md`, else `skill.md`, in a folder.
pub fn find_manifest(dir: &Path) -> Option<PathBuf> {
    MANIFEST_NAMES
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

/// Reads and checks the manifest at `path` (`SKILL.md`, or `skill.toml`);
/// its folder is the skill folder. A `SKILL.md` with a `skill.toml` beside
/// it must agree with it.
pub fn parse_file(path: &Path, mode: Mode) -> Parsed {
    if path.file_name().is_some_and(|n| n == skill_toml::FILE_NAME) {
        return skill_toml::parse_file(path, mode);
    }
    let mut parsed = parse_markdown_file(path, mode);
    let beside = path.with_file_name(skill_toml::FILE_NAME);
    if beside.is_file() {
        let mut toml = skill_toml::parse_file(&beside, mode);
        parsed.diagnostics.append(&mut toml.diagnostics);
        if let (Some(md), Some(toml)) = (&parsed.manifest, &toml.manifest) {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let text = source::normalize_newlines(&text);
            let mut r = Reporter::new(mode, path.to_path_buf()).with_text(&text);
            skill_toml::check_agreement(md, toml, &mut r);
            parsed.diagnostics.append(&mut r.diagnostics);
        }
    }
    parsed
}

fn parse_markdown_file(path: &Path, mode: Mode) -> Parsed {
    let mut reporter = Reporter::new(mode, path.to_path_buf());
    let Some(text) = source::read(path, &mut reporter) else {
        return Parsed {
            manifest: None,
            diagnostics: reporter.diagnostics,
        };
    };
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let (manifest, mut diagnostics) = parse_text(&text, path, Some(&dir), mode);
    reporter.diagnostics.append(&mut diagnostics);
    Parsed {
        manifest,
        diagnostics: reporter.diagnostics,
    }
}

/// Checks manifest text. With `dir`, the folder name must match and body
/// links are resolved against it; without, those checks are skipped.
pub fn parse_text(
    text: &str,
    path: &Path,
    dir: Option<&Path>,
    mode: Mode,
) -> (Option<SkillManifest>, Vec<Diagnostic>) {
    let text = source::normalize_newlines(text);
    let mut r = Reporter::new(mode, path.to_path_buf()).with_text(&text);
    let manifest = parse_with(&text, path, dir, &mut r);
    (manifest, r.diagnostics)
}

fn parse_with(
    text: &str,
    path: &Path,
    dir: Option<&Path>,
    r: &mut Reporter<'_>,
) -> Option<SkillManifest> {
    let parts = source::split(text, r)?;
    let outline = outline::scan(parts.yaml, parts.yaml_line, r);
    let value: Value = match serde_yaml_ng::from_str(parts.yaml) {
        Ok(value) => value,
        Err(e) => {
            // The outline already pointed at a duplicate key; do not say it twice.
            if !(outline.duplicate_keys && e.to_string().contains("duplicate entry")) {
                // libyaml also breaks lines at NEL, LS and PS; its byte
                // offset, not its line count, is what both sides agree on.
                let pos = e
                    .location()
                    .map(|l| pos_at_byte(parts.yaml, parts.yaml_line, l.index()));
                let message = e.to_string();
                let message = message.split(" at line ").next().unwrap_or(&message);
                r.report(Code::YamlInvalid, pos, format!("invalid YAML: {message}"), Some("fix the YAML syntax; quote values that contain `: ` or start with a special character".into()));
            }
            return None;
        }
    };
    let Value::Mapping(map) = value else {
        r.report(
            Code::FrontmatterNotMapping,
            Some(Pos::new(parts.yaml_line, 1)),
            "the frontmatter must be a mapping of fields (`name: ...`), not a single value or list",
            Some("write one `field: value` per line".into()),
        );
        return None;
    };
    let dir_name = dir.map(folder_name);
    let spec = fields::read(&map, &outline, dir_name.as_deref(), r);
    let ext = extensions::read(&spec.metadata, r);
    if let Some(dir) = dir {
        body::check(text, parts.body, parts.body_line, dir, r);
    }
    Some(SkillManifest {
        path: path.to_path_buf(),
        dir: dir.map_or_else(
            || path.parent().unwrap_or(Path::new(".")).to_path_buf(),
            Path::to_path_buf,
        ),
        name: spec.name,
        description: spec.description,
        license: spec.license,
        compatibility: spec.compatibility,
        allowed_tools: spec.allowed_tools,
        metadata: spec
            .metadata
            .into_iter()
            .map(|(k, v)| (k, v.text))
            .collect(),
        ext,
        body: parts.body.to_string(),
        positions: outline
            .entries
            .iter()
            .flat_map(|e| {
                let children = e
                    .children
                    .iter()
                    .map(move |c| (format!("{}.{}", e.key, c.key), c.value_pos));
                std::iter::once((e.key.clone(), e.value_pos)).chain(children)
            })
            .collect(),
    })
}

/// Line and column (in characters) of a byte offset into `text`, whose first
/// line is line `first_line` of the file.
fn pos_at_byte(text: &str, first_line: usize, index: usize) -> Pos {
    let mut index = index.min(text.len());
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    let before = &text[..index];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Pos::new(
        first_line + before.matches('\n').count(),
        before[line_start..].chars().count() + 1,
    )
}

/// The folder's own name, resolving `.` and `..`.
pub fn folder_name(dir: &Path) -> String {
    let real = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    real.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
