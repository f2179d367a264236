//! Owns the syntax of digest header values: `Digest name=value, ...` for
//! challenges and credentials (RFC 3261 §25.1 `challenge`/`credentials`,
//! RFC 7616 §3.3/§3.4, RFC 7230 §3.2.6 quoted-string), and quoting on the way
//! out. Must not touch hashing, nonces or any policy: it only turns text into
//! name/value pairs and back.
//!
//! The input is an untrusted header value, so the parser is total (never
//! panics, never indexes by computed offsets), bounded (length and parameter
//! count), and strict where leniency would be ambiguous (duplicate parameters
//! are refused rather than "first wins" or "last wins", because two parsers
//! disagreeing on which one counts is a classic auth bypass).

use super::error::AuthError;

/// Longest header value we are willing to parse. Real credentials are a few
/// hundred bytes; 8 KiB leaves room for long Request-URIs.
const MAX_VALUE_LEN: usize = 8 * 1024;

/// Most parameters we accept; RFC 7616 defines about a dozen.
const MAX_PARAMS: usize = 32;

/// One `name=value` pair. `name` is lowercased (parameter names are
/// case-insensitive, RFC 7616 §3.3); `value` has quotes and escapes removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Param {
    pub name: String,
    pub value: String,
    /// Whether the value arrived as a quoted-string. Kept for diagnostics and
    /// for tests; RFC 7616 asks for specific quoting but real SIP phones vary,
    /// so we do not enforce it.
    pub quoted: bool,
}

/// The parameters of a `Digest` challenge or credentials value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DigestParams {
    params: Vec<Param>,
}

impl DigestParams {
    /// The value of `name` (lowercase), if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value.as_str())
    }

    /// The value of `name`, or `MissingParam(name)`.
    pub fn require(&self, name: &'static str) -> Result<&str, AuthError> {
        self.get(name).ok_or(AuthError::MissingParam(name))
    }

    #[cfg(test)]
    pub fn params(&self) -> &[Param] {
        &self.params
    }
}

/// Parses `Digest k=v, k="v", ...`. The scheme is matched
/// case-insensitively; anything else yields `NotDigest`.
pub(crate) fn parse_digest(value: &str) -> Result<DigestParams, AuthError> {
    if value.len() > MAX_VALUE_LEN {
        return Err(AuthError::Malformed("header value too long"));
    }
    let mut cur = Cursor { s: value, pos: 0 };
    cur.skip_ws();
    let scheme = cur.take_while(is_token_char);
    if scheme.is_empty() {
        return Err(AuthError::Malformed("missing auth scheme"));
    }
    if !scheme.eq_ignore_ascii_case("Digest") {
        return Err(AuthError::NotDigest);
    }
    // RFC 7235 §2.1: the scheme and its parameters are separated by
    // whitespace; "Digestrealm=..." would otherwise read as one token.
    if cur.peek().is_some_and(|c| !is_ws(c)) {
        return Err(AuthError::Malformed("expected whitespace after scheme"));
    }

    let mut params: Vec<Param> = Vec::new();
    loop {
        // Empty list elements (",,") are allowed by RFC 7230 §7 list syntax.
        cur.skip_while(|c| is_ws(c) || c == ',');
        if cur.at_end() {
            break;
        }
        let name = cur.take_while(is_token_char);
        if name.is_empty() {
            return Err(AuthError::Malformed("expected parameter name"));
        }
        cur.skip_ws();
        if cur.bump() != Some('=') {
            return Err(AuthError::Malformed("expected `=` after parameter name"));
        }
        cur.skip_ws();
        let (value, quoted) = if cur.peek() == Some('"') {
            cur.bump();
            (cur.quoted_string()?, true)
        } else {
            let bare = cur.take_while(is_bare_value_char);
            if bare.is_empty() {
                return Err(AuthError::Malformed("empty parameter value"));
            }
            (bare.to_owned(), false)
        };
        cur.skip_ws();
        match cur.peek() {
            None | Some(',') => {}
            Some(_) => return Err(AuthError::Malformed("expected `,` between parameters")),
        }

        let name = name.to_ascii_lowercase();
        if params.iter().any(|p| p.name == name) {
            return Err(AuthError::Malformed("duplicate parameter"));
        }
        if params.len() == MAX_PARAMS {
            return Err(AuthError::Malformed("too many parameters"));
        }
        params.push(Param {
            name,
            value,
            quoted,
        });
    }
    Ok(DigestParams { params })
}

/// Renders `s` as a quoted-string, escaping `"` and `\` (RFC 3261 §25.1
/// quoted-pair). Control characters are dropped rather than escaped: a CR or
/// LF must never reach a header line, and no valid digest field contains one.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if is_ctl(c) {
            continue;
        }
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Splits a quoted list such as `qop="auth, auth-int"` into trimmed items.
pub(crate) fn split_list(value: &str) -> impl Iterator<Item = &str> {
    value
        .split(',')
        .map(|s| s.trim_matches(is_ws))
        .filter(|s| !s.is_empty())
}

