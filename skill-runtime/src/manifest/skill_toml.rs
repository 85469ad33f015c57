//! `skill.toml`, the manifest of the other agent runtime's core-module
//! skills (blufio's `crates/blufio-skill/src/manifest.rs`), read into the
//! same [`SkillManifest`] as `SKILL.md`: `[skill]` name, version,
//! description, author; `[capabilities]` env names,
//! `[capabilities.network]` domains, `[capabilities.filesystem]` read and
//! write paths; `[resources]` fuel, memory in MB, epoch timeout in seconds;
//! `[wasm]` the module's entry file. Unlike blufio, unknown fields are errors.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::diagnostic::Mode;
use super::diagnostic::{Code, Pos, Reporter};
use super::extensions::{Extensions, SkillType};
use super::model::{Parsed, SkillManifest};
use super::source;
use crate::capabilities::CapabilityDecl;
use crate::limits::tier::LimitRequest;

pub const FILE_NAME: &str = super::model::MANIFEST_NAMES[2];

/// That runtime's defaults, applied when `[resources]` leaves them out.
pub const DEFAULT_FUEL: u64 = 1_000_000_000;
pub const DEFAULT_MEMORY_MB: u64 = 16;
pub const DEFAULT_TIMEOUT_SECS: u64 = 5;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    skill: Spanned<Skill>,
    #[serde(default)]
    capabilities: Capabilities,
    #[serde(default)]
    resources: Resources,
    wasm: Option<Spanned<Wasm>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Skill {
    name: Spanned<String>,
    version: Option<Spanned<String>>,
    description: Option<Spanned<String>>,
    author: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Capabilities {
    #[serde(default)]
    network: Network,
    #[serde(default)]
    filesystem: Filesystem,
    #[serde(default)]
    env: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Network {
    #[serde(default)]
    domains: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Filesystem {
    #[serde(default)]
    read: Vec<Spanned<String>>,
    #[serde(default)]
    write: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Resources {
    fuel: Option<Spanned<u64>>,
    memory_mb: Option<Spanned<u64>>,
    epoch_timeout_secs: Option<Spanned<u64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wasm {
    /// blufio's default when left out: `skill.wasm`.
    entry: Option<Spanned<String>>,
}

/// Line and column of a byte offset.
fn pos_at(text: &str, offset: usize) -> Pos {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before[before.rfind('\n').map_or(0, |i| i + 1)..]
        .chars()
        .count()
        + 1;
    Pos::new(line, column)
}

/// `skill.toml` names: letters, digits, hyphens and underscores.
pub fn name_is_valid(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The agentskills.io form of a `skill.toml` name: lowercase, `_` as `-`.
pub fn spec_name(name: &str) -> String {
    name.to_ascii_lowercase().replace('_', "-")
}

/// Reads and checks `skill.toml` at `path`; its folder is the skill folder.
pub fn parse_file(path: &Path, mode: Mode) -> Parsed {
    let mut reporter = Reporter::new(mode, path.to_path_buf());
    let Some(text) = source::read(path, &mut reporter) else {
        return Parsed {
            manifest: None,
            diagnostics: reporter.diagnostics,
        };
    };
    let mut r = Reporter::new(mode, path.to_path_buf()).with_text(&text);
    let manifest = parse_text(&text, path, &mut r);
    reporter.diagnostics.append(&mut r.diagnostics);
    Parsed {
        manifest,
        diagnostics: reporter.diagnostics,
    }
}

fn parse_text(text: &str, path: &Path, r: &mut Reporter<'_>) -> Option<SkillManifest> {
    let file: File = match toml::from_str(text) {
        Ok(file) => file,
        Err(e) => {
            r.report(
                Code::TomlInvalid,
                e.span().map(|s| pos_at(text, s.start)),
                format!("skill.toml: {}", e.message()),
                Some("see docs/core-abi.md for the fields skill.toml may have".into()),
            );
            return None;
        }
    };
    let at = |span: std::ops::Range<usize>| Some(pos_at(text, span.start));
    let mut positions = BTreeMap::new();
    let skill = file.skill.get_ref();
    let name = skill.name.get_ref().clone();
    positions.insert("name".to_string(), pos_at(text, skill.name.span().start));
    if !name_is_valid(&name) {
        r.report(
            Code::CoreNameInvalid,
            at(skill.name.span()),
            format!("`[skill] name` is `{name}`: it must be non-empty letters, digits, hyphens and underscores"),
            Some("e.g. `name = \"weather_lookup\"`".into()),
        );
    }
    let version = match &skill.version {
        None => {
            r.report(
                Code::TomlFieldMissing,
                at(file.skill.span()),
                "`[skill]` has no `version`: installs and updates need one",
                Some("add `version = \"0.1.0\"`".into()),
            );
            None
        }
        Some(v) => {
            positions.insert("metadata.version".into(), pos_at(text, v.span().start));
            match semver::Version::parse(v.get_ref()) {
                Ok(version) => Some(version),
                Err(e) => {
                    r.report(
                        Code::VersionInvalid,
                        at(v.span()),
                        format!(
                            "`[skill] version` `{}` is not a semantic version: {e}",
                            v.get_ref()
                        ),
                        Some("write MAJOR.MINOR.PATCH, e.g. `1.0.0`".into()),
                    );
                    None
                }
            }
        }
    };
    let description = match &skill.description {
        Some(d) if !d.get_ref().trim().is_empty() => {
            positions.insert("description".into(), pos_at(text, d.span().start));
            d.get_ref().trim().to_string()
        }
        other => {
            r.report(
                Code::DescriptionMissing,
                other
                    .as_ref()
                    .map_or_else(|| at(file.skill.span()), |d| at(d.span())),
                "`[skill]` has no `description`: agents choose skills by it",
                Some("add `description = \"What it does. Use it when ...\"`".into()),
            );
            String::new()
        }
    };
    let capabilities = capabilities(&file.capabilities, text, r, &mut positions);
    let resources = resources(&file.resources, text, r);
    let wasm = file
        .wasm
        .as_ref()
        .and_then(|w| w.get_ref().entry.as_ref())
        .map(|p| {
            positions.insert("metadata.wasm".into(), pos_at(text, p.span().start));
            let relative = Path::new(p.get_ref());
            let inside = !p.get_ref().is_empty()
                && relative.is_relative()
                && !relative
                    .components()
                    .any(|c| matches!(c, std::path::Component::ParentDir));
            if !inside {
                r.report(
                    Code::WasmPathInvalid,
                    at(p.span()),
                    format!(
                        "`[wasm] entry` `{}` is not a relative path inside the skill folder",
                        p.get_ref()
                    ),
                    Some("e.g. `entry = \"skill.wasm\"`".into()),
                );
            }
            p.get_ref().clone()
        });
    let mut metadata = BTreeMap::new();
    if let Some(author) = &skill.author {
        metadata.insert("author".to_string(), author.get_ref().clone());
    }
    Some(SkillManifest {
        path: path.to_path_buf(),
        dir: path.parent().unwrap_or(Path::new(".")).to_path_buf(),
        name,
        description,
        license: None,
        compatibility: None,
        allowed_tools: None,
        metadata,
        ext: Extensions {
            version,
            skill_type: Some(SkillType::Tool),
            capabilities,
            resources,
            wasm,
            ..Extensions::default()
        },
        body: String::new(),
        positions,
    })
}

/// What one `[capabilities]` entry grants, as `SKILL.md` capabilities.
fn entry_grants(field: &str, entry: &str) -> Vec<String> {
    let entry = entry.trim();
    match field {
        // blufio allows a domain and its subdomains, for any method.
        "network.domains" => {
            let hosts = match entry.parse::<std::net::IpAddr>() {
                Ok(std::net::IpAddr::V6(v6)) => vec![format!("[{v6}]")],
                Ok(_) => vec![entry.to_string()],
                Err(_) => vec![entry.to_string(), format!("*.{entry}")],
            };
            ["http-get", "http-post"]
                .iter()
                .flat_map(|cap| hosts.iter().map(move |h| format!("{cap}:{h}")))
                .collect()
        }
        "filesystem.read" => vec![format!("read-file:{}", file_scope(entry))],
        "filesystem.write" => vec![format!("write-file:{}", file_scope(entry))],
        _ => vec![format!("read-env:{entry}")],
    }
}

/// A folder as a scope: no trailing slash, but `/` stays itself (and is refused).
fn file_scope(entry: &str) -> &str {
    match entry.trim_end_matches('/') {
        "" => entry,
        trimmed => trimmed,
    }
}

/// Why a `network.domains` entry cannot be a grant. Addresses that the
/// HTTP client refuses (loopback, private, link-local, metadata) are refused
/// here too, as blufio's SSRF check does: only the operator can grant one.
fn domain_problem(domain: &str) -> Option<String> {
    if domain.contains([':', '/', '*']) && domain.parse::<std::net::IpAddr>().is_err() {
        return Some(format!("`{domain}` is not a bare domain name"));
    }
    let blocked = match domain.parse::<std::net::IpAddr>() {
        Ok(ip) => crate::capabilities::http::blocked_reason(ip),
        Err(_) => (domain.eq_ignore_ascii_case("localhost")).then_some("loopback"),
    };
    blocked.map(|why| {
        format!(
            "`{domain}` is a {why} address, which skills may not name for themselves; an operator who means it grants the skill `http-get:{domain}`"
        )
    })
}

fn entry_help(field: &str) -> String {
    match field {
        "network.domains" => "list bare domain names, e.g. `domains = [\"api.example.com\"]` (subdomains are included)".into(),
        "env" => "list variable names, e.g. `env = [\"TZ\"]`".into(),
        _ => "list absolute host folders (`read = [\"/srv/cache\"]`, approved by the operator at install) or folders inside the skill's data folder (`read = [\"notes\"]`)".into(),
    }
}

/// `network.domains` → `http-get`/`http-post` for each domain and its
/// subdomains, `filesystem` → `read-file` and `write-file` per folder (an
/// absolute host folder, or one inside the data folder), `env` →
/// `read-env` per name; each checked as a `SKILL.md` scope would be.
fn capabilities(
    caps: &Capabilities,
    text: &str,
    r: &mut Reporter<'_>,
    positions: &mut BTreeMap<String, Pos>,
) -> Vec<CapabilityDecl> {
    let groups: [(&[Spanned<String>], &str); 4] = [
        (&caps.network.domains, "network.domains"),
        (&caps.filesystem.read, "filesystem.read"),
        (&caps.filesystem.write, "filesystem.write"),
        (&caps.env, "env"),
    ];
    let mut decls = Vec::new();
    for (entries, field) in groups {
        for entry in entries {
            let at = pos_at(text, entry.span().start);
            positions
                .entry("metadata.capabilities".into())
                .or_insert(at);
            let value = entry.get_ref();
            let parsed: Result<Vec<CapabilityDecl>, String> = if field == "network.domains"
                && let Some(why) = domain_problem(value)
            {
                Err(why)
            } else {
                entry_grants(field, value)
                    .iter()
                    .map(|g| g.parse::<CapabilityDecl>().map_err(|e| e.to_string()))
                    .collect()
            };
            match parsed {
                Ok(mut list) => decls.append(&mut list),
                Err(why) => r.report(
                    Code::CoreCapabilityInvalid,
                    Some(at),
                    format!("`[capabilities] {field}` entry `{value}`: {why}"),
                    Some(entry_help(field)),
                ),
            }
        }
    }
    decls.sort();
    decls.dedup();
    decls
}

fn resources(res: &Resources, text: &str, r: &mut Reporter<'_>) -> LimitRequest {
    let mut value = |field: &str, v: &Option<Spanned<u64>>, default: u64| match v {
        Some(v) if *v.get_ref() == 0 => {
            r.report(
                Code::CoreResourcesInvalid,
                Some(pos_at(text, v.span().start)),
                format!("`[resources] {field}` is 0: nothing could run"),
                Some(format!("leave it out for the default ({default})")),
            );
            default
        }
        Some(v) => *v.get_ref(),
        None => default,
    };
    let fuel = value("fuel", &res.fuel, DEFAULT_FUEL);
    let memory_mb = value("memory_mb", &res.memory_mb, DEFAULT_MEMORY_MB);
    let timeout = value(
        "epoch_timeout_secs",
        &res.epoch_timeout_secs,
        DEFAULT_TIMEOUT_SECS,
    );
    LimitRequest {
        memory_bytes: Some(memory_mb.saturating_mul(1024 * 1024)),
        fuel: Some(fuel),
        timeout: Some(Duration::from_secs(timeout)),
        output_bytes: None,
    }
}

/// Where `SKILL.md` and `skill.toml` of one folder disagree, reported
/// against `SKILL.md`.
pub fn check_agreement(md: &SkillManifest, toml: &SkillManifest, r: &mut Reporter<'_>) {
    let mut differ = |field: &str, position: &str, md_value: String, toml_value: String| {
        if md_value != toml_value {
            r.report(
                Code::ManifestsDisagree,
                md.positions.get(position).copied(),
                format!("SKILL.md says {field} `{md_value}`, skill.toml says `{toml_value}`"),
                Some("make them agree (`cargo skill convert --force` rewrites SKILL.md from skill.toml)".into()),
            );
        }
    };
    differ("name", "name", md.name.clone(), spec_name(&toml.name));
    let version = |m: &SkillManifest| {
        m.ext
            .version
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default()
    };
    differ("version", "metadata.version", version(md), version(toml));
    let caps = |m: &SkillManifest| {
        let mut list: Vec<String> = m.ext.capabilities.iter().map(ToString::to_string).collect();
        list.sort();
        list.join(" ")
    };
    differ(
        "capabilities",
        "metadata.capabilities",
        caps(md),
        caps(toml),
    );
    let wasm = |m: &SkillManifest| m.wasm_path().display().to_string();
    differ("the module path", "metadata.wasm", wasm(md), wasm(toml));
    let resources = |m: &SkillManifest| {
        let r = &m.ext.resources;
        format!(
            "fuel={} memory={} timeout={}",
            r.fuel.map_or("-".into(), |f| f.to_string()),
            r.memory_bytes
                .map_or("-".into(), |b| format!("{}MiB", b >> 20)),
            r.timeout
                .map_or("-".into(), |t| format!("{}s", t.as_secs())),
        )
    };
    differ(
        "resources",
        "metadata.resources",
        resources(md),
        resources(toml),
    );
}
