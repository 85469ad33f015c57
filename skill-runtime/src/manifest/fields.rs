//! The six agentskills.io frontmatter fields, checked as the reference
//! validator checks them.

use std::collections::BTreeMap;

use serde_yaml_ng::{Mapping, Value};
use unicode_normalization::UnicodeNormalization;

use super::diagnostic::{Code, Pos, Reporter};
use super::outline::{Entry, Outline};

pub const SPEC_FIELDS: [&str; 6] = [
    "name",
    "description",
    "license",
    "compatibility",
    "metadata",
    "allowed-tools",
];
pub const MAX_NAME_CHARS: usize = 64;
pub const MAX_DESCRIPTION_CHARS: usize = 1024;
pub const MAX_COMPATIBILITY_CHARS: usize = 500;

/// The spec fields of one manifest, as strings (never coerced).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpecFields {
    pub name: String,
    pub description: String,
    pub license: Option<String>,
    pub compatibility: Option<String>,
    pub allowed_tools: Option<String>,
    pub metadata: BTreeMap<String, MetadataValue>,
}

/// A `metadata` value: a string, or a YAML list accepted leniently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataValue {
    pub text: String,
    /// It was written as a YAML list (items joined with spaces).
    pub was_list: bool,
    pub pos: Option<Pos>,
}

pub fn read(
    map: &Mapping,
    outline: &Outline,
    dir_name: Option<&str>,
    r: &mut Reporter<'_>,
) -> SpecFields {
    let mut fields = SpecFields::default();
    for (key, value) in map {
        let key = key_text(key);
        let entry = outline.get(&key);
        let pos = entry.map(|e| e.value_pos);
        match key.as_str() {
            "name" => fields.name = read_name(value, entry, dir_name, r),
            "description" => fields.description = read_description(value, entry, r),
            "license" => fields.license = read_string_field(value, entry, "license", Code::LicenseInvalid, r),
            "compatibility" => {
                fields.compatibility = read_string_field(value, entry, "compatibility", Code::CompatibilityInvalid, r);
                let chars = fields.compatibility.as_deref().map_or(0, |c| c.chars().count());
                if chars > MAX_COMPATIBILITY_CHARS {
                    r.report(Code::CompatibilityTooLong, pos, format!("`compatibility` is {chars} characters; the limit is {MAX_COMPATIBILITY_CHARS}"), Some("shorten it to the environments the skill needs".into()));
                }
            }
            "allowed-tools" => fields.allowed_tools = read_allowed_tools(value, entry, r),
            "metadata" => fields.metadata = read_metadata(value, entry, r),
            other => r.report(
                Code::UnexpectedField,
                entry.map(|e| e.key_pos),
                format!("`{other}` is not an agentskills.io frontmatter field"),
                Some(format!(
                    "move it under `metadata:` as a string (`metadata:\\n  {other}: \"...\"`); the spec allows only {}",
                    SPEC_FIELDS.join(", ")
                )),
            ),
        }
    }
    let first_line = Some(Pos::new(2, 1));
    if !map.contains_key("name") {
        r.report(
            Code::NameMissing,
            first_line,
            "the required field `name` is missing",
            Some("add `name: <folder-name>` (lowercase letters, digits and hyphens)".into()),
        );
    }
    if !map.contains_key("description") {
        r.report(
            Code::DescriptionMissing,
            first_line,
            "the required field `description` is missing",
            Some("add `description:` saying what the skill does and when to use it".into()),
        );
    }
    fields
}

fn key_text(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        other => serde_yaml_ng::to_string(other)
            .map(|s| s.trim_end().to_string())
            .unwrap_or_default(),
    }
}

