//! A bot running an installed skill, as `cargo skill run NAME --bot BOT`
//! does: the tier and grants install recorded, the bot's pin and lowered
//! limits, the OS sandbox, the audit log.
//!
//! ```sh
//! cargo run -p skill-runtime --example bot -- weather night '{"city":"Oslo"}'
//! ```
//!
//! Sandbox workers are the `skill-worker` binary of this crate: set
//! `SKILL_WORKER` to its path, or keep it beside this program's folder.

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use skill_runtime::prepare::{Overrides, SkillRef, prepare};
use skill_runtime::sandbox::WorkerCommand;
use skill_runtime::{AuditLog, Home, Runtime, RuntimeConfig};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [name, bot, rest @ ..] = args.as_slice() else {
        bail!("usage: bot SKILL BOT [INPUT-JSON]");
    };
    let input = rest.first().map_or("{}", String::as_str);

    let home = Home::from_env()?;
    let mut config = RuntimeConfig::for_home(&home)?;
    config.audit = Some(Arc::new(AuditLog::open(&home.audit_db())?));
    config.sandbox.worker = Some(WorkerCommand::skill_worker().context(NO_WORKER)?);
    let runtime = Runtime::new(config);
    let ready = prepare(
        &home,
        runtime.config(),
        SkillRef::Installed(name),
        Some(bot),
        &Overrides::default(),
    )?;
    let report = ready.run(&runtime, input);
    println!("{}", report.to_json());
    std::process::exit(if report.is_ok() { 0 } else { 1 });
}

const NO_WORKER: &str =
    "no skill-worker binary found: build it (`cargo build -p skill-runtime`) or set SKILL_WORKER";
