//! Tests for `sdp::negotiate` (RFC 3264 offer/answer for terminated media).
//!
//! Requirements (issue 3): codec preference lists parsed from config; answers pick by *our*
//! preference and keep the offerer's payload types; telephone-event; ptime/maxptime; fmtp;
//! hold/unhold directions incl. c=0.0.0.0; rejected video and T.38 streams; no common codec;
//! offers and answer checking; re-offer version bump with a stable PT mapping; glare.
//! Offers come from real stacks (Linphone, baresip, a carrier SBC, a WebRTC-style client),
//! written out by hand in `vectors.rs` and `negotiate/fixtures.rs`.

mod answer;
mod fixtures;
mod offer;
mod prefs;
mod reoffer;
mod state;

use crate::sdp::negotiate::{CodecPrefs, LocalMedia};
use crate::sdp::{parse, MediaDescription, SessionDescription};

pub(super) fn sdp(text: &str) -> SessionDescription {
    parse(text.as_bytes()).expect("test SDP parses")
}

pub(super) fn prefs(list: &str) -> CodecPrefs {
    list.parse().expect("test codec list parses")
}

/// Our media port in the tests.
pub(super) fn local() -> LocalMedia {
    LocalMedia::new("192.0.2.100".parse().expect("ip"), 30000)
}

/// Media-level attributes as `name` or `name:value`, for compact assertions.
pub(super) fn attrs(m: &MediaDescription) -> Vec<String> {
    m.attributes
        .iter()
        .map(|a| match &a.value {
            Some(v) => format!("{}:{}", a.name, v),
            None => a.name.clone(),
        })
        .collect()
}

/// Everything we emit must survive our own parser unchanged.
pub(super) fn reparses(s: &SessionDescription) {
    assert_eq!(
        &sdp(&s.to_string()),
        s,
        "SDP we produced does not round-trip"
    );
}
