//! Installs from hostile sources: crafted names, relation fields, shipped
//! install metadata, symlinks out of a skill, skills that raise their own
//! trust, and concurrent writers. Every refusal leaves the home as it was,
//! and nothing is ever written outside it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use crate::publish::git;
use crate::{cargo_skill, stderr, stdout_json};

/// A git repository at `dir` holding `files` (path → content; a content
/// starting with `-> ` is a symlink to the rest), committed on `main`.
pub(crate) fn git_repo(dir: &Path, files: &[(&str, &str)]) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let d = dir.to_str().unwrap();
    git(&["init", "-q", "-b", "main", d]);
    commit(dir, files, "first");
    dir.to_path_buf()
}

/// Writes `files` into the work tree of `dir` and commits them.
pub(crate) fn commit(dir: &Path, files: &[(&str, &str)], message: &str) {
    for (path, content) in files {
        let at = dir.join(path);
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        std::fs::remove_file(&at).ok();
        match content.strip_prefix("-> ") {
            Some(target) => std::os::unix::fs::symlink(target, &at).unwrap(),
            None => std::fs::write(&at, content).unwrap(),
        }
    }
    let d = dir.to_str().unwrap();
    git(&["-C", d, "add", "-A"]);
    git(&[
        "-C",
        d,
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.com",
        "commit",
        "-q",
        "-m",
        message,
    ]);
}

fn url(repo: &Path) -> String {
    format!("file://{}", repo.display())
}

fn cli(home: &Path, args: &[&str]) -> Output {
    cargo_skill(home)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Every file under `dir` (cache and lock file aside) with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).unwrap().flatten() {
            let path = entry.path();
            let relative = path.strip_prefix(dir).unwrap().to_path_buf();
            if relative.starts_with("cache") || relative == Path::new(".lock") {
                continue;
            }
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(path);
            } else {
                out.insert(relative, std::fs::read(&path).unwrap_or_default());
            }
        }
    }
    out
}

fn manifest(name: &str, metadata: &str) -> String {
    format!(
        "---\nname: {name}\ndescription: Does {name} things. Use it for {name}.\n{metadata}---\n\n# {name}\n"
    )
}

