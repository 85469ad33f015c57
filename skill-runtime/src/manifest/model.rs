//! The manifest model: one skill as agents and bots see it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use super::diagnostic::{Diagnostic, Pos};
use super::extensions::{Extensions, SkillType};

/// Manifest file names, in the order they are looked for.
pub const MANIFEST_NAMES: [&str; 3] = ["SKILL.md", "skill.md", "skill.toml"];
/// The component a tool skill ships when `metadata.wasm` does not say otherwise.
pub const DEFAULT_WASM: &str = "skill.wasm";

/// One skill's manifest as agents and bots see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkillManifest {
    /// The `SKILL.md` file.
    pub path: PathBuf,
    /// The skill folder.
    pub dir: PathBuf,
    pub name: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compatibility: Option<String>,
    #[serde(rename = "allowed-tools", skip_serializing_if = "Option::is_none")]
    pub allowed_tools: Option<String>,
    pub metadata: BTreeMap<String, String>,
    #[serde(rename = "extensions")]
    pub ext: Extensions,
    #[serde(skip)]
    pub body: String,
    /// Where each field's value stands: `name`, `metadata.capabilities`, ...
    #[serde(skip)]
    pub positions: BTreeMap<String, Pos>,
}

impl SkillManifest {
    /// The component file, whether or not it exists yet.
    pub fn wasm_path(&self) -> PathBuf {
        self.dir
            .join(self.ext.wasm.as_deref().unwrap_or(DEFAULT_WASM))
    }

    /// Where a field's value stands in `SKILL.md` (`metadata.parents`), else
    /// where the name does, else the start of the frontmatter.
    pub fn pos(&self, field: &str) -> Pos {
        let found = self
            .positions
            .get(field)
            .or_else(|| self.positions.get("name"));
        found.copied().unwrap_or(Pos::new(2, 1))
    }

    /// Declared, else `tool` when the component exists, else `prompt`.
    pub fn skill_type(&self) -> SkillType {
        self.ext.skill_type.unwrap_or_else(|| {
            if self.wasm_path().is_file() {
                SkillType::Tool
            } else {
                SkillType::Prompt
            }
        })
    }
}

/// The outcome of reading one manifest: the model when the frontmatter
/// could be read at all, and everything found along the way.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub manifest: Option<SkillManifest>,
    pub diagnostics: Vec<Diagnostic>,
}
