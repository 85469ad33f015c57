//! Diagnostics: a stable code, a severity that depends on the mode, a
//! message, where (file:line:column and the source line) and how to fix it.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

/// Strict is parity with the agentskills.io reference validator; lenient is
/// how agents actually load skills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Lenient,
    Strict,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// How severe a code is. Strict mode is the reference validator's verdict,
/// so a rule the reference does not have (`Ours`) is only a warning there;
/// lenient mode is what this toolchain needs to use the skill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    /// An error in both modes: the reference refuses it too, or it is a
    /// reading limit no file should pass.
    Error,
    Warning,
    /// The reference refuses it; agents load it anyway.
    StrictError,
    /// This toolchain's own rule: an error in lenient mode, a warning in
    /// strict mode (an error there only under `--deny-warnings`).
    Ours,
}

macro_rules! codes {
    ($($variant:ident = $name:literal, $level:ident, $summary:literal;)*) => {
        /// Every diagnostic code. Names are a stable contract for scripts.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code { $($variant,)* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            /// One line on what the code means, for `docs/` and `--explain`.
            pub fn summary(self) -> &'static str {
                match self { $(Code::$variant => $summary,)* }
            }

            fn level(self) -> Level {
                match self { $(Code::$variant => Level::$level,)* }
            }
        }
    };
}

