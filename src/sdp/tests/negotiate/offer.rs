//! Requirements: our offers (RFC 3264 §5: static PTs kept, dynamic from 96, telephone-event at
//! 101, rtpmap/fmtp/ptime/direction), and checking answers to them (§7: the chosen PT must be
//! one we offered for that codec; one m= line per offered one).

use super::fixtures::simple;
use super::{attrs, local, prefs, reparses, sdp};
use crate::sdp::negotiate::{answer, offer, process_answer, NegotiationError};
use crate::sdp::Direction;

#[test]
fn offer_lists_all_preferred_codecs() {
    let o = offer(&prefs("opus,G722,PCMU,PCMA,iLBC/8000"), &local());
    reparses(&o);
    assert!(o.origin.session_id.parse::<u64>().is_ok());
    assert_eq!(o.origin.address, "192.0.2.100");
    assert_eq!(o.connection_for(0), Some(local().ip));
    assert_eq!(o.media.len(), 1);
    let m = &o.media[0];
    assert_eq!(
        (m.media.as_str(), m.port, m.proto.as_str()),
        ("audio", 30000, "RTP/AVP")
    );
    // opus 96, iLBC 97, then telephone-event/8000 at 101 and /48000 (opus's clock) at 98.
    assert_eq!(m.formats, ["96", "9", "0", "8", "97", "101", "98"]);
    assert_eq!(
        attrs(m),
        [
            "rtpmap:96 opus/48000/2",
            "fmtp:96 maxplaybackrate=16000;useinbandfec=1",
            "rtpmap:9 G722/8000",
            "rtpmap:0 PCMU/8000",
            "rtpmap:8 PCMA/8000",
            "rtpmap:97 iLBC/8000",
            "rtpmap:101 telephone-event/8000",
            "fmtp:101 0-15",
            "rtpmap:98 telephone-event/48000",
            "fmtp:98 0-15",
            "ptime:20",
            "sendrecv",
        ]
    );
}

#[test]
fn offer_without_telephone_event_or_opus() {
    let mut l = local();
    l.telephone_event = false;
    l.direction_pref = Direction::SendOnly;
    let o = offer(&prefs("PCMU,PCMA"), &l);
    assert_eq!(o.media[0].formats, ["0", "8"]);
    assert_eq!(o.direction(0), Some(Direction::SendOnly));
    // telephone-event on but no 48 kHz codec: only the 8 kHz one.
    let o = offer(&prefs("PCMA"), &local());
    assert_eq!(o.media[0].formats, ["8", "101"]);
}

/// An answer from a peer: `body` is its audio m= line and attributes.
fn peer_answer(body: &str) -> crate::sdp::SessionDescription {
    sdp(&format!(
        "v=0\r\no=peer 9 9 IN IP4 198.51.100.9\r\ns=-\r\nc=IN IP4 198.51.100.9\r\nt=0 0\r\n{body}"
    ))
}

#[test]
fn process_answer_takes_the_answerers_choice() {
    let o = offer(&prefs("opus,PCMU,PCMA"), &local());
    let a = peer_answer(
        "m=audio 6000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=ptime:30\r\n",
    );
    let agreed = process_answer(&o, &a).expect("valid answer");
    assert_eq!(agreed.len(), 1);
    let m = &agreed[0];
    assert_eq!((m.index, m.pt, m.dtmf_pt, m.ptime), (0, 8, Some(101), 30));
    assert_eq!(m.codec.name, "PCMA");
    assert_eq!(m.direction, Direction::SendRecv);
    assert_eq!(
        m.remote_rtp,
        Some("198.51.100.9:6000".parse().expect("addr"))
    );
}

#[test]
fn process_answer_resolves_unmapped_dynamic_pt_by_our_offer() {
    let o = offer(&prefs("opus,PCMU"), &local());
    // opus got 96, so telephone-event/48000 got the next dynamic PT, 97.
    let a = peer_answer("m=audio 6000 RTP/AVP 96 97\r\na=fmtp:96 useinbandfec=1\r\n");
    let m = &process_answer(&o, &a).expect("valid answer")[0];
    assert_eq!((m.pt, m.dtmf_pt, m.dtmf_clock_rate), (96, Some(97), 48000));
    assert_eq!(m.codec.fmtp.as_deref(), Some("useinbandfec=1"));
}

