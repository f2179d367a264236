//! Phone-to-phone calls through the appliance with two real SIP phones
//! (baresip, headless): digest registration, the B2BUA, anchored media in
//! both directions, RFC 4733 digits passing through, and a hangup that tears
//! down both legs and frees the media ports.

mod common;

use std::time::Duration;

use common::audio::{tone_power_ratio, write_tone};
use common::baresip::{AnswerMode, Baresip, BaresipConfig};
use common::switchboard::Switchboard;

const T: Duration = Duration::from_secs(10);

fn phone(sb: &Switchboard, user: &str, secret: &str, tone: Option<f64>, mode: AnswerMode) -> Baresip {
    let mut cfg = BaresipConfig::new(user).registrar(&sb.sip_addr(), user, secret).answermode(mode);
    if let Some(freq) = tone {
        let wav = sb.dir().join(format!("tone-{user}-{freq}.wav"));
        write_tone(&wav, freq, 4.0, 0.5).expect("write tone");
        cfg = cfg.audio_source(wav);
    }
    let mut b = Baresip::start(cfg).expect("start baresip");
    b.wait_registered(T).expect("phone registers with digest");
    b
}

#[test]
fn two_phones_talk_through_the_appliance() {
    let sb = Switchboard::start_with("").expect("start switchboard");
    sb.add_extension("1001", "secret-one-1001");
    sb.add_extension("1002", "secret-two-1002");
    let mut a = phone(&sb, "1001", "secret-one-1001", Some(440.0), AnswerMode::Auto);
    let mut b = phone(&sb, "1002", "secret-two-1002", Some(1000.0), AnswerMode::Auto);
    let list = sb.admin_ok(&["extension", "list"]);
    assert_eq!(list.matches("via 127.0.0.1").count(), 2, "both phones registered: {list}");

    a.dial(&format!("sip:1002@{}", sb.sip_addr())).expect("dial");
    a.wait_event("CALL_ESTABLISHED", T).expect("caller connected");
    b.wait_event("CALL_ESTABLISHED", T).expect("callee connected");
    assert!(!sb.rtp_ports_in_use().is_empty(), "media is anchored on the appliance's ports");

    std::thread::sleep(Duration::from_millis(1500));
    a.send_dtmf("5#").expect("send DTMF");
    let d1 = b.wait_event("CALL_DTMF_START", T).expect("first digit arrives");
    let d2 = b.wait_event("CALL_DTMF_START", T).expect("second digit arrives");
    assert_eq!((d1.param.as_str(), d2.param.as_str()), ("5", "#"), "RFC 4733 digits pass through");
    std::thread::sleep(Duration::from_millis(500));

    a.hangup().expect("hang up");
    a.wait_event("CALL_CLOSED", T).expect("caller leg closed");
    let closed = b.wait_event("CALL_CLOSED", T).expect("callee leg torn down by the appliance");
    assert!(closed.param.to_lowercase().contains("peer") || !closed.param.is_empty(), "{closed:?}");

    // Each side heard the other's tone, not its own.
    let heard_by_a = a.wait_received_recording(1.0, T).expect("caller recording");
    let heard_by_b = b.wait_received_recording(1.0, T).expect("callee recording");
    let a1000 = tone_power_ratio(&heard_by_a, 1000.0).unwrap();
    let a440 = tone_power_ratio(&heard_by_a, 440.0).unwrap();
    let b440 = tone_power_ratio(&heard_by_b, 440.0).unwrap();
    let b1000 = tone_power_ratio(&heard_by_b, 1000.0).unwrap();
    assert!(a1000 > 0.5 && a440 < 0.1, "caller hears 1000 Hz: {a1000:.3} vs own 440 Hz: {a440:.3}");
    assert!(b440 > 0.5 && b1000 < 0.1, "callee hears 440 Hz: {b440:.3} vs own 1000 Hz: {b1000:.3}");

    // Both legs gone: every media port is free again.
    let deadline = std::time::Instant::now() + T;
    while !sb.rtp_ports_in_use().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(sb.rtp_ports_in_use(), Vec::<u16>::new(), "media ports released after hangup");
    assert!(sb.log().contains("hangup"), "hangup logged");
}
