//! What an install is asked to do, and the skills of its plan as they are
//! checked, approved and placed.

use std::path::Path;

use semver::Version;
use skill_runtime::store::installed::{self, InstalledMeta, Verification};
use skill_runtime::{TierChoice, TrustTier};

use crate::install::agents::Agent;
use crate::install::compile::Compiler;
use crate::install::content::Content;
use crate::install::files::SkillFiles;
use crate::install::refusal::Refused;
use crate::install::source_catalog::Located;

#[derive(Clone, Copy)]
pub struct InstallOptions<'a> {
    /// Only these skills (by name); empty installs every skill found.
    pub skills: &'a [String],
    pub version: Option<&'a semver::VersionReq>,
    /// Approve the skills' capabilities without asking.
    pub yes: bool,
    /// Approve only these of the declared capabilities (`cap` or `cap:scope`).
    pub grants: &'a [String],
    /// The operator's tier; above what the source earns, it is warned about.
    pub trust_tier: Option<TrustTier>,
    pub require_signature: bool,
    /// Install exactly what `skills.lock` records for this source, or fail.
    pub locked: bool,
    /// Use the cached clone as it is.
    pub offline: bool,
    /// Also place the skills where these agents look, under `project`.
    pub agents: &'a [Agent],
    pub project: &'a Path,
    pub compiler: &'a Compiler,
    pub quiet: bool,
    /// Scan rules whose findings the operator accepts (`--allow`).
    pub allow: &'a [String],
    /// Replace skills installed from another source.
    pub replace: bool,
}

/// What an install did.
#[derive(Debug, Default)]
pub struct InstallReport {
    pub installed: Vec<InstalledMeta>,
    /// Skills of the source that were not installed, with every reason.
    pub refused: Vec<Refused>,
}

/// One skill of the plan, checked and ready to place.
pub struct Pending {
    pub located: Located,
    /// None for an unversioned skill.
    pub version: Option<Version>,
    pub content: Content,
    /// What is copied: its files, links inside the source resolved.
    pub files: SkillFiles,
    pub verification: Verification,
    pub signer: Option<String>,
    pub sums: Option<String>,
    pub tier: TierChoice,
    /// Approved: carried over from the installed version, plus what is approved now.
    pub grants: Vec<String>,
    /// Declared here and not by the installed version: needs approval.
    pub new: Vec<String>,
    pub new_secrets: Vec<String>,
    /// The `--allow`ed scan rules that excused a finding here.
    pub allowed_findings: Vec<String>,
}

impl Pending {
    pub fn version_label(&self) -> String {
        installed::version_label(
            self.version.as_ref().map(ToString::to_string).as_deref(),
            Some(&self.content.digest()),
        )
    }
}
