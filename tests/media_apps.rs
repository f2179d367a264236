//! The media engine end to end: calls the appliance answers itself. A real
//! phone (baresip) or SIPp reaches the IVR test application, hears its
//! prompts, and its digits arrive by RFC 4733, in-band tones and SIP INFO;
//! three phones talk in a conference room; and the `switchboard dtmf`
//! command reads digits out of audio files in several formats.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::audio::{read_wav, rms, tone_power_ratio, write_dtmf, write_tone};
use common::baresip::{AnswerMode, Baresip, BaresipConfig};
use common::sipp::Sipp;
use common::switchboard::{bin, Switchboard};

const T: Duration = Duration::from_secs(10);

fn prompts_config() -> String {
    format!("[media]\nprompts_dir = \"{}/prompts\"\n", env!("CARGO_MANIFEST_DIR"))
}

fn phone(sb: &Switchboard, user: &str, secret: &str, source: Option<&Path>) -> Baresip {
    let mut cfg = BaresipConfig::new(user).registrar(&sb.sip_addr(), user, secret).answermode(AnswerMode::Auto);
    if let Some(src) = source {
        cfg = cfg.audio_source(src);
    }
    let mut b = Baresip::start(cfg).expect("start baresip");
    b.wait_registered(T).expect("registered");
    b
}

#[test]
fn dtmf_command_reads_digits_from_any_format() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("digits.wav");
    write_dtmf(&wav, "159#", 0.2, 0.1, 0.3, 0.5);
    // Re-encode as 44.1 kHz stereo FLAC and as Ogg Vorbis: the command must
    // decode, downmix and resample before detecting.
    let flac = dir.path().join("digits.flac");
    let ogg = dir.path().join("digits.ogg");
    for (out, extra) in [(&flac, vec!["-r", "44100", "-c", "2"]), (&ogg, vec!["-r", "48000"])] {
        let st = Command::new("sox").arg(&wav).args(&extra).arg(out).status().expect("run sox");
        assert!(st.success(), "sox converts to {}", out.display());
    }
    for file in [&wav, &flac, &ogg] {
        let out = Command::new(bin()).arg("dtmf").arg(file).output().expect("run switchboard dtmf");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<(f64, String)> = text
            .lines()
            .map(|l| {
                let (t, d) = l.split_once(' ').expect("`<seconds> <digit>`");
                (t.parse().expect("seconds"), d.to_string())
            })
            .collect();
        let digits: String = lines.iter().map(|(_, d)| d.as_str()).collect();
        assert_eq!(digits, "159#", "{}: {text}", file.display());
        for (i, (t, _)) in lines.iter().enumerate() {
            let expected = 0.2 + 0.4 * i as f64;
            assert!((t - expected).abs() < 0.03, "{}: digit {i} at {t}, expected {expected}", file.display());
        }
    }
    let out = Command::new(bin()).arg("dtmf").arg(dir.path().join("missing.wav")).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.wav"));
}

