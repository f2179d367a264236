//! Shared bodies of the fuzz targets. Compiled twice, via `#[path]`:
//! by each cargo-fuzz target in fuzz/fuzz_targets/ (libFuzzer, nightly flags
//! through RUSTC_BOOTSTRAP) and by tests/fuzz_corpus.rs (stable `cargo test`),
//! which replays every committed corpus file through the same function.
//!
//! Uses only the public API of `switchboard`. Every check must be
//! deterministic: no clocks, no randomness, no I/O. Returning is the main
//! assertion (no panic, no overflow, no OOM); on top of that each target checks
//! properties the callers rely on.

use switchboard::sdp;
use switchboard::sip::auth::{self, ha1, parse_challenge, AuthError, DigestServer};
use switchboard::sip::message::{
    frame_stream, parse_contact_list, parse_cseq, parse_message, parse_name_addr, parse_uri,
    parse_via_list, validate_request, Framing, HeaderName, Message, MAX_MESSAGE_SIZE,
};

/// (corpus directory name, check) for every target, in `cargo fuzz list` order.
pub const TARGETS: &[(&str, fn(&[u8]))] = &[
    ("csv", check_csv),
    ("dialplan", check_dialplan),
    ("digest", check_digest),
    ("prompt_decode", check_prompt_decode),
    ("replaces", check_replaces),
    ("rfc4733", check_rfc4733),
    ("rtcp", check_rtcp),
    ("rtp", check_rtp),
    ("sdp", check_sdp),
    ("sip_message", check_sip_message),
    ("t38_sdp", check_t38_sdp),
    ("tiff", check_tiff),
    ("udptl", check_udptl),
    ("update_header", check_update_header),
];

// ---------------------------------------------------------------------------
// SIP messages
// ---------------------------------------------------------------------------

/// `parse_message`, `frame_stream`, `validate_request` and the typed header
/// views. Properties:
/// - `frame_stream` never claims more bytes than it was given;
/// - the serializer's round-trip contract (src/sip/message/serialize.rs):
///   `parse_message(&m.to_bytes())` equals `m` with one Content-Length set to
///   the body length, and serializing that again gives the same bytes;
/// - the serialized message frames on a stream as exactly one message;
/// - every typed view that parses survives Display -> parse unchanged.
pub fn check_sip_message(data: &[u8]) {
    match frame_stream(data) {
        Framing::Complete(n) => assert!(n > 0 && n <= data.len(), "Complete({n}) of {}", data.len()),
        Framing::KeepAlive(n) => assert!(n > 0 && n <= data.len(), "KeepAlive({n}) of {}", data.len()),
        Framing::Incomplete | Framing::Error(_) => {}
    }
    let Ok(m) = parse_message(data) else { return };

    let bytes = m.to_bytes();
    // The serialization may be longer than the input (compact header names
    // expand, URIs are re-escaped, Content-Length is added). Past the size
    // limit the reparse is refused with 513 by design, so only check below it.
    if bytes.len() <= MAX_MESSAGE_SIZE {
        let again = parse_message(&bytes).unwrap_or_else(|e| {
            panic!("reparse of serialized message failed: {e}\n{}", String::from_utf8_lossy(&bytes))
        });
        let mut expected = m.clone();
        let body_len = match &expected {
            Message::Request(r) => r.body.len(),
            Message::Response(r) => r.body.len(),
        };
        expected.headers_mut().set(HeaderName::ContentLength, body_len.to_string());
        assert_eq!(again, expected, "round trip differs\n{}", String::from_utf8_lossy(&bytes));
        assert_eq!(again.to_bytes(), bytes, "serialization not stable");
        assert_eq!(
            frame_stream(&bytes),
            Framing::Complete(bytes.len()),
            "serialized message does not frame as one stream message"
        );
    }

    let h = m.headers();
    if let Ok(vias) = h.vias() {
        for v in vias {
            assert_eq!(parse_via_list(&v.to_string()).ok(), Some(vec![v.clone()]), "Via {v}");
        }
    }
    for na in [h.from_addr(), h.to_addr()].into_iter().flatten() {
        assert_eq!(parse_name_addr(&na.to_string()).as_ref(), Ok(&na), "name-addr {na}");
    }
    if let Ok(cs) = h.contacts() {
        for c in cs {
            assert_eq!(parse_contact_list(&c.to_string()).ok(), Some(vec![c.clone()]), "Contact {c}");
        }
    }
    if let Ok(c) = h.cseq() {
        assert_eq!(parse_cseq(&c.to_string()).as_ref(), Ok(&c), "CSeq {c}");
    }
    if let Ok(routes) = h.name_addr_list(&HeaderName::Route) {
        for r in routes {
            assert_eq!(parse_name_addr(&r.to_string()).as_ref(), Ok(&r), "Route {r}");
        }
    }
    let _ = h.name_addr_list(&HeaderName::RecordRoute);
    let _ = h.max_forwards();
    let _ = h.expires();
    let _ = h.top_via().map(|v| v.branch().map(str::len));
    if let Message::Request(r) = &m {
        assert_eq!(parse_uri(&r.uri.to_string()).as_ref(), Ok(&r.uri), "Request-URI {}", r.uri);
        let _ = validate_request(r);
    }
}

