//! `cargo skill browse`: the registries' skills in a terminal browser,
//! over the same indexes, ranking and preview as `search` and `preview`.

use std::io::IsTerminal;
use std::time::Instant;

use anyhow::{Result, bail};
use clap::Args;

use crate::browse;
use crate::exit;
use crate::output::{GlobalArgs, RegistryProgress};
use crate::registry::{self, Freshness, config};
use crate::setup;

#[derive(Debug, Args)]
pub struct BrowseArgs {
    /// Browse only this registry (repeatable)
    #[arg(long, value_name = "NAME")]
    pub registry: Vec<String>,

    /// Use the cached indexes (and cached clones for previews) only; no network
    #[arg(long, conflicts_with = "refresh")]
    pub offline: bool,

    /// Fetch every registry first, however fresh its cached index
    #[arg(long)]
    pub refresh: bool,
}

pub fn exec(args: BrowseArgs, global: &GlobalArgs) -> Result<u8> {
    let started = Instant::now();
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        bail!(
            "browse needs a terminal (stdin and stdout); in scripts, `cargo skill search QUERY --message-format json` lists the same skills"
        );
    }
    let home = setup::home()?;
    let registries = registry::select(config::read(&home)?, &args.registry)?;
    let freshness = Freshness::from_flags(args.offline, args.refresh);
    let progress = RegistryProgress::new(global.quiet, registries.len());
    let (indexes, warnings) = registry::indexes(
        &home,
        &registries,
        "",
        freshness,
        global.quiet,
        |place, r| progress.fetching(place, &r.name, &r.url),
    )?;
    progress.done();
    for warning in &warnings {
        eprintln!("warning: {warning}");
    }
    if indexes.is_empty() {
        bail!("no registry could be read (see the warnings above)");
    }
    browse::run(&home, &indexes, args.offline, started)?;
    Ok(exit::SUCCESS)
}
