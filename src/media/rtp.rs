//! RTP packetize / depacketize (RFC 3550 §5.1) on top of the `rtp-rs` crate.
//!
//! Owns: turning datagrams into typed RTP views and payloads into datagrams, and the sender-side
//! sequence/timestamp/SSRC bookkeeping of one outgoing stream (`Packetizer`).
//! Must not touch: sockets, codecs, RTCP (see `media::rtcp`), jitter buffering (`media::jitter`).
//!
//! Hot path: parsing borrows the datagram and building writes into a caller-provided buffer, so
//! neither allocates. `rtp-rs` does the bounds checking of CSRC list, extension and padding
//! (its `RtpReader::new` rejects anything whose headers do not fit); we only add the checks it
//! leaves to the caller (payload type range on build, buffer size).

use rtp_rs::{RtpPacketBuildError, RtpPacketBuilder, RtpReader, RtpReaderError, Seq};

/// RFC 3550 §5.1: fixed header without CSRCs or extension.
pub const RTP_HEADER_LEN: usize = 12;

/// Why a datagram is not RTP, or a packet could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RtpError {
    /// Shorter than the 12-byte fixed header.
    #[error("RTP packet too short: {0} bytes")]
    TooShort(usize),
    /// Version field is not 2 (RFC 3550 §5.1).
    #[error("RTP version {0} is not 2")]
    BadVersion(u8),
    /// CSRC list or header extension runs past the end of the datagram.
    #[error("RTP headers truncated: need {need} bytes, have {have}")]
    Truncated { need: usize, have: usize },
    /// Padding count is 0 or larger than the bytes after the header (RFC 3550 §5.1, P bit).
    #[error("RTP padding length {0} invalid")]
    BadPadding(u8),
    /// Output buffer cannot hold the packet.
    #[error("buffer too small for RTP packet: need {need} bytes, have {have}")]
    BufferTooSmall { need: usize, have: usize },
    /// Payload type above 127 (it is a 7-bit field).
    #[error("RTP payload type {0} out of range 0..=127")]
    BadPayloadType(u8),
    /// Header extension body is not a whole number of 32-bit words, or longer than rtp-rs builds
    /// (65532 bytes; the wire allows 65535 words, nobody sends that).
    #[error("RTP header extension must be a multiple of 4 bytes and at most 65532 bytes")]
    BadExtension,
}

impl From<RtpReaderError> for RtpError {
    fn from(e: RtpReaderError) -> Self {
        match e {
            RtpReaderError::BufferTooShort(n) => RtpError::TooShort(n),
            RtpReaderError::UnsupportedVersion(v) => RtpError::BadVersion(v),
            RtpReaderError::HeadersTruncated { header_len, buffer_len } => {
                RtpError::Truncated { need: header_len, have: buffer_len }
            }
            RtpReaderError::PaddingLengthInvalid(n) => RtpError::BadPadding(n),
        }
    }
}

/// The header fields a media endpoint cares about (RFC 3550 §5.1). CSRCs and extensions are
/// carried by reference in [`RtpPacket`]; an endpoint that mixes would set them on build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    pub payload_type: u8,
    pub marker: bool,
    pub seq: u16,
    pub timestamp: u32,
    pub ssrc: u32,
}

/// A parsed RTP packet borrowing the datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    pub header: RtpHeader,
    /// Number of CSRC identifiers (0..=15); read them with [`RtpPacket::csrcs`].
    pub csrc_count: u8,
    /// Header extension (profile-defined id, body), RFC 3550 §5.3.1.
    pub extension: Option<(u16, &'a [u8])>,
    /// Payload without padding.
    pub payload: &'a [u8],
    /// Padding bytes that followed the payload (including the count byte), 0 if none.
    pub padding: u8,
    raw: &'a [u8],
}

impl<'a> RtpPacket<'a> {
    /// The CSRC list (RFC 3550 §5.1), bounds already checked by the parse.
    pub fn csrcs(&self) -> impl Iterator<Item = u32> + 'a {
        let raw = self.raw;
        (0..usize::from(self.csrc_count)).filter_map(move |i| {
            let o = RTP_HEADER_LEN + 4 * i;
            raw.get(o..o + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        })
    }
}

