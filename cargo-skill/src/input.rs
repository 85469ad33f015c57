//! The JSON input of an invocation, from an argument, a file or stdin.

use std::io::{IsTerminal, Read};
use std::path::Path;

use anyhow::{Context, Result, bail};

/// Where the input came from, for error messages.
#[derive(Debug, Clone, Copy)]
pub enum InputSource<'a> {
    Argument(&'a str),
    File(&'a Path),
    Stdin,
}

/// Reads and checks the input: it must be JSON, and the error says where not.
pub fn read_input(source: InputSource<'_>) -> Result<String> {
    let (text, origin) = match source {
        InputSource::Argument(text) => (text.to_string(), "--input".to_string()),
        InputSource::File(path) => (
            std::fs::read_to_string(path)
                .with_context(|| format!("could not read the input file {}", path.display()))?,
            path.display().to_string(),
        ),
        InputSource::Stdin => {
            if std::io::stdin().is_terminal() {
                bail!(
                    "no input given: pass --input '<json>' or --input-file FILE, or pipe JSON on stdin"
                );
            }
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("could not read the input from stdin")?;
            (text, "stdin".to_string())
        }
    };
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&text) {
        bail!(
            "the input from {origin} is not valid JSON: {e} (line {}, column {}); skills take one JSON value, e.g. --input '{{}}'",
            e.line(),
            e.column()
        );
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_json_says_where() {
        let err = read_input(InputSource::Argument("{\"a\": }"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("--input is not valid JSON"), "{err}");
        assert!(err.contains("line 1, column 7"), "{err}");
        assert_eq!(
            read_input(InputSource::Argument(" {\"a\": 1} ")).unwrap(),
            " {\"a\": 1} "
        );
    }
}
