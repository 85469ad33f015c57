//! `cargo skill run SKILL`: one invocation through the runtime bots use.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use skill_runtime::prepare::{Overrides, SkillRef, prepare};
use skill_runtime::{Report, TrustTier};

use crate::input::{InputSource, read_input};
use crate::limit_flags::LimitFlags;
use crate::output::{GlobalArgs, MessageFormat};
use crate::setup;
use crate::{exit, help};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// An installed skill's name, a skill folder (with SKILL.md and skill.wasm), or a .wasm component
    #[arg(required_unless_present = "chain")]
    pub skill: Option<PathBuf>,

    /// Run the bot's chain NAME (from bots/<bot>/chains.toml) instead of one skill
    #[arg(long, value_name = "NAME", conflicts_with_all = ["skill", "tier", "grant", "deny"])]
    pub chain: Option<String>,

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

    #[command(flatten)]
    pub limits: LimitFlags,

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

    /// `auto`: untrusted and verified skills run in an OS-sandboxed worker
    /// (Landlock + seccomp, or Seatbelt); `none`: verified ones run in this
    /// process, at your own risk (untrusted never do)
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
    if let Some(chain) = &args.chain {
        return exec_chain(&args, chain, global);
    }
    let Some(skill_arg) = &args.skill else {
        bail!("name a skill to run, or pass --chain NAME");
    };
    let mut steps = Steps::new(global.verbose > 0);
    let home = setup::home()?;
    // The audit log opens once the worker is starting, beside it.
    let mut config = setup::runtime_config(false)?;
    steps.done("home opened");
    let overrides = Overrides {
        tier: args.tier,
        limits: args.limits.request(),
        grant: args
            .grant
            .iter()
            .map(|g| {
                g.parse()
                    .map_err(|e: skill_runtime::capabilities::DeclError| {
                        anyhow::anyhow!("--grant {g}: {e}")
                    })
            })
            .collect::<Result<_>>()?,
        deny: args
            .deny
            .iter()
            .map(|d| d.parse().map_err(|e| anyhow::anyhow!("--deny: {e}")))
            .collect::<Result<_>>()?,
    };
    let skill = SkillRef::from_arg(&home, skill_arg);
    if matches!(skill, SkillRef::Installed(_)) {
        setup::note_shadowed(skill_arg);
    }
    let ready = prepare(&home, &config, skill, args.bot.as_deref(), &overrides)?;
    steps.done("prepared (tier, grants, limits)");
    if let Some(warning) = ready.tier.raised() {
        eprintln!("warning: {}: {warning}", ready.name);
    }
    if args.sandbox == SandboxChoice::None {
        if ready.tier.tier == TrustTier::Untrusted {
            bail!(
                "--sandbox none does not apply to untrusted skills: they always run in the sandbox (pass --tier verified if you trust this one)"
            );
        }
        config.sandbox.sandbox_verified = false;
    }
    let mut runtime = skill_runtime::Runtime::new(config);
    // An untrusted or verified skill needs a worker: start it first, then
    // open the audit log and load the component while it starts.
    runtime.prewarm(ready.tier.tier, 1);
    if !args.no_audit {
        runtime.set_audit(Some(setup::audit_log(&home)?));
        steps.done("audit log opened");
    }
    let input = input_of(&args)?;
    steps.done("input read");
    let loaded = ready.load(&runtime);
    steps.done("component loaded (compile cache)");
    let mut report = ready.run_loaded(&runtime, loaded.as_deref(), &input);
    help::word_report(&mut report);
    steps.done(&format!(
        "invoked ({}; guest {:.2} ms) and audited",
        if report.sandboxed {
            "sandbox worker"
        } else {
            "in process"
        },
        report.metrics.duration.as_secs_f64() * 1000.0
    ));
    if let Some(error) = &report.audit_error {
        eprintln!("warning: this invocation was not recorded in the audit log: {error}");
    }

    match args.message_format {
        MessageFormat::Json => println!("{}", report.to_json()),
        MessageFormat::Human => print_human(&report, global.quiet),
    }
    steps.print();
    Ok(finish(runtime, report.is_ok()))
}

/// The process ends next. The audit log closes as usual (it may truncate
/// its WAL); workers are left to exit when their pipes close, which spares
/// a kill and a wait for each (~0.5 ms of a one-shot run).
fn finish(mut runtime: skill_runtime::Runtime, ok: bool) -> u8 {
    runtime.set_audit(None);
    std::mem::forget(runtime);
    if ok { exit::SUCCESS } else { exit::FAILURE }
}

fn input_of(args: &RunArgs) -> Result<String> {
    Ok(match (&args.input, &args.input_file) {
        (Some(text), _) => read_input(InputSource::Argument(text))?,
        (None, Some(path)) => read_input(InputSource::File(path))?,
        (None, None) => read_input(InputSource::Stdin)?,
    })
}