/// Parses one RTP datagram (RFC 3550 §5.1) without copying.
pub fn depacketize(datagram: &[u8]) -> Result<RtpPacket<'_>, RtpError> {
    let r = RtpReader::new(datagram)?;
    Ok(RtpPacket {
        header: RtpHeader {
            payload_type: r.payload_type(),
            marker: r.mark(),
            seq: r.sequence_number().into(),
            timestamp: r.timestamp(),
            ssrc: r.ssrc(),
        },
        csrc_count: r.csrc_count(),
        extension: r.extension(),
        payload: r.payload(),
        padding: r.padding().unwrap_or(0),
        raw: datagram,
    })
}

/// Writes header + payload into `out` and returns the packet length. No padding, CSRCs or
/// extension: what a two-party endpoint sends.
pub fn packetize(header: &RtpHeader, payload: &[u8], out: &mut [u8]) -> Result<usize, RtpError> {
    check_pt(header.payload_type)?;
    build(builder(header, payload), out)
}

/// Like [`packetize`] with a header extension (RFC 3550 §5.3.1; body a multiple of 4 bytes).
pub fn packetize_with_extension(
    header: &RtpHeader,
    ext_id: u16,
    ext: &[u8],
    payload: &[u8],
    out: &mut [u8],
) -> Result<usize, RtpError> {
    check_pt(header.payload_type)?;
    build(builder(header, payload).extension(ext_id, ext), out)
}

fn check_pt(pt: u8) -> Result<(), RtpError> {
    if pt > 127 {
        return Err(RtpError::BadPayloadType(pt));
    }
    Ok(())
}

fn builder<'a>(h: &RtpHeader, payload: &'a [u8]) -> RtpPacketBuilder<'a> {
    RtpPacketBuilder::new()
        .payload_type(h.payload_type)
        .marked(h.marker)
        .sequence(Seq::from(h.seq))
        .timestamp(h.timestamp)
        .ssrc(h.ssrc)
        .payload(payload)
}

fn build(b: RtpPacketBuilder<'_>, out: &mut [u8]) -> Result<usize, RtpError> {
    let need = b.target_length();
    b.build_into(out).map_err(|e| match e {
        RtpPacketBuildError::BufferTooSmall => RtpError::BufferTooSmall { need, have: out.len() },
        // Checked before building (`check_pt`), so unreachable in practice; map it anyway.
        RtpPacketBuildError::PayloadTypeInvalid => RtpError::BadPayloadType(0x80),
        RtpPacketBuildError::ExtensionTooLarge | RtpPacketBuildError::ExtensionMissingPadding => RtpError::BadExtension,
    })
}

/// Sender state of one outgoing RTP stream: SSRC, next sequence number, media clock, and the
/// counts RTCP sender reports need (RFC 3550 §6.4.1 sender's packet/octet count).
#[derive(Debug, Clone)]
pub struct Packetizer {
    ssrc: u32,
    payload_type: u8,
    seq: u16,
    timestamp: u32,
    packets: u32,
    octets: u32,
}

impl Packetizer {
    /// RFC 3550 §5.1: the initial sequence number and timestamp SHOULD be random, so they are
    /// parameters (the driver draws them) rather than fixed here.
    pub fn new(ssrc: u32, payload_type: u8, first_seq: u16, first_ts: u32) -> Result<Self, RtpError> {
        if payload_type > 127 {
            return Err(RtpError::BadPayloadType(payload_type));
        }
        Ok(Packetizer { ssrc, payload_type, seq: first_seq, timestamp: first_ts, packets: 0, octets: 0 })
    }

    /// Builds the next packet into `out` and advances: sequence by one, timestamp by `samples`
    /// (the media duration of this payload in clock units). `marker` flags the first packet of
    /// a talkspurt (RFC 3551 §4.1).
    pub fn next(&mut self, payload: &[u8], samples: u32, marker: bool, out: &mut [u8]) -> Result<usize, RtpError> {
        let h = self.peek_header(marker);
        let n = packetize(&h, payload, out)?;
        self.seq = self.seq.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(samples);
        // RFC 3550 §6.4.1: the counts wrap modulo 2^32.
        self.packets = self.packets.wrapping_add(1);
        self.octets = self.octets.wrapping_add(payload.len() as u32);
        Ok(n)
    }

    /// Builds a packet of another payload type on this stream (RFC 4733
    /// telephone-events): same SSRC, next sequence number, but the caller's
    /// timestamp, which stays at the event start for every packet of the event.
    pub fn next_event(&mut self, payload_type: u8, timestamp: u32, payload: &[u8], marker: bool, out: &mut [u8]) -> Result<usize, RtpError> {
        let mut h = self.peek_header(marker);
        h.payload_type = payload_type;
        h.timestamp = timestamp;
        let n = packetize(&h, payload, out)?;
        self.seq = self.seq.wrapping_add(1);
        self.packets = self.packets.wrapping_add(1);
        self.octets = self.octets.wrapping_add(payload.len() as u32);
        Ok(n)
    }

