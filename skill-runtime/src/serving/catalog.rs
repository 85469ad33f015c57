//! What one bot is served: the installed skills it may run (enabled, and
//! matching its pin), tool skills as tools and prompt skills as prompts,
//! read from the home folder as it is now.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::chain::{Chains, check};
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

/// A chain of the bot's, served as one tool: it takes what its first step
/// takes and gives what its last step gives.
#[derive(Debug)]
pub struct ChainTool {
    pub description: String,
    /// The first step's input schema, when it declares one and takes the
    /// chain's input as it is.
    pub input: Option<serde_json::Map<String, serde_json::Value>>,
    /// The last step's output schema.
    pub output: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Debug, Default)]
pub struct Catalog {
    pub tools: BTreeMap<String, ToolSkill>,
    pub prompts: BTreeMap<String, PromptSkill>,
    /// The bot's chains whose steps are all served tools.
    pub chains: BTreeMap<String, ChainTool>,
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
        catalog.add_chains(home, bot, only);
        catalog
    }

    /// The bot's chains (those named in `only`, when it is not empty).
    fn add_chains(&mut self, home: &Home, bot: &str, only: &[String]) {
        let chains = match Chains::read(home, bot) {
            Ok(chains) => chains,
            Err(e) => {
                self.skipped.push(format!("every chain: {e}"));
                return;
            }
        };
        for problem in check::named_like_a_skill(home, &chains) {
            self.skipped.push(problem.to_string());
        }
        for chain in &chains.chains {
            if !only.is_empty() && !only.contains(&chain.name)
                || installed::installed_dir(home, &chain.name).is_some()
            {
                continue;
            }
            let unserved: Vec<&str> = chain
                .steps
                .iter()
                .map(|s| s.skill.as_str())
                .filter(|s| !self.tools.contains_key(*s))
                .collect();
            if !unserved.is_empty() {
                self.skipped.push(format!(
                    "{}: chain `{}`: its steps {} are not tools this bot is served",
                    chain.at,
                    chain.name,
                    unserved.join(", ")
                ));
                continue;
            }
            let (Some(first), Some(last)) = (chain.steps.first(), chain.steps.last()) else {
                continue;
            };
            let schema = |step: &str, output: bool| {
                let schemas = &self.tools[step].schemas;
                let schema = if output {
                    &schemas.output
                } else {
                    &schemas.input
                };
                schema.as_ref().map(|s| s.document.clone())
            };
            let names: Vec<&str> = chain.steps.iter().map(|s| s.skill.as_str()).collect();
            let description = if chain.description.is_empty() {
                format!("Runs {} one after another", names.join(", then "))
            } else {
                chain.description.clone()
            };
            self.chains.insert(
                chain.name.clone(),
                ChainTool {
                    description,
                    input: first
                        .input
                        .is_none()
                        .then(|| schema(&first.skill, false))
                        .flatten(),
                    output: schema(&last.skill, true),
                },
            );
        }
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