// ---------------------------------------------------------------------------
// SDP
// ---------------------------------------------------------------------------

/// `sdp::fuzz_parse` (parse -> serialize -> parse must be equal), plus the
/// B2BUA path: the query helpers on every media section, and rewriting each
/// one to our relay address with a hold direction must give an SDP that
/// parses back and says what we wrote.
pub fn check_sdp(data: &[u8]) {
    sdp::fuzz_parse(data);
    let Ok(desc) = sdp::parse(data) else { return };
    for i in 0..desc.media.len() {
        let _ = desc.connection_for(i);
        let _ = desc.rtp_endpoint(i);
        let _ = desc.rtcp_endpoint(i);
        let _ = desc.rtcp_mux(i);
        let dir = desc.direction(i).expect("direction of an existing media section");
        let _ = (dir.reversed(), dir.is_hold());
    }
    // Out of range is an error, not a panic.
    assert!(desc.clone().set_direction(desc.media.len(), sdp::Direction::Inactive).is_err());

    // 192.0.2.0/24 is TEST-NET-1 (RFC 5737); nothing is sent anywhere.
    let relay = std::net::SocketAddr::from(([192, 0, 2, 10], 40_000));
    for i in 0..desc.media.len().min(8) {
        let mut d = desc.clone();
        d.set_media_endpoint(i, relay.ip(), relay.port()).expect("index in range");
        d.set_direction(i, sdp::Direction::SendOnly).expect("index in range");
        d.bump_version();
        let out = d.to_bytes();
        if out.len() > sdp::MAX_SDP_LEN {
            continue;
        }
        let back = sdp::parse(&out).unwrap_or_else(|e| {
            panic!("rewritten SDP (media {i}) does not parse: {e}\n{}", String::from_utf8_lossy(&out))
        });
        assert_eq!(back, d, "rewritten SDP does not round-trip\n{}", String::from_utf8_lossy(&out));
        assert_eq!(back.rtp_endpoint(i), Some(relay), "media {i} endpoint\n{}", String::from_utf8_lossy(&out));
        assert_eq!(back.direction(i), Some(sdp::Direction::SendOnly), "media {i} direction");
        assert_eq!(back.origin.session_version, desc.origin.session_version.wrapping_add(1));
    }
}

// ---------------------------------------------------------------------------
// Digest authentication headers
// ---------------------------------------------------------------------------

const NOW: u64 = 1_700_000_000;
const MAX_DIGEST_VALUE: usize = 8 * 1024;

fn has_ctl(s: &str) -> bool {
    s.chars().any(|c| c < ' ' || c == '\u{7f}')
}

