//! The digit vocabulary shared by the three DTMF sources and the merger.
//!
//! Owns: `Digit` (the 16 DTMF keys and their RFC 4733 event codes), `DtmfSource`, `DtmfEvent`.
//! Must not touch: parsing, signal processing, timing policy (those live in the sibling files).

/// One of the 16 DTMF keys (ITU-T Q.23 §2: 4 × 4 matrix of a low-group and a high-group tone).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Digit {
    D0,
    D1,
    D2,
    D3,
    D4,
    D5,
    D6,
    D7,
    D8,
    D9,
    Star,
    Hash,
    A,
    B,
    C,
    D,
}

/// Keys in RFC 4733 §3.2 event-code order (0–9, *, #, A–D = codes 0–15).
const BY_CODE: [Digit; 16] = [
    Digit::D0,
    Digit::D1,
    Digit::D2,
    Digit::D3,
    Digit::D4,
    Digit::D5,
    Digit::D6,
    Digit::D7,
    Digit::D8,
    Digit::D9,
    Digit::Star,
    Digit::Hash,
    Digit::A,
    Digit::B,
    Digit::C,
    Digit::D,
];

const CHARS: [char; 16] = [
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#', 'A', 'B', 'C', 'D',
];

/// Q.23 keypad layout, row-major: `KEYPAD[row][col]` is the key sounding low-group tone `row`
/// (697, 770, 852, 941 Hz) together with high-group tone `col` (1209, 1336, 1477, 1633 Hz).
pub(crate) const KEYPAD: [[Digit; 4]; 4] = [
    [Digit::D1, Digit::D2, Digit::D3, Digit::A],
    [Digit::D4, Digit::D5, Digit::D6, Digit::B],
    [Digit::D7, Digit::D8, Digit::D9, Digit::C],
    [Digit::Star, Digit::D0, Digit::Hash, Digit::D],
];

impl Digit {
    /// All 16 keys in event-code order.
    pub const ALL: [Digit; 16] = BY_CODE;

    /// RFC 4733 §3.2 event code (0–15).
    pub fn event_code(self) -> u8 {
        // The position in BY_CODE is the code; the table has all 16 variants.
        BY_CODE.iter().position(|d| *d == self).unwrap_or(0) as u8
    }

    /// The key for an RFC 4733 §3.2 event code; `None` for codes above 15 (other events).
    pub fn from_event_code(code: u8) -> Option<Digit> {
        BY_CODE.get(code as usize).copied()
    }

    /// The key's printable character (`0`–`9`, `*`, `#`, `A`–`D`).
    pub fn to_char(self) -> char {
        CHARS[self.event_code() as usize]
    }

    /// Parses a key character, case-insensitive for A–D.
    pub fn from_char(c: char) -> Option<Digit> {
        let c = c.to_ascii_uppercase();
        CHARS.iter().position(|x| *x == c).map(|i| BY_CODE[i])
    }
}

impl std::fmt::Display for Digit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.to_char())
    }
}

/// Where a digit came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DtmfSource {
    /// RTP telephone-event (RFC 4733).
    Rfc4733,
    /// SIP INFO body (application/dtmf-relay or application/dtmf).
    SipInfo,
    /// Tones detected in the audio (ITU-T Q.24).
    InBand,
}

/// One key press, reported once per press by each source.
///
/// `start` and `duration` count samples of the source's own clock at `rate` Hz: the extended
/// RTP timestamp for RFC 4733 (the telephone-event clock, RFC 4733 §2.1), the sample index of
/// the analysed audio for in-band detection, the caller's clock for SIP INFO.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DtmfEvent {
    pub digit: Digit,
    pub start: u64,
    pub duration: u32,
    pub rate: u32,
    /// RFC 4733 §2.3.4 volume (0 to −63 dBm0 as 0..=63), when the source reports one.
    pub volume: Option<u8>,
    pub source: DtmfSource,
}

impl DtmfEvent {
    /// Start in seconds on the source's clock.
    pub fn start_secs(&self) -> f64 {
        self.start as f64 / f64::from(self.rate.max(1))
    }
    /// Duration in milliseconds.
    pub fn duration_ms(&self) -> u32 {
        (u64::from(self.duration) * 1000 / u64::from(self.rate.max(1))) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_chars_round_trip() {
        for (i, d) in Digit::ALL.iter().enumerate() {
            assert_eq!(d.event_code() as usize, i);
            assert_eq!(Digit::from_event_code(i as u8), Some(*d));
            assert_eq!(Digit::from_char(d.to_char()), Some(*d));
        }
        assert_eq!(Digit::from_char('a'), Some(Digit::A));
        assert_eq!(Digit::from_event_code(16), None);
        assert_eq!(Digit::from_char('E'), None);
    }
}
