//! `cargo skill test [FILTER]`: build, then run each skill's test cases under
//! the limits bots use.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};
use skill_runtime::manifest::{self, Mode};
use skill_runtime::{Runtime, TrustTier};

use crate::author::build::{CargoOptions, build_skills};
use crate::author::test_runner::{
    CaseResult, RunOptions, run_skill, save_recordings, update_snapshots,
};
use crate::exit;
use crate::limit_flags::LimitFlags;
use crate::output::GlobalArgs;
use crate::setup;

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Run only cases whose name contains this
    pub filter: Option<String>,

    /// Test only these skill packages
    #[arg(short, long = "package", value_name = "SPEC")]
    pub package: Vec<String>,

    /// Test every skill package in the workspace
    #[arg(long)]
    pub workspace: bool,

    /// Run every case under this tier instead of its own
    #[arg(long)]
    pub tier: Option<TrustTier>,

    #[command(flatten)]
    pub limits: LimitFlags,

    /// Build optimized before testing
    #[arg(short, long)]
    pub release: bool,

    /// Path to Cargo.toml
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,

    /// Test this skill folder as it is, without building (a prompt skill or an adopted component)
    #[arg(long, value_name = "DIR", conflicts_with_all = ["package", "workspace", "manifest_path"])]
    pub skill: Option<PathBuf>,

    #[arg(long, value_name = "DIR")]
    pub target_dir: Option<PathBuf>,

    /// Write actual outputs into the `expect.output` of failing cases
    #[arg(long)]
    pub update_snapshots: bool,

    /// Make real HTTP requests under each case's grants (instead of its
    /// fixtures) and save the responses as its `fixtures.http`
    #[arg(long)]
    pub record: bool,

    /// Record every case's invocation in the audit log, as bots do
    #[arg(long)]
    pub audit: bool,

    #[arg(long, value_enum, default_value_t = TestFormat::Human)]
    pub message_format: TestFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TestFormat {
    Human,
    /// One object per case, then a summary
    Json,
    /// JUnit XML
    Junit,
}

pub fn exec(args: TestArgs, global: &GlobalArgs) -> Result<u8> {
    let runtime = setup::runtime_with(args.audit)?;
    let skill_dirs = match &args.skill {
        Some(dir) => vec![dir.clone()],
        None => build_first(&args, global, &runtime)?,
    };
    if let Some(warning) =
        skill_runtime::TrustTier::choose(skill_runtime::TrustTier::Untrusted, None, args.tier)
            .raised()
    {
        eprintln!("warning: every case: {warning}");
    }
    let mut results: Vec<CaseResult> = Vec::new();
    for dir in &skill_dirs {
        let Some(path) = manifest::find_manifest(dir) else {
            anyhow::bail!("{} has no SKILL.md", dir.display());
        };
        let parsed = manifest::parse_file(&path, Mode::Lenient);
        let Some(manifest) = parsed.manifest else {
            anyhow::bail!(
                "{} cannot be read; run `cargo skill validate {}`",
                path.display(),
                dir.display()
            );
        };
        let options = RunOptions {
            filter: args.filter.as_deref(),
            tier: args.tier,
            limits: args.limits.request(),
            record: args.record,
        };
        results.extend(run_skill(&manifest, &runtime, options));
    }
    print(&results, args.message_format, global);
    if args.update_snapshots {
        let updated = update_snapshots(&results)?;
        eprintln!("     Updated {updated} snapshot(s)");
    }
    if args.record {
        let updated = save_recordings(&results)?;
        eprintln!("    Recorded HTTP fixtures for {updated} case(s)");
    }
    Ok(if results.iter().all(|r| r.passed) {
        exit::SUCCESS
    } else {
        exit::FAILURE
    })
}

fn build_first(args: &TestArgs, global: &GlobalArgs, runtime: &Runtime) -> Result<Vec<PathBuf>> {
    let options = CargoOptions {
        manifest_path: args.manifest_path.clone(),
        packages: args.package.clone(),
        workspace: args.workspace,
        release: args.release,
        target_dir: args.target_dir.clone(),
        quiet: global.quiet,
        verbose: global.verbose,
        color: global.color,
        ..Default::default()
    };
    Ok(build_skills(&options, runtime)?
        .into_iter()
        .map(|(package, _)| package.dir)
        .collect())
}

fn print(results: &[CaseResult], format: TestFormat, global: &GlobalArgs) {
    let passed = results.iter().filter(|r| r.passed).count();
    let failed = results.len() - passed;
    match format {
        TestFormat::Junit => print!("{}", crate::author::junit::render(results)),
        TestFormat::Json => {
            for r in results {
                println!("{}", serde_json::to_string(r).expect("results serialize"));
            }
            println!(
                "{}",
                serde_json::json!({"type": "summary", "passed": passed, "failed": failed})
            );
        }
        TestFormat::Human => {
            let palette = global.stdout_colors();
            for r in results {
                let status = if r.passed {
                    palette.bold("ok")
                } else {
                    palette.error("FAILED")
                };
                let cost = r.metrics.as_ref().map_or(String::new(), |m| {
                    format!(
                        " (fuel {}, peak {:.0} KiB, {:.2} ms)",
                        m.fuel_consumed,
                        m.peak_memory_bytes as f64 / 1024.0,
                        m.duration.as_secs_f64() * 1000.0
                    )
                });
                println!("test {}::{} ... {status}{cost}", r.skill, r.name);
                if let Some(failure) = &r.failure {
                    println!("    {}: {failure}", r.file.display());
                }
            }
            let verdict = if failed == 0 {
                palette.bold("ok")
            } else {
                palette.error("FAILED")
            };
            println!("\nskill test result: {verdict}. {passed} passed; {failed} failed");
        }
    }
}