#[test]
fn crafted_manifests_are_refused_with_a_position_and_change_nothing() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let work = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let escape = outside.path().join("escape");
    // Deep enough to climb out of any temporary home to `/`.
    let climb = format!(
        "{}{}",
        "../".repeat(16),
        escape.display().to_string().trim_start_matches('/')
    );
    let good = git_repo(
        &work.path().join("good"),
        &[("SKILL.md", &manifest("good", ""))],
    );
    assert_eq!(
        cli(h, &["install", &url(&good), "--yes"]).status.code(),
        Some(0)
    );
    let before = snapshot(h);

    let bad_name = |name: &str| manifest(name, "");
    // (what, the repository's files, what the refusal must say)
    type Case<'a> = (&'a str, Vec<(&'a str, String)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            "climbing name",
            vec![("skills/escape/SKILL.md", bad_name(&climb))],
            "SKILL.md:2:7",
        ),
        (
            "absolute name",
            vec![(
                "skills/escape/SKILL.md",
                bad_name(&escape.display().to_string()),
            )],
            "name-invalid-chars",
        ),
        (
            "dot name",
            vec![("skills/.hidden/SKILL.md", bad_name(".hidden"))],
            "name-invalid-chars",
        ),
        (
            "backslash name",
            vec![("skills/escape/SKILL.md", bad_name("\"..\\\\..\\\\escape\""))],
            "name-invalid-chars",
        ),
        (
            "terminal escapes in the name",
            vec![("skills/escape/SKILL.md", bad_name("\"\\e[2J\\e[31mevil\""))],
            "\\u{1b}[2J",
        ),
        (
            "division slash",
            vec![("skills/escape/SKILL.md", bad_name("\"a\u{2215}b\""))],
            "name-invalid-chars",
        ),
        (
            "fullwidth solidus",
            vec![("skills/escape/SKILL.md", bad_name("\"..\u{ff0f}escape\""))],
            "name-",
        ),
        (
            "dependency path",
            vec![(
                "skills/dep/SKILL.md",
                manifest("dep", "metadata:\n  dependencies: ../../../etc@^1\n"),
            )],
            "SKILL.md:5:17",
        ),
        (
            "parent path",
            vec![(
                "skills/par/SKILL.md",
                manifest("par", "metadata:\n  parents: ../x\n"),
            )],
            "parent-invalid",
        ),
        (
            "conflict path",
            vec![(
                "skills/con/SKILL.md",
                manifest("con", "metadata:\n  conflicts-with: /etc\n"),
            )],
            "conflict-invalid",
        ),
        (
            "file scope path",
            vec![(
                "skills/cap/SKILL.md",
                manifest("cap", "metadata:\n  capabilities: read-file:../../.ssh\n"),
            )],
            "capability-scope-invalid",
        ),
        (
            "duplicate name key",
            vec![(
                "skills/dup/SKILL.md",
                "---\nname: dup\nname: ../../x\ndescription: d\n---\n".into(),
            )],
            "yaml-duplicate-key",
        ),
        (
            "shipped install metadata",
            vec![
                ("skills/meta/SKILL.md", manifest("meta", "")),
                (
                    "skills/meta/.boternity-meta.toml",
                    "trust-tier = \"local\"\ngrants = [\"http-get\"]\n".into(),
                ),
            ],
            "only `cargo skill install` writes",
        ),
        (
            "symlink out of the skill",
            vec![
                ("skills/link/SKILL.md", manifest("link", "")),
                ("skills/link/notes.md", "-> /etc/passwd".into()),
            ],
            "is a link that leads out of the source",
        ),
        // Not followed, as the ecosystem's installer does not follow it.
        (
            "symlinked skill folder",
            vec![("skills/linked", format!("-> {}", outside.path().display()))],
            "no skill in",
        ),
    ];
    std::fs::write(outside.path().join("SKILL.md"), manifest("linked", "")).unwrap();
    for (i, (what, files, expected)) in cases.iter().enumerate() {
        let files: Vec<(&str, &str)> = files.iter().map(|(p, c)| (*p, c.as_str())).collect();
        let repo = git_repo(&work.path().join(format!("hostile-{i}")), &files);
        for args in [
            vec!["install", &url(&repo) as &str, "--yes"],
            vec!["install", repo.to_str().unwrap(), "--yes"],
        ] {
            let out = cli(h, &args);
            let err = stderr(&out);
            assert_ne!(out.status.code(), Some(0), "{what}: installed\n{err}");
            assert!(
                err.contains(expected),
                "{what}: `{expected}` missing:\n{err}"
            );
            assert!(!escape.exists(), "{what}: wrote outside the home");
            assert!(
                !err.contains('\u{1b}'),
                "{what}: a raw escape reached the terminal"
            );
            let after = snapshot(h);
            assert!(
                after == before,
                "{what}: the home changed: {:?}",
                after.keys().collect::<Vec<_>>()
            );
        }
    }
}

