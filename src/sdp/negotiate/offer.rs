//! The offerer side of RFC 3264: build an offer toward a phone or carrier, read its answer, and
//! build re-offers (hold, resume, new address) within the session.
//!
//! Owns: payload type allocation, §7 answer checking, §8 re-offer rules.
//! Must not touch: SIP, sockets, the media engine.

use std::net::IpAddr;

use super::answer::choose_dtmf;
use super::build::{self, DTMF_EVENTS};
use super::codec::{self, CodecPrefs, CodecSpec, Format};
use super::error::NegotiationError;
use super::types::{LocalMedia, NegotiatedMedia, DEFAULT_PTIME};
use crate::sdp::{Direction, MediaDescription, SessionDescription};

/// Payload type of telephone-event/8000 in our offers: the customary number, which some
/// carriers' SBCs assume (RFC 4733 itself leaves it dynamic).
pub const TELEPHONE_EVENT_PT: u8 = 101;

/// RFC 3551 §6: 96–127 are the dynamic payload types.
const DYNAMIC_PTS: std::ops::RangeInclusive<u8> = 96..=127;

/// A new offer with one RTP/AVP audio stream listing every preferred codec (RFC 3264 §5).
///
/// Static codecs keep their RFC 3551 numbers; the others get dynamic ones from 96 up, skipping
/// [`TELEPHONE_EVENT_PT`]. With telephone-event on, `telephone-event/8000` is offered at 101 and,
/// when a 48 kHz codec (opus) is offered, `telephone-event/48000` as well so that DTMF can share
/// opus's clock (RFC 4733 §2.1). Every format carries `a=rtpmap`, plus `a=fmtp` where we have
/// receiver parameters, `a=ptime` and the direction.
pub fn offer(prefs: &CodecPrefs, local: &LocalMedia) -> SessionDescription {
    let mut sdp = build::skeleton(local);
    let mut next_dynamic =
        DYNAMIC_PTS.filter(|pt| !local.telephone_event || *pt != TELEPHONE_EVENT_PT);
    let mut assigned: Vec<(u8, CodecSpec)> = Vec::new();
    for c in prefs.codecs() {
        // Running out of 32 dynamic numbers needs a 32-codec list; the extra codecs are dropped.
        if let Some(pt) = c.static_pt().or_else(|| next_dynamic.next()) {
            assigned.push((pt, c.clone()));
        }
    }
    if local.telephone_event {
        assigned.push((TELEPHONE_EVENT_PT, dtmf_spec(8000)));
        if prefs.codecs().iter().any(|c| c.clock_rate == 48000) {
            if let Some(pt) = next_dynamic.next() {
                assigned.push((pt, dtmf_spec(48000)));
            }
        }
    }
    let formats = assigned.iter().map(|(pt, _)| pt.to_string()).collect();
    let mut m = build::media_line("audio", local.port, "RTP/AVP", formats);
    for (pt, c) in &assigned {
        build::push_codec_attrs(&mut m, *pt, c);
    }
    build::push_stream_attrs(&mut m, local, local.ptime_pref, local.direction_pref);
    sdp.media.push(m);
    sdp
}

fn dtmf_spec(clock_rate: u32) -> CodecSpec {
    let mut te = CodecSpec::telephone_event(clock_rate);
    te.fmtp = Some(DTMF_EVENTS.to_owned());
    te
}

/// Check an answer against our offer and say what was agreed (RFC 3264 §7).
///
/// The answerer chose; we verify: one `m=` line per offered one with the same media type (§6),
/// and for each accepted stream a codec whose payload type we offered for that same codec.
/// Formats that fail the check are skipped (a peer may list extras); a stream left with none is
/// `NotInOffer`. Telephone-event is used only if its PT is one we offered as telephone-event.
/// `NoCommonCodec` if every stream was rejected (port 0).
pub fn process_answer(
    offer: &SessionDescription,
    answer: &SessionDescription,
) -> Result<Vec<NegotiatedMedia>, NegotiationError> {
    if offer.media.len() != answer.media.len() {
        return Err(NegotiationError::MediaCountMismatch {
            offered: offer.media.len(),
            answered: answer.media.len(),
        });
    }
    let mut agreed = Vec::new();
    for (index, (om, am)) in offer.media.iter().zip(&answer.media).enumerate() {
        if !om.media.eq_ignore_ascii_case(&am.media) {
            return Err(NegotiationError::MediaTypeMismatch { index });
        }
        if om.port == 0 || am.port == 0 {
            continue;
        }
        agreed.push(agreed_stream(offer, answer, index, om, am)?);
    }
    if agreed.is_empty() {
        return Err(NegotiationError::NoCommonCodec);
    }
    Ok(agreed)
}