#[test]
fn ivr_plays_prompts_and_collects_rfc4733_and_inband_digits() {
    let mut sb = Switchboard::start_with(&prompts_config()).expect("start switchboard");
    sb.add_extension("1001", "secret-one-1001");
    sb.add_extension("1002", "secret-two-1002");

    // RFC 4733: baresip's sndcode sends telephone-events.
    let mut a = phone(&sb, "1001", "secret-one-1001", None);
    a.dial(&format!("sip:7000@{}", sb.sip_addr())).expect("dial the IVR");
    a.wait_event("CALL_ESTABLISHED", T).expect("IVR answers");
    std::thread::sleep(Duration::from_millis(2500));
    a.send_dtmf("42#").expect("send digits");
    sb.wait_log("entered=\"42\"", T).expect("IVR collected 4, 2 and # as one entry");
    let log = sb.log();
    assert!(log.contains("digit=4 source=Rfc4733") && log.contains("digit=2 source=Rfc4733"), "{log}");
    assert_eq!(log.matches("digit=4 ").count(), 1, "no double digit");
    std::thread::sleep(Duration::from_millis(1500));
    a.hangup().expect("hang up");
    a.wait_event("CALL_CLOSED", T).expect("closed");
    let heard = a.wait_received_recording(2.0, T).expect("recording of what the IVR played");
    let audio = read_wav(&heard).unwrap();
    let first = &audio.samples[..(audio.rate as usize * 2).min(audio.samples.len())];
    assert!(rms(first) > 0.01, "the greeting prompt is audible (rms {})", rms(first));

    // In-band: the phone's audio itself carries the tones.
    let tones = sb.dir().join("inband.wav");
    write_dtmf(&tones, "39#", 1.5, 0.12, 0.15, 3.0);
    let mut b = phone(&sb, "1002", "secret-two-1002", Some(&tones));
    b.dial(&format!("sip:7000@{}", sb.sip_addr())).expect("dial the IVR");
    b.wait_event("CALL_ESTABLISHED", T).expect("IVR answers");
    sb.wait_log("entered=\"39\"", T).expect("IVR collected in-band 3, 9 and #");
    let log = sb.log();
    assert!(log.contains("digit=3 source=InBand") && log.contains("digit=9 source=InBand"), "{log}");
    b.hangup().expect("hang up");
    b.wait_event("CALL_CLOSED", T).expect("closed");

    // Both calls have records with receive quality for the caller's leg.
    // The record is closed once the call task has torn the leg down.
    let deadline = std::time::Instant::now() + T;
    let cdr = loop {
        let cdr = sb.admin_ok(&["calls"]);
        let closed = cdr.lines().skip(1).filter(|l| l.contains(" 7000 ") && l.contains(" 200 ")).count();
        if closed == 2 || std::time::Instant::now() > deadline {
            break cdr;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let rows: Vec<&str> = cdr.lines().skip(1).filter(|l| l.contains(" 7000 ")).collect();
    assert_eq!(rows.len(), 2, "{cdr}");
    for r in rows {
        let cols: Vec<&str> = r.split_whitespace().collect();
        assert_eq!(cols[4], "200", "{r}");
        let quality: Vec<&str> = cols[7].split('/').collect();
        let pkts: u64 = quality[0].parse().unwrap();
        let mos: f64 = quality[3].parse().unwrap();
        assert!(pkts > 50 && mos > 3.5, "caller leg measured: {r}");
    }
}

#[test]
fn ivr_takes_digits_by_sip_info() {
    let mut sb = Switchboard::start_with(&prompts_config()).expect("start switchboard");
    sb.add_extension("1001", "secret-one-1001");
    let run = Sipp::scenario("call_ext_info_dtmf.xml")
        .remote(&sb.sip_addr())
        .service("7000")
        .key("caller", "1001")
        .auth("1001", "secret-one-1001")
        .calls(1)
        .timeout(Duration::from_secs(20))
        .run()
        .expect("run sipp");
    run.expect_success(1).expect("INFOs answered 200, call completed");
    sb.wait_log("entered=\"7\"", T).expect("IVR collected INFO digits 7 and #");
    assert!(sb.log().contains("digit=7 source=SipInfo"));
}

/// One phone per tone (extensions `<prefix>1`, `<prefix>2`, ...), all joined
/// to conference `room`.
fn room_of_tones(sb: &Switchboard, room: &str, prefix: &str, freqs: &[f64]) -> Vec<Baresip> {
    let mut phones = Vec::new();
    for (i, f) in freqs.iter().enumerate() {
        let user = format!("{prefix}{}", i + 1);
        let secret = format!("secret-{user}-x");
        sb.add_extension(&user, &secret);
        let wav = sb.dir().join(format!("tone-{f}.wav"));
        write_tone(&wav, *f, 30.0, 0.3).unwrap();
        phones.push(phone(sb, &user, &secret, Some(&wav)));
    }
    for p in &phones {
        p.dial(&format!("sip:{room}@{}", sb.sip_addr())).expect("dial the room");
    }
    for p in phones.iter_mut() {
        p.wait_event("CALL_ESTABLISHED", T).expect("joined");
    }
    phones
}

#[test]
fn three_party_conference_mixes_everyone_but_yourself() {
    let sb = Switchboard::start_with(&prompts_config()).expect("start switchboard");
    let freqs = [440.0, 1000.0, 1700.0];
    let mut phones = room_of_tones(&sb, "8000", "100", &freqs);
    std::thread::sleep(Duration::from_millis(3000));
    for p in &phones {
        p.hangup().expect("leave");
    }
    for (i, p) in phones.iter_mut().enumerate() {
        p.wait_event("CALL_CLOSED", T).expect("closed");
        let heard = p.wait_received_recording(1.0, T).expect("recording");
        let own = tone_power_ratio(&heard, freqs[i]).unwrap();
        for (j, f) in freqs.iter().enumerate() {
            if j != i {
                let other = tone_power_ratio(&heard, *f).unwrap();
                assert!(other > 0.15, "party {i} hears {f} Hz: {other:.3}");
            }
        }
        assert!(own < 0.05, "party {i} does not hear itself ({} Hz): {own:.3}", freqs[i]);
    }
}

/// The Call-ID of the INVITE this phone sent to `number`, from its SIP trace.
fn invite_call_id(p: &Baresip, number: &str) -> String {
    let log = std::fs::read_to_string(p.log_path()).unwrap_or_default();
    let after = log.split(&format!("INVITE sip:{number}@")).nth(1).expect("INVITE in the trace");
    after
        .lines()
        .find_map(|l| l.strip_prefix("Call-ID: "))
        .expect("Call-ID header")
        .trim()
        .to_string()
}

fn post(sb: &Switchboard, path: &str) -> u16 {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", sb.http_port)).expect("connect console");
    s.set_read_timeout(Some(T)).unwrap();
    write!(s, "POST {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", sb.key()).unwrap();
    let mut resp = String::new();
    let _ = s.read_to_string(&mut resp);
    resp.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

/// Share of `freq` (median over 50 ms blocks) and RMS in seconds `from..to` of a recording.
fn share(path: &Path, from: f64, to: f64, freq: f64) -> (f64, f64) {
    let audio = read_wav(path).unwrap();
    let rate = f64::from(audio.rate);
    let end = ((to * rate) as usize).min(audio.samples.len());
    let seg = &audio.samples[((from * rate) as usize).min(end)..end];
    (common::audio::tone_power_ratio_samples(seg, audio.rate, freq), rms(seg))
}

#[test]
fn conference_mute_and_deaf_through_the_api() {
    let sb = Switchboard::start_with(&prompts_config()).expect("start switchboard");
    let freqs = [440.0, 1000.0, 1700.0];
    let mut phones = room_of_tones(&sb, "8001", "100", &freqs);
    let t0 = std::time::Instant::now();
    std::thread::sleep(Duration::from_millis(2000));
    let muted = invite_call_id(&phones[1], "8001");
    let deaf = invite_call_id(&phones[2], "8001");
    assert_eq!(post(&sb, &format!("/api/calls/{muted}/conference/mute")), 204);
    assert_eq!(post(&sb, &format!("/api/calls/{deaf}/conference/deaf")), 204);
    assert_eq!(post(&sb, &format!("/api/calls/{deaf}/conference/sing")), 400);
    assert_eq!(post(&sb, &format!("/api/calls/{deaf}/recording/start")), 409, "not a bridged call");
    let switched = t0.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_millis(3000));
    for p in &phones {
        p.hangup().expect("leave");
    }
    let mut heard = Vec::new();
    for p in phones.iter_mut() {
        p.wait_event("CALL_CLOSED", T).expect("closed");
        heard.push(p.wait_received_recording(3.0, T).expect("recording"));
    }
    let after = (switched + 0.5, switched + 2.5);
    // Party 0 heard 1000 Hz before the mute and not after it.
    let (before_mute, _) = share(&heard[0], 0.5, 1.5, 1000.0);
    let (after_mute, _) = share(&heard[0], after.0, after.1, 1000.0);
    let (still_1700, _) = share(&heard[0], after.0, after.1, 1700.0);
    assert!(before_mute > 0.15, "1000 Hz audible before mute: {before_mute:.3}");
    assert!(after_mute < 0.05, "muted party silent for the room: {after_mute:.3}");
    assert!(still_1700 > 0.3, "the deaf party still speaks to the room: {still_1700:.3}");
    // The deaf party hears nothing after the switch.
    let (_, deaf_level) = share(&heard[2], after.0, after.1, 440.0);
    let (_, before_level) = share(&heard[2], 0.5, 1.5, 440.0);
    assert!(before_level > 0.02 && deaf_level < before_level / 20.0, "deaf: {before_level:.4} -> {deaf_level:.4}");
}

#[test]
fn supervisor_listens_whispers_and_barges() {
    let sb = Switchboard::start_with(&prompts_config()).expect("start switchboard");
    // caller 1000 Hz, agent 440 Hz, supervisor 1700 Hz
    let freqs = [1000.0, 440.0, 1700.0];
    let mut phones = room_of_tones(&sb, "8000", "200", &freqs);
    let t0 = std::time::Instant::now();
    let agent = invite_call_id(&phones[1], "8000");
    let sup = invite_call_id(&phones[2], "8000");
    assert_eq!(post(&sb, &format!("/api/calls/{sup}/conference/listen")), 204);
    let t_listen = t0.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(post(&sb, &format!("/api/calls/{sup}/conference/whisper")), 400, "whisper needs a target");
    assert_eq!(post(&sb, &format!("/api/calls/{sup}/conference/whisper?to={agent}")), 204);
    let t_whisper = t0.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(post(&sb, &format!("/api/calls/{sup}/conference/barge")), 204);
    let t_barge = t0.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_millis(2000));
    for p in &phones {
        p.hangup().expect("leave");
    }
    let mut heard = Vec::new();
    for p in phones.iter_mut() {
        p.wait_event("CALL_CLOSED", T).expect("closed");
        heard.push(p.wait_received_recording(5.0, T).expect("recording"));
    }
    let (caller, agent_rec, sup_rec) = (&heard[0], &heard[1], &heard[2]);
    // Listen: nobody hears the supervisor, the supervisor hears both.
    let seg = (t_listen + 0.5, t_whisper - 0.3);
    assert!(share(caller, seg.0, seg.1, 1700.0).0 < 0.05, "caller does not hear a listening supervisor");
    assert!(share(agent_rec, seg.0, seg.1, 1700.0).0 < 0.05, "agent does not hear a listening supervisor");
    assert!(share(sup_rec, seg.0, seg.1, 1000.0).0 > 0.15 && share(sup_rec, seg.0, seg.1, 440.0).0 > 0.15, "supervisor hears both");
    // Whisper: only the agent hears the supervisor.
    let seg = (t_whisper + 0.5, t_barge - 0.3);
    assert!(share(agent_rec, seg.0, seg.1, 1700.0).0 > 0.15, "agent hears the whisper");
    assert!(share(caller, seg.0, seg.1, 1700.0).0 < 0.05, "caller does not hear the whisper");
    // Barge: everyone hears the supervisor.
    let seg = (t_barge + 0.5, t_barge + 1.7);
    assert!(share(caller, seg.0, seg.1, 1700.0).0 > 0.15, "caller hears the barging supervisor");
}
