//! The terminal browser, driven in a real terminal (tmux): type a query,
//! move, open a full preview, resize, install through the approval
//! prompt, quit with `q` and with Ctrl-C; the terminal is given back each
//! time. Outside a terminal it refuses to start.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::hostile::git_repo;
use crate::registry::{cli, ok, skill_md};
use crate::{cargo_skill, stderr};

/// One tmux session running `cargo-skill ARGS`; killed when dropped.
struct Screen {
    session: String,
    status: PathBuf,
}

fn tmux(args: &[&str]) -> std::process::Output {
    std::process::Command::new("tmux")
        .args(args)
        .output()
        .expect("tmux is needed for terminal tests (.ci/run installs it)")
}

impl Screen {
    fn start(home: &Path, tag: &str, args: &[&str]) -> Screen {
        let session = format!("browse-{}-{tag}", std::process::id());
        let status = home.join(format!("status-{tag}"));
        let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
        // The shell prints a marker after the browser ends: it shows on the
        // main screen only if the browser gave the terminal back.
        let command = format!(
            "CARGO_SKILL_HOME='{}' '{}' {}; echo $? > '{}'; echo SHELL-AGAIN; sleep 60",
            home.display(),
            env!("CARGO_BIN_EXE_cargo-skill"),
            quoted.join(" "),
            status.display()
        );
        let started = tmux(&[
            "new-session",
            "-d",
            "-s",
            &session,
            "-x",
            "80",
            "-y",
            "24",
            &command,
        ]);
        assert!(started.status.success(), "{started:?}");
        Screen { session, status }
    }

    fn shown(&self) -> String {
        String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", &self.session]).stdout)
            .into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        for key in keys {
            tmux(&["send-keys", "-t", &self.session, key]);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The screen once `seen` says it is there (within 30 s).
    fn wait_for(&self, seen: impl Fn(&str) -> bool, what: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let shown = self.shown();
            if seen(&shown) {
                return shown;
            }
            assert!(Instant::now() < deadline, "never saw {what}:\n{shown}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn exit_status(&self) -> String {
        self.wait_for(|s| s.contains("SHELL-AGAIN"), "the shell again");
        std::fs::read_to_string(&self.status)
            .unwrap()
            .trim()
            .to_string()
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        tmux(&["kill-session", "-t", &self.session]);
    }
}

fn registry_home(tmp: &Path) -> PathBuf {
    let h = tmp.join("home");
    std::fs::create_dir_all(&h).unwrap();
    let team = tmp.join("team");
    let pdf = skill_md(
        "pdf",
        "Read and fill PDF files.",
        "metadata:\n  category: documents\n  capabilities: read-env:TZ\n",
        "Use pypdf.\n",
    );
    let forms = skill_md(
        "forms",
        "Fill PDF forms.",
        "metadata:\n  category: documents\n",
        "Forms.\n",
    );
    let deploy = skill_md("deploy", "Ship to Kubernetes.", "", "kubectl apply.\n");
    git_repo(
        &team,
        &[
            ("skills/pdf/SKILL.md", pdf.as_str()),
            ("skills/pdf/scripts/fill.py", "print('fill')\n"),
            ("skills/forms/SKILL.md", forms.as_str()),
            ("skills/deploy/SKILL.md", deploy.as_str()),
        ],
    );
    for name in ["anthropics", "composio", "skills-sh"] {
        ok(&cli(&h, &["registry", "remove", name]));
    }
    ok(&cli(
        &h,
        &[
            "registry",
            "add",
            "team",
            &format!("file://{}", team.display()),
        ],
    ));
    h
}

#[test]
fn the_browser_searches_previews_installs_with_approval_and_gives_the_terminal_back() {
    let tmp = tempfile::tempdir().unwrap();
    let h = &registry_home(tmp.path());
    let screen = Screen::start(h, "main", &["browse"]);
    let shown = screen.wait_for(|s| s.contains("3 skills"), "the first screen");
    assert!(shown.contains(" all │ documents │"), "{shown}");

    // Type a query: the list narrows as the search does.
    screen.keys(&["/", "p", "d", "f", "Enter"]);
    let shown = screen.wait_for(|s| s.contains("2 skills"), "two results");
    assert!(
        shown.contains("> pdf") && shown.contains("forms"),
        "{shown}"
    );
    assert!(!shown.contains("deploy"), "{shown}");
    // Move, and open the full preview (fetched as `preview` fetches it).
    screen.keys(&["Down"]);
    screen.wait_for(|s| s.contains("> forms"), "forms selected");
    screen.keys(&["Up", "p"]);
    let shown = screen.wait_for(|s| s.contains("scripts/fill.py"), "the full preview");
    assert!(shown.contains("read-env:TZ"), "{shown}");

    // A resize mid-session: drawn again at the new size, still usable.
    tmux(&[
        "resize-window",
        "-t",
        &screen.session,
        "-x",
        "100",
        "-y",
        "30",
    ]);
    let shown = screen.wait_for(
        |s| s.lines().any(|l| l.chars().count() >= 100),
        "the wider screen",
    );
    assert!(shown.contains("> pdf"), "{shown}");
    screen.keys(&["Escape", "Right", "Right", "Left"]);
    screen.wait_for(
        |s| s.contains("documents ") && s.contains("> pdf"),
        "the documents tab",
    );

    // Enter installs through `cargo skill install`: its approval prompt.
    screen.keys(&["Enter"]);
    let shown = screen.wait_for(|s| s.contains("approve? [y/N]"), "the approval prompt");
    assert!(shown.contains("read-env:TZ"), "{shown}");
    screen.keys(&["y", "Enter"]);
    screen.wait_for(
        |s| s.contains("press Enter to go back"),
        "the install's end",
    );
    screen.keys(&["Enter"]);
    let shown = screen.wait_for(|s| s.contains("installed pdf"), "the browser again");
    assert!(shown.contains("pdf ●"), "{shown}");
    let lock = std::fs::read_to_string(h.join("skills.lock")).unwrap();
    assert!(
        lock.contains("name = \"pdf\"") && lock.contains("read-env:TZ"),
        "{lock}"
    );

    screen.keys(&["?"]);
    screen.wait_for(|s| s.contains("keys (Esc closes)"), "the help");
    screen.keys(&["Escape", "q"]);
    assert_eq!(screen.exit_status(), "0");
    let shown = screen.shown();
    assert!(
        !shown.contains("search (/)"),
        "the browser's screen is gone:\n{shown}"
    );

    // Ctrl-C quits from inside the search box too.
    let again = Screen::start(h, "ctrl-c", &["browse", "--offline"]);
    again.wait_for(|s| s.contains("3 skills"), "the first screen");
    again.keys(&["/", "x", "C-c"]);
    assert_eq!(again.exit_status(), "0");
}

#[test]
fn outside_a_terminal_the_browser_refuses_to_start() {
    let tmp = tempfile::tempdir().unwrap();
    let out = cargo_skill(tmp.path()).arg("browse").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("browse needs a terminal"),
        "{}",
        stderr(&out)
    );
}
