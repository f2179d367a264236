//! Minimal packet validation before relaying.
//!
//! Owns: the "is this plausibly RTP/RTCP" checks. Must not touch: sockets, payload decoding.
//!
//! Checks are deliberately shallow: the relay forwards SRTP/SRTCP untouched, so nothing past
//! the fixed headers can be inspected. The point is to keep junk, scans and stray STUN out of
//! the peer's stream and out of the latch.

use rtp_rs::RtpReader;

/// RFC 3550 §5.1: version 2, header (with CSRCs, extension, padding) fits in the datagram.
pub fn is_valid_rtp(pkt: &[u8]) -> bool {
    RtpReader::new(pkt).is_ok()
}

/// RFC 3550 §6.4.1 / Appendix A.2, first packet of the compound only: version 2, packet type
/// in 192..=223 (the RTCP range RFC 5761 §4 reserves), and its length field within the datagram.
/// Later packets of a compound may be SRTCP ciphertext, so they are not walked.
pub fn is_valid_rtcp(pkt: &[u8]) -> bool {
    // 8 bytes: the smallest RTCP packet, an RR with no report blocks (header + SSRC).
    let [b0, pt, len_hi, len_lo, _, _, _, _, ..] = *pkt else {
        return false;
    };
    let words = usize::from(u16::from_be_bytes([len_hi, len_lo]));
    b0 >> 6 == 2 && (192..=223).contains(&pt) && (words + 1) * 4 <= pkt.len()
}
