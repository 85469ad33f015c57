//! Scripts read as programs, enough to follow a value within one file:
//! from where it comes (a secret, untrusted input, a decoded or assembled
//! string) through the variables it is assigned to, to where it goes (the
//! network, a shell, an evaluator). A finding names both lines.

use std::sync::OnceLock;

use regex::{Regex, RegexBuilder};

use super::finding::Finding;
use super::rules::rule;

/// A kind of flow: where values come from, where they must not go.
struct Flow {
    rule: &'static str,
    source: Regex,
    sink: Regex,
    /// What the finding calls the source and the sink.
    from: &'static str,
    to: &'static str,
}

struct Compiled {
    flows: Vec<Flow>,
    assignment: Regex,
    word: Regex,
    /// The assembling that is decoding (base64, hex).
    decode: Regex,
}

fn build(p: &str) -> Regex {
    RegexBuilder::new(&p.replace(r"\b", r"(?-u:\b)"))
        .case_insensitive(true)
        // `^` at each line's start, for the whole-text passes.
        .multi_line(true)
        .size_limit(32 << 20)
        .build()
        .unwrap_or_else(|e| panic!("flow pattern {p}: {e}"))
}

const SECRETS: &str = r#"\.ssh/|\bid_(rsa|dsa|ecdsa|ed25519)\b|\.aws/credentials|\.netrc\b|\.git-credentials|\.kube/config|\.docker/config\.json|/etc/(passwd|shadow)\b|\.(bash|zsh)_history|login\s+data|\bsecurity\s+(find|dump)-|\.claude/|\.codex/|\.cursor/|\bos\.environ\b(\.copy\(\))?\s*($|[),;}\]])|dict\(\s*os\.environ\s*\)|\bprocess\.env\b\s*($|[),;}\]])|json\.stringify\(\s*process\.env\s*\)|\$\(\s*(env|printenv)\s*\)|`(env|printenv)`|^\s*(env|printenv)\s*\||get-childitem\s+env:|\bexpanduser\(\s*["']~["']\s*\)|path\.home\(\)|os\.homedir\(\)|\.env["'`]"#;

const NETWORK: &str = r#"\brequests\.(post|put|patch|get)\(|\bhttpx\.|\burlopen\(|\burllib\.request|\bhttp\.client|\bsocket\.|\.connect\(|\bfetch\(|\baxios\b|\bxmlhttprequest\b|\bsendbeacon\(|\bhttps?\.request\(|\bcurl\b|\bwget\b|\|\s*(nc|ncat|netcat)\b|\b(nc|ncat)\s+-|invoke-(webrequest|restmethod)|\b(iwr|irm)\b|\bwebclient\b|uploadstring|\bsmtplib\b|\bnslookup\b|\bdig\s|gethostbyname\(|resolver\.(resolve|query)\(|/dev/tcp/"#;

const INPUT: &str = r#"\bsys\.argv\b|\binput\(|\bargs\.\w+|\bos\.environ\[\s*["']?\w*|\bos\.getenv\(\s*["']?\w*|\bos\.environ\.get\(\s*["']?\w*|\bprocess\.argv\b|\bprocess\.env\.\w+|"\$[1-9@*]"|\$[1-9@*]|\$\{[1-9@*]|\breq\.(body|query|params)\b|\brequest\.(args|form|json|get_json|values)\b|\$args\b|\bread-host\b|\bsys\.stdin\b|^\s*read\s+(-r\s+)?\w+"#;

const SHELL: &str = r#"\bos\.system\(|\bos\.popen\(|\bcommands\.getoutput\(|\bshell\s*=\s*true\b|\bchild_process\b|\bexecsync\(|(^|[^.\w])exec\(\s*(`[^`]*\$\{|\w+\s*[,)])|\bcp\.exec(sync)?\(|(^|[;&|{]|\bthen|\bdo)\s*eval\s|(^|\s)(ba|z)?sh\s+-c\s|\binvoke-expression\b|\biex\b|\bshell_exec\(|\bpassthru\(|\bsystem\(|\bpopen\("#;