/// `sip::auth::fuzz_parse` (arbitrary bytes as credentials against a real
/// verifier and as a challenge), then:
/// - any challenge we accept yields an Authorization value free of CR/LF and
///   control characters (no header injection from a hostile server);
/// - end to end, with realm, username, uri and password taken from the input
///   (the input's first four `\n`-separated fields): our own challenge parses
///   back with the same realm, the client's answer to it verifies, a replay
///   of it is refused as `Replay`, and a wrong password as `WrongPassword`.
///   This pins down quoting/unquoting of arbitrary text on both sides.
pub fn check_digest(data: &[u8]) {
    auth::fuzz_parse(data);
    let text = String::from_utf8_lossy(data);

    if let Ok(ch) = parse_challenge(&text) {
        let v = ch.authorization("REGISTER", "sip:registrar.example", "alice", "secret", "0a4f113b", 1);
        assert!(!has_ctl(&v), "control character in Authorization value: {v:?}");
        assert!(v.starts_with("Digest "), "{v}");
    }

    let mut fields = text.split('\n');
    let realm = fields.next().unwrap_or("").to_owned();
    let user = fields.next().unwrap_or("").to_owned();
    let uri = fields.next().unwrap_or("").to_owned();
    let password = fields.next().unwrap_or("").to_owned();
    // Control characters are dropped by quoting but kept in the hash, so such
    // credentials are documented not to authenticate; nothing to check there.
    if has_ctl(&realm) || has_ctl(&user) || has_ctl(&uri) {
        return;
    }
    let mut server = DigestServer::new(realm.clone(), [7; 32], 300).with_rng_seed(1);
    let lookup = |u: &str, alg| (u == user).then(|| ha1(alg, &user, &realm, &password));
    let mut nc = 0u32;
    for challenge in server.challenge_headers(NOW, false) {
        if challenge.len() > MAX_DIGEST_VALUE {
            return;
        }
        let ch = parse_challenge(&challenge).unwrap_or_else(|e| panic!("own challenge refused: {e}: {challenge}"));
        assert_eq!(ch.realm, realm, "{challenge}");
        assert!(ch.qop_auth && !ch.stale, "{challenge}");

        nc += 1;
        let good = ch.authorization("INVITE", &uri, &user, &password, "0a4f113b", nc);
        if good.len() > MAX_DIGEST_VALUE {
            return;
        }
        let v = server
            .verify(NOW + 1, "INVITE", &good, lookup)
            .unwrap_or_else(|e| panic!("own credentials refused: {e}\n{challenge}\n{good}"));
        assert_eq!((v.username.as_str(), v.uri.as_str(), v.algorithm), (user.as_str(), uri.as_str(), ch.algorithm));
        assert_eq!(server.verify(NOW + 2, "INVITE", &good, lookup), Err(AuthError::Replay), "{good}");

        nc += 1;
        let wrong_pw = format!("{password}x");
        let bad = ch.authorization("INVITE", &uri, &user, &wrong_pw, "0a4f113b", nc);
        assert_eq!(server.verify(NOW + 3, "INVITE", &bad, lookup), Err(AuthError::WrongPassword), "{bad}");
    }
}

// ---------------------------------------------------------------------------
// RTP and RTCP (src/media/rtp.rs, src/media/rtcp/)
// ---------------------------------------------------------------------------

use switchboard::media::jitter::{JitterBuffer, JitterConfig, Playout, PushOutcome};
use switchboard::media::{rtcp, rtp};

/// `media::rtp::fuzz_parse` (parse -> build -> parse is stable), then:
/// - the relay's shallow check (`media::is_valid_rtp`) accepts exactly what depacketizes, so
///   the relay never forwards what the endpoint would refuse, nor drops what it would take;
/// - a parsed packet pushed into a fresh jitter buffer comes out intact once the largest
///   playout delay (200 ms) has passed. The `Instant` is only an origin: nothing depends on
///   its absolute value, so the check stays deterministic.
pub fn check_rtp(data: &[u8]) {
    rtp::fuzz_parse(data);
    let parsed = rtp::depacketize(data);
    assert_eq!(parsed.is_ok(), switchboard::media::is_valid_rtp(data), "is_valid_rtp and depacketize disagree");
    let Ok(p) = parsed else { return };
    let cfg = JitterConfig::default();
    let mut jb = JitterBuffer::new(cfg);
    let t0 = std::time::Instant::now();
    match jb.push(p.header.seq, p.header.timestamp, p.payload, t0) {
        PushOutcome::Stored => match jb.pop(t0 + std::time::Duration::from_millis(u64::from(cfg.max_delay_ms))) {
            Playout::Frame(b) => assert_eq!(b, p.payload, "jitter buffer changed the payload"),
            other => panic!("first packet not played after the maximum delay: {other:?}"),
        },
        PushOutcome::TooLarge => assert!(p.payload.len() > cfg.max_payload),
        other => panic!("first packet refused: {other:?}"),
    }
}

