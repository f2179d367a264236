//! Voicemail end to end (issue 4): a baresip caller reaches a dialplan
//! `voicemail` step and leaves a message; the WAV and its row exist; the
//! owner gets it by e-mail on a real SMTP receiver (aiosmtpd) with the audio
//! attached; a SIPp phone subscribed to message-summary gets a NOTIFY with
//! one new message (RFC 3842); the owner dials `*97`, enters the PIN
//! in-band and hears the message, which is then marked heard.

mod common;

use std::path::Path;
use std::time::Duration;

use common::audio::{write_dtmf, write_tone};
use common::baresip::{AnswerMode, Baresip, BaresipConfig};
use common::ports;
use common::sipp::Sipp;
use common::smtp::{start_receiver, wait_message};
use common::switchboard::Switchboard;

const T: Duration = Duration::from_secs(20);

const PLAN: &str = r#"
[[entry]]
match = { did = "4001" }
context = "leave"
[[entry]]
match = { feature = "*97" }
context = "listen"
[context.leave]
steps = [{ app = "answer" }, { app = "voicemail", mailbox = "1001" }]
[context.listen]
steps = [{ app = "answer" }, { app = "voicemail_main", mailbox = "${caller}" }]
"#;

fn phone(sb: &Switchboard, user: &str, source: &Path) -> Baresip {
    let secret = format!("secret-of-{user}");
    let cfg = BaresipConfig::new(user).registrar(&sb.sip_addr(), user, &secret).answermode(AnswerMode::Auto).audio_source(source);
    let mut b = Baresip::start(cfg).expect("start baresip");
    b.wait_registered(T).expect("registered");
    b
}

#[test]
fn leave_a_message_get_it_by_email_and_mwi_then_listen_with_star97() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = start_receiver(dir.path());
    let cfg = format!(
        "[media]\nprompts_dir = \"{}/prompts\"\ninband_dtmf = true\n[smtp]\nhost = \"127.0.0.1\"\nport = {}\nfrom = \"pbx@example.org\"\n",
        env!("CARGO_MANIFEST_DIR"),
        smtp.port
    );
    let mut sb = Switchboard::start_with(&cfg).expect("start");
    std::fs::write(sb.dialplan_dir().join("vm.toml"), PLAN).unwrap();
    sb.wait_log("dialplan reloaded", T).expect("plan loaded");
    for user in ["1001", "1003"] {
        sb.add_extension(user, &format!("secret-of-{user}"));
    }
    sb.admin_ok(&["mailbox", "add", "1001", "--pin", "2468", "--email", "owner@example.com", "--max-secs", "3"]);

    // The owner's phone watches the mailbox.
    let mwi = Sipp::scenario("mwi_subscribe.xml")
        .ports(ports::alloc_sipp())
        .remote(&sb.sip_addr())
        .service("1001")
        .key("caller", "1001")
        .auth("1001", "secret-of-1001")
        .calls(1)
        .timeout(Duration::from_secs(120))
        .spawn()
        .expect("spawn subscriber");
    sb.wait_log("message-summary subscription", T).expect("subscribed");

    // A caller talks (a steady tone) into the mailbox; the 3 s limit ends the message.
    let talk = sb.dir().join("talk.wav");
    write_tone(&talk, 440.0, 40.0, 0.3).unwrap();
    let mut caller = phone(&sb, "1003", &talk);
    caller.dial(&format!("sip:4001@{}", sb.sip_addr())).expect("dial");
    caller.wait_event("CALL_ESTABLISHED", T).expect("answered");
    let saved = sb.wait_log("voicemail saved", Duration::from_secs(40)).unwrap_or_else(|e| panic!("{e:?}\n{}", sb.log()));
    caller.wait_event("CALL_CLOSED", T).expect("the appliance hangs up after the message");
    let path = saved.split("path=").nth(1).map(|p| p.split_whitespace().next().unwrap().trim_matches('"').to_string()).expect("path logged");
    let wav = hound::WavReader::open(&path).expect("the message is a WAV file");
    let secs = wav.duration() as f64 / wav.spec().sample_rate as f64;
    assert!((2.5..=3.1).contains(&secs), "a 3 s message, got {secs:.2} s");
    let list = sb.admin_ok(&["voicemail", "list", "1001"]);
    assert!(list.lines().any(|l| l.contains("1003")), "row for the caller: {list}");

    // The e-mail, with the audio attached.
    let mail = std::fs::read_to_string(wait_message(&smtp.maildir)).unwrap();
    assert!(mail.contains("owner@example.com"), "{mail}");
    assert!(mail.contains("voicemail-1001-") && mail.contains("audio/wav"), "attachment: {mail}");

    // Message waiting: the subscriber's second NOTIFY says one new message.
    let run = mwi.wait(Duration::from_secs(30)).expect("subscriber done");
    run.expect_success(1).unwrap_or_else(|e| panic!("{e:?}\n{}\n{}", run.messages(), sb.log()));
    let msgs = run.messages();
    assert!(msgs.contains("Voice-Message: 0/0"), "first NOTIFY: the empty box\n{msgs}");
    assert!(msgs.contains("Messages-Waiting: yes") && msgs.contains("Voice-Message: 1/0"), "{msgs}");

    // *97: the PIN in-band, then the message plays and is marked heard.
    let pin = sb.dir().join("pin.wav");
    write_dtmf(&pin, "2468#", 1.5, 0.12, 0.12, 30.0);
    let mut owner = phone(&sb, "1001", &pin);
    owner.dial(&format!("sip:*97@{}", sb.sip_addr())).expect("dial *97");
    owner.wait_event("CALL_ESTABLISHED", T).expect("answered");
    let checked = sb.wait_log("voicemail PIN checked", T).unwrap_or_else(|e| panic!("{e:?}\n{}", sb.log()));
    assert!(checked.contains("ok=true"), "{checked}");
    sb.wait_log("voicemail heard", Duration::from_secs(40)).unwrap_or_else(|e| panic!("{e:?}\n{}", sb.log()));
    owner.hangup().expect("hang up");
    let list = sb.admin_ok(&["voicemail", "list", "1001"]);
    let row = list.lines().find(|l| l.contains("1003")).expect("row");
    assert!(row.contains("yes"), "marked heard: {list}");
}