const ASSEMBLED: &str = r#"\bstring\.fromcharcode\(|\bchr\(\s*\d+\s*\)\s*\+|\bjoin\(\s*(map\(\s*)?chr\b|\bchr\(\s*\w+\s*\)\s+for\b|(^|[^.\w])compile\(|\[::-1\]|\.reverse\(\)\s*\.join\(|split\(\s*["']{2}\s*\)\s*\.reverse|\brot_?13\b|\bunhexlify\(|\bbytes\.fromhex\(|\bb(32|64|85)decode\(|\batob\(|buffer\.from\([^)]*["'](base64|hex)["']|frombase64string|\bbase64\s+(-d|--decode|-D)\b|\bxxd\s+-r\b|\bzlib\.decompress\(|\bgzip\.decompress\(|\bmarshal\.loads\(|(\\x[0-9a-f]{2}){8,}|\[char\]\s*\d+\s*\+|-join\s*\(?\s*\[char|\|\s*rev\b|\btr\s+['"]?a-za-z['"]?\s+['"]?n-za-mn-za-m"#;

const EVALUATE: &str = r#"(^|[^.\w])(eval|exec)\s*\(|\bnew\s+function\s*\(|\bvm\.run\w*\(|\bsettimeout\(\s*\w+\s*[,)]|\binvoke-expression\b|\biex\b|scriptblock\]::create\(|(^|[;&|{]|\bthen|\bdo)\s*eval\s|(^|\s)(ba|z)?sh\s+-c\s|\|\s*(sudo\s+)?(ba|z)?sh\b|\bpython3?\s+-c\s|\bnode\s+-e\s|\bperl\s+-e\s|\bsource\s+<\("#;

fn compiled() -> &'static Compiled {
    static COMPILED: OnceLock<Compiled> = OnceLock::new();
    COMPILED.get_or_init(|| {
        let flow = |rule, source: &str, sink: &str, from, to| Flow {
            rule,
            source: build(source),
            sink: build(sink),
            from,
            to,
        };
        Compiled {
            flows: vec![
                flow("exfiltration", SECRETS, NETWORK, "reads secrets", "sends them over the network"),
                flow("command-injection", INPUT, SHELL, "takes outside input", "runs it in a shell"),
                flow("obfuscated-code", ASSEMBLED, EVALUATE, "decodes or assembles a string", "runs it as code"),
            ],
            assignment: build(
                r#"^\s*(?:(?:export|local|const|let|var|my|readonly)\s+)?\$?([a-z_]\w*)\s*(?::\s*[\w\[\], ]+)?(?:\+|\.)?=[^=]|^\s*for\s+\$?([a-z_]\w*)\s+in\s|\bas\s+([a-z_]\w*)\s*:\s*$"#,
            ),
            word: build(r"[a-z_]\w*"),
            decode: build(
                r#"\bb(32|64|85)decode\(|\batob\(|['"](base64|hex)['"]|frombase64string|\bbase64\s+(-d|--decode|-D)\b|\bxxd\s+-r\b|\bunhexlify\(|\bbytes\.fromhex\("#,
            ),
        }
    })
}

/// Follows each flow through `lines` of one script.
pub(super) fn check(path: &str, text: &str, findings: &mut Vec<Finding>) {
    let c = compiled();
    // Most scripts hold no source, or no sink for it: one pass over the
    // whole text each, and the line-by-line walk only where both are.
    let mut lines: Option<Vec<&str>> = None;
    for flow in &c.flows {
        if flow.source.is_match(text) && flow.sink.is_match(text) {
            let lines = lines.get_or_insert_with(|| text.lines().collect());
            follow(flow, c, path, lines, findings);
        }
    }
}

