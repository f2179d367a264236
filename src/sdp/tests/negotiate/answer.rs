//! Requirements: answer by our preference (RFC 3264 §6), keep offered PTs, telephone-event with
//! the offerer's PT and the codec's clock, fmtp and ptime rules, §6.1 directions incl. old-style
//! hold, rejected streams keep their formats with port 0, 488 when nothing fits.

use super::fixtures::{simple, AUDIO_PLUS_T38, BARESIP_FULL, WEBRTC_OPUS, WEBRTC_SRTP};
use super::{attrs, local, prefs, reparses, sdp};
use crate::sdp::negotiate::{answer, CodecSpec, NegotiationError};
use crate::sdp::tests::vectors::{CARRIER_OFFER, LINPHONE_OFFER, T38_OFFER};
use crate::sdp::Direction;

#[test]
fn linphone_opus_first_with_48k_dtmf_and_video_rejected() {
    let offer = sdp(LINPHONE_OFFER);
    let n = answer(&offer, &prefs("opus,G722,PCMU,PCMA"), &local()).expect("answer");
    let a = &n.answer_sdp;
    reparses(a);
    assert_eq!(a.media.len(), 2, "one answer line per offered line");
    let audio = &a.media[0];
    assert_eq!((audio.port, audio.proto.as_str()), (30000, "RTP/AVP"));
    assert_eq!(audio.formats, ["96", "101"]);
    assert_eq!(
        attrs(audio),
        [
            "rtpmap:96 opus/48000/2",
            "fmtp:96 maxplaybackrate=16000;useinbandfec=1",
            "rtpmap:101 telephone-event/48000",
            "fmtp:101 0-15",
            "ptime:20",
            "sendrecv",
        ]
    );
    // RFC 3264 §6: rejected with port 0, media type and formats kept, nothing else.
    let video = &a.media[1];
    assert_eq!((video.media.as_str(), video.port), ("video", 0));
    assert_eq!(video.formats, ["96"]);
    assert!(video.attributes.is_empty());

    assert_eq!(n.media.len(), 1);
    let m = &n.media[0];
    assert_eq!(
        (m.index, m.pt, m.dtmf_pt, m.dtmf_clock_rate),
        (0, 96, Some(101), 48000)
    );
    assert!(m.codec.same_codec(&CodecSpec::opus()));
    assert_eq!(
        m.codec.fmtp.as_deref(),
        Some("useinbandfec=1"),
        "peer's fmtp for our encoder"
    );
    assert_eq!(m.direction, Direction::SendRecv);
    assert_eq!(
        m.remote_rtp,
        Some("198.51.100.7:7078".parse().expect("addr"))
    );
    assert_eq!(
        m.remote_rtcp,
        Some("198.51.100.7:7079".parse().expect("addr"))
    );
}

#[test]
fn linphone_our_order_beats_theirs() {
    // Offer lists PCMU (0) before PCMA (8); we prefer PCMA. DTMF falls back to 8 kHz (PT 100).
    let n = answer(&sdp(LINPHONE_OFFER), &prefs("PCMA,PCMU"), &local()).expect("answer");
    let m = &n.media[0];
    assert_eq!((m.pt, m.dtmf_pt, m.dtmf_clock_rate), (8, Some(100), 8000));
    assert_eq!(n.answer_sdp.media[0].formats, ["8", "100"]);
}

#[test]
fn baresip_keeps_offered_dynamic_pt_and_static_without_rtpmap() {
    let offer = sdp(BARESIP_FULL);
    let n = answer(&offer, &prefs("opus,PCMU"), &local()).expect("answer");
    assert_eq!((n.media[0].pt, n.media[0].dtmf_pt), (111, Some(101)));
    // Only 8 kHz telephone-event was offered, so it is used next to opus.
    assert_eq!(n.media[0].dtmf_clock_rate, 8000);
    let a = attrs(&n.answer_sdp.media[0]);
    assert!(a.contains(&"rtpmap:111 opus/48000/2".to_owned()), "{a:?}");
    // Our receiver parameters, not an echo of the offerer's stereo=1.
    assert!(
        a.contains(&"fmtp:111 maxplaybackrate=16000;useinbandfec=1".to_owned()),
        "{a:?}"
    );
    assert_eq!(
        n.media[0].codec.fmtp.as_deref(),
        Some("stereo=1;sprop-stereo=1")
    );

    // G.722 is offered as bare static PT 9 (RFC 3551 Table 4).
    let n = answer(&offer, &prefs("G722,PCMU"), &local()).expect("answer");
    assert_eq!(n.media[0].pt, 9);
    assert_eq!(n.answer_sdp.media[0].formats, ["9", "101"]);
    assert!(attrs(&n.answer_sdp.media[0]).contains(&"rtpmap:9 G722/8000".to_owned()));
}

