//! The answerer side of RFC 3264: answer an offer from a phone or carrier on a leg whose media
//! we terminate (IVR, queue, conference, recorder).
//!
//! Owns: stream acceptance, codec choice by *our* preference, payload type reuse, DTMF,
//! ptime and direction of the answer (RFC 3264 §6, §6.1, §8).
//! Must not touch: SIP (the caller maps [`NegotiationError`] to 488), sockets, the media engine.

use super::build::{self, DTMF_EVENTS, RTP_PROTOS};
use super::codec::{self, CodecPrefs, CodecSpec, Format};
use super::error::NegotiationError;
use super::types::{LocalMedia, Negotiated, NegotiatedMedia};
use crate::sdp::{Direction, MediaDescription, SessionDescription};

/// Answer an initial offer (RFC 3264 §6).
///
/// Every offered `m=` line gets one in the answer. The first audio stream over RTP/AVP(F) with a
/// codec in common is accepted; every other stream is rejected with port 0 and its format list
/// kept (§6) — we have one RTP port pair per leg, and no video or T.38 (the fax layer answers
/// `m=image` itself). `NoCommonCodec` when nothing could be accepted.
pub fn answer(
    offer: &SessionDescription,
    prefs: &CodecPrefs,
    local: &LocalMedia,
) -> Result<Negotiated, NegotiationError> {
    answer_with(offer, prefs, local, None)
}

/// Answer an offer inside an established session (a re-INVITE, RFC 3264 §8).
///
/// `previous` is the last SDP we sent in this session. The answer keeps its `o=` line and bumps
/// the version only if something changed (§8: an unchanged version promises identical SDP);
/// the codec of `previous` is kept when the new offer still has it, so a hold/unhold does not
/// flip codecs just because the peer reordered its list.
pub fn answer_update(
    offer: &SessionDescription,
    prefs: &CodecPrefs,
    local: &LocalMedia,
    previous: &SessionDescription,
) -> Result<Negotiated, NegotiationError> {
    let mut negotiated = answer_with(offer, prefs, local, Some(previous))?;
    let sdp = &mut negotiated.answer_sdp;
    sdp.origin = previous.origin.clone();
    if sdp != previous {
        sdp.bump_version();
    }
    Ok(negotiated)
}

fn answer_with(
    offer: &SessionDescription,
    prefs: &CodecPrefs,
    local: &LocalMedia,
    previous: Option<&SessionDescription>,
) -> Result<Negotiated, NegotiationError> {
    let mut sdp = build::skeleton(local);
    let mut media = Vec::new();
    for (index, m) in offer.media.iter().enumerate() {
        let sticky = previous
            .and_then(|p| p.media.get(index))
            .and_then(current_codec);
        let accepted = if media.is_empty() && is_rtp_audio(m) {
            accept_audio(offer, index, m, prefs, local, sticky.as_ref())
        } else {
            None
        };
        match accepted {
            Some((line, negotiated)) => {
                sdp.media.push(line);
                media.push(negotiated);
            }
            None => sdp.media.push(rejected(m)),
        }
    }
    if media.is_empty() {
        return Err(NegotiationError::NoCommonCodec);
    }
    Ok(Negotiated {
        answer_sdp: sdp,
        media,
    })
}

/// An offered stream we could terminate: audio, not disabled, RTP without SRTP.
fn is_rtp_audio(m: &MediaDescription) -> bool {
    m.media.eq_ignore_ascii_case("audio")
        && m.port != 0
        && RTP_PROTOS
            .iter()
            .any(|p| p.eq_ignore_ascii_case(m.proto.trim()))
}

/// RFC 3264 §6: a rejected (or already disabled) stream is answered with port 0; the format
/// list is kept because SDP requires at least one format and some stacks match on it.
fn rejected(m: &MediaDescription) -> MediaDescription {
    build::media_line(&m.media, 0, &m.proto, m.formats.clone())
}

/// The codec a previous SDP of ours uses on a stream: its first non-DTMF format.
fn current_codec(m: &MediaDescription) -> Option<CodecSpec> {
    if m.port == 0 {
        return None;
    }
    codec::formats(m)
        .into_iter()
        .map(|f| f.codec)
        .find(|c| !c.is_telephone_event())
}

