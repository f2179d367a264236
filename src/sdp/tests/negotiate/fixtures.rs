//! Offers not already in `vectors.rs`. Addresses are RFC 5737 documentation ranges.

/// baresip with its usual module set (opus, g722, g711) and telephone-event; opus on PT 111
/// to show that we keep the offerer's dynamic numbers; G.722 without an rtpmap (static PT 9).
pub const BARESIP_FULL: &str = "v=0\r\n\
o=- 3458123 3458124 IN IP4 192.0.2.5\r\n\
s=-\r\n\
c=IN IP4 192.0.2.5\r\n\
t=0 0\r\n\
m=audio 10400 RTP/AVP 111 9 0 8 101\r\n\
b=AS:128\r\n\
a=rtpmap:111 opus/48000/2\r\n\
a=fmtp:111 stereo=1;sprop-stereo=1\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=sendrecv\r\n\
a=ptime:20\r\n";

/// A WebRTC-gateway style offer over plain RTP: opus only, AVPF, rtcp-mux, port 9 style fields
/// replaced by a real address.
pub const WEBRTC_OPUS: &str = "v=0\r\n\
o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n\
s=-\r\n\
t=0 0\r\n\
a=msid-semantic: WMS\r\n\
m=audio 51000 RTP/AVPF 109\r\n\
c=IN IP4 198.51.100.40\r\n\
a=rtcp:51000 IN IP4 198.51.100.40\r\n\
a=mid:0\r\n\
a=sendrecv\r\n\
a=rtcp-mux\r\n\
a=rtpmap:109 opus/48000/2\r\n\
a=rtcp-fb:109 transport-cc\r\n\
a=fmtp:109 minptime=10;useinbandfec=1\r\n\
a=ssrc:1001 cname:abc\r\n";

/// The same, as a browser really sends it: DTLS-SRTP, which we cannot terminate.
pub const WEBRTC_SRTP: &str = "v=0\r\n\
o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n\
s=-\r\n\
t=0 0\r\n\
m=audio 51000 UDP/TLS/RTP/SAVPF 111\r\n\
c=IN IP4 198.51.100.40\r\n\
a=rtpmap:111 opus/48000/2\r\n\
a=fingerprint:sha-256 AA:BB\r\n\
a=setup:actpass\r\n";

/// A carrier switching an established call to fax: audio kept, T.38 added (T.38 Annex D).
pub const AUDIO_PLUS_T38: &str = "v=0\r\n\
o=- 1 3 IN IP4 203.0.113.10\r\n\
s=-\r\n\
c=IN IP4 203.0.113.10\r\n\
t=0 0\r\n\
m=audio 20500 RTP/AVP 0 101\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
m=image 40000 udptl t38\r\n\
a=T38FaxVersion:0\r\n";

/// A minimal G.711 offer with a placeholder direction line, used for the hold matrix.
pub fn simple(conn: &str, dir_line: &str) -> String {
    format!(
        "v=0\r\no=- 7 7 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 {conn}\r\nt=0 0\r\n\
         m=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n{dir_line}"
    )
}
