//! From "run this skill for this bot" to a ready invocation: the one place
//! that decides what a skill may do when it runs. `cargo skill run`, `test`,
//! `bench` and a bot embedding this crate all come through here.
//!
//! ```no_run
//! use skill_runtime::prepare::{prepare, Overrides, SkillRef};
//! use skill_runtime::{Home, Runtime, RuntimeConfig};
//! let home = Home::from_env().unwrap();
//! let runtime = Runtime::new(RuntimeConfig::default());
//! let ready = prepare(&home, runtime.config(), SkillRef::Installed("weather"), Some("night"), &Overrides::default()).unwrap();
//! let report = ready.run(&runtime, r#"{"city":"Oslo"}"#);
//! println!("{}", report.to_json());
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::capabilities::files::FolderId;
use crate::capabilities::grants::{Capability, Grant, Grants, Policy};
use crate::capabilities::memory::FileMemory;
use crate::capabilities::secret_store::SecretStore;
use crate::capabilities::{CapabilityDecl, DeclError};
use crate::discover::{Found, discover};
use crate::limits::sources::{AboveCeiling, LimitInputs, ResolvedLimits};
use crate::limits::tier::{LimitRequest, Limits, TierChoice, TrustTier};
use crate::manifest::skill_name;
use crate::manifest::skill_name::InvalidName;
use crate::manifest::{self, Mode, SkillManifest};
use crate::outcome::{ErrorKind, Failure, Report};
use crate::runtime::{Invocation, LoadedSkill, Runtime, RuntimeConfig};
use crate::store::bots;
use crate::store::bots::BotIdentity;
use crate::store::error::{Repair, StoreError};
use crate::store::home::Home;
use crate::store::installed::{self, InstalledMeta};
use crate::validate::graph::SkillSet;

/// Why a skill could not be prepared to run; nothing ran.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrepareError {
    /// The path names neither a folder nor a file.
    #[error("{} does not exist: pass a skill folder or a .wasm component", .0.display())]
    NotFound(PathBuf),
    /// A folder without `SKILL.md` (or `skill.toml`).
    #[error("{} is not a skill folder: it has no SKILL.md", .0.display())]
    NoManifest(PathBuf),
    /// The folder's manifest does not read, not even leniently.
    #[error("{} cannot be read as a skill manifest", manifest.display())]
    UnreadableManifest { manifest: PathBuf, folder: PathBuf },
    /// A tool skill whose component is not there yet.
    #[error(
        "{} does not exist: this is a prompt skill, or a tool skill that is not built yet",
        wasm.display()
    )]
    NotBuilt { wasm: PathBuf, folder: PathBuf },
    /// A limit the operator asked for is above the tier's ceiling.
    #[error(transparent)]
    AboveCeiling(#[from] AboveCeiling),
    /// The home's installed state or a bot's settings refused the run.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<InvalidName> for PrepareError {
    fn from(e: InvalidName) -> Self {
        PrepareError::Store(e.into())
    }
}

type Result<T, E = PrepareError> = std::result::Result<T, E>;

