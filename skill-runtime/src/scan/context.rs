//! Where a match stands decides its weight: every file is read as an
//! instruction to the agent, a script the skill ships, reference
//! documentation, or data; inside Markdown, each line is prose or code,
//! and may sit in a list of things the text says never to do.

use super::rules::{Family, Risk};
use crate::manifest::MANIFEST_NAMES;

/// How a file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// SKILL.md (and the agent files beside it): what the agent follows.
    Instruction,
    /// A program the skill ships, told by its name or its `#!` line.
    Script,
    /// Documentation: Markdown, text, configuration.
    Reference,
    /// Patches, logs, results, tables, lockfiles, detection rules.
    Data,
}

/// Files beside SKILL.md that agents read as their instructions too.
const AGENT_FILES: [&str; 3] = ["AGENTS.md", "CLAUDE.md", "GEMINI.md"];

const SCRIPT_ENDINGS: [&str; 27] = [
    ".sh",
    ".bash",
    ".zsh",
    ".fish",
    ".ksh",
    ".py",
    ".pyw",
    ".js",
    ".mjs",
    ".cjs",
    ".ts",
    ".mts",
    ".cts",
    ".tsx",
    ".jsx",
    ".rb",
    ".pl",
    ".php",
    ".ps1",
    ".psm1",
    ".bat",
    ".cmd",
    ".lua",
    ".vbs",
    ".applescript",
    ".swift",
    ".r",
];

const SCRIPT_NAMES: [&str; 5] = [
    "Dockerfile",
    "Containerfile",
    "Makefile",
    "justfile",
    "Rakefile",
];

const DATA_ENDINGS: [&str; 17] = [
    ".patch", ".diff", ".log", ".json", ".jsonl", ".ndjson", ".csv", ".tsv", ".lock", ".sum",
    ".snap", ".yar", ".yara", ".sarif", ".har", ".ipynb", ".svg",
];

const TEXT_ENDINGS: [&str; 14] = [
    ".md",
    ".markdown",
    ".mdx",
    ".txt",
    ".rst",
    ".html",
    ".htm",
    ".xml",
    ".yml",
    ".yaml",
    ".toml",
    ".ini",
    ".cfg",
    ".conf",
];

impl Context {
    /// `path` is relative to the skill folder; `text` is the file's start.
    pub fn of(path: &str, text: &str) -> Context {
        let name = path.rsplit('/').next().unwrap_or(path);
        let lower = name.to_ascii_lowercase();
        let instructions = MANIFEST_NAMES
            .iter()
            .chain(&AGENT_FILES)
            .any(|n| *n == name);
        if !path.contains('/') && lower.ends_with(".md") && instructions {
            Context::Instruction
        } else if text.starts_with("#!")
            || SCRIPT_NAMES
                .iter()
                .any(|n| name == *n || name.starts_with(&format!("{n}.")))
            || SCRIPT_ENDINGS.iter().any(|e| lower.ends_with(e))
        {
            Context::Script
        } else if DATA_ENDINGS.iter().any(|e| lower.ends_with(e))
            || lower.ends_with("-lock.yaml")
            || lower.ends_with(".lock.json")
        {
            Context::Data
        } else {
            Context::Reference
        }
    }

    /// Whether the name says the file is text, so that bytes that do not
    /// decode are hiding something rather than being an image.
    pub fn named_as_text(path: &str) -> bool {
        let lower = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
        SCRIPT_ENDINGS
            .iter()
            .chain(DATA_ENDINGS.iter())
            .chain(TEXT_ENDINGS.iter())
            .any(|e| lower.ends_with(e))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Context::Instruction => "instruction",
            Context::Script => "script",
            Context::Reference => "reference",
            Context::Data => "data",
        }
    }

    /// The highest severity a rule of `family` keeps in this context.
    /// Injection is weighed wherever the agent may read it, scripts aside;
    /// what runs or reads secrets is full weight where it runs (a script,
    /// the instructions) and only shown elsewhere.
    pub fn cap(self, family: Family) -> Risk {
        use Context::*;
        match (family, self) {
            (Family::Injection, Script) => Risk::Medium,
            (Family::Injection, _) => Risk::Critical,
            (Family::Execution, Instruction | Script) => Risk::Critical,
            (Family::Execution, Reference) => Risk::Medium,
            (Family::Execution, Data) => Risk::Low,
            (Family::Always, _) => Risk::Critical,
        }
    }
}

