//! The HTTP client behind `http-get` and `http-post`: every hop is checked
//! against the grants, resolved once, vetted, and connected to only at the
//! vetted addresses, all inside the invocation's deadline.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ureq::Agent;
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};
use url::{Host, Url};

use super::address;
use super::fixtures::{Exchange, HttpFixtures, HttpRecorder};
pub use super::method::Method;
use super::scope::HostPattern;

/// Caps on what one invocation may do over HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    pub connect_timeout: Duration,
    /// Per request, redirects included; never past the invocation deadline.
    pub request_timeout: Duration,
    pub max_response_bytes: u64,
    pub max_requests: u32,
    pub max_redirects: u32,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(20),
            max_response_bytes: 4 << 20,
            max_requests: 32,
            max_redirects: 5,
        }
    }
}

/// How a request failed. `Denied` and `Deadline` end the invocation;
/// `Failed` is returned to the guest, which may handle it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    Denied(String),
    Deadline,
    Failed(String),
}

pub struct Request<'a> {
    pub method: Method,
    pub url: &'a str,
    pub body: Option<&'a str>,
}

/// What a request may use: the grants' patterns, the caps, the deadline, and
/// optionally fixtures in place of the network and a recorder.
pub struct Context<'a> {
    pub scopes: &'a [HostPattern],
    pub limits: &'a HttpLimits,
    pub deadline: Instant,
    pub fixtures: Option<&'a dyn HttpFixtures>,
    pub recorder: Option<&'a dyn HttpRecorder>,
}

/// The body of a 2xx answer; any other status is a failure the guest sees.
pub fn success_body(status: u16, body: String) -> Result<String, HttpError> {
    if (200..300).contains(&status) {
        return Ok(body);
    }
    let shown: String = body.chars().take(200).collect();
    Err(HttpError::Failed(format!("HTTP {status}: {shown}")))
}

/// Performs a request, following redirects within the origin; returns the
/// final status and body, whatever the status.
pub fn exchange(cx: &Context<'_>, request: Request<'_>) -> Result<(u16, String), HttpError> {
    let mut url = Url::parse(request.url)
        .map_err(|e| HttpError::Failed(format!("`{}` is not a valid URL: {e}", request.url)))?;
    let origin = (
        url.host_str().map(str::to_owned),
        url.port_or_known_default(),
    );
    let (mut method, mut body) = (request.method, request.body);
    for _hop in 0..=cx.limits.max_redirects {
        if (
            url.host_str().map(str::to_owned),
            url.port_or_known_default(),
        ) != origin
        {
            return Err(HttpError::Denied(format!(
                "redirect to another host ({url}) refused"
            )));
        }
        let named = check_grants(cx.scopes, &url)?;
        let exchange = match cx.fixtures {
            Some(fixtures) => {
                literal_addresses(&url, named)?;
                let exchange = fixtures
                    .respond(method, url.as_str(), body)
                    .map_err(HttpError::Failed)?;
                if exchange.body.len() as u64 > cx.limits.max_response_bytes {
                    return Err(too_large(cx.limits.max_response_bytes));
                }
                exchange
            }
            None => {
                let exchange = network(cx, &url, named, method, body)?;
                if let Some(recorder) = cx.recorder {
                    recorder.record(&exchange);
                }
                exchange
            }
        };
        if (300..400).contains(&exchange.status)
            && let Some(location) = &exchange.location
        {
            url = url.join(location).map_err(|e| {
                HttpError::Failed(format!("bad redirect location `{location}`: {e}"))
            })?;
            if exchange.status == 303 || (exchange.status <= 302 && method == Method::Post) {
                (method, body) = (Method::Get, None);
            }
            continue;
        }
        return Ok((exchange.status, exchange.body));
    }
    Err(HttpError::Failed(format!(
        "more than {} redirects",
        cx.limits.max_redirects
    )))
}

fn too_large(limit: u64) -> HttpError {
    HttpError::Failed(format!(
        "the response is larger than the limit of {limit} bytes"
    ))
}

/// One exchange over the network, to vetted addresses only.
fn network(
    cx: &Context<'_>,
    url: &Url,
    named: bool,
    method: Method,
    body: Option<&str>,
) -> Result<Exchange, HttpError> {
    let addrs = vetted_addresses(url, named, cx.limits, cx.deadline)?;
    let remaining = remaining(cx.deadline)?;
    let total = cx.limits.request_timeout.min(remaining);
    let agent = agent(addrs, cx.limits.connect_timeout.min(total), total);
    let sent = match (method, body) {
        (Method::Post, Some(body)) => agent.post(url.as_str()).send(body),
        (Method::Post, None) => agent.post(url.as_str()).send_empty(),
        (Method::Get, _) => agent.get(url.as_str()).call(),
    };
    let timed_out = |e: &ureq::Error| timeout_error(e, total, remaining, cx.deadline);
    let mut response = sent.map_err(|e| timed_out(&e))?;
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap_or_default().to_string());
    let text = response
        .body_mut()
        .with_config()
        .limit(cx.limits.max_response_bytes)
        .lossy_utf8(true)
        .read_to_string()
        .map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(n) => too_large(n),
            other => timed_out(&other),
        })?;
    Ok(Exchange {
        method,
        url: url.to_string(),
        status: response.status().as_u16(),
        location,
        body: text,
    })
}

