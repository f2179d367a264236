//! Listen addresses: `[sip] tls_listen` and `[http] tls_listen` take an
//! `"ADDR:PORT"` or `""` (off); no two TCP listeners (`sip.listen`,
//! `sip.tls_listen`, `http.listen`, `http.tls_listen`) may want the same
//! socket; the settings page and API take an address as text with a port
//! from 1 to 65535. Owns that key format and those checks only.

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

/// A listen address as the settings page and `PUT /api/v1/settings` take
/// it: `ADDR:PORT` with a port from 1 to 65535; `""` is `None` (off) when
/// `optional`, else refused.
pub fn parse_setting(text: &str, optional: bool) -> Result<Option<SocketAddr>, String> {
    let t = text.trim();
    if t.is_empty() {
        return if optional { Ok(None) } else { Err("an address is required, as ADDR:PORT (like \"0.0.0.0:5060\")".into()) };
    }
    match t.parse::<SocketAddr>() {
        Ok(a) if a.port() == 0 => Err(format!("the port of \"{t}\" must be 1 to 65535, not 0")),
        Ok(a) => Ok(Some(a)),
        Err(_) => match t.rsplit_once(':').and_then(|(_, p)| p.parse::<u64>().ok()) {
            Some(p) if p > 65535 => Err(format!("the port of \"{t}\" must be 1 to 65535, not {p}")),
            _ => Err(format!("\"{t}\" is not ADDR:PORT (like \"0.0.0.0:5060\" or \"[::]:5060\"){}", if optional { "; empty turns it off" } else { "" })),
        },
    }
}

/// The first of `listeners` (dotted key, address; `None`: off) that wants
/// the socket of one before it: (its key, why).
pub fn first_clash(listeners: &[(&str, Option<SocketAddr>)]) -> Option<(String, String)> {
    listeners.iter().enumerate().find_map(|(i, (key, addr))| {
        let a = (*addr)?;
        let (other, b) = listeners[..i].iter().find_map(|(k, b)| b.filter(|b| clash(a, *b)).map(|b| (k, b)))?;
        Some((key.to_string(), format!("must not take the port of {other} ({b})")))
    })
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
        let l = [("sip.listen", Some(a("0.0.0.0:5060"))), ("sip.tls_listen", None), ("http.listen", Some(a("127.0.0.1:5070"))), ("http.tls_listen", Some(a("127.0.0.1:5060")))];
        assert_eq!(first_clash(&l), Some(("http.tls_listen".into(), "must not take the port of sip.listen (0.0.0.0:5060)".into())));
        assert_eq!(first_clash(&l[..3]), None);
    }

    #[test]
    fn settings_text_needs_a_real_port() {
        assert_eq!(parse_setting(" 127.0.0.1:5070 ", false).unwrap(), Some("127.0.0.1:5070".parse().unwrap()));
        assert_eq!(parse_setting("", true).unwrap(), None);
        assert!(parse_setting("", false).unwrap_err().contains("required"));
        assert!(parse_setting("127.0.0.1:0", false).unwrap_err().contains("must be 1 to 65535, not 0"));
        assert!(parse_setting("127.0.0.1:70000", true).unwrap_err().contains("must be 1 to 65535, not 70000"));
        assert!(parse_setting("sip.example.org", true).unwrap_err().contains("is not ADDR:PORT"));
    }
}
