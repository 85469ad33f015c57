//! The terminal browser, driven in a real terminal (tmux): type a query,
//! move, open a full preview, resize, install through the approval
//! prompt, quit with `q` and with Ctrl-C; the terminal is given back each
//! time. Outside a terminal it refuses to start.

use std::path::{Path, PathBuf};

use crate::hostile::git_repo;
use crate::registry::{cli, ok, skill_md};
use crate::terminal::{Screen, tmux};
use crate::{cargo_skill, stderr};

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
    let screen = Screen::start(h, "main", &["browse"], (80, 24));
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
    let again = Screen::start(h, "ctrl-c", &["browse", "--offline"], (80, 24));
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
