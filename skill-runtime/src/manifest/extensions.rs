//! This project's extension fields. They live under `metadata` as strings so
//! strict agentskills.io validators still accept the skill.

use std::collections::BTreeMap;
use std::time::Duration;

use semver::{Version, VersionReq};
use serde::Serialize;

use super::diagnostic::{Code, Pos, Reporter};
use super::fields::MetadataValue;
use crate::capabilities::decl::{CapabilityDecl, DeclError, check_upper_snake};
use crate::limits::tier::{LimitRequest, TrustTier};

/// What the frontmatter's `metadata` adds for this toolchain.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Extensions {
    pub version: Option<Version>,
    pub skill_type: Option<SkillType>,
    pub capabilities: Vec<CapabilityDecl>,
    pub secrets: Vec<String>,
    pub dependencies: Vec<Dependency>,
    pub conflicts_with: Vec<String>,
    pub parents: Vec<String>,
    pub trust_tier: Option<TrustTier>,
    #[serde(skip)]
    pub resources: LimitRequest,
    pub wasm: Option<String>,
    /// JSON Schema files for `execute`'s input and output (see `io_schema`).
    pub input_schema: Option<String>,
    pub output_schema: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SkillType {
    Prompt,
    Tool,
}

/// `name@requirement`; a bare name means any version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dependency {
    pub name: String,
    #[serde(serialize_with = "serialize_display")]
    pub req: VersionReq,
}

