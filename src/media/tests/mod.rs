//! Unit and loopback tests for the media module. Each file lists the requirements it checks.
//! Socket tests use 127.0.0.1 only, each test with its own slice of 31000–31100 so parallel
//! tests never contend for a port.

mod latch;
mod ports;
mod relay;
mod validate;

/// A valid RTP packet (RFC 3550 §5.1), PCMU, 160-byte payload.
pub(super) fn rtp_packet(seq: u16) -> Vec<u8> {
    let payload = [0xffu8; 160];
    rtp_rs::RtpPacketBuilder::new()
        .payload_type(0)
        .ssrc(0x1234_5678)
        .sequence(rtp_rs::Seq::from(seq))
        .timestamp(u32::from(seq) * 160)
        .payload(&payload)
        .build()
        .expect("static RTP packet builds")
}

/// An empty RTCP receiver report (RFC 3550 §6.4.2): header + SSRC, length field 1.
pub(super) const RTCP_RR: [u8; 8] = [0x80, 201, 0x00, 0x01, 0x12, 0x34, 0x56, 0x78];
