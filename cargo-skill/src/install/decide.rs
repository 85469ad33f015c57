//! The decisions `install` takes for each skill of a plan on its own: a
//! change of source, the scan gate, the component's verdict, and what
//! needs a refused skill. Each refuses only that skill, with its reasons.

use std::collections::BTreeSet;
use std::path::Path;

use skill_runtime::manifest::SkillManifest;
use skill_runtime::store::installed::InstalledMeta;
use skill_runtime::{Home, TrustTier};

use crate::install::plan::{InstallOptions, Pending};
use crate::install::refusal::{Reason, Refused};
use crate::install::source_catalog::Located;

/// A tool skill's component, compiled in the limited child (for its tier,
/// and for the untrusted engine `validate` checks it with, so nothing is
/// compiled in this process), then given `validate`'s verdict: the same
/// codes, and an error refuses it here as it fails `validate`.
pub fn component(
    home: &Home,
    pending: &Pending,
    options: &InstallOptions<'_>,
    runtime: &mut Option<skill_runtime::Runtime>,
) -> std::result::Result<(), Refused> {
    use skill_runtime::manifest::{Mode, Severity, SkillType};
    let manifest = &pending.located.manifest;
    if manifest.skill_type() != SkillType::Tool {
        return Ok(());
    }
    let wasm = manifest.wasm_path();
    if wasm.is_file() {
        let mut tiers = vec![pending.tier.tier, TrustTier::Untrusted];
        tiers.dedup();
        for tier in tiers {
            options.compiler.compile(home, &wasm, tier).map_err(|e| {
                let why = format!("{}: the component does not compile: {e:#}", manifest.name);
                Refused::of(manifest, Reason::Files(why))
            })?;
        }
    }
    if runtime.is_none() {
        // `get-name` is guest code: it runs in a sandbox worker.
        let config = crate::setup::runtime_config(false).map_err(|e| {
            Refused::of(
                manifest,
                Reason::Files(format!("no runtime to check it with: {e:#}")),
            )
        })?;
        *runtime = Some(skill_runtime::Runtime::new(skill_runtime::RuntimeConfig {
            cache_dir: Some(home.compiled_cache_dir()),
            ..config
        }));
    }
    let runtime = runtime.as_ref().expect("set just above");
    let errors: Vec<Reason> =
        skill_runtime::validate::component::check(manifest, runtime, Mode::Lenient)
            .into_iter()
            // An undeclared capability is a warning: denied at every call.
            .filter(|d| d.severity == Severity::Error)
            .map(Reason::Manifest)
            .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Refused::with(manifest, errors))
    }
}

/// A skill installed from one source is replaced from another only with
/// `--replace` or a yes on the terminal: a silent swap is how a supply
/// chain attack looks.
pub fn same_source(
    located: &Located,
    previous: &InstalledMeta,
    source: &str,
    options: &InstallOptions<'_>,
) -> std::result::Result<(), Refused> {
    if previous.source == source || options.replace {
        return Ok(());
    }
    let manifest = &located.manifest;
    let question = format!(
        "  {} {} is installed from {}; replace it with {} from {source}? [y/N] ",
        manifest.name,
        previous.version_label(),
        previous.source,
        manifest
            .ext
            .version
            .as_ref()
            .map_or("unversioned".to_string(), |v| format!("v{v}")),
    );
    if crate::tty::interactive() && crate::tty::confirm(&question) {
        return Ok(());
    }
    Err(Refused::of(
        manifest,
        Reason::Replaces {
            source: previous.source.clone(),
            version: previous.version_label(),
        },
    ))
}

/// The scan gate for one skill of the plan: the rules the operator's
/// `--allow` (or the installed version's) excused, or the skill refused
/// with its findings. On a terminal the operator may accept it.
pub fn gated(
    located: &Located,
    shown: &Path,
    previous: Option<&InstalledMeta>,
    options: &InstallOptions<'_>,
) -> std::result::Result<Vec<String>, Refused> {
    let manifest = &located.manifest;
    // An update keeps what the operator allowed for the installed version.
    let mut allow = crate::scanning::gate::allowed_for(&manifest.name, options.allow);
    allow.extend(previous.iter().flat_map(|p| p.allowed_findings.clone()));
    let verdict =
        crate::scanning::gate::judge(&manifest.dir, Some(&located.boundary), shown, &allow);
    if verdict.blocking.is_empty() {
        return Ok(verdict.excused);
    }
    let refused = Refused::of(
        manifest,
        Reason::Scan {
            findings: verdict.blocking,
            rules: verdict.rules.clone(),
        },
    );
    if crate::tty::interactive() {
        eprint!("{}", refused.render());
        let question = format!(
            "  {} was flagged by the scan ({}); install it anyway? [y/N] ",
            manifest.name,
            verdict.rules.join(", ")
        );
        if crate::tty::confirm(&question) {
            let mut excused = verdict.excused;
            excused.extend(verdict.rules);
            excused.sort();
            return Ok(excused);
        }
    }
    Err(refused)
}

/// Skills of the plan that need a refused one (as a mixin parent or a
/// dependency) are refused too, until none is left that does.
pub fn set_aside_dependents(plan: &mut Vec<Pending>, refused: &mut Vec<Refused>) {
    loop {
        let gone: BTreeSet<String> = refused.iter().filter_map(|r| r.name.clone()).collect();
        let needs = |m: &SkillManifest| {
            m.ext
                .parents
                .iter()
                .chain(m.ext.dependencies.iter().map(|d| &d.name))
                .find(|n| gone.contains(*n))
                .cloned()
        };
        let Some(at) = plan
            .iter()
            .position(|p| needs(&p.located.manifest).is_some())
        else {
            return;
        };
        let removed = plan.remove(at);
        let manifest = &removed.located.manifest;
        refused.push(Refused::of(
            manifest,
            Reason::Needs(needs(manifest).expect("found just above")),
        ));
    }
}
