//! What one bot is served: the installed skills it may run (enabled, and
//! matching its pin), tool skills as tools and prompt skills as prompts,
//! read from the home folder as it is now.

use std::collections::BTreeMap;
use std::path::PathBuf;

use skill_runtime::bots;
use skill_runtime::installed::{self, InstalledMeta};
use skill_runtime::io_schema::IoSchemas;
use skill_runtime::manifest::{self, Mode, SkillManifest, SkillType};
use skill_runtime::{Home, TrustTier};

/// A tool skill: what `tools/list` advertises and `tools/call` checks.
#[derive(Debug)]
pub struct ToolSkill {
    pub description: String,
    /// The tier install recorded: which sandbox workers to keep warm.
    pub tier: TrustTier,
    pub schemas: IoSchemas,
}

/// A prompt skill: a prompt, and resources under `skill://NAME/`.
#[derive(Debug)]
pub struct PromptSkill {
    pub description: String,
    /// The SKILL.md body, what `prompts/get` returns.
    pub body: String,
}

#[derive(Debug, Default)]
pub struct Catalog {
    pub tools: BTreeMap<String, ToolSkill>,
    pub prompts: BTreeMap<String, PromptSkill>,
    /// Installed skills that cannot be served, and why (logged).
    pub skipped: Vec<String>,
}

impl Catalog {
    /// The installed skills `bot` may run, limited to `only` when it is not
    /// empty. A broken skill is skipped with a reason, never fatal: one bad
    /// folder must not take every other tool away.
    pub fn read(home: &Home, bot: &str, only: &[String]) -> Catalog {
        let mut catalog = Catalog::default();
        for (name, dir) in installed_folders(home) {
            if !only.is_empty() && !only.contains(&name) {
                continue;
            }
            match read_one(home, bot, &dir) {
                Ok(Some((meta, manifest))) => catalog.add(meta, manifest),
                Ok(None) => {}
                Err(why) => catalog.skipped.push(format!("{name}: {why}")),
            }
        }
        catalog
    }

    fn add(&mut self, meta: InstalledMeta, manifest: SkillManifest) {
        match manifest.skill_type() {
            SkillType::Tool => match IoSchemas::load(&manifest) {
                Ok(schemas) => {
                    self.tools.insert(
                        meta.name,
                        ToolSkill {
                            tier: meta.trust_tier.parse().unwrap_or(TrustTier::Untrusted),
                            description: manifest.description,
                            schemas,
                        },
                    );
                }
                Err(e) => self.skipped.push(format!("{}: {e}", meta.name)),
            },
            SkillType::Prompt => {
                self.prompts.insert(
                    meta.name,
                    PromptSkill {
                        description: manifest.description,
                        body: manifest.body,
                    },
                );
            }
        }
    }
}

/// Installed skill folders by name, sorted; names that are not valid skill
/// names are not installed skills.
pub fn installed_folders(home: &Home) -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(home.skills_root())
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let dir = installed::installed_dir(home, &name)?;
            Some((name, dir))
        })
        .collect();
    out.sort();
    out
}

/// One installed skill, or `None` when the bot disabled it or pins another
/// version (it is not this bot's to run).
fn read_one(
    home: &Home,
    bot: &str,
    dir: &std::path::Path,
) -> Result<Option<(InstalledMeta, SkillManifest)>, String> {
    let meta = InstalledMeta::read(dir).map_err(|e| format!("{e:#}"))?;
    if bots::for_run(home, bot, &meta.name, meta.version.as_deref()).is_err() {
        return Ok(None);
    }
    let path = manifest::find_manifest(dir).ok_or("it has no SKILL.md; install it again")?;
    let manifest = manifest::parse_file(&path, Mode::Lenient)
        .manifest
        .ok_or_else(|| format!("{} does not parse; install it again", path.display()))?;
    Ok(Some((meta, manifest)))
}
