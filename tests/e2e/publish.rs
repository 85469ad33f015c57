//! keygen, sign, verify and publish: standard tools check what we sign, we
//! check what they sign, and publishing goes to real git remotes (a bare
//! repository over file://, and `git daemon` on loopback).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::{cargo_skill, stderr, stdout_json};

fn prompt_skill(dir: &Path, name: &str, version: &str, description: &str) -> PathBuf {
    let skill = dir.join(name);
    std::fs::create_dir_all(skill.join("references")).unwrap();
    std::fs::write(
        skill.join("SKILL.md"),
        format!("---\nname: {name}\ndescription: {description}\nmetadata:\n  version: \"{version}\"\n---\n\n# {name}\n\nSteps.\n"),
    )
    .unwrap();
    std::fs::write(skill.join("references/notes.md"), "notes\n").unwrap();
    skill
}

pub(crate) fn run(home: &Path, cwd: &Path, args: &[&str]) -> Output {
    cargo_skill(home)
        .current_dir(cwd)
        .args(args)
        .output()
        .unwrap()
}

/// A key pair without a password in `home`'s default place; its public key line.
pub(crate) fn keygen(home: &Path) -> String {
    let out = run(home, home, &["keygen", "--no-password"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn tool(name: &str) -> Command {
    let probe = Command::new(name)
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    assert!(
        probe.is_ok(),
        "`{name}` is needed by this test and is not installed (CI installs it in .ci/run: apt-get install {name})"
    );
    Command::new(name)
}

pub(crate) fn git(args: &[&str]) -> String {
    let out = Command::new("git").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

pub(crate) fn bare_repo(dir: &Path) -> PathBuf {
    let repo = dir.join("remote.git");
    git(&["init", "-q", "--bare", "-b", "main", repo.to_str().unwrap()]);
    repo
}

fn show(repo: &Path, object: &str) -> String {
    git(&["--git-dir", repo.to_str().unwrap(), "show", object])
}

#[test]
fn keygen_protects_the_secret_key_with_a_password() {
    let home = tempfile::tempdir().unwrap();
    let skill = prompt_skill(
        home.path(),
        "notes",
        "1.0.0",
        "Takes notes. Use when asked to.",
    );
    let with_password = |args: &[&str], password: Option<&str>| {
        let mut cmd = cargo_skill(home.path());
        if let Some(password) = password {
            cmd.env("CARGO_SKILL_KEY_PASSWORD", password);
        }
        cmd.args(args).stdin(Stdio::null()).output().unwrap()
    };
    let out = with_password(&["keygen"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--no-password"), "{}", stderr(&out));

    let out = with_password(&["keygen"], Some("correct horse"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let key = home.path().join("keys/default.key");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&key).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    assert!(stderr(&out).contains("key id:"));
    let again = with_password(&["keygen"], Some("x"));
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("already exists"));

    let folder = skill.to_str().unwrap();
    let wrong = with_password(&["sign", folder], Some("wrong"));
    assert_eq!(wrong.status.code(), Some(2));
    assert!(
        stderr(&wrong).contains("wrong password"),
        "{}",
        stderr(&wrong)
    );
    assert!(
        !skill.join("skill.sums").exists(),
        "a failed sign writes nothing"
    );
    let none = with_password(&["sign", folder], None);
    assert!(
        stderr(&none).contains("CARGO_SKILL_KEY_PASSWORD"),
        "{}",
        stderr(&none)
    );
    let ok = with_password(&["sign", folder], Some("correct horse"));
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));

    let missing = with_password(&["sign", folder, "--key", "/nonexistent.key"], None);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("cargo skill keygen"),
        "{}",
        stderr(&missing)
    );
}

#[test]
fn signatures_check_with_standard_tools_and_every_change_is_named() {
    let home = tempfile::tempdir().unwrap();
    let public = keygen(home.path());
    let skill = prompt_skill(
        home.path(),
        "notes",
        "1.0.0",
        "Takes notes. Use when asked to.",
    );
    let folder = skill.to_str().unwrap();
    let out = run(home.path(), home.path(), &["sign", folder]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let sums = tool("sha256sum")
        .arg("-c")
        .arg("skill.sums")
        .current_dir(&skill)
        .output()
        .unwrap();
    assert!(
        sums.status.success(),
        "{}",
        String::from_utf8_lossy(&sums.stdout)
    );
    let minisign = tool("minisign")
        .args(["-Vm", "skill.sums", "-P", &public])
        .current_dir(&skill)
        .output()
        .unwrap();
    assert!(
        minisign.status.success(),
        "{}",
        String::from_utf8_lossy(&minisign.stderr)
    );
    assert!(
        String::from_utf8_lossy(&minisign.stdout).contains("cargo-skill name=notes version=1.0.0")
    );

    let verify = |args: &[&str]| {
        run(
            home.path(),
            home.path(),
            &[&["verify", folder], args].concat(),
        )
    };
    let out = verify(&["--key", &public, "--message-format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = stdout_json(&out);
    assert_eq!(v["verified"], true);
    assert_eq!(v["claims"]["name"], "notes");
    assert_eq!(v["key_id"].as_str().unwrap().len(), 16);

    let no_keys = verify(&[]);
    assert_eq!(no_keys.status.code(), Some(2));
    assert!(
        stderr(&no_keys).contains("trusted-keys"),
        "{}",
        stderr(&no_keys)
    );
    std::fs::write(
        home.path().join("trusted-keys"),
        format!("# mine\n{public}\n"),
    )
    .unwrap();
    assert_eq!(verify(&[]).status.code(), Some(0));

    std::fs::write(skill.join("references/notes.md"), "changed\n").unwrap();
    std::fs::write(skill.join("extra.md"), "added\n").unwrap();
    let out = verify(&["--message-format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let problems = stdout_json(&out)["problems"].clone();
    assert!(
        problems
            .to_string()
            .contains(r#"{"detail":"references/notes.md","kind":"changed"}"#),
        "{problems}"
    );
    assert!(
        problems
            .to_string()
            .contains(r#"{"detail":"extra.md","kind":"added"}"#),
        "{problems}"
    );
    std::fs::remove_file(skill.join("extra.md")).unwrap();
    std::fs::write(skill.join("references/notes.md"), "notes\n").unwrap();

    // A version bump after signing no longer matches the trusted comment.
    let manifest = std::fs::read_to_string(skill.join("SKILL.md")).unwrap();
    std::fs::write(skill.join("SKILL.md"), manifest.replace("1.0.0", "1.0.1")).unwrap();
    let human = verify(&[]);
    assert_eq!(human.status.code(), Some(1));
    assert!(
        stderr(&human).contains("the signature names version 1.0.0, the manifest 1.0.1"),
        "{}",
        stderr(&human)
    );
    std::fs::write(skill.join("SKILL.md"), manifest).unwrap();

    let other_home = tempfile::tempdir().unwrap();
    let other = keygen(other_home.path());
    let out = verify(&["--key", &other]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not trusted"), "{}", stderr(&out));

    let sums_path = skill.join("skill.sums");
    let sums_text = std::fs::read_to_string(&sums_path).unwrap();
    std::fs::write(&sums_path, sums_text.replacen('a', "b", 1)).unwrap();
    let out = verify(&[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("does not match skill.sums"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn verify_accepts_a_signature_made_by_the_minisign_tool() {
    let home = tempfile::tempdir().unwrap();
    keygen(home.path());
    let skill = prompt_skill(
        home.path(),
        "notes",
        "1.0.0",
        "Takes notes. Use when asked to.",
    );
    let out = run(home.path(), home.path(), &["sign", skill.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let keys = home.path().join("mkeys");
    std::fs::create_dir_all(&keys).unwrap();
    let (pk, sk) = (keys.join("m.pub"), keys.join("m.key"));
    let made = tool("minisign")
        .args([
            "-G",
            "-W",
            "-p",
            pk.to_str().unwrap(),
            "-s",
            sk.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let sums = std::fs::read(skill.join("skill.sums")).unwrap();
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&sums))
    };
    let comment =
        format!("cargo-skill name=notes version=1.0.0 sums={sha} time=2026-11-21T00:00:00Z");
    let signed = tool("minisign")
        .args([
            "-S",
            "-s",
            sk.to_str().unwrap(),
            "-m",
            "skill.sums",
            "-t",
            &comment,
        ])
        .current_dir(&skill)
        .output()
        .unwrap();
    assert!(
        signed.status.success(),
        "{}",
        String::from_utf8_lossy(&signed.stderr)
    );
    let out = run(
        home.path(),
        home.path(),
        &[
            "verify",
            skill.to_str().unwrap(),
            "--key",
            pk.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("verified: notes v1.0.0"));
}

pub(crate) fn publish(home: &Path, cwd: &Path, url: &str, extra: &[&str]) -> Output {
    run(home, cwd, &[&["publish", "--repo", url], extra].concat())
}

/// Two prompt skills (alpha 1.0.0, beta 0.1.0) under `work/skills`, a key,
/// and an empty bare repository to publish them to.
struct Workspace {
    home: tempfile::TempDir,
    public: String,
    work: PathBuf,
    alpha: PathBuf,
    remote: PathBuf,
    url: String,
}

impl Workspace {
    fn new() -> Workspace {
        let home = tempfile::tempdir().unwrap();
        let public = keygen(home.path());
        let work = home.path().join("work");
        let skills = work.join("skills");
        let alpha = prompt_skill(&skills, "alpha", "1.0.0", "Does alpha. Use for alpha.");
        prompt_skill(&skills, "beta", "0.1.0", "Does beta. Use for beta.");
        let remote = bare_repo(home.path());
        let url = format!("file://{}", remote.display());
        Workspace {
            home,
            public,
            work,
            alpha,
            remote,
            url,
        }
    }
}

#[test]
fn publish_to_a_bare_repository_is_immutable_and_ordered() {
    let Workspace {
        home,
        public,
        work,
        alpha: a,
        remote,
        url,
    } = Workspace::new();

    let dry = publish(home.path(), &work, &url, &["--workspace", "--dry-run"]);
    assert_eq!(dry.status.code(), Some(0), "{}", stderr(&dry));
    assert!(
        stderr(&dry).contains("Would push") && stderr(&dry).contains("alpha-v1.0.0"),
        "{}",
        stderr(&dry)
    );
    assert!(
        git(&["--git-dir", remote.to_str().unwrap(), "for-each-ref"]).is_empty(),
        "a dry run pushes nothing"
    );

    let out = publish(home.path(), &work, &url, &["--workspace"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let files = git(&[
        "--git-dir",
        remote.to_str().unwrap(),
        "ls-tree",
        "-r",
        "--name-only",
        "main",
    ]);
    for path in [
        "skills/alpha/SKILL.md",
        "skills/alpha/references/notes.md",
        "skills/alpha/skill.sums",
        "skills/alpha/skill.sums.minisig",
        "skills/beta/SKILL.md",
        "skills/index.json",
    ] {
        assert!(
            files.lines().any(|l| l == path),
            "{path} missing from:\n{files}"
        );
    }
    let index: Value = serde_json::from_str(&show(&remote, "main:skills/index.json")).unwrap();
    assert_eq!(index["skills"][0]["name"], "alpha");
    assert_eq!(index["skills"][0]["version"], "1.0.0");
    assert_eq!(index["skills"][1]["name"], "beta");
    assert_eq!(index["skills"][0]["sha256"].as_str().unwrap().len(), 64);
    let git_dir = remote.to_str().unwrap();
    assert_eq!(
        git(&["--git-dir", git_dir, "cat-file", "-t", "alpha-v1.0.0"]),
        "tag"
    );
    assert_eq!(
        git(&["--git-dir", git_dir, "cat-file", "-t", "beta-v0.1.0"]),
        "tag"
    );

    // What was published verifies from a plain clone.
    let clone = home.path().join("clone");
    git(&["clone", "-q", &url, clone.to_str().unwrap()]);
    let check = run(
        home.path(),
        home.path(),
        &[
            "verify",
            clone.join("skills/alpha").to_str().unwrap(),
            "--key",
            &public,
        ],
    );
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));

    let head = git(&["--git-dir", git_dir, "rev-parse", "main"]);
    let same = publish(home.path(), &work, &url, &["--workspace"]);
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
    assert!(
        stderr(&same).contains("Unchanged alpha v1.0.0"),
        "{}",
        stderr(&same)
    );
    assert_eq!(
        git(&["--git-dir", git_dir, "rev-parse", "main"]),
        head,
        "identical content is a no-op"
    );

    let manifest = std::fs::read_to_string(a.join("SKILL.md")).unwrap();
    std::fs::write(
        a.join("SKILL.md"),
        manifest.replace("Steps.", "Other steps."),
    )
    .unwrap();
    let changed = publish(home.path(), &a, &url, &[]);
    assert_eq!(changed.status.code(), Some(1));
    assert!(
        stderr(&changed).contains("immutable"),
        "{}",
        stderr(&changed)
    );
    std::fs::write(
        a.join("SKILL.md"),
        manifest
            .replace("1.0.0", "0.9.0")
            .replace("Steps.", "Other steps."),
    )
    .unwrap();
    let older = publish(home.path(), &a, &url, &[]);
    assert_eq!(older.status.code(), Some(1));
    assert!(
        stderr(&older).contains("not greater than v1.0.0"),
        "{}",
        stderr(&older)
    );
    assert_eq!(
        git(&["--git-dir", git_dir, "rev-parse", "main"]),
        head,
        "refusals push nothing"
    );

    std::fs::write(
        a.join("SKILL.md"),
        manifest
            .replace("1.0.0", "1.1.0")
            .replace("Steps.", "Other steps."),
    )
    .unwrap();
    let newer = publish(home.path(), &a, &url, &[]);
    assert_eq!(newer.status.code(), Some(0), "{}", stderr(&newer));
    let index: Value = serde_json::from_str(&show(&remote, "main:skills/index.json")).unwrap();
    assert_eq!(index["skills"][0]["version"], "1.1.0");
    assert_eq!(
        index["skills"][1]["version"], "0.1.0",
        "the other skill is kept"
    );
    assert_eq!(git(&["--git-dir", git_dir, "rev-parse", "main~1"]), head);

    std::fs::write(
        a.join("SKILL.md"),
        "---\nname: Not Valid\ndescription: d\nmetadata:\n  version: \"2.0.0\"\n---\n",
    )
    .unwrap();
    let invalid = publish(home.path(), &a, &url, &[]);
    assert_eq!(invalid.status.code(), Some(1));
    assert!(
        stderr(&invalid).contains("does not validate"),
        "{}",
        stderr(&invalid)
    );

    let unreachable = publish(
        home.path(),
        &work.join("skills/beta"),
        "git://127.0.0.1:9/nothing.git",
        &[],
    );
    assert_eq!(unreachable.status.code(), Some(2));
    assert!(
        stderr(&unreachable).contains("could not reach"),
        "{}",
        stderr(&unreachable)
    );
}

/// The `git-daemon` program itself: killing the `git daemon` wrapper would
/// leave the real server running (and holding the test's stdout).
fn git_daemon_binary() -> PathBuf {
    let exec_path = git(&["--exec-path"]);
    let binary = Path::new(&exec_path).join("git-daemon");
    assert!(
        binary.is_file(),
        "{} is missing: install git's daemon",
        binary.display()
    );
    binary
}

/// `git daemon` serving `base` on a free loopback port, with pushes enabled.
struct GitDaemon {
    child: std::process::Child,
    port: u16,
}

impl GitDaemon {
    fn start(base: &Path) -> GitDaemon {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut daemon = GitDaemon {
            child: Command::new(git_daemon_binary())
                .args([
                    "--reuseaddr",
                    "--export-all",
                    "--enable=receive-pack",
                    "--listen=127.0.0.1",
                ])
                .arg(format!("--port={port}"))
                .arg(format!("--base-path={}", base.display()))
                .arg(base)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
            port,
        };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return daemon;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = daemon.child.kill();
        panic!("git daemon did not start");
    }
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_publish_that_loses_a_race_over_git_daemon_retries_on_the_new_tip() {
    let home = tempfile::tempdir().unwrap();
    keygen(home.path());
    let work = home.path().join("work");
    let alpha = prompt_skill(&work, "alpha", "1.0.0", "Does alpha. Use for alpha.");
    let beta = prompt_skill(&work, "beta", "1.0.0", "Does beta. Use for beta.");
    let base = home.path().join("served");
    std::fs::create_dir_all(&base).unwrap();
    let remote = bare_repo(&base);
    // The first push to reach the server waits in its hook, so a second
    // publisher moves the branch under it.
    let marker = home.path().join("first-push-waiting");
    let hook = remote.join("hooks/pre-receive");
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\nif [ ! -e '{m}' ]; then touch '{m}'; sleep 3; fi\nexit 0\n",
            m = marker.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let daemon = GitDaemon::start(&base);
    let url = format!("git://127.0.0.1:{}/remote.git", daemon.port);

    let first = cargo_skill(home.path())
        .args(["publish", "--repo", &url])
        .arg(&alpha)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if marker.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    assert!(marker.exists(), "the first push reached the hook");
    // A separate home, so the second publisher has its own cache.
    let second_home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(second_home.path().join("keys")).unwrap();
    for file in ["default.key", "default.pub"] {
        std::fs::copy(
            home.path().join("keys").join(file),
            second_home.path().join("keys").join(file),
        )
        .unwrap();
    }
    let second = publish(second_home.path(), &beta, &url, &[]);
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    let first = first.wait_with_output().unwrap();
    assert_eq!(
        first.status.code(),
        Some(0),
        "the loser retried: {}",
        stderr(&first)
    );

    let index: Value = serde_json::from_str(&show(&remote, "main:skills/index.json")).unwrap();
    let names: Vec<&str> = index["skills"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alpha", "beta"]);
    let tags = git(&["--git-dir", remote.to_str().unwrap(), "tag"]);
    assert_eq!(tags, "alpha-v1.0.0\nbeta-v1.0.0");
}

#[test]
fn the_npx_skills_installer_installs_what_publish_pushed() {
    let Workspace {
        home,
        public,
        work,
        url,
        ..
    } = Workspace::new();
    let out = publish(home.path(), &work, &url, &["--workspace"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let project = home.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    let installed = crate::npm_skills_in("skills", &project, home.path())
        .args([
            "add",
            &url,
            "--yes",
            "--agent",
            "claude-code",
            "--skill",
            "*",
        ])
        .output()
        .unwrap();
    assert!(
        installed.status.success(),
        "{}{}",
        String::from_utf8_lossy(&installed.stdout),
        String::from_utf8_lossy(&installed.stderr)
    );
    for name in ["alpha", "beta"] {
        let skill = project.join(".agents/skills").join(name);
        assert_eq!(
            std::fs::read_to_string(skill.join("SKILL.md")).unwrap(),
            std::fs::read_to_string(work.join("skills").join(name).join("SKILL.md")).unwrap()
        );
        // The signature travels with it and still verifies.
        let check = run(
            home.path(),
            home.path(),
            &["verify", skill.to_str().unwrap(), "--key", &public],
        );
        assert_eq!(check.status.code(), Some(0), "{name}: {}", stderr(&check));
    }
}

#[test]
fn owner_name_goes_to_the_configured_github_and_a_401_says_what_to_set() {
    let home = tempfile::tempdir().unwrap();
    keygen(home.path());
    let skill = prompt_skill(home.path(), "alpha", "1.0.0", "Does alpha. Use for alpha.");
    let server = skill_test_support::http_server::TestServer::start(|_| {
        skill_test_support::http_server::Response {
            status: 401,
            headers: vec![("WWW-Authenticate".into(), "Basic realm=\"git\"".into())],
            ..skill_test_support::http_server::Response::ok("no")
        }
    });
    let base = format!("http://127.0.0.1:{}", server.port);
    for token in [None, Some("bad-token")] {
        let mut cmd = cargo_skill(home.path());
        cmd.env("CARGO_SKILL_GITHUB_URL", &base)
            .env_remove("GITHUB_TOKEN")
            .env_remove("GH_TOKEN");
        if let Some(token) = token {
            cmd.env("GITHUB_TOKEN", token);
        }
        let out = cmd
            .args(["publish", "--repo", "acme/skills"])
            .arg(&skill)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = stderr(&out);
        assert!(
            err.contains(&format!("authentication to {base}/acme/skills.git failed"))
                && err.contains("GITHUB_TOKEN"),
            "{err}"
        );
    }
    assert!(
        server.hits() >= 2,
        "the requests went to the configured server"
    );
}

/// Publishes `alpha` v1.0.0 over `git daemon` to a bare repository whose
/// `hook` (a hooks/ file name) runs `script`: the command's output and the
/// repository.
fn publish_past_hook(hook: &str, script: &str) -> (Output, PathBuf, tempfile::TempDir) {
    let home = tempfile::tempdir().unwrap();
    keygen(home.path());
    let alpha = prompt_skill(home.path(), "alpha", "1.0.0", "Does alpha. Use for alpha.");
    let base = home.path().join("served");
    std::fs::create_dir_all(&base).unwrap();
    let remote = bare_repo(&base);
    let hook = remote.join("hooks").join(hook);
    std::fs::write(&hook, script).unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let daemon = GitDaemon::start(&base);
    let url = format!("git://127.0.0.1:{}/remote.git", daemon.port);
    (publish(home.path(), &alpha, &url, &[]), remote, home)
}

#[test]
fn a_remote_that_refuses_the_push_is_named_and_left_as_it_was() {
    let script = "#!/bin/sh\necho 'pushes are frozen' >&2\nexit 1\n";
    let (out, remote, _home) = publish_past_hook("pre-receive", script);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("the remote refused refs/heads/main"), "{err}");
    assert!(git(&["--git-dir", remote.to_str().unwrap(), "for-each-ref"]).is_empty());
}

#[test]
fn a_push_that_fails_after_the_branch_says_what_reached_the_remote() {
    // `update` runs once for each ref: the branch goes through, tags do not.
    let script =
        "#!/bin/sh\ncase \"$1\" in refs/tags/*) echo 'tags are frozen' >&2; exit 1;; esac\n";
    let (out, remote, _home) = publish_past_hook("update", script);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "the remote now has refs/heads/main but refs/tags/alpha-v1.0.0 was not pushed"
        ),
        "{err}"
    );
    let refs = git(&["--git-dir", remote.to_str().unwrap(), "for-each-ref"]);
    assert!(
        refs.contains("refs/heads/main") && !refs.contains("refs/tags/"),
        "{refs}"
    );
}

/// The probe component as a signed-and-published tool skill `probe` vVERSION.
pub(crate) fn publish_probe(home: &Path, work: &Path, url: &str, version: &str) {
    let manifest = format!(
        "---\nname: probe\ndescription: The probe. Use it in tests.\nmetadata:\n  version: \"{version}\"\n  skill-type: tool\n  capabilities: read-env:PROBE_ZONE http-get http-post get-secret read-file write-file recall-memory\n---\n"
    );
    let dir = crate::probe_skill_folder(work, "probe", &manifest);
    let out = publish(home, &dir, url, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

pub(crate) fn install(home: &Path, args: &[&str]) -> Output {
    cargo_skill(home)
        .arg("install")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

pub(crate) fn run_installed(home: &Path) -> Output {
    cargo_skill(home)
        .env("PROBE_ZONE", "Europe/Oslo")
        .args([
            "run",
            "probe",
            "--message-format",
            "json",
            "--input",
            r#"{"mode":"env-var","name":"PROBE_ZONE"}"#,
        ])
        .output()
        .unwrap()
}

#[test]
fn publish_then_install_then_run_and_a_crashed_update_keeps_the_old_version() {
    let home = tempfile::tempdir().unwrap();
    let public = keygen(home.path());
    let remote = bare_repo(home.path());
    let url = format!("file://{}", remote.display());
    publish_probe(home.path(), &home.path().join("v1"), &url, "1.0.0");

    let refused = install(home.path(), &[&url]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(stderr(&refused).contains("--yes"), "{}", stderr(&refused));
    let strict = install(home.path(), &[&url, "--yes", "--require-signature"]);
    assert_eq!(strict.status.code(), Some(2));
    assert!(
        stderr(&strict).contains("not in the trusted-keys file"),
        "{}",
        stderr(&strict)
    );

    std::fs::write(home.path().join("trusted-keys"), format!("{public}\n")).unwrap();
    let out = install(home.path(), &[&url, "--yes", "--require-signature"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Installed probe v1.0.0 (Verified, verified tier)"),
        "{}",
        stderr(&out)
    );
    let ran = run_installed(home.path());
    assert_eq!(
        stdout_json(&ran)["output"]["value"],
        "Europe/Oslo",
        "{}",
        stderr(&ran)
    );
    assert_eq!(stdout_json(&ran)["tier"], "verified");
    let lock = std::fs::read_to_string(home.path().join("skills.lock")).unwrap();
    assert!(
        lock.contains("name = \"probe\"") && lock.contains("version = \"1.0.0\""),
        "{lock}"
    );
    let listed = cargo_skill(home.path()).args(["list"]).output().unwrap();
    assert!(String::from_utf8_lossy(&listed.stdout).contains("probe v1.0.0  Verified"));
    let inspected = cargo_skill(home.path())
        .args(["inspect", "probe", "--message-format", "json"])
        .output()
        .unwrap();
    let inspected = stdout_json(&inspected);
    assert_eq!(inspected["installed"]["version"], "1.0.0");
    assert_eq!(inspected["installed"]["verification"], "verified");
    assert_eq!(inspected["installed"]["signer"].as_str().unwrap().len(), 16);
    assert!(
        inspected["installed"]["grants"]
            .to_string()
            .contains("read-env:PROBE_ZONE")
    );
    assert_eq!(inspected["manifest"]["name"], "probe");

    // v2 is published; its install is killed between staging and the swap.
    publish_probe(home.path(), &home.path().join("v2"), &url, "1.1.0");
    let crashed = cargo_skill(home.path())
        .env("CARGO_SKILL_TEST_FAILPOINT", "install-before-swap")
        .args(["install", &url, "--yes"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!crashed.status.success());
    assert!(
        stderr(&crashed).contains("failpoint"),
        "{}",
        stderr(&crashed)
    );
    let meta =
        std::fs::read_to_string(home.path().join("skills/probe/.boternity-meta.toml")).unwrap();
    assert!(
        meta.contains("version = \"1.0.0\""),
        "the old version is intact: {meta}"
    );
    assert_eq!(
        stdout_json(&run_installed(home.path()))["output"]["value"],
        "Europe/Oslo"
    );

    let updated = install(home.path(), &[&url, "--yes"]);
    assert_eq!(updated.status.code(), Some(0), "{}", stderr(&updated));
    let meta =
        std::fs::read_to_string(home.path().join("skills/probe/.boternity-meta.toml")).unwrap();
    assert!(meta.contains("version = \"1.1.0\""), "{meta}");
    let pinned = install(home.path(), &[&format!("{url}#probe-v1.0.0"), "--yes"]);
    assert_eq!(pinned.status.code(), Some(0), "{}", stderr(&pinned));
    assert!(
        stderr(&pinned).contains("probe v1.0.0"),
        "a tag selects that version"
    );

    // --locked reinstalls exactly the locked commit, content and version.
    let tree = |home: &Path| -> Vec<(String, Vec<u8>)> {
        let dir = home.join("skills/probe");
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name() != ".boternity-meta.toml" && e.path().is_file())
            .map(|e| {
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect();
        files.sort();
        files
    };
    let before = tree(home.path());
    let locked = install(home.path(), &[&url, "--yes", "--locked"]);
    assert_eq!(locked.status.code(), Some(0), "{}", stderr(&locked));
    assert!(
        stderr(&locked).contains("Installed probe v1.0.0"),
        "{}",
        stderr(&locked)
    );
    assert_eq!(tree(home.path()), before, "the same tree twice");

    // Granular revocation: just that import denies; grants come back the same way.
    let cli = |args: &[&str]| cargo_skill(home.path()).args(args).output().unwrap();
    assert_eq!(cli(&["revoke", "probe", "read-env"]).status.code(), Some(0));
    assert_eq!(
        stdout_json(&run_installed(home.path()))["kind"],
        "capability-denied"
    );
    let lock = std::fs::read_to_string(home.path().join("skills.lock")).unwrap();
    assert!(!lock.contains("read-env"), "{lock}");
    assert_eq!(
        cli(&["grant", "probe", "read-env:PROBE_ZONE"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        stdout_json(&run_installed(home.path()))["output"]["value"],
        "Europe/Oslo"
    );
    let unknown = cli(&["revoke", "probe", "read-env:OTHER"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("holds no grant"),
        "{}",
        stderr(&unknown)
    );

    assert_eq!(cli(&["remove", "probe"]).status.code(), Some(0));
    assert!(!home.path().join("skills/probe").exists());
    assert_eq!(run_installed(home.path()).status.code(), Some(2));
    assert!(
        !std::fs::read_to_string(home.path().join("skills.lock"))
            .unwrap()
            .contains("probe")
    );
}

#[test]
fn install_refuses_tampered_content_and_names_what_it_found() {
    let home = tempfile::tempdir().unwrap();
    let public = keygen(home.path());
    std::fs::write(home.path().join("trusted-keys"), format!("{public}\n")).unwrap();
    let work = home.path().join("work");
    let alpha = prompt_skill(
        &work.join("skills"),
        "alpha",
        "1.0.0",
        "Does alpha. Use for alpha.",
    );
    let out = run(home.path(), home.path(), &["sign", alpha.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let source = work.to_str().unwrap();

    let unlocked = install(home.path(), &[source, "--yes", "--locked"]);
    assert_eq!(unlocked.status.code(), Some(2));
    assert!(
        stderr(&unlocked).contains("alpha is not in skills.lock"),
        "{}",
        stderr(&unlocked)
    );

    let missing = install(home.path(), &[source, "--skill", "gamma", "--yes"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("no skill named `gamma`")
            && stderr(&missing).contains("found: alpha")
    );

    std::fs::write(alpha.join("references/notes.md"), "tampered\n").unwrap();
    let tampered = install(home.path(), &[source, "--yes"]);
    assert_eq!(tampered.status.code(), Some(2));
    assert!(
        stderr(&tampered).contains("changed references/notes.md"),
        "{}",
        stderr(&tampered)
    );
    assert!(
        !home.path().join("skills/alpha").exists(),
        "nothing was installed"
    );

    let remote = bare_repo(home.path());
    let bad_ref = install(
        home.path(),
        &[&format!("file://{}#nope", remote.display()), "--yes"],
    );
    assert_eq!(bad_ref.status.code(), Some(2));
    assert!(
        stderr(&bad_ref).contains("no branches"),
        "{}",
        stderr(&bad_ref)
    );
    let nowhere = install(home.path(), &["/nonexistent/skills", "--yes"]);
    assert_eq!(nowhere.status.code(), Some(2));
}

#[test]
fn publish_needs_a_full_version_and_a_valid_skill() {
    let home = tempfile::tempdir().unwrap();
    keygen(home.path());
    let remote = bare_repo(home.path());
    let url = format!("file://{}", remote.display());
    let short = prompt_skill(
        &home.path().join("work"),
        "short",
        "1.0",
        "Does short. Use it.",
    );
    let out = publish(home.path(), &short, &url, &[]);
    let err = stderr(&out);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("is not a full semantic version") && err.contains("\"1.0.0\""),
        "{err}"
    );
    // An extension error is only a warning under --strict (the reference does
    // not have the rule), but publish still refuses it.
    let bad = prompt_skill(
        &home.path().join("work"),
        "bad",
        "1.0.0",
        "Does bad. Use it.",
    );
    let manifest = std::fs::read_to_string(bad.join("SKILL.md")).unwrap();
    std::fs::write(
        bad.join("SKILL.md"),
        manifest.replace("  version:", "  capabilities: teleport\n  version:"),
    )
    .unwrap();
    let out = publish(home.path(), &bad, &url, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("error[capability-unknown]") && err.contains("does not validate"),
        "{err}"
    );
    assert!(
        git(&["--git-dir", remote.to_str().unwrap(), "tag"])
            .trim()
            .is_empty()
    );
}