/// `media::rtcp::fuzz_parse` (walker, Appendix A.2 validation, writer round trip, session
/// input and BYE output), then: whatever passes the full compound validation also passes the
/// relay's first-packet check (`media::is_valid_rtcp`).
pub fn check_rtcp(data: &[u8]) {
    rtcp::fuzz_parse(data);
    if rtcp::validate_compound(data).is_ok() {
        assert!(switchboard::media::is_valid_rtcp(data), "valid compound refused by is_valid_rtcp");
    }
}

/// Dialplan loader: any bytes as a plan file must load or fail with
/// positioned errors, never panic; a plan that loads is also simulated.
pub fn check_dialplan(data: &[u8]) {
    switchboard::dialplan::fuzz_load(data);
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(errors) = switchboard::dialplan::load_str("f.toml", text) {
            for e in errors {
                assert!(e.starts_with("f.toml:"), "error without position: {e}");
            }
        }
    }
}

/// The CSV reader behind customer imports (console and API uploads): any
/// text parses or fails at a line inside the text; records come in line
/// order; a record written back with `write_record` reads as one record
/// with the same fields, except fields the writer defuses against
/// spreadsheet formulas (a leading `'` is added to those).
pub fn check_csv(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // Line ends as the reader counts them: LF, CRLF, and a lone CR.
    let lines = text.matches('\n').count() + text.matches('\r').count() - text.matches("\r\n").count() + 1;
    match switchboard::csv::parse(text) {
        Err(e) => assert!(e.line() >= 1 && e.line() <= lines, "error line {} of {lines}", e.line()),
        Ok(records) => {
            let mut last = 0;
            for r in &records {
                assert!(r.line > last && r.line <= lines, "record line {} after {last} of {lines}", r.line);
                last = r.line;
                let mut out = String::new();
                switchboard::csv::write_record(&mut out, &r.fields);
                let again = switchboard::csv::parse(&out).unwrap_or_else(|e| panic!("written record does not parse: {e}: {out:?}"));
                let expected: Vec<String> = r
                    .fields
                    .iter()
                    .map(|f| if f.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{f}") } else { f.clone() })
                    .collect();
                // A record of one empty field is a blank line, which the reader skips.
                if expected.iter().all(|f| f.is_empty()) && expected.len() == 1 {
                    continue;
                }
                assert_eq!(again.len(), 1, "{out:?}");
                assert_eq!(again[0].fields, expected, "{out:?}");
            }
        }
    }
}

/// RFC 3891 Replaces as phones send it inside a REFER's Refer-To (the
/// attended transfer): never a panic; whatever parses names a Call-ID and
/// both tags.
pub fn check_replaces(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    use switchboard::sip::replaces::Replaces;
    for r in [Replaces::parse(text).ok(), Replaces::from_refer_to(text).and_then(Result::ok)].into_iter().flatten() {
        assert!(!r.call_id.is_empty() && !r.to_tag.is_empty() && !r.from_tag.is_empty(), "{r:?}");
    }
}

// ---------------------------------------------------------------------------
// UDPTL (src/fax/udptl/) and T.38 in SDP (src/sdp/t38.rs)
// ---------------------------------------------------------------------------

use switchboard::fax::udptl::{self, ErrorCorrection, Udptl, UdptlConfig, UdptlError};
use switchboard::sdp::t38::{self, T38Capabilities, T38Error, T38Params, UdpEc};

/// Three uses of the input:
/// 1. as one datagram: whatever `decode` accepts re-encodes (minimal PER, so no longer than the
///    input) to bytes that decode to an equal packet;
/// 2. as a stream of datagrams (each a length octet and that many octets) into one receiver:
///    every call delivers in increasing sequence order ending with the datagram's own primary,
///    within the accepted jump, and the counters add up;
/// 3. as a script for a sender and a lossy channel (see `udptl_channel`).
pub fn check_udptl(data: &[u8]) {
    if let Ok(p) = udptl::decode(data) {
        let n = udptl::encoded_len(&p).unwrap_or_else(|e| panic!("decoded packet does not re-encode: {e}"));
        assert!(n <= data.len(), "re-encoding of {} octets is {n}", data.len());
        let mut out = vec![0; n];
        assert_eq!(udptl::encode(&p, &mut out), Ok(n));
        assert_eq!(udptl::decode(&out).as_ref(), Ok(&p), "round trip differs");
        assert_eq!(udptl::encode(&p, &mut vec![0; n - 1]), Err(UdptlError::BufferTooSmall { needed: n, available: n - 1 }));
    }

    let mut rx = Udptl::default();
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let (d, tail) = tail.split_at(usize::from(len).min(tail.len()));
        rest = tail;
        let before = rx.stats();
        let next_before = rx.next_rx_seq();
        let decoded = udptl::decode(d);
        let items: Vec<(u16, Vec<u8>)> = match rx.receive(d) {
            Ok(items) => items.map(|(s, i)| (s, i.to_vec())).collect(),
            Err(e) => {
                assert_eq!(decoded.as_ref().err(), Some(&e));
                assert_eq!(rx.stats().malformed, before.malformed + 1);
                continue;
            }
        };
        let p = decoded.expect("receive accepted what decode refuses");
        let after = rx.stats();
        assert_eq!(after.received, before.received + 1);
        assert_eq!(after.delivered - before.delivered, items.len() as u64);
        match items.last() {
            None => assert_eq!(
                after.duplicates + after.out_of_window,
                before.duplicates + before.out_of_window + 1,
                "nothing delivered and nothing dropped"
            ),
            Some((seq, ifp)) => {
                assert_eq!((*seq, ifp.as_slice()), (p.seq, p.primary), "the primary comes last");
                assert_eq!(rx.next_rx_seq(), Some(p.seq.wrapping_add(1)));
                let span: u32 = items.windows(2).map(|w| u32::from(w[1].0.wrapping_sub(w[0].0))).sum();
                assert!(items.windows(2).all(|w| w[1].0.wrapping_sub(w[0].0) >= 1), "not in order: {items:?}");
                assert!(span <= 1024, "a jump of {span} delivered at once");
                let lost = after.lost - before.lost;
                let recovered = (after.recovered_redundancy + after.recovered_fec)
                    - (before.recovered_redundancy + before.recovered_fec);
                assert_eq!(recovered + 1, items.len() as u64);
                // From the expected seq to this one, each is delivered or counted lost, once
                // (a first packet under 32 counts from 0); beyond the jump limit only a restart
                // is accepted, which starts afresh.
                let expected = next_before.unwrap_or(if p.seq < 32 { 0 } else { p.seq });
                let gap = u64::from(p.seq.wrapping_sub(expected));
                if gap <= 1024 {
                    assert_eq!(lost + items.len() as u64, gap + 1, "expected {expected}, got {}", p.seq);
                } else {
                    assert_eq!((lost, items.len()), (0, 1), "a restart delivers only its packet");
                }
            }
        }
    }

    udptl_channel(data);
}

