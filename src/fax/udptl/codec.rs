//! PER (aligned basic, X.691) encoding and decoding of one `UDPTLPacket` (T.38 Annex A).
//!
//! Owns: bytes <-> [`UdptlPacket`]. Must not touch: sequence state, recovery (session.rs), I/O.
//!
//! How each field comes out in aligned PER, and why:
//! - `seq-number INTEGER (0..65535)`: a constrained whole number with a range of 65536 is two
//!   octet-aligned octets, big-endian (X.691 10.5.7.3).
//! - open types and the unconstrained `SEQUENCE OF` / `OCTET STRING` lengths use the general
//!   length determinant (X.691 10.9.3): `0xxxxxxx` for 0..=127, `10xxxxxx xxxxxxxx` for
//!   128..=16383, `11xxxxxx` for a fragment of 16K..64K octets (refused here, see
//!   [`UdptlError::FragmentedLength`]).
//! - the `error-recovery` CHOICE of two alternatives is a one-bit index; the next item is a
//!   length determinant, which is octet-aligned, so the index fills a whole octet: `0x00` for
//!   `secondary-ifp-packets`, `0x80` for `fec-info`. Like spandsp and Asterisk we read only the
//!   top bit and ignore the padding bits.
//! - `fec-npackets INTEGER` (unconstrained): a length octet then that many octets of two's
//!   complement (X.691 10.8). Encoders in the field always send `01 nn`; we decode any length up
//!   to 32 bits of value and encode the minimal form (which is `01 nn` for spans below 128).
//!
//! Decoding never copies: the packet borrows the datagram, and the element lists are views that
//! are validated once in [`decode`] and walked again lazily by [`Entries::iter`].

use super::error::{Field, UdptlError};

/// Largest length a single (unfragmented) PER length determinant can carry.
pub const MAX_UNFRAGMENTED_LEN: usize = 16383;

/// One decoded (or to-be-encoded) `UDPTLPacket`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdptlPacket<'a> {
    /// `seq-number`: counts primary IFPs, wrapping 65535 -> 0.
    pub seq: u16,
    /// `primary-ifp-packet`: the IFP this datagram was sent for (never empty).
    pub primary: &'a [u8],
    /// `error-recovery`.
    pub recovery: ErrorRecovery<'a>,
}

/// The `error-recovery` CHOICE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorRecovery<'a> {
    /// `secondary-ifp-packets`: earlier primaries, newest first: element `i` is the IFP of
    /// `seq - 1 - i`. Zero elements is how "no error correction" is sent (spandsp, Asterisk).
    Secondary(Entries<'a>),
    /// `fec-info`: element `m` of `data` is the XOR of the IFPs `seq + m - k * data.len()` for
    /// `k` in `1..=npackets` (the span), each zero-padded to the longest; see session.rs.
    Fec { npackets: u32, data: Entries<'a> },
}

/// A `SEQUENCE OF` open type / `OCTET STRING`: either a validated view of wire octets (from
/// [`decode`]) or caller-provided slices (for [`encode`]). Compares by contents, so a packet
/// decoded from a non-minimal encoding equals the one decoded from our re-encoding.
#[derive(Clone, Copy)]
pub struct Entries<'a> {
    repr: Repr<'a>,
}

#[derive(Clone, Copy)]
enum Repr<'a> {
    /// `count` elements, each a length determinant (unfragmented, checked by `decode`) and its
    /// octets, back to back in `bytes`.
    Wire {
        count: usize,
        bytes: &'a [u8],
    },
    Slices(&'a [&'a [u8]]),
}

impl<'a> Entries<'a> {
    /// A list to encode.
    pub fn from_slices(slices: &'a [&'a [u8]]) -> Self {
        Entries {
            repr: Repr::Slices(slices),
        }
    }

    /// No elements.
    pub fn empty() -> Self {
        Entries {
            repr: Repr::Slices(&[]),
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match self.repr {
            Repr::Wire { count, .. } => count,
            Repr::Slices(s) => s.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The elements in wire order.
    pub fn iter(&self) -> EntriesIter<'a> {
        match self.repr {
            Repr::Wire { count, bytes } => EntriesIter(IterRepr::Wire {
                left: count,
                reader: Reader::new(bytes),
            }),
            Repr::Slices(s) => EntriesIter(IterRepr::Slices(s.iter())),
        }
    }
}

impl PartialEq for Entries<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Entries<'_> {}

impl std::fmt::Debug for Entries<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for &Entries<'a> {
    type Item = &'a [u8];
    type IntoIter = EntriesIter<'a>;
    fn into_iter(self) -> EntriesIter<'a> {
        self.iter()
    }
}

/// Iterator over [`Entries`].
pub struct EntriesIter<'a>(IterRepr<'a>);

enum IterRepr<'a> {
    Wire { left: usize, reader: Reader<'a> },
    Slices(std::slice::Iter<'a, &'a [u8]>),
}

