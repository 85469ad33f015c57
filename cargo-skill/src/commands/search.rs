//! `cargo skill search QUERY` (or `find`): ranked skills from the
//! registries, one result per skill content, with where to install it from.

use anyhow::{Result, bail};
use clap::Args;
use serde_json::json;

use crate::exit;
use crate::output::{GlobalArgs, MessageFormat, printable};
use crate::registry::search::{Hit, search};
use crate::registry::{self, Freshness, config};
use crate::setup;

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Words to look for; every one must match (none lists every skill)
    pub query: Vec<String>,

    /// Search only this registry (repeatable)
    #[arg(long, value_name = "NAME")]
    pub registry: Vec<String>,

    /// Only skills of this category (`metadata.category`)
    #[arg(long, value_name = "C")]
    pub category: Option<String>,

    /// At most this many results
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub limit: usize,

    /// Use the cached indexes only; no network
    #[arg(long, conflicts_with = "refresh")]
    pub offline: bool,

    /// Fetch every registry, however fresh its cached index
    #[arg(long)]
    pub refresh: bool,

    #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
    pub message_format: MessageFormat,
}

pub fn exec(args: SearchArgs, global: &GlobalArgs) -> Result<u8> {
    let home = setup::home()?;
    let mut registries = config::read(&home)?;
    for name in &args.registry {
        if !registries.iter().any(|r| &r.name == name) {
            let known: Vec<&str> = registries.iter().map(|r| r.name.as_str()).collect();
            bail!(
                "no registry named `{name}` (listed: {}); `cargo skill registry add {name} URL` adds one",
                if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                }
            );
        }
    }
    if !args.registry.is_empty() {
        registries.retain(|r| args.registry.contains(&r.name));
    }
    if registries.is_empty() {
        bail!("no registries are listed: `cargo skill registry add NAME URL` adds one");
    }
    let freshness = if args.offline {
        Freshness::Offline
    } else if args.refresh {
        Freshness::Refresh
    } else {
        Freshness::Fresh
    };
    let (indexes, warnings) =
        registry::indexes(&home, &registries, freshness, global.quiet, |r| {
            if !global.quiet {
                eprintln!("    Updating registry `{}` ({})", r.name, r.url);
            }
        })?;
    for warning in &warnings {
        eprintln!("warning: {warning}");
    }
    if indexes.is_empty() {
        bail!("no registry could be read (see the warnings above)");
    }
    let hits = search(
        &indexes,
        &args.query.join(" "),
        args.category.as_deref(),
        args.limit,
    );
    match args.message_format {
        MessageFormat::Json => {
            for hit in &hits {
                println!("{}", to_json(hit));
            }
        }
        MessageFormat::Human => {
            if hits.is_empty() && !global.quiet {
                eprintln!("no skills match");
            }
            let colors = global.stdout_colors();
            for hit in &hits {
                print_human(hit, &colors);
            }
        }
    }
    Ok(exit::SUCCESS)
}

fn to_json(hit: &Hit<'_>) -> serde_json::Value {
    let l = hit.listing;
    let first = &hit.sources[0];
    json!({
        "name": l.name,
        "description": l.description,
        "version": l.version,
        "category": l.category,
        "registry": first.registry,
        "source": first.source,
        "sources": hit.sources,
        "signature": l.signature,
        "tier": l.signature.tier(),
        "risk": l.risk,
        "flagged": hit.flagged,
        "score": hit.score,
    })
}

fn print_human(hit: &Hit<'_>, colors: &crate::output::Palette) {
    let l = hit.listing;
    let mut badges = vec![l.signature.tier().to_string()];
    if hit.flagged {
        badges.push(format!(
            "flagged: {} risk",
            l.risk.as_deref().unwrap_or("high")
        ));
    }
    let registries: Vec<&str> = hit.sources.iter().map(|s| s.registry).collect();
    println!(
        "{} {}  [{}]  from {}",
        colors.bold(&printable(&l.name)),
        printable(l.version.as_deref().unwrap_or("unversioned")),
        badges.join(", "),
        registries.join(", ")
    );
    println!("    {}", printable(&l.description));
    println!(
        "    cargo skill install {} --skill {}",
        hit.sources[0].source, l.name
    );
}
