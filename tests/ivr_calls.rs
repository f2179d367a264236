//! Dialplans on live calls (issue 4): real callers reach the demo "company
//! main line" (dialplans/demo.toml, with `fixed_time` inside business
//! hours), press keys by RFC 4733 (SIPp replaying Debian's
//! telephone-event captures) and in-band (baresip playing a WAV), and end
//! up bridged to the sales phones; menu timeouts and invalid keys follow a
//! plan's retries; the caller provably hears the greeting prompt; edits to
//! the dialplan files are picked up without a restart, broken ones refused.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::audio::{read_wav, write_dtmf};
use common::baresip::{AnswerMode, Baresip, BaresipConfig};
use common::ports;
use common::sipp::Sipp;
use common::switchboard::Switchboard;

const T: Duration = Duration::from_secs(15);
/// Monday 10:00 in the demo's UTC+01:00: inside business hours.
const OPEN: &str = "2026-03-02T10:00:00+01:00";

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

fn config(dialplans: &Path) -> String {
    format!(
        "[media]\nprompts_dir = \"{}\"\ninband_dtmf = true\n[trunks]\noptions_interval_secs = 0\n[dialplan]\ndir = \"{}\"\nfixed_time = \"{OPEN}\"\n",
        repo("prompts").display(),
        dialplans.display()
    )
}

fn phone(sb: &Switchboard, user: &str, source: Option<&Path>) -> Baresip {
    sb.add_extension(user, &format!("secret-of-{user}"));
    let mut cfg = BaresipConfig::new(user).registrar(&sb.sip_addr(), user, &format!("secret-of-{user}")).answermode(AnswerMode::Auto);
    if let Some(src) = source {
        cfg = cfg.audio_source(src);
    }
    let mut b = Baresip::start(cfg).expect("start baresip");
    b.wait_registered(T).expect("registered");
    b
}

