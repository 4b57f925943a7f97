//! Address ranges that are not the public internet, for the NetworkPolicies' `except` lists
//! and coturn's `denied-peer-ip`: one table, so the two cannot drift apart.
//!
//! The table follows the IANA special-purpose address registries: every range whose
//! addresses are not globally reachable (private, shared, loopback, link-local with the
//! cloud metadata address 169.254.169.254, benchmarking, documentation, protocol
//! assignments), plus multicast and the reserved 240.0.0.0/4. `64:ff9b::/96` (NAT64's
//! well-known prefix) stays reachable: RFC 6052 forbids it for non-global IPv4 addresses,
//! and IPv6-only clusters reach the IPv4 internet through it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::config::{Config, IpBlock};
use crate::diag::Diagnostic;

/// IPv4 ranges that are not the public internet.
pub const NOT_PUBLIC_V4: &[&str] = &[
    "0.0.0.0/8",       // "this network"
    "10.0.0.0/8",      // private
    "100.64.0.0/10",   // shared address space (carrier-grade NAT)
    "127.0.0.0/8",     // loopback
    "169.254.0.0/16",  // link-local, cloud metadata (169.254.169.254)
    "172.16.0.0/12",   // private
    "192.0.0.0/24",    // IETF protocol assignments
    "192.0.2.0/24",    // documentation (TEST-NET-1)
    "192.88.99.0/24",  // deprecated 6to4 relay anycast
    "192.168.0.0/16",  // private
    "198.18.0.0/15",   // benchmarking
    "198.51.100.0/24", // documentation (TEST-NET-2)
    "203.0.113.0/24",  // documentation (TEST-NET-3)
    "224.0.0.0/4",     // multicast
    "240.0.0.0/4",     // reserved, limited broadcast
];

/// IPv6 ranges that are not the public internet.
pub const NOT_PUBLIC_V6: &[&str] = &[
    // Unspecified, loopback, the deprecated IPv4-compatible and the IPv4-mapped addresses
    // (::ffff:10.0.0.1 must not reach what 10.0.0.1 may not). One range: Kubernetes refuses
    // IPv4-mapped notation in a CIDR.
    "::/80",
    "64:ff9b:1::/48", // local-use IPv4/IPv6 translation
    "100::/64",       // discard-only
    "2001::/23",      // IETF protocol assignments (Teredo, ORCHID, benchmarking, ...)
    "2001:db8::/32",  // documentation
    "2002::/16",      // 6to4 (embeds IPv4 addresses, private ones included)
    "3fff::/20",      // documentation
    "5f00::/16",      // segment routing (SRv6) SIDs
    "fc00::/7",       // unique local
    "fe80::/10",      // link-local
    "fec0::/10",      // deprecated site-local
    "ff00::/8",       // multicast
];

