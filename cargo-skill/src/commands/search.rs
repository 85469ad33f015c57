//! `cargo skill search QUERY` (or `find`): ranked skills from the
//! registries, one result per skill content, with where to install it from.

use anyhow::{Result, bail};
use clap::Args;
use serde_json::json;

use crate::exit;
use crate::output::{GlobalArgs, MessageFormat, RegistryProgress, printable};
use crate::registry::index::describe_age;
use crate::registry::search::{Hit, search};
use crate::registry::{self, Freshness, category, config};
use crate::setup;

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Words to look for; every one must match (none lists every skill)
    pub query: Vec<String>,

    /// Search only this registry (repeatable)
    #[arg(long, value_name = "NAME")]
    pub registry: Vec<String>,

    /// Only skills of this category (docs/registries.md lists them)
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
    let registries = registry::select(config::read(&home)?, &args.registry)?;
    if let Some(c) = &args.category
        && !category::is_known(c)
    {
        bail!(
            "`{c}` is not a category; they are: {}",
            category::names().join(", ")
        );
    }
    let freshness = Freshness::from_flags(args.offline, args.refresh);
    let query = args.query.join(" ");
    let progress = RegistryProgress::new(global.quiet, registries.len());
    let (indexes, warnings) = registry::indexes(
        &home,
        &registries,
        &query,
        freshness,
        global.quiet,
        |place, r| progress.fetching(place, &r.name, &r.url),
    )?;
    progress.done();
    for warning in &warnings {
        eprintln!("warning: {warning}");
    }
    if args.offline && !global.quiet {
        for index in &indexes {
            eprintln!(
                "note: registry `{}`: its index from {} ago",
                index.registry,
                describe_age(index.age())
            );
        }
    }
    if indexes.is_empty() {
        bail!("no registry could be read (see the warnings above)");
    }
    let hits = search(&indexes, &query, args.category.as_deref(), args.limit);
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
        "installs": hit.installs,
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
    if let Some(category) = &l.category {
        badges.push(category.clone());
    }
    if let Some(n) = hit.installs {
        badges.push(format!("{n} installs"));
    }
    let registries: Vec<&str> = hit.sources.iter().map(|s| s.registry).collect();
    println!(
        "{} {}  [{}]  from {}",
        colors.bold(&printable(&l.name)),
        printable(l.version.as_deref().unwrap_or("unversioned")),
        badges.join(", "),
        registries.join(", ")
    );
    if !l.description.is_empty() {
        println!("    {}", one_line(&printable(&l.description)));
    }
    println!(
        "    cargo skill install {} --skill {}",
        printable(&hit.sources[0].source),
        l.name
    );
}

/// Long descriptions (many run to a paragraph) cut at a word, for a list;
/// `preview` shows them whole.
fn one_line(text: &str) -> String {
    const MAX: usize = 160;
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= MAX {
        return text;
    }
    let cut: String = text.chars().take(MAX).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{cut}…")
}
