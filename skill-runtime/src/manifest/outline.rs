//! A line-level pass over the frontmatter that the YAML parser does not give:
//! where each key and value stands, the raw text of plain scalars (strict
//! YAML never coerces them), and the constructs outside the strict subset
//! (flow style, anchors, aliases, tags, duplicate keys) with their columns.
//! The values themselves come from `serde_yaml_ng`.

use super::diagnostic::{Code, Pos, Reporter};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub key_pos: Pos,
    pub value_pos: Pos,
    /// The value as written, when it is a plain (unquoted) scalar on the key's line.
    pub plain: Option<String>,
    /// Direct children when the value is a block mapping.
    pub children: Vec<Entry>,
}

#[derive(Debug, Default)]
pub struct Outline {
    pub entries: Vec<Entry>,
    pub duplicate_keys: bool,
}

impl Outline {
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.key == key)
    }
}

impl Entry {
    pub fn child(&self, key: &str) -> Option<&Entry> {
        self.children.iter().find(|e| e.key == key)
    }
}

/// Scans `yaml`, whose first line is line `first_line` of the file.
pub fn scan(yaml: &str, first_line: usize, reporter: &mut Reporter<'_>) -> Outline {
    let mut outline = Outline::default();
    let mut child_indent: Option<usize> = None;
    // Inside a block scalar (`|` or `>`): the indent of the line that opened it.
    let mut block_scalar: Option<usize> = None;
    // Inside a list item (`- key: v` and the lines under it): the dash's
    // indent. Its keys are the item's own, not its parent's.
    let mut list_item: Option<usize> = None;

    for (index, line) in yaml.lines().enumerate() {
        let line_no = first_line + index;
        let indent = line.len() - line.trim_start_matches(' ').len();
        let content = &line[indent..];
        if let Some(opener) = block_scalar {
            if content.trim().is_empty() || indent > opener {
                continue;
            }
            block_scalar = None;
        }
        if content.trim().is_empty() || content.starts_with('#') {
            continue;
        }
        let pos_at = |byte: usize| Pos::new(line_no, line[..byte].chars().count() + 1);

        let (is_item, start) = match content.strip_prefix('-') {
            Some(rest) if rest.is_empty() || rest.starts_with(' ') => {
                (true, indent + 1 + (rest.len() - rest.trim_start().len()))
            }
            _ => (false, indent),
        };
        match list_item {
            Some(dash) if !is_item && indent > dash => continue,
            _ => list_item = is_item.then_some(indent),
        }
        let rest = &line[start..];
        let Some((key, value_offset)) = split_key(rest) else {
            if is_item {
                let value = scan_value(line, start, &pos_at, reporter);
                if value.opens_block_scalar {
                    block_scalar = Some(indent);
                }
            }
            continue;
        };
        check_key_syntax(&key, pos_at(start), reporter);
        let value_start = start + value_offset;
        let value = scan_value(line, value_start, &pos_at, reporter);
        if value.opens_block_scalar {
            block_scalar = Some(indent);
        }
        if is_item {
            continue;
        }
        let entry = Entry {
            key,
            key_pos: pos_at(start),
            value_pos: pos_at(value_start.min(line.len())),
            plain: value.plain,
            children: Vec::new(),
        };
        let siblings = if indent == 0 {
            child_indent = None;
            &mut outline.entries
        } else {
            let Some(parent) = outline.entries.last_mut() else {
                continue;
            };
            if *child_indent.get_or_insert(indent) != indent {
                continue;
            }
            &mut parent.children
        };
        if let Some(first) = siblings.iter().find(|e| e.key == entry.key) {
            reporter.report(
                Code::YamlDuplicateKey,
                Some(entry.key_pos),
                format!(
                    "`{}` is already set on line {}",
                    entry.key, first.key_pos.line
                ),
                Some("remove one of the two; YAML loaders disagree on which one wins".into()),
            );
            outline.duplicate_keys = true;
            continue;
        }
        siblings.push(entry);
    }
    outline
}