codes! {
    // Reading the file.
    FileUnreadable = "file-unreadable", Error, "SKILL.md could not be read";
    FileTooLarge = "file-too-large", Error, "SKILL.md is larger than 1 MiB";
    FileNotUtf8 = "file-not-utf8", Error, "SKILL.md is not valid UTF-8";
    Utf8Bom = "utf8-bom", StrictError, "SKILL.md starts with a byte-order mark";
    ManifestOutsideTree = "manifest-outside-tree", Error, "SKILL.md is a symlink to a file outside the skill tree";
    // Frontmatter and YAML.
    FrontmatterMissing = "frontmatter-missing", Error, "SKILL.md does not start with a `---` frontmatter block";
    FrontmatterUnclosed = "frontmatter-unclosed", Error, "the frontmatter block has no closing `---`";
    FrontmatterTooLarge = "frontmatter-too-large", Error, "the frontmatter is larger than 64 KiB";
    FrontmatterNotMapping = "frontmatter-not-mapping", Error, "the frontmatter is not a YAML mapping";
    YamlInvalid = "yaml-invalid", Error, "the frontmatter is not valid YAML";
    YamlDuplicateKey = "yaml-duplicate-key", Error, "a key appears twice in one mapping";
    YamlFlowStyle = "yaml-flow-style", StrictError, "flow style (`{...}` or `[...]`) is outside the strict YAML subset";
    YamlAnchor = "yaml-anchor", StrictError, "anchors (`&name`) are outside the strict YAML subset";
    YamlAlias = "yaml-alias", StrictError, "aliases (`*name`) are outside the strict YAML subset";
    YamlTag = "yaml-tag", StrictError, "tags (`!tag`) are outside the strict YAML subset";
    YamlTypedValue = "yaml-typed-value", Warning, "an unquoted value that YAML loaders read as a number, boolean, null or date";
    // The six spec fields.
    UnexpectedField = "unexpected-field", StrictError, "a top-level field the agentskills.io spec does not define";
    NameMissing = "name-missing", Error, "the required `name` field is missing";
    NameEmpty = "name-empty", Error, "`name` is empty or not a string";
    NameTooLong = "name-too-long", StrictError, "`name` is longer than 64 characters";
    NameNotLowercase = "name-not-lowercase", StrictError, "`name` has uppercase characters";
    NameInvalidChars = "name-invalid-chars", StrictError, "`name` has characters other than letters, digits and hyphens";
    NameHyphens = "name-hyphens", StrictError, "`name` starts or ends with a hyphen, or has two in a row";
    NameDirMismatch = "name-dir-mismatch", StrictError, "`name` differs from the skill's folder name";
    DescriptionMissing = "description-missing", Error, "the required `description` field is missing";
    DescriptionEmpty = "description-empty", Error, "`description` is empty or not a string";
    DescriptionTooLong = "description-too-long", StrictError, "`description` is longer than 1024 characters";
    CompatibilityInvalid = "compatibility-invalid", StrictError, "`compatibility` is not a string";
    CompatibilityTooLong = "compatibility-too-long", StrictError, "`compatibility` is longer than 500 characters";
    LicenseInvalid = "license-invalid", Warning, "`license` is not a string";
    AllowedToolsInvalid = "allowed-tools-invalid", Warning, "`allowed-tools` is neither a string nor a list of strings";
    MetadataNotMapping = "metadata-not-mapping", Warning, "`metadata` is not a mapping of strings";
    MetadataValueNotString = "metadata-value-not-string", Warning, "a `metadata` value is a list or mapping, not a string";
    // Extension fields under `metadata`.
    VersionInvalid = "version-invalid", Ours, "`metadata.version` is not a semantic version";
    VersionLoose = "version-loose", Warning, "`metadata.version` is a short version such as \"1.0\", read as 1.0.0";
    SkillTypeInvalid = "skill-type-invalid", Ours, "`metadata.skill-type` is neither `prompt` nor `tool`";
    CapabilityUnknown = "capability-unknown", Ours, "`metadata.capabilities` names a capability the WIT world does not have";
    CapabilityScopeInvalid = "capability-scope-invalid", Ours, "a capability's scope is malformed";
    SecretInvalid = "secret-invalid", Ours, "`metadata.secrets` has a name that is not UPPER_SNAKE_CASE";
    DependencyInvalid = "dependency-invalid", Ours, "`metadata.dependencies` has an entry that is not `name@requirement`";
    ConflictInvalid = "conflict-invalid", Ours, "`metadata.conflicts-with` has an entry that is not a skill name";
    ParentInvalid = "parent-invalid", Ours, "`metadata.parents` has an entry that is not a skill name";
    TrustTierInvalid = "trust-tier-invalid", Ours, "`metadata.trust-tier` is not untrusted, verified or local";
    ResourcesInvalid = "resources-invalid", Ours, "`metadata.resources` is not `fuel=N memory=SIZE timeout=DURATION`";
    WasmPathInvalid = "wasm-path-invalid", Ours, "`metadata.wasm` is not a relative path inside the skill folder";
    SchemaPathInvalid = "schema-path-invalid", Ours, "`metadata.input-schema` or `metadata.output-schema` is not a relative path inside the skill folder";
    ExtensionList = "extension-list", Warning, "an extension field is a YAML list; write it as a space-separated string";
    // Across skills.
    DependencyCycle = "dependency-cycle", Ours, "skills depend on each other in a cycle";
    DependencyUnsatisfied = "dependency-unsatisfied", Ours, "a dependency's version does not meet the requirement";
    ParentMissing = "parent-missing", Ours, "a mixin parent is not among the skills given";
    ParentCycle = "parent-cycle", Ours, "mixin parents form a cycle";
    ParentTooDeep = "parent-too-deep", Ours, "the mixin chain has more than 3 levels (skill, parent, grandparent)";
    ConflictInChain = "conflict-in-chain", Ours, "two skills in one resolved chain conflict";
    DuplicateSkill = "duplicate-skill", Ours, "two skills given have the same name";
    // Tool skills.
    ComponentMissing = "component-missing", Ours, "a tool skill has no component file";
    ComponentInvalid = "component-invalid", Ours, "the component does not load";
    WorldMismatch = "world-mismatch", Ours, "the component does not match the boternity:skill world";
    CapabilityUndeclared = "capability-undeclared", Warning, "the component imports a capability the manifest does not declare (every call is denied)";
    CapabilityUnused = "capability-unused", Warning, "the manifest declares a capability the component never imports";
    SchemaMissing = "schema-missing", Ours, "a declared input or output schema file does not exist or cannot be read";
    SchemaInvalid = "schema-invalid", Ours, "a declared input or output schema is not JSON, or not a valid JSON Schema object";
    ComponentNameMismatch = "component-name-mismatch", Ours, "the component's `get-name` differs from the manifest's name";
    // The Markdown body.
    BodyTooLong = "body-too-long", Warning, "SKILL.md is longer than 500 lines";
    LinkBroken = "link-broken", Warning, "a link points at a file that does not exist";
    ReferenceTooDeep = "reference-too-deep", Warning, "a referenced file links on to further files";
    // skill.toml (core-module skills).
    TomlInvalid = "toml-invalid", Ours, "skill.toml is not valid TOML, has a field of the wrong type, or a field it does not define";
    TomlFieldMissing = "toml-field-missing", Ours, "skill.toml lacks a field installs need (`[skill] version`)";
    CoreNameInvalid = "core-name-invalid", Ours, "`[skill] name` is empty or has characters other than letters, digits, hyphens and underscores";
    CoreCapabilityInvalid = "core-capability-invalid", Ours, "a `[capabilities]` domain, path or env name is malformed";
    CoreResourcesInvalid = "core-resources-invalid", Ours, "a `[resources]` value is zero";
    ManifestsDisagree = "manifests-disagree", Ours, "SKILL.md and skill.toml in one folder disagree";
    // Inputs.
    NoSkillFound = "no-skill-found", Error, "a path holds no skill";
}

