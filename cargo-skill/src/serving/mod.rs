//! `cargo skill mcp`: installed skills served over the Model Context
//! Protocol on stdio, run exactly as `cargo skill run --bot BOT` runs them.
//! Logs go to stderr; stdout carries only protocol messages.

mod calls;
mod catalog;
pub mod edge;
mod server;
mod stamp;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use rmcp::ServiceExt;
use skill_runtime::{Runtime, bots, installed, skill_name};

use crate::home;
use crate::serving::calls::Calls;
use crate::serving::server::{Server, State};

#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The bot whose settings and data folders apply (else the home's).
    pub bot: Option<String>,
    /// Serve only these installed skills (all when empty).
    pub only: Vec<String>,
    /// Calls that run at once; also the sandbox workers kept warm per tier.
    pub jobs: usize,
    pub audit: bool,
    /// How often the home is checked for installs, updates and grants.
    pub poll: Duration,
    /// What a client may have the server hold at once.
    pub limits: edge::Limits,
}

/// Serves until the client closes stdin.
pub fn serve_stdio(options: ServeOptions) -> Result<()> {
    let home = home::home()?;
    let bot = bots::identity(&home, options.bot.as_deref())?.slug;
    for name in &options.only {
        skill_name::check(name).with_context(|| format!("--skill {name}"))?;
        if installed::installed_dir(&home, name).is_none() {
            bail!("--skill {name}: `{name}` is not installed: `cargo skill list` shows what is");
        }
    }
    let jobs = options.jobs.max(1);
    let mut config = home::runtime_config(options.audit)?;
    config.concurrency = u32::try_from(jobs).unwrap_or(u32::MAX);
    config.sandbox.pool_size = jobs;
    let runtime = Arc::new(Runtime::new(config));
    let calls = Calls::new(home.clone(), bot.clone(), runtime.clone());
    let state = Arc::new(State::new(home, bot, options.only, calls));
    // Workers start in the background so the first calls do not wait for them.
    for tier in state.tool_tiers() {
        runtime.prewarm(tier, jobs);
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("could not start the async runtime")?
        .block_on(serve(state, options.poll, options.limits))
}

async fn serve(state: Arc<State>, poll: Duration, limits: edge::Limits) -> Result<()> {
    let server = Server {
        state: state.clone(),
    };
    let (stdin, stdout) = rmcp::transport::io::stdio_pipes();
    let running = server
        .serve(edge::start(stdin, stdout, limits))
        .await
        .context("the MCP client did not complete the handshake")?;
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
    quit.context("the MCP session ended abnormally")?;
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
