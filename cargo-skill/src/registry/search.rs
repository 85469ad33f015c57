//! Ranked search over cached registry indexes: every word of the query
//! must match the name, the description or the body's keywords (name
//! first, then popularity where a registry counts installs); the same
//! skill listed by several registries (the same content, or the same name
//! from the same source) is one result with all its sources; a skill the
//! scanner rates `high` or worse is marked and ranked last.

use std::collections::HashMap;

use serde::Serialize;

use crate::registry::index::{Listing, RegistryIndex};

/// Where a result can be installed from.
#[derive(Debug, Clone, Serialize)]
pub struct Found<'a> {
    pub registry: &'a str,
    /// What `install` takes.
    pub source: String,
    /// The skill's folder in that source.
    pub path: &'a str,
}

#[derive(Debug, Clone)]
pub struct Hit<'a> {
    pub listing: &'a Listing,
    /// The first is the registry listed first in the configuration.
    pub sources: Vec<Found<'a>>,
    pub score: u32,
    pub flagged: bool,
    /// The highest install count any of its registries gives.
    pub installs: Option<u64>,
}

/// The results for `query` (words, any case), best first, at most `limit`.
pub fn search<'a>(
    indexes: &'a [RegistryIndex],
    query: &str,
    category: Option<&str>,
    limit: usize,
) -> Vec<Hit<'a>> {
    let terms: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
    let mut hits: Vec<Hit<'a>> = Vec::new();
    // Content digest, and `source@name`, → the hit.
    let mut seen: HashMap<String, usize> = HashMap::new();
    for index in indexes {
        for listing in &index.skills {
            if category.is_some_and(|c| listing.category.as_deref() != Some(c)) {
                continue;
            }
            let Some(score) = score(listing, &terms) else {
                continue;
            };
            let source = index.source_of(listing);
            let keys = [
                (!listing.content.is_empty()).then(|| listing.content.clone()),
                Some(format!("{}@{}", source.to_lowercase(), listing.name)),
            ];
            let found = Found {
                registry: &index.registry,
                source,
                path: &listing.path,
            };
            let known = keys.iter().flatten().find_map(|k| seen.get(k).copied());
            let at = match known {
                Some(at) => {
                    let hit = &mut hits[at];
                    hit.sources.push(found);
                    hit.installs = hit.installs.max(listing.installs);
                    // A listing with its files says more than one without.
                    if hit.listing.content.is_empty() && !listing.content.is_empty() {
                        hit.listing = listing;
                        hit.score = hit.score.max(score);
                        hit.flagged = is_flagged(listing);
                    }
                    at
                }
                None => {
                    hits.push(Hit {
                        listing,
                        sources: vec![found],
                        score,
                        flagged: is_flagged(listing),
                        installs: listing.installs,
                    });
                    hits.len() - 1
                }
            };
            for key in keys.into_iter().flatten() {
                seen.entry(key).or_insert(at);
            }
        }
    }
    hits.sort_by(|a, b| {
        a.flagged
            .cmp(&b.flagged)
            .then(b.score.cmp(&a.score))
            .then(b.installs.cmp(&a.installs))
            .then_with(|| a.listing.name.cmp(&b.listing.name))
    });
    hits.truncate(limit);
    hits
}

fn is_flagged(listing: &Listing) -> bool {
    matches!(listing.risk.as_deref(), Some("high" | "critical"))
}

/// The sum over terms; `None` when a term matches nothing.
fn score(listing: &Listing, terms: &[String]) -> Option<u32> {
    let name = listing.name.as_str();
    let description = listing.description.to_lowercase();
    let mut total = 0;
    for term in terms {
        let mut s = 0;
        if name == term {
            s += 100;
        } else if name.split('-').any(|part| part == term) {
            s += 60;
        } else if name.contains(term.as_str()) {
            s += 40;
        }
        if description.contains(term.as_str()) {
            s += 20;
        }
        let mut keywords = listing.keywords.split(' ');
        if keywords.clone().any(|k| k == term) {
            s += 8;
        } else if keywords.any(|k| k.starts_with(term.as_str())) {
            s += 4;
        }
        if s == 0 {
            return None;
        }
        total += s;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::config::Kind;
    use crate::registry::index::Signature;

    fn listing(name: &str, description: &str, keywords: &[&str], content: &str) -> Listing {
        Listing {
            name: name.into(),
            description: description.into(),
            version: None,
            category: None,
            keywords: keywords.join(" "),
            path: format!("skills/{name}"),
            content: content.into(),
            signature: Signature::Unsigned,
            risk: None,
            source: None,
            installs: None,
        }
    }

    fn index(registry: &str, skills: Vec<Listing>) -> RegistryIndex {
        RegistryIndex {
            registry: registry.into(),
            kind: Kind::Git,
            url: format!("file:///{registry}"),
            fetched_at: 0,
            commit: None,
            skills,
        }
    }

    #[test]
    fn names_rank_above_descriptions_above_bodies_and_copies_merge() {
        let mut evil = listing("pdf-helper", "Work with PDF files.", &[], "e");
        evil.risk = Some("high".into());
        let indexes = [
            index(
                "one",
                vec![
                    listing("notes", "Take notes.", &["pdf"], "a"),
                    listing("pdf", "Read PDF files.", &[], "b"),
                    listing("forms", "Fill PDF forms.", &[], "c"),
                    evil,
                ],
            ),
            index("two", vec![listing("pdf", "Read PDF files.", &[], "b")]),
        ];
        let hits = search(&indexes, "PDF", None, 10);
        let names: Vec<&str> = hits.iter().map(|h| h.listing.name.as_str()).collect();
        assert_eq!(names, ["pdf", "forms", "notes", "pdf-helper"]);
        assert_eq!(hits[0].sources.len(), 2);
        assert!(hits[3].flagged);
        assert!(search(&indexes, "pdf zebra", None, 10).is_empty());
        // A directory's listing of the same skill joins it, with popularity.
        let mut listed = listing("pdf", "", &["pdf"], "");
        listed.source = Some("file:///one".into());
        listed.installs = Some(900);
        let mut popular = listing("forms", "", &["pdf"], "");
        popular.source = Some("acme/forms".into());
        popular.installs = Some(5);
        let mut with_directory = indexes.to_vec();
        with_directory.push(index("dir", vec![listed, popular]));
        let hits = search(&with_directory, "pdf", None, 10);
        assert_eq!(hits[0].sources.len(), 3);
        assert_eq!(hits[0].installs, Some(900));
        assert_eq!(hits[0].listing.description, "Read PDF files.");
        assert_eq!(
            hits.len(),
            5,
            "the directory's `forms` is another repository's"
        );
        assert_eq!(search(&indexes, "", None, 2).len(), 2);
    }
}
