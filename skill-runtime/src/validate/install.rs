//! What refuses an install. The installer reads manifests with the same
//! validator as `validate`; the problems here stop a skill whatever the
//! mode, because the installer would otherwise turn them into paths, grants
//! or relations it cannot honour.

use crate::manifest::{Code, Diagnostic};

/// Codes that refuse a skill at install, update, `--agents` and publish.
pub const BLOCKING: &[Code] = &[
    // The manifest could not be read as one.
    Code::FileUnreadable,
    Code::FileTooLarge,
    Code::FileNotUtf8,
    Code::ManifestOutsideTree,
    Code::FrontmatterMissing,
    Code::FrontmatterUnclosed,
    Code::FrontmatterTooLarge,
    Code::FrontmatterNotMapping,
    Code::YamlInvalid,
    // Two tools could read two different names or versions.
    Code::YamlDuplicateKey,
    // The name becomes a folder.
    Code::NameMissing,
    Code::NameEmpty,
    Code::NameTooLong,
    Code::NameNotLowercase,
    Code::NameInvalidChars,
    Code::NameHyphens,
    Code::NameDirMismatch,
    Code::DescriptionMissing,
    Code::DescriptionEmpty,
    // What the skill may do and what it relates to.
    Code::SkillTypeInvalid,
    Code::CapabilityUnknown,
    Code::CapabilityScopeInvalid,
    Code::SecretInvalid,
    Code::DependencyInvalid,
    Code::ConflictInvalid,
    Code::ParentInvalid,
    Code::TrustTierInvalid,
    Code::ResourcesInvalid,
    Code::WasmPathInvalid,
    // `mcp` and `test` check values against them.
    Code::SchemaPathInvalid,
    Code::SchemaMissing,
    Code::SchemaInvalid,
    Code::TomlInvalid,
    Code::CoreNameInvalid,
    Code::CoreCapabilityInvalid,
    Code::CoreResourcesInvalid,
    Code::ManifestsDisagree,
];

/// The relation codes install re-checks across installed skills and the plan.
pub const RELATIONS: &[Code] = &[
    Code::ParentMissing,
    Code::ParentCycle,
    Code::ParentTooDeep,
    Code::ConflictInChain,
    Code::DuplicateSkill,
];

/// The diagnostics among `diagnostics` that refuse an install.
pub fn blocking(diagnostics: &[Diagnostic]) -> Vec<&Diagnostic> {
    diagnostics
        .iter()
        .filter(|d| BLOCKING.contains(&d.code))
        .collect()
}
