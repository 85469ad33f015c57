//! `cargo skill run SKILL`: one invocation through the runtime bots use.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use skill_runtime::{Failure, Invocation, LimitRequest, Policy, Report, TrustTier};

use crate::bot_skills;
use crate::exit;
use crate::home;
use crate::input::{InputSource, read_input};
use crate::installed::{InstalledMeta, installed_dir};
use crate::output::{GlobalArgs, MessageFormat};
use crate::skill_source;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// An installed skill's name, a skill folder (with SKILL.md and skill.wasm), or a .wasm component
    pub skill: PathBuf,

    /// The JSON input for `execute`
    #[arg(long, conflicts_with = "input_file")]
    pub input: Option<String>,

    /// Read the JSON input from a file (default: stdin)
    #[arg(long, value_name = "FILE")]
    pub input_file: Option<PathBuf>,

    /// Trust tier whose limits apply [default: an installed skill's recorded tier, else untrusted,
    /// lowered by the skill's own `trust-tier`]; more than that warns
    #[arg(long)]
    pub tier: Option<TrustTier>,

    /// Fuel budget for this invocation (may exceed the tier's)
    #[arg(long, value_name = "UNITS")]
    pub fuel: Option<u64>,

    /// Deadline for this invocation, in milliseconds
    #[arg(long, value_name = "MS")]
    pub timeout: Option<u64>,

    /// Memory limit for this invocation, in MiB
    #[arg(long, value_name = "MB")]
    pub memory: Option<u64>,

    /// Grant a capability for this run, e.g. `read-env:TZ` (repeatable)
    #[arg(long, value_name = "CAP[:SCOPE]")]
    pub grant: Vec<String>,

    /// Deny a capability the skill folder declares (repeatable)
    #[arg(long, value_name = "CAP")]
    pub deny: Vec<String>,

    /// The bot to run as (its data folder, memory and `get-context`)
    /// [default: `[bot] slug` in $CARGO_SKILL_HOME/config.toml, else `local`]
    #[arg(long, value_name = "SLUG")]
    pub bot: Option<String>,

    /// Do not record this invocation in the audit log
    #[arg(long)]
    pub no_audit: bool,

    /// `auto`: untrusted and verified skills run in a Landlock + seccomp
    /// worker; `none`: verified ones run in this process (untrusted never do)
    #[arg(long, value_enum, default_value_t = SandboxChoice::Auto)]
    pub sandbox: SandboxChoice,

    /// How to print the result
    #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
    pub message_format: MessageFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SandboxChoice {
    Auto,
    None,
}

pub fn exec(args: RunArgs, global: &GlobalArgs) -> Result<u8> {
    let home = home::home()?;
    let bot = home::bot_identity(&home, args.bot.as_deref())?;
    let installed = match args.skill.to_str().filter(|_| !args.skill.exists()) {
        Some(name) => installed_dir(&home, name),
        None => None,
    };
    // An installed skill runs as the bot's settings say (enabled, pin,
    // limits), and with what was approved at install.
    let (source, bot_limits) = match installed {
        Some(dir) => {
            let meta = InstalledMeta::read(&dir)?;
            let limits =
                bot_skills::for_run(&home, &bot.slug, &meta.name, meta.version.as_deref())?;
            (skill_source::resolve_installed(&dir, meta)?, limits)
        }
        None => (skill_source::resolve(&args.skill)?, LimitRequest::default()),
    };
    let input = match (&args.input, &args.input_file) {
        (Some(text), _) => read_input(InputSource::Argument(text))?,
        (None, Some(path)) => read_input(InputSource::File(path))?,
        (None, None) => read_input(InputSource::Stdin)?,
    };
    let grants = args
        .grant
        .iter()
        .map(|g| {
            g.parse()
                .map_err(|(_, e)| anyhow::anyhow!("--grant {g}: {e}"))
        })
        .collect::<Result<Vec<_>>>()?;
    let denies = args
        .deny
        .iter()
        .map(|d| d.parse().map_err(|e| anyhow::anyhow!("--deny: {e}")))
        .collect::<Result<Vec<_>>>()?;
    let (grants, secrets) = source.grants(&grants, &denies);
    let policy = Policy {
        grants,
        secrets,
        ..home::host_policy(&home, &bot, &source.name)?
    };
    let wasm = std::fs::read(&source.wasm)
        .with_context(|| format!("could not read {}", source.wasm.display()))?;

    let choice = source.tier(args.tier);
    if let Some(warning) = choice.raised() {
        eprintln!("warning: {}: {warning}", source.name);
    }
    let tier = choice.tier;
    let mut config = home::runtime_config(!args.no_audit)?;
    if args.sandbox == SandboxChoice::None {
        if tier == TrustTier::Untrusted {
            bail!(
                "--sandbox none does not apply to untrusted skills: they always run in the sandbox (pass --tier verified if you trust this one)"
            );
        }
        config.sandbox.sandbox_verified = false;
    }
    let runtime = skill_runtime::Runtime::new(config);
    // The skill's own request only lowers the tier; flags are the operator's
    // explicit choice, so they may raise it.
    let limits = runtime
        .limits_for(tier)
        .lowered_by(&source.resources)
        .lowered_by(&bot_limits)
        .overridden_by(&LimitRequest {
            memory_bytes: args.memory.map(|mb| mb * 1024 * 1024),
            fuel: args.fuel,
            timeout: args.timeout.map(Duration::from_millis),
            output_bytes: None,
        });
    let invocation = Invocation {
        input: &input,
        skill_name: &source.name,
        skill_version: &source.version,
        bot: &bot,
        limits,
        policy: std::sync::Arc::new(policy),
    };
    let report = match runtime.load(&wasm, tier) {
        Ok(skill) => runtime.invoke(&skill, &invocation),
        Err(err) => {
            let mut report = Report::refused(
                tier,
                limits,
                Failure::new(
                    skill_runtime::ErrorKind::InvalidComponent,
                    format!("{}: {err}", source.wasm.display()),
                ),
            );
            runtime.record(&mut report, &invocation);
            report
        }
    };
    if let Some(error) = &report.audit_error {
        eprintln!("warning: this invocation was not recorded in the audit log: {error}");
    }

    match args.message_format {
        MessageFormat::Json => println!("{}", report.to_json()),
        MessageFormat::Human => print_human(&report, global.quiet),
    }
    Ok(if report.is_ok() {
        exit::SUCCESS
    } else {
        exit::FAILURE
    })
}

fn print_human(report: &Report, quiet: bool) {
    if !quiet {
        for line in &report.logs {
            eprintln!("[{}] {}", line.level, line.message);
        }
        if report.logs_dropped > 0 {
            eprintln!(
                "[{} more log lines dropped: over the log cap]",
                report.logs_dropped
            );
        }
    }
    match &report.result {
        Ok(output) => {
            let pretty = serde_json::from_str::<serde_json::Value>(output)
                .ok()
                .and_then(|v| serde_json::to_string_pretty(&v).ok());
            println!("{}", pretty.as_deref().unwrap_or(output));
        }
        Err(failure) => eprintln!("error[{}]: {}", failure.kind, failure.message),
    }
    if !quiet {
        let m = &report.metrics;
        eprintln!(
            "{} in {:.2} ms ({} tier): fuel {}, peak memory {:.1} KiB, {} host call(s)",
            if report.is_ok() { "ok" } else { "failed" },
            m.duration.as_secs_f64() * 1000.0,
            report.tier,
            m.fuel_consumed,
            m.peak_memory_bytes as f64 / 1024.0,
            m.host_calls.iter().map(|c| c.count).sum::<u64>(),
        );
    }
}
