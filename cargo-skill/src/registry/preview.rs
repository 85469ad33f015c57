//! `preview`: everything about a skill of a source before it is installed
//! (manifest, capabilities after mixins, dependencies, files and size,
//! signature, scan findings), read from the same fetch `install` makes.
//! Nothing is compiled or run.

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use skill_runtime::Home;
use skill_runtime::manifest::{SkillManifest, SkillType};
use skill_runtime::scan::{self, Finding, Risk};
use skill_runtime::validate::graph::SkillSet;

use crate::install::files::SkillFiles;
use crate::install::source::{self, SourceSpec};
use crate::install::source_catalog::skills_in;
use crate::registry::index::Signature;
use crate::signing::keys;

#[derive(Debug, Serialize)]
pub struct Preview {
    pub name: String,
    pub description: String,
    pub version: Option<String>,
    pub skill_type: SkillType,
    /// What `install` takes.
    pub source: String,
    pub commit: Option<String>,
    /// The skill's folder in the source.
    pub path: String,
    /// Mixin ancestors, nearest first.
    pub mixin_chain: Vec<String>,
    /// Its own capabilities and every ancestor's: what install asks to approve.
    pub capabilities: Vec<String>,
    pub secrets: Vec<String>,
    pub dependencies: Vec<String>,
    pub files: Vec<File>,
    pub size: u64,
    pub signature: Signature,
    pub tier: &'static str,
    pub findings: Vec<Finding>,
    /// A finding at `high` or above: install refuses it without `--allow`.
    pub flagged: bool,
    pub manifest: SkillManifest,
}

#[derive(Debug, Serialize)]
pub struct File {
    pub path: String,
    pub size: u64,
}

impl Preview {
    /// What it says for people, after the name and description: labelled
    /// rows, and unlabelled ones (`""`) under the row above (files,
    /// findings).
    pub fn rows(&self) -> Vec<(&'static str, String)> {
        let list = |items: &[String]| {
            if items.is_empty() {
                "none".to_string()
            } else {
                items.join(", ")
            }
        };
        let commit = self
            .commit
            .as_deref()
            .map(|c| format!(" at {}", &c[..c.len().min(12)]))
            .unwrap_or_default();
        let signature = match &self.signature {
            Signature::Unsigned => "unsigned".to_string(),
            Signature::Trusted { key_id } => format!("signed by trusted key {key_id}"),
            Signature::UnknownKey { key_id } => {
                format!("signed by {key_id}, a key not in trusted-keys")
            }
            Signature::Invalid { why } => format!("does not check: {why}"),
            Signature::NotChecked => "not checked".to_string(),
        };
        let mut rows = vec![
            (
                "source",
                format!("{}{commit}, folder {}", self.source, self.path),
            ),
            (
                "signature",
                format!("{signature}; installs as {}", self.tier),
            ),
        ];
        if !self.mixin_chain.is_empty() {
            rows.push(("mixins", self.mixin_chain.join(" → ")));
        }
        rows.push(("capabilities", list(&self.capabilities)));
        rows.push(("secrets", list(&self.secrets)));
        rows.push(("dependencies", list(&self.dependencies)));
        rows.push((
            "files",
            format!("{} files, {}", self.files.len(), size(self.size)),
        ));
        for f in &self.files {
            rows.push(("", format!("{}  {}", f.path, size(f.size))));
        }
        if self.findings.is_empty() {
            rows.push(("scan", "nothing found".into()));
        } else {
            let n = self.findings.len();
            rows.push((
                "scan",
                format!(
                    "{n} finding{}{}",
                    if n == 1 { "" } else { "s" },
                    if self.flagged {
                        "; install refuses it unless the operator passes --allow"
                    } else {
                        ""
                    }
                ),
            ));
            for f in &self.findings {
                rows.push((
                    "",
                    format!(
                        "{}[{}] {}:{}:{}: {}",
                        f.severity, f.rule, f.path, f.line, f.column, f.message
                    ),
                ));
            }
        }
        rows.push((
            "install",
            format!("cargo skill install {} --skill {}", self.source, self.name),
        ));
        rows
    }
}

