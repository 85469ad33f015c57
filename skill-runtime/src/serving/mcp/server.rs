//! The MCP server: installed tool skills as tools, prompt skills as prompts
//! and as `skill://` resources (the MCP skills extension), for one bot.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use crate::limits::tier::TrustTier;
use crate::store::home::Home;
use rmcp::handler::server::skill_catalog::SkillCatalog;
use rmcp::model::*;
use rmcp::service::{RequestContext, SubscriptionContext};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use tokio::sync::watch;

use crate::serving::calls::Calls;
use crate::serving::catalog::Catalog;
use crate::serving::stamp::home_stamp;

/// What the server offers now, read together from one stamp of the home.
struct View {
    stamp: u64,
    catalog: Catalog,
    skills_root: PathBuf,
    /// The prompt skills' files, read when first asked for (never for
    /// `tools/list`); `None` while no prompt skill is served.
    files: OnceLock<Option<SkillCatalog>>,
}

impl View {
    fn read(home: &Home, bot: &str, only: &[String], stamp: u64) -> View {
        let catalog = Catalog::read(home, bot, only);
        for why in &catalog.skipped {
            eprintln!("warning: not served: {why}");
        }
        View {
            stamp,
            catalog,
            skills_root: home.skills_root(),
            files: OnceLock::new(),
        }
    }

    /// The served skills' files, read on first use (blocking).
    fn files(&self) -> Option<&SkillCatalog> {
        self.files
            .get_or_init(|| {
                if self.catalog.prompts.is_empty() {
                    return None;
                }
                let files = SkillCatalog::from_dir(&self.skills_root)
                    .inspect_err(|e| eprintln!("warning: skill files are not served: {e}"))
                    .ok()?;
                self.say_unread(&files);
                Some(files)
            })
            .as_ref()
    }

    /// The SDK skips a skill it cannot read whole, silently; say which.
    fn say_unread(&self, files: &SkillCatalog) {
        let read: HashSet<String> = files
            .skills()
            .into_iter()
            .filter_map(|s| Some(skill_of(&s.uri)?.to_string()))
            .collect();
        for name in self.catalog.prompts.keys().filter(|n| !read.contains(*n)) {
            eprintln!(
                "warning: the files of {name} are not served as skill:// resources: one of them is a symbolic link, a special file or unreadable (its prompt still is); remove that entry from {}, or remove the skill and install it again",
                self.skills_root.join(name).display()
            );
        }
    }

    /// Whether a `skill://NAME/...` URI belongs to a prompt skill this bot
    /// is served.
    fn serves(&self, uri: &str) -> bool {
        skill_of(uri).is_some_and(|name| self.catalog.prompts.contains_key(name))
    }
}

/// A tool as `tools/list` advertises it; any object without an input schema.
fn tool(
    name: &str,
    description: &str,
    input: Option<&serde_json::Map<String, serde_json::Value>>,
    output: Option<&serde_json::Map<String, serde_json::Value>>,
) -> Tool {
    let input = input
        .cloned()
        .unwrap_or_else(|| serde_json::Map::from_iter([("type".into(), "object".into())]));
    let tool = Tool::new(name.to_string(), description.to_string(), input);
    match output {
        Some(output) => tool.with_raw_output_schema(Arc::new(output.clone())),
        None => tool,
    }
}

/// The skill name of a `skill://NAME/...` URI.
fn skill_of(uri: &str) -> Option<&str> {
    Some(uri.strip_prefix("skill://")?.split_once('/')?.0)
}

/// Shared by every request and the watcher.
pub struct State {
    home: Home,
    bot: String,
    only: Vec<String>,
    pub calls: Calls,
    view: RwLock<Arc<View>>,
    refreshing: Mutex<()>,
    /// Bumped whenever the view changes; subscriptions wait on it.
    pub changes: watch::Sender<u64>,
}

