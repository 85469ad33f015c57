//! Test fixtures shared by every test binary: the guest skills under
//! `tests/guests`, built once per run for `wasm32-wasip2` into
//! `target/guests`. Cargo's own lock serialises concurrent builds from
//! several test binaries; later ones are no-ops.

pub mod http_server;
pub mod other_languages;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The repository root (this crate lives at `tests/support`).
pub fn repo_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .canonicalize()
            .expect("repo root")
    })
}

/// The shared target directory for guest builds.
pub fn guest_target_dir() -> PathBuf {
    repo_root().join("target/guests")
}

/// Bytes of a guest component from `tests/guests/<name>`, built on first use.
pub fn guest_wasm(name: &str) -> Vec<u8> {
    let path = guest_wasm_path(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Writes the probe guest as a tool skill `probe` v1.0.0 into `dir`
/// (created): its `SKILL.md` and `skill.wasm`.
pub fn write_probe_skill(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("SKILL.md"),
        "---\nname: probe\ndescription: The probe.\nmetadata:\n  version: \"1.0.0\"\n  skill-type: tool\n---\n",
    )
    .unwrap();
    std::fs::copy(guest_wasm_path("probe"), dir.join("skill.wasm")).unwrap();
}

/// Path of a guest component, built on first use.
pub fn guest_wasm_path(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(build_guests);
    let path = guest_target_dir().join(format!(
        "wasm32-wasip2/release/{}.wasm",
        name.replace('-', "_")
    ));
    assert!(
        path.exists(),
        "guest `{name}` was not built: no {}",
        path.display()
    );
    path
}

/// Bytes of a core-module guest (`tests/guests/<name>`, built for
/// wasm32-unknown-unknown on first use).
pub fn core_guest_wasm(name: &str) -> Vec<u8> {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        ensure_wasm_target("wasm32-unknown-unknown");
        cargo_build_guests(&["--target", "wasm32-unknown-unknown", "-p", "core-probe"]);
    });
    let path = guest_target_dir().join(format!(
        "wasm32-unknown-unknown/release/{}.wasm",
        name.replace('-', "_")
    ));
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The `skill-worker` binary `cargo test` built beside the tests, for test
/// code that runs outside cargo's own folders (doctests run from a
/// temporary folder, so `WorkerCommand::skill_worker` cannot find it).
pub fn skill_worker() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"));
    ["debug", "release"]
        .iter()
        .map(|profile| target.join(profile).join("skill-worker"))
        .filter(|p| p.is_file())
        .max_by_key(|p| p.metadata().and_then(|m| m.modified()).ok())
        .unwrap_or_else(|| {
            panic!(
                "no skill-worker under {}: `cargo test --workspace` builds it",
                target.display()
            )
        })
}

/// Makes sure rustup has the wasm target; a missing target is installed, and
/// a failure to install ends the test run loudly rather than skipping.
pub fn ensure_wasm_target(target: &str) {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .expect("running `rustup target list --installed`: the tests need rustup");
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|l| l.trim() == target)
    {
        return;
    }
    let status = Command::new("rustup")
        .args(["target", "add", target])
        .status()
        .expect("running `rustup target add`");
    assert!(
        status.success(),
        "`rustup target add {target}` failed: the guest fixtures cannot be built"
    );
}

fn build_guests() {
    ensure_wasm_target("wasm32-wasip2");
    cargo_build_guests(&["--target", "wasm32-wasip2"]);
}

fn cargo_build_guests(args: &[&str]) {
    let manifest = repo_root().join("tests/guests/Cargo.toml");
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "--locked"])
        .args(args)
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(guest_target_dir())
        // Settings meant for the host build must not leak into the guests'.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .output()
        .expect("running cargo to build the guest fixtures");
    assert!(
        output.status.success(),
        "building the guest fixtures failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
