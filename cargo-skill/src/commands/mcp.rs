//! `cargo skill mcp`: serve installed skills to an MCP client over stdio.

use std::time::Duration;

use anyhow::Result;
use clap::Args;

use skill_runtime::serving::mcp::edge::EdgeLimits;
use skill_runtime::serving::mcp::{ServeOptions, serve_stdio};

use crate::{exit, help, setup};

#[derive(Debug, Args)]
pub struct McpArgs {
    /// The bot whose grants, settings, data folder and memory apply
    /// [default: `[bot] slug` in $CARGO_SKILL_HOME/config.toml, else `local`]
    #[arg(long, value_name = "SLUG")]
    pub bot: Option<String>,

    /// Serve only this installed skill or chain (repeatable; a chain also needs its steps named)
    /// [default: every skill enabled for the bot, and its chains]
    #[arg(long = "skill", value_name = "NAME")]
    pub skills: Vec<String>,

    /// Calls that run at once; as many sandbox workers per tier are kept warm
    /// [default: the number of CPUs]
    #[arg(short = 'j', long, value_name = "N")]
    pub jobs: Option<usize>,

    /// Do not record calls in the audit log
    #[arg(long)]
    pub no_audit: bool,

    /// How often to look for installs, updates, grants and revokes, in milliseconds
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub poll_ms: u64,

    /// Requests read and not yet answered; the server stops reading its
    /// input at this many, so a client that floods it pauses instead
    #[arg(long, value_name = "N", default_value_t = EdgeLimits::default().max_in_flight)]
    pub max_in_flight: usize,

    /// The longest request line, in bytes; a longer one gets a JSON-RPC error
    #[arg(long, value_name = "BYTES", default_value_t = EdgeLimits::default().max_request_bytes)]
    pub max_request_bytes: usize,
}

pub fn exec(args: McpArgs) -> Result<u8> {
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, std::num::NonZero::get));
    let config = setup::runtime_config(!args.no_audit)?;
    let options = ServeOptions {
        bot: args.bot,
        only: args.skills,
        jobs,
        poll: Duration::from_millis(args.poll_ms.max(50)),
        limits: EdgeLimits {
            max_in_flight: args.max_in_flight.max(1),
            max_request_bytes: args.max_request_bytes.max(1024),
        },
        wording: help::remedy,
    };
    serve_stdio(setup::home()?, config, options)?;
    Ok(exit::SUCCESS)
}