fn serialize_display<S: serde::Serializer>(v: &VersionReq, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

pub const EXTENSION_KEYS: [&str; 12] = [
    "version",
    "skill-type",
    "capabilities",
    "secrets",
    "dependencies",
    "conflicts-with",
    "parents",
    "trust-tier",
    "resources",
    "wasm",
    "input-schema",
    "output-schema",
];

pub fn read(metadata: &BTreeMap<String, MetadataValue>, r: &mut Reporter<'_>) -> Extensions {
    let mut ext = Extensions::default();
    for (key, value) in metadata {
        if !EXTENSION_KEYS.contains(&key.as_str()) {
            continue;
        }
        let list_field = matches!(
            key.as_str(),
            "capabilities" | "secrets" | "dependencies" | "conflicts-with" | "parents"
        );
        if value.was_list {
            if list_field {
                r.report(
                    Code::ExtensionList,
                    value.pos,
                    format!("`metadata.{key}` is a YAML list; strict validators need a string"),
                    Some(format!(
                        "write it as one string: `{key}: \"{}\"`",
                        value.text
                    )),
                );
            } else {
                r.report(
                    scalar_code(key),
                    value.pos,
                    format!("`metadata.{key}` must be a single value, not a list"),
                    None,
                );
                continue;
            }
        }
        let tokens = Tokens { key, value };
        match key.as_str() {
            "version" => ext.version = read_version(value, r),
            "skill-type" => {
                ext.skill_type =
                    tokens.one(
                        r,
                        Code::SkillTypeInvalid,
                        "`prompt` or `tool`",
                        |t| match t {
                            "prompt" => Ok(SkillType::Prompt),
                            "tool" => Ok(SkillType::Tool),
                            other => Err(format!("unknown skill type `{other}`")),
                        },
                    )
            }
            "trust-tier" => {
                ext.trust_tier = tokens.one(
                    r,
                    Code::TrustTierInvalid,
                    "untrusted, verified or local",
                    |t| t.parse::<TrustTier>().map_err(|e| e.to_string()),
                )
            }
            "wasm" => {
                ext.wasm = tokens.one(
                    r,
                    Code::WasmPathInvalid,
                    "a relative path such as `skill.wasm`",
                    |t| check_relative_path(t).map(|()| t.to_string()),
                )
            }
            "input-schema" | "output-schema" => {
                let path = tokens.one(
                    r,
                    Code::SchemaPathInvalid,
                    "a relative path such as `input.schema.json`",
                    |t| check_relative_path(t).map(|()| t.to_string()),
                );
                match key.as_str() {
                    "input-schema" => ext.input_schema = path,
                    _ => ext.output_schema = path,
                }
            }
            "capabilities" => ext.capabilities = tokens.each_coded(r, parse_capability),
            "secrets" => {
                ext.secrets = tokens.each(r, Code::SecretInvalid, |t| {
                    check_upper_snake(t).map(|()| t.to_string())
                })
            }
            "dependencies" => {
                ext.dependencies = tokens.each(r, Code::DependencyInvalid, parse_dependency)
            }
            "conflicts-with" => {
                ext.conflicts_with = tokens.each(r, Code::ConflictInvalid, |t| {
                    check_skill_name(t).map(|()| t.to_string())
                })
            }
            "parents" => {
                ext.parents = tokens.each(r, Code::ParentInvalid, |t| {
                    check_skill_name(t).map(|()| t.to_string())
                })
            }
            "resources" => ext.resources = tokens.resources(r),
            _ => unreachable!("EXTENSION_KEYS and this match list the same keys"),
        }
    }
    ext
}

/// A semantic version; the short forms the specification itself uses
/// (`"1.0"`, `"1"`) read as `1.0.0` with a warning, since the reference
/// validator accepts them.
fn read_version(value: &MetadataValue, r: &mut Reporter<'_>) -> Option<Version> {
    let text = value.text.trim();
    if let Ok(version) = Version::parse(text) {
        return Some(version);
    }
    if let Some(version) = loose_version(text) {
        r.report(
            Code::VersionLoose,
            value.pos,
            format!("`metadata.version: {text}` is read as {version}"),
            Some(format!(
                "write the full semantic version `\"{version}\"`; `publish` needs it"
            )),
        );
        return Some(version);
    }
    r.report(
        Code::VersionInvalid,
        value.pos,
        format!("`metadata.version: {text}` is not a semantic version"),
        Some("expected a semantic version such as \"1.2.0\"".into()),
    );
    None
}

/// `1` and `1.2` (plain numbers, no leading zeros) as `1.0.0` and `1.2.0`.
fn loose_version(text: &str) -> Option<Version> {
    let parts: Vec<&str> = text.split('.').collect();
    if parts.len() > 2 {
        return None;
    }
    let mut numbers = parts.iter().map(|p| {
        let plain = !p.is_empty()
            && p.len() <= 9
            && p.bytes().all(|b| b.is_ascii_digit())
            && (p.len() == 1 || !p.starts_with('0'));
        plain.then(|| p.parse::<u64>().ok()).flatten()
    });
    let major = numbers.next()??;
    let minor = numbers.next().unwrap_or(Some(0))?;
    Some(Version::new(major, minor, 0))
}

fn scalar_code(key: &str) -> Code {
    match key {
        "version" => Code::VersionInvalid,
        "skill-type" => Code::SkillTypeInvalid,
        "trust-tier" => Code::TrustTierInvalid,
        "resources" => Code::ResourcesInvalid,
        "input-schema" | "output-schema" => Code::SchemaPathInvalid,
        _ => Code::WasmPathInvalid,
    }
}

/// The space-separated tokens of one extension value, with their positions.
struct Tokens<'a> {
    key: &'a str,
    value: &'a MetadataValue,
}