/// Build the answer line for an acceptable audio stream, or `None` if no codec is in common.
fn accept_audio(
    offer: &SessionDescription,
    index: usize,
    m: &MediaDescription,
    prefs: &CodecPrefs,
    local: &LocalMedia,
    sticky: Option<&CodecSpec>,
) -> Option<(MediaDescription, NegotiatedMedia)> {
    let offered = codec::formats(m);
    let (ours, chosen) = choose_codec(&offered, prefs, sticky)?;
    let dtmf = if local.telephone_event {
        choose_dtmf(&offered, chosen.codec.clock_rate)
    } else {
        None
    };
    let ptime = build::choose_ptime(m, local.ptime_pref);
    let peer_dir = offer.direction(index).unwrap_or(Direction::SendRecv);
    let direction = build::our_direction(peer_dir, local.direction_pref);

    // RFC 3264 §6.1: answer with the offerer's payload type numbers so that both directions
    // use one mapping; only our own fmtp goes out, see `answer_fmtp`.
    let mut formats = vec![chosen.pt.to_string()];
    formats.extend(dtmf.map(|d| d.pt.to_string()));
    let mut line = build::media_line(&m.media, local.port, &m.proto, formats);
    let mut answered = ours.clone();
    answered.fmtp = answer_fmtp(ours, &chosen.codec);
    build::push_codec_attrs(&mut line, chosen.pt, &answered);
    if let Some(d) = dtmf {
        let mut te = d.codec.clone();
        te.fmtp = Some(DTMF_EVENTS.to_owned());
        build::push_codec_attrs(&mut line, d.pt, &te);
    }
    build::push_stream_attrs(&mut line, local, ptime, direction);

    let (remote_rtp, remote_rtcp) = build::remote_addrs(offer, index);
    let negotiated = NegotiatedMedia {
        index,
        codec: chosen.codec.clone(),
        pt: chosen.pt,
        dtmf_pt: dtmf.map(|d| d.pt),
        dtmf_clock_rate: dtmf.map_or(8000, |d| d.codec.clock_rate),
        ptime,
        direction,
        remote_rtp,
        remote_rtcp,
    };
    Some((line, negotiated))
}

/// The first codec in our preference order (the current one first, if still preferred at all)
/// that the offer contains; returns our spec and the offered format.
fn choose_codec<'a>(
    offered: &'a [Format],
    prefs: &'a CodecPrefs,
    sticky: Option<&CodecSpec>,
) -> Option<(&'a CodecSpec, &'a Format)> {
    let sticky = sticky.and_then(|s| prefs.codecs().iter().find(|p| p.same_codec(s)));
    sticky.into_iter().chain(prefs.codecs()).find_map(|want| {
        offered
            .iter()
            .find(|f| !f.codec.is_telephone_event() && f.codec.same_codec(want))
            .map(|f| (want, f))
    })
}

/// The offered telephone-event to use: the one at the voice codec's clock rate (RFC 4733 §2.1:
/// events share the audio stream's timestamp clock, e.g. 48000 next to opus), else 8000.
pub(crate) fn choose_dtmf(offered: &[Format], clock_rate: u32) -> Option<&Format> {
    let te = |rate: u32| {
        offered
            .iter()
            .find(|f| f.codec.is_telephone_event() && f.codec.clock_rate == rate)
    };
    te(clock_rate).or_else(|| te(8000))
}

/// Our fmtp in the answer. Our configured parameters describe our receiver (opus
/// maxplaybackrate/useinbandfec, RFC 7587 §6.1) and are sent as is. Without any, a non-opus
/// codec's offered parameters are echoed: for G.729 `annexb` and iLBC `mode` both ends must
/// agree (RFC 4856 §2.1.9, RFC 3952 §5); opus parameters are never echoed because they
/// describe the offerer's receiver, not ours.
fn answer_fmtp(ours: &CodecSpec, offered: &CodecSpec) -> Option<String> {
    match &ours.fmtp {
        Some(f) => Some(f.clone()),
        None if ours.is_opus() => None,
        None => offered.fmtp.clone(),
    }
}
