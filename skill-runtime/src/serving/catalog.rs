//! What one bot is served: the installed skills it may run (enabled, and
//! matching its pin), tool skills as tools and prompt skills as prompts,
//! read from the home folder as it is now.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::limits::tier::TrustTier;
use crate::manifest::io_schema::IoSchemas;
use crate::manifest::{SkillManifest, SkillType};
use crate::store::bots::BotSkills;
use crate::store::home::Home;
use crate::store::installed::{self, InstalledMeta};

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
        let (folders, settings) = match (installed::dirs(home), BotSkills::read(home, bot)) {
            (Ok(folders), Ok(settings)) => (folders, settings),
            (Err(e), _) | (_, Err(e)) => {
                catalog.skipped.push(format!("every skill: {e:#}"));
                return catalog;
            }
        };
        let folders: Vec<(String, PathBuf)> = folders
            .into_iter()
            .filter(|(name, _)| only.is_empty() || only.contains(name))
            .collect();
        for ((name, _), read) in folders.iter().zip(read_all(&folders)) {
            match read {
                // Disabled for this bot, or pinned to another version: not its to run.
                Ok((meta, _))
                    if settings
                        .for_run(bot, &meta.name, meta.version.as_deref())
                        .is_err() => {}
                Ok((meta, manifest)) => catalog.add(meta, manifest),
                Err(e) => catalog.skipped.push(format!("{name}: {e:#}")),
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

type Read = crate::store::error::Result<(InstalledMeta, SkillManifest)>;

/// Every folder's metadata and manifest, in order, read on all cores: with
/// a thousand skills this is most of what starting a server costs.
fn read_all(folders: &[(String, PathBuf)]) -> Vec<Read> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let chunk = folders.len().div_ceil(threads).max(64);
    if folders.len() <= chunk {
        return folders
            .iter()
            .map(|(_, dir)| installed::read_with_manifest(dir))
            .collect();
    }
    std::thread::scope(|scope| {
        let parts: Vec<_> = folders
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|(_, dir)| installed::read_with_manifest(dir))
                        .collect::<Vec<Read>>()
                })
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|part| part.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}
