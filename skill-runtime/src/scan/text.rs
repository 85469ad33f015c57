//! The checks on one text file: every pattern rule in one pass (a regex set
//! over the whole text picks the rules worth a line-by-line look), then the
//! character checks (tags, zero-width runs, bidi controls) and hidden HTML
//! comments in Markdown.

use std::sync::OnceLock;

use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

use super::context::{self, Context, LineKind};
use super::files::{MAX_LINE_BYTES, long_line};
use super::finding::Finding;
use super::rules::{Check, Family, RULES, Risk, Rule, rule};

/// At most this many findings of one rule in one file: past it, the file is
/// plainly full of it and more lines say nothing new.
const MAX_PER_RULE: usize = 20;

struct Compiled {
    set: RegexSet,
    /// The rules of `set`, in its order, each with its own regex, built
    /// when the set first matches it: most runs need few of them.
    rules: Vec<(&'static Rule, &'static str, OnceLock<Regex>)>,
    /// Words that make an HTML comment an instruction.
    comment_words: Regex,
    /// A negation before a phrase turns it into the opposite advice.
    negation: Regex,
    /// What `echo`/`printf` writes when it only sets a variable.
    variable_only: Regex,
    /// "responses that repeat …": a clause describing, not asking.
    relative: Regex,
    /// Acts worth the user's confirmation.
    consequential: Regex,
    /// "about each tool call as you make it": narration, not concealment.
    progress: Regex,
    /// Something written to a file.
    writes: Regex,
    /// Something read, copied or sent.
    reads: Regex,
}

// ASCII word boundaries: a Unicode `\b` keeps the lazy DFA off any
// text with a non-ASCII byte, and the fallback is ~100x slower.
fn ascii(pattern: &str) -> String {
    pattern.replace(r"\b", r"(?-u:\b)")
}

fn build_one(pattern: &str) -> Regex {
    RegexBuilder::new(&ascii(pattern))
        .case_insensitive(true)
        .size_limit(64 << 20)
        .dfa_size_limit(64 << 20)
        .build()
        .unwrap_or_else(|e| panic!("rule pattern {pattern}: {e}"))
}

fn compiled() -> &'static Compiled {
    static COMPILED: OnceLock<Compiled> = OnceLock::new();
    COMPILED.get_or_init(|| {
        let patterns: Vec<(&'static Rule, &'static str)> = RULES
            .iter()
            .filter_map(|r| match r.check {
                Check::Pattern(p) => Some((r, p)),
                Check::Code => None,
            })
            .collect();
        Compiled {
            set: RegexSetBuilder::new(patterns.iter().map(|(_, p)| ascii(p)))
                .case_insensitive(true)
                .size_limit(256 << 20)
                // A cache too small for the set's automaton makes the lazy DFA
                // give up and fall back to a much slower engine.
                .dfa_size_limit(256 << 20)
                .build()
                .expect("rule patterns compile"),
            rules: patterns.iter().map(|(r, p)| (*r, *p, OnceLock::new())).collect(),
            negation: build_one(r"\b(never|not|don't|must\s+not|no)\b"),
            // `export NAME=value`, quoted or not; `$NAME` may appear in the
            // value, a command (`$(…)`, backticks, `;`, `&`, `|`) may not.
            variable_only: build_one(
                r#"^(export\s+)?[a-z_][a-z0-9_]*=("[^"`$;&|]*(\$\{?[a-z_][a-z0-9_]*\}?[^"`$;&|]*)*"|'[^'`;&|]*'|[^\s"'`$;&|]*(\$\{?[a-z_][a-z0-9_]*\}?[^\s"'`$;&|]*)*)$"#,
            ),
            relative: build_one(r"\b(that|which|who|to\s+detect|detect|prevent|block)\s+$"),
            consequential: build_one(
                r"\b(delet|remov|rm\b|drop|push|deploy|publish|releas|merg|send|sent|upload|email|post|pay|purchas|transfer|overwrit|install|execut|run\b|running|commit|destroy|wipe|format|shut|kill|revok|grant|chmod|sudo|git\s+reset|force)",
            ),
            progress: build_one(r"^\s+about\s+(each|every)\b|^\s+as\s+you\s+go\b"),
            writes: build_one(
                r#"(>>?|\btee\b|\bcp\b|\bmv\b|\bln\b|\binstall\b|\bwrite|\bcrontab\b|\blaunchctl\s+(load|bootstrap)|\bsystemctl\b|\bopen\(.*["'][wa]\+?["'])"#,
            ),
            reads: build_one(
                r"\b(cat|cp|scp|rsync|tar|zip|base64|xxd|head|tail|less|more|type|get-content|curl|wget|nc|open|read|readfile|readfilesync|load|send|upload|post|copy|steal|exfiltrate|collect|grab|dump|include|attach|print|gpg)\b",
            ),
            comment_words: build_one(
                r"\b(always|never|must|ignore|run|execute|send|upload|delete|do\s+not|don't|secretly|instead|assistant|agent|claude|model)\b",
            ),
        }
    })
}

