//! `cargo skill bench SKILL`: what one invocation costs, next to plain
//! wasmtime on the same compiled code, measured in the same run.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use serde_json::json;
use skill_runtime::TrustTier;
use skill_runtime::baseline::{compare, load_times};
use skill_runtime::prepare::{Overrides, SkillRef, prepare};

use crate::exit;
use crate::input::{InputSource, read_input};
use crate::limit_flags::LimitFlags;
use crate::output::MessageFormat;
use crate::setup;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// An installed skill's name, a skill folder (with SKILL.md and skill.wasm), or a .wasm component
    pub skill: PathBuf,

    /// The JSON input for each `execute`
    #[arg(long, default_value = "{}")]
    pub input: String,

    /// Invocations each way
    #[arg(long, default_value_t = 2000, value_name = "N")]
    pub iterations: usize,

    /// Trust tier whose limits apply [default: untrusted, lowered by the skill's `trust-tier`]
    #[arg(long)]
    pub tier: Option<TrustTier>,

    #[command(flatten)]
    pub limits: LimitFlags,

    #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
    pub message_format: MessageFormat,
}

pub fn exec(args: BenchArgs) -> Result<u8> {
    let home = setup::home()?;
    let runtime = setup::runtime();
    let overrides = Overrides {
        tier: args.tier,
        limits: args.limits.request(),
        ..Overrides::default()
    };
    let skill = SkillRef::from_arg(&home, &args.skill);
    let ready = prepare(&home, runtime.config(), skill, None, &overrides)?;
    if let Some(warning) = ready.tier.raised() {
        eprintln!("warning: {}: {warning}", ready.name);
    }
    let tier = ready.tier.tier;
    let input = read_input(InputSource::Argument(&args.input))?;
    let wasm = std::fs::read(&ready.wasm)
        .with_context(|| format!("could not read {}", ready.wasm.display()))?;

    let times = load_times(&wasm, tier, 5)?;
    let skill = runtime.load(&wasm, tier)?;
    let invocation = ready.invocation(&input);
    let c = compare(&runtime, &skill, &invocation, args.iterations).map_err(|mut f| {
        // A limit it hit says which and how to raise it; anything else is the input's.
        if f.explain(&ready.resolved) {
            anyhow::Error::from(f).context("the skill failed while being measured")
        } else {
            anyhow::anyhow!("the skill failed while being measured: {f}; bench an input it handles")
        }
    })?;

    let us = |d: Duration| (d.as_secs_f64() * 1e7).round() / 10.0;
    let result = json!({
        "compile_us": us(times.compile),
        "load_us": us(times.load),
        "floor_compile_us": us(times.floor_compile),
        "floor_load_us": us(times.floor_load),
        "invoke_p50_us": us(c.runtime.p50),
        "invoke_p99_us": us(c.runtime.p99),
        "floor_p50_us": us(c.floor.p50),
        "floor_p99_us": us(c.floor.p99),
        "ratio_p50": (c.ratio_p50() * 100.0).round() / 100.0,
        "fuel_per_call": c.fuel_per_call,
        "iterations": args.iterations,
        "tier": tier.as_str(),
    });
    match args.message_format {
        MessageFormat::Json => println!("{result}"),
        MessageFormat::Human => {
            println!(
                "{} ({} tier, {} invocations each way)",
                ready.wasm.display(),
                tier,
                args.iterations
            );
            println!(
                "  compile           {:>10.1} us   (plain wasmtime {:.1} us)",
                us(times.compile),
                us(times.floor_compile)
            );
            println!(
                "  cached load       {:>10.1} us   (plain wasmtime {:.1} us)",
                us(times.load),
                us(times.floor_load)
            );
            println!(
                "  invoke p50 / p99  {:>10.1} us / {:.1} us",
                us(c.runtime.p50),
                us(c.runtime.p99)
            );
            println!(
                "  floor  p50 / p99  {:>10.1} us / {:.1} us   (plain wasmtime, same compiled code)",
                us(c.floor.p50),
                us(c.floor.p99)
            );
            println!("  ratio p50         {:>10.2}", c.ratio_p50());
            println!("  fuel per call     {:>10}", c.fuel_per_call);
        }
    }
    Ok(exit::SUCCESS)
}