/// A sender and a receiver joined by a lossy channel, scripted by the input: octet 0 picks the
/// error correction and the datagram limit, then each record is a header octet (bit 7: drop
/// this datagram; bits 0-5: IFP length - 1) and the IFP. Checks: every datagram fits the
/// limit; everything delivered is what was sent under that sequence number (for FEC, possibly
/// zero-padded: the known limit of parity FEC); with redundancy and room for all of it, a lost
/// IFP comes back exactly when the next datagram that arrives is at most `depth` later.
fn udptl_channel(data: &[u8]) {
    let Some((&cfg, mut rest)) = data.split_first() else { return };
    let error_correction = match cfg & 3 {
        0 => ErrorCorrection::None,
        1 | 3 => ErrorCorrection::Redundancy { depth: (cfg >> 2) & 7 },
        _ => ErrorCorrection::Fec { span: 1 + (cfg >> 2) % 5, entries: 1 + (cfg >> 5) % 5 },
    };
    let roomy = cfg & 0x80 != 0 || matches!(error_correction, ErrorCorrection::None);
    let max_datagram = if roomy { 1400 } else { 8 + usize::from(cfg) };
    let mut tx = Udptl::new(UdptlConfig { error_correction, max_datagram });
    let mut rx = Udptl::default();
    let mut sent: Vec<Vec<u8>> = Vec::new();
    let mut dropped: Vec<bool> = Vec::new();
    let mut delivered: Vec<(u16, Vec<u8>)> = Vec::new();
    while let Some((&h, tail)) = rest.split_first() {
        if sent.len() >= 400 {
            break;
        }
        let want = 1 + usize::from(h & 0x3f);
        let (ifp, tail) = tail.split_at(want.min(tail.len()));
        rest = tail;
        if ifp.is_empty() {
            break;
        }
        let d = match tx.send(ifp) {
            Ok(d) => d.to_vec(),
            Err(e) => {
                assert_eq!(e, UdptlError::IfpTooLarge { len: ifp.len(), max_datagram });
                assert!(ifp.len() + 5 > max_datagram, "IFP of {} refused under {max_datagram}", ifp.len());
                continue;
            }
        };
        assert!(d.len() <= max_datagram, "datagram of {} over {max_datagram}", d.len());
        sent.push(ifp.to_vec());
        let drop = h & 0x80 != 0;
        dropped.push(drop);
        if !drop {
            let got = rx.receive(&d).expect("our own datagram decodes");
            delivered.extend(got.map(|(s, i)| (s, i.to_vec())));
        }
    }

    let mut last = None;
    for (seq, ifp) in &delivered {
        let i = usize::from(*seq);
        assert!(last.is_none_or(|l| l < i), "delivery out of order: {last:?} then {i}");
        last = Some(i);
        let orig = sent.get(i).unwrap_or_else(|| panic!("seq {i} was never sent"));
        match error_correction {
            ErrorCorrection::Fec { .. } => assert!(
                ifp.starts_with(orig) && ifp[orig.len()..].iter().all(|&b| b == 0),
                "seq {i}: {ifp:?} is not {orig:?} (zero-padded)"
            ),
            _ => assert_eq!(ifp, orig, "seq {i}"),
        }
    }
    if let (ErrorCorrection::Redundancy { depth }, true) = (error_correction, roomy) {
        let got: std::collections::HashSet<usize> = delivered.iter().map(|(s, _)| usize::from(*s)).collect();
        let first = dropped.iter().position(|d| !d);
        for (q, &d) in dropped.iter().enumerate() {
            let next = dropped.iter().skip(q + 1).position(|d| !d).map(|k| q + 1 + k);
            // Packets before the first arrival count from 0 only if it is seq < 32.
            let counted = first.is_some_and(|f| f < 32 || q >= f);
            let expect = counted && (!d || next.is_some_and(|r| r - q <= usize::from(depth)));
            assert_eq!(got.contains(&q), expect, "seq {q}: dropped {d}, next arrival {next:?}, depth {depth}");
        }
    }
}