#[test]
fn process_answer_rejects_codecs_we_did_not_offer() {
    let o = offer(&prefs("PCMU,PCMA"), &local());
    // G.729 was never offered.
    let a = peer_answer("m=audio 6000 RTP/AVP 18\r\n");
    assert_eq!(
        process_answer(&o, &a),
        Err(NegotiationError::NotInOffer { index: 0 })
    );
    // PT 0 remapped to another codec.
    let a = peer_answer("m=audio 6000 RTP/AVP 0\r\na=rtpmap:0 G729/8000\r\n");
    assert_eq!(
        process_answer(&o, &a),
        Err(NegotiationError::NotInOffer { index: 0 })
    );
    // An extra unknown format is skipped when a valid one follows.
    let a = peer_answer("m=audio 6000 RTP/AVP 18 0\r\n");
    assert_eq!(process_answer(&o, &a).expect("valid")[0].pt, 0);
    // Telephone-event on a PT we did not offer for it: no DTMF, no failure.
    let a = peer_answer("m=audio 6000 RTP/AVP 0 100\r\na=rtpmap:100 telephone-event/8000\r\n");
    assert_eq!(process_answer(&o, &a).expect("valid")[0].dtmf_pt, None);
}

#[test]
fn process_answer_structure_errors() {
    let o = offer(&prefs("PCMU"), &local());
    let two = peer_answer("m=audio 6000 RTP/AVP 0\r\nm=video 0 RTP/AVP 31\r\n");
    assert_eq!(
        process_answer(&o, &two),
        Err(NegotiationError::MediaCountMismatch {
            offered: 1,
            answered: 2
        })
    );
    let video = peer_answer("m=video 6000 RTP/AVP 0\r\n");
    assert_eq!(
        process_answer(&o, &video),
        Err(NegotiationError::MediaTypeMismatch { index: 0 })
    );
    let rejected = peer_answer("m=audio 0 RTP/AVP 0\r\n");
    assert_eq!(
        process_answer(&o, &rejected),
        Err(NegotiationError::NoCommonCodec)
    );
}

#[test]
fn process_answer_directions() {
    let mut l = local();
    l.direction_pref = Direction::SendOnly; // we offer hold
    let o = offer(&prefs("PCMU"), &l);
    let a = peer_answer("m=audio 6000 RTP/AVP 0\r\na=recvonly\r\n");
    assert_eq!(
        process_answer(&o, &a).expect("valid")[0].direction,
        Direction::SendOnly
    );
    let a = peer_answer("m=audio 6000 RTP/AVP 0\r\na=inactive\r\n");
    assert_eq!(
        process_answer(&o, &a).expect("valid")[0].direction,
        Direction::Inactive
    );
}

#[test]
fn our_offer_answered_by_ourselves_agrees_both_ways() {
    // Two switchboard legs with different preferences must agree on one codec and PT.
    let o = offer(&prefs("opus,G722,PCMU"), &local());
    let mut peer = local();
    peer.port = 40000;
    let n = answer(&o, &prefs("PCMU,G722"), &peer).expect("answer");
    let agreed = process_answer(&o, &n.answer_sdp).expect("valid answer");
    assert_eq!((agreed[0].pt, n.media[0].pt), (0, 0));
    assert_eq!(
        (agreed[0].dtmf_pt, n.media[0].dtmf_pt),
        (Some(101), Some(101))
    );
    assert_eq!(
        agreed[0].remote_rtp,
        Some("192.0.2.100:40000".parse().expect("addr"))
    );
}

#[test]
fn simple_fixture_is_valid() {
    // Guards the helper used by the direction tests.
    reparses(&sdp(&simple("192.0.2.9", "a=sendonly\r\n")));
}
