//! A cursor over header text plus the character classes of RFC 3261 §25.1.
//! Owns nothing but lexing helpers shared by the URI and header grammars; it
//! never allocates except when unescaping, and never indexes out of bounds
//! (every slice goes through `str::get`).

use super::error::ParseError;

/// Char-wise cursor. Positions always sit on char boundaries because we only
/// ever advance by `char::len_utf8`.
pub(crate) struct Scanner<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Scanner<'a> {
    pub(crate) fn new(s: &'a str) -> Self {
        Scanner { s, pos: 0 }
    }
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }
    pub(crate) fn reset(&mut self, pos: usize) {
        self.pos = pos;
    }
    pub(crate) fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or("")
    }
    /// Text between two positions previously returned by `pos()`.
    pub(crate) fn slice(&self, from: usize, to: usize) -> &'a str {
        self.s.get(from..to).unwrap_or("")
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.rest().is_empty()
    }
    pub(crate) fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }
    pub(crate) fn next_char(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }
    /// Consume `c` if it is next.
    pub(crate) fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }
    /// Skip linear white space. Values handed to us are normally unfolded
    /// already, but CR/LF are tolerated so callers can pass raw folded text
    /// (RFC 3261 §7.3.1 LWS). Returns whether anything was skipped.
    pub(crate) fn skip_ws(&mut self) -> bool {
        let start = self.pos;
        while matches!(self.peek(), Some(' ' | '\t' | '\r' | '\n')) {
            self.pos += 1;
        }
        self.pos != start
    }
    pub(crate) fn take_while(&mut self, f: impl Fn(char) -> bool) -> &'a str {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if !f(c) {
                break;
            }
            self.pos += c.len_utf8();
        }
        self.slice(start, self.pos)
    }
    /// RFC 3261 §25.1 token, at least one char.
    pub(crate) fn token(&mut self) -> Option<&'a str> {
        let t = self.take_while(is_token_char);
        if t.is_empty() {
            None
        } else {
            Some(t)
        }
    }
    /// RFC 3261 §25.1 quoted-string starting at a `"`. Returns the raw text
    /// (with quotes, escapes intact) and the unescaped content. Raw CR/LF or
    /// control characters are refused; a missing closing quote is an error
    /// (RFC 4475 §3.1.2.6 quotbal).
    pub(crate) fn quoted_string(&mut self) -> Option<(&'a str, String)> {
        let start = self.pos;
        if !self.eat('"') {
            return None;
        }
        let mut out = String::new();
        loop {
            match self.next_char() {
                None => return None,
                Some('"') => break,
                Some('\\') => match self.next_char() {
                    // quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F); we also
                    // let non-ASCII through, refusing only what would break lines.
                    Some('\r' | '\n') | None => return None,
                    Some(c) => out.push(c),
                },
                Some(c) if c == '\t' => out.push(c),
                Some(c) if (c as u32) < 0x20 || c == '\u{7f}' => return None,
                Some(c) => out.push(c),
            }
        }
        Some((self.slice(start, self.pos), out))
    }
}

/// RFC 3261 §25.1 token characters.
pub(crate) fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c)
}

/// RFC 3261 §25.1 unreserved = alphanum / mark.
pub(crate) fn is_unreserved(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_.!~*'()".contains(c)
}

/// RFC 3261 §25.1 user-unreserved, allowed raw in the user part.
pub(crate) fn is_user_char(c: char) -> bool {
    is_unreserved(c) || "&=+$,;?/".contains(c)
}

/// RFC 3261 §25.1 password characters (besides escapes).
pub(crate) fn is_password_char(c: char) -> bool {
    is_unreserved(c) || "&=+$,".contains(c)
}

/// RFC 3261 §25.1 paramchar (besides escapes).
pub(crate) fn is_param_char(c: char) -> bool {
    is_unreserved(c) || "[]/:&+$".contains(c)
}

/// RFC 3261 §25.1 hname / hvalue characters (besides escapes).
pub(crate) fn is_hnv_char(c: char) -> bool {
    is_unreserved(c) || "[]/?:+$".contains(c)
}

/// RFC 3261 §25.1 word (Call-ID).
pub(crate) fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-.!%*_+`'~()<>:\\\"/[]?{}".contains(c)
}

/// RFC 2396 uric plus `[]` (RFC 2732), used for URIs of schemes we do not
/// interpret so they can at least be carried safely.
pub(crate) fn is_uric(c: char) -> bool {
    is_unreserved(c) || ";/?:@&=+$,[]%#".contains(c)
}

/// Characters of a generic header parameter value that is not quoted:
/// token plus what a host (IPv6 reference) needs (RFC 3261 §25.1 gen-value).
pub(crate) fn is_gen_value_char(c: char) -> bool {
    is_token_char(c) || "[]:".contains(c)
}

/// RFC 3261 §19.1.2: decode `%XX` escapes; every raw char must satisfy
/// `allowed`. Octets that do not form UTF-8 are replaced (U+FFFD): our model
/// keeps text, and a replacement is stable across re-serialization.
pub(crate) fn unescape(s: &str, allowed: fn(char) -> bool) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = bytes.get(i + 1).and_then(|h| (*h as char).to_digit(16))?;
            let lo = bytes.get(i + 2).and_then(|h| (*h as char).to_digit(16))?;
            // hi, lo < 16 so this fits a byte.
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else if b.is_ascii() && allowed(b as char) {
            out.push(b);
            i += 1;
        } else {
            return None;
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Inverse of `unescape`: every octet outside `allowed` becomes `%XX`.
pub(crate) fn escape(s: &str, allowed: fn(char) -> bool, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in s.bytes() {
        if b.is_ascii() && allowed(b as char) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 0x0f) as usize] as char);
        }
    }
}

/// Shorthand for the 400 every grammar failure maps to.
pub(crate) fn malformed(what: &str) -> ParseError {
    ParseError::syntax(format!("Bad Request - Malformed {what}"))
}