fn agreed_stream(
    offer: &SessionDescription,
    answer: &SessionDescription,
    index: usize,
    om: &MediaDescription,
    am: &MediaDescription,
) -> Result<NegotiatedMedia, NegotiationError> {
    let offered = codec::formats(om);
    let answered = answered_formats(am, &offered);
    // Keep only formats whose PT we offered for the same codec (§7 check).
    let valid: Vec<Format> = answered
        .into_iter()
        .filter(|a| {
            offered
                .iter()
                .any(|o| o.pt == a.pt && o.codec.same_codec(&a.codec))
        })
        .collect();
    let chosen = valid
        .iter()
        .find(|f| !f.codec.is_telephone_event())
        .ok_or(NegotiationError::NotInOffer { index })?;
    let dtmf = choose_dtmf(&valid, chosen.codec.clock_rate);
    let our_ptime = build::choose_ptime(om, DEFAULT_PTIME);
    let offered_dir = offer.direction(index).unwrap_or(Direction::SendRecv);
    let answer_dir = answer.direction(index).unwrap_or(Direction::SendRecv);
    let (remote_rtp, remote_rtcp) = build::remote_addrs(answer, index);
    Ok(NegotiatedMedia {
        index,
        codec: chosen.codec.clone(),
        pt: chosen.pt,
        dtmf_pt: dtmf.map(|d| d.pt),
        dtmf_clock_rate: dtmf.map_or(8000, |d| d.codec.clock_rate),
        ptime: build::choose_ptime(am, our_ptime),
        direction: build::our_direction(answer_dir, offered_dir),
        remote_rtp,
        remote_rtcp,
    })
}

/// The answer's formats, resolved by its own `a=rtpmap` or, when it leaves a dynamic PT
/// unmapped, by ours (the mapping is shared per RFC 3264 §6.1); `fmtp` is the answerer's.
fn answered_formats(am: &MediaDescription, offered: &[Format]) -> Vec<Format> {
    let own = codec::formats(am);
    am.formats
        .iter()
        .filter_map(|f| f.trim().parse::<u8>().ok())
        .filter_map(|pt| match own.iter().find(|f| f.pt == pt) {
            Some(f) => Some(f.clone()),
            None => offered.iter().find(|f| f.pt == pt).map(|f| Format {
                pt,
                codec: CodecSpec {
                    fmtp: codec::fmtp(am, pt),
                    ..f.codec.clone()
                },
            }),
        })
        .collect()
}

/// A direction change in a re-offer (RFC 3264 §8.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectionChange {
    /// Use exactly this direction.
    Set(Direction),
    /// Put the peer on hold: stop receiving (sendrecv → sendonly, recvonly → inactive).
    Hold,
    /// Take the peer off hold: receive again (sendonly → sendrecv, inactive → recvonly).
    Resume,
}

/// What a re-offer changes relative to our previous SDP; `Default` changes nothing (a session
/// refresh, which keeps the version).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReofferChanges {
    pub direction: Option<DirectionChange>,
    /// A new RTP address and port for our accepted stream(s), e.g. after moving the leg to
    /// another media port.
    pub endpoint: Option<(IpAddr, u16)>,
}

/// A new offer in an existing session (RFC 3264 §8), built from the last SDP we sent
/// (offer or answer).
///
/// Same `o=` line with the version incremented by one if anything changed, left alone if not
/// (§8: an unchanged version promises identical SDP). The same `m=` lines in the same order
/// with the same payload type mapping (§8.3.2); rejected streams stay rejected. Changes apply to
/// every stream with a non-zero port.
pub fn reoffer(
    previous: &SessionDescription,
    changes: &ReofferChanges,
) -> Result<SessionDescription, NegotiationError> {
    let mut sdp = previous.clone();
    let active: Vec<usize> = (0..sdp.media.len())
        .filter(|i| sdp.media.get(*i).is_some_and(|m| m.port != 0))
        .collect();
    for index in active {
        if let Some((ip, port)) = changes.endpoint {
            sdp.set_media_endpoint(index, ip, port)?;
        }
        if let Some(change) = changes.direction {
            // Our own SDP never uses c=0.0.0.0, so this is the declared direction.
            let current = sdp.direction(index).unwrap_or(Direction::SendRecv);
            let new = match change {
                DirectionChange::Set(d) => d,
                DirectionChange::Hold => current.without_receive(),
                DirectionChange::Resume => build::with_receive(current),
            };
            sdp.set_direction(index, new)?;
        }
    }
    if sdp != *previous {
        sdp.bump_version();
    }
    Ok(sdp)
}
