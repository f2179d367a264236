//! Header value grammars of RFC 3261 §20 / §25: name-addr lists (From, To,
//! Contact, Route, Record-Route), Via, CSeq, plus header-name and method
//! tokens. Values arrive unfolded from `parse`; these functions also accept
//! folded text. They never echo input into error reasons (reasons end up in
//! status lines, so they must stay free of attacker-controlled bytes).

use std::hash::{Hash, Hasher};

use super::error::ParseError;
use super::scanner::{is_gen_value_char, is_token_char, malformed, Scanner};
use super::types::{CSeq, Contact, HeaderName, Method, NameAddr, Param, Via};
use super::uri::{parse_host, parse_port};

pub use super::uri::parse_uri;

/// One From/To/Contact-style value: `name-addr` or bare `addr-spec`, then
/// header parameters (RFC 3261 §20.10, §25.1). Anything after it is an error.
pub fn parse_name_addr(s: &str) -> Result<NameAddr, ParseError> {
    let mut sc = Scanner::new(s);
    let na = name_addr_entry(&mut sc)?;
    sc.skip_ws();
    if !sc.is_empty() {
        return Err(malformed("address"));
    }
    Ok(na)
}

/// Comma-separated name-addr list (Route, Record-Route, ...). Commas inside
/// quoted display names or `<...>` do not split.
pub fn parse_name_addr_list(s: &str) -> Result<Vec<NameAddr>, ParseError> {
    let mut sc = Scanner::new(s);
    let mut out = Vec::new();
    loop {
        out.push(name_addr_entry(&mut sc)?);
        sc.skip_ws();
        if sc.is_empty() {
            return Ok(out);
        }
        if !sc.eat(',') {
            return Err(malformed("address"));
        }
    }
}

/// RFC 3261 §20.10 Contact: `*` alone, or a list of addresses.
pub fn parse_contact_list(s: &str) -> Result<Vec<Contact>, ParseError> {
    if s.trim_matches(|c: char| c.is_ascii_whitespace()) == "*" {
        return Ok(vec![Contact::Star]);
    }
    parse_name_addr_list(s)
        .map(|v| v.into_iter().map(Contact::Addr).collect())
        .map_err(|_| malformed("Contact"))
}

/// Parse one entry, leaving the scanner at the next `,` or end.
fn name_addr_entry(sc: &mut Scanner<'_>) -> Result<NameAddr, ParseError> {
    let err = || malformed("address");
    sc.skip_ws();
    let mut display_name = None;
    let uri;
    match sc.peek() {
        Some('"') => {
            let (_, name) = sc.quoted_string().ok_or_else(err)?;
            display_name = Some(name);
            sc.skip_ws();
            uri = angle_uri(sc)?;
        }
        Some('<') => uri = angle_uri(sc)?,
        _ => {
            // display-name = *(token LWS): try it; if no `<` follows, this is
            // a bare addr-spec and we re-scan from the start.
            let start = sc.pos();
            let mut end = start;
            while sc.token().is_some() {
                end = sc.pos();
                sc.skip_ws();
            }
            if end > start && sc.peek() == Some('<') {
                display_name = Some(sc.slice(start, end).to_string());
                uri = angle_uri(sc)?;
            } else {
                sc.reset(start);
                // RFC 3261 §20.10: without <>, `;` starts header params and
                // a URI holding `,` `?` or `;` is not allowed at all
                // (RFC 4475 §3.1.2.13 regbadct).
                let text = sc.take_while(|c| !c.is_ascii_whitespace() && c != ';' && c != ',');
                if text.is_empty() || text.contains('?') {
                    return Err(err());
                }
                uri = parse_uri(text)?;
            }
        }
    }
    let params = header_params(sc)?;
    Ok(NameAddr { display_name, uri, params })
}

/// `LAQUOT addr-spec RAQUOT`: no whitespace inside the brackets
/// (RFC 4475 §3.1.2.14 badaspec).
fn angle_uri(sc: &mut Scanner<'_>) -> Result<super::types::Uri, ParseError> {
    if !sc.eat('<') {
        return Err(malformed("address"));
    }
    let text = sc.take_while(|c| c != '>');
    if !sc.eat('>') {
        return Err(malformed("address"));
    }
    parse_uri(text)
}