/// Pieces of a caller's audio (8 kHz mono WAV).
enum Part {
    Silence(f64),
    Digits(&'static str),
    Tone(f64, f64),
}

fn compose(path: &Path, parts: &[Part]) {
    let rate = 8000.0;
    let spec = hound::WavSpec { channels: 1, sample_rate: 8000, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    let mut put = |secs: f64, f: &dyn Fn(f64) -> f64| {
        for i in 0..(secs * rate) as usize {
            w.write_sample(f(i as f64 / rate) as i16).unwrap();
        }
    };
    let sine = |hz: f64, t: f64| (2.0 * std::f64::consts::PI * hz * t).sin();
    for p in parts {
        match p {
            Part::Silence(s) => put(*s, &|_| 0.0),
            Part::Tone(hz, s) => put(*s, &|t| 8000.0 * sine(*hz, t)),
            Part::Digits(ds) => {
                for d in ds.chars() {
                    let (lo, hi) = match d {
                        '0' => (941.0, 1336.0),
                        '1' => (697.0, 1209.0),
                        '2' => (697.0, 1336.0),
                        '4' => (770.0, 1209.0),
                        '6' => (770.0, 1477.0),
                        '8' => (852.0, 1336.0),
                        _ => (941.0, 1477.0), // '#'
                    };
                    put(0.12, &|t| 5000.0 * (sine(lo, t) + sine(hi, t)));
                    put(0.12, &|_| 0.0);
                }
            }
        }
    }
    w.finalize().unwrap();
}

#[test]
fn owner_records_a_greeting_by_phone_and_callers_hear_it() {
    let cfg = format!("[media]\nprompts_dir = \"{}/prompts\"\ninband_dtmf = true\n", env!("CARGO_MANIFEST_DIR"));
    let mut sb = Switchboard::start_with(&cfg).expect("start");
    std::fs::write(sb.dialplan_dir().join("vm.toml"), PLAN).unwrap();
    sb.wait_log("dialplan reloaded", T).expect("plan loaded");
    for user in ["1001", "1003"] {
        sb.add_extension(user, &format!("secret-of-{user}"));
    }
    sb.admin_ok(&["mailbox", "add", "1001", "--pin", "2468"]);

    // *97: PIN, then (typed ahead during the summary) 0 options, 1 record;
    // after the beep a 3 s 1 kHz "greeting" and silence ends the take; 1
    // (typed during the playback) keeps it.
    let script = sb.dir().join("owner.wav");
    compose(
        &script,
        &[Part::Silence(1.0), Part::Digits("2468#"), Part::Silence(0.8), Part::Digits("01"), Part::Silence(10.0), Part::Tone(1000.0, 3.0), Part::Silence(4.5), Part::Digits("1"), Part::Silence(30.0)],
    );
    let mut owner = phone(&sb, "1001", &script);
    owner.dial(&format!("sip:*97@{}", sb.sip_addr())).expect("dial *97");
    owner.wait_event("CALL_ESTABLISHED", T).expect("answered");
    sb.wait_log("voicemail greeting recorded", Duration::from_secs(45)).unwrap_or_else(|e| panic!("{e:?}\n{}", sb.log()));
    owner.hangup().expect("hang up");
    let list = sb.admin_ok(&["mailbox", "list"]);
    assert!(list.lines().any(|l| l.starts_with("1001") && l.contains("recorded")), "{list}");

    // A caller now hears that greeting (the 1 kHz tone) instead of the spoken default.
    let quiet = sb.dir().join("quiet.wav");
    compose(&quiet, &[Part::Silence(40.0)]);
    let mut caller = phone(&sb, "1003", &quiet);
    caller.dial(&format!("sip:4001@{}", sb.sip_addr())).expect("dial");
    caller.wait_event("CALL_ESTABLISHED", T).expect("answered");
    std::thread::sleep(Duration::from_secs(5));
    caller.hangup().expect("hang up");
    let heard = caller.wait_received_recording(3.0, T).expect("what the caller heard");
    let audio = common::audio::read_wav(&heard).unwrap();
    let head = &audio.samples[..(audio.rate as usize * 4).min(audio.samples.len())];
    let ratio = common::audio::tone_power_ratio_samples(head, audio.rate, 1000.0);
    assert!(ratio > 0.3, "the recorded greeting (1 kHz) is what callers hear first (power ratio {ratio:.2})\n{}", sb.log());
}
