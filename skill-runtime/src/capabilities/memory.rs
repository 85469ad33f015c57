//! `recall-memory`: read-only access to what the bot remembers, through a
//! provider the embedding bot implements. The CLI uses [`FileMemory`].

use std::fmt::Debug;
use std::path::PathBuf;

/// Upper bound on `limit`, whatever the guest asks for.
pub const MAX_RECALL: u32 = 100;

pub trait MemoryProvider: Debug + Send + Sync {
    /// Up to `limit` memories relevant to `query`, best first. An `Err` is
    /// returned to the guest as an empty list and logged.
    fn recall(
        &self,
        bot: &str,
        skill: &str,
        query: &str,
        limit: u32,
    ) -> Result<Vec<String>, String>;
}

/// Memories kept as a JSON array of strings in a file (by default
/// `bots/<bot>/memory.json`); ranked by how many query words they contain.
#[derive(Debug, Clone)]
pub struct FileMemory {
    path: PathBuf,
}

impl FileMemory {
    pub fn new(path: impl Into<PathBuf>) -> FileMemory {
        FileMemory { path: path.into() }
    }
}

impl MemoryProvider for FileMemory {
    fn recall(
        &self,
        _bot: &str,
        _skill: &str,
        query: &str,
        limit: u32,
    ) -> Result<Vec<String>, String> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(format!("{}: {e}", self.path.display())),
        };
        let memories: Vec<String> = serde_json::from_str(&text).map_err(|e| {
            format!(
                "{} is not a JSON array of strings: {e}",
                self.path.display()
            )
        })?;
        Ok(rank(memories, query, limit))
    }
}

/// Memories held in memory (test fixtures, or a bot that loads its own).
#[derive(Debug, Clone)]
pub struct StaticMemory(pub Vec<String>);

impl MemoryProvider for StaticMemory {
    fn recall(
        &self,
        _bot: &str,
        _skill: &str,
        query: &str,
        limit: u32,
    ) -> Result<Vec<String>, String> {
        Ok(rank(self.0.clone(), query, limit))
    }
}

/// The memories containing the most query words (case-insensitive), best
/// first; ties keep their order. An empty query matches everything.
pub fn rank(memories: Vec<String>, query: &str, limit: u32) -> Vec<String> {
    let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
    let mut scored: Vec<(usize, usize, String)> = memories
        .into_iter()
        .enumerate()
        .filter_map(|(i, memory)| {
            let lower = memory.to_lowercase();
            let score = words.iter().filter(|w| lower.contains(w.as_str())).count();
            (score > 0 || words.is_empty()).then_some((score, i, memory))
        })
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    scored
        .into_iter()
        .take(limit.min(MAX_RECALL) as usize)
        .map(|(_, _, memory)| memory)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_by_matching_words_and_caps_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("memory.json");
        let memory = FileMemory::new(&path);
        assert!(memory.recall("b", "s", "tea", 5).unwrap().is_empty());
        std::fs::write(
            &path,
            r#"["likes green tea", "lives in Lyon", "tea at 5 in Lyon", "owns a cat"]"#,
        )
        .unwrap();
        assert_eq!(
            memory.recall("b", "s", "Lyon tea", 2).unwrap(),
            ["tea at 5 in Lyon", "likes green tea"]
        );
        assert_eq!(memory.recall("b", "s", "", 1000).unwrap().len(), 4);
        std::fs::write(&path, "{}").unwrap();
        assert!(
            memory
                .recall("b", "s", "x", 1)
                .unwrap_err()
                .contains("JSON array")
        );
    }
}
