//! `cargo skill preview SOURCE@NAME`: a skill's full detail before
//! installing it (nothing is installed, compiled or run).

use anyhow::Result;
use clap::Args;

use crate::exit;
use crate::output::{GlobalArgs, MessageFormat, Palette, printable};
use crate::registry::preview::{Preview, preview};
use crate::setup;

#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// owner/repo@skill, a git URL or folder with @skill, or a source with --skill
    pub source: String,

    /// The skill of the source to show
    #[arg(long, value_name = "NAME")]
    pub skill: Option<String>,

    /// Use the cached clone of the source as it is; no network
    #[arg(long)]
    pub offline: bool,

    #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
    pub message_format: MessageFormat,
}

pub fn exec(args: PreviewArgs, global: &GlobalArgs) -> Result<u8> {
    let home = setup::home()?;
    let p = preview(
        &home,
        &args.source,
        args.skill.as_deref(),
        args.offline,
        global.quiet,
    )?;
    match args.message_format {
        MessageFormat::Json => println!("{}", serde_json::to_value(&p)?),
        MessageFormat::Human => print_human(&p, &global.stdout_colors()),
    }
    Ok(exit::SUCCESS)
}

fn print_human(p: &Preview, colors: &Palette) {
    println!(
        "{} {}  ({:?} skill)",
        colors.bold(&p.name),
        p.version.as_deref().unwrap_or("unversioned"),
        p.skill_type
    );
    println!("  {}", printable(&p.description));
    for (label, text) in p.rows() {
        if label.is_empty() {
            println!("      {}", printable(&text));
        } else {
            println!("  {:<13} {}", colors.bold(label), printable(&text));
        }
    }
}