fn follow(flow: &Flow, c: &Compiled, path: &str, lines: &[&str], findings: &mut Vec<Finding>) {
    // Tainted names, each with the line its value came from.
    let mut tainted: Vec<(String, usize)> = Vec::new();
    let mut found = 0;
    let mut depth: i64 = 0;
    for (n, line) in lines.iter().enumerate() {
        let code = strip_comment(line);
        if code.trim().is_empty() {
            continue;
        }
        // A shell function's `$1` is its caller's value, not the script's.
        let nested = depth > 0;
        depth =
            (depth + code.matches('{').count() as i64 - code.matches('}').count() as i64).max(0);
        // The line the value in `part` came from: a source there, or a
        // name tainted before.
        let origin = |part: &str, tainted: &[(String, usize)]| {
            let direct = flow
                .source
                .find_iter(part)
                .any(|s| !(nested && positional(s.as_str())) && !names_a_command(s.as_str()));
            if direct {
                return Some(n);
            }
            c.word.find_iter(part).find_map(|w| {
                tainted
                    .iter()
                    .find(|(t, _)| t.eq_ignore_ascii_case(w.as_str()))
                    .map(|(_, at)| *at)
            })
        };
        // An assignment first, so `cmd=$1; eval "$cmd"` is followed on one line.
        if let Some(name) = assigned(c, code)
            && let Some(at) = origin(code, &tainted)
            && !tainted.iter().any(|(t, _)| *t == name)
        {
            tainted.push((name, at));
        }
        let Some(m) = flow.sink.find(code) else {
            continue;
        };
        // What is run must hold the value: after the sink, for a shell or an
        // evaluator; anywhere on the line for a pipe to the network.
        let watched = if flow.rule == "exfiltration" {
            code
        } else {
            &code[m.start()..]
        };
        let Some(origin) = origin(watched, &tainted) else {
            continue;
        };
        if defines_only(flow.rule, code) {
            continue;
        }
        let id = if flow.rule == "obfuscated-code" && c.decode.is_match(lines[origin]) {
            "decode-and-exec"
        } else {
            flow.rule
        };
        let detail = if origin == n {
            format!("{} and {} on the same line", flow.from, flow.to)
        } else {
            format!(
                "{} on line {} (`{}`) and {} here",
                flow.from,
                origin + 1,
                lines[origin].trim().chars().take(60).collect::<String>(),
                flow.to
            )
        };
        let column = code[..m.start()].chars().count() + 1;
        let mut f = Finding::new(rule(id).expect("a flow rule"), path, n + 1, column, &detail);
        f.context = "script";
        findings.push(f);
        found += 1;
        if found == 5 {
            return;
        }
    }
}

/// The name a line assigns to, lowercased: `x = …`, `const x = …`,
/// `$x = …`, `x=$(…)`, `for x in …`, `with … as x:`.
fn assigned(c: &Compiled, code: &str) -> Option<String> {
    let caps = c.assignment.captures(code)?;
    caps.iter()
        .skip(1)
        .flatten()
        .next()
        .map(|m| m.as_str().to_ascii_lowercase())
}

/// A definition is not a call; `eval "$name=…"` is bash's assignment by
/// name, not running a command.
fn defines_only(rule: &str, code: &str) -> bool {
    let t = code.trim_start();
    rule == "command-injection"
        && (t.starts_with("def ")
            || t.strip_prefix("eval ").is_some_and(|rest| {
                let rest = rest.trim_start_matches(['"', '$', '{']);
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                !name.is_empty()
                    && rest[name.len()..]
                        .trim_start_matches('}')
                        .starts_with(['=', '+'])
            }))
}

/// `$1`, `"$@"`, `${2}`: a positional parameter.
fn positional(source: &str) -> bool {
    source.trim_matches('"').starts_with('$')
}

/// Environment variables that hold a command by convention (`$EDITOR`,
/// `BROWSER`, `…_CMD`): the operator's choice of program, not input.
fn names_a_command(source: &str) -> bool {
    let upper = source.to_ascii_uppercase();
    upper.contains("ENV")
        && [
            "_CMD", "_COMMAND", "EDITOR", "BROWSER", "PAGER", "SHELL", "_OPENER",
        ]
        .iter()
        .any(|n| upper.contains(n))
}

/// The line without a trailing `#` or `//` comment (not inside quotes).
fn strip_comment(line: &str) -> &str {
    let t = line.trim_start();
    if (t.starts_with('#') && !t.starts_with("#!")) || t.starts_with("//") {
        return "";
    }
    let mut quote: Option<char> = None;
    let mut previous = ' ';
    for (i, ch) in line.char_indices() {
        match quote {
            Some(q) if ch == q && previous != '\\' => quote = None,
            Some(_) => {}
            None if matches!(ch, '"' | '\'' | '`') => quote = Some(ch),
            None if ch == '#' && previous.is_whitespace() => return &line[..i],
            _ => {}
        }
        previous = ch;
    }
    line
}