#[test]
fn carrier_g711_with_dtmf_101_and_ptime() {
    let offer = sdp(CARRIER_OFFER);
    let n = answer(&offer, &prefs("PCMA,PCMU"), &local()).expect("answer");
    let m = &n.media[0];
    assert_eq!((m.pt, m.dtmf_pt, m.ptime), (8, Some(101), 20));
    assert_eq!(
        m.remote_rtp,
        Some("203.0.113.10:20500".parse().expect("addr"))
    );
    assert_eq!(
        m.remote_rtcp,
        Some("203.0.113.10:20501".parse().expect("addr"))
    );
    reparses(&n.answer_sdp);
}

#[test]
fn carrier_g729_fmtp_echoed() {
    // annexb must match on both ends (RFC 4856); with no fmtp of ours we echo theirs.
    let n = answer(&sdp(CARRIER_OFFER), &prefs("G729,PCMU"), &local()).expect("answer");
    assert_eq!(n.media[0].pt, 18);
    let a = attrs(&n.answer_sdp.media[0]);
    assert_eq!(&a[..2], ["rtpmap:18 G729/8000", "fmtp:18 annexb=no"]);
}

#[test]
fn ptime_honours_offer_then_maxptime() {
    let mut l = local();
    l.ptime_pref = 30;
    // The offer's ptime wins over our preference.
    let n = answer(&sdp(CARRIER_OFFER), &prefs("PCMU"), &l).expect("answer");
    assert_eq!(n.media[0].ptime, 20);
    // Without ptime, ours applies, capped by maxptime.
    let text = CARRIER_OFFER.replace("a=ptime:20\r\n", "");
    l.ptime_pref = 60;
    let n = answer(&sdp(&text), &prefs("PCMU"), &l).expect("answer");
    assert_eq!(n.media[0].ptime, 40);
    assert!(attrs(&n.answer_sdp.media[0]).contains(&"ptime:40".to_owned()));
    // Nonsense values are ignored, default 20.
    let text = CARRIER_OFFER
        .replace("a=ptime:20", "a=ptime:0")
        .replace("a=maxptime:40", "a=maxptime:9999");
    let n = answer(&sdp(&text), &prefs("PCMU"), &local()).expect("answer");
    assert_eq!(n.media[0].ptime, 20);
}

#[test]
fn webrtc_style_opus_only() {
    let offer = sdp(WEBRTC_OPUS);
    let n = answer(&offer, &prefs("PCMU,opus"), &local()).expect("answer");
    let m = &n.media[0];
    assert_eq!((m.pt, m.dtmf_pt), (109, None), "no telephone-event offered");
    assert_eq!(
        n.answer_sdp.media[0].proto, "RTP/AVPF",
        "answer keeps the profile"
    );
    assert_eq!(
        m.remote_rtcp,
        Some("198.51.100.40:51000".parse().expect("addr"))
    );
    // rtcp-mux is not agreed to: we have a separate RTCP port (RFC 5761 §5.1.1: omit to refuse).
    assert!(n.answer_sdp.media[0].attribute("rtcp-mux").is_none());

    let err = answer(&offer, &prefs("PCMU,PCMA"), &local()).expect_err("no opus");
    assert_eq!(err, NegotiationError::NoCommonCodec);
    assert_eq!(err.sip_status(), Some(488));

    // DTLS-SRTP is a transport we cannot terminate, whatever the codec.
    let err = answer(&sdp(WEBRTC_SRTP), &prefs("opus"), &local()).expect_err("srtp");
    assert_eq!(err, NegotiationError::NoCommonCodec);
}

