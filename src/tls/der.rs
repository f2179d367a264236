//! A minimal DER reader (X.690): tag, length, value, for the few X.509
//! fields the appliance shows (`x509`). Refuses what DER forbids or the
//! certificates it reads never use (indefinite lengths, high tag numbers,
//! lengths over 4 bytes) instead of guessing. Never panics on input.

/// Why DER bytes could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DerError {
    #[error("truncated DER data")]
    Truncated,
    #[error("unsupported DER length encoding")]
    Length,
    #[error("unsupported DER tag 0x{0:02x}")]
    Tag(u8),
    #[error("expected DER tag 0x{expected:02x}, found 0x{found:02x}")]
    Unexpected { expected: u8, found: u8 },
    #[error("malformed {0}")]
    Malformed(&'static str),
}

/// One element: its tag byte, its contents and its whole encoding.
#[derive(Debug, Clone, Copy)]
pub struct Tlv<'a> {
    pub tag: u8,
    pub body: &'a [u8],
    pub raw: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// A reader over this (constructed) element's contents.
    pub fn reader(&self) -> Reader<'a> {
        Reader::new(self.body)
    }
}

/// Reads elements one after another from a byte slice.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
}

pub const BOOLEAN: u8 = 0x01;
pub const INTEGER: u8 = 0x02;
pub const OCTET_STRING: u8 = 0x04;
pub const OID: u8 = 0x06;
pub const SEQUENCE: u8 = 0x30;
pub const SET: u8 = 0x31;
pub const UTC_TIME: u8 = 0x17;
pub const GENERALIZED_TIME: u8 = 0x18;

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Reader<'a> {
        Reader { data }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The tag of the next element, without reading it.
    pub fn peek_tag(&self) -> Option<u8> {
        self.data.first().copied()
    }

    pub fn next(&mut self) -> Result<Tlv<'a>, DerError> {
        let tag = *self.data.first().ok_or(DerError::Truncated)?;
        if tag & 0x1f == 0x1f {
            return Err(DerError::Tag(tag));
        }
        let first = *self.data.get(1).ok_or(DerError::Truncated)?;
        let (len, head) = if first < 0x80 {
            (usize::from(first), 2)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 {
                return Err(DerError::Length);
            }
            let bytes = self.data.get(2..2 + n).ok_or(DerError::Truncated)?;
            (bytes.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b)), 2 + n)
        };
        let end = head.checked_add(len).ok_or(DerError::Length)?;
        let raw = self.data.get(..end).ok_or(DerError::Truncated)?;
        let body = raw.get(head..).ok_or(DerError::Truncated)?;
        self.data = self.data.get(end..).unwrap_or(&[]);
        Ok(Tlv { tag, body, raw })
    }

    /// The next element, which must have tag `tag`.
    pub fn expect(&mut self, tag: u8) -> Result<Tlv<'a>, DerError> {
        let t = self.next()?;
        if t.tag != tag {
            return Err(DerError::Unexpected { expected: tag, found: t.tag });
        }
        Ok(t)
    }

    /// The next element if it has tag `tag`; nothing is read otherwise.
    pub fn optional(&mut self, tag: u8) -> Result<Option<Tlv<'a>>, DerError> {
        if self.peek_tag() == Some(tag) {
            self.next().map(Some)
        } else {
            Ok(None)
        }
    }
}

/// An OBJECT IDENTIFIER's contents in dotted form ("2.5.4.3").
pub fn oid_string(body: &[u8]) -> Result<String, DerError> {
    let mut arcs: Vec<u64> = Vec::new();
    let mut value: u64 = 0;
    for (i, b) in body.iter().enumerate() {
        if value > (u64::MAX >> 7) {
            return Err(DerError::Malformed("object identifier"));
        }
        value = (value << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (value / 40).min(2);
                arcs.push(first);
                arcs.push(value - first * 40);
            } else {
                arcs.push(value);
            }
            value = 0;
        } else if i + 1 == body.len() {
            return Err(DerError::Malformed("object identifier"));
        }
    }
    if arcs.is_empty() {
        return Err(DerError::Malformed("object identifier"));
    }
    Ok(arcs.iter().map(|a| a.to_string()).collect::<Vec<_>>().join("."))
}