fn size(bytes: u64) -> String {
    if bytes < 1024 {
        format!("{bytes} B")
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

/// The skill `text` names (`SOURCE@NAME`, or `SOURCE` with `skill`, or a
/// source holding one skill), fetched as `install` fetches it.
pub fn preview(
    home: &Home,
    text: &str,
    skill: Option<&str>,
    offline: bool,
    quiet: bool,
) -> Result<Preview> {
    let (spec, name) = named(text, skill)?;
    let fetched = source::fetch(&spec, &home.cache_dir(), offline, quiet)?;
    let root = fetched
        .checkout
        .as_ref()
        .map_or(fetched.dir.as_path(), |c| c.path());
    let (manifests, refused) = skills_in(&fetched.dir);
    let m = match &name {
        Some(name) => manifests.iter().find(|m| &m.name == name).ok_or_else(|| {
            let why = refused
                .iter()
                .find(|r| r.name.as_deref() == Some(name.as_str()) || r.folder == *name)
                .map(|_| "; a skill of that folder does not read, so install would refuse it (`cargo skill validate` says why)")
                .unwrap_or("");
            anyhow::anyhow!(
                "{} has no skill named `{name}`{why} (it has: {})",
                fetched.source,
                names(&manifests)
            )
        })?,
        None if manifests.len() == 1 => &manifests[0],
        None => bail!(
            "{} holds {} skills ({}): name one as SOURCE@NAME or with --skill",
            fetched.source,
            manifests.len(),
            names(&manifests)
        ),
    };
    let set = SkillSet::new(manifests.iter().collect());
    let files = SkillFiles::read(&m.dir, root, &m.dir)?;
    let mut listed = Vec::new();
    for (path, beneath) in &files.files {
        let size = files.bytes(beneath)?.0.len() as u64;
        listed.push(File {
            path: path.clone(),
            size,
        });
    }
    let trusted = keys::load_trusted(&home.trusted_keys_file())?;
    let signature = Signature::check(&m.dir, &trusted);
    let findings = scan::scan_skill_within(&m.dir, Some(root)).findings;
    Ok(Preview {
        name: m.name.clone(),
        description: m.description.clone(),
        version: m.ext.version.as_ref().map(ToString::to_string),
        skill_type: m.skill_type(),
        source: fetched.source.clone(),
        commit: fetched.commit.clone(),
        path: relative(&m.dir, &fetched.dir),
        mixin_chain: set.ancestors(m).iter().map(|a| a.name.clone()).collect(),
        capabilities: set
            .resolved_capabilities(m)
            .iter()
            .map(ToString::to_string)
            .collect(),
        secrets: m.ext.secrets.clone(),
        dependencies: m
            .ext
            .dependencies
            .iter()
            .map(|d| format!("{}@{}", d.name, d.req))
            .collect(),
        size: listed.iter().map(|f| f.size).sum(),
        files: listed,
        tier: signature.tier(),
        signature,
        flagged: findings.iter().any(|f| f.severity >= Risk::High),
        findings,
        manifest: m.clone(),
    })
}

/// The source and the skill's name: `owner/repo@name` as install reads it,
/// and also `URL@name`.
fn named(text: &str, skill: Option<&str>) -> Result<(SourceSpec, Option<String>)> {
    let mut spec = source::parse(text);
    let unnamed = match &spec {
        Ok(s) => s.skill.is_none() && !Path::new(text).exists(),
        Err(_) => true,
    };
    if unnamed
        && let Some((left, name)) = text.rsplit_once('@')
        && !name.contains('/')
        && skill_runtime::manifest::skill_name::check(name).is_ok()
    {
        let mut parsed = source::parse(left)?;
        parsed.skill = Some(name.to_string());
        spec = Ok(parsed);
    }
    let spec = spec?;
    let name = match (skill, &spec.skill) {
        (Some(a), Some(b)) if a != b => bail!("`{text}` names `{b}` but --skill says `{a}`"),
        (Some(a), _) => Some(a.to_string()),
        (None, b) => b.clone(),
    };
    if let Some(name) = &name {
        skill_runtime::manifest::skill_name::check(name)
            .with_context(|| format!("`{name}` is not a skill name"))?;
    }
    Ok((spec, name))
}

fn names(manifests: &[SkillManifest]) -> String {
    let mut names: Vec<&str> = manifests.iter().map(|m| m.name.as_str()).collect();
    names.sort_unstable();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

fn relative(dir: &Path, root: &Path) -> String {
    match dir.strip_prefix(root) {
        Ok(rel) if rel.as_os_str().is_empty() => ".".into(),
        Ok(rel) => rel.to_string_lossy().into_owned(),
        Err(_) => dir.to_string_lossy().into_owned(),
    }
}
