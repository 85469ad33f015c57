//! `cargo skill new`: a skill folder from the templates embedded in this
//! binary, so an installed `cargo-skill` needs no source tree.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use skill_runtime::manifest::CapabilityDecl;
use skill_runtime::manifest::extensions::check_skill_name;

/// The world every tool skill vendors, as this version of cargo-skill knows it.
pub const WIT: &str = include_str!("../../../wit/boternity-skill.wit");
/// The wit-bindgen the templates pin; the test guests use the same.
pub const WIT_BINDGEN_VERSION: &str = "0.61";

/// `(path in the new skill, template text)`.
pub const PROMPT_TEMPLATE: &[(&str, &str)] = &[
    (
        "SKILL.md",
        include_str!("../../../templates/prompt/SKILL.md"),
    ),
    (
        "references/REFERENCE.md",
        include_str!("../../../templates/prompt/references/REFERENCE.md"),
    ),
];

pub const TOOL_TEMPLATE: &[(&str, &str)] = &[
    ("SKILL.md", include_str!("../../../templates/tool/SKILL.md")),
    (
        "Cargo.toml",
        include_str!("../../../templates/tool/Cargo.toml"),
    ),
    (
        "src/lib.rs",
        include_str!("../../../templates/tool/src/lib.rs"),
    ),
    (
        "tests/accepts-an-object.json",
        include_str!("../../../templates/tool/tests/accepts-an-object.json"),
    ),
    (
        "tests/fetches-a-granted-host.json",
        include_str!("../../../templates/tool/tests/fetches-a-granted-host.json"),
    ),
    (
        "tests/refuses-other-hosts.json",
        include_str!("../../../templates/tool/tests/refuses-other-hosts.json"),
    ),
    (
        "input.schema.json",
        include_str!("../../../templates/tool/input.schema.json"),
    ),
    (
        "output.schema.json",
        include_str!("../../../templates/tool/output.schema.json"),
    ),
    (
        ".gitignore",
        include_str!("../../../templates/tool/gitignore"),
    ),
    ("wit/boternity-skill.wit", WIT),
];

pub const CORE_TEMPLATE: &[(&str, &str)] = &[
    ("SKILL.md", include_str!("../../../templates/core/SKILL.md")),
    (
        "skill.toml",
        include_str!("../../../templates/core/skill.toml"),
    ),
    (
        "Cargo.toml",
        include_str!("../../../templates/core/Cargo.toml"),
    ),
    (
        "src/lib.rs",
        include_str!("../../../templates/core/src/lib.rs"),
    ),
    (
        "tests/accepts-an-object.json",
        include_str!("../../../templates/core/tests/accepts-an-object.json"),
    ),
    (
        "tests/reads-a-granted-variable.json",
        include_str!("../../../templates/core/tests/reads-a-granted-variable.json"),
    ),
    (
        "tests/refuses-other-variables.json",
        include_str!("../../../templates/core/tests/refuses-other-variables.json"),
    ),
    (
        ".gitignore",
        include_str!("../../../templates/core/gitignore"),
    ),
];

const RELEASE_PROFILE: &str = "
# Small components: the release build of a skill is tens of KB.
[profile.release]
opt-level = \"s\"
lto = true
codegen-units = 1
strip = true
panic = \"abort\"
";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkillKind {
    Prompt,
    Tool,
    /// A core WebAssembly module with `skill.toml` (docs/core-abi.md).
    Core,
}

