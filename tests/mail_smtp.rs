//! The mailer against a real SMTP receiver: Python's aiosmtpd (Debian
//! `python3-aiosmtpd`) on loopback stores each message in a Maildir; Python's
//! `email` package parses it back, independently of lettre, and the test
//! checks envelope, headers and that the WAV attachment round-trips byte for
//! byte.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::proc::TestDir;
use common::smtp::{start_receiver, wait_message, PYTHON};
use switchboard::config::{SmtpConfig, SmtpTls};
use switchboard::mail::{voicemail_email, MailError, Mailer, VoicemailNotice};

fn config(port: u16) -> SmtpConfig {
    SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        from: "Switchboard PBX <pbx@example.org>".into(),
        timeout_secs: 10,
        ..SmtpConfig::default()
    }
}

/// A 0.3 s 440 Hz tone, 8 kHz mono 16-bit, as voicemail messages are stored.
fn wav_bytes() -> Vec<u8> {
    let mut cur = std::io::Cursor::new(Vec::new());
    let spec = hound::WavSpec { channels: 1, sample_rate: 8000, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::new(&mut cur, spec).unwrap();
    for i in 0..2400 {
        let s = (f64::from(i) * 440.0 * std::f64::consts::TAU / 8000.0).sin() * 8000.0;
        w.write_sample(s as i16).unwrap();
    }
    w.finalize().unwrap();
    cur.into_inner()
}


/// Parses a stored message with Python's `email` package: headers and each
/// attachment's decoded bytes (hex), as JSON.
fn parse_with_python(path: &Path, out_dir: &Path) -> serde_json::Value {
    let script = r#"
import email, email.policy, json, sys
msg = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)
body = msg.get_body(preferencelist=('plain',))
out = {
    'to': str(msg['To']), 'from': str(msg['From']), 'subject': str(msg['Subject']),
    'rcpt': str(msg['X-RcptTo']), 'mailfrom': str(msg['X-MailFrom']),
    'body': body.get_content() if body else None,
    'attachments': [
        {'filename': p.get_filename(), 'type': p.get_content_type(), 'hex': p.get_payload(decode=True).hex()}
        for p in msg.iter_attachments()
    ],
}
print(json.dumps(out))
"#;
    let out = Command::new(PYTHON).arg("-c").arg(script).arg(path).current_dir(out_dir).output().expect("run python");
    assert!(out.status.success(), "python parse failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("python printed JSON")
}

#[tokio::test]
async fn voicemail_email_with_wav_reaches_a_real_smtp_server() {
    let dir = TestDir::new("smtp").unwrap();
    let rx = start_receiver(dir.path());
    let mailer = Mailer::new(config(rx.port)).expect("mailer");
    let wav = wav_bytes();
    let notice = VoicemailNotice {
        mailbox: "1001",
        caller: "5551234",
        caller_name: "Bob Caller",
        duration_ms: 4300,
        received_at: 1_767_225_600,
        message_id: 7,
    };
    let email = voicemail_email(&notice, Some(wav.clone()));
    mailer.send_email("alice@example.org", email.clone()).await.expect("send");

    let file = wait_message(&rx.maildir);
    let m = parse_with_python(&file, dir.path());
    assert_eq!(m["rcpt"], "alice@example.org", "{m}");
    assert_eq!(m["mailfrom"], "pbx@example.org", "{m}");
    assert_eq!(m["to"], "alice@example.org", "{m}");
    assert_eq!(m["from"], "Switchboard PBX <pbx@example.org>", "{m}");
    assert_eq!(m["subject"], email.subject.as_str(), "{m}");
    assert_eq!(m["subject"], "New voicemail from Bob Caller <5551234> in mailbox 1001 (0:05)", "{m}");
    let body = m["body"].as_str().unwrap_or_default();
    assert!(body.contains("Mailbox:  1001") && body.contains("2026-01-01 00:00:00 UTC"), "{body}");
    let atts = m["attachments"].as_array().expect("attachments");
    assert_eq!(atts.len(), 1, "{m}");
    assert_eq!(atts[0]["filename"], "voicemail-1001-7.wav");
    assert_eq!(atts[0]["type"], "audio/wav");
    let hex: String = wav.iter().map(|b| format!("{b:02x}")).collect();
    assert!(atts[0]["hex"] == hex.as_str(), "attachment bytes differ from the WAV sent");
}

#[tokio::test]
async fn starttls_is_required_not_optional() {
    // aiosmtpd without a certificate does not offer STARTTLS: "starttls" must
    // refuse to send in clear rather than fall back.
    let dir = TestDir::new("smtp-tls").unwrap();
    let rx = start_receiver(dir.path());
    let mailer = Mailer::new(SmtpConfig { tls: SmtpTls::Starttls, ..config(rx.port) }).expect("mailer");
    let e = mailer.send("alice@example.org", "s", "b", vec![]).await.unwrap_err();
    assert!(matches!(e, MailError::Smtp { .. }), "{e}");
    std::thread::sleep(Duration::from_millis(300));
    let arrived = std::fs::read_dir(rx.maildir.join("new")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(arrived, 0, "nothing delivered in clear");
}
