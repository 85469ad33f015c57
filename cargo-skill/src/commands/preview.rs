//! `cargo skill preview SOURCE@NAME`: a skill's full detail before
//! installing it (nothing is installed, compiled or run).

use anyhow::Result;
use clap::Args;

use crate::exit;
use crate::output::{GlobalArgs, MessageFormat, Palette, printable};
use crate::registry::index::Signature;
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
    let row = |label: &str, text: &str| println!("  {:<13} {text}", colors.bold(label));
    let list = |items: &[String]| {
        if items.is_empty() {
            "none".to_string()
        } else {
            items.join(", ")
        }
    };
    println!(
        "{} {}  ({:?} skill)",
        colors.bold(&p.name),
        p.version.as_deref().unwrap_or("unversioned"),
        p.skill_type
    );
    println!("  {}", printable(&p.description));
    let commit = p
        .commit
        .as_deref()
        .map(|c| format!(" at {}", &c[..c.len().min(12)]))
        .unwrap_or_default();
    row(
        "source",
        &format!("{}{commit}, folder {}", p.source, p.path),
    );
    let signature = match &p.signature {
        Signature::Unsigned => "unsigned".to_string(),
        Signature::Trusted { key_id } => format!("signed by trusted key {key_id}"),
        Signature::UnknownKey { key_id } => {
            format!("signed by {key_id}, a key not in trusted-keys")
        }
        Signature::Invalid { why } => format!("does not check: {why}"),
        Signature::NotChecked => "not checked".to_string(),
    };
    row("signature", &format!("{signature}; installs as {}", p.tier));
    if !p.mixin_chain.is_empty() {
        row("mixins", &p.mixin_chain.join(" → "));
    }
    row("capabilities", &list(&p.capabilities));
    row("secrets", &list(&p.secrets));
    row("dependencies", &list(&p.dependencies));
    row(
        "files",
        &format!("{} files, {}", p.files.len(), size(p.size)),
    );
    for f in &p.files {
        println!("      {}  {}", printable(&f.path), size(f.size));
    }
    if p.findings.is_empty() {
        row("scan", "nothing found");
    } else {
        row(
            "scan",
            &format!(
                "{} finding{}{}",
                p.findings.len(),
                if p.findings.len() == 1 { "" } else { "s" },
                if p.flagged {
                    "; install refuses it unless the operator passes --allow"
                } else {
                    ""
                }
            ),
        );
        for f in &p.findings {
            println!(
                "      {}[{}] {}:{}:{}: {}",
                f.severity,
                f.rule,
                printable(&f.path),
                f.line,
                f.column,
                printable(&f.message)
            );
        }
    }
    row(
        "install",
        &format!("cargo skill install {} --skill {}", p.source, p.name),
    );
}

fn size(bytes: u64) -> String {
    if bytes < 1024 {
        format!("{bytes} B")
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}
