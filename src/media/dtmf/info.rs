//! DTMF carried in SIP INFO bodies (RFC 6086 INFO framework; the bodies are de-facto formats).
//!
//! Owns: parsing `application/dtmf-relay` (`Signal=5` / `Duration=160` lines, duration in ms)
//! and `application/dtmf` (the bare key, e.g. `5`). Must not touch: the SIP message or its
//! response (the call layer answers 200, or 415 for `UnsupportedContentType`).

use thiserror::Error;

use super::event::Digit;

/// A key from an INFO body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InfoDigit {
    pub digit: Digit,
    /// `Duration=` of dtmf-relay, milliseconds; `None` when absent (and always for
    /// application/dtmf, which has no duration).
    pub duration_ms: Option<u32>,
}

/// Why an INFO body gave no digit.
#[derive(Debug, Error, PartialEq, Eq, Clone, Copy)]
pub enum InfoError {
    /// Neither application/dtmf-relay nor application/dtmf (answer 415).
    #[error("unsupported INFO content type for DTMF")]
    UnsupportedContentType,
    /// Body is not text.
    #[error("INFO body is not UTF-8")]
    NotText,
    /// dtmf-relay body without a `Signal=` line, or an empty application/dtmf body.
    #[error("INFO body has no signal")]
    MissingSignal,
    /// The signal is not one of 0–9, *, #, A–D.
    #[error("INFO signal is not a DTMF key")]
    InvalidSignal,
    /// `Duration=` is not a non-negative integer.
    #[error("INFO duration is not a number")]
    InvalidDuration,
}

/// Parses an INFO body given its Content-Type header value (parameters and case ignored).
pub fn parse_info(content_type: &str, body: &[u8]) -> Result<InfoDigit, InfoError> {
    let media = content_type.split(';').next().unwrap_or("").trim();
    let body = std::str::from_utf8(body).map_err(|_| InfoError::NotText)?;
    if media.eq_ignore_ascii_case("application/dtmf-relay") {
        parse_relay(body)
    } else if media.eq_ignore_ascii_case("application/dtmf") {
        Ok(InfoDigit {
            digit: parse_key(body.trim())?,
            duration_ms: None,
        })
    } else {
        Err(InfoError::UnsupportedContentType)
    }
}

fn parse_key(s: &str) -> Result<Digit, InfoError> {
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (None, _) => Err(InfoError::MissingSignal),
        (Some(c), None) => Digit::from_char(c).ok_or(InfoError::InvalidSignal),
        _ => Err(InfoError::InvalidSignal),
    }
}

/// `Signal=5\r\nDuration=160\r\n`: one `key=value` per line (CRLF or LF), keys
/// case-insensitive, whitespace around keys and values ignored, unknown keys skipped.
fn parse_relay(body: &str) -> Result<InfoDigit, InfoError> {
    let mut digit = None;
    let mut duration_ms = None;
    for line in body.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if key.eq_ignore_ascii_case("signal") {
            digit = Some(parse_key(value)?);
        } else if key.eq_ignore_ascii_case("duration") {
            duration_ms = Some(
                value
                    .parse::<u32>()
                    .map_err(|_| InfoError::InvalidDuration)?,
            );
        }
    }
    Ok(InfoDigit {
        digit: digit.ok_or(InfoError::MissingSignal)?,
        duration_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtmf_relay_bodies() {
        let d = parse_info("application/dtmf-relay", b"Signal=5\r\nDuration=160\r\n").unwrap();
        assert_eq!(
            d,
            InfoDigit {
                digit: Digit::D5,
                duration_ms: Some(160)
            }
        );
        let d = parse_info(
            "Application/DTMF-Relay; charset=x",
            b"  signal = #\nDURATION= 250",
        )
        .unwrap();
        assert_eq!(
            d,
            InfoDigit {
                digit: Digit::Hash,
                duration_ms: Some(250)
            }
        );
        let d = parse_info("application/dtmf-relay", b"Signal=a\r\n").unwrap();
        assert_eq!(
            d,
            InfoDigit {
                digit: Digit::A,
                duration_ms: None
            }
        );
    }

    #[test]
    fn dtmf_bodies() {
        assert_eq!(
            parse_info("application/dtmf", b" *\r\n").unwrap().digit,
            Digit::Star
        );
        assert_eq!(
            parse_info("APPLICATION/DTMF", b"9").unwrap().digit,
            Digit::D9
        );
    }

    #[test]
    fn typed_errors() {
        assert_eq!(
            parse_info("text/plain", b"5"),
            Err(InfoError::UnsupportedContentType)
        );
        assert_eq!(
            parse_info("application/dtmf", b""),
            Err(InfoError::MissingSignal)
        );
        assert_eq!(
            parse_info("application/dtmf", b"12"),
            Err(InfoError::InvalidSignal)
        );
        assert_eq!(
            parse_info("application/dtmf", &[0xff]),
            Err(InfoError::NotText)
        );
        assert_eq!(
            parse_info("application/dtmf-relay", b"Duration=1"),
            Err(InfoError::MissingSignal)
        );
        assert_eq!(
            parse_info("application/dtmf-relay", b"Signal=E"),
            Err(InfoError::InvalidSignal)
        );
        assert_eq!(
            parse_info("application/dtmf-relay", b"Signal=1\nDuration=-5"),
            Err(InfoError::InvalidDuration)
        );
    }
}
