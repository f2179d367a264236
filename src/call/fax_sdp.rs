//! The SDP of a switch to T.38 on an established call (T.38 Annex D/E,
//! RFC 3362), placed in a whole session: answering the peer's re-offer,
//! building our own, reading the peer's answer, each time turning the
//! negotiated `T38Fax*` attributes into UDPTL and engine settings. The
//! attributes and their offer/answer rules are `sdp::t38`'s; `[fax]`
//! says what we are willing to do.

use std::net::SocketAddr;

use crate::config::FaxConfig as FaxSettings;
use crate::fax::engine::T38Settings;
use crate::fax::udptl::{ErrorCorrection, UdptlConfig};
use crate::sdp::Connection;
use crate::sdp::t38::{self, RateManagement, T38Capabilities, T38Negotiated, T38Params};
use crate::sdp::SessionDescription;

/// Our answer to a T.38 offer and what to run with it.
pub struct T38Answer {
    pub sdp: SessionDescription,
    pub remote: SocketAddr,
    pub udptl: UdptlConfig,
    pub settings: T38Settings,
}

/// True when `sdp` offers T.38 on a live port.
pub fn has_image(sdp: &SessionDescription) -> bool {
    sdp.media.iter().any(|m| m.is_t38_udptl() && m.port != 0)
}

/// What we are willing to do, from `[fax]`.
fn capabilities(cfg: &FaxSettings) -> T38Capabilities {
    T38Capabilities {
        max_bit_rate: cfg.max_bit_rate,
        max_datagram: u32::from(cfg.max_datagram),
        redundancy: cfg.udptl_ec != "none",
        fec_tx: cfg.udptl_ec == "fec",
        ..T38Capabilities::default()
    }
}

/// Where the peer receives media `index` (its own `c=` or the session's).
fn remote_of(sdp: &SessionDescription, index: usize) -> Result<SocketAddr, String> {
    let port = sdp.media.get(index).map(|m| m.port).filter(|p| *p != 0).ok_or("T.38 port is 0")?;
    let ip = sdp.connection_for(index).ok_or("no connection address for the T.38 stream")?;
    if ip.is_unspecified() {
        return Err("T.38 address is 0.0.0.0".into());
    }
    Ok(SocketAddr::new(ip, port))
}

/// UDPTL and engine settings for a negotiated session: our redundancy
/// depth from `[fax]`, the far end's datagram limit (in `n.udptl`).
fn settings(n: &T38Negotiated, cfg: &FaxSettings) -> (UdptlConfig, T38Settings) {
    let mut udptl = n.udptl;
    if let ErrorCorrection::Redundancy { .. } = udptl.error_correction {
        udptl.error_correction = ErrorCorrection::Redundancy { depth: cfg.redundancy_depth };
    }
    let settings = T38Settings {
        version: n.agreed.version,
        max_bit_rate: n.agreed.max_bit_rate.unwrap_or(14_400).min(cfg.max_bit_rate),
        transferred_tcf: n.agreed.rate_management == RateManagement::TransferredTcf,
        fill_bit_removal: n.agreed.fill_bit_removal,
        max_datagram: udptl.max_datagram,
    };
    (udptl, settings)
}

/// Our answer to the peer's re-offer: the T.38 line accepted on `local`,
/// every other line refused (port 0), our origin continued.
pub fn answer(ours_now: &SessionDescription, offer: &SessionDescription, local: SocketAddr, cfg: &FaxSettings) -> Result<T38Answer, String> {
    let (media, n) = t38::answer_t38_media(offer, local.port(), &capabilities(cfg)).map_err(|e| e.to_string())?;
    let remote = remote_of(offer, n.index)?;
    let mut sdp = ours_now.clone();
    sdp.origin.session_version += 1;
    sdp.connection = Some(Connection::for_ip(local.ip()));
    sdp.media = media;
    let (udptl, settings) = settings(&n, cfg);
    Ok(T38Answer { sdp, remote, udptl, settings })
}

