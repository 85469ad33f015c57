//! Host patterns, the scopes of `http-get` and `http-post` grants:
//! `api.example.com`, `*.example.com`, `host:port`, an IP literal or
//! `localhost`, each with an optional `http://` or `https://`.

use std::net::IpAddr;

use url::{Host, Url};

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostMatch {
    /// Any host name or public address (an unscoped grant).
    Any,
    Exact(String),
    /// `*.example.com`: strict subdomains of the suffix, never IP hosts.
    Subdomains(String),
    Ip(IpAddr),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    scheme: Option<String>,
    host: HostMatch,
    port: Option<u16>,
}

/// A pattern covering a URL; `named` is true when the pattern names the
/// host's address or `localhost` itself, the only way to reach an address
/// that is otherwise blocked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScopeMatch {
    pub named: bool,
}

impl HostPattern {
    pub fn any() -> HostPattern {
        HostPattern {
            scheme: None,
            host: HostMatch::Any,
            port: None,
        }
    }

    pub fn parse(scope: &str) -> Result<HostPattern, String> {
        let (scheme, rest) = match scope.split_once("://") {
            Some((s @ ("http" | "https"), rest)) => (Some(s.to_string()), rest),
            Some((other, _)) => {
                return Err(format!(
                    "scheme `{other}` is not allowed: http and https only"
                ));
            }
            None => (None, scope),
        };
        if rest.contains("://") {
            return Err(format!("`{scope}`: only http and https are allowed"));
        }
        if rest.contains(['/', '?', '#', '@']) {
            return Err(format!(
                "`{scope}` is a URL; the scope is a host pattern such as `api.example.com` or `*.example.com:8443`"
            ));
        }
        let (host, port) = split_port(rest)?;
        let host = host.to_ascii_lowercase();
        let host = if let Some(suffix) = host.strip_prefix("*.") {
            check_name(suffix)?;
            HostMatch::Subdomains(suffix.to_string())
        } else if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            HostMatch::Ip(IpAddr::V6(
                v6.parse()
                    .map_err(|_| format!("`{v6}` is not an IPv6 address"))?,
            ))
        } else if let Ok(ip) = host.parse::<IpAddr>() {
            HostMatch::Ip(ip)
        } else {
            check_name(&host)?;
            HostMatch::Exact(host)
        };
        Ok(HostPattern { scheme, host, port })
    }

    pub fn matches(&self, url: &Url) -> Option<ScopeMatch> {
        if self.scheme.as_deref().is_some_and(|s| s != url.scheme()) {
            return None;
        }
        if self.port.is_some() && self.port != url.port_or_known_default() {
            return None;
        }
        let host = url.host()?;
        let named = match (&self.host, host) {
            (HostMatch::Any, _) => false,
            (HostMatch::Exact(name), Host::Domain(domain)) if name == domain => name == "localhost",
            (HostMatch::Subdomains(suffix), Host::Domain(domain))
                if domain
                    .strip_suffix(suffix.as_str())
                    .is_some_and(|head| head.len() > 1 && head.ends_with('.')) =>
            {
                false
            }
            (HostMatch::Ip(ip), Host::Ipv4(v4)) if *ip == IpAddr::V4(v4) => true,
            (HostMatch::Ip(ip), Host::Ipv6(v6)) if *ip == IpAddr::V6(v6) => true,
            _ => return None,
        };
        Some(ScopeMatch { named })
    }
}

fn split_port(text: &str) -> Result<(&str, Option<u16>), String> {
    let port_start = match text.rfind(':') {
        Some(i) if !text[..i].contains(':') || text[..i].ends_with(']') => i,
        _ => return Ok((text, None)),
    };
    let (host, port) = (&text[..port_start], &text[port_start + 1..]);
    let port = port
        .parse::<u16>()
        .map_err(|_| format!("`{port}` is not a port number"))?;
    Ok((host, Some(port)))
}

fn check_name(name: &str) -> Result<(), String> {
    let valid_label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if !name.is_empty() && name.split('.').all(valid_label) {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a host name: use `api.example.com`, `*.example.com`, `host:port` or an IP literal"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(scope: &str, url: &str) -> Option<bool> {
        let pattern = HostPattern::parse(scope).unwrap();
        pattern.matches(&Url::parse(url).unwrap()).map(|m| m.named)
    }

    #[test]
    fn patterns_match_hosts_ports_and_schemes() {
        assert_eq!(
            check("api.example.com", "https://api.example.com/x"),
            Some(false)
        );
        assert_eq!(
            check("api.example.com", "https://API.example.com:8443/"),
            Some(false)
        );
        assert_eq!(
            check("api.example.com", "https://evil.com/?api.example.com"),
            None
        );
        assert_eq!(
            check("*.example.com", "https://a.b.example.com/"),
            Some(false)
        );
        assert_eq!(check("*.example.com", "https://example.com/"), None);
        assert_eq!(check("*.example.com", "https://badexample.com/"), None);
        assert_eq!(
            check("api.example.com:8443", "https://api.example.com/"),
            None
        );
        assert_eq!(
            check("api.example.com:443", "https://api.example.com/"),
            Some(false)
        );
        assert_eq!(
            check("https://api.example.com", "http://api.example.com/"),
            None
        );
    }

    #[test]
    fn only_literals_and_localhost_are_named() {
        assert_eq!(check("127.0.0.1", "http://127.0.0.1:9/"), Some(true));
        // The URL parser normalises decimal, octal and hex forms first.
        assert_eq!(check("127.0.0.1", "http://2130706433/"), Some(true));
        assert_eq!(check("127.0.0.1", "http://0x7f.0.0.1/"), Some(true));
        assert_eq!(check("[::1]:8080", "http://[::1]:8080/"), Some(true));
        assert_eq!(check("localhost", "http://localhost:1234/"), Some(true));
        assert_eq!(check("*.0.0.1", "http://127.0.0.1/"), None);
    }

    #[test]
    fn bad_scopes_say_why() {
        for (scope, says) in [
            ("ftp://x.org", "http and https only"),
            ("x.org:http", "port"),
            ("exa mple.com", "not a host name"),
            ("[zz]", "IPv6"),
            ("*", "not a host name"),
            ("api.example.com/v1", "is a URL"),
            ("-bad.com", "not a host name"),
        ] {
            let err = HostPattern::parse(scope).unwrap_err();
            assert!(err.contains(says), "{scope}: {err}");
        }
    }
}