fn remaining(deadline: Instant) -> Result<Duration, HttpError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err(HttpError::Deadline)
    } else {
        Ok(left)
    }
}

/// A timeout caused by the invocation's deadline ends the invocation; the
/// request's own, shorter timeout is the guest's to handle.
fn timeout_error(e: &ureq::Error, total: Duration, left: Duration, deadline: Instant) -> HttpError {
    let timed_out = matches!(e, ureq::Error::Timeout(_))
        || matches!(e, ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut);
    if timed_out && (total >= left || Instant::now() >= deadline) {
        HttpError::Deadline
    } else if timed_out {
        HttpError::Failed(format!(
            "the request timed out after {} ms",
            total.as_millis()
        ))
    } else {
        HttpError::Failed(format!("the request failed: {e}"))
    }
}

/// Checks the URL against the grants; returns whether a grant names its
/// host (an IP literal or `localhost`), which lifts the address block.
fn check_grants(scopes: &[HostPattern], url: &Url) -> Result<bool, HttpError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(HttpError::Denied(format!(
            "scheme `{}` refused: http and https only",
            url.scheme()
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(HttpError::Denied(
            "credentials in URLs are refused: use a secret and a header".to_string(),
        ));
    }
    let matched: Vec<_> = scopes.iter().filter_map(|s| s.matches(url)).collect();
    if matched.is_empty() {
        return Err(HttpError::Denied(format!(
            "no grant covers the host of {url}"
        )));
    }
    Ok(matched.iter().any(|m| m.named))
}

/// The address of an IP-literal host, vetted; names resolve later.
fn literal_addresses(url: &Url, named: bool) -> Result<Option<Vec<SocketAddr>>, HttpError> {
    let port = url.port_or_known_default().unwrap_or(80);
    let ip: std::net::IpAddr = match url.host() {
        Some(Host::Ipv4(ip)) => ip.into(),
        Some(Host::Ipv6(ip)) => ip.into(),
        Some(Host::Domain(_)) => return Ok(None),
        None => return Err(HttpError::Failed(format!("{url} has no host"))),
    };
    address::vet(&[SocketAddr::new(ip, port)], named)
        .map(Some)
        .map_err(|why| HttpError::Denied(format!("{url} refused: {why}")))
}

/// Resolves the URL's host once and keeps only the addresses it may reach.
fn vetted_addresses(
    url: &Url,
    named: bool,
    limits: &HttpLimits,
    deadline: Instant,
) -> Result<Vec<SocketAddr>, HttpError> {
    if let Some(literal) = literal_addresses(url, named)? {
        return Ok(literal);
    }
    let name = url.host_str().unwrap_or_default();
    let port = url.port_or_known_default().unwrap_or(80);
    let wait = limits.connect_timeout.min(remaining(deadline)?);
    let resolved = resolve(name, port, wait)?;
    address::vet(&resolved, named).map_err(|why| HttpError::Denied(format!("{url} refused: {why}")))
}

/// One DNS lookup, bounded in time (the system resolver has no timeout).
fn resolve(name: &str, port: u16, wait: Duration) -> Result<Vec<SocketAddr>, HttpError> {
    let (tx, rx) = mpsc::channel();
    let target = (name.to_string(), port);
    std::thread::spawn(move || {
        let _ = tx.send(target.to_socket_addrs().map(Vec::from_iter));
    });
    match rx.recv_timeout(wait) {
        Ok(Ok(addrs)) if !addrs.is_empty() => Ok(addrs),
        Ok(Ok(_)) => Err(HttpError::Failed(format!("`{name}` has no addresses"))),
        Ok(Err(e)) => Err(HttpError::Failed(format!(
            "could not resolve `{name}`: {e}"
        ))),
        Err(_) => Err(HttpError::Failed(format!(
            "resolving `{name}` took longer than {} ms",
            wait.as_millis()
        ))),
    }
}

fn agent(addrs: Vec<SocketAddr>, connect: Duration, total: Duration) -> Agent {
    let config = Agent::config_builder()
        // Proxies from the environment would bypass address vetting.
        .proxy(None)
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_connect(Some(connect))
        .timeout_global(Some(total))
        .user_agent(concat!("cargo-skill/", env!("CARGO_PKG_VERSION")))
        .build();
    Agent::with_parts(config, DefaultConnector::default(), Vetted(addrs))
}

/// Hands ureq the addresses already vetted: no second lookup can swap in
/// another address (DNS rebinding).
#[derive(Debug)]
struct Vetted(Vec<SocketAddr>);

impl Resolver for Vetted {
    fn resolve(
        &self,
        _uri: &ureq::http::Uri,
        _config: &ureq::config::Config,
        _timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let mut out = self.empty();
        for addr in self.0.iter().take(16) {
            out.push(*addr);
        }
        Ok(out)
    }
}