/// The IVR path of the newest call record to `callee` that has one (the
/// `calls` table is fixed-width: the path starts under its header).
fn wait_path(sb: &Switchboard, callee: &str) -> String {
    let deadline = Instant::now() + T;
    loop {
        let cdr = sb.admin_ok(&["calls"]);
        let mut lines = cdr.lines();
        let col = lines.next().and_then(|h| h.find("IVR PATH")).expect("IVR PATH column");
        let path = lines
            .filter(|l| l.split_whitespace().nth(3) == Some(callee))
            .filter_map(|l| l.get(col..).map(str::trim))
            .find(|p| !p.is_empty() && *p != "-");
        if let Some(p) = path {
            return p.to_string();
        }
        assert!(Instant::now() < deadline, "no call record with an IVR path:\n{cdr}\n{}", sb.log());
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn sipp_rfc4733_key_reaches_sales_and_is_bridged() {
    let trunk_ports = ports::alloc_sipp();
    let mut sb = Switchboard::new(&config(&repo("dialplans"))).expect("prepare");
    sb.admin_ok(&["trunk", "add", "carrier", "--host", &format!("127.0.0.1:{}", trunk_ports.sip)]);
    sb.start().expect("start");
    let mut sales = phone(&sb, "1001", None);

    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("ivr_key1.xml");
    let template = std::fs::read_to_string(repo("tests/sipp/ivr_uac_pcap_dtmf.xml")).unwrap();
    std::fs::write(&scenario, template.replace("@PCAP@", "/usr/share/sip-tester/dtmf_2833_1.pcap")).unwrap();
    let sipp = Sipp::scenario(&scenario)
        .ports(trunk_ports)
        .remote(&sb.sip_addr())
        .service("5550100")
        .key("caller", "4420799990000")
        .pause(Duration::from_millis(800))
        .calls(1)
        .timeout(Duration::from_secs(60))
        .spawn()
        .expect("spawn sipp");
    // The key, pressed during the greeting, is kept for the menu; sales rings.
    sales.wait_event("CALL_ESTABLISHED", Duration::from_secs(30)).unwrap_or_else(|e| panic!("{e:?}\n{}", sb.log()));
    let log = sb.log();
    assert!(log.contains("digit=1 source=Rfc4733"), "{log}");
    std::thread::sleep(Duration::from_millis(800));
    sales.hangup().expect("sales hangs up");
    let run = sipp.wait(T).expect("sipp ends");
    run.expect_success(1).unwrap_or_else(|e| panic!("{e:?}\n{}", sb.log()));
    assert_eq!(wait_path(&sb, "5550100"), "main > menu > choice=1 > sales");
}

#[test]
fn baresip_inband_key_reaches_the_same_destination() {
    let sb = Switchboard::start_with(&config(&repo("dialplans"))).expect("start");
    let mut sales = phone(&sb, "1001", None);
    let tones = sb.dir().join("key1.wav");
    // "1" in-band after the greeting (about 2 s), then 30 s of silence.
    write_dtmf(&tones, "1", 3.0, 0.15, 0.2, 30.0);
    let mut caller = phone(&sb, "1003", Some(&tones));
    caller.dial(&format!("sip:5550100@{}", sb.sip_addr())).expect("dial the main line");
    caller.wait_event("CALL_ESTABLISHED", T).expect("the line answers");
    sales.wait_event("CALL_ESTABLISHED", Duration::from_secs(30)).unwrap_or_else(|e| panic!("{e:?}\n{}", sb.log()));
    let log = sb.log();
    assert!(log.contains("digit=1 source=InBand"), "{log}");
    caller.hangup().expect("caller hangs up");
    sales.wait_event("CALL_CLOSED", T).expect("the bridged callee is hung up too");
    assert_eq!(wait_path(&sb, "5550100"), "main > menu > choice=1 > sales");
}

const RETRY_PLAN: &str = r#"
[[entry]]
match = { did = "4000" }
context = "main"

[context.main]
steps = [
  { app = "answer" },
  { app = "play", prompts = ["welcome"] },
  { app = "menu", prompt = ["main-menu"], invalid = ["invalid"], timeout_ms = 1500, retries = 1, fallback = "gone", choices = { "1" = "never" } },
]
[context.never]
steps = [{ app = "hangup", cause = 16 }]
[context.gone]
steps = [{ app = "play", prompts = ["goodbye"] }, { app = "hangup", cause = 16 }]
"#;

/// 20 ms RMS envelope.
fn envelope(s: &[f64], rate: u32) -> Vec<f64> {
    s.chunks(rate as usize / 50).map(|c| (c.iter().map(|x| x * x).sum::<f64>() / c.len() as f64).sqrt()).collect()
}

/// Best normalised correlation of `needle`'s envelope inside the first
/// `within` frames of `hay`'s.
fn best_match(hay: &[f64], needle: &[f64], within: usize) -> f64 {
    let mut best = -1.0f64;
    for lag in 0..within.min(hay.len().saturating_sub(needle.len())) {
        let h = &hay[lag..lag + needle.len()];
        let (mh, mn) = (h.iter().sum::<f64>() / h.len() as f64, needle.iter().sum::<f64>() / needle.len() as f64);
        let (mut num, mut dh, mut dn) = (0.0, 0.0, 0.0);
        for (a, b) in h.iter().zip(needle) {
            num += (a - mh) * (b - mn);
            dh += (a - mh) * (a - mh);
            dn += (b - mn) * (b - mn);
        }
        if dh > 0.0 && dn > 0.0 {
            best = best.max(num / (dh.sqrt() * dn.sqrt()));
        }
    }
    best
}

fn prompt_at_8k(name: &str, dir: &Path) -> Vec<f64> {
    let out = dir.join(format!("{name}.wav"));
    let st = Command::new("sox").arg(repo(&format!("prompts/en/{name}.ogg"))).args(["-r", "8000", "-c", "1", "-b", "16"]).arg(&out).status().expect("sox");
    assert!(st.success());
    read_wav(&out).unwrap().samples
}

#[test]
fn invalid_key_and_timeout_follow_the_retries_and_the_caller_hears_the_prompts() {
    let sb = Switchboard::start_with(&format!(
        "[media]\nprompts_dir = \"{}\"\ninband_dtmf = true\n",
        repo("prompts").display()
    ))
    .expect("start");
    std::fs::write(sb.dialplan_dir().join("retry.toml"), RETRY_PLAN).unwrap();
    let mut sb = sb;
    sb.wait_log("dialplan reloaded", T).expect("the new file is picked up without a restart");
    // "7" (not a choice) during the first menu prompt, then nothing.
    let tones = sb.dir().join("key7.wav");
    write_dtmf(&tones, "7", 3.2, 0.15, 0.2, 30.0);
    let mut caller = phone(&sb, "1003", Some(&tones));
    caller.dial(&format!("sip:4000@{}", sb.sip_addr())).expect("dial");
    caller.wait_event("CALL_ESTABLISHED", T).expect("answered");
    // invalid 7 -> "invalid", menu again, 1.5 s timeout -> retries exhausted -> "gone" hangs up.
    caller.wait_event("CALL_CLOSED", Duration::from_secs(30)).unwrap_or_else(|e| panic!("{e:?}\n{}", sb.log()));
    assert_eq!(wait_path(&sb, "4000"), "main > fallback > gone");
    let log = sb.log();
    assert!(log.contains("digit=7 source=InBand"), "{log}");
    assert!(log.contains("cause=16"), "hung up with the plan's cause: {log}");

    // What the caller heard starts with the greeting: its loudness envelope
    // matches the welcome prompt's, and not another prompt's.
    let heard = caller.wait_received_recording(3.0, T).expect("recording of what the caller heard");
    let audio = read_wav(&heard).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let hay = envelope(&audio.samples, audio.rate);
    let welcome = envelope(&prompt_at_8k("welcome", dir.path()), 8000);
    let goodbye = envelope(&prompt_at_8k("goodbye", dir.path()), 8000);
    let seen = best_match(&hay, &welcome, 100);
    let other = best_match(&hay, &goodbye, 100);
    assert!(seen > 0.85, "the welcome prompt is heard at the start (correlation {seen:.2})");
    assert!(other < seen - 0.1, "a different prompt does not match as well ({other:.2} vs {seen:.2})");
}

#[test]
fn a_broken_edit_keeps_the_old_plan_and_names_the_line() {
    let mut sb = Switchboard::start_with("[trunks]\noptions_interval_secs = 0\n").expect("start");
    let file = sb.dialplan_dir().join("main.toml");
    std::fs::write(&file, "[[entry]]\nmatch = { did = \"4000\" }\ncontext = \"busy\"\n[context.busy]\nsteps = [{ app = \"hangup\", cause = 17 }]\n").unwrap();
    sb.wait_log("dialplan reloaded", T).expect("reloaded");
    std::fs::write(&file, "[[entry]]\nmatch = { did = \"4000\" }\ncontext = \"busy\"\n[context.busy]\nsteps = [{ app = \"hangup\", cause = \"x\" }]\n").unwrap();
    let line = sb.wait_log("main.toml:5:", T).expect("the error names file and line");
    assert!(line.contains("dialplan"), "{line}");
    sb.wait_log("previous plan stays in force", T).expect("rejected");
    let out = sb.admin(&["check-config"]);
    assert_eq!(out.status.code(), Some(1), "check-config fails on the broken file");
    assert!(String::from_utf8_lossy(&out.stderr).contains("main.toml:5:"));

    // A call still follows the previous plan: busy (cause 17 -> 486) before answer.
    let caller_ports = ports::alloc_sipp();
    sb.add_extension("1003", "secret-of-1003");
    let run = Sipp::scenario("call_ext_uac.xml")
        .ports(caller_ports)
        .remote(&sb.sip_addr())
        .service("4000")
        .key("caller", "1003")
        .auth("1003", "secret-of-1003")
        .calls(1)
        .timeout(T)
        .run()
        .expect("sipp");
    let msgs = run.messages();
    assert!(msgs.contains("SIP/2.0 486 Busy Here"), "{msgs}\n{}", sb.log());
}

const OUTBOUND_PLAN: &str = r#"
# Outside line: 9 + number, out through the "carrier" trunk with the
# company's main number as caller ID.
[[entry]]
match = { pattern = "_9." }
context = "outside"
[context.outside]
steps = [
  { app = "set", var = "caller_id_number", value = "+15550100" },
  { app = "set", var = "caller_id_name", value = "Example Corp" },
  { app = "dial", targets = ["${dialed:1}@carrier"], timeout_s = 20 },
  { app = "hangup", cause = 17 },
]
"#;

#[test]
fn outbound_route_strips_the_prefix_rewrites_caller_id_rings_through_and_records() {
    let carrier = Sipp::scenario("uas_carrier.xml").calls(1).timeout(Duration::from_secs(60)).spawn().expect("carrier");
    let mut sb = Switchboard::start_with("[trunks]\noptions_interval_secs = 0\n[recording]\nmode = \"always\"\n").expect("start");
    sb.add_extension("1001", "secret-of-1001");
    sb.admin_ok(&["trunk", "add", "carrier", "--host", &carrier.addr()]);
    std::fs::write(sb.dialplan_dir().join("out.toml"), OUTBOUND_PLAN).unwrap();
    sb.wait_log("dialplan reloaded", T).expect("plan loaded");

    let run = Sipp::scenario("call_ext_uac.xml")
        .ports(ports::alloc_sipp())
        .remote(&sb.sip_addr())
        .service("95551234")
        .key("caller", "1001")
        .auth("1001", "secret-of-1001")
        .pause(Duration::from_secs(2))
        .calls(1)
        .timeout(T)
        .run()
        .expect("caller");
    run.expect_success(1).unwrap_or_else(|e| panic!("{e:?}\n{}\n{}", run.messages(), sb.log()));
    // Ring-through: the caller heard 180 before the 200 (not answered by the IVR first).
    let caller_msgs = run.messages();
    let ringing = caller_msgs.find("SIP/2.0 180 Ringing").expect("180 relayed to the caller");
    let ok = caller_msgs.rfind("SIP/2.0 200 OK").expect("answered");
    assert!(ringing < ok, "{caller_msgs}");

    let far = carrier.wait(T).expect("carrier done");
    far.expect_success(1).unwrap_or_else(|e| panic!("{e:?}\n{}", sb.log()));
    let msgs = far.messages();
    assert!(msgs.contains("INVITE sip:5551234@"), "prefix 9 stripped: {msgs}");
    assert!(msgs.contains("\"Example Corp\" <sip:+15550100@"), "caller ID rewritten: {msgs}");

    // recording.mode = always also covers calls bridged by a dialplan.
    let deadline = Instant::now() + T;
    loop {
        let list = sb.admin_ok(&["recordings"]);
        if list.lines().skip(1).any(|l| l.contains("done") || l.contains("wav")) {
            break;
        }
        assert!(Instant::now() < deadline, "no recording row: {list}\n{}", sb.log());
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(wait_path(&sb, "95551234"), "outside");
}

const CONF_PLAN: &str = r#"
[[entry]]
match = { did = "8100" }
context = "bridge"
[context.bridge]
steps = [{ app = "answer" }, { app = "conference", room = "8100", pin = "1357" }]
"#;

#[test]
fn conference_with_pin_from_the_dialplan_mixes_the_parties() {
    let mut sb = Switchboard::start_with(&format!("[media]\nprompts_dir = \"{}\"\ninband_dtmf = true\n", repo("prompts").display())).expect("start");
    std::fs::write(sb.dialplan_dir().join("conf.toml"), CONF_PLAN).unwrap();
    sb.wait_log("dialplan reloaded", T).expect("plan loaded");
    let freqs = [440.0, 1000.0];
    let mut phones = Vec::new();
    for (i, f) in freqs.iter().enumerate() {
        // The PIN in-band, then this party's tone.
        let path = sb.dir().join(format!("party{i}.wav"));
        let mut w = hound::WavWriter::create(&path, hound::WavSpec { channels: 1, sample_rate: 8000, bits_per_sample: 16, sample_format: hound::SampleFormat::Int }).unwrap();
        let pin = sb.dir().join(format!("pin{i}.wav"));
        write_dtmf(&pin, "1357#", 1.5, 0.12, 0.12, 0.5);
        for s in hound::WavReader::open(&pin).unwrap().samples::<i16>() {
            w.write_sample(s.unwrap()).unwrap();
        }
        for n in 0..(8000.0 * 25.0) as usize {
            w.write_sample((9000.0 * (2.0 * std::f64::consts::PI * f * n as f64 / 8000.0).sin()) as i16).unwrap();
        }
        w.finalize().unwrap();
        phones.push(phone(&sb, &format!("200{}", i + 1), Some(&path)));
    }
    for p in &phones {
        p.dial(&format!("sip:8100@{}", sb.sip_addr())).expect("dial");
    }
    for p in phones.iter_mut() {
        p.wait_event("CALL_ESTABLISHED", T).expect("answered");
    }
    for _ in 0..2 {
        sb.wait_log("joined conference", T).unwrap_or_else(|e| panic!("{e:?}\n{}", sb.log()));
    }
    std::thread::sleep(Duration::from_secs(4));
    for p in &phones {
        p.hangup().expect("leave");
    }
    for (i, p) in phones.iter_mut().enumerate() {
        p.wait_event("CALL_CLOSED", T).expect("closed");
        let heard = p.wait_received_recording(3.0, T).expect("recording");
        let audio = common::audio::read_wav(&heard).unwrap();
        // The last two seconds: both parties in the room.
        let tail = &audio.samples[audio.samples.len().saturating_sub(audio.rate as usize * 2)..];
        let other = common::audio::tone_power_ratio_samples(tail, audio.rate, freqs[1 - i]);
        let own = common::audio::tone_power_ratio_samples(tail, audio.rate, freqs[i]);
        assert!(other > 0.15, "party {i} hears the other ({} Hz): {other:.3}", freqs[1 - i]);
        assert!(own < 0.05, "party {i} does not hear itself: {own:.3}");
    }
}
