//! URI grammar: RFC 3261 §19.1 SIP/SIPS URIs (user, password, host, port,
//! params, headers) and opaque absolute URIs of other schemes (RFC 2396 §3).
//! Owns parsing only; the serializer writes URIs back in `serialize`.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::error::ParseError;
use super::scanner::{
    is_hnv_char, is_param_char, is_password_char, is_uric, is_user_char, malformed, unescape,
};
use super::types::{Host, Param, SipUri, Uri};

/// Parse any URI a SIP message may carry. `sip:`/`sips:` (scheme matched
/// case-insensitively, RFC 3261 §19.1.4) become `Uri::Sip` with user,
/// password and URI parameters/headers unescaped; other schemes are kept as
/// `Uri::Other` after checking the text is a plausible absolute URI.
/// Whitespace anywhere is an error (RFC 4475 §3.1.2.14 badaspec).
pub fn parse_uri(s: &str) -> Result<Uri, ParseError> {
    let err = || malformed("URI");
    let (scheme, rest) = s.split_once(':').ok_or_else(err)?;
    // RFC 2396 §3.1: scheme = alpha *( alpha / digit / "+" / "-" / "." )
    let mut chars = scheme.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) {
        return Err(err());
    }
    if scheme.eq_ignore_ascii_case("sip") {
        parse_sip_uri(rest, false).map(Uri::Sip)
    } else if scheme.eq_ignore_ascii_case("sips") {
        parse_sip_uri(rest, true).map(Uri::Sip)
    } else {
        if rest.is_empty() || !rest.chars().all(is_uric) {
            return Err(err());
        }
        Ok(Uri::Other { scheme: scheme.to_string(), rest: rest.to_string() })
    }
}

/// RFC 3261 §19.1.1 / §25.1: `[userinfo "@"] hostport uri-parameters [headers]`.
fn parse_sip_uri(s: &str, secure: bool) -> Result<SipUri, ParseError> {
    let err = || malformed("URI");
    // `@` cannot appear raw in any later component (params, headers use
    // escapes), so the first one ends userinfo. Userinfo itself may hold
    // `;` `?` `,` (RFC 4475 §3.1.1.2 intmeth, §3.1.1.9 semiuri).
    let (userinfo, hostpart) = match s.split_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, s),
    };
    let (user, password) = match userinfo {
        None => (None, None),
        Some(ui) => {
            let (u, p) = match ui.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (ui, None),
            };
            if u.is_empty() {
                return Err(err());
            }
            let user = unescape(u, is_user_char).ok_or_else(err)?;
            let password = match p {
                Some(p) => Some(unescape(p, is_password_char).ok_or_else(err)?),
                None => None,
            };
            (Some(user), password)
        }
    };

    let (hostport_params, headers_text) = match hostpart.split_once('?') {
        Some((a, b)) => (a, Some(b)),
        None => (hostpart, None),
    };
    let mut parts = hostport_params.split(';');
    let hostport = parts.next().unwrap_or("");
    let (host, port) = parse_hostport(hostport)?;

    let mut params = Vec::new();
    for p in parts {
        let (name, value) = match p.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (p, None),
        };
        if name.is_empty() {
            return Err(err());
        }
        let name = unescape(name, is_param_char).ok_or_else(err)?;
        let value = match value {
            Some(v) => Some(unescape(v, is_param_char).ok_or_else(err)?),
            None => None,
        };
        params.push(Param { name, value });
    }

    let mut headers = Vec::new();
    if let Some(h) = headers_text {
        for pair in h.split('&') {
            let (n, v) = pair.split_once('=').ok_or_else(err)?;
            if n.is_empty() {
                return Err(err());
            }
            let n = unescape(n, is_hnv_char).ok_or_else(err)?;
            let v = unescape(v, is_hnv_char).ok_or_else(err)?;
            headers.push((n, v));
        }
    }
    Ok(SipUri { secure, user, password, host, port, params, headers })
}