impl Code {
    pub fn severity(self, mode: Mode) -> Severity {
        match (self.level(), mode) {
            (Level::Error, _)
            | (Level::StrictError, Mode::Strict)
            | (Level::Ours, Mode::Lenient) => Severity::Error,
            (Level::Warning, _)
            | (Level::StrictError, Mode::Lenient)
            | (Level::Ours, Mode::Strict) => Severity::Warning,
        }
    }

    pub fn parse(name: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.as_str() == name)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A 1-based line and column (in characters) in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    pub fn new(line: usize, column: usize) -> Pos {
        Pos { line, column }
    }
}

/// The longest source line a diagnostic carries (JSON output included).
const MAX_SOURCE_LINE: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub file: PathBuf,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub pos: Option<Pos>,
    /// The source line `pos` points into, for rendering a caret under it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_line: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}[{}]: {} ({}",
            self.severity,
            self.code,
            self.message,
            self.file.display()
        )?;
        if let Some(pos) = self.pos {
            write!(f, ":{}:{}", pos.line, pos.column)?;
        }
        f.write_str(")")
    }
}

/// Collects diagnostics for one file, filling in severity and source lines.
#[derive(Debug)]
pub struct Reporter<'a> {
    pub mode: Mode,
    file: PathBuf,
    text: Option<&'a str>,
    pub diagnostics: Vec<Diagnostic>,
}

impl<'a> Reporter<'a> {
    pub fn new(mode: Mode, file: PathBuf) -> Reporter<'a> {
        Reporter {
            mode,
            file,
            text: None,
            diagnostics: Vec::new(),
        }
    }

    /// Lets later diagnostics quote the line they point at.
    pub fn with_text(mut self, text: &'a str) -> Reporter<'a> {
        self.text = Some(text);
        self
    }

    pub fn report(
        &mut self,
        code: Code,
        pos: Option<Pos>,
        message: impl Into<String>,
        help: Option<String>,
    ) {
        // A line too long to carry is read again by whoever shows it.
        let source_line = match (pos, self.text) {
            (Some(pos), Some(text)) => text
                .lines()
                .nth(pos.line.saturating_sub(1))
                .filter(|line| line.len() <= MAX_SOURCE_LINE)
                .map(str::to_string),
            _ => None,
        };
        self.diagnostics.push(Diagnostic {
            code,
            severity: code.severity(self.mode),
            message: message.into(),
            file: self.file.clone(),
            pos,
            source_line,
            help,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_kebab_case_and_parse_back() {
        let mut seen = std::collections::HashSet::new();
        for &code in Code::ALL {
            assert!(seen.insert(code.as_str()), "duplicate {code}");
            assert!(
                code.as_str()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            );
            assert_eq!(Code::parse(code.as_str()), Some(code));
            assert!(!code.summary().is_empty());
        }
    }

    #[test]
    fn strict_only_errors_are_warnings_when_lenient() {
        assert_eq!(
            Code::NameDirMismatch.severity(Mode::Strict),
            Severity::Error
        );
        assert_eq!(
            Code::NameDirMismatch.severity(Mode::Lenient),
            Severity::Warning
        );
        assert_eq!(
            Code::DescriptionMissing.severity(Mode::Lenient),
            Severity::Error
        );
        assert_eq!(Code::BodyTooLong.severity(Mode::Strict), Severity::Warning);
    }
}
