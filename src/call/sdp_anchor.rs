//! Media anchoring in SDP: every SDP crossing the B2BUA is rewritten so the
//! peer sends RTP to our relay port, and the peer's own endpoint is noted for
//! the relay. Only the first active audio stream is anchored; any other
//! stream is disabled (port 0) because it would otherwise bypass the relay.
//!
//! Offers can also be held to codec lists (the callee's extension's or
//! trunk's `codecs`): the other formats are taken out of the audio stream,
//! so the callee cannot pick a codec its side forbids.
//! Answers are never restricted: they can only name what the offer had.

use std::net::{IpAddr, SocketAddr};

use crate::sdp::negotiate::{formats, CodecPrefs, CodecSpec};
use crate::sdp::{self, MediaDescription, SdpError};

/// A rewritten SDP and what it told us about the peer.
#[derive(Debug)]
pub struct Anchored {
    pub body: Vec<u8>,
    /// The peer's RTP address; `None` on hold (`c=0.0.0.0`) or a rejected stream.
    pub remote_rtp: Option<SocketAddr>,
    pub remote_rtcp: Option<SocketAddr>,
    /// Voice codecs left in the active audio stream (telephone-event and
    /// comfort noise not counted): `Some(0)` for an offer nothing of which
    /// is allowed; `None` without an active audio stream (e.g. T.38).
    pub voice_codecs: Option<usize>,
}

/// RFC 3551 Table 4: static payload type 13 is comfort noise, often
/// offered without an `rtpmap`.
const COMFORT_NOISE_PT: u8 = 13;

/// Whether `codec` is audio proper, not RFC 4733 events or RFC 3389 comfort
/// noise (which ride along with any voice codec).
fn is_voice(codec: &CodecSpec) -> bool {
    !codec.is_telephone_event() && !codec.name.eq_ignore_ascii_case("CN")
}

/// Whether every list in `allowed` has `codec` (no lists: anything goes).
fn allowed_by(allowed: &[CodecPrefs], codec: &CodecSpec) -> bool {
    allowed.iter().all(|list| list.codecs().iter().any(|c| c.same_codec(codec)))
}

/// The voice codecs of `m` (an RTP `m=` line) that every list in `allowed`
/// permits, in the author's order.
pub fn allowed_voice_codecs(m: &MediaDescription, allowed: &[CodecPrefs]) -> Vec<CodecSpec> {
    formats(m).into_iter().map(|f| f.codec).filter(|c| is_voice(c) && allowed_by(allowed, c)).collect()
}

/// Takes the voice formats no list allows out of `m`, with their `rtpmap`,
/// `fmtp` and `rtcp-fb` lines; formats that name no codec we can identify
/// go too when there is a list (they cannot be shown to be allowed), except
/// static comfort noise.
fn restrict(m: &mut MediaDescription, allowed: &[CodecPrefs]) {
    if allowed.is_empty() {
        return;
    }
    let mut keep: Vec<u8> = formats(m).into_iter().filter(|f| !is_voice(&f.codec) || allowed_by(allowed, &f.codec)).map(|f| f.pt).collect();
    keep.push(COMFORT_NOISE_PT);
    let kept = |token: &str| token.parse::<u8>().is_ok_and(|pt| keep.contains(&pt));
    m.formats.retain(|f| kept(f));
    m.attributes.retain(|a| {
        let per_pt = ["rtpmap", "fmtp", "rtcp-fb"].contains(&a.name.trim());
        let first = a.value.as_deref().and_then(|v| v.split_whitespace().next());
        // `rtcp-fb:*` applies to every format and stays.
        !per_pt || first.is_none_or(|t| t == "*" || kept(t))
    });
}

/// Rewrites `body` so its audio stream points at `ours:port`.
pub fn anchor(body: &[u8], ours: IpAddr, port: u16) -> Result<Anchored, SdpError> {
    anchor_offer(body, ours, port, &[])
}