/// `key: value` → the unquoted key and the byte offset where the value starts.
fn split_key(text: &str) -> Option<(String, usize)> {
    let bytes = text.as_bytes();
    let (key, after_key) = match bytes.first()? {
        b'"' | b'\'' => {
            let quote = bytes[0];
            let mut i = 1;
            while i < bytes.len() {
                if bytes[i] == b'\\' && quote == b'"' {
                    i += 2;
                    continue;
                }
                if bytes[i] == quote {
                    break;
                }
                i += 1;
            }
            let close = i.min(bytes.len());
            (text[1..close].to_string(), (close + 1).min(text.len()))
        }
        b'{' | b'[' | b'#' => return None,
        _ => {
            let colon = text
                .match_indices(':')
                .map(|(i, _)| i)
                .find(|&i| text[i + 1..].is_empty() || text[i + 1..].starts_with([' ', '\t']))?;
            if text[..colon].contains(" #") {
                return None;
            }
            (text[..colon].trim_end().to_string(), colon)
        }
    };
    let rest = &text[after_key..];
    let rest_trimmed = rest.trim_start();
    let colon_rest = rest_trimmed.strip_prefix(':')?;
    if !(colon_rest.is_empty() || colon_rest.starts_with([' ', '\t'])) {
        return None;
    }
    let value_offset = text.len() - colon_rest.trim_start().len();
    Some((key, value_offset))
}

fn check_key_syntax(key: &str, pos: Pos, reporter: &mut Reporter<'_>) {
    let code = match key.chars().next() {
        Some('&') => Code::YamlAnchor,
        Some('*') => Code::YamlAlias,
        Some('!') => Code::YamlTag,
        _ => return,
    };
    reporter.report(
        code,
        Some(pos),
        format!("the key `{key}` uses {}", construct(code)),
        Some(strict_help(code)),
    );
}

struct ScannedValue {
    plain: Option<String>,
    opens_block_scalar: bool,
}

/// Looks at a value from byte `start` of `line`: reports strict-subset
/// violations and returns the plain scalar text if that is what it is.
fn scan_value(
    line: &str,
    start: usize,
    pos_at: &dyn Fn(usize) -> Pos,
    reporter: &mut Reporter<'_>,
) -> ScannedValue {
    let mut offset = start;
    loop {
        let value = &line[offset.min(line.len())..];
        let code = match value.chars().next() {
            None => {
                return ScannedValue {
                    plain: None,
                    opens_block_scalar: false,
                };
            }
            Some('{' | '[') => Code::YamlFlowStyle,
            Some('&') => Code::YamlAnchor,
            Some('*') => Code::YamlAlias,
            Some('!') => Code::YamlTag,
            Some('|' | '>') => {
                return ScannedValue {
                    plain: None,
                    opens_block_scalar: true,
                };
            }
            Some('"' | '\'') => {
                return ScannedValue {
                    plain: None,
                    opens_block_scalar: false,
                };
            }
            Some('#') => {
                return ScannedValue {
                    plain: None,
                    opens_block_scalar: false,
                };
            }
            Some(_) => {
                let text = match value.find(" #") {
                    Some(comment) => &value[..comment],
                    None => value,
                };
                return ScannedValue {
                    plain: Some(text.trim_end().to_string()),
                    opens_block_scalar: false,
                };
            }
        };
        let token = value.split_whitespace().next().unwrap_or(value);
        // A flow collection is quoted whole (up to a sane length), the rest by token.
        let shown: String = match code {
            Code::YamlFlowStyle => value.trim_end().chars().take(60).collect(),
            _ => token.to_string(),
        };
        reporter.report(
            code,
            Some(pos_at(offset)),
            format!("`{shown}` is {}", construct(code)),
            Some(strict_help(code)),
        );
        if code == Code::YamlFlowStyle || code == Code::YamlAlias {
            return ScannedValue {
                plain: None,
                opens_block_scalar: false,
            };
        }
        // An anchor or tag prefixes a value: look at what follows it.
        offset += token.len();
        offset += line[offset..].len() - line[offset..].trim_start().len();
    }
}

fn construct(code: Code) -> &'static str {
    match code {
        Code::YamlFlowStyle => "flow style",
        Code::YamlAnchor => "an anchor",
        Code::YamlAlias => "an alias",
        _ => "a tag",
    }
}