/// What to run.
#[derive(Debug, Clone, Copy)]
pub enum SkillRef<'a> {
    /// An installed skill, by name: the tier and grants install recorded.
    Installed(&'a str),
    /// A skill folder (its `SKILL.md` and component): an author running
    /// their own skill, granted what it declares, at the untrusted tier.
    Folder(&'a Path),
    /// A bare component: nothing granted, untrusted.
    Component(&'a Path),
}

impl<'a> SkillRef<'a> {
    /// What a command-line argument names: an installed skill when it is
    /// not [written as a path](names_a_path) and a skill of that name is
    /// installed (a same-named folder notwithstanding), else a folder or a
    /// component file.
    pub fn from_arg(home: &Home, arg: &'a Path) -> SkillRef<'a> {
        let installed = arg
            .to_str()
            .filter(|_| !names_a_path(arg))
            .filter(|name| installed::installed_dir(home, name).is_some());
        match installed {
            Some(name) => SkillRef::Installed(name),
            None if arg.is_dir() => SkillRef::Folder(arg),
            None => SkillRef::Component(arg),
        }
    }
}

/// Whether a command-line argument is written as a path: it holds a path
/// separator, is `.` or `..`, or ends in `.wasm` or `.md`. Anything else
/// names an installed skill first.
pub fn names_a_path(arg: &Path) -> bool {
    let text = arg.to_string_lossy();
    text.contains(std::path::MAIN_SEPARATOR)
        || text.contains('/')
        || text == "."
        || text == ".."
        || text.ends_with(".wasm")
        || text.ends_with(".md")
}

/// The operator's choices for one run; each may raise what the skill asks.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub tier: Option<TrustTier>,
    pub limits: LimitRequest,
    pub grant: Vec<Grant>,
    pub deny: Vec<Capability>,
}

/// A skill ready to invoke.
#[derive(Debug)]
pub struct Prepared {
    pub name: String,
    /// `metadata.version`, `unversioned`, or `0.0.0` for a bare component.
    pub version: String,
    pub wasm: PathBuf,
    pub bot: BotIdentity,
    pub tier: TierChoice,
    pub limits: Limits,
    /// Where each limit came from, and what a run that hits one is told.
    pub resolved: ResolvedLimits,
    pub policy: Arc<Policy>,
    /// The manifest, when the skill has one.
    pub manifest: Option<SkillManifest>,
}

impl Prepared {
    /// One invocation of `input` under exactly this preparation.
    pub fn invocation<'a>(&'a self, input: &'a str) -> Invocation<'a> {
        Invocation {
            input,
            skill_name: &self.name,
            skill_version: &self.version,
            bot: &self.bot,
            limits: self.limits,
            policy: self.policy.clone(),
            trace_id: None,
        }
    }

    /// Loads the component for its tier to invoke it (compiled once per
    /// runtime; for a tier that runs in workers, not deserialized here when
    /// the cache has it: see [`Runtime::load_to_invoke`]).
    pub fn load(&self, runtime: &Runtime) -> Result<Arc<LoadedSkill>, String> {
        let wasm = std::fs::read(&self.wasm)
            .map_err(|e| format!("could not read {}: {e}", self.wasm.display()))?;
        runtime
            .load_to_invoke(&wasm, self.tier.tier)
            .map_err(|e| format!("{}: {e}", self.wasm.display()))
    }

    /// Loads the component and invokes it once: see [`Prepared::run_loaded`].
    pub fn run(&self, runtime: &Runtime, input: &str) -> Report {
        self.run_loaded(runtime, self.load(runtime).as_deref(), input)
    }

    /// Invokes `loaded` (what [`Prepared::load`] gave) once with `input`; a
    /// component that did not load is an `invalid-component` report,
    /// recorded like any other invocation.
    pub fn run_loaded(
        &self,
        runtime: &Runtime,
        loaded: Result<&LoadedSkill, &String>,
        input: &str,
    ) -> Report {
        let invocation = self.invocation(input);
        match loaded {
            Ok(skill) => {
                let mut report = runtime.invoke(skill, &invocation);
                if let Err(failure) = &mut report.result {
                    failure.explain(&self.resolved);
                }
                report
            }
            Err(message) => {
                let failure = Failure::new(ErrorKind::InvalidComponent, message.clone());
                let mut report = Report::refused(self.tier.tier, self.limits, failure);
                runtime.record(&mut report, &invocation);
                report
            }
        }
    }
}

/// Decides everything about one run of `skill` for `bot` (else the home's
/// `[bot]`, else `local`): the tier (the source's, lowered by the skill,
/// raised only by the operator), the limits (see [`LimitInputs`]), and the policy (grants after mixins, approved secrets, the
/// bot's data folder and memory, the secret store).
pub fn prepare(
    home: &Home,
    config: &RuntimeConfig,
    skill: SkillRef<'_>,
    bot: Option<&str>,
    overrides: &Overrides,
) -> Result<Prepared> {
    let bot = bots::identity(home, bot)?;
    let source = match skill {
        SkillRef::Installed(name) => installed_source(home, name, &bot.slug)?,
        SkillRef::Folder(path) | SkillRef::Component(path) => path_source(path, true)?,
    };
    let tier = TrustTier::choose(source.earned, source.declared_tier, overrides.tier);
    let resolved = LimitInputs {
        tier: tier.tier,
        default: config.tier_limits[tier.tier.index()],
        ceiling: config.tier_ceilings[tier.tier.index()],
        skill: &source.resources,
        approved: &source.approved,
        bot: &source.bot_limits,
        flags: &overrides.limits,
        installed: source.installed.then_some(source.name.as_str()),
    }
    .resolve()?;
    let mut grants = Grants::from_declared(&source.capabilities);
    grants.grant_all(&overrides.grant);
    for &cap in &overrides.deny {
        grants.revoke(cap);
    }
    let mut secrets: BTreeSet<String> = source.secrets.iter().cloned().collect();
    // An explicit `--grant get-secret:NAME` approves that secret for this run.
    secrets.extend(
        overrides
            .grant
            .iter()
            .filter(|g| g.capability == Capability::GetSecret)
            .filter_map(|g| g.scope.clone()),
    );
    let policy = Policy {
        grants,
        secrets,
        pinned_folders: source.pinned,
        pinned_now: source.pinned_now,
        ..host_policy(home, &bot, &source.name)
    };
    Ok(Prepared {
        name: source.name,
        version: source.version,
        wasm: source.wasm,
        bot,
        tier,
        limits: resolved.limits,
        resolved,
        policy: Arc::new(policy),
        manifest: source.manifest,
    })
}

/// What the host provides a skill run by `bot`: its data folder, the bot's
/// memory file, and the secret store. Grants are added by the caller. A
/// name that is not a valid skill name (a bare `My_Tool.wasm`) gets no data
/// folder, so its file calls are denied rather than landing anywhere.
pub fn host_policy(home: &Home, bot: &BotIdentity, skill: &str) -> Policy {
    Policy {
        data_dir: home.data_dir(&bot.slug, skill).ok(),
        memory: Some(Arc::new(FileMemory::new(home.memory_file(&bot.slug)))),
        secret_store: Some(SecretStore::new(home.secrets_file())),
        ..Policy::default()
    }
}

/// The capability set a skill runs with when nobody approved one: its own
/// declarations and its mixin parents', the parents found beside it (the
/// skills of the folder that holds it). Install approves the same set.
pub fn declared_capabilities(manifest: &SkillManifest) -> Vec<CapabilityDecl> {
    let neighbours: Vec<SkillManifest> = match manifest.dir.parent() {
        Some(parent) if !manifest.ext.parents.is_empty() => discover(parent)
            .into_iter()
            .filter_map(|found| match found {
                Found::Manifest(path) => manifest::parse_file(&path, Mode::Lenient).manifest,
                Found::OutsideTree { .. } => None,
            })
            .filter(|m| m.name != manifest.name)
            .collect(),
        _ => Vec::new(),
    };
    let set = SkillSet::new(std::iter::once(manifest).chain(neighbours.iter()).collect());
    set.resolved_capabilities(manifest).into_iter().collect()
}

/// Where one run's decisions start from.
struct Source {
    name: String,
    version: String,
    wasm: PathBuf,
    manifest: Option<SkillManifest>,
    /// The tier the source earns: install's record, else untrusted.
    earned: TrustTier,
    /// `metadata.trust-tier` of a folder: it only lowers `earned`.
    declared_tier: Option<TrustTier>,
    resources: LimitRequest,
    /// What the operator approved above (or below) the tier's defaults.
    approved: LimitRequest,
    bot_limits: LimitRequest,
    /// Installed (so `grant NAME` can raise its limits), not a folder.
    installed: bool,
    capabilities: Vec<Grant>,
    secrets: Vec<String>,
    /// Installed host folders' identities when approved.
    pinned: BTreeMap<PathBuf, FolderId>,
    /// Those pinned while this run was prepared.
    pinned_now: BTreeSet<PathBuf>,
}

impl Source {
    fn component(path: &Path) -> Source {
        Source {
            name: path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            version: "0.0.0".into(),
            wasm: path.to_path_buf(),
            manifest: None,
            earned: TrustTier::Untrusted,
            declared_tier: None,
            resources: LimitRequest::default(),
            approved: LimitRequest::default(),
            bot_limits: LimitRequest::default(),
            installed: false,
            capabilities: Vec::new(),
            secrets: Vec::new(),
            pinned: BTreeMap::new(),
            pinned_now: BTreeSet::new(),
        }
    }
}

/// An installed skill runs with what was approved at install and as the
/// bot's settings say (enabled, pin, lowered limits).
fn installed_source(home: &Home, name: &str, bot: &str) -> Result<Source> {
    skill_name::check(name)?;
    let mut meta = installed::read_installed(home, name)?;
    let dir = home.skill_dir(name)?;
    let pinned_now = meta.pin_host_folders();
    if !pinned_now.is_empty() {
        meta = pin_on_first_use(home, name).unwrap_or(meta);
    }
    let bot_limits = bots::for_run(home, bot, &meta.name, meta.version.as_deref())?;
    // What it may do is what install approved, not what it declares.
    let mut source = path_source(&dir, false)?;
    source.pinned = meta.pinned();
    source.pinned_now = pinned_now.into_iter().map(PathBuf::from).collect();
    let InstalledMeta {
        version,
        grants,
        secrets,
        trust_tier,
        resources,
        ..
    } = meta;
    source.approved = resources.request();
    source.installed = true;
    let damaged = |message: String| {
        StoreError::malformed(
            dir.join(installed::META_FILE).display().to_string(),
            message,
            Repair::Reinstall,
        )
    };
    source.capabilities = grants
        .iter()
        .map(|g| {
            g.parse()
                .map_err(|e: DeclError| damaged(format!("grant `{g}`: {e}")))
        })
        .collect::<Result<_, _>>()?;
    source.secrets = secrets;
    source.earned = trust_tier
        .parse()
        .map_err(|e| damaged(format!("trust-tier: {e}")))?;
    source.declared_tier = None;
    source.version = version.unwrap_or_else(|| "unversioned".into());
    source.bot_limits = bot_limits;
    Ok(source)
}

/// A granted host folder not pinned yet (approved before folders were
/// pinned, or absent then) is pinned at its first use, if it is a real
/// folder then; the record is kept when the home's write lock is free
/// within a moment, else the pin holds for this run only.
fn pin_on_first_use(home: &Home, name: &str) -> Option<InstalledMeta> {
    let _lock = home
        .lock_for_writing(std::time::Duration::from_millis(500), || {})
        .ok()?;
    // Read again under the lock: a writer may have changed it since.
    let mut meta = installed::read_installed(home, name).ok()?;
    meta.pin_host_folders();
    meta.write(&home.skill_dir(name).ok()?).ok()?;
    Some(meta)
}

/// A skill folder, or a component file; with `declared`, granted what the
/// folder declares after mixins.
fn path_source(path: &Path, declared: bool) -> Result<Source> {
    if !path.is_dir() {
        if path.is_file() {
            return Ok(Source::component(path));
        }
        return Err(PrepareError::NotFound(path.to_path_buf()));
    }
    let Some(manifest_path) = manifest::find_manifest(path) else {
        return Err(PrepareError::NoManifest(path.to_path_buf()));
    };
    // The name and component path come from the manifest when it reads;
    // `validate` is where its problems are reported.
    let parsed = manifest::parse_file(&manifest_path, Mode::Lenient);
    let Some(m) = parsed.manifest.filter(|m| !m.name.is_empty()) else {
        return Err(PrepareError::UnreadableManifest {
            manifest: manifest_path,
            folder: path.to_path_buf(),
        });
    };
    let wasm = m.wasm_path();
    if !wasm.is_file() {
        return Err(PrepareError::NotBuilt {
            wasm,
            folder: path.to_path_buf(),
        });
    }
    Ok(Source {
        name: m.name.clone(),
        version: m
            .ext
            .version
            .as_ref()
            .map_or("0.0.0".into(), ToString::to_string),
        wasm,
        earned: TrustTier::Untrusted,
        declared_tier: m.ext.trust_tier,
        resources: m.ext.resources,
        approved: LimitRequest::default(),
        bot_limits: LimitRequest::default(),
        installed: false,
        capabilities: if declared {
            declared_capabilities(&m)
        } else {
            Vec::new()
        },
        secrets: m.ext.secrets.clone(),
        pinned: BTreeMap::new(),
        pinned_now: BTreeSet::new(),
        manifest: Some(m),
    })
}
