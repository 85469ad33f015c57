//! `cargo skill install SOURCE`: verified, approved, atomic installs into
//! the home folder, recorded in `skills.lock`.

use anyhow::Result;
use clap::Args;
use skill_runtime::TrustTier;

use crate::exit;
use crate::install::agents::{self, Agent};
use crate::install::compile::Compiler;
use crate::install::source;
use crate::install::{InstallOptions, install};
use crate::output::GlobalArgs;
use crate::setup;

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// owner/repo[@skill], a git URL (with #ref), a GitHub tree URL, or a local folder
    pub source: String,

    /// Install only this skill (repeatable)
    #[arg(long = "skill", value_name = "NAME")]
    pub skills: Vec<String>,

    /// Only a version matching this requirement, e.g. `^1.2`
    #[arg(long, value_name = "REQ")]
    pub version: Option<semver::VersionReq>,

    /// Approve the skills' capabilities without asking
    #[arg(short, long)]
    pub yes: bool,

    /// Run the skills under this tier [default: verified when signed by a trusted key, else untrusted]
    #[arg(long, value_name = "TIER")]
    pub trust_tier: Option<TrustTier>,

    /// Refuse skills that are unsigned or signed by a key not in trusted-keys
    #[arg(long)]
    pub require_signature: bool,

    /// Approve only this of the declared capabilities, e.g. `http-get` or `read-env:TZ` (repeatable; no prompt)
    #[arg(long = "grant", value_name = "CAP")]
    pub grants: Vec<String>,

    /// Install exactly what skills.lock records for this source (commit, version, content), or fail
    #[arg(long)]
    pub locked: bool,

    /// Use the cached clone of the source as it is; no network
    #[arg(long)]
    pub offline: bool,

    /// Also place the skills where these agents look in the current project
    /// (`.agents/skills/<name>`, linked from e.g. `.claude/skills/<name>`) and
    /// record them in `skills-lock.json`
    #[arg(long, value_name = "AGENT,...", value_delimiter = ',', value_parser = agents::parse)]
    pub agents: Vec<Agent>,

    /// Accept the findings of these scan rules (docs/scan.md): `RULE` for
    /// every skill installed now, `SKILL:RULE` for one; recorded in their
    /// install metadata and skills.lock
    #[arg(long, value_name = "[SKILL:]RULE,...", value_delimiter = ',')]
    pub allow: Vec<String>,

    /// Replace skills of the same name installed from another source
    #[arg(long)]
    pub replace: bool,
}

pub fn exec(args: InstallArgs, global: &GlobalArgs) -> Result<u8> {
    let home = setup::home()?;
    let spec = source::parse(&args.source)?;
    let project = std::env::current_dir()?;
    let compiler = Compiler::child_of_current_exe()?;
    let options = InstallOptions {
        skills: &args.skills,
        version: args.version.as_ref(),
        yes: args.yes,
        grants: &args.grants,
        trust_tier: args.trust_tier,
        require_signature: args.require_signature,
        locked: args.locked,
        offline: args.offline,
        agents: &args.agents,
        project: &project,
        compiler: &compiler,
        quiet: global.quiet,
        allow: &args.allow,
        replace: args.replace,
    };
    let _lock = setup::lock_for_writing(&home)?;
    let report = install(&home, &spec, &options)?;
    for meta in &report.installed {
        eprintln!(
            "   Installed {} {} ({:?}, {} tier) into {}",
            meta.name,
            meta.version_label(),
            meta.verification,
            meta.trust_tier,
            home.skill_dir(&meta.name)?.display()
        );
    }
    if report.refused.is_empty() {
        return Ok(exit::SUCCESS);
    }
    for refused in &report.refused {
        eprint!("{}", refused.render());
    }
    let n = report.installed.len();
    eprint!(
        "error: installed {n} skill{}; refused {}:\n{}",
        if n == 1 { "" } else { "s" },
        report.refused.len(),
        crate::install::refusal::listing(&report.refused)
    );
    // Nothing installed is a refusal before anything changed.
    Ok(if n == 0 { exit::USAGE } else { exit::FAILURE })
}
