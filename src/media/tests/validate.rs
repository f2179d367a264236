//! Requirements: RTP needs version 2 and a complete header (via rtp-rs); RTCP needs version 2,
//! an RTCP packet type and a length field that fits; nothing panics on short input.

use super::{rtp_packet, RTCP_RR};
use crate::media::{is_valid_rtcp, is_valid_rtp};

#[test]
fn rtp_validation() {
    assert!(is_valid_rtp(&rtp_packet(1)));
    let mut v1 = rtp_packet(1);
    v1[0] = (v1[0] & 0x3f) | 0x40; // version 1
    assert!(!is_valid_rtp(&v1));
    assert!(
        !is_valid_rtp(&rtp_packet(1)[..11]),
        "shorter than the fixed header"
    );
    let mut csrc = rtp_packet(1)[..12].to_vec();
    csrc[0] |= 0x0f; // claims 15 CSRCs that are not there
    assert!(!is_valid_rtp(&csrc));
    for len in 0..20 {
        let _ = is_valid_rtp(&vec![0x80; len]);
    }
}

#[test]
fn rtcp_validation() {
    assert!(is_valid_rtcp(&RTCP_RR));
    let mut long = RTCP_RR;
    long[3] = 9; // length says 40 bytes, datagram has 8
    assert!(!is_valid_rtcp(&long));
    let mut pt = RTCP_RR;
    pt[1] = 96; // an RTP payload type, not RTCP
    assert!(!is_valid_rtcp(&pt));
    let mut ver = RTCP_RR;
    ver[0] = 0x00;
    assert!(!is_valid_rtcp(&ver));
    assert!(!is_valid_rtcp(&RTCP_RR[..7]));
    // SRTCP: trailing index + auth tag after the first packet is fine.
    let mut srtcp = RTCP_RR.to_vec();
    srtcp.extend_from_slice(&[0u8; 14]);
    assert!(is_valid_rtcp(&srtcp));
}
