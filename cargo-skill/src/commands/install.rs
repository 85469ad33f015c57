//! `cargo skill install SOURCE`: verified, approved, atomic installs into
//! the home folder, recorded in `skills.lock`.

use anyhow::Result;
use clap::Args;
use skill_runtime::TrustTier;

use crate::exit;
use crate::fetch_source;
use crate::home;
use crate::install::{InstallOptions, install};
use crate::output::GlobalArgs;

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

    /// Install exactly what skills.lock records for this source (commit, version, content), or fail
    #[arg(long)]
    pub locked: bool,
}

pub fn exec(args: InstallArgs, global: &GlobalArgs) -> Result<u8> {
    let home = home::home()?;
    let spec = fetch_source::parse(&args.source);
    let options = InstallOptions {
        skills: &args.skills,
        version: args.version,
        yes: args.yes,
        trust_tier: args.trust_tier,
        require_signature: args.require_signature,
        locked: args.locked,
        quiet: global.quiet,
    };
    let runtime = home::runtime();
    for meta in install(&home, &spec, &options, &runtime)? {
        eprintln!(
            "   Installed {} v{} ({:?}, {} tier) into {}",
            meta.name,
            meta.version,
            meta.verification,
            meta.trust_tier,
            home.skill_dir(&meta.name).display()
        );
    }
    Ok(exit::SUCCESS)
}