/// A read position in the input. `pos` only ever advances by whole chars,
/// so every slice taken from it is on a char boundary.
struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn at_end(&self) -> bool {
        self.rest().is_empty()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn take_while(&mut self, pred: impl Fn(char) -> bool) -> &'a str {
        let rest = self.rest();
        let len = rest.find(|c: char| !pred(c)).unwrap_or(rest.len());
        self.pos += len;
        rest.get(..len).unwrap_or("")
    }

    fn skip_while(&mut self, pred: impl Fn(char) -> bool) {
        self.take_while(pred);
    }

    fn skip_ws(&mut self) {
        self.skip_while(is_ws);
    }

    /// Reads the body of a quoted-string after its opening quote, through
    /// the closing quote, resolving `\x` escapes.
    fn quoted_string(&mut self) -> Result<String, AuthError> {
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Err(AuthError::Malformed("unterminated quoted string")),
                Some('"') => return Ok(out),
                Some('\\') => match self.bump() {
                    Some(c) if !is_ctl(c) => out.push(c),
                    _ => return Err(AuthError::Malformed("bad escape in quoted string")),
                },
                Some(c) if is_ctl(c) && c != '\t' => {
                    return Err(AuthError::Malformed("control character in quoted string"));
                }
                Some(c) => out.push(c),
            }
        }
    }
}

/// Linear whitespace. CR/LF are included because callers may hand us a
/// value that still carries header folding (RFC 3261 §7.3.1).
fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_ctl(c: char) -> bool {
    c < ' ' || c == '\u{7f}'
}

/// RFC 3261 §25.1 `token`.
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '-' | '.' | '!' | '%' | '*' | '_' | '+' | '`' | '\'' | '~'
        )
}

/// Unquoted values: RFC 7616 wants tokens, but phones send things like
/// `uri=sip:1000@pbx` or base64 nonces unquoted, so we accept any visible
/// character that cannot end the value.
fn is_bare_value_char(c: char) -> bool {
    !is_ws(c) && !is_ctl(c) && c != ',' && c != '"'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(p: &DigestParams, n: &str) -> Option<String> {
        p.get(n).map(str::to_owned)
    }

    #[test]
    fn parses_mixed_quoting_case_and_whitespace() {
        let p = parse_digest(
            "dIgEsT  Username=\"bob\",REALM = \"a, b\" ,\tnc=00000001,\r\n qop=auth, uri=sip:1000@pbx.example",
        )
        .unwrap();
        assert_eq!(get(&p, "username").as_deref(), Some("bob"));
        assert_eq!(get(&p, "realm").as_deref(), Some("a, b"));
        assert_eq!(get(&p, "nc").as_deref(), Some("00000001"));
        assert_eq!(get(&p, "qop").as_deref(), Some("auth"));
        assert_eq!(get(&p, "uri").as_deref(), Some("sip:1000@pbx.example"));
        assert!(p.params()[1].quoted);
        assert!(!p.params()[2].quoted);
    }

    #[test]
    fn resolves_escapes() {
        let p = parse_digest(r#"Digest username="a\"b\\c\d""#).unwrap();
        assert_eq!(get(&p, "username").as_deref(), Some("a\"b\\cd"));
    }

    #[test]
    fn quote_round_trips() {
        for s in [
            "plain",
            "with \"quotes\"",
            "back\\slash",
            "comma, inside",
            "ünïcode",
        ] {
            let header = format!("Digest username={}", quote(s));
            assert_eq!(
                get(&parse_digest(&header).unwrap(), "username").as_deref(),
                Some(s)
            );
        }
        assert_eq!(quote("a\r\nb"), "\"ab\"");
    }

    #[test]
    fn empty_elements_and_trailing_comma_ok() {
        let p = parse_digest("Digest ,, a=1 ,, b=\"2\",").unwrap();
        assert_eq!(p.params().len(), 2);
        assert_eq!(parse_digest("Digest").unwrap().params().len(), 0);
    }

    #[test]
    fn rejects() {
        use AuthError::*;
        assert_eq!(parse_digest("Basic QWxhZGRpbg=="), Err(NotDigest));
        assert!(matches!(parse_digest(""), Err(Malformed(_))));
        assert_eq!(parse_digest("Digestrealm=x"), Err(NotDigest));
        assert!(matches!(
            parse_digest("Digest\"realm\"=x"),
            Err(Malformed(_))
        ));
        assert!(matches!(parse_digest("Digest realm"), Err(Malformed(_))));
        assert!(matches!(parse_digest("Digest realm="), Err(Malformed(_))));
        assert!(matches!(
            parse_digest("Digest realm=\"x"),
            Err(Malformed(_))
        ));
        assert!(matches!(
            parse_digest("Digest realm=\"x\\"),
            Err(Malformed(_))
        ));
        assert!(matches!(
            parse_digest("Digest realm=\"x\" y=1"),
            Err(Malformed(_))
        ));
        assert!(matches!(
            parse_digest("Digest realm=a, REALM=b"),
            Err(Malformed(_))
        ));
        assert!(matches!(
            parse_digest("Digest realm=\"a\nb\""),
            Err(Malformed(_))
        ));
        assert!(matches!(parse_digest("Digest =x"), Err(Malformed(_))));
        let many: Vec<String> = (0..40).map(|i| format!("p{i}=1")).collect();
        assert!(matches!(
            parse_digest(&format!("Digest {}", many.join(","))),
            Err(Malformed(_))
        ));
        assert!(matches!(
            parse_digest(&"x".repeat(MAX_VALUE_LEN + 1)),
            Err(Malformed(_))
        ));
    }

    #[test]
    fn split_list_trims() {
        assert_eq!(
            split_list(" auth ,auth-int,, ").collect::<Vec<_>>(),
            ["auth", "auth-int"]
        );
    }
}
