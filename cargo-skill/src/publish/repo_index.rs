//! `skills/index.json` in a published repository: one entry per skill, its
//! latest version, and what verifies it.

use serde::{Deserialize, Serialize};

pub const INDEX_PATH: &str = "skills/index.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    pub name: String,
    pub description: String,
    pub version: String,
    /// sha256 of the skill's `skill.sums`.
    pub sha256: String,
    /// The minisign key id that signed it.
    pub signer: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoIndex {
    pub skills: Vec<IndexEntry>,
}

impl RepoIndex {
    pub fn parse(bytes: &[u8]) -> Result<RepoIndex, String> {
        serde_json::from_slice(bytes).map_err(|e| {
            format!(
                "{INDEX_PATH} is not a cargo-skill index ({e}, line {}): fix it or remove it from the repository",
                e.line()
            )
        })
    }

    /// Adds or replaces the entry for its name; entries stay sorted by name.
    pub fn upsert(&mut self, entry: IndexEntry) {
        self.skills.retain(|e| e.name != entry.name);
        self.skills.push(entry);
        self.skills.sort_by(|a, b| a.name.cmp(&b.name));
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the index serializes") + "\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, version: &str) -> IndexEntry {
        IndexEntry {
            name: name.into(),
            description: "d".into(),
            version: version.into(),
            sha256: "00".into(),
            signer: "K".into(),
        }
    }

    #[test]
    fn upserts_keep_one_sorted_entry_per_name() {
        let mut index = RepoIndex::default();
        index.upsert(entry("b", "1.0.0"));
        index.upsert(entry("a", "1.0.0"));
        index.upsert(entry("b", "1.1.0"));
        let names: Vec<(&str, &str)> = index
            .skills
            .iter()
            .map(|e| (e.name.as_str(), e.version.as_str()))
            .collect();
        assert_eq!(names, [("a", "1.0.0"), ("b", "1.1.0")]);
        assert_eq!(RepoIndex::parse(index.to_json().as_bytes()).unwrap(), index);
        assert!(
            RepoIndex::parse(b"[1,2]")
                .unwrap_err()
                .contains("not a cargo-skill index")
        );
    }
}