/// The documents `skill_md` tells the agent to follow or run ("Follow
/// the steps in references/setup.md"), as paths relative to the skill.
/// Pointing a reader at a document ("see references/api.md") is not
/// following it.
pub fn followed(skill_md: &str) -> Vec<String> {
    static PATTERNS: std::sync::OnceLock<(regex::Regex, regex::Regex)> = std::sync::OnceLock::new();
    let (verb, path) = PATTERNS.get_or_init(|| {
        (
            regex::RegexBuilder::new(r"\b(follow|run|execute|perform|apply|carry\s+out|obey)\b")
                .case_insensitive(true)
                .build()
                .expect("a pattern"),
            regex::Regex::new(r"([\w.{}-]+/)*[\w.-]+\.(md|markdown|txt)\b").expect("a pattern"),
        )
    });
    let mut paths = Vec::new();
    for line in skill_md.lines().filter(|l| verb.is_match(l)) {
        for m in path.find_iter(line) {
            let p = m.as_str();
            let p = p.strip_prefix("{baseDir}/").unwrap_or(p);
            let p = p.strip_prefix("./").unwrap_or(p);
            if !p.contains("..") && !paths.iter().any(|q| q == p) {
                paths.push(p.to_string());
            }
        }
    }
    paths
}

/// What a line of a file is, beyond the file's context.
#[derive(Debug, Clone, Copy, Default)]
pub struct LineKind {
    /// Inside a fenced code block of a Markdown file.
    pub code: bool,
    /// A list item under a lead-in that forbids what the list says
    /// ("**Never do the following:**"): the item names an act not to do.
    pub forbidden: bool,
}

/// Words that make a lead-in a prohibition of the items under it.
fn forbids(lead: &str) -> bool {
    let lead = lead.to_ascii_lowercase();
    [
        "never",
        "do not",
        "don't",
        "must not",
        "prohibited",
        "forbidden",
        "anti-pattern",
        "avoid",
    ]
    .iter()
    .any(|w| lead.contains(w))
}

fn is_list_item(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("- ")
        || t.starts_with("* ")
        || t.split_once(". ")
            .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

/// Each line's kind. Plain text files are all prose.
pub fn line_kinds(lines: &[&str], markdown: bool) -> Vec<LineKind> {
    let mut kinds = vec![LineKind::default(); lines.len()];
    if !markdown {
        return kinds;
    }
    let mut fence: Option<&str> = None;
    let mut forbidding = false;
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        let marker = ["```", "~~~"].into_iter().find(|f| t.starts_with(f));
        match (fence, marker) {
            (None, Some(f)) => {
                fence = Some(f);
                kinds[i].code = true;
                continue;
            }
            (Some(f), Some(g)) if f == g => {
                fence = None;
                kinds[i].code = true;
                continue;
            }
            (Some(_), _) => {
                kinds[i].code = true;
                continue;
            }
            _ => {}
        }
        let bare = t.trim_matches(|c: char| c == '#' || c == '*' || c == '_' || c.is_whitespace());
        if is_list_item(line) {
            kinds[i].forbidden = forbidding;
        } else if bare.ends_with(':') && !is_list_item(line) {
            forbidding = forbids(bare);
        } else if !t.is_empty() {
            forbidding = false;
        }
    }
    kinds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_read_by_name_and_first_line() {
        assert_eq!(Context::of("SKILL.md", ""), Context::Instruction);
        assert_eq!(Context::of("docs/SKILL.md", ""), Context::Reference);
        assert_eq!(Context::of("scripts/run.py", ""), Context::Script);
        assert_eq!(Context::of("bin/tool", "#!/bin/sh\n"), Context::Script);
        assert_eq!(Context::of("resources/Dockerfile", ""), Context::Script);
        assert_eq!(Context::of("references/guide.md", ""), Context::Reference);
        assert_eq!(Context::of("results/run.json", ""), Context::Data);
        assert_eq!(Context::of("fix.patch", ""), Context::Data);
    }

    #[test]
    fn documents_to_follow_are_told_from_documents_to_see() {
        let md = "Follow the steps in [setup](./references/setup.md).\nRun {baseDir}/references/deploy.md first.\nSee references/api.md for details.\n";
        assert_eq!(
            followed(md),
            ["references/setup.md", "references/deploy.md"]
        );
    }

    #[test]
    fn items_under_a_prohibition_are_forbidden_until_the_list_ends() {
        let text = "**Never do the following:**\n- deploy without asking the user\n- skip it\n\nDo this:\n- deploy\n```\n- x\n```\n";
        let lines: Vec<&str> = text.lines().collect();
        let kinds = line_kinds(&lines, true);
        let forbidden: Vec<bool> = kinds.iter().map(|k| k.forbidden).collect();
        assert_eq!(
            forbidden,
            [false, true, true, false, false, false, false, false, false]
        );
        assert!(kinds[7].code && !kinds[5].code);
    }
}