/// `*( SEMI generic-param )` with LWS allowed around `;` and `=`
/// (RFC 3261 §25.1 SEMI / EQUAL, RFC 4475 §3.1.1.1 wsinv). Values keep their
/// wire form; quoted-string values keep their quotes so they re-serialize
/// verbatim.
fn header_params(sc: &mut Scanner<'_>) -> Result<Vec<Param>, ParseError> {
    let mut params = Vec::new();
    loop {
        let save = sc.pos();
        sc.skip_ws();
        if !sc.eat(';') {
            sc.reset(save);
            return Ok(params);
        }
        sc.skip_ws();
        // An empty name (`;;`) is RFC 4475 §3.1.2.1 badinv01.
        let name = sc.token().ok_or_else(|| malformed("parameter"))?.to_string();
        let save = sc.pos();
        sc.skip_ws();
        let value = if sc.eat('=') {
            sc.skip_ws();
            Some(gen_value(sc)?)
        } else {
            sc.reset(save);
            None
        };
        params.push(Param { name, value });
    }
}

/// RFC 3261 §25.1 gen-value = token / host / quoted-string.
fn gen_value(sc: &mut Scanner<'_>) -> Result<String, ParseError> {
    if sc.peek() == Some('"') {
        let (raw, _) = sc.quoted_string().ok_or_else(|| malformed("parameter"))?;
        return Ok(raw.to_string());
    }
    let v = sc.take_while(is_gen_value_char);
    if v.is_empty() {
        return Err(malformed("parameter"));
    }
    Ok(v.to_string())
}

/// RFC 3261 §20.42 Via list: `sent-protocol LWS sent-by *(SEMI via-params)`,
/// comma separated, LWS allowed around `/`, `:`, `;`, `=` (RFC 4475 §3.1.1.1).
pub fn parse_via_list(s: &str) -> Result<Vec<Via>, ParseError> {
    let mut sc = Scanner::new(s);
    let mut out = Vec::new();
    loop {
        out.push(via_entry(&mut sc).map_err(|_| malformed("Via"))?);
        sc.skip_ws();
        if sc.is_empty() {
            return Ok(out);
        }
        if !sc.eat(',') {
            return Err(malformed("Via"));
        }
    }
}

fn via_entry(sc: &mut Scanner<'_>) -> Result<Via, ParseError> {
    let err = || malformed("Via");
    sc.skip_ws();
    let name = sc.token().ok_or_else(err)?;
    sc.skip_ws();
    if !sc.eat('/') {
        return Err(err());
    }
    sc.skip_ws();
    let version = sc.token().ok_or_else(err)?;
    sc.skip_ws();
    if !sc.eat('/') {
        return Err(err());
    }
    sc.skip_ws();
    let transport = sc.token().ok_or_else(err)?;
    if !sc.skip_ws() {
        return Err(err());
    }
    let host_text = if sc.peek() == Some('[') {
        let start = sc.pos();
        sc.take_while(|c| c != ']');
        if !sc.eat(']') {
            return Err(err());
        }
        sc.slice(start, sc.pos())
    } else {
        sc.take_while(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
    };
    let host = parse_host(host_text)?;
    let save = sc.pos();
    sc.skip_ws();
    let port = if sc.eat(':') {
        sc.skip_ws();
        Some(parse_port(sc.take_while(|c| c.is_ascii_digit()))?)
    } else {
        sc.reset(save);
        None
    };
    let params = header_params(sc)?;
    Ok(Via {
        protocol: format!("{}/{}", name.to_ascii_uppercase(), version),
        transport: transport.to_ascii_uppercase(),
        host,
        port,
        params,
    })
}

/// RFC 3261 §20.16 CSeq = 1*DIGIT LWS Method. The number must fit 32 bits
/// (RFC 4475 §3.1.2.4 scalar02, §3.1.2.5 scalarlg).
pub fn parse_cseq(s: &str) -> Result<CSeq, ParseError> {
    let err = || malformed("CSeq");
    let mut sc = Scanner::new(s);
    sc.skip_ws();
    let digits = sc.take_while(|c| c.is_ascii_digit());
    if digits.is_empty() || !sc.skip_ws() {
        return Err(err());
    }
    let seq = digits.parse::<u32>().map_err(|_| err())?;
    let method = sc.token().ok_or_else(err)?;
    sc.skip_ws();
    if !sc.is_empty() {
        return Err(err());
    }
    Ok(CSeq { seq, method: Method::parse(method) })
}

impl Method {
    /// RFC 3261 §7.1: methods are case-sensitive tokens; anything we do not
    /// know becomes `Extension` (answered with 501 further up). The caller
    /// checks token syntax.
    pub fn parse(token: &str) -> Method {
        match token {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "REGISTER" => Method::Register,
            "OPTIONS" => Method::Options,
            "INFO" => Method::Info,
            "UPDATE" => Method::Update,
            "PRACK" => Method::Prack,
            "SUBSCRIBE" => Method::Subscribe,
            "NOTIFY" => Method::Notify,
            "REFER" => Method::Refer,
            "MESSAGE" => Method::Message,
            "PUBLISH" => Method::Publish,
            other => Method::Extension(other.to_string()),
        }
    }
}

/// True if `s` is a non-empty RFC 3261 token (method names, header names).
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_token_char)
}