    /// The timestamp the next audio packet will carry.
    pub fn timestamp(&self) -> u32 {
        self.timestamp
    }

    /// Advances the media clock without sending (silence suppression / DTX): the timestamp must
    /// keep running so the receiver sees the gap (RFC 3550 §5.1), the sequence does not.
    pub fn skip(&mut self, samples: u32) {
        self.timestamp = self.timestamp.wrapping_add(samples);
    }

    /// The header the next packet will carry.
    pub fn peek_header(&self, marker: bool) -> RtpHeader {
        RtpHeader { payload_type: self.payload_type, marker, seq: self.seq, timestamp: self.timestamp, ssrc: self.ssrc }
    }

    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }
    /// Packets sent so far (mod 2^32).
    pub fn packets(&self) -> u32 {
        self.packets
    }
    /// Payload octets sent so far (mod 2^32), headers and padding excluded (RFC 3550 §6.4.1).
    pub fn octets(&self) -> u32 {
        self.octets
    }
}

/// Fuzz entry: parse arbitrary bytes; whatever parses must rebuild to a packet that parses to
/// the same header, extension and payload. Panics only on a broken property.
pub fn fuzz_parse(data: &[u8]) {
    let Ok(p) = depacketize(data) else { return };
    assert!(p.payload.len() + RTP_HEADER_LEN <= data.len());
    let _ = p.csrcs().count();
    let mut buf = [0u8; 2048];
    let rebuilt = match p.extension {
        Some((id, ext)) => packetize_with_extension(&p.header, id, ext, p.payload, &mut buf),
        None => packetize(&p.header, p.payload, &mut buf),
    };
    // Only a too-small scratch buffer may fail: every parsed header is buildable.
    let n = match rebuilt {
        Ok(n) => n,
        Err(RtpError::BufferTooSmall { .. }) => return,
        // Legal on the wire, beyond what rtp-rs builds (documented on `BadExtension`).
        Err(RtpError::BadExtension) if p.extension.is_some_and(|(_, e)| e.len() > 0xFFFF) => return,
        Err(e) => panic!("parsed RTP packet does not rebuild: {e}"),
    };
    let q = depacketize(&buf[..n]).unwrap_or_else(|e| panic!("rebuilt RTP packet does not parse: {e}"));
    assert_eq!((q.header, q.extension, q.payload), (p.header, p.extension, p.payload));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 3550 §5.1 layout by hand: V=2 P=0 X=0 CC=0 | M=1 PT=0 | seq 0x1234 | ts | SSRC.
    const PCMU: [u8; 16] =
        [0x80, 0x80, 0x12, 0x34, 0x00, 0x00, 0x01, 0x40, 0xde, 0xad, 0xbe, 0xef, 0xff, 0x7f, 0x00, 0x01];

    #[test]
    fn parses_hand_built_packet() {
        let p = depacketize(&PCMU).unwrap();
        assert_eq!(
            p.header,
            RtpHeader { payload_type: 0, marker: true, seq: 0x1234, timestamp: 320, ssrc: 0xdead_beef }
        );
        assert_eq!(p.payload, &[0xff, 0x7f, 0x00, 0x01]);
        assert_eq!((p.csrc_count, p.extension, p.padding), (0, None, 0));
    }

    #[test]
    fn parses_csrc_extension_padding() {
        // V=2 P=1 X=1 CC=2, PT=8, two CSRCs, extension id 0xBEDE with one word, payload 2 bytes,
        // padding 2 bytes (last byte = count).
        let pkt = [
            0xb2, 0x08, 0x00, 0x01, 0, 0, 0, 0xa0, 0, 0, 0, 7, // fixed header
            0, 0, 0, 1, 0, 0, 0, 2, // CSRCs
            0xbe, 0xde, 0x00, 0x01, 1, 2, 3, 4, // extension
            0xaa, 0xbb, 0x00, 0x02, // payload + padding
        ];
        let p = depacketize(&pkt).unwrap();
        assert_eq!(p.csrcs().collect::<Vec<_>>(), [1, 2]);
        assert_eq!(p.extension, Some((0xbede, &[1u8, 2, 3, 4][..])));
        assert_eq!((p.payload, p.padding), (&[0xaa, 0xbb][..], 2));
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(depacketize(&PCMU[..11]), Err(RtpError::TooShort(11)));
        let mut v1 = PCMU;
        v1[0] = 0x40;
        assert_eq!(depacketize(&v1), Err(RtpError::BadVersion(1)));
        let mut cc = PCMU;
        cc[0] = 0x82; // two CSRCs need 8 bytes; only 4 follow
        assert!(matches!(depacketize(&cc), Err(RtpError::Truncated { .. })));
        let mut pad0 = PCMU;
        pad0[0] = 0xa0;
        pad0[15] = 0; // padding count 0
        assert_eq!(depacketize(&pad0), Err(RtpError::BadPadding(0)));
        let mut pad_big = PCMU;
        pad_big[0] = 0xa0;
        pad_big[15] = 9; // more padding than payload
        assert_eq!(depacketize(&pad_big), Err(RtpError::BadPadding(9)));
    }

    #[test]
    fn build_matches_hand_built_bytes() {
        let h = RtpHeader { payload_type: 0, marker: true, seq: 0x1234, timestamp: 320, ssrc: 0xdead_beef };
        let mut out = [0u8; 64];
        let n = packetize(&h, &[0xff, 0x7f, 0x00, 0x01], &mut out).unwrap();
        assert_eq!(&out[..n], &PCMU);
        assert_eq!(packetize(&h, &[0; 60], &mut out), Err(RtpError::BufferTooSmall { need: 72, have: 64 }));
        let bad = RtpHeader { payload_type: 200, ..h };
        assert_eq!(packetize(&bad, &[], &mut out), Err(RtpError::BadPayloadType(200)));
        assert_eq!(packetize_with_extension(&h, 1, &[1, 2, 3], &[], &mut out), Err(RtpError::BadExtension));
        let n = packetize_with_extension(&h, 0xbede, &[1, 2, 3, 4], &[9], &mut out).unwrap();
        let p = depacketize(&out[..n]).unwrap();
        assert_eq!((p.extension, p.payload), (Some((0xbede, &[1u8, 2, 3, 4][..])), &[9u8][..]));
    }

    #[test]
    fn packetizer_wraps_seq_and_timestamp() {
        let mut p = Packetizer::new(42, 8, 0xffff, u32::MAX - 100).unwrap();
        let mut out = [0u8; 200];
        let n = p.next(&[0; 160], 160, true, &mut out).unwrap();
        let a = depacketize(&out[..n]).unwrap().header;
        assert_eq!((a.seq, a.timestamp, a.marker, a.payload_type, a.ssrc), (0xffff, u32::MAX - 100, true, 8, 42));
        p.skip(160); // DTX: clock runs, sequence does not
        let n = p.next(&[0; 160], 160, false, &mut out).unwrap();
        let b = depacketize(&out[..n]).unwrap().header;
        assert_eq!((b.seq, b.timestamp), (0, 219));
        assert_eq!((p.packets(), p.octets()), (2, 320));
        assert!(Packetizer::new(1, 128, 0, 0).is_err());
    }

    #[test]
    fn fuzz_parse_holds_on_vectors() {
        fuzz_parse(&PCMU);
        fuzz_parse(&[]);
        fuzz_parse(&[0x80; 12]);
    }

    /// Deterministic mutation loop (xorshift64): flips, overwrites, truncations and
    /// extensions of valid packets never panic and keep the round-trip property.
    #[test]
    fn mutation_loop_never_panics() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut ext = [0u8; 64];
        let h = RtpHeader { payload_type: 111, marker: false, seq: 1, timestamp: 2, ssrc: 3 };
        let n = packetize_with_extension(&h, 0xbede, &[0x10, 0xff, 0, 0], &[1, 2, 3], &mut ext).unwrap();
        let seeds: [&[u8]; 2] = [&PCMU, &ext[..n]];
        for seed in seeds {
            let mut v = seed.to_vec();
            for i in 0..20_000 {
                if i % 40 == 0 {
                    v = seed.to_vec();
                }
                let r = rnd();
                let at = if v.is_empty() { 0 } else { (r >> 8) as usize % v.len() };
                match r % 4 {
                    0 if !v.is_empty() => v[at] ^= 1 << ((r >> 40) % 8),
                    1 if !v.is_empty() => v[at] = (r >> 32) as u8,
                    2 => v.truncate(at),
                    _ => v.extend((0..(r >> 56) % 9).map(|k| (r >> k) as u8)),
                }
                fuzz_parse(&v);
            }
        }
    }
}
