//! Installed skills served over the Model Context Protocol on stdio, run
//! exactly as [`prepare`](crate::prepare::prepare) runs them for the bot.
//! Logs go to stderr; stdout carries only protocol messages.
//!
//! ```no_run
//! use skill_runtime::serving::mcp::{ServeOptions, serve_stdio};
//! use skill_runtime::{Home, RuntimeConfig};
//! let home = Home::from_env().unwrap();
//! let config = RuntimeConfig::for_home(&home).unwrap();
//! serve_stdio(home, config, ServeOptions::default()).unwrap();
//! ```

pub mod edge;
mod server;

use std::sync::Arc;
use std::time::Duration;

use rmcp::ServiceExt;

use crate::chain::Chains;
use crate::manifest::skill_name;
use crate::runtime::Runtime;
use crate::runtime::RuntimeConfig;
use crate::serving::calls::{Calls, Wording};
use crate::serving::mcp::server::{Server, State};
use crate::store::error::StoreError;
use crate::store::home::Home;
use crate::store::{bots, installed};

/// Why serving could not start or ended abnormally.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The bot's settings, or a skill asked for, refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("could not start the async runtime: {0}")]
    AsyncRuntime(std::io::Error),
    #[error("the MCP client did not complete the handshake: {0}")]
    Handshake(String),
    #[error("the MCP session ended abnormally: {0}")]
    Session(String),
}

#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The bot whose settings and data folders apply (else the home's).
    pub bot: Option<String>,
    /// Serve only these installed skills and the bot's chains of these
    /// names (all when empty); a chain is served when its steps are too.
    pub only: Vec<String>,
    /// Calls that run at once; also the sandbox workers kept warm per tier.
    pub jobs: usize,
    /// How often the home is checked for installs, updates and grants.
    pub poll: Duration,
    /// What a client may have the server hold at once.
    pub limits: edge::EdgeLimits,
    /// How a failed call's message says what to do (a CLI names its commands).
    pub wording: Wording,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            bot: None,
            only: Vec::new(),
            jobs: std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
            poll: Duration::from_secs(1),
            limits: edge::EdgeLimits::default(),
            wording: |_| None,
        }
    }
}

/// Serves `home`'s skills for the bot until the client closes stdin, with
/// a runtime built from `config` (its concurrency and sandbox pool sized
/// to `options.jobs`; calls are audited when it has an audit log).
pub fn serve_stdio(
    home: Home,
    mut config: RuntimeConfig,
    options: ServeOptions,
) -> Result<(), ServeError> {
    let bot = bots::identity(&home, options.bot.as_deref())?.slug;
    let chains = Chains::read(&home, &bot).ok();
    for name in &options.only {
        skill_name::check(name).map_err(StoreError::from)?;
        let a_chain = chains.as_ref().is_some_and(|c| c.get(name).is_some());
        if installed::installed_dir(&home, name).is_none() && !a_chain {
            return Err(StoreError::NotInstalled { name: name.clone() }.into());
        }
    }
    let jobs = options.jobs.max(1);
    config.concurrency = u32::try_from(jobs).unwrap_or(u32::MAX);
    config.sandbox.pool_size = jobs;
    // Calls run on the async thread that read them, which it leaves to the
    // runtime's other tasks at each wait.
    config.blocking = |work| tokio::task::block_in_place(work);
    let runtime = Arc::new(Runtime::new(config));
    let calls = Calls::new(home.clone(), bot.clone(), runtime.clone(), options.wording);
    let state = Arc::new(State::new(home, bot, options.only, calls));
    // Workers start in the background so the first calls do not wait for them.
    for tier in state.tool_tiers() {
        runtime.prewarm(tier, jobs);
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(ServeError::AsyncRuntime)?
        .block_on(serve(state, options.poll, options.limits))
}

async fn serve(
    state: Arc<State>,
    poll: Duration,
    limits: edge::EdgeLimits,
) -> Result<(), ServeError> {
    let server = Server {
        state: state.clone(),
    };
    let (stdin, stdout) = rmcp::transport::io::stdio_pipes();
    let running = server
        .serve(edge::start(stdin, stdout, limits))
        .await
        .map_err(|e| ServeError::Handshake(e.to_string()))?;
    let peer = running.peer().clone();
    let watcher = tokio::spawn(watch_home(state.clone(), poll));
    let notifier = tokio::spawn(async move {
        let mut changes = state.changes.subscribe();
        while changes.changed().await.is_ok() {
            // Sessions opened with `initialize` take unsolicited list
            // changes; newer ones subscribe through `subscriptions/listen`.
            if peer.peer_info().is_some() {
                let _ = peer.notify_tool_list_changed().await;
                let _ = peer.notify_prompt_list_changed().await;
                let _ = peer.notify_resource_list_changed().await;
            }
        }
    });
    let quit = running.waiting().await;
    watcher.abort();
    notifier.abort();
    quit.map_err(|e| ServeError::Session(e.to_string()))?;
    Ok(())
}

/// Checks the home every `poll` for changes the client should hear about.
async fn watch_home(state: Arc<State>, poll: Duration) {
    loop {
        tokio::time::sleep(poll).await;
        let state = state.clone();
        let _ = tokio::task::spawn_blocking(move || state.refresh()).await;
    }
}