impl Tokens<'_> {
    fn iter(&self) -> impl Iterator<Item = (&str, Option<Pos>)> {
        let text = self.value.text.as_str();
        let base = if self.value.was_list {
            None
        } else {
            self.value.pos
        };
        text.split_whitespace().map(move |token| {
            let offset = text[..token.as_ptr() as usize - text.as_ptr() as usize]
                .chars()
                .count();
            (token, base.map(|p| Pos::new(p.line, p.column + offset)))
        })
    }

    fn one<T>(
        &self,
        r: &mut Reporter<'_>,
        code: Code,
        expected: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        let text = self.value.text.trim();
        match parse(text) {
            Ok(v) => Some(v),
            Err(e) => {
                r.report(
                    code,
                    self.value.pos,
                    format!("`metadata.{}: {text}` is invalid: {e}", self.key),
                    Some(format!("expected {expected}")),
                );
                None
            }
        }
    }

    fn each<T>(
        &self,
        r: &mut Reporter<'_>,
        code: Code,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Vec<T> {
        self.each_coded(r, |t| parse(t).map_err(|e| (code, e)))
    }

    /// Like `each`, for parsers that tell which code applies.
    fn each_coded<T>(
        &self,
        r: &mut Reporter<'_>,
        parse: impl Fn(&str) -> Result<T, (Code, String)>,
    ) -> Vec<T> {
        let mut out = Vec::new();
        for (token, pos) in self.iter() {
            match parse(token) {
                Ok(v) => out.push(v),
                Err((code, e)) => r.report(
                    code,
                    pos,
                    format!("`{token}` in `metadata.{}`: {e}", self.key),
                    Some(help_for(code)),
                ),
            }
        }
        out
    }

    fn resources(&self, r: &mut Reporter<'_>) -> LimitRequest {
        let mut req = LimitRequest::default();
        for (token, pos) in self.iter() {
            if let Err(e) = apply_resource(&mut req, token) {
                r.report(
                    Code::ResourcesInvalid,
                    pos,
                    format!("`{token}` in `metadata.resources`: {e}"),
                    Some(help_for(Code::ResourcesInvalid)),
                );
            }
        }
        req
    }
}

fn help_for(code: Code) -> String {
    match code {
        Code::CapabilityUnknown => "capabilities are recall-memory, http-get, http-post, read-file, write-file, get-secret, read-env, each optionally `:scope` (`http-get:api.example.com`, `read-file:cache`)".into(),
        Code::CapabilityScopeInvalid => "scopes are host patterns for http (`api.example.com`, `*.example.com:8443`), relative folders for files (`read-file:cache`), and names for secrets and env (`get-secret:API_KEY`)".into(),
        Code::SecretInvalid => "secret names are UPPER_SNAKE_CASE, e.g. `OPENWEATHER_API_KEY`".into(),
        Code::DependencyInvalid => "write `name@requirement`, e.g. `geo-lookup@^1.2` or `formatter@>=0.3,<0.5`".into(),
        Code::ResourcesInvalid => "write `fuel=2000000 memory=32MiB timeout=5s output=1MiB`".into(),
        _ => "use a skill name: lowercase letters, digits and single hyphens".into(),
    }
}

fn check_relative_path(path: &str) -> Result<(), String> {
    let p = std::path::Path::new(path);
    if path.is_empty() || path.contains('\0') || p.is_absolute() || path.starts_with('\\') {
        return Err(format!("`{path}` must be a relative path"));
    }
    if p.components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(format!("`{path}` leaves the skill folder with `..`"));
    }
    Ok(())
}

/// The capability's own error, with the code that tells the two apart.
fn parse_capability(token: &str) -> Result<CapabilityDecl, (Code, String)> {
    token.parse().map_err(|e: DeclError| {
        let code = match e {
            DeclError::Unknown(_) => Code::CapabilityUnknown,
            DeclError::Scope(_) => Code::CapabilityScopeInvalid,
        };
        (code, e.to_string())
    })
}

/// The spec's name rule, for names this toolchain references; the same
/// rule that decides whether a name may become a folder.
pub fn check_skill_name(name: &str) -> Result<(), String> {
    crate::manifest::skill_name::check(name).map_err(|e| e.to_string())
}

fn parse_dependency(token: &str) -> Result<Dependency, String> {
    let (name, req) = match token.split_once('@') {
        Some((name, req)) => (name, req),
        None => (token, "*"),
    };
    check_skill_name(name)?;
    let req =
        VersionReq::parse(req).map_err(|e| format!("`{req}` is not a version requirement: {e}"))?;
    Ok(Dependency {
        name: name.to_string(),
        req,
    })
}