#[test]
fn every_refusal_in_a_multi_skill_source_is_named_and_the_rest_installs() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let repo = git_repo(
        &h.join("mixed"),
        &[
            ("skills/fine/SKILL.md", &manifest("fine", "")),
            ("skills/wrong/SKILL.md", &manifest("../../wrong", "")),
        ],
    );
    let out = cli(h, &["install", &url(&repo), "--yes"]);
    let err = stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a partial install is a failure:\n{err}"
    );
    assert!(err.contains("Installed fine"), "{err}");
    assert!(
        err.contains("refused 1:\n  ../../wrong (folder wrong): name-invalid-chars")
            && err.contains(":skills/wrong/SKILL.md:2:7"),
        "{err}"
    );
    assert!(h.join("skills/fine/SKILL.md").is_file());
    let lock = std::fs::read_to_string(h.join("skills.lock")).unwrap();
    assert!(
        lock.contains("name = \"fine\"") && !lock.contains("wrong"),
        "{lock}"
    );

    // Asking for the broken one by its folder refuses the whole command.
    let out = cli(h, &["install", &url(&repo), "--skill", "wrong", "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("nothing was installed"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_skill_only_lowers_its_tier_and_the_operator_raises_it_with_a_warning() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let skill = crate::probe_skill_folder(
        &h.join("src"),
        "probe",
        &manifest(
            "probe",
            "metadata:\n  version: \"1.0.0\"\n  trust-tier: local\n",
        ),
    );
    let run = |extra: &[&str]| {
        cargo_skill(h)
            .args([
                "run",
                "--message-format",
                "json",
                "--input",
                r#"{"mode":"loop"}"#,
            ])
            .arg(&skill)
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run(&[]);
    let report = stdout_json(&out);
    assert_eq!(report["tier"], "untrusted", "{report}");
    assert_eq!(report["sandboxed"], true, "{report}");
    assert_eq!(report["kind"], "fuel-exhausted", "{report}");
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));

    let out = run(&["--tier", "local", "--timeout", "300"]);
    let report = stdout_json(&out);
    assert_eq!(report["tier"], "local");
    assert_eq!(
        report["kind"], "timeout",
        "no fuel at the local tier: {report}"
    );
    let err = stderr(&out);
    assert_eq!(err.matches("warning:").count(), 1, "{err}");
    assert!(
        err.contains("outside the OS sandbox") && err.contains("no fuel limit"),
        "{err}"
    );

    // Installed unsigned: untrusted, whatever the skill declares.
    let out = cli(h, &["install", skill.to_str().unwrap(), "--yes"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("Installed probe v1.0.0 (Untrusted, untrusted tier)"),
        "{err}"
    );
    assert!(!err.contains("installed as"), "{err}");
    // The operator raises it: one warning, and the message says what was recorded.
    let out = cli(
        h,
        &[
            "install",
            skill.to_str().unwrap(),
            "--yes",
            "--trust-tier",
            "local",
        ],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("running as local although its source earns only untrusted"),
        "{err}"
    );
    assert!(
        err.contains("Installed probe v1.0.0 (Untrusted, local tier)"),
        "{err}"
    );
    let list = stdout_json(&cli(h, &["list", "--message-format", "json"]));
    assert_eq!(list[0]["trust-tier"], "local");
}

