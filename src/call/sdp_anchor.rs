//! Media anchoring in SDP: every SDP crossing the B2BUA is rewritten so the
//! peer sends RTP to our relay port, and the peer's own endpoint is noted for
//! the relay. Only the first active audio stream is anchored; any other
//! stream is disabled (port 0) because it would otherwise bypass the relay.

use std::net::{IpAddr, SocketAddr};

use crate::sdp::{self, SdpError};

/// A rewritten SDP and what it told us about the peer.
#[derive(Debug)]
pub struct Anchored {
    pub body: Vec<u8>,
    /// The peer's RTP address; `None` on hold (`c=0.0.0.0`) or a rejected stream.
    pub remote_rtp: Option<SocketAddr>,
    pub remote_rtcp: Option<SocketAddr>,
}

/// Rewrites `body` so its audio stream points at `ours:port`.
pub fn anchor(body: &[u8], ours: IpAddr, port: u16) -> Result<Anchored, SdpError> {
    let mut desc = sdp::parse(body)?;
    let audio = desc.media.iter().position(|m| m.media == "audio" && m.port != 0);
    let mut remote_rtp = None;
    let mut remote_rtcp = None;
    for i in 0..desc.media.len() {
        if Some(i) == audio {
            let direction = desc.direction(i);
            remote_rtp = desc.rtp_endpoint(i).filter(|a| !a.ip().is_unspecified() && a.port() != 0);
            remote_rtcp = remote_rtp.and(desc.rtcp_endpoint(i));
            desc.set_media_endpoint(i, ours, port)?;
            // A new address erases an old-style hold marker (c=0.0.0.0):
            // keep the hold visible as a direction attribute.
            if let Some(d) = direction {
                if d.is_hold() {
                    desc.set_direction(i, d)?;
                }
            }
        } else if let Some(m) = desc.media.get_mut(i) {
            m.port = 0;
        }
    }
    desc.origin.address = ours.to_string();
    desc.origin.addrtype = if ours.is_ipv4() { "IP4".into() } else { "IP6".into() };
    Ok(Anchored { body: desc.to_bytes(), remote_rtp, remote_rtcp })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\nm=video 4002 RTP/AVP 96\r\n";

    #[test]
    fn anchors_audio_and_disables_other_streams() {
        let a = anchor(OFFER.as_bytes(), "192.0.2.1".parse().unwrap(), 10000).unwrap();
        assert_eq!(a.remote_rtp, Some("10.0.0.2:4000".parse().unwrap()));
        assert_eq!(a.remote_rtcp, Some("10.0.0.2:4001".parse().unwrap()));
        let out = sdp::parse(&a.body).unwrap();
        assert_eq!(out.rtp_endpoint(0), Some("192.0.2.1:10000".parse().unwrap()));
        assert_eq!(out.media[1].port, 0);
        assert!(String::from_utf8_lossy(&a.body).contains("telephone-event/8000"));
    }

    #[test]
    fn hold_keeps_direction_and_reports_no_remote() {
        let hold = OFFER.replace("c=IN IP4 10.0.0.2", "c=IN IP4 0.0.0.0");
        let a = anchor(hold.as_bytes(), "192.0.2.1".parse().unwrap(), 10000).unwrap();
        assert_eq!(a.remote_rtp, None);
        let out = sdp::parse(&a.body).unwrap();
        assert!(out.direction(0).unwrap().is_hold());
        let sendonly = OFFER.replace("m=video 4002 RTP/AVP 96\r\n", "a=sendonly\r\n");
        let a = anchor(sendonly.as_bytes(), "192.0.2.1".parse().unwrap(), 10000).unwrap();
        assert!(String::from_utf8_lossy(&a.body).contains("a=sendonly"));
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(anchor(b"not sdp", "192.0.2.1".parse().unwrap(), 10000).is_err());
    }
}