/// Compact forms: RFC 3261 §7.3.3 (c e f i k l m s t v), RFC 3265 (o u),
/// RFC 3515 (r), RFC 3892 (b), RFC 4028 (x), RFC 4474 (y n), RFC 3841 (a j d).
/// The ones without a variant of their own map onto their long spelling.
const COMPACT_EXTENSIONS: &[(&str, &str)] = &[
    ("a", "Accept-Contact"),
    ("b", "Referred-By"),
    ("d", "Request-Disposition"),
    ("j", "Reject-Contact"),
    ("n", "Identity-Info"),
    ("u", "Allow-Events"),
    ("x", "Session-Expires"),
    ("y", "Identity"),
];

const KNOWN: &[(&str, HeaderName)] = &[
    ("Accept", HeaderName::Accept),
    ("Allow", HeaderName::Allow),
    ("Authorization", HeaderName::Authorization),
    ("Call-ID", HeaderName::CallId),
    ("Contact", HeaderName::Contact),
    ("Content-Encoding", HeaderName::ContentEncoding),
    ("Content-Length", HeaderName::ContentLength),
    ("Content-Type", HeaderName::ContentType),
    ("CSeq", HeaderName::CSeq),
    ("Event", HeaderName::Event),
    ("Expires", HeaderName::Expires),
    ("From", HeaderName::From),
    ("Max-Forwards", HeaderName::MaxForwards),
    ("Min-Expires", HeaderName::MinExpires),
    ("Proxy-Authenticate", HeaderName::ProxyAuthenticate),
    ("Proxy-Authorization", HeaderName::ProxyAuthorization),
    ("Proxy-Require", HeaderName::ProxyRequire),
    ("Record-Route", HeaderName::RecordRoute),
    ("Refer-To", HeaderName::ReferTo),
    ("Require", HeaderName::Require),
    ("Route", HeaderName::Route),
    ("Server", HeaderName::Server),
    ("Subject", HeaderName::Subject),
    ("Supported", HeaderName::Supported),
    ("To", HeaderName::To),
    ("Unsupported", HeaderName::Unsupported),
    ("User-Agent", HeaderName::UserAgent),
    ("Via", HeaderName::Via),
    ("WWW-Authenticate", HeaderName::WwwAuthenticate),
];