fn finding(rule: &'static Rule, path: &str, line: usize, column: usize, detail: &str) -> Finding {
    Finding::new(rule, path, line, column, detail)
}

/// Column (1-based, in characters) of byte offset `at` in `line`.
fn column(line: &str, at: usize) -> usize {
    line[..at].chars().count() + 1
}

/// A short, printable excerpt of what matched.
fn excerpt(text: &str) -> String {
    let shown: String = text.chars().filter(|c| !c.is_control()).take(80).collect();
    if shown.chars().count() < text.chars().count() {
        format!("{shown}…")
    } else {
        shown
    }
}

/// Every text check on one file, read in `context`.
pub(super) fn check(path: &str, text: &str, context: Context, findings: &mut Vec<Finding>) {
    let c = compiled();
    let matched = c.set.matches(text);
    let markdown = is_markdown(path);
    let lines: Vec<&str> = if matched.matched_any() || markdown {
        text.lines().collect()
    } else {
        Vec::new()
    };
    let kinds = context::line_kinds(&lines, markdown);
    for index in matched.iter() {
        let (rule, pattern, regex) = &c.rules[index];
        let regex = regex.get_or_init(|| build_one(pattern));
        let mut count = 0;
        for (n, line) in lines.iter().enumerate() {
            let Some(m) = regex.find(line) else { continue };
            let at = Spot {
                context,
                kind: kinds[n],
                line,
                next: lines.get(n + 1).copied(),
            };
            let Some((severity, why)) = weigh(rule, &at, &m) else {
                continue;
            };
            let mut f = finding(
                rule,
                path,
                n + 1,
                column(line, m.start()),
                &format!("`{}`", excerpt(m.as_str())),
            );
            f.context = context.as_str();
            if severity < rule.severity {
                f.message.push_str(&format!(
                    " ({why}: {severity} rather than {})",
                    rule.severity
                ));
            }
            f.severity = severity;
            findings.push(f);
            count += 1;
            if count == MAX_PER_RULE {
                break;
            }
        }
    }
    if context == Context::Script {
        super::flow::check(path, text, findings);
    }
    if text.len() > MAX_LINE_BYTES
        && context != Context::Data
        && let Some((n, line)) = text
            .lines()
            .enumerate()
            .find(|(_, l)| l.len() > MAX_LINE_BYTES)
    {
        findings.push(long_line(path, n + 1, line.chars().count()));
    }
    // Tags, zero-width and bidi characters are all beyond ASCII.
    if !text.is_ascii() {
        characters(path, text, findings);
    }
    if markdown {
        comments(path, text, &kinds, findings);
    }
}

fn is_markdown(path: &str) -> bool {
    path.ends_with(".md") || path.ends_with(".markdown") || path.ends_with(".mdx")
}

/// Where a match stands.
struct Spot<'a> {
    context: Context,
    kind: LineKind,
    line: &'a str,
    next: Option<&'a str>,
}

