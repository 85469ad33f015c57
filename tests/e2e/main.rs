//! End-to-end tests: they drive the real `cargo-skill` binary.

mod browse;
mod build;
mod capabilities;
mod chains;
mod core;
mod crash;
mod ecosystem;
mod hostile;
mod install;
mod languages;
mod mcp;
mod mcp_edge;
mod operator;
mod publish;
mod registry;
mod registry_web;
mod run;
mod scan;
mod terminal;
mod test_cases;
mod validate;

use std::path::Path;
use std::process::{Command, Output};

/// The binary under test, with a private home folder so tests never touch
/// the developer's `~/.boternity`.
pub fn cargo_skill(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cargo-skill"));
    cmd.env("CARGO_SKILL_HOME", home)
        .env_remove("CARGO_SKILL_KEY_PASSWORD");
    cmd
}

/// The probe guest as the skill folder `root/<folder>` with this SKILL.md.
pub fn probe_skill_folder(root: &Path, folder: &str, manifest: &str) -> std::path::PathBuf {
    let dir = root.join(folder);
    std::fs::create_dir_all(dir.join("tests")).unwrap();
    std::fs::write(dir.join("SKILL.md"), manifest).unwrap();
    std::fs::copy(
        skill_test_support::guest_wasm_path("probe"),
        dir.join("skill.wasm"),
    )
    .unwrap();
    dir
}

/// The ecosystem's installer, as `.ci/run` installs it into `target/npm`:
/// `skills` is npm `skills@1.3.9`, `skills-lock` is `skills@1.5.25` (the
/// first with the project `skills-lock.json`).
pub fn npm_skills(package: &str) -> Command {
    let cli = skill_test_support::repo_root()
        .join("target/npm/node_modules")
        .join(package)
        .join("bin/cli.mjs");
    assert!(
        cli.is_file(),
        "{} is missing: run `npm install --prefix target/npm --save-exact skills@1.3.9 skills-lock@npm:skills@1.5.25` (.ci/run does)",
        cli.display()
    );
    let mut cmd = Command::new("node");
    cmd.arg(cli);
    cmd
}

/// `npm_skills(package)` run in `project`, with `home` as its HOME, no
/// telemetry and no standard input.
pub fn npm_skills_in(package: &str, project: &Path, home: &Path) -> Command {
    let mut cmd = npm_skills(package);
    cmd.current_dir(project)
        .env("HOME", home)
        .env("DISABLE_TELEMETRY", "1")
        .env("DO_NOT_TRACK", "1")
        .stdin(std::process::Stdio::null());
    cmd
}

pub fn stdout_json(output: &Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(text.trim()).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON value ({e}):\n{text}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
