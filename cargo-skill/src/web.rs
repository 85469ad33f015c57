//! Plain HTTP(S) GETs for what lives on web sites rather than in git: a
//! site's well-known skills and the skills directory's search API.
//! Everything fetched is hostile: bounded in size and time, and an error
//! says which URL failed and how.

use std::io::Read;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// The most a connection may take to open, and a whole response to arrive.
const CONNECT: Duration = Duration::from_secs(10);
const WHOLE: Duration = Duration::from_secs(60);

/// A URL this tool may fetch: `http` or `https` with a host, no user or
/// password in it (they would land in caches and locks).
pub fn check_url(text: &str) -> Result<url::Url> {
    let url = url::Url::parse(text)
        .with_context(|| format!("`{}` is not a URL", text.escape_default()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        bail!("`{url}` is not an http or https URL");
    }
    if !url.username().is_empty() || url.password().is_some() {
        bail!(
            "`{url}` holds a user name or password: remove it (they would be written to the cache)"
        );
    }
    Ok(url)
}

/// One agent for the process, so a site's many files reuse its connections.
fn agent() -> &'static ureq::Agent {
    static AGENT: OnceLock<ureq::Agent> = OnceLock::new();
    AGENT.get_or_init(|| {
        ureq::Agent::config_builder()
            .timeout_connect(Some(CONNECT))
            .timeout_global(Some(WHOLE))
            .http_status_as_error(false)
            .user_agent(concat!("cargo-skill/", env!("CARGO_PKG_VERSION")))
            .build()
            .into()
    })
}

/// The body of `url`; `None` for a 404 (an optional file). Anything but
/// a 2xx or 404, a body over `limit` bytes, or a slow server is an error.
pub fn get(url: &str, limit: u64) -> Result<Option<Vec<u8>>> {
    check_url(url)?;
    let response = agent()
        .get(url)
        .call()
        .map_err(|e| anyhow::anyhow!("could not fetch {url}: {e}"))?;
    let status = response.status().as_u16();
    if status == 404 {
        return Ok(None);
    }
    if !(200..300).contains(&status) {
        bail!("{url} answered HTTP {status}");
    }
    let mut body = Vec::new();
    response
        .into_body()
        .into_reader()
        .take(limit + 1)
        .read_to_end(&mut body)
        .map_err(|e| anyhow::anyhow!("could not read {url}: {e}"))?;
    if body.len() as u64 > limit {
        bail!("{url} is larger than {limit} bytes: refused");
    }
    Ok(Some(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_web_urls_are_fetched() {
        assert!(check_url("https://example.com/skills").is_ok());
        assert!(check_url("http://127.0.0.1:8080").is_ok());
        for bad in [
            "file:///etc",
            "ftp://x/y",
            "https://me:pw@example.com",
            "example.com",
            "https://",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }
}