fn read_name(
    value: &Value,
    entry: Option<&Entry>,
    dir_name: Option<&str>,
    r: &mut Reporter<'_>,
) -> String {
    let pos = entry.map(|e| e.value_pos);
    let Some(raw) = scalar_text("name", value, entry, r).filter(|s| !s.trim().is_empty()) else {
        r.report(
            Code::NameEmpty,
            pos,
            format!("`name` must be a non-empty string, not {}", describe(value)),
            Some("set it to the skill's folder name".into()),
        );
        return String::new();
    };
    let name: String = raw.trim().nfkc().collect();
    let chars = name.chars().count();
    if chars > MAX_NAME_CHARS {
        r.report(
            Code::NameTooLong,
            pos,
            format!("`{name}` is {chars} characters; the limit is {MAX_NAME_CHARS}"),
            Some("shorten the name (and rename the folder to match)".into()),
        );
    }
    if name != name.to_lowercase() {
        r.report(
            Code::NameNotLowercase,
            pos,
            format!("`{name}` must be lowercase"),
            Some(format!("use `{}`", name.to_lowercase())),
        );
    }
    if name.starts_with('-') || name.ends_with('-') || name.contains("--") {
        r.report(
            Code::NameHyphens,
            pos,
            format!("`{name}` starts or ends with a hyphen or has two in a row"),
            Some("use single hyphens between words only".into()),
        );
    }
    if let Some(bad) = name.chars().find(|c| !(c.is_alphanumeric() || *c == '-')) {
        r.report(
            Code::NameInvalidChars,
            pos,
            format!("`{name}` contains `{bad}`; only letters, digits and hyphens are allowed"),
            Some(format!("try `{}`", suggest_name(&name))),
        );
    }
    if let Some(dir) = dir_name {
        let dir: String = dir.nfkc().collect();
        if dir != name {
            r.report(
                Code::NameDirMismatch,
                pos,
                format!("the name `{name}` differs from the folder name `{dir}`"),
                Some(format!(
                    "rename the folder to `{name}`, or set `name: {dir}`"
                )),
            );
        }
    }
    name
}

/// A spec-valid name close to `name`, for help texts.
pub fn suggest_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.to_lowercase().chars() {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-')
        .chars()
        .take(MAX_NAME_CHARS)
        .collect::<String>()
        .trim_end_matches('-')
        .to_string()
}

fn read_description(value: &Value, entry: Option<&Entry>, r: &mut Reporter<'_>) -> String {
    let pos = entry.map(|e| e.value_pos);
    let Some(text) = scalar_text("description", value, entry, r).filter(|s| !s.trim().is_empty())
    else {
        r.report(
            Code::DescriptionEmpty,
            pos,
            format!(
                "`description` must be a non-empty string, not {}",
                describe(value)
            ),
            Some("say what the skill does and when an agent should use it".into()),
        );
        return String::new();
    };
    let chars = text.chars().count();
    if chars > MAX_DESCRIPTION_CHARS {
        r.report(
            Code::DescriptionTooLong,
            pos,
            format!("`description` is {chars} characters; the limit is {MAX_DESCRIPTION_CHARS}"),
            Some("keep the description to what and when; move detail into the body".into()),
        );
    }
    text
}

fn read_string_field(
    value: &Value,
    entry: Option<&Entry>,
    key: &str,
    code: Code,
    r: &mut Reporter<'_>,
) -> Option<String> {
    let text = scalar_text(key, value, entry, r);
    if text.is_none() {
        r.report(
            code,
            entry.map(|e| e.value_pos),
            format!("`{key}` must be a string"),
            Some(format!("write `{key}: <text>` on one line")),
        );
    }
    text
}

fn read_allowed_tools(
    value: &Value,
    entry: Option<&Entry>,
    r: &mut Reporter<'_>,
) -> Option<String> {
    if let Some(text) = scalar_text("allowed-tools", value, entry, r) {
        return Some(text);
    }
    if let Value::Sequence(items) = value
        && let Some(items) = items.iter().map(|v| v.as_str()).collect::<Option<Vec<_>>>()
    {
        return Some(items.join(" "));
    }
    r.report(
        Code::AllowedToolsInvalid,
        entry.map(|e| e.value_pos),
        "`allowed-tools` must be a string or a list of strings",
        Some("write the tools space-separated: `allowed-tools: Read Bash(git:*)`".into()),
    );
    None
}

fn read_metadata(
    value: &Value,
    entry: Option<&Entry>,
    r: &mut Reporter<'_>,
) -> BTreeMap<String, MetadataValue> {
    let mut metadata = BTreeMap::new();
    let Value::Mapping(map) = strip_tag(value) else {
        if !matches!(value, Value::Null) {
            r.report(
                Code::MetadataNotMapping,
                entry.map(|e| e.value_pos),
                "`metadata` must be a mapping of keys to strings",
                Some("write one `key: \"value\"` per line, indented under `metadata:`".into()),
            );
        }
        return metadata;
    };
    for (key, value) in map {
        let key = key_text(key);
        let child = entry.and_then(|e| e.child(&key));
        let pos = child.map(|c| c.value_pos);
        if let Some(text) = scalar_text(&key, value, child, r) {
            metadata.insert(
                key,
                MetadataValue {
                    text,
                    was_list: false,
                    pos,
                },
            );
            continue;
        }
        if let Value::Sequence(items) = strip_tag(value)
            && let Some(items) = items.iter().map(scalar_string).collect::<Option<Vec<_>>>()
        {
            metadata.insert(
                key,
                MetadataValue {
                    text: items.join(" "),
                    was_list: true,
                    pos,
                },
            );
            continue;
        }
        r.report(
            Code::MetadataValueNotString,
            pos,
            format!("`metadata.{key}` is a mapping; metadata values are strings"),
            Some(format!(
                "flatten it into string keys such as `{key}-<field>: \"...\"`"
            )),
        );
    }
    metadata
}

