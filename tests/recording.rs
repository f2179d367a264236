//! Bridged calls through the media engine: two phones with different
//! codecs (the callee's extension prefers PCMA, so the appliance transcodes), digits regenerated across the
//! bridge, and a recording started, paused and resumed through the core
//! API, checked in the database row and in the stereo WAV itself. With
//! recording off: transcoding when the caller offers no codec the callee's
//! side allows, the relayed offer held to those codecs, and a caller's own
//! list not imposed on the callee.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::audio::write_tone;
use common::baresip::{AnswerMode, Baresip, BaresipConfig};
use common::switchboard::Switchboard;

const T: Duration = Duration::from_secs(10);

fn http(sb: &Switchboard, method: &str, path: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", sb.http_port)).expect("connect console");
    s.set_read_timeout(Some(T)).unwrap();
    write!(s, "{method} {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", sb.key()).unwrap();
    let mut resp = String::new();
    let _ = s.read_to_string(&mut resp);
    let status = resp.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = resp.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

/// A phone offering `codecs`; `ext_codecs` is the extension's own preference list.
fn phone(sb: &Switchboard, user: &str, freq: f64, codecs: &[&str], ext_codecs: Option<&str>) -> Baresip {
    let secret = format!("secret-{user}-x");
    let mut args = vec!["extension", "add", user, "--secret", &secret];
    if let Some(c) = ext_codecs {
        args.extend(["--codecs", c]);
    }
    sb.admin_ok(&args);
    let wav = sb.dir().join(format!("tone-{user}.wav"));
    write_tone(&wav, freq, 30.0, 0.3).unwrap();
    let cfg = BaresipConfig::new(user)
        .registrar(&sb.sip_addr(), user, &secret)
        .answermode(AnswerMode::Auto)
        .codecs(codecs)
        .audio_source(wav);
    let mut b = Baresip::start(cfg).expect("start baresip");
    b.wait_registered(T).expect("registered");
    b
}

/// Phone `a` (1001) calls 1002 (phone `b`); both see the call established.
fn connect(sb: &Switchboard, a: &mut Baresip, b: &mut Baresip) {
    a.dial(&format!("sip:1002@{}", sb.sip_addr())).expect("dial");
    a.wait_event("CALL_ESTABLISHED", T).expect("caller connected");
    b.wait_event("CALL_ESTABLISHED", T).expect("callee connected");
}

/// The share of each of `freqs` in what phone `p` received (at least
/// `secs` of it), after the call.
fn received_shares<const N: usize>(p: &mut Baresip, secs: f64, freqs: [f64; N]) -> [f64; N] {
    let heard = p.wait_received_recording(secs, T).expect("phone recording");
    freqs.map(|f| common::audio::tone_power_ratio(&heard, f).unwrap())
}

/// Share of the power at `freq`, averaged over 40 ms blocks: short blocks
/// keep the measure meaningful when the jitter buffer adapts (it drops or
/// conceals single packets, which breaks the phase of a long window).
fn tone_share(samples: &[f64], rate: f64, freq: f64) -> f64 {
    let block = (rate * 0.04) as usize;
    let shares: Vec<f64> = samples.chunks_exact(block).map(|b| block_share(b, rate, freq)).collect();
    if shares.is_empty() { 0.0 } else { shares.iter().sum::<f64>() / shares.len() as f64 }
}

/// Goertzel power at `freq` relative to the block's total power.
fn block_share(samples: &[f64], rate: f64, freq: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * freq / rate;
    let (mut s1, mut s2) = (0.0, 0.0);
    for x in samples {
        let s0 = x + 2.0 * w.cos() * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = (s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2) / (samples.len() as f64).powi(2) * 2.0;
    let total: f64 = samples.iter().map(|x| x * x).sum::<f64>() / samples.len() as f64;
    if total == 0.0 { 0.0 } else { power / total }
}

#[test]
fn transcoded_call_recorded_on_demand_with_pause() {
    let mut sb = Switchboard::start_with("[recording]\nmode = \"on_demand\"\nformat = \"wav\"\nlayout = \"stereo\"\n").expect("start");
    // The caller only speaks PCMU; the callee could do both, but its
    // extension prefers PCMA, so the bridge must transcode.
    let mut a = phone(&sb, "1001", 440.0, &["PCMU"], None);
    let mut b = phone(&sb, "1002", 1000.0, &["PCMU", "PCMA"], Some("PCMA"));
    connect(&sb, &mut a, &mut b);
    sb.wait_log("bridging through the media engine", T).expect("bridged");
    let log = sb.log();
    assert!(log.contains("caller_codec=PCMU") && log.contains("callee_codec=PCMA"), "different codecs on the two legs");

    let (status, body) = http(&sb, "GET", "/api/calls");
    assert_eq!(status, 200, "{body}");
    let call_id = body.split('"').nth(3).expect("one live call").to_string();
    assert_eq!(http(&sb, "POST", "/api/calls/nope/recording/start").0, 404);
    assert_eq!(http(&sb, "POST", &format!("/api/calls/{call_id}/recording/dance")).0, 400);
    assert_eq!(http(&sb, "POST", &format!("/api/calls/{call_id}/recording/start")).0, 204, "start");
    assert_eq!(http(&sb, "POST", &format!("/api/calls/{call_id}/recording/start")).0, 409, "already recording");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(http(&sb, "POST", &format!("/api/calls/{call_id}/recording/pause")).0, 204, "pause");
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(http(&sb, "POST", &format!("/api/calls/{call_id}/recording/resume")).0, 204, "resume");
    a.send_dtmf("7").expect("digit");
    let d = b.wait_event("CALL_DTMF_START", T).expect("digit regenerated on the callee's leg");
    assert_eq!(d.param, "7");
    std::thread::sleep(Duration::from_millis(1200));
    a.hangup().expect("hang up");
    b.wait_event("CALL_CLOSED", T).expect("callee closed");

    // Both phones heard each other through the transcoding bridge.
    for (p, want, own) in [(&mut a, 1000.0, 440.0), (&mut b, 440.0, 1000.0)] {
        let [other, mine] = received_shares(p, 1.0, [want, own]);
        assert!(other > 0.5 && mine < 0.1, "hears {want} Hz ({other:.3}), not itself ({mine:.3})");
    }

    // The recording row and file.
    let deadline = std::time::Instant::now() + T;
    let row = loop {
        let list = sb.admin_ok(&["recordings"]);
        if let Some(l) = list.lines().nth(1).filter(|l| l.contains(" done ")) {
            break l.to_string();
        }
        assert!(std::time::Instant::now() < deadline, "recording row completed:\n{list}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(&cols[1..4], ["done", "wav", "stereo"], "{row}");
    let secs: f64 = cols[4].parse().unwrap();
    let paused: f64 = cols[5].parse().unwrap();
    assert!((2.5..6.0).contains(&secs), "duration {secs}");
    assert!((0.4..1.0).contains(&paused), "paused {paused}");
    assert_eq!(cols[6], call_id);
    let path = cols[7];
    let mut wav = hound::WavReader::open(path).expect("recording is a WAV");
    let spec = wav.spec();
    assert_eq!((spec.channels, spec.sample_rate), (2, 16000));
    let samples: Vec<f64> = wav.samples::<i16>().map(|s| f64::from(s.unwrap()) / 32768.0).collect();
    let left: Vec<f64> = samples.iter().step_by(2).copied().collect();
    let right: Vec<f64> = samples.iter().skip(1).step_by(2).copied().collect();
    // First second: before the pause.
    let (l, r) = (&left[1600..16000], &right[1600..16000]);
    let shares = [tone_share(l, 16000.0, 440.0), tone_share(r, 16000.0, 1000.0), tone_share(l, 16000.0, 1000.0), tone_share(r, 16000.0, 440.0)];
    let rms_l = (l.iter().map(|x| x * x).sum::<f64>() / l.len() as f64).sqrt();
    assert!(shares[0] > 0.5, "caller (440 Hz) on the left: {shares:?} rms {rms_l}");
    assert!(shares[1] > 0.5, "callee (1000 Hz) on the right: {shares:?}");
    assert!(tone_share(l, 16000.0, 1000.0) < 0.1 && tone_share(r, 16000.0, 440.0) < 0.1, "channels kept apart");
}

/// Share of `freq` and RMS of `samples[from..to]` seconds in an 8 kHz mono recording.
fn segment(path: &std::path::Path, from: f64, to: f64, freq: f64) -> (f64, f64) {
    let audio = common::audio::read_wav(path).expect("read recording");
    let rate = f64::from(audio.rate);
    let (a, b) = ((from * rate) as usize, ((to * rate) as usize).min(audio.samples.len()));
    let seg = &audio.samples[a.min(b)..b];
    (tone_share(seg, rate, freq), common::audio::rms(seg))
}

#[test]
fn holding_party_gives_the_other_music_on_hold() {
    let config = format!(
        "[recording]\nmode = \"on_demand\"\n[media]\nmoh_dir = \"{}/prompts/moh\"\n",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut sb = Switchboard::start_with(&config).expect("start");
    let mut a = phone(&sb, "1001", 440.0, &["PCMU"], None);
    let mut b = phone(&sb, "1002", 1000.0, &["PCMU"], None);
    connect(&sb, &mut a, &mut b);
    let t0 = std::time::Instant::now();
    std::thread::sleep(Duration::from_millis(2000));
    a.command("hold", "").expect("hold");
    sb.wait_log("music on hold caller_holds=true held=true", T).expect("hold noticed");
    let held_at = t0.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_millis(3000));
    a.command("resume", "").expect("resume");
    sb.wait_log("held=false", T).expect("resume noticed");
    std::thread::sleep(Duration::from_millis(1500));
    a.hangup().expect("hang up");
    b.wait_event("CALL_CLOSED", T).expect("closed");
    let heard = b.wait_received_recording(4.0, T).expect("callee recording");
    // Before the hold the callee hears the caller's 440 Hz; during it,
    // music (audible, but not the caller's tone).
    let (before, _) = segment(&heard, 0.5, 1.5, 440.0);
    let (during, level) = segment(&heard, held_at + 0.5, held_at + 2.5, 440.0);
    assert!(before > 0.5, "caller audible before hold: {before:.3}");
    assert!(level > 0.01, "music on hold audible during hold (rms {level:.4})");
    assert!(during < 0.3, "not the caller's tone during hold: {during:.3}");
}

/// With recording off, calls normally go through the packet relay. When no
/// codec the caller offers is allowed on the callee's side (its extension
/// allows only PCMA), the relay cannot carry the call: it goes through the
/// media engine, which transcodes, and recording stays off.
#[test]
fn phones_sharing_no_allowed_codec_are_transcoded_with_recording_off() {
    let mut sb = Switchboard::start_with("").expect("start");
    let mut a = phone(&sb, "1001", 440.0, &["PCMU"], None);
    let mut b = phone(&sb, "1002", 1000.0, &["PCMU", "PCMA"], Some("PCMA"));
    connect(&sb, &mut a, &mut b);
    sb.wait_log("bridging through the media engine", T).expect("bridged");
    let log = sb.log();
    assert!(log.contains("no offered codec is allowed toward the callee: transcoding"), "the reason is logged");
    assert!(log.contains("caller_codec=PCMU") && log.contains("callee_codec=PCMA"), "different codecs on the two legs");
    let (status, body) = http(&sb, "GET", "/api/calls");
    assert_eq!(status, 200, "{body}");
    let call_id = body.split('"').nth(3).expect("one live call").to_string();
    let (status, body) = http(&sb, "POST", &format!("/api/calls/{call_id}/recording/start"));
    assert_ne!(status, 204, "recording is off: {body}");
    assert!(body.contains("recording is off"), "{body}");
    std::thread::sleep(Duration::from_millis(1500));
    a.hangup().expect("hang up");
    b.wait_event("CALL_CLOSED", T).expect("callee closed");
    for (p, want, own) in [(&mut a, 1000.0, 440.0), (&mut b, 440.0, 1000.0)] {
        let [other, mine] = received_shares(p, 1.0, [want, own]);
        assert!(other > 0.5 && mine < 0.1, "hears {want} Hz ({other:.3}), not itself ({mine:.3})");
    }
    assert!(sb.admin_ok(&["recordings"]).lines().nth(1).is_none(), "nothing was recorded");
}

/// A caller offering a codec the callee's side allows stays on the relay,
/// but the offer the callee gets names only the allowed codecs: the
/// callee's phone prefers PCMU, its extension allows only PCMA.
#[test]
fn the_relayed_offer_names_only_codecs_the_callees_side_allows() {
    let sb = Switchboard::start_with("").expect("start");
    let mut a = phone(&sb, "1001", 440.0, &["PCMU", "PCMA"], None);
    let mut b = phone(&sb, "1002", 1000.0, &["PCMU", "PCMA"], Some("PCMA"));
    connect(&sb, &mut a, &mut b);
    // baresip names the codec it sends with; both phones use the allowed one.
    for p in [&mut a, &mut b] {
        p.wait_for_log("Set audio encoder: PCMA", T).expect("PCMA chosen");
    }
    std::thread::sleep(Duration::from_millis(1500));
    a.hangup().expect("hang up");
    b.wait_event("CALL_CLOSED", T).expect("callee closed");
    let log = sb.log();
    assert!(!log.contains("bridging through the media engine"), "relayed, not transcoded");
    for p in [&a, &b] {
        let text = std::fs::read_to_string(p.log_path()).unwrap();
        assert!(!text.contains("Set audio encoder: PCMU"), "PCMU never used");
    }
    let invite_to_callee = std::fs::read_to_string(b.log_path()).unwrap();
    let m = invite_to_callee.lines().find(|l| l.starts_with("m=audio")).expect("the callee's log has the offer");
    assert!(m.ends_with(" 8 101"), "offer toward the callee: {m}");
    for (p, want) in [(&mut a, 1000.0), (&mut b, 440.0)] {
        let [other] = received_shares(p, 1.0, [want]);
        assert!(other > 0.5, "hears {want} Hz");
    }
}

/// A caller's own list is not imposed on the callee: a phone listed as
/// PCMA-only calling a phone without a list that speaks PCMU only is
/// relayed with the caller's whole offer, and the call works in PCMU.
#[test]
fn a_callers_own_list_is_not_imposed_on_the_callee() {
    let sb = Switchboard::start_with("").expect("start");
    let mut a = phone(&sb, "1001", 440.0, &["PCMU", "PCMA"], Some("PCMA"));
    let mut b = phone(&sb, "1002", 1000.0, &["PCMU"], None);
    connect(&sb, &mut a, &mut b);
    for p in [&mut a, &mut b] {
        p.wait_for_log("Set audio encoder: PCMU", T).expect("PCMU chosen");
    }
    std::thread::sleep(Duration::from_millis(1000));
    a.hangup().expect("hang up");
    b.wait_event("CALL_CLOSED", T).expect("callee closed");
    assert!(!sb.log().contains("bridging through the media engine"), "relayed");
    for (p, want) in [(&mut a, 1000.0), (&mut b, 440.0)] {
        let [other] = received_shares(p, 0.5, [want]);
        assert!(other > 0.5, "hears {want} Hz");
    }
}