impl<'a> Iterator for EntriesIter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        match &mut self.0 {
            IterRepr::Wire { left, reader } => {
                if *left == 0 {
                    return None;
                }
                *left -= 1;
                // `decode` validated every element, so this cannot fail; if it somehow did, the
                // iteration just ends (no panic on a network path).
                let n = reader.length(Field::FecCount).ok()?;
                reader.take(n, Field::FecCount).ok()
            }
            IterRepr::Slices(it) => it.next().copied(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.0 {
            IterRepr::Wire { left, .. } => (0, Some(*left)),
            IterRepr::Slices(it) => it.size_hint(),
        }
    }
}

/// A bounds-checked cursor over the datagram. Every read names the field it is for, so errors
/// say what was being read at which offset.
#[derive(Clone)]
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    fn take(&mut self, n: usize, field: Field) -> Result<&'a [u8], UdptlError> {
        let rest = self.buf.get(self.pos..).unwrap_or(&[]);
        match rest.get(..n) {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => Err(UdptlError::Truncated {
                field,
                offset: self.pos,
                needed: n - rest.len(),
            }),
        }
    }

    fn u8(&mut self, field: Field) -> Result<u8, UdptlError> {
        self.take(1, field).map(|s| s.first().copied().unwrap_or(0))
    }

    /// A general length determinant (X.691 10.9.3.6-10.9.3.8), unfragmented forms only.
    fn length(&mut self, field: Field) -> Result<usize, UdptlError> {
        let offset = self.pos;
        let first = self.u8(field)?;
        match first >> 6 {
            0 | 1 => Ok(usize::from(first)),
            2 => {
                let second = self.u8(field)?;
                Ok(usize::from(first & 0x3f) << 8 | usize::from(second))
            }
            _ => Err(UdptlError::FragmentedLength { field, offset }),
        }
    }

    /// An open type: a length determinant and that many octets, at least one (X.691 10.2).
    fn open_type(&mut self, field: Field) -> Result<&'a [u8], UdptlError> {
        let offset = self.pos;
        let n = self.length(field)?;
        if n == 0 {
            return Err(UdptlError::EmptyOpenType { field, offset });
        }
        self.take(n, field)
    }

    /// An OCTET STRING without size constraint: a length determinant and that many octets.
    fn octet_string(&mut self, field: Field) -> Result<&'a [u8], UdptlError> {
        let n = self.length(field)?;
        self.take(n, field)
    }

    /// An unconstrained INTEGER that must be non-negative and fit 32 bits (X.691 10.8).
    fn unsigned_integer(&mut self, field: Field) -> Result<u32, UdptlError> {
        let offset = self.pos;
        let n = self.length(field)?;
        let octets = self.take(n, field)?;
        let bad = UdptlError::InvalidInteger { field, offset };
        match octets.first() {
            None => return Err(bad),
            Some(b) if b & 0x80 != 0 => return Err(bad),
            Some(_) => {}
        }
        // Leading zero octets may pad a value (non-minimal but decodable); what is left must fit.
        let significant = octets
            .iter()
            .position(|&b| b != 0)
            .and_then(|i| octets.get(i..))
            .unwrap_or(&[]);
        if significant.len() > 4 {
            return Err(bad);
        }
        Ok(significant.iter().fold(0u32, |v, &b| v << 8 | u32::from(b)))
    }
}

/// Decode one datagram. The whole datagram must be exactly one `UDPTLPacket`.
pub fn decode(datagram: &[u8]) -> Result<UdptlPacket<'_>, UdptlError> {
    let mut r = Reader::new(datagram);
    let seq_octets = r.take(2, Field::SeqNumber)?;
    let seq = match seq_octets {
        [hi, lo] => u16::from_be_bytes([*hi, *lo]),
        _ => {
            return Err(UdptlError::Truncated {
                field: Field::SeqNumber,
                offset: 0,
                needed: 2,
            })
        }
    };
    let primary = r.open_type(Field::PrimaryIfp)?;
    let choice = r.u8(Field::ErrorRecovery)?;
    let recovery = if choice & 0x80 == 0 {
        let count = r.length(Field::SecondaryCount)?;
        let entries = entries(&mut r, count, |r, i| r.open_type(Field::SecondaryIfp(i)))?;
        ErrorRecovery::Secondary(entries)
    } else {
        let npackets = r.unsigned_integer(Field::FecNpackets)?;
        let count = r.length(Field::FecCount)?;
        let data = entries(&mut r, count, |r, i| r.octet_string(Field::FecData(i)))?;
        ErrorRecovery::Fec { npackets, data }
    };
    if r.remaining() > 0 {
        return Err(UdptlError::TrailingOctets {
            offset: r.pos,
            extra: r.remaining(),
        });
    }
    Ok(UdptlPacket {
        seq,
        primary,
        recovery,
    })
}