impl State {
    pub fn new(home: Home, bot: String, only: Vec<String>, calls: Calls) -> State {
        let stamp = home_stamp(&home, &bot, &only);
        let view = View::read(&home, &bot, &only, stamp);
        State {
            home,
            bot,
            only,
            calls,
            view: RwLock::new(Arc::new(view)),
            refreshing: Mutex::new(()),
            changes: watch::Sender::new(0),
        }
    }

    /// The tiers the served tools run at.
    pub fn tool_tiers(&self) -> Vec<TrustTier> {
        let mut tiers: Vec<TrustTier> =
            self.view().catalog.tools.values().map(|t| t.tier).collect();
        tiers.sort();
        tiers.dedup();
        tiers
    }

    fn view(&self) -> Arc<View> {
        self.view.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Reads the home again when its stamp changed; true when it did.
    pub fn refresh(&self) -> bool {
        let _one_at_a_time = self.refreshing.lock().unwrap_or_else(|e| e.into_inner());
        let stamp = home_stamp(&self.home, &self.bot, &self.only);
        if stamp == self.view().stamp {
            return false;
        }
        let view = View::read(&self.home, &self.bot, &self.only, stamp);
        *self.view.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(view);
        self.changes.send_modify(|generation| *generation += 1);
        true
    }

    /// The view after a refresh, off the async threads.
    async fn fresh_view(self: &Arc<Self>) -> Arc<View> {
        let state = self.clone();
        tokio::task::spawn_blocking(move || {
            state.refresh();
            state.view()
        })
        .await
        .unwrap_or_else(|_| self.view())
    }
}

#[derive(Clone)]
pub struct Server {
    pub state: Arc<State>,
}

const INSTRUCTIONS: &str = "Each tool is an installed skill, run in a WebAssembly sandbox under the capabilities its operator granted, with fuel, time and memory limits; every call is audited. Prompts and skill:// resources are the installed prompt skills' instructions.";

impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_prompts()
            .enable_resources()
            .enable_tools()
            .enable_prompts_list_changed()
            .enable_resources_list_changed()
            .enable_tool_list_changed()
            .enable_skills()
            .build();
        ServerConfig::new(capabilities)
            .with_server_info(Implementation::new(
                "cargo-skill",
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let view = self.state.fresh_view().await;
        let skills = view.catalog.tools.iter().map(|(name, skill)| {
            let input = skill.schemas.input.as_ref().map(|s| &s.document);
            let output = skill.schemas.output.as_ref().map(|s| &s.document);
            tool(name, &skill.description, input, output)
        });
        let chains = view.catalog.chains.iter().map(|(name, chain)| {
            tool(
                name,
                &chain.description,
                chain.input.as_ref(),
                chain.output.as_ref(),
            )
        });
        Ok(ListToolsResult::with_all_items(
            skills.chain(chains).collect(),
        ))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let name = request.name.to_string();
        let serves = |view: &View| {
            view.catalog.tools.contains_key(&name) || view.catalog.chains.contains_key(&name)
        };
        let mut view = self.state.view();
        if !serves(&view) {
            // Installed a moment ago, before the watcher looked?
            view = self.state.fresh_view().await;
        }
        if !serves(&view) {
            return Err(ErrorData::invalid_params(
                format!(
                    "unknown tool `{name}`: tools/list shows the installed tool skills this server serves"
                ),
                None,
            ));
        }
        let arguments = request.arguments.unwrap_or_default();
        // On this async thread: a call the sandbox answers at once needs no
        // hop to another thread. Every wait in it runs in `block_in_place`
        // (`RuntimeConfig::blocking`), which moves other tasks off.
        let outcome = if view.catalog.chains.contains_key(&name) {
            self.state.calls.call_chain(&name, arguments)
        } else {
            self.state.calls.call(&name, arguments)
        };
        let result = match outcome {
            Ok(output) => {
                let mut result = CallToolResult::success(vec![ContentBlock::text(output.clone())]);
                if let Ok(object @ serde_json::Value::Object(_)) = serde_json::from_str(&output) {
                    result.structured_content = Some(object);
                }
                result
            }
            Err(e) => CallToolResult::error(vec![ContentBlock::text(e.to_string())]),
        };
        Ok(result.into())
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let view = self.state.fresh_view().await;
        let prompts = view
            .catalog
            .prompts
            .iter()
            .map(|(name, p)| Prompt::new(name.clone(), Some(p.description.clone()), None))
            .collect();
        Ok(ListPromptsResult::with_all_items(prompts))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        let view = self.state.fresh_view().await;
        let Some(prompt) = view.catalog.prompts.get(&request.name) else {
            return Err(ErrorData::invalid_params(
                format!(
                    "unknown prompt `{}`: prompts/list shows the installed prompt skills",
                    request.name
                ),
                None,
            ));
        };
        let message = PromptMessage::new_text(Role::User, prompt.body.clone());
        Ok(GetPromptResult::new(vec![message])
            .with_description(prompt.description.clone())
            .into())
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let view = self.state.fresh_view().await;
        let resources = tokio::task::block_in_place(|| view.files())
            .into_iter()
            .flat_map(|files| files.skills())
            .filter(|skill| view.serves(&skill.uri))
            .flat_map(|skill| listed_files(&skill))
            .collect();
        Ok(ListResourcesResult::with_all_items(resources))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let view = self.state.view();
        tokio::task::block_in_place(|| view.files())
            .filter(|_| view.serves(&request.uri))
            .and_then(|files| files.read_resource(&request.uri))
            .map(Into::into)
            .ok_or_else(|| {
                ErrorData::resource_not_found(format!("no resource {}", request.uri), None)
            })
    }

    async fn list_skills(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListSkillsResult, ErrorData> {
        let view = self.state.fresh_view().await;
        let skills = tokio::task::block_in_place(|| view.files())
            .into_iter()
            .flat_map(|files| files.skills())
            .filter(|skill| view.serves(&skill.uri))
            .collect();
        Ok(ListSkillsResult::with_all_items(skills))
    }

    async fn get_skill(
        &self,
        request: GetSkillRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetSkillResult, ErrorData> {
        let view = self.state.view();
        match tokio::task::block_in_place(|| view.files()) {
            Some(files) if view.serves(&request.uri) => files.get_skill(&request.uri),
            _ => Err(ErrorData::invalid_params(
                format!("unknown skill {}", request.uri),
                None,
            )),
        }
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        let _ = requested;
        Some(
            SubscriptionFilter::builder()
                .tools_list_changed()
                .prompts_list_changed()
                .resources_list_changed()
                .build(),
        )
    }

    /// Protocol 2026-07-28 and later: list changes reach the client through
    /// its `subscriptions/listen` stream.
    async fn listen(&self, context: SubscriptionContext) -> Result<(), ErrorData> {
        let mut changes = self.state.changes.subscribe();
        changes.mark_unchanged();
        loop {
            tokio::select! {
                () = context.cancelled() => return Ok(()),
                changed = changes.changed() => {
                    if changed.is_err() {
                        return Ok(());
                    }
                    let sink = context.sink();
                    // A notification the client did not ask for is refused by the sink: fine.
                    let _ = sink.notify_tool_list_changed().await;
                    let _ = sink.notify_prompt_list_changed().await;
                    let _ = sink.notify_resource_list_changed().await;
                }
            }
        }
    }
}

/// Every file of a served skill as a resource, `SKILL.md` first.
fn listed_files(skill: &Skill) -> Vec<Resource> {
    let SkillResources::Files(files) = &skill.resources else {
        return Vec::new();
    };
    let mut out: Vec<Resource> = files
        .iter()
        .map(|file| {
            // `skill://guide/references/REF.md` is named `guide/references/REF.md`.
            let name = file.uri.strip_prefix("skill://").unwrap_or(&file.uri);
            let resource = Resource::new(file.uri.clone(), name).with_size(file.size);
            if file.uri == skill.uri {
                resource
                    .with_description(skill.frontmatter.description.clone())
                    .with_mime_type("text/markdown")
            } else {
                resource
            }
        })
        .collect();
    out.sort_by_key(|r| r.uri != skill.uri);
    out
}