#[derive(Debug, Clone)]
pub struct NewSkill {
    pub name: String,
    pub kind: SkillKind,
    /// Where to create it; `./<name>` when absent.
    pub path: Option<PathBuf>,
    pub description: Option<String>,
    pub capabilities: Vec<CapabilityDecl>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scaffolded {
    pub dir: PathBuf,
    pub files: Vec<PathBuf>,
    /// The workspace manifest the skill was added to as a member.
    pub workspace: Option<PathBuf>,
}

/// Checks a name before anything is written: the spec's rule, and for tool
/// skills what Cargo accepts as a package name.
pub fn check_name(name: &str, kind: SkillKind) -> Result<()> {
    check_skill_name(name).map_err(|e| {
        anyhow::anyhow!("{e}: skill names are 1 to 64 lowercase letters, digits and single hyphens, not starting or ending with a hyphen")
    })?;
    if kind != SkillKind::Prompt
        && !(name.is_ascii() && name.starts_with(|c: char| c.is_ascii_lowercase()))
    {
        bail!(
            "`{name}` cannot be a Cargo package name: tool skill names must be ASCII and start with a letter"
        );
    }
    Ok(())
}

pub fn scaffold(new: &NewSkill) -> Result<Scaffolded> {
    check_name(&new.name, new.kind)?;
    let dir = new.path.clone().unwrap_or_else(|| PathBuf::from(&new.name));
    let workspace = match new.kind {
        SkillKind::Tool | SkillKind::Core => enclosing_workspace(&dir)?,
        SkillKind::Prompt => None,
    };
    let template = match new.kind {
        SkillKind::Prompt => PROMPT_TEMPLATE,
        SkillKind::Tool => TOOL_TEMPLATE,
        SkillKind::Core => CORE_TEMPLATE,
    };
    let vars = Vars::new(new, workspace.is_none());
    let files: Vec<(PathBuf, String)> = template
        .iter()
        .map(|(rel, text)| (dir.join(rel), vars.render(text)))
        .collect();

    let existing: Vec<String> = files
        .iter()
        .filter(|(p, _)| p.exists())
        .map(|(p, _)| p.display().to_string())
        .collect();
    if !existing.is_empty() {
        bail!(
            "refusing to overwrite {}: choose another --path or move them away",
            existing.join(", ")
        );
    }
    for (path, text) in &files {
        std::fs::create_dir_all(path.parent().expect("files live in the skill folder"))
            .with_context(|| format!("could not create {}", path.parent().unwrap().display()))?;
        std::fs::write(path, text)
            .with_context(|| format!("could not write {}", path.display()))?;
    }
    if let Some(manifest) = &workspace {
        add_workspace_member(manifest, &dir)?;
    }
    Ok(Scaffolded {
        dir,
        files: files.into_iter().map(|(p, _)| p).collect(),
        workspace,
    })
}

/// What the tool template's example call needs.
const TEMPLATE_API_GRANT: &str = "http-get:api.example.com";

/// Template variables, each already escaped for the file it lands in.
struct Vars(Vec<(&'static str, String)>);

impl Vars {
    fn new(new: &NewSkill, standalone: bool) -> Vars {
        let description = new.description.clone().unwrap_or_else(|| {
            format!(
                "Describe what {} does and when an agent should use it.",
                new.name
            )
        });
        let capabilities: Vec<String> = new.capabilities.iter().map(ToString::to_string).collect();
        let line = |caps: &[String]| {
            if caps.is_empty() {
                String::new()
            } else {
                format!("  capabilities: {}\n", yaml_string(&caps.join(" ")))
            }
        };
        // The tool template calls the example API, so it always declares it.
        let mut tool_capabilities = vec![TEMPLATE_API_GRANT.to_string()];
        tool_capabilities.extend(
            capabilities
                .iter()
                .filter(|c| *c != TEMPLATE_API_GRANT)
                .cloned(),
        );
        Vars(vec![
            ("name", new.name.clone()),
            ("title", title_case(&new.name)),
            ("description_yaml", yaml_string(&description)),
            (
                "description_toml",
                toml_edit::Value::from(description.as_str())
                    .to_string()
                    .trim()
                    .to_string(),
            ),
            ("description_rust", format!("{description:?}")),
            ("description", description),
            ("capabilities_line", line(&capabilities)),
            ("tool_capabilities_line", line(&tool_capabilities)),
            ("wit_bindgen_version", WIT_BINDGEN_VERSION.to_string()),
            // Cargo ignores member profiles in a workspace; the root's apply.
            (
                "release_profile",
                if standalone {
                    RELEASE_PROFILE.to_string()
                } else {
                    String::new()
                },
            ),
        ])
    }

    fn render(&self, template: &str) -> String {
        let mut out = template.to_string();
        for (key, value) in &self.0 {
            out = out.replace(&format!("{{{{{key}}}}}"), value);
        }
        out
    }
}

/// A YAML scalar for any text: plain when unambiguous, else double-quoted.
pub(crate) fn yaml_string(text: &str) -> String {
    let plain_ok = !text.is_empty()
        && !text.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@`~ ".contains(c))
        && !text.contains(": ")
        && !text.contains(" #")
        && !text.ends_with(' ')
        && !text.contains('\n')
        && skill_runtime::manifest::fields::yaml_type_of(text).is_none();
    if plain_ok {
        text.to_string()
    } else {
        serde_json::to_string(text).expect("strings serialize")
    }
}

pub(crate) fn title_case(name: &str) -> String {
    name.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The nearest `Cargo.toml` with a `[workspace]` table above the new folder.
fn enclosing_workspace(dir: &Path) -> Result<Option<PathBuf>> {
    let start = std::path::absolute(dir).context("could not resolve the skill's path")?;
    for ancestor in start.ancestors().skip(1) {
        let manifest = ancestor.join("Cargo.toml");
        if let Ok(text) = std::fs::read_to_string(&manifest)
            && let Ok(doc) = text.parse::<toml_edit::DocumentMut>()
            && doc.contains_key("workspace")
        {
            return Ok(Some(manifest));
        }
    }
    Ok(None)
}

/// Adds the folder to `workspace.members` unless a member entry covers it.
fn add_workspace_member(manifest: &Path, dir: &Path) -> Result<()> {
    let root = manifest.parent().expect("a manifest has a folder");
    let member = std::path::absolute(dir)?
        .strip_prefix(std::path::absolute(root)?)
        .context("the skill is not below the workspace root")?
        .to_string_lossy()
        .replace('\\', "/");
    let text = std::fs::read_to_string(manifest)?;
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .with_context(|| format!("{} is not valid TOML", manifest.display()))?;
    let members = doc["workspace"]
        .as_table_like_mut()
        .context("`workspace` is not a table")?
        .entry("members")
        .or_insert(toml_edit::Item::Value(toml_edit::Value::Array(
            toml_edit::Array::new(),
        )));
    let array = members
        .as_array_mut()
        .context("`workspace.members` is not an array")?;
    let covered = array
        .iter()
        .filter_map(|v| v.as_str())
        .any(|m| m == member || glob_covers(m, &member));
    if !covered {
        array.push(member.as_str());
        let mut tmp = tempfile::NamedTempFile::new_in(root)?;
        std::io::Write::write_all(&mut tmp, doc.to_string().as_bytes())?;
        tmp.persist(manifest)
            .map_err(|e| e.error)
            .with_context(|| format!("could not update {}", manifest.display()))?;
    }
    Ok(())
}

/// `skills/*` covers `skills/weather`.
fn glob_covers(pattern: &str, member: &str) -> bool {
    match pattern.strip_suffix("/*") {
        Some(prefix) => member
            .rsplit_once('/')
            .is_some_and(|(parent, _)| parent == prefix),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_file_is_embedded() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates");
        let mut on_disk = Vec::new();
        for kind in ["prompt", "tool"] {
            let mut stack = vec![root.join(kind)];
            while let Some(dir) = stack.pop() {
                for entry in std::fs::read_dir(dir).unwrap() {
                    let path = entry.unwrap().path();
                    if path.is_dir() {
                        stack.push(path);
                    } else {
                        on_disk.push(std::fs::read_to_string(path).unwrap());
                    }
                }
            }
        }
        let embedded: Vec<&str> = PROMPT_TEMPLATE
            .iter()
            .chain(TOOL_TEMPLATE)
            .map(|(_, t)| *t)
            .collect();
        for text in on_disk {
            assert!(
                embedded.contains(&text.as_str()),
                "a template file is not embedded:\n{text}"
            );
        }
    }

    #[test]
    fn templates_render_with_no_variable_left() {
        let new = NewSkill {
            name: "w".into(),
            kind: SkillKind::Tool,
            path: None,
            description: None,
            capabilities: vec!["read-env:TZ".parse().unwrap()],
        };
        let vars = Vars::new(&new, true);
        for (path, text) in PROMPT_TEMPLATE.iter().chain(TOOL_TEMPLATE) {
            assert!(
                !vars.render(text).contains("{{"),
                "{path} keeps a template variable"
            );
        }
    }

    #[test]
    fn the_vendored_wit_is_the_projects() {
        let wit = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit/boternity-skill.wit"),
        )
        .unwrap();
        assert_eq!(WIT, wit);
    }

    #[test]
    fn names_are_checked_before_anything_is_written() {
        assert!(check_name("weather", SkillKind::Tool).is_ok());
        assert!(check_name("über", SkillKind::Prompt).is_ok());
        for (bad, kind) in [
            ("Weather", SkillKind::Prompt),
            ("a--b", SkillKind::Prompt),
            ("-a", SkillKind::Prompt),
            ("über", SkillKind::Tool),
            ("1st", SkillKind::Tool),
            ("", SkillKind::Prompt),
        ] {
            assert!(check_name(bad, kind).is_err(), "{bad}");
        }
    }

    #[test]
    fn yaml_strings_are_quoted_only_when_needed() {
        assert_eq!(yaml_string("Reads PDFs."), "Reads PDFs.");
        assert_eq!(yaml_string("Key: value"), "\"Key: value\"");
        assert_eq!(yaml_string("yes"), "\"yes\"");
        assert_eq!(yaml_string("# not a comment"), "\"# not a comment\"");
        assert_eq!(yaml_string("say \"hi\"\nnow"), "\"say \\\"hi\\\"\\nnow\"");
    }

    #[test]
    fn member_globs_cover_their_children() {
        assert!(glob_covers("skills/*", "skills/weather"));
        assert!(!glob_covers("skills/*", "other/weather"));
        assert!(!glob_covers("skills", "skills/weather"));
    }
}
