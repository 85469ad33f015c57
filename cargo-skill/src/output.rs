//! Terminal conventions shared by every verb: `--color`, `-q`, `-v`.

use std::io::IsTerminal;

use anstyle::{AnsiColor, Style};
use clap::{Args, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

/// `--message-format` for verbs that print either text or JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum MessageFormat {
    #[default]
    Human,
    /// Machine-readable JSON on stdout
    Json,
}

/// Flags every subcommand accepts, as cargo's do.
#[derive(Debug, Clone, Default, Args)]
pub struct GlobalArgs {
    /// Coloring: auto, always, never
    #[arg(long, value_enum, global = true, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    /// Do not print progress or summaries
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Print more detail (-vv for even more)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

impl GlobalArgs {
    /// Whether to color stdout: `auto` means a terminal and no `NO_COLOR`.
    pub fn stdout_colors(&self) -> Palette {
        self.palette(std::io::stdout().is_terminal())
    }

    /// The same for stderr.
    pub fn stderr_colors(&self) -> Palette {
        self.palette(std::io::stderr().is_terminal())
    }

    fn palette(&self, terminal: bool) -> Palette {
        let on = match self.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => terminal && std::env::var_os("NO_COLOR").is_none(),
        };
        Palette { on }
    }
}

/// Styles for human output; every method is the identity when colors are off.
#[derive(Debug, Clone, Copy, Default)]
pub struct Palette {
    pub on: bool,
}

impl Palette {
    fn paint(&self, style: Style, text: &str) -> String {
        if self.on {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    }

    pub fn error(&self, text: &str) -> String {
        self.paint(
            Style::new()
                .bold()
                .fg_color(Some(AnsiColor::BrightRed.into())),
            text,
        )
    }

    pub fn warning(&self, text: &str) -> String {
        self.paint(
            Style::new()
                .bold()
                .fg_color(Some(AnsiColor::BrightYellow.into())),
            text,
        )
    }

    pub fn accent(&self, text: &str) -> String {
        self.paint(
            Style::new()
                .bold()
                .fg_color(Some(AnsiColor::BrightBlue.into())),
            text,
        )
    }

    pub fn bold(&self, text: &str) -> String {
        self.paint(Style::new().bold(), text)
    }
}

/// Text from a source or a registry on a terminal: control characters
/// (escape sequences could rewrite what the user sees, or the line) become
/// spaces.
pub fn printable(text: &str) -> String {
    // Bidirectional overrides and isolates reorder what follows them.
    let reorders = |c: char| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    text.chars()
        .map(|c| {
            if c.is_control() || reorders(c) {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// A spinner naming the registry being fetched, on a terminal; a line per
/// registry otherwise (as cargo prints `Updating`).
pub struct RegistryProgress {
    bar: Option<indicatif::ProgressBar>,
    quiet: bool,
}

impl RegistryProgress {
    pub fn new(quiet: bool, registries: usize) -> RegistryProgress {
        let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
        let bar = (!quiet && terminal).then(|| {
            let bar = indicatif::ProgressBar::new(registries as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{prefix:>12} [{bar:20}] {pos}/{len} {msg}",
                )
                .expect("a valid template"),
            );
            bar.set_prefix("Updating");
            bar
        });
        RegistryProgress { bar, quiet }
    }

    /// Registry `name` at `url`, the `place`-th (from 0), is being fetched.
    pub fn fetching(&self, place: usize, name: &str, url: &str) {
        match &self.bar {
            Some(bar) => {
                bar.set_message(format!("registry `{name}`"));
                bar.set_position(place as u64 + 1);
            }
            None if !self.quiet => {
                eprintln!("    Updating registry `{name}` ({url})");
            }
            None => {}
        }
    }

    pub fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