/// The severity a match keeps where it stands, and why it was lowered;
/// `None` when it is talk about the thing rather than the thing.
fn weigh(rule: &Rule, at: &Spot<'_>, m: &regex::Match<'_>) -> Option<(Risk, &'static str)> {
    if !meant(rule.id, at, m) {
        return None;
    }
    let mut severity = rule.severity;
    let mut why = "";
    let mut lower = |cap: Risk, reason: &'static str| {
        if cap < severity {
            severity = cap;
            why = reason;
        }
    };
    lower(
        at.context.cap(rule.family),
        match at.context {
            Context::Script => "in a script, where the agent does not read it as an instruction",
            Context::Reference => "in reference documentation, shown rather than run",
            Context::Data => "in a data file",
            Context::Instruction => "",
        },
    );
    let before = &at.line[..m.start()];
    let comment = ["#", "//", "REM ", "::"]
        .iter()
        .any(|c| before.trim_start().starts_with(c) && !before.trim_start().starts_with("#!"));
    if at.context == Context::Script && rule.family == Family::Execution && comment {
        lower(Risk::Low, "in a comment, which does not run");
    }
    if rule.family == Family::Injection {
        let shown = at.context == Context::Reference
            && (at.kind.code || at.line.trim_start().starts_with('|'));
        if shown {
            lower(
                Risk::Medium,
                "shown as code or in a table of reference documentation",
            );
        }
        if quoted(before) {
            if at.context == Context::Instruction {
                lower(Risk::Medium, "quoted");
            } else {
                return None;
            }
        }
    }
    if rule.id == "download-exec" && at.context != Context::Script {
        if let Some(host) = known_installer(&at.line[m.start()..]) {
            lower(Risk::Medium, host);
        }
    }
    Some((severity, why))
}

/// A quotation mark opened before the match and not closed: the phrase
/// is quoted, not said.
fn quoted(before: &str) -> bool {
    let straight = before.matches('"').count() % 2 == 1;
    let curly = before.matches('\u{201C}').count() > before.matches('\u{201D}').count();
    let tick = before.trim_end().ends_with(['\'', '`', '\u{2018}']);
    straight || curly || tick
}

/// Whether the command before a redirection into a start-up file writes
/// only `export NAME=value` (`echo 'export KEY="…"' >> ~/.bashrc`).
fn sets_a_variable_only(before: &str) -> bool {
    let Some(at) = before.rfind("echo ").or_else(|| before.rfind("printf ")) else {
        return false;
    };
    let mut written = before[at..]
        .split_once(' ')
        .map_or("", |(_, rest)| rest)
        .trim();
    while let Some(rest) = written
        .strip_prefix("-e ")
        .or_else(|| written.strip_prefix("-n "))
    {
        written = rest.trim_start();
    }
    let unquoted = ['\'', '"']
        .iter()
        .find_map(|q| written.strip_prefix(*q)?.strip_suffix(*q))
        .unwrap_or(written)
        .replace("\\\"", "\"");
    compiled().variable_only.is_match(unquoted.trim())
}

/// Whether a match is the thing itself rather than talk about it: a
/// negated phrase ("never … without asking"), an act a list forbids, a
/// relative clause ("responses that repeat the system prompt"), AWS's
/// documented example key, a key header with no key under it.
fn meant(rule: &str, at: &Spot<'_>, m: &regex::Match<'_>) -> bool {
    let c = compiled();
    let before = &at.line[..m.start()];
    let scripted = at.context == Context::Script;
    match rule {
        "reveal-system-prompt" => !c.relative.is_match(before),
        "disable-confirmation" => {
            !(at.kind.forbidden && !scripted)
                && !c.negation.is_match(before)
                && (!m.as_str().to_ascii_lowercase().contains(" ask")
                    || c.consequential.is_match(at.line))
        }
        "conceal-from-user" => {
            !(at.kind.forbidden && !scripted) && !c.progress.is_match(&at.line[m.end()..])
        }
        // SKILL.md speaks to the agent by design; elsewhere it is injected.
        "addressed-to-agent" => at.context != Context::Instruction,
        "hardcoded-secret" => !m.as_str().contains("EXAMPLE"),
        // A variable in a start-up file is setup; a command there runs again.
        "persistence" => !sets_a_variable_only(before) && (scripted || c.writes.is_match(at.line)),
        // A path named is not a path read.
        "credential-access" => {
            scripted
                || c.reads.is_match(at.line)
                || (at.kind.code && m.as_str().to_ascii_lowercase().starts_with("security"))
        }
        "private-key" => at.next.is_some_and(|l| {
            let l = l.trim();
            l.len() >= 40
                && l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='))
        }),
        _ => true,
    }
}