#[test]
fn direction_matrix_rfc3264_6_1() {
    use Direction::*;
    let cases = [
        // (c=, offer line, our preference, our answer direction)
        ("192.0.2.9", "", SendRecv, SendRecv),
        ("192.0.2.9", "a=sendrecv\r\n", SendRecv, SendRecv),
        ("192.0.2.9", "a=sendonly\r\n", SendRecv, RecvOnly),
        ("192.0.2.9", "a=recvonly\r\n", SendRecv, SendOnly),
        ("192.0.2.9", "a=inactive\r\n", SendRecv, Inactive),
        // We hold (music on hold toward them): sendrecv offer → sendonly; their hold too → inactive.
        ("192.0.2.9", "a=sendrecv\r\n", SendOnly, SendOnly),
        ("192.0.2.9", "a=sendonly\r\n", SendOnly, Inactive),
        // RFC 3264 §8.4 / RFC 2543 hold.
        ("0.0.0.0", "", SendRecv, RecvOnly),
        ("0.0.0.0", "a=inactive\r\n", SendRecv, Inactive),
    ];
    for (conn, line, pref, want) in cases {
        let mut l = local();
        l.direction_pref = pref;
        let n = answer(&sdp(&simple(conn, line)), &prefs("PCMU"), &l).expect("answer");
        assert_eq!(
            n.media[0].direction, want,
            "c={conn} {line:?} pref {pref:?}"
        );
        assert!(attrs(&n.answer_sdp.media[0]).contains(&want.as_str().to_owned()));
        if conn == "0.0.0.0" {
            assert_eq!(
                (n.media[0].remote_rtp, n.media[0].remote_rtcp),
                (None, None)
            );
            // Our answer still carries our real address.
            assert_eq!(n.answer_sdp.connection_for(0), Some(local().ip));
        }
    }
}

#[test]
fn t38_rejected_when_alone_or_beside_audio() {
    let err = answer(&sdp(T38_OFFER), &prefs("PCMU"), &local()).expect_err("t38 only");
    assert_eq!(err.sip_status(), Some(488));

    let n = answer(&sdp(AUDIO_PLUS_T38), &prefs("PCMU"), &local()).expect("answer");
    let image = &n.answer_sdp.media[1];
    assert_eq!(
        (image.media.as_str(), image.port, image.proto.as_str()),
        ("image", 0, "udptl")
    );
    assert_eq!(image.formats, ["t38"]);
    assert_eq!(n.media.len(), 1);
    reparses(&n.answer_sdp);
}

#[test]
fn disabled_and_second_audio_streams_rejected() {
    let text = "v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\n\
                m=audio 0 RTP/AVP 0\r\nm=audio 4000 RTP/AVP 8\r\nm=audio 4002 RTP/AVP 0\r\n";
    let n = answer(&sdp(text), &prefs("PCMU,PCMA"), &local()).expect("answer");
    let ports: Vec<u16> = n.answer_sdp.media.iter().map(|m| m.port).collect();
    assert_eq!(
        ports,
        [0, 30000, 0],
        "offered-disabled stays 0; one port pair, one stream"
    );
    assert_eq!((n.media[0].index, n.media[0].pt), (1, 8));
}

#[test]
fn no_common_codec_and_no_media() {
    let err = answer(&sdp(CARRIER_OFFER), &prefs("opus,G722"), &local()).expect_err("none");
    assert_eq!(err, NegotiationError::NoCommonCodec);
    let none = "v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\n";
    assert_eq!(
        answer(&sdp(none), &prefs("PCMU"), &local()),
        Err(NegotiationError::NoCommonCodec)
    );
    // A dynamic PT without rtpmap cannot be identified, so it never matches.
    let unmapped = simple("192.0.2.9", "").replace("RTP/AVP 0 8 101", "RTP/AVP 96");
    assert_eq!(
        answer(&sdp(&unmapped), &prefs("opus,PCMU"), &local()),
        Err(NegotiationError::NoCommonCodec)
    );
}

#[test]
fn telephone_event_off_and_nonstandard_rtcp() {
    let mut l = local();
    l.telephone_event = false;
    l.rtcp_port = Some(31001);
    let n = answer(&sdp(CARRIER_OFFER), &prefs("PCMU"), &l).expect("answer");
    assert_eq!(n.media[0].dtmf_pt, None);
    assert_eq!(n.answer_sdp.media[0].formats, ["0"]);
    assert!(attrs(&n.answer_sdp.media[0]).contains(&"rtcp:31001".to_owned()));
    assert_eq!(
        n.answer_sdp.rtcp_endpoint(0),
        Some("192.0.2.100:31001".parse().expect("addr"))
    );
}
