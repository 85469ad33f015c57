//! Which IP addresses a skill may reach: public unicast only, unless the
//! grant names the address (or `localhost`) itself.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Why an address is off limits, for the denial message.
pub fn blocked_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_reason(v4),
        IpAddr::V6(v6) => v6_reason(v6),
    }
}

fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    Some(if ip.is_loopback() {
        "loopback"
    } else if ip.is_private() {
        "private"
    } else if ip.is_link_local() {
        "link-local (cloud metadata lives here)"
    } else if ip.is_unspecified() || a == 0 {
        "unspecified"
    } else if ip.is_multicast() || ip.is_broadcast() {
        "multicast or broadcast"
    } else if a == 100 && (64..128).contains(&b) {
        "carrier-grade NAT (shared address space)"
    } else if a >= 240 {
        "reserved"
    } else {
        return None;
    })
}

fn v6_reason(ip: Ipv6Addr) -> Option<&'static str> {
    let segments = ip.segments();
    // Forms that carry an IPv4 address: judge the address they carry.
    let embedded = if let Some(v4) = ip.to_ipv4_mapped() {
        Some(v4)
    } else if segments[..6] == [0; 6] && !ip.is_loopback() && !ip.is_unspecified() {
        // IPv4-compatible (deprecated, still routed by some stacks).
        Some(Ipv4Addr::from_bits(ip.to_bits() as u32))
    } else if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        // NAT64 well-known prefix.
        Some(Ipv4Addr::from_bits(ip.to_bits() as u32))
    } else if segments[0] == 0x2002 {
        // 6to4 embeds the IPv4 address in bits 16..48.
        Some(Ipv4Addr::from_bits((ip.to_bits() >> 80) as u32))
    } else {
        None
    };
    if let Some(v4) = embedded {
        return v4_reason(v4).map(|_| "an IPv6 form of a blocked IPv4 address");
    }
    Some(if ip.is_loopback() {
        "loopback"
    } else if ip.is_unspecified() {
        "unspecified"
    } else if ip.is_unique_local() {
        "unique-local"
    } else if ip.is_unicast_link_local() || segments[0] & 0xffc0 == 0xfec0 {
        "link-local or site-local"
    } else if ip.is_multicast() {
        "multicast"
    } else {
        return None;
    })
}

/// Keeps the addresses a request may connect to. `named` means the grant
/// names this address or `localhost` explicitly, which lifts the block.
pub fn vet(resolved: &[SocketAddr], named: bool) -> Result<Vec<SocketAddr>, String> {
    if named {
        return Ok(resolved.to_vec());
    }
    let (allowed, refused): (Vec<SocketAddr>, Vec<SocketAddr>) = resolved
        .iter()
        .partition(|addr| blocked_reason(addr.ip()).is_none());
    if allowed.is_empty() {
        let why: Vec<String> = refused
            .iter()
            .map(|a| {
                format!(
                    "{} ({})",
                    a.ip(),
                    blocked_reason(a.ip()).unwrap_or("blocked")
                )
            })
            .collect();
        return Err(format!(
            "it resolves only to blocked addresses: {}; such addresses are reachable only when the grant names the IP literal or `localhost`",
            why.join(", ")
        ));
    }
    Ok(allowed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocked(text: &str) -> bool {
        blocked_reason(text.parse().unwrap()).is_some()
    }

    #[test]
    fn every_internal_range_is_blocked() {
        for ip in [
            "127.0.0.1",
            "127.8.9.10",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "255.255.255.255",
            "100.64.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fc00::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.1.2.3",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
        ] {
            assert!(blocked(ip), "{ip} must be blocked");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2606:2800:220:1:248:1893:25c8:1946",
            "::ffff:8.8.8.8",
            "2002:808:808::",
        ] {
            assert!(!blocked(ip), "{ip} is public");
        }
    }

    #[test]
    fn vetting_drops_blocked_addresses_unless_named() {
        let mixed: Vec<SocketAddr> = vec![
            "127.0.0.1:80".parse().unwrap(),
            "93.184.216.34:80".parse().unwrap(),
        ];
        assert_eq!(vet(&mixed, false).unwrap(), [mixed[1]]);
        let internal = &mixed[..1];
        let err = vet(internal, false).unwrap_err();
        assert!(err.contains("127.0.0.1 (loopback)"), "{err}");
        assert_eq!(vet(internal, true).unwrap(), internal);
    }
}
