//! Parse errors that know the status a server should answer with.

/// Whether the bytes were not SIP at all, or SIP that cannot be acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The grammar of RFC 3261 §25 is violated (bad start line, bad header syntax).
    Syntax,
    /// Well-formed but unusable: missing mandatory header, bad Content-Length,
    /// CSeq method mismatch, unsupported version.
    Semantic,
    /// Larger than `MAX_MESSAGE_SIZE`.
    TooLarge,
}

/// A message could not be parsed. `status` and `reason` are what a server
/// answers a request with; malformed responses are simply dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} ({status})")]
pub struct ParseError {
    pub kind: ErrorKind,
    pub status: u16,
    pub reason: String,
}

impl ParseError {
    pub fn syntax(reason: impl Into<String>) -> Self {
        ParseError { kind: ErrorKind::Syntax, status: 400, reason: reason.into() }
    }
    pub fn semantic(reason: impl Into<String>) -> Self {
        ParseError { kind: ErrorKind::Semantic, status: 400, reason: reason.into() }
    }
}

impl ParseError {
    /// 513: the message exceeds `MAX_MESSAGE_SIZE` (RFC 3261 §21.5.11).
    pub fn too_large() -> Self {
        ParseError { kind: ErrorKind::TooLarge, status: 513, reason: "Message Too Large".into() }
    }
    /// 505: a SIP version other than 2.0 (RFC 3261 §21.5.7, RFC 4475 §3.1.2.16).
    pub fn version_not_supported() -> Self {
        ParseError { kind: ErrorKind::Semantic, status: 505, reason: "Version Not Supported".into() }
    }
    /// 416: Request-URI scheme we cannot serve (RFC 3261 §8.2.2.1, RFC 4475 §3.3.2).
    pub fn unsupported_uri_scheme() -> Self {
        ParseError { kind: ErrorKind::Semantic, status: 416, reason: "Unsupported URI Scheme".into() }
    }
}