/// Our re-offer switching the call to T.38: the audio line becomes the
/// image line (RFC 3264 8.3.3 allows changing a line's media type).
pub fn offer(ours_now: &SessionDescription, local: SocketAddr, cfg: &FaxSettings) -> SessionDescription {
    let mut sdp = ours_now.clone();
    sdp.origin.session_version += 1;
    sdp.connection = Some(Connection::for_ip(local.ip()));
    let line = t38::t38_offer_media(local.port(), &capabilities(cfg));
    match sdp.media.iter().position(|m| m.media == "audio") {
        Some(i) => sdp.media[i] = line,
        None => sdp.media.push(line),
    }
    sdp
}

/// The peer's answer to `offered` (built by `offer`): where to send UDPTL
/// and with what.
pub fn from_answer(offered: &SessionDescription, answer: &SessionDescription, cfg: &FaxSettings) -> Result<(SocketAddr, UdptlConfig, T38Settings), String> {
    let ours = offered.t38().map(|(_, p)| p).unwrap_or_else(|_| T38Params::offer(&capabilities(cfg)));
    let n = t38::process_t38_answer(answer, &ours).map_err(|e| e.to_string())?;
    let remote = remote_of(answer, n.index)?;
    let (udptl, settings) = settings(&n, cfg);
    Ok((remote, udptl, settings))
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUDIO: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
    const T38_OFFER: &str = "v=0\r\no=gw 5 6 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=image 50000 udptl t38\r\n\
a=T38FaxVersion:0\r\na=T38MaxBitRate:9600\r\na=T38FaxRateManagement:transferredTCF\r\na=T38FaxMaxDatagram:200\r\na=T38FaxUdpEC:t38UDPRedundancy\r\n";

    fn sdp(s: &str) -> SessionDescription {
        crate::sdp::parse(s.as_bytes()).unwrap()
    }

    #[test]
    fn answers_a_t38_reoffer_and_bounds_what_we_send_by_the_far_datagram() {
        let ours = sdp(AUDIO);
        let cfg = FaxSettings::default();
        let a = answer(&ours, &sdp(T38_OFFER), "127.0.0.1:40100".parse().unwrap(), &cfg).unwrap();
        assert_eq!(a.remote, "127.0.0.2:50000".parse().unwrap());
        assert_eq!(a.sdp.origin.session_version, 2, "our origin continues");
        assert_eq!(a.sdp.media.len(), 1);
        assert_eq!((a.sdp.media[0].media.as_str(), a.sdp.media[0].port), ("image", 40100));
        assert_eq!(a.udptl.max_datagram, 200);
        assert_eq!(a.udptl.error_correction, ErrorCorrection::Redundancy { depth: 3 });
        assert_eq!(a.settings.max_bit_rate, 9600);
        let text = String::from_utf8(a.sdp.to_bytes()).unwrap();
        assert!(text.contains("a=T38FaxRateManagement:transferredTCF"), "{text}");
    }

    #[test]
    fn our_offer_replaces_the_audio_line_and_reads_the_answer() {
        let ours = sdp(AUDIO);
        let cfg = FaxSettings::default();
        let o = offer(&ours, "127.0.0.1:40100".parse().unwrap(), &cfg);
        assert!(has_image(&o));
        assert_eq!(o.media.len(), 1);
        let (remote, udptl, settings) = from_answer(&o, &sdp(T38_OFFER), &cfg).unwrap();
        assert_eq!(remote.port(), 50000);
        assert_eq!(udptl.max_datagram, 200);
        assert_eq!(settings.max_bit_rate, 9600);
        let refused = sdp(&T38_OFFER.replace("m=image 50000", "m=image 0"));
        assert!(from_answer(&o, &refused, &cfg).is_err());
        assert!(!has_image(&refused));
    }
}
