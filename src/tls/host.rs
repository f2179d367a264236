//! What the generated certificate names: this machine's host name and its
//! non-loopback addresses, read from Linux's /proc (std has no interface
//! list; the appliance runs on Linux). Anything unreadable is simply left
//! out: `localhost`, 127.0.0.1 and ::1 are always named by the caller.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The host name, when it is a usable DNS name.
pub fn host_name() -> Option<String> {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_ascii_lowercase())
        .find(|n| is_dns_name(n))
}

/// The machine's unicast addresses, loopback and IPv6 link-local left out.
pub fn addresses() -> Vec<IpAddr> {
    let mut all = BTreeSet::new();
    if let Ok(t) = std::fs::read_to_string("/proc/net/fib_trie") {
        all.extend(local_v4(&t).into_iter().map(IpAddr::V4));
    }
    if let Ok(t) = std::fs::read_to_string("/proc/net/if_inet6") {
        all.extend(local_v6(&t).into_iter().map(IpAddr::V6));
    }
    all.into_iter().collect()
}

/// Letters, digits, hyphens and dots, at most 253 characters, labels of
/// 1 to 63 not starting or ending with a hyphen.
pub fn is_dns_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 253
        && n.split('.').all(|l| {
            !l.is_empty() && l.len() <= 63 && !l.starts_with('-') && !l.ends_with('-') && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        && n.parse::<IpAddr>().is_err()
}

/// IPv4 addresses the kernel routes as LOCAL: in `/proc/net/fib_trie`, the
/// `|-- a.b.c.d` line before a `/32 host LOCAL` line.
fn local_v4(fib_trie: &str) -> BTreeSet<Ipv4Addr> {
    let mut out = BTreeSet::new();
    let mut last: Option<Ipv4Addr> = None;
    for line in fib_trie.lines() {
        let l = line.trim();
        if let Some(a) = l.strip_prefix("|-- ") {
            last = a.trim().parse().ok();
        } else if l.starts_with("/32 host LOCAL") {
            if let Some(ip) = last.filter(|ip| !ip.is_loopback() && !ip.is_unspecified()) {
                out.insert(ip);
            }
        }
    }
    out
}

/// IPv6 addresses of `/proc/net/if_inet6` (32 hex digits, then index,
/// prefix length, scope, flags, interface).
fn local_v6(if_inet6: &str) -> BTreeSet<Ipv6Addr> {
    if_inet6
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|h| h.len() == 32)
        .filter_map(|h| u128::from_str_radix(h, 16).ok())
        .map(Ipv6Addr::from)
        .filter(|ip| !ip.is_loopback() && !ip.is_unspecified() && (ip.segments()[0] & 0xffc0) != 0xfe80)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIB: &str = "Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 0.0.0.0\n        /0 universe UNICAST\n     +-- 127.0.0.0/8 2 0 2\n           |-- 127.0.0.1\n              /32 host LOCAL\n     +-- 192.0.2.0/24 2 0 2\n           |-- 192.0.2.0\n              /24 link UNICAST\n           |-- 192.0.2.2\n              /32 host LOCAL\n        |-- 192.0.2.255\n           /32 link BROADCAST\nLocal:\n           |-- 192.0.2.2\n              /32 host LOCAL\n";
    const INET6: &str = "00000000000000000000000000000001 01 80 10 80       lo\nfd000000000000000000000000000002 04 40 00 82     eth0\nfe8000000000000000fc00fffe000001 04 40 20 80     eth0\n";

    #[test]
    fn proc_files_give_unicast_addresses_only() {
        assert_eq!(local_v4(FIB).into_iter().collect::<Vec<_>>(), [Ipv4Addr::new(192, 0, 2, 2)]);
        assert_eq!(local_v6(INET6).into_iter().collect::<Vec<_>>(), ["fd00::2".parse::<Ipv6Addr>().unwrap()]);
        assert!(local_v4("garbage\n|-- nope\n/32 host LOCAL\n").is_empty());
        assert!(local_v6("xyz\n\n").is_empty());
    }

    #[test]
    fn dns_names() {
        for ok in ["vm", "pbx-1.example.org", "a1"] {
            assert!(is_dns_name(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "a..b", "under_score", "10.0.0.1", "sp ace", &"x".repeat(64)] {
            assert!(!is_dns_name(bad), "{bad}");
        }
    }
}