/// `host [":" port]` with IPv6 references in brackets (RFC 3261 §19.1.1,
/// RFC 5118 §4.1). Shared with the Via sent-by grammar.
pub(crate) fn parse_hostport(s: &str) -> Result<(Host, Option<u16>), ParseError> {
    let (host_text, port_text) = if s.starts_with('[') {
        let end = s.find(']').ok_or_else(|| malformed("host"))?;
        let (h, rest) = s.split_at(end + 1);
        match rest {
            "" => (h, None),
            _ => (h, Some(rest.strip_prefix(':').ok_or_else(|| malformed("host"))?)),
        }
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    let host = parse_host(host_text)?;
    let port = match port_text {
        None => None,
        Some(p) => Some(parse_port(p)?),
    };
    Ok((host, port))
}

/// RFC 3261 §25.1 port = 1*DIGIT, bounded to 16 bits.
pub(crate) fn parse_port(p: &str) -> Result<u16, ParseError> {
    if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed("port"));
    }
    p.parse::<u16>().map_err(|_| malformed("port"))
}

/// RFC 3261 §25.1 host = hostname / IPv4address / IPv6reference. Domain names
/// are lower-cased (hosts compare case-insensitively, §19.1.4) so `Host`
/// equality and hashing mean the same host. `_` is tolerated in labels
/// because real deployments use it.
pub(crate) fn parse_host(s: &str) -> Result<Host, ParseError> {
    let err = || malformed("host");
    if let Some(inner) = s.strip_prefix('[') {
        let inner = inner.strip_suffix(']').ok_or_else(err)?;
        return inner.parse::<Ipv6Addr>().map(Host::V6).map_err(|_| err());
    }
    if s.is_empty() {
        return Err(err());
    }
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return s.parse::<Ipv4Addr>().map(Host::V4).map_err(|_| err());
    }
    let ok_chars = s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
    let starts_ok = s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
    if !ok_chars || !starts_ok || s.contains("..") {
        return Err(err());
    }
    Ok(Host::Domain(s.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sip(s: &str) -> SipUri {
        match parse_uri(s) {
            Ok(Uri::Sip(u)) => u,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn basic_sip_uri() {
        let u = sip("sip:alice:secret@Example.COM:5070;transport=tcp;lr?subject=hi&x=");
        assert_eq!(u.user.as_deref(), Some("alice"));
        assert_eq!(u.password.as_deref(), Some("secret"));
        assert_eq!(u.host, Host::Domain("example.com".into()));
        assert_eq!(u.port, Some(5070));
        assert_eq!(u.param("transport"), Some(Some("tcp")));
        assert_eq!(u.param("lr"), Some(None));
        assert_eq!(u.headers, vec![("subject".into(), "hi".into()), ("x".into(), String::new())]);
        assert!(!u.secure);
    }

    #[test]
    fn hosts() {
        assert_eq!(sip("sips:[2001:db8::1]:5061").host, Host::V6("2001:db8::1".parse().unwrap()));
        assert_eq!(sip("sip:192.0.2.1").host, Host::V4(Ipv4Addr::new(192, 0, 2, 1)));
        assert!(parse_uri("sip:1.2.3.999").is_err());
        assert!(parse_uri("sip:[::1").is_err());
        assert!(parse_uri("sip:host:99999").is_err());
        assert!(parse_uri("sip:host:").is_err());
        assert!(parse_uri("sip:").is_err());
        assert!(parse_uri("sip:a b").is_err());
    }

    #[test]
    fn escapes_are_decoded() {
        // RFC 4475 §3.1.1.3 esc01, §3.1.1.4 escnull
        assert_eq!(sip("sip:%75se%72@example.com").user.as_deref(), Some("user"));
        assert_eq!(sip("sip:null-%00-null@example.com").user.as_deref(), Some("null-\0-null"));
        let u = sip("sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31");
        assert_eq!(u.params[0].name, "lr");
        assert_eq!(u.param("name"), Some(Some("value%41")));
        assert!(parse_uri("sip:%zz@host").is_err());
        assert!(parse_uri("sip:a%4@host").is_err());
    }

    #[test]
    fn other_schemes_are_opaque() {
        assert_eq!(
            parse_uri("tel:+1-201-555-0123;phone-context=x").unwrap(),
            Uri::Other { scheme: "tel".into(), rest: "+1-201-555-0123;phone-context=x".into() }
        );
        assert!(parse_uri("<sip:x@y>").is_err());
        assert!(parse_uri("1abc:x").is_err());
        assert!(parse_uri("foo:").is_err());
    }
}