/// Walk `count` elements with `element` to validate them, and return the view over their octets.
fn entries<'a>(
    r: &mut Reader<'a>,
    count: usize,
    mut element: impl FnMut(&mut Reader<'a>, usize) -> Result<&'a [u8], UdptlError>,
) -> Result<Entries<'a>, UdptlError> {
    let start = r.pos;
    // Each element needs at least one octet, so a hostile count fails fast on truncation.
    for i in 0..count {
        element(r, i)?;
    }
    let bytes = r.buf.get(start..r.pos).unwrap_or(&[]);
    Ok(Entries {
        repr: Repr::Wire { count, bytes },
    })
}

/// Octets of the length determinant for `len` (unfragmented).
pub(super) fn length_len(len: usize) -> usize {
    if len < 0x80 {
        1
    } else {
        2
    }
}

/// Minimal two's complement octets of a non-negative value (at least one, X.691 10.8.3).
fn integer_octets(v: u32) -> usize {
    match v {
        0..=0x7f => 1,
        0x80..=0x7fff => 2,
        0x8000..=0x7f_ffff => 3,
        0x80_0000..=0x7fff_ffff => 4,
        _ => 5,
    }
}

/// Size of [`encode`]'s output for `packet`, or why it cannot be encoded.
pub fn encoded_len(packet: &UdptlPacket<'_>) -> Result<usize, UdptlError> {
    let open_type = |field: Field, len: usize| -> Result<usize, UdptlError> {
        if len == 0 {
            return Err(UdptlError::EmptyIfp { field });
        }
        checked_length(field, len).map(|l| l + len)
    };
    let mut total = 2 + open_type(Field::PrimaryIfp, packet.primary.len())? + 1;
    match &packet.recovery {
        ErrorRecovery::Secondary(e) => {
            total += checked_length(Field::SecondaryCount, e.len())?;
            for (i, s) in e.iter().enumerate() {
                total += open_type(Field::SecondaryIfp(i), s.len())?;
            }
        }
        ErrorRecovery::Fec { npackets, data } => {
            total += 1 + integer_octets(*npackets);
            total += checked_length(Field::FecCount, data.len())?;
            for (i, s) in data.iter().enumerate() {
                total += checked_length(Field::FecData(i), s.len())? + s.len();
            }
        }
    }
    Ok(total)
}

fn checked_length(field: Field, len: usize) -> Result<usize, UdptlError> {
    if len > MAX_UNFRAGMENTED_LEN {
        return Err(UdptlError::LengthTooLarge { field, len });
    }
    Ok(length_len(len))
}

/// Encode `packet` into `out`; returns the number of octets written. Minimal PER throughout.
pub fn encode(packet: &UdptlPacket<'_>, out: &mut [u8]) -> Result<usize, UdptlError> {
    let needed = encoded_len(packet)?;
    let Some(out) = out.get_mut(..needed) else {
        return Err(UdptlError::BufferTooSmall {
            needed,
            available: out.len(),
        });
    };
    let mut w = SliceWriter { out, pos: 0 };
    w.put(&packet.seq.to_be_bytes());
    w.open_type(packet.primary);
    match &packet.recovery {
        ErrorRecovery::Secondary(e) => {
            w.put(&[0x00]);
            w.length(e.len());
            for s in e.iter() {
                w.open_type(s);
            }
        }
        ErrorRecovery::Fec { npackets, data } => {
            w.put(&[0x80]);
            let n = integer_octets(*npackets);
            w.length(n);
            // Five octets for values >= 2^31: a leading zero keeps the sign bit clear.
            let wide = u64::from(*npackets).to_be_bytes();
            w.put(wide.get(wide.len() - n..).unwrap_or(&[]));
            w.length(data.len());
            for s in data.iter() {
                w.open_type(s);
            }
        }
    }
    debug_assert_eq!(w.pos, needed);
    Ok(w.pos)
}

/// Writes into a slice already sized by `encoded_len`; `put` never runs past it (and would only
/// drop octets rather than panic if the two ever disagreed).
struct SliceWriter<'o> {
    out: &'o mut [u8],
    pos: usize,
}

impl SliceWriter<'_> {
    fn put(&mut self, bytes: &[u8]) {
        let end = self.pos + bytes.len();
        if let Some(dst) = self.out.get_mut(self.pos..end) {
            dst.copy_from_slice(bytes);
        }
        self.pos = end;
    }

    fn length(&mut self, len: usize) {
        put_length(len, |b| self.put(b));
    }

    /// Length determinant and octets (used for open types and OCTET STRINGs alike: the encoding
    /// is the same, only the empty case differs, and `encoded_len` refused empty open types).
    fn open_type(&mut self, s: &[u8]) {
        self.length(s.len());
        self.put(s);
    }
}

/// Emit the unfragmented length determinant of `len` (< 16384) through `put`.
pub(super) fn put_length(len: usize, mut put: impl FnMut(&[u8])) {
    if len < 0x80 {
        put(&[len as u8]);
    } else {
        put(&[0x80 | ((len >> 8) & 0x3f) as u8, (len & 0xff) as u8]);
    }
}
