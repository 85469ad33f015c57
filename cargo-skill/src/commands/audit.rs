//! `cargo skill audit`: what skills did, from the home folder's `audit.db`.

use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail};
use clap::Args;
use skill_runtime::ErrorKind;
use skill_runtime::audit::{AuditLog, AuditQuery, AuditRecord};

use crate::exit;
use crate::output::MessageFormat;
use crate::setup;

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only invocations of this skill
    #[arg(long)]
    pub skill: Option<String>,

    /// Only invocations by this bot (its slug)
    #[arg(long)]
    pub bot: Option<String>,

    /// Only invocations since a time: RFC 3339 (`2026-11-21T10:00:00Z`) or an age (`2h`, `30min`, `7days`)
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,

    /// Only invocations with this outcome: `ok`, `error` (any error) or an error kind
    #[arg(long)]
    pub outcome: Option<String>,

    /// Only the steps of one chain run, in the order they ran (its trace id, which `run --chain` prints)
    #[arg(long, value_name = "ID")]
    pub trace: Option<String>,

    /// Show at most the newest N records
    #[arg(long, value_name = "N")]
    pub limit: Option<u32>,

    #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
    pub message_format: MessageFormat,
}

pub fn exec(args: AuditArgs) -> Result<u8> {
    let since = args.since.as_deref().map(parse_since).transpose()?;
    let errors_only = args.outcome.as_deref() == Some("error");
    let outcome = match args.outcome.as_deref() {
        None | Some("error") => None,
        Some("ok") => Some("ok".to_string()),
        Some(kind) if ErrorKind::parse(kind).is_some() => Some(kind.to_string()),
        Some(other) => bail!(
            "--outcome {other}: expected ok, error or an error kind ({})",
            ErrorKind::ALL.map(ErrorKind::as_str).join(", ")
        ),
    };
    let path = setup::home()?.audit_db();
    if !path.exists() {
        bail!(
            "no audit log at {}: nothing has run yet (`cargo skill run` records every invocation)",
            path.display()
        );
    }
    let log = AuditLog::open(&path)?;
    let mut records = log.query(&AuditQuery {
        skill: args.skill,
        bot: args.bot,
        since,
        outcome,
        trace: args.trace,
        limit: args.limit,
    })?;
    if errors_only {
        records.retain(|r| r.outcome != "ok");
    }
    match args.message_format {
        MessageFormat::Json => println!("{}", to_json(&records)),
        MessageFormat::Human => print_table(&records),
    }
    Ok(exit::SUCCESS)
}

fn parse_since(text: &str) -> Result<SystemTime> {
    if let Ok(time) = humantime::parse_rfc3339_weak(text) {
        return Ok(time);
    }
    let age: Duration = humantime::parse_duration(text).with_context(|| {
        format!("--since {text}: expected an RFC 3339 time (2026-11-21T10:00:00Z) or an age (2h, 30min, 7days)")
    })?;
    Ok(SystemTime::now() - age)
}

fn to_json(records: &[AuditRecord]) -> serde_json::Value {
    records
        .iter()
        .map(|r| {
            let mut value = serde_json::to_value(r).expect("records serialize");
            value["time"] = r.time().into();
            value
        })
        .collect()
}

fn print_table(records: &[AuditRecord]) {
    if records.is_empty() {
        eprintln!("no matching invocations");
        return;
    }
    for r in records {
        let denied = if r.capabilities_denied.is_empty() {
            String::new()
        } else {
            format!("  denied: {}", r.capabilities_denied.join(","))
        };
        let trace = r
            .trace_id
            .as_ref()
            .map_or(String::new(), |t| format!(" trace {t}"));
        println!(
            "{}  {:<18} {}@{} ({}) by {}  {}  {:.2} ms, fuel {}{}  [{}{}]",
            r.time(),
            r.outcome,
            r.skill,
            r.version,
            r.tier,
            r.bot,
            if r.capabilities_used.is_empty() {
                "no capabilities".to_string()
            } else {
                r.capabilities_used.join(",")
            },
            r.duration_us as f64 / 1000.0,
            r.fuel,
            denied,
            r.invocation_id,
            trace,
        );
    }
}