impl HeaderName {
    /// Canonical spelling (RFC 3261 §20) for known names, the original
    /// spelling for extensions.
    pub fn as_str(&self) -> &str {
        match self {
            HeaderName::Accept => "Accept",
            HeaderName::Allow => "Allow",
            HeaderName::Authorization => "Authorization",
            HeaderName::CallId => "Call-ID",
            HeaderName::Contact => "Contact",
            HeaderName::ContentEncoding => "Content-Encoding",
            HeaderName::ContentLength => "Content-Length",
            HeaderName::ContentType => "Content-Type",
            HeaderName::CSeq => "CSeq",
            HeaderName::Event => "Event",
            HeaderName::Expires => "Expires",
            HeaderName::From => "From",
            HeaderName::MaxForwards => "Max-Forwards",
            HeaderName::MinExpires => "Min-Expires",
            HeaderName::ProxyAuthenticate => "Proxy-Authenticate",
            HeaderName::ProxyAuthorization => "Proxy-Authorization",
            HeaderName::ProxyRequire => "Proxy-Require",
            HeaderName::RecordRoute => "Record-Route",
            HeaderName::ReferTo => "Refer-To",
            HeaderName::Require => "Require",
            HeaderName::Route => "Route",
            HeaderName::Server => "Server",
            HeaderName::Subject => "Subject",
            HeaderName::Supported => "Supported",
            HeaderName::To => "To",
            HeaderName::Unsupported => "Unsupported",
            HeaderName::UserAgent => "User-Agent",
            HeaderName::Via => "Via",
            HeaderName::WwwAuthenticate => "WWW-Authenticate",
            HeaderName::Extension(s) => s,
        }
    }

    /// Map a wire name case-insensitively (RFC 3261 §7.3.1), including
    /// compact forms. Header names are never unescaped: `C%6Fntact` is an
    /// extension header (RFC 4475 §3.1.1.5 esc02).
    pub fn parse(name: &str) -> HeaderName {
        if name.len() == 1 {
            let compact = match name.to_ascii_lowercase().as_str() {
                "c" => Some(HeaderName::ContentType),
                "e" => Some(HeaderName::ContentEncoding),
                "f" => Some(HeaderName::From),
                "i" => Some(HeaderName::CallId),
                "k" => Some(HeaderName::Supported),
                "l" => Some(HeaderName::ContentLength),
                "m" => Some(HeaderName::Contact),
                "o" => Some(HeaderName::Event),
                "r" => Some(HeaderName::ReferTo),
                "s" => Some(HeaderName::Subject),
                "t" => Some(HeaderName::To),
                "v" => Some(HeaderName::Via),
                _ => None,
            };
            if let Some(h) = compact {
                return h;
            }
            if let Some((_, long)) = COMPACT_EXTENSIONS.iter().find(|(c, _)| c.eq_ignore_ascii_case(name)) {
                return HeaderName::Extension((*long).to_string());
            }
        }
        KNOWN
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, h)| h.clone())
            .unwrap_or_else(|| HeaderName::Extension(name.to_string()))
    }
}

/// Header names compare case-insensitively (RFC 3261 §7.3.1), so an
/// `Extension("x-foo")` built by hand equals one parsed from `X-Foo`.
impl PartialEq for HeaderName {
    fn eq(&self, other: &Self) -> bool {
        self.as_str().eq_ignore_ascii_case(other.as_str())
    }
}
impl Eq for HeaderName {}

impl Hash for HeaderName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for b in self.as_str().bytes() {
            state.write_u8(b.to_ascii_lowercase());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::types::{Host, Uri};
    use super::*;

    #[test]
    fn header_names() {
        assert_eq!(HeaderName::parse("i"), HeaderName::CallId);
        assert_eq!(HeaderName::parse("L"), HeaderName::ContentLength);
        assert_eq!(HeaderName::parse("cAlL-iD"), HeaderName::CallId);
        assert_eq!(HeaderName::parse("www-authenticate").as_str(), "WWW-Authenticate");
        assert_eq!(HeaderName::parse("x").as_str(), "Session-Expires");
        assert_eq!(HeaderName::parse("X-Foo").as_str(), "X-Foo");
        assert_eq!(HeaderName::parse("x-foo"), HeaderName::Extension("X-FOO".into()));
        assert_ne!(HeaderName::parse("C%6Fntact"), HeaderName::Contact);
    }

    #[test]
    fn methods_are_case_sensitive() {
        assert_eq!(Method::parse("INVITE"), Method::Invite);
        assert_eq!(Method::parse("invite"), Method::Extension("invite".into()));
    }

