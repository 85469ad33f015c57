//! A power cut, as SIGKILL: `install` and `update` killed at random
//! moments, and after every kill the home still works and its lock says
//! what the folders hold.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use skill_runtime::Home;
use skill_runtime::store::installed::{self, Lockfile, journal};

use crate::publish::{bare_repo, install, keygen, publish_probe, run_installed};
use crate::{cargo_skill, stderr, stdout_json};

/// Kill points per run; `CARGO_SKILL_TEST_KILLS` changes it.
const KILLS: usize = 200;
/// The kills stop at this, however slow the machine; at least half of
/// `KILLS` must fit.
const BUDGET: Duration = Duration::from_secs(170);

/// The lock as every command reads it equals the lock rebuilt from the
/// installed folders, entry for entry.
fn assert_lock_agrees(home: &Path, context: &str) {
    let h = Home::new(home);
    let from_disk: Vec<installed::Locked> = installed::dirs(&h)
        .unwrap()
        .iter()
        .filter_map(|(name, _)| journal::locked_entry(&h, name).unwrap())
        .collect();
    let lock = Lockfile::read(home).unwrap();
    assert_eq!(lock.skills, from_disk, "{context}");
}

fn disk_version(home: &Path) -> String {
    installed::read_installed(&Home::new(home), "probe")
        .unwrap()
        .version
        .unwrap()
}

/// The files of the installed probe, metadata aside.
fn tree(home: &Path) -> Vec<(String, Vec<u8>)> {
    let dir = home.join("skills/probe");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name() != installed::META_FILE && e.path().is_file())
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (name, std::fs::read(e.path()).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// A small deterministic generator; the seed is printed so a failure can
/// be replayed with `CARGO_SKILL_TEST_SEED`.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

#[test]
fn a_kill_at_any_moment_of_install_or_update_leaves_the_lock_true_to_the_disk() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let public = keygen(h);
    std::fs::write(h.join("trusted-keys"), format!("{public}\n")).unwrap();
    let remote = bare_repo(h);
    let url = format!("file://{}", remote.display());
    publish_probe(h, &h.join("v1"), &url, "1.0.0");
    publish_probe(h, &h.join("v2"), &url, "2.0.0");
    let at = |version: &str| format!("{url}#probe-v{version}");

    let ok = |out: std::process::Output, what: &str| {
        assert_eq!(out.status.code(), Some(0), "{what}: {}", stderr(&out));
    };
    ok(install(h, &[&at("1.0.0"), "--yes"]), "first install");
    // How long an update takes when nothing stops it: kills land within it.
    let started = Instant::now();
    ok(install(h, &[&at("2.0.0"), "--yes"]), "an update");
    let span = started.elapsed().as_micros() as u64 * 11 / 10;
    ok(install(h, &[&at("1.0.0"), "--yes"]), "a downgrade by tag");

    let kills = std::env::var("CARGO_SKILL_TEST_KILLS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(KILLS);
    let seed = std::env::var("CARGO_SKILL_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("kill test: {kills} kills within {span} µs, CARGO_SKILL_TEST_SEED={seed}");
    let mut rng = Rng(seed);
    let fresh = tempfile::tempdir().unwrap();
    let deadline = Instant::now() + BUDGET;
    let mut changed = 0;
    let mut done = 0;
    for kill in 0..kills {
        // The bound wins over the count on a slow or busy machine, but too
        // few kills would not test anything: see the floor below.
        if Instant::now() >= deadline {
            break;
        }
        done += 1;
        let before = disk_version(h);
        let target = if before == "1.0.0" { "2.0.0" } else { "1.0.0" };
        let mut cmd = cargo_skill(h);
        if target == "2.0.0" && rng.below(2) == 0 {
            cmd.args(["update", "probe", "--major", "--yes"]);
        } else {
            cmd.args(["install", &at(target), "--yes"]);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(rng.below(span)));
        child.kill().ok();
        child.wait().unwrap();

        let context = format!("after kill {kill} (seed {seed}), going {before} → {target}");
        // What readers see, before any writer tidies up.
        assert_lock_agrees(h, &context);
        let now = disk_version(h);
        changed += usize::from(now != before);
        let listed = cargo_skill(h)
            .args(["list", "--message-format", "json"])
            .output()
            .unwrap();
        assert_eq!(
            stdout_json(&listed)[0]["version"].as_str(),
            Some(now.as_str()),
            "{context}"
        );
        let ran = run_installed(h);
        assert_eq!(
            stdout_json(&ran)["output"]["value"],
            "Europe/Oslo",
            "{context}: {}",
            stderr(&ran)
        );
        // Another install of where it was going succeeds, and leaves the
        // lock file itself true, with nothing left over.
        ok(install(h, &[&at(target), "--yes"]), &context);
        assert_eq!(disk_version(h), target, "{context}");
        assert!(!h.join(journal::PENDING_FILE).exists(), "{context}");
        let leftovers: Vec<String> = std::fs::read_dir(h.join("skills"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != "probe")
            .collect();
        assert!(leftovers.is_empty(), "{context}: {leftovers:?}");
        assert_lock_agrees(h, &context);

        // The lock, copied into a fresh home, installs the same bytes.
        let f = fresh.path().join(kill.to_string());
        std::fs::create_dir_all(f.join("cache")).unwrap();
        std::fs::copy(h.join("skills.lock"), f.join("skills.lock")).unwrap();
        std::fs::copy(h.join("trusted-keys"), f.join("trusted-keys")).unwrap();
        // The compiled-component cache is shared to keep each round short.
        std::os::unix::fs::symlink(h.join("cache/compiled"), f.join("cache/compiled")).unwrap();
        ok(install(&f, &[&url, "--yes", "--locked"]), &context);
        assert_eq!(disk_version(&f), target, "{context}");
        assert_eq!(tree(&f), tree(h), "{context}");
        std::fs::remove_dir_all(&f).unwrap();
    }
    eprintln!(
        "kill test: {done} of {kills} kills in {BUDGET:?}; {changed} left the new version in place"
    );
    assert!(
        done >= kills / 2,
        "only {done} of {kills} kills fit in {BUDGET:?}"
    );
    // Kills spread over the whole update: some before the swap, some after.
    assert!(changed > 0 && changed < done, "{changed} of {done}");
}