#[test]
fn mixin_relations_are_checked_at_install_like_validate_does() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let with = |parents: &str, extra: &str| {
        format!("metadata:\n  version: \"1.0.0\"\n  parents: {parents}\n{extra}")
    };
    let base = |name: &str, extra: &str| {
        manifest(name, &format!("metadata:\n  version: \"1.0.0\"\n{extra}"))
    };
    // A chain of four levels (child, parent, grandparent, great-grandparent).
    let deep = git_repo(
        &h.join("deep"),
        &[
            ("skills/l0/SKILL.md", &manifest("l0", &with("l1", ""))),
            ("skills/l1/SKILL.md", &manifest("l1", &with("l2", ""))),
            ("skills/l2/SKILL.md", &manifest("l2", &with("l3", ""))),
            ("skills/l3/SKILL.md", &base("l3", "")),
        ],
    );
    let out = cli(h, &["install", &url(&deep), "--yes"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("parent-too-deep")
            && err.contains("`l0` has a mixin chain of more than 3 levels"),
        "{err}"
    );
    assert!(!h.join("skills").exists(), "nothing placed");
    // Three levels are fine; the parents come along with the child.
    let out = cli(h, &["install", &url(&deep), "--skill", "l1", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(h.join("skills/l2").is_dir() && h.join("skills/l3").is_dir());

    let cycle = git_repo(
        &h.join("cycle"),
        &[
            ("skills/a/SKILL.md", &manifest("a", &with("b", ""))),
            ("skills/b/SKILL.md", &manifest("b", &with("a", ""))),
        ],
    );
    let out = cli(h, &["install", &url(&cycle), "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("parent-cycle"), "{}", stderr(&out));

    // A parent that declares a conflict with its child, at install and when
    // an update of the parent brings it.
    let family = git_repo(
        &h.join("family"),
        &[
            ("skills/kid/SKILL.md", &manifest("kid", &with("mum", ""))),
            ("skills/mum/SKILL.md", &base("mum", "")),
        ],
    );
    assert_eq!(
        cli(h, &["install", &url(&family), "--yes"]).status.code(),
        Some(0)
    );
    commit(
        &family,
        &[(
            "skills/mum/SKILL.md",
            &base("mum", "  conflicts-with: kid\n").replace("1.0.0", "1.0.1"),
        )],
        "mum conflicts",
    );
    let before = snapshot(h);
    let out = cli(h, &["update", "mum", "--yes"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("mum conflicts with kid (installed)"), "{err}");
    assert!(snapshot(h) == before, "nothing changed");

    // A parent missing from the source and the home is refused, not skipped.
    let orphan = git_repo(
        &h.join("orphan"),
        &[("SKILL.md", &manifest("orphan", &with("ghost", "")))],
    );
    let out = cli(h, &["install", &url(&orphan), "--yes"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("parent-missing") && err.contains("install it first"),
        "{err}"
    );
    // Removing a parent that an installed skill inherits from is refused.
    let out = cli(h, &["remove", "mum"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("mum is needed by kid"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_local_path_that_is_not_a_repository_is_not_blamed_on_credentials() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let not_a_repo = h.join("empty.git");
    std::fs::create_dir(&not_a_repo).unwrap();
    let out = cli(h, &["install", &url(&not_a_repo), "--yes"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        !err.contains("authentication") && !err.contains("GITHUB_TOKEN"),
        "{err}"
    );
    assert!(
        err.contains("git could not read") && err.contains("empty.git"),
        "{err}"
    );
}

#[test]
fn concurrent_installs_into_one_home_both_land() {
    let work = tempfile::tempdir().unwrap();
    let sources: Vec<PathBuf> = ["one", "two"]
        .iter()
        .map(|name| {
            let dir = work.path().join(name);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(
                dir.join("SKILL.md"),
                manifest(name, "metadata:\n  version: \"1.0.0\"\n"),
            )
            .unwrap();
            dir
        })
        .collect();
    for round in 0..20 {
        let home = tempfile::tempdir().unwrap();
        let children: Vec<_> = sources
            .iter()
            .map(|src| {
                cargo_skill(home.path())
                    .args(["install", src.to_str().unwrap(), "--yes"])
                    .stdin(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "round {round}: {}", stderr(&out));
        }
        let lock = std::fs::read_to_string(home.path().join("skills.lock")).unwrap();
        for name in ["one", "two"] {
            assert!(
                lock.contains(&format!("name = \"{name}\"")),
                "round {round}: {name} lost:\n{lock}"
            );
            assert!(
                home.path()
                    .join("skills")
                    .join(name)
                    .join(".boternity-meta.toml")
                    .is_file()
            );
        }
    }
}

#[test]
fn a_writer_waits_for_the_lock_and_says_so() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let src = h.join("src/solo");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("SKILL.md"), manifest("solo", "")).unwrap();
    // Hold the home's lock from this process, as another cargo skill would.
    std::fs::create_dir_all(h).unwrap();
    let held = skill_runtime::Home::new(h)
        .lock_for_writing(std::time::Duration::ZERO, || {})
        .unwrap();
    let out = cargo_skill(h)
        .args(["install", src.to_str().unwrap(), "--yes"])
        .env("CARGO_SKILL_LOCK_TIMEOUT", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("waiting for another cargo skill to finish"),
        "{err}"
    );
    assert!(err.contains("is still changing"), "{err}");
    assert!(!h.join("skills/solo").exists());
    drop(held);
    assert_eq!(
        cli(h, &["install", src.to_str().unwrap(), "--yes"])
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn run_test_and_install_grant_the_same_capabilities_after_mixins() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let src = h.join("src");
    // The child, `probe` (its component's name), declares nothing itself; it inherits `read-env:PROBE_ZONE` from `base`.
    std::fs::create_dir_all(src.join("skills/base")).unwrap();
    std::fs::write(
        src.join("skills/base/SKILL.md"),
        manifest(
            "base",
            "metadata:\n  version: \"1.0.0\"\n  capabilities: read-env:PROBE_ZONE\n",
        ),
    )
    .unwrap();
    let child = crate::probe_skill_folder(
        &src.join("skills"),
        "probe",
        &manifest(
            "probe",
            "metadata:\n  version: \"1.0.0\"\n  skill-type: tool\n  parents: base\n",
        ),
    );
    std::fs::write(
        child.join("tests/reads-the-zone.json"),
        r#"{"name": "reads the inherited variable", "input": {"mode": "env-var", "name": "PROBE_ZONE"}, "fixtures": {"env": {"PROBE_ZONE": "Europe/Oslo"}}, "expect": {"output": {"value": "Europe/Oslo"}}}"#,
    )
    .unwrap();
    let input = r#"{"mode":"env-var","name":"PROBE_ZONE"}"#;
    let run = |skill: &str| {
        cargo_skill(h)
            .env("PROBE_ZONE", "Europe/Oslo")
            .args(["run", "--message-format", "json", "--input", input, skill])
            .output()
            .unwrap()
    };
    let folder = stdout_json(&run(child.to_str().unwrap()));
    assert_eq!(folder["output"]["value"], "Europe/Oslo", "{folder}");

    let tested = cargo_skill(h)
        .args(["test", "--skill"])
        .arg(&child)
        .output()
        .unwrap();
    assert_eq!(
        tested.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&tested.stdout),
        stderr(&tested)
    );

    let out = cli(
        h,
        &[
            "install",
            src.to_str().unwrap(),
            "--skill",
            "probe",
            "--yes",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let inspected = stdout_json(&cli(h, &["inspect", "probe", "--message-format", "json"]));
    assert_eq!(
        inspected["installed"]["grants"],
        serde_json::json!(["read-env:PROBE_ZONE"]),
        "{inspected}"
    );
    let installed = stdout_json(&run("probe"));
    assert_eq!(installed["output"]["value"], "Europe/Oslo", "{installed}");
    for report in [&folder, &installed] {
        assert_eq!(report["host_calls"][0]["function"], "read-env", "{report}");
        assert_eq!(report["host_calls"][0]["allowed"], true, "{report}");
    }
}

#[test]
fn a_bare_component_with_any_file_name_still_runs_without_a_data_folder() {
    let home = tempfile::tempdir().unwrap();
    let wasm = home.path().join("My_Probe.wasm");
    std::fs::copy(skill_test_support::guest_wasm_path("probe"), &wasm).unwrap();
    let run = |input: &str, extra: &[&str]| {
        cargo_skill(home.path())
            .args(["run", "--message-format", "json", "--input", input])
            .arg(&wasm)
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run(r#"{"mode":"echo"}"#, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Its name cannot be a folder, so even a granted file call is denied.
    let out = run(
        r#"{"mode":"write-file","path":"x.txt","content":"x"}"#,
        &["--grant", "write-file"],
    );
    let report = stdout_json(&out);
    assert_eq!(report["kind"], "capability-denied", "{report}");
    assert!(!home.path().join("bots").exists());
}
