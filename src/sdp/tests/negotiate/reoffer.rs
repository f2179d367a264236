//! Requirements: re-INVITEs (RFC 3264 §8): same o= session id, version +1 only when the SDP
//! changes, same m= lines and PT mapping, hold/resume by direction (§8.4), endpoint moves, and
//! answering a re-offer without flipping codecs.

use super::fixtures::simple;
use super::{attrs, local, prefs, sdp};
use crate::sdp::negotiate::{
    answer, answer_update, offer, reoffer, DirectionChange, ReofferChanges,
};
use crate::sdp::Direction;

fn change(d: DirectionChange) -> ReofferChanges {
    ReofferChanges {
        direction: Some(d),
        ..ReofferChanges::default()
    }
}

#[test]
fn hold_and_resume_bump_version_keep_mapping() {
    let first = offer(&prefs("opus,PCMU"), &local());
    let held = reoffer(&first, &change(DirectionChange::Hold)).expect("reoffer");
    assert_eq!(held.origin.session_id, first.origin.session_id);
    assert_eq!(
        held.origin.session_version,
        first.origin.session_version + 1
    );
    assert_eq!(held.direction(0), Some(Direction::SendOnly));
    assert_eq!(held.media[0].formats, first.media[0].formats);
    let rtpmaps = |s: &crate::sdp::SessionDescription| {
        attrs(&s.media[0])
            .into_iter()
            .filter(|a| a.starts_with("rtpmap"))
            .collect::<Vec<_>>()
    };
    assert_eq!(rtpmaps(&held), rtpmaps(&first));

    let resumed = reoffer(&held, &change(DirectionChange::Resume)).expect("reoffer");
    assert_eq!(
        resumed.origin.session_version,
        first.origin.session_version + 2
    );
    assert_eq!(resumed.direction(0), Some(Direction::SendRecv));
    // Exactly one direction attribute after the edits.
    let dirs = attrs(&resumed.media[0])
        .into_iter()
        .filter(|a| Direction::from_attr(a).is_some())
        .count();
    assert_eq!(dirs, 1);
}

#[test]
fn hold_while_held_is_inactive() {
    // They held us (we answered recvonly); now we hold too: inactive (RFC 3264 §8.4).
    let n = answer(
        &sdp(&simple("192.0.2.9", "a=sendonly\r\n")),
        &prefs("PCMU"),
        &local(),
    )
    .expect("answer");
    let held = reoffer(&n.answer_sdp, &change(DirectionChange::Hold)).expect("reoffer");
    assert_eq!(held.direction(0), Some(Direction::Inactive));
    let resumed = reoffer(&held, &change(DirectionChange::Resume)).expect("reoffer");
    assert_eq!(resumed.direction(0), Some(Direction::RecvOnly));
}

#[test]
fn unchanged_reoffer_keeps_version_and_endpoint_move() {
    let first = offer(&prefs("PCMU"), &local());
    let same = reoffer(&first, &ReofferChanges::default()).expect("reoffer");
    assert_eq!(same, first, "session refresh: identical SDP, same version");

    let moved = reoffer(
        &first,
        &ReofferChanges {
            endpoint: Some(("192.0.2.200".parse().expect("ip"), 32000)),
            ..ReofferChanges::default()
        },
    )
    .expect("reoffer");
    assert_eq!(
        moved.rtp_endpoint(0),
        Some("192.0.2.200:32000".parse().expect("addr"))
    );
    assert_eq!(
        moved.origin.session_version,
        first.origin.session_version + 1
    );
}

#[test]
fn rejected_streams_stay_rejected() {
    let offer_text = super::super::vectors::LINPHONE_OFFER;
    let n = answer(&sdp(offer_text), &prefs("PCMU"), &local()).expect("answer");
    let held = reoffer(&n.answer_sdp, &change(DirectionChange::Hold)).expect("reoffer");
    assert_eq!(held.media[1].port, 0);
    assert!(held.media[1].attributes.is_empty());
}

#[test]
fn answer_update_versions_and_sticky_codec() {
    let initial = sdp(&simple("192.0.2.9", ""));
    let first = answer(&initial, &prefs("PCMA,PCMU"), &local()).expect("answer");
    let prev = &first.answer_sdp;

    // Same offer again (session refresh): identical answer, same version.
    let again = answer_update(&initial, &prefs("PCMA,PCMU"), &local(), prev).expect("answer");
    assert_eq!(&again.answer_sdp, prev);

    // They put us on hold: recvonly, version + 1, same session id, same codec.
    let hold = sdp(&simple("192.0.2.9", "a=sendonly\r\n"));
    let held = answer_update(&hold, &prefs("PCMA,PCMU"), &local(), prev).expect("answer");
    assert_eq!(held.answer_sdp.origin.session_id, prev.origin.session_id);
    assert_eq!(
        held.answer_sdp.origin.session_version,
        prev.origin.session_version + 1
    );
    assert_eq!(held.media[0].direction, Direction::RecvOnly);
    assert_eq!(held.media[0].pt, 8);

    // A re-offer that adds opus on top does not flip the running PCMA call to opus.
    let richer = initial
        .to_string()
        .replace("RTP/AVP 0 8 101", "RTP/AVP 96 0 8 101")
        .replace("a=rtpmap:101", "a=rtpmap:96 opus/48000/2\r\na=rtpmap:101");
    let n = answer_update(&sdp(&richer), &prefs("opus,PCMA,PCMU"), &local(), prev).expect("answer");
    assert_eq!(n.media[0].pt, 8);
    // ...but a fresh answer would pick opus.
    let fresh = answer(&sdp(&richer), &prefs("opus,PCMA,PCMU"), &local()).expect("answer");
    assert_eq!(fresh.media[0].pt, 96);
}