/// One `key=value` of `metadata.resources` (and of `grant NAME fuel=2M`)
/// applied to `req`.
pub fn apply_resource(req: &mut LimitRequest, token: &str) -> Result<(), String> {
    let (key, value) = token.split_once('=').ok_or("expected `key=value`")?;
    match key {
        "fuel" => req.fuel = Some(parse_count(value)?),
        "memory" => req.memory_bytes = Some(parse_size(value)?),
        "output" => req.output_bytes = Some(parse_size(value)?),
        "timeout" => req.timeout = Some(parse_duration(value)?),
        other => {
            return Err(format!(
                "unknown resource `{other}`; expected fuel, memory, timeout or output"
            ));
        }
    }
    Ok(())
}

/// `2000000`, `2_000_000`, `2M`, `500k`, `1G`.
pub fn parse_count(text: &str) -> Result<u64, String> {
    let (n, unit) = split_number(
        &text.replace('_', ""),
        "a whole number such as 2000000 or 2M",
    )?;
    let factor: u64 = match unit.as_str() {
        "" => 1,
        "k" | "K" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        other => return Err(format!("unknown unit `{other}` in `{text}`; use k, M or G")),
    };
    n.checked_mul(factor)
        .ok_or_else(|| format!("`{text}` is too large"))
}

pub fn parse_size(text: &str) -> Result<u64, String> {
    let (n, unit) = split_number(text, "a size such as 32MiB")?;
    let factor: u64 = match unit.as_str() {
        "" | "B" => 1,
        "KiB" | "K" => 1 << 10,
        "MiB" | "M" => 1 << 20,
        "GiB" | "G" => 1 << 30,
        "KB" | "kB" => 1000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        other => {
            return Err(format!(
                "unknown size unit `{other}`; use B, KiB, MiB or GiB"
            ));
        }
    };
    n.checked_mul(factor)
        .ok_or_else(|| format!("`{text}` is too large"))
}

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let (n, unit) = split_number(text, "a duration such as 5s")?;
    match unit.as_str() {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" | "min" => n
            .checked_mul(60)
            .map(Duration::from_secs)
            .ok_or_else(|| format!("`{text}` is too long")),
        other => Err(format!("unknown duration unit `{other}`; use ms, s or m")),
    }
}

/// `32MiB` -> (32, "MiB").
fn split_number(text: &str, expected: &str) -> Result<(u64, String), String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n = number
        .parse()
        .map_err(|_| format!("`{text}` is not {expected}"))?;
    Ok((n, unit.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_durations_and_dependencies_parse() {
        assert_eq!(parse_size("32MiB"), Ok(32 << 20));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert_eq!(parse_count("2M"), Ok(2_000_000));
        assert_eq!(parse_count("1_500"), Ok(1500));
        assert!(parse_count("2 million").is_err());
        assert!(parse_size("3 parsecs").is_err());
        assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("5").is_err());
        let dep = parse_dependency("geo-lookup@^1.2").unwrap();
        assert_eq!(
            (dep.name.as_str(), dep.req.to_string().as_str()),
            ("geo-lookup", "^1.2")
        );
        assert_eq!(parse_dependency("any").unwrap().req, VersionReq::STAR);
        assert!(parse_dependency("Bad@1").is_err());
        assert!(parse_dependency("ok@not-a-req").is_err());
    }

    #[test]
    fn short_versions_read_as_full_ones() {
        assert_eq!(loose_version("1.0"), Some(Version::new(1, 0, 0)));
        assert_eq!(loose_version("1"), Some(Version::new(1, 0, 0)));
        assert_eq!(loose_version("2.13"), Some(Version::new(2, 13, 0)));
        for bad in [
            "", "1.", ".1", "01", "1.02", "v1", "1.0.0.0", "latest", "1.x",
        ] {
            assert_eq!(loose_version(bad), None, "{bad}");
        }
    }
}