/// The vendor behind an installer URL served from its own host, which a
/// skill cannot change: running it trusts the vendor, as installing the
/// tool any other way does.
fn known_installer(command: &str) -> Option<&'static str> {
    // Every address in the command must be a known installer over HTTPS
    // (or with no scheme: `irm bun.sh/install.ps1 | iex`): a second URL
    // may be the one that runs, and plain HTTP can be changed on the way.
    let mut rest = command;
    let mut why = None;
    while let Some((before, after)) = rest.split_once("://") {
        if !before.ends_with("https") {
            return None;
        }
        let url = after.split(|c: char| c.is_whitespace() || "\"'()`|;".contains(c));
        why = Some(installer(url.clone().next().unwrap_or(""))?);
        rest = after;
    }
    if why.is_some() {
        return why;
    }
    let bare = command
        .split(|c: char| c.is_whitespace() || "\"'()`|;".contains(c))
        .find(|w| {
            w.contains('.')
                && w.chars().all(|c| {
                    c.is_ascii_lowercase()
                        || c.is_ascii_digit()
                        || matches!(c, '.' | '/' | '-' | '_')
                })
        })?;
    installer(bare)
}

/// The vendor whose installer `url` (without its scheme) is: the host
/// must be the listed host exactly, and the path start with the listed
/// path, so `sh.rustup.rs.evil.example` and `astral.sh@evil.example` are
/// no one's.
fn installer(url: &str) -> Option<&'static str> {
    let url = url.strip_prefix("www.").unwrap_or(url);
    let (host, path) = url.split_once('/').unwrap_or((url, ""));
    KNOWN_INSTALLERS.iter().find_map(|(prefix, why)| {
        let (known_host, known_path) = prefix.split_once('/').unwrap_or((prefix, ""));
        (host.eq_ignore_ascii_case(known_host) && path.starts_with(known_path)).then_some(*why)
    })
}

/// Installer URLs (host, or host and path) of tools' own vendors.
pub(super) const KNOWN_INSTALLERS: [(&str, &str); 28] = [
    ("astral.sh/", "uv's official installer"),
    ("bun.sh/", "Bun's official installer"),
    ("sh.rustup.rs", "rustup's official installer"),
    ("deno.land/", "Deno's official installer"),
    ("aka.ms/", "Microsoft's official installer"),
    ("aspire.dev/", "Aspire's official installer"),
    ("fluxcd.io/", "Flux's official installer"),
    ("run.linkerd.io/", "Linkerd's official installer"),
    (
        "sdk.cloud.google.com",
        "the Google Cloud SDK's official installer",
    ),
    (
        "storage.googleapis.com/cloud-samples-data/",
        "a Google Cloud sample's official script",
    ),
    ("get.docker.com", "Docker's official installer"),
    ("claude.ai/install", "Claude Code's official installer"),
    ("fnm.vercel.app/", "fnm's official installer"),
    (
        "community.chocolatey.org/",
        "Chocolatey's official installer",
    ),
    ("chocolatey.org/", "Chocolatey's official installer"),
    (
        "raw.githubusercontent.com/Homebrew/install/",
        "Homebrew's official installer",
    ),
    (
        "raw.githubusercontent.com/nvm-sh/nvm/",
        "nvm's official installer",
    ),
    (
        "raw.githubusercontent.com/ohmyzsh/ohmyzsh/",
        "Oh My Zsh's official installer",
    ),
    (
        "raw.githubusercontent.com/helm/helm/",
        "Helm's official installer",
    ),
    ("get.helm.sh/", "Helm's official installer"),
    ("install.python-poetry.org", "Poetry's official installer"),
    ("get.pnpm.io/", "pnpm's official installer"),
    ("ollama.com/install", "Ollama's official installer"),
    ("pyenv.run", "pyenv's official installer"),
    ("get.sdkman.io", "SDKMAN's official installer"),
    ("starship.rs/install", "Starship's official installer"),
    ("dot.net/", "Microsoft's official .NET installer"),
    ("tailscale.com/install", "Tailscale's official installer"),
];

