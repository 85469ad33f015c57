//! A skills directory (skills.sh and its API, as `npx skills find` asks
//! it): `GET /api/search?q=QUERY&limit=N` answers
//! `{"skills": [{"id", "name", "source": "owner/repo", "installs"}]}`.
//! It serves no files, so its listings carry no content, signature or scan
//! until `preview` or `install` fetches the repository. Every answer is
//! kept in the cached index (newest first, bounded), with the words that
//! found it, so the same search works offline.

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::registry::category;
use crate::registry::config::Registry;
use crate::registry::index::{Listing, RegistryIndex, Signature};
use crate::web;

/// Results asked for per search.
const LIMIT: usize = 50;
const MAX_RESPONSE_BYTES: u64 = 4 << 20;
/// Listings the cache keeps across searches.
const MAX_KEPT: usize = 5_000;

#[derive(Deserialize)]
struct Response {
    skills: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    name: String,
    source: Option<String>,
    installs: Option<u64>,
}

/// The directory's answer to `query`, checked: an entry whose name or
/// repository could not be installed is left out.
pub fn search(registry: &Registry, query: &str) -> Result<Vec<Listing>> {
    let mut url = web::check_url(&registry.url)?;
    let base = url.path().trim_end_matches('/').to_string();
    url.set_path(&format!("{base}/api/search"));
    url.query_pairs_mut()
        .clear()
        .append_pair("q", query)
        .append_pair("limit", &LIMIT.to_string());
    let body = web::get(url.as_str(), MAX_RESPONSE_BYTES)?.with_context(|| {
        format!(
            "{url} answered 404: is {} a skills directory?",
            registry.url
        )
    })?;
    let response: Response = serde_json::from_slice(&body).map_err(|e| {
        anyhow::anyhow!(
            "{url} did not answer with a skills list ({e}): is {} a skills directory?",
            registry.url
        )
    })?;
    let terms: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
    Ok(response
        .skills
        .into_iter()
        .filter_map(|entry| {
            let source = entry.source.filter(|s| is_repository(s))?;
            skill_runtime::manifest::skill_name::check(&entry.name).ok()?;
            let keywords = terms.join(" ");
            Some(Listing {
                category: category::assign(None, &entry.name, "", &keywords),
                keywords,
                description: String::new(),
                version: None,
                path: String::new(),
                content: String::new(),
                signature: Signature::NotChecked,
                risk: None,
                installs: entry.installs,
                source: Some(source),
                name: entry.name,
            })
        })
        .collect())
}

/// `owner/repo` on GitHub, each part of the characters GitHub allows.
fn is_repository(text: &str) -> bool {
    let part = |p: &str| {
        !p.is_empty()
            && p.len() <= 100
            && !p.starts_with(['.', '-'])
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    };
    matches!(text.split_once('/'), Some((owner, repo)) if part(owner) && part(repo))
}

/// The cache after a search: the new listings first, each older one kept
/// unless it was found again (then its words join the new one's).
pub fn merge(
    registry: &Registry,
    cached: Option<RegistryIndex>,
    mut found: Vec<Listing>,
) -> RegistryIndex {
    let old = cached.map(|c| c.skills).unwrap_or_default();
    let new = found.len();
    for listing in old {
        let again = found[..new]
            .iter()
            .position(|f| f.name == listing.name && f.source == listing.source);
        match again {
            Some(at) => {
                let again = &mut found[at];
                for word in listing.keywords.split(' ').filter(|w| !w.is_empty()) {
                    if !again.keywords.split(' ').any(|k| k == word) {
                        again.keywords.push(' ');
                        again.keywords.push_str(word);
                    }
                }
            }
            None if found.len() < MAX_KEPT => found.push(listing),
            None => {}
        }
    }
    RegistryIndex::new(registry, None, found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_are_plain_owner_slash_name() {
        assert!(is_repository("anthropics/skills"));
        assert!(is_repository("vercel-labs/agent-skills"));
        for bad in [
            "",
            "a",
            "a/b/c",
            "../x",
            "a/-x",
            "a/b c",
            "https://x/y",
            "a/.git",
        ] {
            assert!(!is_repository(bad), "{bad}");
        }
    }
}
