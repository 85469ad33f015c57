//! Where skills are found before they are installed: the registries the
//! home lists in `config.toml` ([`config`]), each one's index cached under
//! `cache/registries/` ([`index`]; built from a git repository or a web
//! site's well-known skills by [`build`], gathered from a skills
//! directory's answers by [`skills_sh`]), their [`category`], ranked search
//! over them ([`search`]), and the full detail of one skill of a source
//! ([`preview`]).

pub mod build;
pub mod category;
pub mod config;
pub mod index;
pub mod preview;
pub mod search;
pub mod skills_sh;

use std::time::Duration;

use anyhow::{Result, bail};
use skill_runtime::Home;

use crate::registry::config::{Kind, Registry};
use crate::registry::index::{RegistryIndex, describe_age};
use crate::signing::keys;

/// A cached index younger than this is used without fetching.
pub const FRESH_FOR: Duration = Duration::from_secs(3600);

/// When to fetch a registry rather than read its cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// The cache when it is fresh, else fetch.
    Fresh,
    /// Fetch whatever the cache holds.
    Refresh,
    /// The cache only; nothing over the network.
    Offline,
}

impl Freshness {
    /// From `--offline` and `--refresh`.
    pub fn from_flags(offline: bool, refresh: bool) -> Freshness {
        match (offline, refresh) {
            (true, _) => Freshness::Offline,
            (false, true) => Freshness::Refresh,
            (false, false) => Freshness::Fresh,
        }
    }
}

/// What to say of a registry name that is not in `registries`.
pub fn not_listed(name: &str, registries: &[Registry]) -> String {
    let known: Vec<&str> = registries.iter().map(|r| r.name.as_str()).collect();
    let known = if known.is_empty() {
        "none".to_string()
    } else {
        known.join(", ")
    };
    format!("no registry named `{name}` (listed: {known})")
}

/// The registries `names` picks (all of them when none), refusing a name
/// not listed and an empty result.
pub fn select(mut registries: Vec<Registry>, names: &[String]) -> Result<Vec<Registry>> {
    for name in names {
        if !registries.iter().any(|r| &r.name == name) {
            bail!(
                "{}; `cargo skill registry add {name} URL` adds one",
                not_listed(name, &registries)
            );
        }
    }
    if !names.is_empty() {
        registries.retain(|r| names.contains(&r.name));
    }
    if registries.is_empty() {
        bail!("no registries are listed: `cargo skill registry add NAME URL` adds one");
    }
    Ok(registries)
}

/// The indexes of `registries`, fetched or cached as `freshness` says (a
/// skills directory is asked `query` each time, unless offline). A
/// registry that cannot be fetched falls back to its cache; each warning
/// says which, why, and how old the cache is. `on_fetch` runs before
/// each fetch with the registry's place in `registries` (for progress).
pub fn indexes(
    home: &Home,
    registries: &[Registry],
    query: &str,
    freshness: Freshness,
    quiet: bool,
    mut on_fetch: impl FnMut(usize, &Registry),
) -> Result<(Vec<RegistryIndex>, Vec<String>)> {
    let trusted = keys::load_trusted(&home.trusted_keys_file())?;
    let mut found = Vec::new();
    let mut warnings = Vec::new();
    for (place, registry) in registries.iter().enumerate() {
        let cached = match index::read_cached(home, registry) {
            Ok(cached) => cached,
            Err(e) => {
                warnings.push(format!("{e:#}"));
                None
            }
        };
        let offline = freshness == Freshness::Offline;
        let fresh = cached.as_ref().is_some_and(|c| c.age() < FRESH_FOR);
        let fetch = match (registry.kind, freshness) {
            (Kind::Git, Freshness::Offline) => cached.is_none(),
            (_, Freshness::Offline) => false,
            (Kind::SkillsSh, _) => !query.trim().is_empty(),
            (_, Freshness::Refresh) => true,
            (_, Freshness::Fresh) => !fresh,
        };
        if !fetch {
            match cached {
                Some(c) => found.push(c),
                None if registry.kind == Kind::SkillsSh && !offline => {}
                None => warnings.push(format!(
                    "registry `{}` ({}) was never fetched, so --offline has nothing of it",
                    registry.name, registry.url
                )),
            }
            continue;
        }
        if !offline {
            on_fetch(place, registry);
        }
        // Offline, a git index can still be built from the cached clone.
        let built = match registry.kind {
            Kind::SkillsSh => skills_sh::search(registry, query)
                .map(|listed| skills_sh::merge(registry, cached.clone(), listed)),
            Kind::Git | Kind::WellKnown => build::build(home, registry, &trusted, offline, quiet),
        }
        .and_then(|built| index::write_cached(home, &built).map(|()| built));
        match (built, cached) {
            (Ok(built), _) => found.push(built),
            (Err(e), Some(c)) => {
                warnings.push(format!(
                    "could not refresh registry `{}` ({}): {e:#}; using its index from {} ago",
                    registry.name,
                    registry.url,
                    describe_age(c.age())
                ));
                found.push(c);
            }
            (Err(e), None) => warnings.push(format!(
                "could not read registry `{}` ({}): {e:#}; its skills are not searched",
                registry.name, registry.url
            )),
        }
    }
    Ok((found, warnings))
}