fn is_tag(c: char) -> bool {
    ('\u{E0000}'..='\u{E007F}').contains(&c)
}

fn is_zero_width(c: char) -> bool {
    matches!(
        c,
        '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{180E}'
    )
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Tag characters, runs of two or more zero-width characters (emoji
/// sequences join with single ones), and bidi controls: one finding per
/// rule per line.
fn characters(path: &str, text: &str, findings: &mut Vec<Finding>) {
    let ids = ["hidden-unicode-tags", "zero-width-run", "bidi-control"];
    let mut counts = [0usize; 3];
    for (n, line) in text.lines().enumerate() {
        let mut seen = [false; 3];
        let mut previous_zero_width: Option<usize> = None;
        for (col, ch) in line.chars().enumerate() {
            let hit = if is_tag(ch) {
                Some(0)
            } else if is_zero_width(ch) && !(n == 0 && col == 0 && ch == '\u{FEFF}') {
                let run_start = previous_zero_width.unwrap_or(col);
                previous_zero_width = Some(run_start);
                (run_start < col).then_some(1)
            } else {
                previous_zero_width = None;
                is_bidi_control(ch).then_some(2)
            };
            if let Some(i) = hit
                && !seen[i]
                && counts[i] < MAX_PER_RULE
            {
                seen[i] = true;
                counts[i] += 1;
                let at = if i == 1 {
                    previous_zero_width.unwrap_or(col)
                } else {
                    col
                };
                let hidden: String = line
                    .chars()
                    .filter(|c| is_tag(*c))
                    .map(|c| char::from_u32(c as u32 - 0xE0000).unwrap_or('?'))
                    .collect();
                let detail = match i {
                    0 => format!("hidden text `{}`", excerpt(&hidden)),
                    _ => format!("U+{:04X}", ch as u32),
                };
                findings.push(finding(
                    rule(ids[i]).expect("a rule"),
                    path,
                    n + 1,
                    at + 1,
                    &detail,
                ));
            }
        }
    }
}

/// `<!-- … -->` outside code blocks whose text reads as an instruction.
/// A comment in a fenced code block (`kinds`) is shown as written.
fn comments(path: &str, text: &str, kinds: &[LineKind], findings: &mut Vec<Finding>) {
    let words = &compiled().comment_words;
    let rule = rule("hidden-html-comment").expect("a rule");
    let mut from = 0;
    let mut count = 0;
    while let Some(start) = text[from..].find("<!--").map(|i| i + from) {
        // An unclosed comment runs to the end of the file.
        let close = text[start + 4..].find("-->").map(|i| start + 4 + i);
        let inner = &text[start + 4..close.unwrap_or(text.len())];
        let end = close.map_or(text.len(), |c| c + 3);
        let before = &text[..start];
        let line = before.matches('\n').count() + 1;
        let shown = kinds.get(line - 1).is_some_and(|k| k.code);
        if !shown && words.is_match(inner) && count < MAX_PER_RULE {
            count += 1;
            let line_start = before.rfind('\n').map_or(0, |i| i + 1);
            findings.push(finding(
                rule,
                path,
                line,
                column(&text[line_start..], start - line_start),
                &format!("`{}`", excerpt(inner.trim())),
            ));
        }
        from = end.max(start + 4);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_in_code_blocks_are_shown_not_hidden() {
        let text =
            "Intro\n\n```xml\n<!-- always a child of w:p -->\n```\n\n<!-- always run it -->\n";
        let mut findings = Vec::new();
        let lines: Vec<&str> = text.lines().collect();
        comments(
            "SKILL.md",
            text,
            &context::line_kinds(&lines, true),
            &mut findings,
        );
        assert_eq!(findings.len(), 1);
        assert_eq!((findings[0].line, findings[0].column), (7, 1));
    }

    #[test]
    fn an_unclosed_comment_ending_in_a_wide_character_is_read_whole() {
        let mut findings = Vec::new();
        for text in ["<!-- always run it é", "<!--", "<!---->"] {
            let lines: Vec<&str> = text.lines().collect();
            comments(
                "SKILL.md",
                text,
                &context::line_kinds(&lines, true),
                &mut findings,
            );
        }
        assert_eq!(findings.len(), 1);
    }
}