/// What a value is, for "must be a string, not ..." messages.
fn describe(value: &Value) -> &'static str {
    match strip_tag(value) {
        Value::Mapping(_) => "a mapping",
        Value::Sequence(_) => "a list",
        _ => "an empty value",
    }
}

fn strip_tag(value: &Value) -> &Value {
    match value {
        Value::Tagged(tagged) => strip_tag(&tagged.value),
        other => other,
    }
}

fn scalar_string(value: &Value) -> Option<String> {
    match strip_tag(value) {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some(String::new()),
        Value::Sequence(_) | Value::Mapping(_) | Value::Tagged(_) => None,
    }
}

/// A scalar read as a string the way strict YAML reads it: the text as
/// written, never coerced. Warns when YAML loaders would type it.
pub(crate) fn scalar_text(
    key: &str,
    value: &Value,
    entry: Option<&Entry>,
    r: &mut Reporter<'_>,
) -> Option<String> {
    let parsed = scalar_string(value)?;
    let Some(plain) = entry.and_then(|e| e.plain.as_deref()) else {
        return Some(parsed);
    };
    if let Some(kind) = yaml_type_of(plain) {
        r.report(
            Code::YamlTypedValue,
            entry.map(|e| e.value_pos),
            format!("`{plain}` is read as a {kind} by YAML loaders, not as the string `{plain}`"),
            Some(format!("quote it: `{key}: \"{plain}\"`")),
        );
    }
    Some(plain.to_string())
}

/// The type YAML 1.1 or 1.2 loaders give an unquoted scalar, if not string.
pub fn yaml_type_of(plain: &str) -> Option<&'static str> {
    const NULLS: [&str; 4] = ["~", "null", "Null", "NULL"];
    const BOOLS: [&str; 8] = ["true", "false", "yes", "no", "on", "off", "y", "n"];
    if NULLS.contains(&plain) {
        return Some("null");
    }
    if BOOLS.iter().any(|b| b.eq_ignore_ascii_case(plain)) {
        return Some("boolean");
    }
    let digits = plain.trim_start_matches(['-', '+']).replace('_', "");
    let is_number = (!digits.is_empty()
        && digits.parse::<f64>().is_ok()
        && !digits.starts_with(['i', 'I', 'n', 'N']))
        || [".inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN"].contains(&digits.as_str())
        || ["0x", "0o", "0b"].iter().any(|p| {
            digits.len() > 2
                && digits.starts_with(p)
                && digits[2..].chars().all(|c| c.is_ascii_hexdigit())
        });
    if is_number {
        return Some("number");
    }
    let b = plain.as_bytes();
    if b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[8..10].iter().all(u8::is_ascii_digit)
    {
        return Some("date");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_scalars_are_recognised() {
        for (plain, kind) in [
            ("1.1", "number"),
            ("42", "number"),
            ("-3e4", "number"),
            ("1_000", "number"),
            ("0x1F", "number"),
            (".inf", "number"),
            ("yes", "boolean"),
            ("Off", "boolean"),
            ("~", "null"),
            ("2024-01-31", "date"),
        ] {
            assert_eq!(yaml_type_of(plain), Some(kind), "{plain}");
        }
        for plain in [
            "1.0.0",
            "v1",
            "pdf-tools",
            "infinity",
            "nan",
            "0x",
            "2024-1",
            "MIT",
            "none",
        ] {
            assert_eq!(yaml_type_of(plain), None, "{plain}");
        }
    }

    #[test]
    fn suggested_names_are_spec_valid() {
        assert_eq!(suggest_name("PDF Tools!"), "pdf-tools");
        assert_eq!(suggest_name("--a__b--"), "a-b");
        assert_eq!(suggest_name("Grüße"), "grüße");
    }
}
