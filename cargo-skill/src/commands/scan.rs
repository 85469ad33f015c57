//! `cargo skill scan [PATHS]`: the malicious and the risky in skill folders.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Args, ValueEnum};
use skill_runtime::scan::{self, Risk};

use crate::exit;
use crate::output::GlobalArgs;
use crate::scanning::report::{self, Totals};
use crate::scanning::sarif;
use crate::setup;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScanFormat {
    Human,
    Json,
    Sarif,
    Github,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Critical,
    High,
    Medium,
    Low,
}

impl FailOn {
    fn severity(self) -> Risk {
        match self {
            FailOn::Critical => Risk::Critical,
            FailOn::High => Risk::High,
            FailOn::Medium => Risk::Medium,
            FailOn::Low => Risk::Low,
        }
    }
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Skill folders, SKILL.md files, repository roots or installed skills' names [default: .]
    pub paths: Vec<PathBuf>,

    #[arg(long, value_enum, default_value_t = ScanFormat::Human)]
    pub message_format: ScanFormat,

    /// Exit 1 when a finding is at this severity or above
    #[arg(long, value_enum, default_value_t = FailOn::High)]
    pub fail_on: FailOn,

    /// Do not load tool skills' components (skips `capability-undeclared`)
    #[arg(long)]
    pub no_components: bool,
}

pub fn exec(args: ScanArgs, global: &GlobalArgs) -> Result<u8> {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths
            .iter()
            .map(|p| setup::skill_path(p))
            .collect::<Result<_>>()?
    };
    let (mut scans, empty) = scan::scan_paths(&paths);
    if !args.no_components {
        let runtime = setup::runtime();
        for s in &mut scans {
            scan::lint_component(s, &runtime);
        }
    }
    let fail_on = args.fail_on.severity();
    let totals = Totals::of(&scans);
    match args.message_format {
        ScanFormat::Sarif => {
            let rooted: Vec<(&Path, &scan::SkillScan)> = scans
                .iter()
                .map(|s| (scan::root_of(&paths, &s.dir), s))
                .collect();
            println!("{}", sarif::log(&rooted)?);
        }
        format => {
            for s in &scans {
                for f in &s.findings {
                    println!(
                        "{}",
                        match format {
                            ScanFormat::Json => report::json_line(s, f),
                            ScanFormat::Github => report::github(s, f),
                            _ => report::human(s, f),
                        }
                    );
                }
            }
            match format {
                ScanFormat::Json => println!("{}", report::summary_json(&totals, fail_on)),
                _ if !global.quiet => eprintln!("{}", report::summary_human(&totals, fail_on)),
                _ => {}
            }
        }
    }
    for path in &empty {
        eprintln!("{}", report::no_skill(path));
    }
    Ok(if !empty.is_empty() {
        exit::USAGE
    } else if totals.at_least(fail_on) > 0 {
        exit::FAILURE
    } else {
        exit::SUCCESS
    })
}
