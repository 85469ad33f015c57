//! `browse`: the registries' skills in a terminal browser ([`app`] holds
//! the state and the keys, [`view`] draws it). Installing leaves the
//! browser and runs `cargo skill install` itself on the same terminal, so
//! its approval prompt and scan gate are the ones every install gets.
//! The terminal is given back on every way out: `q`, Ctrl-C, an error, a
//! panic.

mod app;
mod view;

use std::io::{self, BufRead, Write};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, Event, KeyEventKind};
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::crossterm::{cursor, execute};
use ratatui::layout::Rect;
use skill_runtime::Home;
use skill_runtime::store::installed::Lockfile;

use crate::browse::app::{Action, App, Installed};
use crate::registry::index::RegistryIndex;
use crate::registry::preview::preview;

/// Browses `indexes` until the operator quits. `offline` is passed on to
/// previews and installs.
pub fn run(home: &Home, indexes: &[RegistryIndex], offline: bool, started: Instant) -> Result<()> {
    let mut app = App::new(indexes, installed(home)?);
    restore_on_panic();
    let mut screen = Screen::enter()?;
    let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    let mut first = true;
    loop {
        terminal.draw(|frame| view::draw(frame, &mut app))?;
        if first {
            first = false;
            if std::env::var_os("CARGO_SKILL_BROWSE_TIMING").is_some() {
                app.status = format!("first screen in {} ms", started.elapsed().as_millis());
                continue;
            }
        }
        let key = match event::read()? {
            Event::Key(key) if key.kind != KeyEventKind::Release => key,
            // A resize redraws at the new size.
            _ => continue,
        };
        let size = terminal.size()?;
        let height = view::list_height(Rect::new(0, 0, size.width, size.height));
        app.status.clear();
        match app.key(key, height) {
            Action::None => {}
            Action::Quit => break,
            Action::Preview { source, name } => {
                app.status = format!("fetching {name} from {source}…");
                terminal.draw(|frame| view::draw(frame, &mut app))?;
                let text = format!("{source}@{name}");
                app.status.clear();
                match preview(home, &text, Some(&name), offline, true) {
                    Ok(p) => {
                        let mut lines = vec![
                            format!(
                                "{} {}  ({:?} skill)",
                                p.name,
                                p.version.as_deref().unwrap_or("unversioned"),
                                p.skill_type
                            ),
                            p.description.clone(),
                            String::new(),
                        ];
                        lines.extend(
                            p.rows()
                                .into_iter()
                                .map(|(label, text)| format!("{label:<13} {text}")),
                        );
                        app.detail = Some((name, lines));
                    }
                    Err(e) => app.status = format!("preview failed: {e:#}"),
                }
            }
            Action::Install { source, name } => {
                screen.leave()?;
                let outcome = install(&source, &name, offline);
                screen.enter_again()?;
                terminal.clear()?;
                app.installed = installed(home)?;
                app.status = outcome;
            }
        }
    }
    drop(screen);
    Ok(())
}

/// Runs `cargo skill install SOURCE --skill NAME` on this terminal and
/// waits for Enter; what happened, for the status line.
fn install(source: &str, name: &str, offline: bool) -> String {
    println!("cargo skill install {source} --skill {name}");
    let mut command = match std::env::current_exe() {
        Ok(exe) => Command::new(exe),
        Err(e) => return format!("could not find this program to install with: {e}"),
    };
    command.arg("install").arg(format!("--skill={name}"));
    if offline {
        command.arg("--offline");
    }
    // A listing's source is someone else's text: never an option.
    command.args(["--", source]);
    let outcome = match command.status() {
        Ok(status) if status.success() => format!("installed {name}"),
        Ok(status) => format!(
            "install of {name} ended with status {}",
            status
                .code()
                .map_or_else(|| "killed".into(), |c| c.to_string())
        ),
        Err(e) => format!("could not run the install: {e}"),
    };
    print!("\n{outcome}; press Enter to go back to the browser ");
    io::stdout().flush().ok();
    let mut line = String::new();
    io::stdin().lock().read_line(&mut line).ok();
    outcome
}

/// Installed skills and their versions, from `skills.lock`.
fn installed(home: &Home) -> Result<Installed> {
    let lock = Lockfile::read(home.root()).context("could not read skills.lock")?;
    Ok(lock
        .skills
        .into_iter()
        .map(|l| (l.name, l.version))
        .collect())
}

/// Raw mode and the alternate screen while it lives.
struct Screen {
    on: bool,
}

impl Screen {
    fn enter() -> Result<Screen> {
        let mut screen = Screen { on: false };
        screen.enter_again()?;
        Ok(screen)
    }

    fn enter_again(&mut self) -> Result<()> {
        enable_raw_mode().context("could not put the terminal in raw mode")?;
        self.on = true;
        execute!(io::stdout(), EnterAlternateScreen, cursor::Hide)?;
        Ok(())
    }

    fn leave(&mut self) -> Result<()> {
        self.on = false;
        give_back();
        Ok(())
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        if self.on {
            give_back();
        }
    }
}

/// The terminal as it was: cooked mode, the main screen, a cursor.
fn give_back() {
    disable_raw_mode().ok();
    execute!(io::stdout(), LeaveAlternateScreen, cursor::Show).ok();
}

/// A panic prints on the terminal as it was, not into the browser.
fn restore_on_panic() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        give_back();
        previous(info);
    }));
}