/// `anchor` for an offer the relay passes on: its audio stream keeps only
/// the voice codecs every list in `allowed` permits (all of them when there
/// is no list). `voice_codecs` of `Some(0)` means the offer must be refused.
pub fn anchor_offer(body: &[u8], ours: IpAddr, port: u16, allowed: &[CodecPrefs]) -> Result<Anchored, SdpError> {
    let mut desc = sdp::parse(body)?;
    let mut voice_codecs = None;
    let audio = desc.media.iter().position(|m| m.media == "audio" && m.port != 0);
    let mut remote_rtp = None;
    let mut remote_rtcp = None;
    for i in 0..desc.media.len() {
        if Some(i) == audio {
            let direction = desc.direction(i);
            remote_rtp = desc.rtp_endpoint(i).filter(|a| !a.ip().is_unspecified() && a.port() != 0);
            remote_rtcp = remote_rtp.and(desc.rtcp_endpoint(i));
            desc.set_media_endpoint(i, ours, port)?;
            if let Some(m) = desc.media.get_mut(i) {
                restrict(m, allowed);
                voice_codecs = Some(formats(m).iter().filter(|f| is_voice(&f.codec)).count());
            }
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
    Ok(Anchored { body: desc.to_bytes(), remote_rtp, remote_rtcp, voice_codecs })
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

    const RICH: &str = "v=0\r\no=- 1 1 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\n\
        m=audio 4000 RTP/AVP 111 9 0 8 13 101\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 useinbandfec=1\r\n\
        a=rtcp-fb:111 nack\r\na=rtcp-fb:* trr-int 5\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\n";

    fn lists(l: &[&str]) -> Vec<CodecPrefs> {
        l.iter().map(|c| c.parse().unwrap()).collect()
    }

    #[test]
    fn an_offer_keeps_only_codecs_every_list_allows() {
        let ip = "192.0.2.1".parse().unwrap();
        let a = anchor_offer(RICH.as_bytes(), ip, 10000, &lists(&["PCMA,opus,G722", "PCMU,PCMA,opus"])).unwrap();
        assert_eq!(a.voice_codecs, Some(2), "opus and PCMA are in both lists");
        let out = sdp::parse(&a.body).unwrap();
        assert_eq!(out.media[0].formats, ["111", "8", "13", "101"], "order kept; comfort noise and events ride along");
        let text = String::from_utf8_lossy(&a.body);
        assert!(text.contains("a=rtpmap:111 opus/48000/2") && text.contains("a=fmtp:111 useinbandfec=1"), "{text}");
        assert!(text.contains("a=rtcp-fb:111 nack") && text.contains("a=rtcp-fb:* trr-int 5"), "{text}");
        assert!(text.contains("a=fmtp:101 0-16") && text.contains("a=ptime:20"), "{text}");

        let a = anchor_offer(RICH.as_bytes(), ip, 10000, &lists(&["G722"])).unwrap();
        let out = sdp::parse(&a.body).unwrap();
        assert_eq!(out.media[0].formats, ["9", "13", "101"]);
        let text = String::from_utf8_lossy(&a.body);
        assert!(!text.contains("opus") && !text.contains("rtcp-fb:111"), "a removed format's lines go with it: {text}");
    }

    #[test]
    fn no_list_passes_the_offer_on_and_an_empty_intersection_is_counted() {
        let ip = "192.0.2.1".parse().unwrap();
        let all = anchor_offer(RICH.as_bytes(), ip, 10000, &[]).unwrap();
        assert_eq!(sdp::parse(&all.body).unwrap().media[0].formats, ["111", "9", "0", "8", "13", "101"]);
        assert_eq!(all.voice_codecs, Some(4));
        let none = anchor_offer(RICH.as_bytes(), ip, 10000, &lists(&["PCMU", "PCMA"])).unwrap();
        assert_eq!(none.voice_codecs, Some(0), "nothing is allowed on both sides");
        let fax = RICH.replace("m=audio 4000", "m=audio 0").replace("a=ptime:20\r\n", "a=ptime:20\r\nm=image 4002 udptl t38\r\n");
        let fax = anchor_offer(fax.as_bytes(), ip, 10000, &lists(&["PCMU"])).unwrap();
        assert_eq!(fax.voice_codecs, None, "no active audio stream: nothing to hold to the lists");
        let m = &sdp::parse(RICH.as_bytes()).unwrap().media[0];
        let names: Vec<String> = allowed_voice_codecs(m, &lists(&["PCMA,opus"])).into_iter().map(|c| c.name).collect();
        assert_eq!(names, ["opus", "PCMA"], "the offer's order");
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(anchor(b"not sdp", "192.0.2.1".parse().unwrap(), 10000).is_err());
    }
}
