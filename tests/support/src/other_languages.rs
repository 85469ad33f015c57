//! Guests written in Python and JavaScript, built with the real toolchains
//! skill authors use (pinned; `.ci/run` installs them under `target/`) from
//! the shipped `wit/` with no trimming. Each is built once and kept under
//! `target/guests/other` until its source, the WIT or the toolchain changes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::repo_root;

/// componentize-py, from PyPI, in `target/pycomp` (see `.ci/run`).
pub const COMPONENTIZE_PY: &str = "componentize-py==0.25.1";
/// componentize-js, from npm, in `target/npmjs` (see `.ci/run`).
pub const COMPONENTIZE_JS: &str = "@bytecodealliance/componentize-js@0.23.0";

/// `tests/guests/python/app.py` as a component.
pub fn python_guest() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let src = repo_root().join("tests/guests/python");
            let tool = repo_root().join("target/pycomp/bin/componentize-py");
            let wit = repo_root().join("wit");
            build(
                "python",
                &tool,
                COMPONENTIZE_PY,
                &src.join("app.py"),
                |out| {
                    let mut c = Command::new(&tool);
                    c.current_dir(&src)
                        .arg("-d")
                        .arg(&wit)
                        .args(["-w", "skill-plugin", "componentize", "app", "-o"])
                        .arg(out);
                    c
                },
            )
        })
        .clone()
}

/// `tests/guests/javascript/app.js` as a component.
pub fn javascript_guest() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let src = repo_root().join("tests/guests/javascript/app.js");
            let tool = repo_root().join("target/npmjs/node_modules/.bin/componentize-js");
            let wit = repo_root().join("wit");
            build("javascript", &tool, COMPONENTIZE_JS, &src, |out| {
                let mut c = Command::new(&tool);
                c.arg(&src)
                    .arg("--wit")
                    .arg(&wit)
                    .args(["-n", "skill-plugin", "-o"])
                    .arg(out);
                c
            })
        })
        .clone()
}

/// Runs `command` (given the output path) unless a component built from the
/// same source, WIT and toolchain is already there.
fn build(
    language: &str,
    tool: &Path,
    pinned: &str,
    source: &Path,
    command: impl Fn(&Path) -> Command,
) -> PathBuf {
    assert!(
        tool.exists(),
        "{} is missing: the {language} guest is built with {pinned}; run .ci/run, which installs it",
        tool.display()
    );
    let dir = repo_root().join("target/guests/other");
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join(format!("{language}.wasm"));
    let stamp = dir.join(format!("{language}.inputs"));
    let read =
        |p: &Path| std::fs::read(p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()));
    let mut inputs = pinned.as_bytes().to_vec();
    inputs.extend(read(source));
    inputs.extend(read(&repo_root().join("wit/boternity-skill.wit")));
    if out.exists() && std::fs::read(&stamp).ok().as_deref() == Some(&inputs[..]) {
        return out;
    }
    // Built beside the result and renamed: another test binary building at
    // the same time never sees half a component.
    let partial = dir.join(format!("{language}.{}.partial.wasm", std::process::id()));
    let started = std::time::Instant::now();
    let result = command(&partial)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", tool.display()));
    assert!(
        result.status.success() && partial.exists(),
        "building the {language} guest with {pinned} failed:\n{}{}",
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
    std::fs::rename(&partial, &out).unwrap();
    std::fs::write(&stamp, &inputs).unwrap();
    eprintln!("built the {language} guest in {:.1?}", started.elapsed());
    out
}