    #[test]
    fn name_addr_forms() {
        let na = parse_name_addr("\"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n  ;\r\n  tag = 98asjd8").unwrap();
        assert_eq!(na.display_name.as_deref(), Some("J Rosenberg \\\""));
        assert_eq!(na.tag(), Some("98asjd8"));

        let na = parse_name_addr("caller<sip:caller@example.com>;tag=323").unwrap();
        assert_eq!(na.display_name.as_deref(), Some("caller"));

        // Bare addr-spec: params belong to the header (RFC 3261 §20.10).
        let na = parse_name_addr("sip:+1972@gw1.example.net;unknownparam").unwrap();
        assert_eq!(na.params, vec![Param { name: "unknownparam".into(), value: None }]);
        assert!(na.uri.as_sip().unwrap().params.is_empty());

        let na = parse_name_addr("<sip:+1972@gw1.example.net;unknownparam>").unwrap();
        assert!(na.params.is_empty());

        assert!(parse_name_addr("\"Mr. J. User <sip:j.user@example.com>").is_err());
        assert!(parse_name_addr("< sip:t.watson@example.org >").is_err());
        assert!(parse_name_addr("Bell, Alexander <sip:a.g.bell@example.com>").is_err());
        assert!(parse_name_addr("sip:user@example.com?Route=%3Csip:x%3E").is_err());
        assert!(parse_name_addr("<sip:x@y>;;").is_err());
        assert!(parse_name_addr("isbn:2983792873").is_ok());
    }

    #[test]
    fn lists_split_only_at_top_level_commas() {
        let l = parse_name_addr_list("\"a, b\" <sip:x@y>, <sip:z@w;lr>,sip:q@r").unwrap();
        assert_eq!(l.len(), 3);
        assert_eq!(l[0].display_name.as_deref(), Some("a, b"));
        assert_eq!(parse_contact_list(" * ").unwrap(), vec![Contact::Star]);
        assert!(parse_contact_list("*, <sip:a@b>").is_err());
        assert!(parse_contact_list("<sip:a@b>,").is_err());
    }

    #[test]
    fn via_with_lws_and_ipv6() {
        let v = parse_via_list(
            "SIP  / 2.0  / TCP     spindle.example.com   ;\r\n  branch  =   z9hG4bK9ikj8  ,\r\n SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n z9hG4bK30239",
        )
        .unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].protocol, "SIP/2.0");
        assert_eq!(v[0].transport, "TCP");
        assert_eq!(v[0].branch(), Some("z9hG4bK9ikj8"));
        assert_eq!(v[1].branch(), Some("z9hG4bK30239"));
        let v = parse_via_list("SIP/2.0/tls [2001:db8::9]:5061;received=2001:db8::9;rport").unwrap();
        assert_eq!(v[0].host, Host::V6("2001:db8::9".parse().unwrap()));
        assert_eq!(v[0].port, Some(5061));
        assert_eq!(v[0].transport, "TLS");
        assert!(parse_via_list("SIP/2.0/UDP 192.0.2.15;;,;,,").is_err());
        assert!(parse_via_list("SIP/2.0/UDP").is_err());
        assert!(parse_via_list("SIP/2.0/UDP host:70000").is_err());
    }

    #[test]
    fn cseq() {
        let c = parse_cseq("0009\r\n  INVITE").unwrap();
        assert_eq!((c.seq, c.method), (9, Method::Invite));
        assert_eq!(parse_cseq("4294967295 BYE").unwrap().seq, u32::MAX);
        assert!(parse_cseq("4294967296 BYE").is_err());
        assert!(parse_cseq("36893488147419103232 REGISTER").is_err());
        assert!(parse_cseq("1INVITE").is_err());
        assert!(parse_cseq("1 INVITE x").is_err());
        assert!(parse_cseq("INVITE").is_err());
    }

    #[test]
    fn tel_in_name_addr() {
        let na = parse_name_addr("<tel:+15551234>").unwrap();
        assert!(matches!(na.uri, Uri::Other { .. }));
    }
}
