//! Reading from the terminal: a secret line (a secret value, a key
//! password) without echo, and y/N confirmations.

use std::io::{BufRead, IsTerminal, Write};

/// One line from stdin without its line ending. On a terminal, `prompt` is
/// shown on stderr and echo is off while typing.
pub fn read_hidden_line(prompt: &str) -> std::io::Result<String> {
    read_line(prompt, true)
}

/// A y/N question on the terminal: only `y` or `yes` is yes.
pub fn confirm(prompt: &str) -> bool {
    read_line(prompt, false).is_ok_and(|answer| matches!(answer.trim(), "y" | "Y" | "yes"))
}

fn read_line(prompt: &str, hidden: bool) -> std::io::Result<String> {
    let stdin = std::io::stdin();
    let tty = stdin.is_terminal();
    let _echo_off = tty.then(|| {
        eprint!("{prompt}");
        let _ = std::io::stderr().flush();
        hidden.then(EchoOff::new)
    });
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    if tty && hidden {
        // The Enter the user typed was not echoed.
        eprintln!();
    }
    let line = line.strip_suffix('\n').unwrap_or(&line);
    Ok(line.strip_suffix('\r').unwrap_or(line).to_string())
}

/// Whether a prompt can be answered: stdin is a terminal.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal()
}

/// Terminal echo off for as long as it lives.
struct EchoOff(Option<libc::termios>);

impl EchoOff {
    fn new() -> EchoOff {
        // SAFETY: termios is plain data; tcgetattr fills it or fails.
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        if unsafe { libc::tcgetattr(libc::STDIN_FILENO, &mut saved) } != 0 {
            return EchoOff(None);
        }
        let mut quiet = saved;
        quiet.c_lflag &= !libc::ECHO;
        // SAFETY: a valid termios for stdin, read just above.
        unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &quiet) };
        EchoOff(Some(saved))
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        if let Some(saved) = &self.0 {
            // SAFETY: restores the settings read in `new`.
            unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, saved) };
        }
    }
}
