//! SDP errors.
//!
//! Owns: the one error type of the `sdp` module. Must not touch: SIP status codes (the call layer
//! maps these to 400 or 488), sockets.
//!
//! The `Display` text of every variant is built only from static strings and numbers, never from
//! the input, so it is safe to put straight into a SIP reason phrase (no CR/LF injection, bounded
//! length).

use thiserror::Error;

/// Why an SDP body was rejected, or why a rewrite could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SdpError {
    /// The body was empty (or only blank lines).
    #[error("empty SDP body")]
    Empty,
    /// The body is longer than [`crate::sdp::MAX_SDP_LEN`]; we refuse to parse it at all.
    #[error("SDP body too large ({len} bytes)")]
    TooLarge { len: usize },
    /// A line is not valid UTF-8 (RFC 4566 §5: text defaults to UTF-8).
    #[error("SDP line {line} is not valid UTF-8")]
    InvalidUtf8 { line: usize },
    /// A line is not `<lowercase letter>=<value>` or contains a forbidden control character
    /// (RFC 4566 §5).
    #[error("SDP line {line} is malformed")]
    MalformedLine { line: usize },
    /// The first line is not `v=` (RFC 4566 §5: the description starts with v=).
    #[error("SDP does not start with v=")]
    VersionNotFirst,
    /// `v=` is not `0`, the only version defined (RFC 4566 §5.1).
    #[error("unsupported SDP version on line {line}")]
    UnsupportedVersion { line: usize },
    /// A mandatory session line (`o=`, `s=`, `t=`) is absent.
    #[error("SDP is missing the mandatory {kind}= line")]
    Missing { kind: char },
    /// A line that may appear once per section appeared twice.
    #[error("duplicate {kind}= line at SDP line {line}")]
    Duplicate { line: usize, kind: char },
    /// A line appeared where RFC 4566 §5 does not allow it (e.g. `t=` inside a media section,
    /// `r=` before any `t=`).
    #[error("{kind}= line not allowed at SDP line {line}")]
    Misplaced { line: usize, kind: char },
    /// A structured line (`o=`, `c=`, `m=`, `t=`, `b=`) has the wrong number or shape of fields.
    #[error("invalid {kind}= line at SDP line {line}")]
    InvalidField { line: usize, kind: char },
    /// A numeric field is not all digits or overflows its type (ports are at most 65535).
    #[error("invalid number in {kind}= line at SDP line {line}")]
    InvalidNumber { line: usize, kind: char },
    /// A media section has no `c=` and there is no session-level `c=` (RFC 4566 §5.7).
    #[error("media section {media} has no connection address")]
    MissingConnection { media: usize },
    /// A rewrite referred to a media section that does not exist.
    #[error("no media section {index}")]
    NoSuchMedia { index: usize },
}
