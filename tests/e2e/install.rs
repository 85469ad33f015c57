//! install's dependency resolution, update policy, per-bot settings,
//! offline installs, agent folders and the compile sandbox, against real
//! git remotes (bare repositories over file://) and the real binary.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::Value;

use crate::publish::{bare_repo, install, keygen, publish};
use crate::{cargo_skill, stderr, stdout_json};

/// A prompt skill `root/<name>/` at `version` with extra `metadata` lines.
fn skill(root: &Path, name: &str, version: &str, metadata: &[&str]) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let extra: String = metadata.iter().map(|m| format!("  {m}\n")).collect();
    std::fs::write(
        dir.join("SKILL.md"),
        format!(
            "---\nname: {name}\ndescription: Does {name}. Use for {name}.\nmetadata:\n  version: \"{version}\"\n{extra}---\n\n# {name}\n"
        ),
    )
    .unwrap();
    dir
}

/// A home with a trusted key and an empty bare repository; its file:// URL.
fn signed_home() -> (tempfile::TempDir, String) {
    let home = tempfile::tempdir().unwrap();
    let public = keygen(home.path());
    std::fs::write(home.path().join("trusted-keys"), format!("{public}\n")).unwrap();
    let remote = bare_repo(home.path());
    let url = format!("file://{}", remote.display());
    (home, url)
}

/// Publishes `name` v`version` (a fresh folder each time) to `url`.
fn release(home: &Path, url: &str, name: &str, version: &str, metadata: &[&str]) {
    let dir = skill(
        &home.join(format!("work-{name}-{version}")),
        name,
        version,
        metadata,
    );
    let out = publish(home, &dir, url, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{name} {version}: {}",
        stderr(&out)
    );
}

