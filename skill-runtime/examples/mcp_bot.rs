//! A bot serving its installed skills to an agent over MCP (stdio), with
//! this library alone: the same catalog, grants, limits, sandbox and audit
//! as `cargo skill mcp --bot BOT`.
//!
//! ```sh
//! cargo run -p skill-runtime --features mcp --example mcp_bot -- night
//! ```
//!
//! Sandbox workers are the `skill-worker` binary of this crate: set
//! `SKILL_WORKER` to its path, or keep it beside this program's folder.

use std::sync::Arc;

use anyhow::{Context, Result};
use skill_runtime::sandbox::WorkerCommand;
use skill_runtime::serving::mcp::{ServeOptions, serve_stdio};
use skill_runtime::{AuditLog, Home, RuntimeConfig};

fn main() -> Result<()> {
    let bot = std::env::args().nth(1);
    let home = Home::from_env()?;
    let mut config = RuntimeConfig::for_home(&home)?;
    config.audit = Some(Arc::new(AuditLog::open(&home.audit_db())?));
    config.sandbox.worker = Some(WorkerCommand::skill_worker().context(
        "no skill-worker binary found: build it (`cargo build -p skill-runtime`) or set SKILL_WORKER",
    )?);
    serve_stdio(
        home,
        config,
        ServeOptions {
            bot,
            jobs: 2,
            ..ServeOptions::default()
        },
    )?;
    Ok(())
}
