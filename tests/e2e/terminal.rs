//! A real terminal for the tests that need one (prompts, the browser):
//! a tmux session running `cargo-skill`, read with `capture-pane` and
//! typed into with `send-keys`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One tmux session running `cargo-skill ARGS`; killed when dropped.
pub struct Screen {
    pub session: String,
    status: PathBuf,
}

pub fn tmux(args: &[&str]) -> std::process::Output {
    std::process::Command::new("tmux")
        .args(args)
        .output()
        .expect("tmux is needed for terminal tests (.ci/run installs it)")
}

impl Screen {
    /// `size` is the terminal's columns and rows.
    pub fn start(home: &Path, tag: &str, args: &[&str], size: (u16, u16)) -> Screen {
        let session = format!("cargo-skill-{}-{tag}", std::process::id());
        let status = home.join(format!("status-{tag}"));
        std::fs::remove_file(&status).ok();
        let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
        // The shell prints a marker after the program ends: it shows on
        // the main screen only if the program gave the terminal back.
        let command = format!(
            "CARGO_SKILL_HOME='{}' '{}' {}; echo $? > '{}'; echo SHELL-AGAIN; sleep 60",
            home.display(),
            env!("CARGO_BIN_EXE_cargo-skill"),
            quoted.join(" "),
            status.display()
        );
        let (x, y) = (size.0.to_string(), size.1.to_string());
        let started = tmux(&[
            "new-session",
            "-d",
            "-s",
            &session,
            "-x",
            &x,
            "-y",
            &y,
            &command,
        ]);
        assert!(started.status.success(), "{started:?}");
        Screen { session, status }
    }

    /// What the screen shows now.
    pub fn shown(&self) -> String {
        self.capture(&[])
    }

    /// The screen and up to 200 lines that scrolled off it.
    pub fn history(&self) -> String {
        self.capture(&["-S", "-200"])
    }

    fn capture(&self, lines: &[&str]) -> String {
        let mut args = vec!["capture-pane", "-p", "-t", self.session.as_str()];
        args.extend_from_slice(lines);
        String::from_utf8_lossy(&tmux(&args).stdout).into_owned()
    }

    pub fn keys(&self, keys: &[&str]) {
        for key in keys {
            tmux(&["send-keys", "-t", &self.session, key]);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The screen once `seen` says it is there (within 30 s).
    pub fn wait_for(&self, seen: impl Fn(&str) -> bool, what: &str) -> String {
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

    /// The exit status, once the program has ended.
    pub fn ended(&self) -> Option<String> {
        let status = std::fs::read_to_string(&self.status).ok()?;
        Some(status.trim().to_string())
    }

    pub fn exit_status(&self) -> String {
        self.wait_for(|s| s.contains("SHELL-AGAIN"), "the shell again");
        self.ended().unwrap()
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        tmux(&["kill-session", "-t", &self.session]);
    }
}
