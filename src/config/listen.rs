//! Optional listeners: `[sip] tls_listen` and `[http] tls_listen` take an
//! `"ADDR:PORT"` or `""` (off), and must not take the port their plain
//! sibling already listens on. Owns that key format and check only.

use std::net::SocketAddr;

use serde::{Deserialize, Deserializer};

/// `""` is `None`; anything else must be an `ADDR:PORT`.
pub fn optional_addr<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SocketAddr>, D::Error> {
    let text = String::deserialize(d)?;
    parse_optional(&text).map_err(serde::de::Error::custom)
}

/// The text of an optional listener as the command line and the file give it.
pub fn parse_optional(text: &str) -> Result<Option<SocketAddr>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    t.parse().map(Some).map_err(|_| format!("\"{t}\" is not ADDR:PORT (like \"0.0.0.0:5061\" or \"[::]:8443\"); \"\" turns it off"))
}

/// Whether two TCP listeners would want the same socket (same port, and
/// the same address or either on all addresses).
pub fn clash(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() == b.port() && a.port() != 0 && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_clashes() {
        assert_eq!(parse_optional(" ").unwrap(), None);
        assert_eq!(parse_optional("127.0.0.1:5061").unwrap(), Some("127.0.0.1:5061".parse().unwrap()));
        assert!(parse_optional("5061").unwrap_err().contains("not ADDR:PORT"));
        let a = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert!(clash(a("0.0.0.0:5061"), a("127.0.0.1:5061")));
        assert!(!clash(a("10.0.0.1:5061"), a("127.0.0.1:5061")));
        assert!(!clash(a("0.0.0.0:5060"), a("0.0.0.0:5061")));
        assert!(!clash(a("127.0.0.1:0"), a("127.0.0.1:0")), "port 0 is any free port");
    }
}
