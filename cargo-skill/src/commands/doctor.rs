//! `cargo skill doctor [--message-format json]`: the checks in `doctor.rs`;
//! exit 1 when any fails.

use anyhow::Result;
use clap::Args;

use crate::doctor::{self, Status};
use crate::exit;
use crate::output::MessageFormat;
use crate::setup;

#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
    pub message_format: MessageFormat,
}

pub fn exec(args: DoctorArgs) -> Result<u8> {
    let home = setup::home().ok();
    let runtime = setup::runtime();
    let checks = doctor::run(home.as_ref(), &runtime);
    let failed = checks.iter().any(|c| c.status == Status::Error);
    match args.message_format {
        MessageFormat::Json => {
            println!("{}", serde_json::json!({ "ok": !failed, "checks": checks }))
        }
        MessageFormat::Human => {
            for c in &checks {
                let status = match c.status {
                    Status::Ok => "ok",
                    Status::Warn => "warn",
                    Status::Error => "ERROR",
                };
                println!("{status:>5}  {:<16} {}", c.name, c.detail);
                if let Some(fix) = &c.fix {
                    println!("{:>5}  {:<16} fix: {fix}", "", "");
                }
            }
        }
    }
    Ok(if failed { exit::FAILURE } else { exit::SUCCESS })
}
