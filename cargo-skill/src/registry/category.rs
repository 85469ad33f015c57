//! The categories `search --category` filters on (listed in
//! docs/registries.md): a skill's `metadata.category` when it names one of
//! them (or one of their words), otherwise the category whose words its
//! name, description and body keywords use most.

/// Each category and the words that place a skill in it.
pub const CATEGORIES: &[(&str, &[&str])] = &[
    (
        "documents",
        &[
            "pdf",
            "docx",
            "xlsx",
            "pptx",
            "document",
            "documents",
            "spreadsheet",
            "spreadsheets",
            "excel",
            "word",
            "powerpoint",
            "slides",
            "presentation",
            "presentations",
            "markdown",
        ],
    ),
    (
        "development",
        &[
            "code",
            "coding",
            "programming",
            "developer",
            "api",
            "git",
            "github",
            "refactor",
            "debug",
            "debugging",
            "typescript",
            "python",
            "rust",
            "javascript",
            "react",
            "frontend",
            "backend",
            "sdk",
            "mcp",
            "cli",
            "repository",
            "webapp",
            "development",
        ],
    ),
    (
        "testing",
        &[
            "test",
            "tests",
            "testing",
            "playwright",
            "qa",
            "e2e",
            "coverage",
            "tdd",
        ],
    ),
    (
        "devops",
        &[
            "deploy",
            "deployment",
            "docker",
            "kubernetes",
            "ci",
            "infrastructure",
            "terraform",
            "aws",
            "cloud",
            "monitoring",
            "devops",
            "server",
            "servers",
        ],
    ),
    (
        "data",
        &[
            "data",
            "csv",
            "sql",
            "database",
            "databases",
            "analytics",
            "analysis",
            "chart",
            "charts",
            "visualization",
            "dataset",
            "datasets",
            "statistics",
        ],
    ),
    (
        "design",
        &[
            "design",
            "ui",
            "ux",
            "figma",
            "css",
            "brand",
            "branding",
            "theme",
            "themes",
            "color",
            "colors",
            "art",
            "canvas",
            "svg",
            "typography",
            "layout",
        ],
    ),
    (
        "media",
        &[
            "video",
            "videos",
            "audio",
            "music",
            "gif",
            "gifs",
            "animation",
            "podcast",
            "youtube",
            "image",
            "images",
            "photo",
            "photos",
        ],
    ),
    (
        "writing",
        &[
            "writing",
            "write",
            "blog",
            "copywriting",
            "article",
            "articles",
            "editing",
            "email",
            "newsletter",
            "content",
            "documentation",
            "docs",
        ],
    ),
    (
        "business",
        &[
            "sales",
            "marketing",
            "seo",
            "crm",
            "finance",
            "financial",
            "invoice",
            "invoices",
            "customer",
            "customers",
            "business",
            "ads",
            "lead",
            "leads",
            "accounting",
        ],
    ),
    (
        "productivity",
        &[
            "productivity",
            "notes",
            "calendar",
            "task",
            "tasks",
            "slack",
            "notion",
            "meeting",
            "meetings",
            "organize",
            "workflow",
            "workflows",
            "todo",
            "communication",
        ],
    ),
    (
        "research",
        &[
            "research",
            "paper",
            "papers",
            "scientific",
            "science",
            "literature",
            "citations",
            "academic",
            "sources",
        ],
    ),
    (
        "security",
        &[
            "security",
            "vulnerability",
            "vulnerabilities",
            "pentest",
            "malware",
            "threat",
            "threats",
            "compliance",
            "cve",
            "exploit",
        ],
    ),
    (
        "ai",
        &[
            "llm",
            "llms",
            "prompt",
            "prompts",
            "agent",
            "agents",
            "claude",
            "openai",
            "model",
            "models",
            "embedding",
            "embeddings",
            "rag",
        ],
    ),
];

/// Whether `name` is one of [`CATEGORIES`].
pub fn is_known(name: &str) -> bool {
    CATEGORIES.iter().any(|(c, _)| *c == name)
}

/// The names of every category, for messages.
pub fn names() -> Vec<&'static str> {
    CATEGORIES.iter().map(|(c, _)| *c).collect()
}

/// The category of a skill; `None` when nothing it says points to one.
/// `keywords` are the body's words, most frequent first, one space apart.
pub fn assign(
    declared: Option<&str>,
    name: &str,
    description: &str,
    keywords: &str,
) -> Option<String> {
    if let Some(declared) = declared {
        let declared = declared.to_lowercase();
        if is_known(declared.trim()) {
            return Some(declared.trim().to_string());
        }
        if let Some(best) = best(&[(&declared, 2)]) {
            return Some(best.to_string());
        }
    }
    // The name weighs most, then the description, then the body.
    let name = name.replace('-', " ");
    let description = description.to_lowercase();
    best(&[(&name, 3), (&description, 2), (keywords, 1)]).map(str::to_string)
}

/// The category whose words `texts` use most (each text counted with its
/// weight, each word of a text once); ties go to the one listed first.
fn best(texts: &[(&str, u32)]) -> Option<&'static str> {
    let mut top: Option<(&'static str, u32)> = None;
    for (category, words) in CATEGORIES {
        let mut score = 0;
        for (text, weight) in texts {
            let mut seen: Vec<&str> = Vec::new();
            for word in text.split(|c: char| !c.is_alphanumeric()) {
                if words.contains(&word) && !seen.contains(&word) {
                    seen.push(word);
                    score += weight;
                }
            }
        }
        if score >= 2 && top.is_none_or(|(_, s)| score > s) {
            top = Some((category, score));
        }
    }
    top.map(|(c, _)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_categories_win_and_words_decide_the_rest() {
        assert_eq!(
            assign(Some("Security"), "pdf", "", "").as_deref(),
            Some("security")
        );
        assert_eq!(
            assign(Some("Document Processing"), "x", "", "").as_deref(),
            Some("documents")
        );
        assert_eq!(
            assign(None, "x", "", "notes").as_deref(),
            None,
            "one word of the body is not enough"
        );
        assert_eq!(
            assign(
                None,
                "pdf",
                "Extract text and tables from PDF files.",
                "pdf tables forms"
            )
            .as_deref(),
            Some("documents")
        );
        assert_eq!(
            assign(
                None,
                "webapp-testing",
                "Test local web apps with Playwright.",
                ""
            )
            .as_deref(),
            Some("testing")
        );
        assert_eq!(
            assign(None, "misc", "Helps.", "things stuff").as_deref(),
            None
        );
        assert!(names().iter().all(|n| is_known(n)));
    }
}
