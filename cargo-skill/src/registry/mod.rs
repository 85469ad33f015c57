//! Where skills are found before they are installed: the registries the
//! home lists in `config.toml` ([`config`]), each one's index cached under
//! `cache/registries/` ([`index`], built from a git repository by
//! [`git`]), ranked search over them ([`search`]), and the full detail of
//! one skill of a source ([`preview`]).

pub mod config;
pub mod git;
pub mod index;
pub mod preview;
pub mod search;

use std::time::Duration;

use anyhow::Result;
use skill_runtime::Home;

use crate::registry::config::Registry;
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

/// The indexes of `registries`, fetched or cached as `freshness` says. A
/// registry that cannot be fetched falls back to its cache; each warning
/// says which, why, and how old the cache is. `on_fetch` runs before
/// each fetch (for progress).
pub fn indexes(
    home: &Home,
    registries: &[Registry],
    freshness: Freshness,
    quiet: bool,
    mut on_fetch: impl FnMut(&Registry),
) -> Result<(Vec<RegistryIndex>, Vec<String>)> {
    let trusted = keys::load_trusted(&home.trusted_keys_file())?;
    let mut found = Vec::new();
    let mut warnings = Vec::new();
    for registry in registries {
        let cached = match index::read_cached(home, registry) {
            Ok(cached) => cached,
            Err(e) => {
                warnings.push(format!("{e:#}"));
                None
            }
        };
        let fresh = cached.as_ref().is_some_and(|c| c.age() < FRESH_FOR);
        let fetch = match freshness {
            Freshness::Offline => false,
            Freshness::Refresh => true,
            Freshness::Fresh => !fresh,
        };
        if !fetch && let Some(c) = cached {
            found.push(c);
            continue;
        }
        let offline = freshness == Freshness::Offline;
        if !offline {
            on_fetch(registry);
        }
        // Offline, an index can still be built from the cached clone.
        let built = git::build(home, registry, &trusted, offline, quiet)
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