/// `run --chain NAME`: the steps as the bot's chains file lists them, each
/// with its own tier, grants and limits, under the chain's budget.
fn exec_chain(args: &RunArgs, name: &str, global: &GlobalArgs) -> Result<u8> {
    if args.limits.request() != Default::default() || args.sandbox != SandboxChoice::Auto {
        bail!(
            "--chain runs each step with its own limits and sandbox: set the chain's budget (`fuel`, `timeout-ms`, `output-bytes`) in its chains.toml instead of flags"
        );
    }
    let home = setup::home()?;
    let mut runtime = skill_runtime::Runtime::new(setup::runtime_config(false)?);
    if !args.no_audit {
        runtime.set_audit(Some(setup::audit_log(&home)?));
    }
    let input = input_of(args)?;
    let mut report =
        skill_runtime::chain::run_chain(&home, &runtime, args.bot.as_deref(), name, &input)?;
    for step in &mut report.steps {
        help::word_chain_step(&mut step.report);
        if let Some(error) = &step.report.audit_error {
            eprintln!(
                "warning: step `{}` was not recorded in the audit log: {error}",
                step.skill
            );
        }
    }
    if let (Some(at), Err(failure)) = (report.failed_step, &mut report.result) {
        *failure = report.steps[at - 1]
            .report
            .result
            .clone()
            .expect_err("the failed step failed");
    }
    match args.message_format {
        MessageFormat::Json => println!("{}", report.to_json()),
        MessageFormat::Human => print_chain(&report, global.quiet),
    }
    Ok(finish(runtime, report.is_ok()))
}

fn print_chain(report: &skill_runtime::chain::ChainReport, quiet: bool) {
    if !quiet {
        for step in &report.steps {
            for line in &step.report.logs {
                eprintln!("[{}] {}: {}", line.level, step.skill, line.message);
            }
        }
    }
    match (&report.result, report.failed_step) {
        (Ok(output), _) => print_output(output),
        (Err(failure), Some(at)) => eprintln!(
            "error[{}] at step {at} `{}`: {}",
            failure.kind,
            report.steps[at - 1].skill,
            failure.message
        ),
        (Err(failure), None) => eprintln!("error[{}]: {}", failure.kind, failure.message),
    }
    if !quiet {
        let fuel: u64 = report
            .steps
            .iter()
            .map(|s| s.report.metrics.fuel_consumed)
            .sum();
        eprintln!(
            "chain {}: {} after {} step(s) in {:.2} ms, fuel {fuel}",
            report.chain,
            if report.is_ok() { "ok" } else { "failed" },
            report.steps.len(),
            report.duration().as_secs_f64() * 1000.0,
        );
    }
    // The trace id is how its steps are found again: printed even with -q.
    eprintln!(
        "trace {} (`cargo skill audit --trace {}` lists its steps)",
        report.trace_id, report.trace_id
    );
}

fn print_output(output: &str) {
    let pretty = serde_json::from_str::<serde_json::Value>(output)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok());
    println!("{}", pretty.as_deref().unwrap_or(output));
}

/// Where the time of one `run` goes, printed with `-v`.
struct Steps {
    on: bool,
    started: Instant,
    last: Instant,
    done: Vec<(String, Duration)>,
}

impl Steps {
    fn new(on: bool) -> Steps {
        let now = Instant::now();
        Steps {
            on,
            started: now,
            last: now,
            done: Vec::new(),
        }
    }

    fn done(&mut self, step: &str) {
        if self.on {
            let now = Instant::now();
            self.done.push((step.to_string(), now - self.last));
            self.last = now;
        }
    }

    fn print(&self) {
        if !self.on {
            return;
        }
        for (step, took) in &self.done {
            eprintln!("{:>9.3} ms  {step}", took.as_secs_f64() * 1000.0);
        }
        eprintln!(
            "{:>9.3} ms  in all, from the start of `run`",
            self.started.elapsed().as_secs_f64() * 1000.0
        );
    }
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
        Ok(output) => print_output(output),
        Err(failure) => eprintln!("error[{}]: {}", failure.kind, failure.message),
    }
    if !quiet {
        let m = &report.metrics;
        // The peak is what the skill held; a refused growth never happened.
        let refused = match report.error_kind() {
            Some(skill_runtime::ErrorKind::MemoryLimit) => " (its next growth was refused)",
            _ => "",
        };
        eprintln!(
            "{} in {:.2} ms ({} tier): fuel {}, peak memory {}{refused} of {}, {} host call(s)",
            if report.is_ok() { "ok" } else { "failed" },
            m.duration.as_secs_f64() * 1000.0,
            report.tier,
            m.fuel_consumed,
            bytes(m.peak_memory_bytes),
            bytes(report.limits.memory_bytes),
            m.host_calls.iter().map(|c| c.count).sum::<u64>(),
        );
    }
}

fn bytes(n: u64) -> String {
    if n >= 1024 * 1024 {
        format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0))
    } else {
        format!("{:.1} KiB", n as f64 / 1024.0)
    }
}