fn cli(home: &Path, args: &[&str]) -> std::process::Output {
    cargo_skill(home)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn installed_version(home: &Path, name: &str) -> String {
    let meta = std::fs::read_to_string(home.join("skills").join(name).join(".boternity-meta.toml"))
        .unwrap();
    let line = meta.lines().find(|l| l.starts_with("version = ")).unwrap();
    line.trim_start_matches("version = ")
        .trim_matches('"')
        .to_string()
}

#[test]
fn a_diamond_resolves_to_one_version_each_from_the_published_tags() {
    let (home, url) = signed_home();
    let h = home.path();
    for version in ["1.0.0", "1.2.5", "1.3.0"] {
        release(h, &url, "base", version, &[]);
    }
    release(h, &url, "left", "1.0.0", &["dependencies: base@^1.1"]);
    release(
        h,
        &url,
        "right",
        "1.0.0",
        &["dependencies: base@>=1.0,<1.3"],
    );
    release(h, &url, "app", "1.0.0", &["dependencies: left@^1 right@^1"]);

    let out = install(h, &[&url, "--skill", "app", "--yes", "--require-signature"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    let at = |needle: &str| {
        err.find(needle)
            .unwrap_or_else(|| panic!("`{needle}` missing:\n{err}"))
    };
    // The highest base both accept (1.3.0 is newer but right refuses it),
    // from its tag, installed before the skills that need it.
    let base = at("Installed base v1.2.5 (Verified");
    assert!(base < at("Installed left v1.0.0") && base < at("Installed right v1.0.0"));
    assert!(at("Installed right v1.0.0") < at("Installed app v1.0.0"));
    let lock = std::fs::read_to_string(h.join("skills.lock")).unwrap();
    assert!(lock.contains("dependencies = [\"base@^1.1\"]"), "{lock}");

    let inspected = stdout_json(&cli(h, &["inspect", "app", "--message-format", "json"]));
    let tree = &inspected["installed"]["dependency_tree"];
    assert_eq!(tree[0]["name"], "left");
    assert_eq!(tree[0]["dependencies"][0]["name"], "base");
    assert_eq!(tree[0]["dependencies"][0]["installed"], "1.2.5");

    // Depended on: remove refuses unless forced.
    let refused = cli(h, &["remove", "base"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("base is needed by left v1.0.0, right v1.0.0"),
        "{}",
        stderr(&refused)
    );
    assert!(h.join("skills/base").is_dir());
    assert_eq!(cli(h, &["remove", "app"]).status.code(), Some(0));

    // A newer left that needs base ^1.3 cannot be had with right installed.
    release(h, &url, "left", "1.1.0", &["dependencies: base@^1.3"]);
    let out = install(h, &[&url, "--skill", "left", "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("no version of `base`")
            && err.contains("left v1.1.0 needs ^1.3")
            && err.contains("right v1.0.0 (installed) needs >=1.0, <1.3"),
        "{err}"
    );
    assert_eq!(
        installed_version(h, "left"),
        "1.0.0",
        "the old state is intact"
    );
}

#[test]
fn incompatible_diamonds_cycles_and_conflicts_are_refused_by_name() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let diamond = h.join("diamond");
    skill(
        &diamond,
        "app",
        "1.0.0",
        &["dependencies: left@^1 right@^1"],
    );
    skill(&diamond, "left", "1.0.0", &["dependencies: base@^1"]);
    skill(&diamond, "right", "1.0.0", &["dependencies: base@^2"]);
    skill(&diamond, "base", "1.4.0", &[]);
    let out = install(h, &[diamond.to_str().unwrap(), "--skill", "app", "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("left v1.0.0 needs ^1")
            && err.contains("right v1.0.0 needs ^2")
            && err.contains("available: 1.4.0"),
        "{err}"
    );
    assert!(!h.join("skills").exists(), "nothing was installed");

    let cycle = h.join("cycle");
    skill(&cycle, "a", "1.0.0", &["dependencies: b@^1"]);
    skill(&cycle, "b", "1.0.0", &["dependencies: a@^1"]);
    let out = install(h, &[cycle.to_str().unwrap(), "--skill", "a", "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("dependency cycle: a v1.0.0 → b v1.0.0 → a v1.0.0"),
        "{}",
        stderr(&out)
    );

    let unsigned = install(
        h,
        &[
            rivals_dir(h).to_str().unwrap(),
            "--skill",
            "slow",
            "--yes",
            "--require-signature",
        ],
    );
    assert_eq!(unsigned.status.code(), Some(2));
    assert!(
        stderr(&unsigned).contains("slow: it is not signed; --require-signature refuses it"),
        "{}",
        stderr(&unsigned)
    );

    let rivals = rivals_dir(h);
    let out = install(h, &[rivals.to_str().unwrap(), "--skill", "slow", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = install(h, &[rivals.to_str().unwrap(), "--skill", "fast", "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("fast conflicts with slow (installed)"),
        "{}",
        stderr(&out)
    );
    assert!(!h.join("skills/fast").exists());
}

/// `slow`, and `fast` that conflicts with it, unsigned, in `root/rivals`.
fn rivals_dir(root: &Path) -> PathBuf {
    let rivals = root.join("rivals");
    skill(&rivals, "slow", "1.0.0", &[]);
    skill(&rivals, "fast", "1.0.0", &["conflicts-with: slow"]);
    rivals
}

#[test]
fn update_takes_patches_asks_for_more_honours_pins_and_new_capabilities() {
    let (home, url) = signed_home();
    let h = home.path();
    release(h, &url, "clock", "1.0.0", &[]);
    let out = install(h, &[&url, "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    release(h, &url, "clock", "1.0.1", &[]);
    release(h, &url, "clock", "1.1.0", &[]);
    release(h, &url, "clock", "2.0.0", &["capabilities: read-env:TZ"]);

    let dry = cli(h, &["update", "--dry-run"]);
    assert_eq!(dry.status.code(), Some(0), "{}", stderr(&dry));
    assert!(
        stderr(&dry).contains("Would update clock v1.0.0 -> v1.0.1"),
        "{}",
        stderr(&dry)
    );
    assert!(
        stderr(&dry).contains("v2.0.0 is available; pass --major"),
        "{}",
        stderr(&dry)
    );
    assert_eq!(installed_version(h, "clock"), "1.0.0");

    assert_eq!(cli(h, &["update"]).status.code(), Some(0));
    assert_eq!(
        installed_version(h, "clock"),
        "1.0.1",
        "patches go on their own"
    );
    assert_eq!(
        cli(h, &["update", "clock", "--minor"]).status.code(),
        Some(0)
    );
    assert_eq!(installed_version(h, "clock"), "1.1.0");

    // A bot's pin holds the line, even with --major.
    let pin = cli(h, &["enable", "clock", "--bot", "night", "--version", "^1"]);
    assert_eq!(pin.status.code(), Some(0), "{}", stderr(&pin));
    assert_eq!(
        cli(h, &["update", "--major", "--yes"]).status.code(),
        Some(0)
    );
    assert_eq!(installed_version(h, "clock"), "1.1.0");
    assert!(
        std::fs::read_to_string(h.join("bots/night/skills.toml"))
            .unwrap()
            .contains("version = \"^1\"")
    );
    assert_eq!(
        cli(h, &["enable", "clock", "--bot", "night", "--version", "*"])
            .status
            .code(),
        Some(0)
    );

    // 2.0.0 declares a new capability: no terminal and no --yes refuses, old state kept.
    let unapproved = cli(h, &["update", "--major"]);
    assert_eq!(unapproved.status.code(), Some(2));
    assert!(
        stderr(&unapproved).contains("--yes"),
        "{}",
        stderr(&unapproved)
    );
    assert_eq!(installed_version(h, "clock"), "1.1.0");
    let approved = cli(h, &["update", "--major", "--yes"]);
    assert_eq!(approved.status.code(), Some(0), "{}", stderr(&approved));
    assert_eq!(installed_version(h, "clock"), "2.0.0");
    let meta = std::fs::read_to_string(h.join("skills/clock/.boternity-meta.toml")).unwrap();
    assert!(
        meta.contains("read-env:TZ") && meta.contains("verification = \"verified\""),
        "{meta}"
    );

    // Never a downgrade; installing an older version explicitly is install's job.
    let again = cli(h, &["update", "--major"]);
    assert!(
        stderr(&again).contains("Up to date clock v2.0.0"),
        "{}",
        stderr(&again)
    );

    // Per-bot: disabled, or pinned away from what is installed, refuses to run.
    assert_eq!(
        cli(h, &["disable", "clock", "--bot", "night"])
            .status
            .code(),
        Some(0)
    );
    let off = cli(h, &["run", "clock", "--bot", "night", "--input", "{}"]);
    assert_eq!(off.status.code(), Some(2));
    assert!(
        stderr(&off).contains("clock is disabled for bot `night`"),
        "{}",
        stderr(&off)
    );
    assert_eq!(
        cli(h, &["enable", "clock", "--bot", "night", "--version", "^1"])
            .status
            .code(),
        Some(0)
    );
    let pinned = cli(h, &["run", "clock", "--bot", "night", "--input", "{}"]);
    assert!(
        stderr(&pinned).contains("pins clock to ^1"),
        "{}",
        stderr(&pinned)
    );
    let bad = h.join("bots/night/skills.toml");
    std::fs::write(&bad, "[skills.clock]\nenabled = \"yes\"\n").unwrap();
    let unreadable = cli(h, &["run", "clock", "--bot", "night", "--input", "{}"]);
    assert!(
        stderr(&unreadable).contains("skills.toml:2:"),
        "{}",
        stderr(&unreadable)
    );
}

#[test]
fn offline_installs_use_the_cached_clone_and_say_when_there_is_none() {
    let (home, url) = signed_home();
    let h = home.path();
    release(h, &url, "clock", "1.0.0", &[]);
    let never = install(h, &[&url, "--yes", "--offline"]);
    assert_eq!(never.status.code(), Some(2));
    assert!(
        stderr(&never).contains("--offline needs one install"),
        "{}",
        stderr(&never)
    );
    assert_eq!(install(h, &[&url, "--yes"]).status.code(), Some(0));
    std::fs::rename(h.join("remote.git"), h.join("gone.git")).unwrap();
    assert_eq!(cli(h, &["remove", "clock"]).status.code(), Some(0));
    let offline = install(h, &[&url, "--yes", "--offline"]);
    assert_eq!(offline.status.code(), Some(0), "{}", stderr(&offline));
    assert_eq!(installed_version(h, "clock"), "1.0.0");
    let online = install(h, &[&url, "--yes"]);
    assert_eq!(online.status.code(), Some(2), "the remote is gone");
}

#[test]
fn agents_folders_and_skills_lock_json_match_the_npx_installer() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let source = h.join("src");
    let alpha = skill(&source, "alpha", "1.0.0", &[]);
    std::fs::create_dir_all(alpha.join("references")).unwrap();
    std::fs::write(alpha.join("references/notes.md"), "notes\n").unwrap();
    std::fs::write(alpha.join("Skill_B.md"), "b\n").unwrap();
    std::fs::write(alpha.join("skill-a.md"), "a\n").unwrap();

    let ours = h.join("ours");
    std::fs::create_dir_all(&ours).unwrap();
    let out = cargo_skill(h)
        .current_dir(&ours)
        .args([
            "install",
            source.to_str().unwrap(),
            "--yes",
            "--agents",
            "claude,codex",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let placed = ours.join(".agents/skills/alpha");
    assert_eq!(
        std::fs::read_to_string(placed.join("references/notes.md")).unwrap(),
        "notes\n"
    );
    assert!(!placed.join(".boternity-meta.toml").exists());
    let link = ours.join(".claude/skills/alpha");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        Path::new("../../.agents/skills/alpha")
    );
    assert!(link.join("SKILL.md").is_file());

    let theirs = h.join("theirs");
    std::fs::create_dir_all(&theirs).unwrap();
    let npx = crate::npm_skills_in("skills-lock", &theirs, h)
        .args(["add", "../src", "--yes", "--agent", "claude-code", "codex"])
        .output()
        .unwrap();
    assert!(
        npx.status.success(),
        "{}",
        String::from_utf8_lossy(&npx.stdout)
    );
    let lock = |dir: &Path| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join("skills-lock.json")).unwrap())
            .unwrap()
    };
    let (ours, theirs) = (lock(&ours), lock(&theirs));
    assert_eq!(ours["version"], theirs["version"]);
    assert_eq!(
        ours["skills"]["alpha"], theirs["skills"]["alpha"],
        "the same entry, computedHash included"
    );
}

#[test]
fn a_write_failing_mid_install_says_so_and_keeps_the_old_version() {
    use std::os::unix::process::CommandExt;
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let source = h.join("src");
    let manifest = |version: &str| {
        format!(
            "---\nname: probe\ndescription: The probe. Use it in tests.\nmetadata:\n  version: \"{version}\"\n  skill-type: tool\n---\n"
        )
    };
    let dir = crate::probe_skill_folder(&source, "probe", &manifest("1.0.0"));
    assert_eq!(
        install(h, &[dir.to_str().unwrap(), "--yes"]).status.code(),
        Some(0)
    );
    std::fs::write(dir.join("SKILL.md"), manifest("1.1.0")).unwrap();
    // A file-size limit makes every write past 64 KiB fail with EFBIG, as a
    // full disk would fail it: the 140 KB component cannot be staged.
    let mut command = cargo_skill(h);
    command
        .args(["install", dir.to_str().unwrap(), "--yes"])
        .stdin(Stdio::null());
    // SAFETY: setrlimit and signal between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 64 << 10,
                rlim_max: 64 << 10,
            };
            libc::setrlimit(libc::RLIMIT_FSIZE, &limit);
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    let full = command.output().unwrap();
    assert_eq!(full.status.code(), Some(2), "{}", stderr(&full));
    let err = stderr(&full);
    assert!(
        err.contains("could not install probe v1.1.0") && err.contains("File too large"),
        "{err}"
    );
    assert_eq!(installed_version(h, "probe"), "1.0.0");
    let leftovers: Vec<_> = std::fs::read_dir(h.join("skills"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".staging"))
        .collect();
    assert!(leftovers.is_empty(), "no half-staged folder is left behind");
    let lock = std::fs::read_to_string(h.join("skills.lock")).unwrap();
    assert!(lock.contains("version = \"1.0.0\""), "{lock}");
}

#[test]
fn compiling_untrusted_components_is_limited_in_a_child_process() {
    use cargo_skill::compile::{CompileLimits, Compiler};
    use std::time::Duration;
    let home = tempfile::tempdir().unwrap();
    let skill_home = skill_runtime::Home::new(home.path());
    let wasm = skill_test_support::guest_wasm_path("probe");
    let child = |limits| Compiler {
        exe: PathBuf::from(env!("CARGO_BIN_EXE_cargo-skill")),
        limits,
    };
    let tight = CompileLimits {
        cpu: Duration::from_secs(60),
        wall: Duration::from_secs(60),
        data_bytes: 8 << 20,
    };
    let err = child(tight)
        .compile(&skill_home, &wasm, skill_runtime::TrustTier::Untrusted)
        .unwrap_err()
        .to_string();
    assert!(err.contains("refused") || err.contains("memory"), "{err}");
    child(CompileLimits::default())
        .compile(&skill_home, &wasm, skill_runtime::TrustTier::Untrusted)
        .unwrap();
    assert!(
        std::fs::read_dir(skill_home.compiled_cache_dir())
            .unwrap()
            .count()
            > 0,
        "the child filled the compiled cache"
    );
}