/// T.38 in SDP: every T.38 section whose attributes parse survives write -> read unchanged and
/// answers within the Annex D rules for two capability sets; `SessionDescription::t38` agrees
/// with the sections; an answer we build for an offer has one `m=` per offered one, parses
/// back to the agreed parameters, and processed as the answer to our own offer stays within it.
pub fn check_t38_sdp(data: &[u8]) {
    let Ok(desc) = sdp::parse(data) else { return };
    let plain = T38Capabilities::default();
    let full = T38Capabilities {
        max_version: 3,
        fec_tx: true,
        fill_bit_removal: true,
        transcoding_mmr: true,
        transcoding_jbig: true,
        ..plain
    };
    let rank = |e: Option<UdpEc>| match e {
        None | Some(UdpEc::NoEc) => 0,
        Some(UdpEc::Redundancy) => 1,
        Some(UdpEc::Fec) => 2,
    };
    for m in desc.media.iter().filter(|m| m.is_t38_udptl()) {
        let Ok(p) = m.t38_params() else { continue };
        let mut again = m.clone();
        p.apply_to(&mut again);
        assert_eq!(again.t38_params(), Ok(p), "write -> read");
        assert_eq!(T38Params::from_attributes(&p.to_attributes()), Ok(p));
        for caps in [&plain, &full] {
            let a = t38::answer_t38(&p, caps);
            assert!(a.version <= p.version && a.version <= caps.max_version, "{a:?}");
            let rate = a.max_bit_rate.expect("the answer states a rate");
            assert!(rate <= caps.max_bit_rate && p.max_bit_rate.is_none_or(|r| rate <= r), "{a:?}");
            assert_eq!(a.rate_management, p.rate_management);
            assert!(!a.fill_bit_removal || (p.fill_bit_removal && caps.fill_bit_removal));
            assert!(!a.transcoding_mmr || (p.transcoding_mmr && caps.transcoding_mmr));
            assert!(!a.transcoding_jbig || (p.transcoding_jbig && caps.transcoding_jbig));
            assert_eq!((a.max_buffer, a.max_datagram), (Some(caps.max_buffer), Some(caps.max_datagram)));
            assert!(rank(a.udp_ec) <= rank(p.udp_ec), "{a:?} for {p:?}");
            assert!(a.udp_ec != Some(UdpEc::Fec) || caps.fec_tx);
            assert_eq!(a.udp_ec.is_none(), p.udp_ec.is_none());
            let cfg = t38::udptl_config(&a, &p);
            assert!((t38::MIN_FAR_MAX_DATAGRAM..=t38::MAX_FAR_MAX_DATAGRAM).contains(&cfg.max_datagram));
            assert!(Udptl::new(cfg).send(&[0u8; 60]).is_ok(), "a 60-octet IFP must always fit: {cfg:?}");
        }
    }

    match desc.t38() {
        Err(T38Error::NoT38Media) => assert!(!desc.media.iter().any(|m| m.is_t38_udptl())),
        Err(T38Error::Rejected { media }) => {
            assert!(desc.media.iter().filter(|m| m.is_t38_udptl()).all(|m| m.port == 0));
            assert!(desc.media.get(media).is_some_and(|m| m.is_t38_udptl()));
        }
        Err(T38Error::InvalidValue { .. } | T38Error::Conflicting { .. }) => {}
        Ok((i, p)) => {
            let m = &desc.media[i];
            assert!(m.is_t38_udptl() && m.port != 0);
            assert_eq!(m.t38_params(), Ok(p));
            let (media, n) = t38::answer_t38_media(&desc, 4000, &plain).expect("an answerable offer");
            assert_eq!(media.len(), desc.media.len());
            assert_eq!((n.index, n.far), (i, p));
            for (k, line) in media.iter().enumerate() {
                assert_eq!(line.port != 0, k == i, "media {k}");
            }
            let mut answer = desc.clone();
            answer.media = media;
            answer.connection = Some(sdp::Connection::for_ip([192, 0, 2, 10].into()));
            let bytes = answer.to_bytes();
            if bytes.len() <= sdp::MAX_SDP_LEN {
                let back = sdp::parse(&bytes).unwrap_or_else(|e| panic!("our answer does not parse: {e}"));
                assert_eq!(back.t38(), Ok((i, n.agreed)));
                let offered = T38Params::offer(&plain);
                let got = t38::process_t38_answer(&back, &offered).expect("our answer is usable");
                assert!(got.agreed.version <= offered.version);
                assert!(got.agreed.max_bit_rate <= offered.max_bit_rate);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Fax TIFF (src/fax/tiff.rs) and its PDF (src/fax/pdf.rs)
// ---------------------------------------------------------------------------

/// `read_pages` on arbitrary bytes, then `tiff_to_pdf`. Properties: every
/// strip of every page lies inside the file and the strips cover the page
/// (what `pdf` slices by); a readable TIFF always makes a PDF with one page
/// per TIFF page.
pub fn check_tiff(data: &[u8]) {
    use switchboard::fax::{pdf, tiff};
    let Ok(pages) = tiff::read_pages(data) else { return };
    for p in &pages {
        assert!(p.width > 0 && p.length > 0);
        assert_eq!(p.strips.iter().map(|s| u64::from(s.rows)).sum::<u64>(), u64::from(p.length));
        for s in &p.strips {
            assert!(s.offset.checked_add(s.len).is_some_and(|end| end <= data.len()), "{s:?} outside {} bytes", data.len());
        }
    }
    let doc = pdf::tiff_to_pdf(data).expect("a readable TIFF makes a PDF");
    assert!(doc.starts_with(b"%PDF-"));
    let text = String::from_utf8_lossy(&doc);
    assert_eq!(text.matches("/CCITTFaxDecode").count(), pages.iter().map(|p| p.strips.len()).sum::<usize>());
}

// ---------------------------------------------------------------------------
// System update files
// ---------------------------------------------------------------------------

/// `UpdateHeader::parse` on the first bytes of an uploaded `.update` file
/// (the console and API stage what it accepts for the root-owned applier):
/// never a panic, and what it accepts is what the applier can rely on: the
/// payload starts within the first 4096 bytes, right after the header's
/// empty line, with the zstd magic; the SHA-256 is 64 lowercase hex digits,
/// the size above zero, the version one line of text; the header written
/// back in make-update.sh's layout parses to the same header.
pub fn check_update_header(data: &[u8]) {
    use switchboard::update::{UpdateHeader, HEADER_MAX, MAGIC_LINE, ZSTD_MAGIC};
    let Ok((h, at)) = UpdateHeader::parse(data) else { return };
    assert!(at <= HEADER_MAX && at <= data.len(), "payload at {at} of {}", data.len());
    assert!(data.starts_with(MAGIC_LINE) && data[..at].ends_with(b"\n\n"), "header end at {at}");
    assert_eq!(data[..at].windows(2).filter(|w| *w == b"\n\n").count(), 1, "the first empty line ends the header");
    assert!(!data[..at].contains(&0), "no NUL in the header");
    assert_eq!(data.get(at..at + 4), Some(&ZSTD_MAGIC[..]));
    assert!(h.rootfs_sha256.len() == 64 && h.rootfs_sha256.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')), "{h:?}");
    assert!(h.rootfs_size > 0 && h.compression == "zstd", "{h:?}");
    assert!(!h.version.trim().is_empty() && !h.version.chars().any(char::is_control), "{h:?}");
    let mut again = h.to_bytes();
    again.extend_from_slice(&ZSTD_MAGIC);
    assert_eq!(UpdateHeader::parse(&again).map(|(g, _)| g).ok().as_ref(), Some(&h), "written back: {}", String::from_utf8_lossy(&again));
}

// ---------------------------------------------------------------------------
// RFC 4733 telephone-events
// ---------------------------------------------------------------------------

/// `media::dtmf::rfc4733::fuzz_parse` (arbitrary packets through the receiver, timeouts
/// included), then on the bytes as one payload: what parses writes back as the same four
/// bytes with the reserved R bit cleared (RFC 4733 §2.3.3), and parses again to the same
/// event; a receiver fed the bytes as a train of packets at one timestamp reports at most one
/// key press, always of a DTMF key, with the volume the packets carried.
pub fn check_rfc4733(data: &[u8]) {
    use switchboard::media::dtmf::rfc4733::{fuzz_parse, TelephoneEvent, TelephoneEventReceiver};
    fuzz_parse(data);
    let Ok(ev) = TelephoneEvent::parse(data) else {
        assert!(data.len() < 4, "{} bytes refused", data.len());
        return;
    };
    let bytes = ev.to_bytes();
    assert_eq!(bytes, [data[0], data[1] & 0xbf, data[2], data[3]], "written back");
    assert_eq!(TelephoneEvent::parse(&bytes), Ok(ev), "parsed again");
    let mut rx = TelephoneEventReceiver::new(8000);
    let mut events = Vec::new();
    for (i, chunk) in data.chunks(4).filter(|c| c.len() == 4).enumerate() {
        rx.handle_packet(i as u64 * 20, 160_000, false, chunk).expect("four bytes always parse");
        while let Some(e) = rx.poll_event() {
            events.push(e);
        }
    }
    rx.handle_timeout(u64::MAX / 2);
    while let Some(e) = rx.poll_event() {
        events.push(e);
    }
    assert!(events.len() <= 1, "one timestamp, one press at most: {events:?}");
    for e in &events {
        assert!(e.digit.event_code() <= 15, "{e:?}");
        assert!(e.volume.is_some_and(|v| v <= 63), "{e:?}");
    }
}

// ---------------------------------------------------------------------------
// Prompt and music-on-hold decoding
// ---------------------------------------------------------------------------

/// `media::decode::decode_bytes`, the code behind every prompt, music-on-hold file and
/// console upload (symphonia's WAV, FLAC, Ogg Vorbis and MP3 readers, downmix, resample).
/// The first byte picks the file-name hint (none, wav, mp3, ogg, flac), as an upload's name
/// would. What decodes is non-empty 8 kHz audio no longer than the decoder's cap.
pub fn check_prompt_decode(data: &[u8]) {
    use switchboard::media::decode::{decode_bytes, MAX_DECODE_SECS};
    let Some((&pick, file)) = data.split_first() else { return };
    let ext = [None, Some("wav"), Some("mp3"), Some("ogg"), Some("flac")][usize::from(pick) % 5];
    if let Ok(pcm) = decode_bytes(file.to_vec(), ext, std::path::Path::new("fuzz-input"), 8000) {
        assert!(!pcm.is_empty(), "decoded to nothing");
        // The cap is checked at the source rate after each packet, so allow one more second.
        assert!(pcm.len() as u64 <= (MAX_DECODE_SECS + 1) * 8000, "{} samples", pcm.len());
    }
}