/// A parsed CIDR: its first and last address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub first: IpAddr,
    pub last: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n`, `x::y/n` or a single address (a /32 or /128).
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let (ip, prefix) = match text.split_once('/') {
            Some((ip, p)) => (ip, Some(p)),
            None => (text, None),
        };
        match ip.parse::<IpAddr>().ok()? {
            IpAddr::V4(a) => {
                let prefix = prefix.map_or(Some(32), |p| p.parse::<u8>().ok())?;
                if prefix > 32 {
                    return None;
                }
                let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                let first = u32::from(a) & mask;
                Some(Self {
                    first: IpAddr::V4(Ipv4Addr::from(first)),
                    last: IpAddr::V4(Ipv4Addr::from(first | !mask)),
                    prefix,
                })
            }
            IpAddr::V6(a) => {
                let prefix = prefix.map_or(Some(128), |p| p.parse::<u8>().ok())?;
                if prefix > 128 {
                    return None;
                }
                let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
                let first = u128::from(a) & mask;
                Some(Self {
                    first: IpAddr::V6(Ipv6Addr::from(first)),
                    last: IpAddr::V6(Ipv6Addr::from(first | !mask)),
                    prefix,
                })
            }
        }
    }

    /// Whether `text` names exactly this range's first address (no host bits set).
    #[must_use]
    pub fn is_canonical(text: &str) -> bool {
        Self::parse(text).is_some_and(|c| {
            let ip = text.split_once('/').map_or(text, |(ip, _)| ip);
            ip.parse::<IpAddr>().is_ok_and(|a| a == c.first)
        })
    }

    /// Whether the range holds `ip`.
    #[must_use]
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.first, self.last, ip) {
            (IpAddr::V4(f), IpAddr::V4(l), IpAddr::V4(a)) => f <= a && a <= l,
            (IpAddr::V6(f), IpAddr::V6(l), IpAddr::V6(a)) => f <= a && a <= l,
            _ => false,
        }
    }

    /// Whether every address of `other` is in this range.
    #[must_use]
    pub fn covers(&self, other: &Self) -> bool {
        self.contains(other.first) && self.contains(other.last)
    }

    /// coturn's range syntax, `first-last` (a single address alone).
    #[must_use]
    pub fn coturn_range(&self) -> String {
        if self.first == self.last {
            plain(self.first)
        } else {
            format!("{}-{}", plain(self.first), plain(self.last))
        }
    }

    #[must_use]
    pub fn is_ipv4(&self) -> bool {
        self.first.is_ipv4()
    }
}

/// An address in RFC 5952 form, IPv6 always in hexadecimal groups (Rust's `Display`
/// writes `::ffff:a.b.c.d` for IPv4-mapped addresses, which reads as an IPv4 range).
fn plain(ip: IpAddr) -> String {
    let IpAddr::V6(v6) = ip else {
        return ip.to_string();
    };
    let seg = v6.segments();
    // The longest run of two or more zero groups (the first of equal ones) becomes `::`.
    let (mut best, mut best_len, mut run, mut run_len) = (0, 0, 0, 0);
    for (i, s) in seg.iter().enumerate() {
        if *s == 0 {
            if run_len == 0 {
                run = i;
            }
            run_len += 1;
            if run_len > best_len {
                (best, best_len) = (run, run_len);
            }
        } else {
            run_len = 0;
        }
    }
    let hex = |part: &[u16]| {
        part.iter()
            .map(|s| format!("{s:x}"))
            .collect::<Vec<_>>()
            .join(":")
    };
    if best_len < 2 {
        return hex(&seg);
    }
    format!("{}::{}", hex(&seg[..best]), hex(&seg[best + best_len..]))
}

/// The `0.0.0.0/0` or `::/0` range that holds `cidr`.
#[must_use]
pub fn everything_of_family(cidr: &Cidr) -> &'static str {
    if cidr.is_ipv4() { "0.0.0.0/0" } else { "::/0" }
}

/// Checks every address range of the network settings: each parses, and each `except`
/// is a strict sub-range of its `cidr`, as Kubernetes requires.
#[must_use]
pub fn check(c: &Config) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let np = &c.network_policies;
    let mut blocks: Vec<(String, &IpBlock)> = Vec::new();
    for (name, sel) in [
        ("ingressController", &np.ingress_controller),
        ("dns", &np.dns),
        ("database", &np.database),
    ] {
        for (i, b) in sel.ip_blocks.iter().enumerate() {
            blocks.push((format!("networkPolicies.{name}.ipBlocks[{i}]"), b));
        }
    }
    let r = &np.extra_rules;
    for (name, rules) in [
        ("synapse", &r.synapse),
        ("element", &r.element),
        ("staticPages", &r.static_pages),
        ("wellKnown", &r.well_known),
        ("livekit", &r.livekit),
        ("jwt", &r.jwt),
    ] {
        let ingress = rules.ingress.iter().map(|x| ("ingress", "from", &x.from));
        let egress = rules.egress.iter().map(|x| ("egress", "to", &x.to));
        let mut index = [0usize; 2];
        for (dir, field, peers) in ingress.chain(egress) {
            let slot = usize::from(dir == "egress");
            let i = index[slot];
            index[slot] += 1;
            for (j, p) in peers.iter().enumerate() {
                if let Some(b) = &p.ip_block {
                    blocks.push((
                        format!(
                            "networkPolicies.extraRules.{name}.{dir}[{i}].{field}[{j}].ipBlock"
                        ),
                        b,
                    ));
                }
            }
        }
    }
    for (path, b) in blocks {
        let Some(cidr) = range(&mut out, &format!("{path}.cidr"), &b.cidr) else {
            continue;
        };
        for (i, e) in b.except.iter().enumerate() {
            let at = format!("{path}.except[{i}]");
            if let Some(ex) = range(&mut out, &at, e)
                && !(cidr.covers(&ex) && ex.prefix > cidr.prefix)
            {
                out.push(
                    Diagnostic::error(
                        "invalid-cidr",
                        at,
                        format!("`{e}` is not a smaller range inside `{}`", b.cidr),
                    )
                    .with_hint("Kubernetes accepts only sub-ranges of `cidr` in `except`"),
                );
            }
        }
    }
    for (path, ns) in [
        ("networkPolicies.dns.namespace", &np.dns.namespace),
        ("networkPolicies.database.namespace", &np.database.namespace),
    ] {
        let label = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if !ns.is_empty() && !label(ns) {
            out.push(
                Diagnostic::error(
                    "invalid-name",
                    path,
                    format!("`{ns}` is not a valid namespace name"),
                )
                .with_hint("use lowercase letters, digits and `-`, at most 63 characters"),
            );
        }
    }
    for (i, d) in np.denied_ranges.iter().enumerate() {
        range(&mut out, &format!("networkPolicies.deniedRanges[{i}]"), d);
    }
    out
}

fn range(out: &mut Vec<Diagnostic>, path: &str, text: &str) -> Option<Cidr> {
    let parsed = text.contains('/').then(|| Cidr::parse(text)).flatten();
    match parsed {
        Some(c) if Cidr::is_canonical(text) => Some(c),
        Some(c) => {
            out.push(
                Diagnostic::error(
                    "invalid-cidr",
                    path,
                    format!("`{text}` has bits set past its prefix length"),
                )
                .with_hint(format!(
                    "write the range's first address: `{}/{}`",
                    c.first, c.prefix
                )),
            );
            None
        }
        None => {
            out.push(
                Diagnostic::error("invalid-cidr", path, format!("`{text}` is not an IP range"))
                    .with_hint("write an address with a prefix length, such as `10.0.0.0/8`, `203.0.113.7/32` or `2001:db8::/32`"),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_range_is_canonical_and_of_its_family() {
        for r in NOT_PUBLIC_V4 {
            let c = Cidr::parse(r).unwrap();
            assert!(c.is_ipv4() && Cidr::is_canonical(r), "{r}");
            assert!(c.prefix > 0, "{r}");
        }
        for r in NOT_PUBLIC_V6 {
            let c = Cidr::parse(r).unwrap();
            assert!(!c.is_ipv4() && Cidr::is_canonical(r), "{r}");
            assert!(c.prefix > 0, "{r}");
        }
    }

    #[test]
    fn ranges_hold_what_they_should() {
        let holds = |ranges: &[&str], ip: &str| {
            let ip: IpAddr = ip.parse().unwrap();
            ranges.iter().any(|r| Cidr::parse(r).unwrap().contains(ip))
        };
        for ip in [
            "10.0.0.1",
            "169.254.169.254",
            "100.100.100.100",
            "127.0.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "198.19.0.1",
            "192.0.0.8",
            "203.0.113.9",
            "239.1.1.1",
            "255.255.255.255",
            "0.0.0.0",
        ] {
            assert!(holds(NOT_PUBLIC_V4, ip), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "198.20.0.1",
        ] {
            assert!(!holds(NOT_PUBLIC_V4, ip), "{ip}");
        }
        for ip in [
            "::1",
            "::",
            "::ffff:10.0.0.1",
            "::ffff:8.8.8.8",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "64:ff9b:1::a00:1",
        ] {
            assert!(holds(NOT_PUBLIC_V6, ip), "{ip}");
        }
        for ip in ["2606:4700::1111", "2a00:1450::1", "64:ff9b::808:808"] {
            assert!(!holds(NOT_PUBLIC_V6, ip), "{ip}");
        }
    }

    #[test]
    fn parses_and_formats_ranges() {
        let c = Cidr::parse("172.16.0.0/12").unwrap();
        assert_eq!(c.coturn_range(), "172.16.0.0-172.31.255.255");
        let c = Cidr::parse("fc00::/7").unwrap();
        assert_eq!(
            c.coturn_range(),
            "fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
        );
        assert_eq!(
            Cidr::parse("203.0.113.7").unwrap().coturn_range(),
            "203.0.113.7"
        );
        assert_eq!(
            Cidr::parse("::/80").unwrap().coturn_range(),
            "::-::ffff:ffff:ffff"
        );
        assert_eq!(
            Cidr::parse("2001:db8:0:1::/64").unwrap().coturn_range(),
            "2001:db8:0:1::-2001:db8:0:1:ffff:ffff:ffff:ffff"
        );
        assert_eq!(Cidr::parse("::1").unwrap().coturn_range(), "::1");
        assert_eq!(
            Cidr::parse("1:0:0:1::").unwrap().coturn_range(),
            "1:0:0:1::"
        );
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert!(
            Cidr::parse("::/0")
                .unwrap()
                .contains("::1".parse().unwrap())
        );
        assert!(!Cidr::is_canonical("10.0.0.1/8"));
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "x",
            "10.0.0.0/",
            "10.0.0.0/-1",
        ] {
            assert!(Cidr::parse(bad).is_none(), "{bad}");
        }
    }
}