/// A UTCTime or GeneralizedTime (UTC, "Z", whole seconds) as Unix seconds.
pub fn time(t: &Tlv<'_>) -> Result<i64, DerError> {
    // ASCII only, so the slicing below stays on character boundaries.
    if !t.body.is_ascii() {
        return Err(DerError::Malformed("time"));
    }
    let s = std::str::from_utf8(t.body).map_err(|_| DerError::Malformed("time"))?;
    let digits = s.strip_suffix('Z').ok_or(DerError::Malformed("time (not UTC)"))?;
    let (year, rest) = match t.tag {
        UTC_TIME if digits.len() == 12 => {
            let yy: i64 = num(&digits[..2])?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, &digits[2..])
        }
        GENERALIZED_TIME if digits.len() == 14 => (num(&digits[..4])?, &digits[4..]),
        _ => return Err(DerError::Malformed("time")),
    };
    let (month, day, h, m, sec) = (num(&rest[0..2])?, num(&rest[2..4])?, num(&rest[4..6])?, num(&rest[6..8])?, num(&rest[8..10])?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 {
        return Err(DerError::Malformed("time"));
    }
    Ok(days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + sec)
}

fn num(s: &str) -> Result<i64, DerError> {
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DerError::Malformed("time"));
    }
    s.parse().map_err(|_| DerError::Malformed("time"))
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_short_long_and_refused() {
        let mut r = Reader::new(&[0x04, 0x02, 0xaa, 0xbb, 0x04, 0x81, 0x01, 0xcc]);
        assert_eq!(r.next().unwrap().body, &[0xaa, 0xbb]);
        let t = r.expect(OCTET_STRING).unwrap();
        assert_eq!((t.body, t.raw.len()), (&[0xcc][..], 4));
        assert!(r.is_empty());
        assert_eq!(Reader::new(&[0x30, 0x80, 0, 0]).next().unwrap_err(), DerError::Length);
        assert_eq!(Reader::new(&[0x30, 0x05, 1]).next().unwrap_err(), DerError::Truncated);
        assert_eq!(Reader::new(&[0x30]).next().unwrap_err(), DerError::Truncated);
        assert_eq!(Reader::new(&[0x1f, 0x01, 0]).next().unwrap_err(), DerError::Tag(0x1f));
        assert_eq!(Reader::new(&[0x30, 0x85, 1, 1, 1, 1, 1]).next().unwrap_err(), DerError::Length);
        assert!(matches!(Reader::new(&[0x02, 0x00]).expect(SEQUENCE), Err(DerError::Unexpected { .. })));
    }

    #[test]
    fn oids_and_times() {
        assert_eq!(oid_string(&[0x55, 0x04, 0x03]).unwrap(), "2.5.4.3");
        assert_eq!(oid_string(&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]).unwrap(), "1.2.840.10045.2.1");
        assert!(oid_string(&[0x86]).is_err() && oid_string(&[]).is_err());
        let utc = Tlv { tag: UTC_TIME, body: b"261126185312Z", raw: &[] };
        assert_eq!(time(&utc).unwrap(), 1_795_719_192);
        let gen = Tlv { tag: GENERALIZED_TIME, body: b"21261102185312Z", raw: &[] };
        assert_eq!(time(&gen).unwrap(), 4_949_319_192);
        let old = Tlv { tag: UTC_TIME, body: b"700101000000Z", raw: &[] };
        assert_eq!(time(&old).unwrap(), 0);
        for bad in [&b"2611261853Z"[..], b"261326185312Z", b"26112618531xZ", b"261126185312+0100", "2\u{e9}112618531Z".as_bytes()] {
            assert!(time(&Tlv { tag: UTC_TIME, body: bad, raw: &[] }).is_err(), "{bad:?}");
        }
    }
}