fn strict_help(code: Code) -> String {
    match code {
        Code::YamlFlowStyle => "write the value in block style: a mapping as `key: value` lines, a list as `- item` lines, or a space-separated string".into(),
        Code::YamlAnchor | Code::YamlAlias => "repeat the value instead of using anchors and aliases".into(),
        _ => "remove the tag; strict frontmatter values are plain strings".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::diagnostic::Mode;

    fn scan_str(yaml: &str) -> (Outline, Vec<(Code, usize, usize)>) {
        let mut r = Reporter::new(Mode::Strict, "SKILL.md".into());
        let outline = scan(yaml, 2, &mut r);
        let found = r
            .diagnostics
            .iter()
            .map(|d| (d.code, d.pos.unwrap().line, d.pos.unwrap().column))
            .collect();
        (outline, found)
    }

    #[test]
    fn finds_keys_values_and_children() {
        let yaml = "name: pdf-tools # trailing comment\ndescription: >\n  Folded: with colon\n  text\nmetadata:\n  version: 1.1\n  'quoted key': \"v\"\n  nested:\n    deep: x\nlicense: MIT\n";
        let (outline, found) = scan_str(yaml);
        assert!(found.is_empty(), "{found:?}");
        let keys: Vec<_> = outline.entries.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["name", "description", "metadata", "license"]);
        let name = outline.get("name").unwrap();
        assert_eq!(name.plain.as_deref(), Some("pdf-tools"));
        assert_eq!(
            (name.key_pos, name.value_pos),
            (Pos::new(2, 1), Pos::new(2, 7))
        );
        assert_eq!(outline.get("description").unwrap().plain, None);
        let metadata = outline.get("metadata").unwrap();
        let children: Vec<_> = metadata.children.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(children, ["version", "quoted key", "nested"]);
        assert_eq!(
            metadata.child("version").unwrap().plain.as_deref(),
            Some("1.1")
        );
        assert_eq!(
            metadata.child("version").unwrap().value_pos,
            Pos::new(7, 12)
        );
    }

    #[test]
    fn reports_constructs_outside_the_strict_subset() {
        let yaml =
            "a: {x: 1}\nb: [1, 2]\nc: &anchor value\nd: *anchor\ne: !!str text\nf:\n  - [nested]\n";
        let (outline, found) = scan_str(yaml);
        assert_eq!(
            found,
            [
                (Code::YamlFlowStyle, 2, 4),
                (Code::YamlFlowStyle, 3, 4),
                (Code::YamlAnchor, 4, 4),
                (Code::YamlAlias, 5, 4),
                (Code::YamlTag, 6, 4),
                (Code::YamlFlowStyle, 8, 5),
            ]
        );
        assert_eq!(outline.get("c").unwrap().plain.as_deref(), Some("value"));
        assert_eq!(outline.get("e").unwrap().plain.as_deref(), Some("text"));
    }

    #[test]
    fn block_scalars_hide_their_content() {
        let yaml = "description: |\n  key: [not flow]\n  *not alias\nname: x\n";
        let (outline, found) = scan_str(yaml);
        assert!(found.is_empty(), "{found:?}");
        assert_eq!(outline.entries.len(), 2);
    }

    #[test]
    fn keys_of_list_items_are_not_their_parents_keys() {
        let yaml = "authors:\n  - name: A\n    github: a\n  - name: B\n    github: b\nmore:\n- name: C\n  github: c\n- name: D\n  github: d\nname: x\n";
        let (outline, found) = scan_str(yaml);
        assert!(found.is_empty(), "{found:?}");
        assert!(!outline.duplicate_keys);
        // A list does not hide a real duplicate that follows it.
        let (_, found) = scan_str("metadata:\n  tags:\n  - a\n  v: 1\n  v: 2\n");
        assert_eq!(found, [(Code::YamlDuplicateKey, 6, 3)]);
        assert!(outline.get("authors").unwrap().children.is_empty());
        assert_eq!(outline.get("name").unwrap().key_pos.line, 12);
    }

    #[test]
    fn duplicate_keys_point_at_the_second() {
        let (outline, found) = scan_str("name: a\nmetadata:\n  v: 1\n  v: 2\nname: b\n");
        assert_eq!(
            found,
            [
                (Code::YamlDuplicateKey, 5, 3),
                (Code::YamlDuplicateKey, 6, 1)
            ]
        );
        assert!(outline.duplicate_keys);
        assert_eq!(outline.get("name").unwrap().plain.as_deref(), Some("a"));
    }

    #[test]
    fn urls_and_times_are_values_not_keys() {
        let (outline, found) = scan_str("homepage: https://example.com:8080/x\ntime: 12:30\n");
        assert!(found.is_empty());
        assert_eq!(
            outline.get("homepage").unwrap().plain.as_deref(),
            Some("https://example.com:8080/x")
        );
        assert_eq!(outline.get("time").unwrap().plain.as_deref(), Some("12:30"));
    }
}
