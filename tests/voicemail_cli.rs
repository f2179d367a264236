//! `switchboard mailbox …` and `voicemail list` against a real data
//! directory: validation errors, listing, message rows written through the
//! library's store (as the call driver will), removal with the audio files.

mod common;

use common::switchboard::Switchboard;
use switchboard::store::{NewVoicemail, Store};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn mailbox_add_list_rm_and_pin_rules() {
    let sb = Switchboard::new("[voicemail]\nmax_message_secs = 90\n").expect("prepare");
    for bad in ["12", "12345678901", "12a4", ""] {
        let out = sb.admin(&["mailbox", "add", "1001", "--pin", bad]);
        assert_eq!(out.status.code(), Some(1), "pin {bad:?} refused");
        assert!(stderr(&out).contains("--pin must be 4 to 10 digits"), "{}", stderr(&out));
        assert_eq!(stderr(&out).lines().count(), 1);
    }
    let out = sb.admin(&["mailbox", "add", "10x", "--pin", "1234"]);
    assert!(stderr(&out).contains("mailbox number must be 1 to 20 digits"), "{}", stderr(&out));
    let out = sb.admin(&["mailbox", "add", "1001", "--pin", "1234", "--email", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--email 'nope'"), "{}", stderr(&out));
    let out = sb.admin(&["mailbox", "add", "600", "--pin", "1234", "--group"]);
    assert_eq!(out.status.code(), Some(2), "--group needs --members");
    let out = sb.admin(&["mailbox", "add", "600", "--pin", "1234", "--group", "--members", "1001,abc"]);
    assert!(stderr(&out).contains("--members 'abc'"), "{}", stderr(&out));

    sb.admin_ok(&["mailbox", "add", "1001", "--pin", "4321", "--name", "Alice", "--email", "alice@example.org"]);
    sb.admin_ok(&["mailbox", "add", "600", "--pin", "0000000000", "--group", "--members", "1001,1002", "--max-secs", "30"]);
    let out = sb.admin(&["mailbox", "add", "1001", "--pin", "1111"]);
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));

    let list = sb.admin_ok(&["mailbox", "list"]);
    let line = |n: &str| list.lines().find(|l| l.starts_with(&format!("{n} "))).unwrap_or_else(|| panic!("{n} in {list}")).to_string();
    let alice = line("1001");
    assert!(alice.contains("Alice") && alice.contains("extension") && alice.contains(" 90 ") && alice.contains("alice@example.org"), "{alice}");
    let group = line("600");
    assert!(group.contains("group") && group.contains(" 30 ") && group.ends_with("1001,1002"), "{group}");

    // The PIN is stored hashed and verifies.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = rt.block_on(Store::open(&sb.data_dir())).unwrap();
    assert!(rt.block_on(store.verify_pin("1001", "4321")).unwrap());
    assert!(!rt.block_on(store.verify_pin("1001", "1234")).unwrap());

    sb.admin_ok(&["mailbox", "rm", "600"]);
    let out = sb.admin(&["mailbox", "rm", "600"]);
    assert!(stderr(&out).contains("mailbox 600 not found"), "{}", stderr(&out));
    assert!(!sb.admin_ok(&["mailbox", "list"]).contains("group"));
}

#[test]
fn voicemail_list_shows_messages_and_rm_removes_files() {
    let sb = Switchboard::new("").expect("prepare");
    sb.admin_ok(&["mailbox", "add", "1001", "--pin", "4321"]);
    sb.admin_ok(&["mailbox", "add", "1002", "--pin", "4321"]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = rt.block_on(Store::open(&sb.data_dir())).unwrap();
    let vm_dir = sb.data_dir().join("voicemail");
    std::fs::create_dir_all(&vm_dir).unwrap();
    let add = |mailbox: &str, caller: &str, name: &str, ms: i64| {
        let path = vm_dir.join(format!("{mailbox}-{caller}.wav"));
        std::fs::write(&path, b"RIFF....WAVE").unwrap();
        let msg = NewVoicemail {
            mailbox: mailbox.into(),
            caller: caller.into(),
            caller_name: name.into(),
            call_id: format!("c-{caller}"),
            duration_ms: ms,
            path: path.display().to_string(),
        };
        (rt.block_on(store.insert_message(&msg)).unwrap(), path)
    };
    let (a, a_path) = add("1001", "5551000", "Bob", 4200);
    let (b, _) = add("1002", "5552000", "", 12_000);
    rt.block_on(store.mark_heard(a)).unwrap();

    let all = sb.admin_ok(&["voicemail", "list"]);
    let row_a = all.lines().find(|l| l.starts_with(&format!("{a} "))).unwrap_or_else(|| panic!("{all}")).to_string();
    assert!(row_a.contains("1001") && row_a.contains("Bob <5551000>") && row_a.contains("4.2") && row_a.ends_with("yes"), "{row_a}");
    let row_b = all.lines().find(|l| l.starts_with(&format!("{b} "))).unwrap_or_else(|| panic!("{all}")).to_string();
    assert!(row_b.contains("5552000") && row_b.contains("12.0") && row_b.ends_with("no"), "{row_b}");

    let only = sb.admin_ok(&["voicemail", "list", "1002"]);
    assert!(only.contains("5552000") && !only.contains("5551000"), "{only}");
    let out = sb.admin(&["voicemail", "list", "9999"]);
    assert!(stderr(&out).contains("mailbox 9999 not found"), "{}", stderr(&out));

    assert!(sb.admin_ok(&["mailbox", "list"]).lines().any(|l| l.starts_with("1001 ") && l.contains("   0    1 ")), "1001: 0 new, 1 old");
    sb.admin_ok(&["mailbox", "rm", "1001"]);
    assert!(!a_path.exists(), "message audio removed with the mailbox");
    assert!(!sb.admin_ok(&["voicemail", "list"]).contains("5551000"));
}

/// A 16-bit WAV of a 440 Hz tone at `rate` Hz, `channels` channels.
fn tone_wav(path: &std::path::Path, rate: u32, channels: u16, secs: f32) {
    let spec = hound::WavSpec { channels, sample_rate: rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..(rate as f32 * secs) as u32 {
        let s = ((i as f32 * 440.0 * std::f32::consts::TAU / rate as f32).sin() * 8000.0) as i16;
        for _ in 0..channels {
            w.write_sample(s).unwrap();
        }
    }
    w.finalize().unwrap();
}

#[test]
fn mailbox_greeting_set_list_clear_and_bad_files() {
    let sb = Switchboard::new("").expect("prepare");
    sb.admin_ok(&["mailbox", "add", "1001", "--pin", "4321"]);
    let greeting_col = |n: &str| {
        let list = sb.admin_ok(&["mailbox", "list"]);
        assert!(list.lines().next().unwrap_or_default().contains("GREETING"), "{list}");
        let line = list.lines().find(|l| l.starts_with(&format!("{n} "))).unwrap_or_else(|| panic!("{n} in {list}")).to_string();
        if line.contains(" recorded ") {
            "recorded"
        } else {
            assert!(line.contains(" default "), "{line}");
            "default"
        }
    };
    assert_eq!(greeting_col("1001"), "default");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = rt.block_on(Store::open(&sb.data_dir())).unwrap();
    let greeting = || rt.block_on(store.mailbox("1001")).unwrap().unwrap().greeting_path;

    // A 48 kHz stereo WAV becomes a 16 kHz mono WAV in the voicemail folder.
    let src = sb.dir().join("hello.wav");
    tone_wav(&src, 48_000, 2, 1.5);
    let out = sb.admin_ok(&["mailbox", "greeting", "1001", src.to_str().unwrap()]);
    assert!(out.contains("greeting set"), "{out}");
    let first = std::path::PathBuf::from(greeting().expect("greeting stored"));
    assert!(first.starts_with(sb.data_dir().join("voicemail").join("1001")), "{}", first.display());
    let wav = hound::WavReader::open(&first).expect("a WAV");
    let spec = wav.spec();
    assert_eq!((spec.channels, spec.sample_rate, spec.bits_per_sample), (1, 16_000, 16));
    let secs = wav.duration() as f32 / 16_000.0;
    assert!((1.4..1.6).contains(&secs), "{secs} s");
    assert_eq!(greeting_col("1001"), "recorded");

    // A shipped Ogg prompt works too, and replaces (and removes) the first file.
    let ogg = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts/en/vm-greeting-saved.ogg");
    sb.admin_ok(&["mailbox", "greeting", "1001", ogg.to_str().unwrap()]);
    let second = std::path::PathBuf::from(greeting().expect("greeting stored"));
    assert_ne!(second, first);
    assert!(second.is_file() && !first.exists(), "old greeting file removed");
    assert_eq!(hound::WavReader::open(&second).expect("a WAV").spec().sample_rate, 16_000);

    // Not audio: one line, exit code 1, greeting unchanged, nothing left behind.
    let bad = sb.dir().join("notes.wav");
    std::fs::write(&bad, b"this is not audio at all, just some text").unwrap();
    for file in [bad.clone(), sb.dir().join("missing.ogg")] {
        let out = sb.admin(&["mailbox", "greeting", "1001", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
        assert!(stderr(&out).contains("greeting not set") && stderr(&out).contains(file.to_str().unwrap()), "{}", stderr(&out));
    }
    assert_eq!(greeting().map(std::path::PathBuf::from), Some(second.clone()));
    let files = std::fs::read_dir(sb.data_dir().join("voicemail").join("1001")).unwrap().count();
    assert_eq!(files, 1, "no half-written greeting left");

    let out = sb.admin(&["mailbox", "greeting", "9999", src.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("mailbox 9999 not found"), "{}", stderr(&out));
    let out = sb.admin(&["mailbox", "greeting", "1001"]);
    assert_eq!(out.status.code(), Some(2), "a file or --clear is required");
    let out = sb.admin(&["mailbox", "greeting", "1001", src.to_str().unwrap(), "--clear"]);
    assert_eq!(out.status.code(), Some(2), "not both");

    let out = sb.admin_ok(&["mailbox", "greeting", "1001", "--clear"]);
    assert!(out.contains("greeting cleared"), "{out}");
    assert_eq!(greeting(), None);
    assert!(!second.exists(), "cleared greeting file removed");
    assert_eq!(greeting_col("1001"), "default");
}

#[test]
fn mailbox_pin_changes_the_pin() {
    let sb = Switchboard::new("").expect("prepare");
    sb.admin_ok(&["mailbox", "add", "1001", "--pin", "4321"]);
    let out = sb.admin_ok(&["mailbox", "pin", "1001", "86420"]);
    assert!(out.contains("PIN changed"), "{out}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = rt.block_on(Store::open(&sb.data_dir())).unwrap();
    assert!(rt.block_on(store.verify_pin("1001", "86420")).unwrap());
    assert!(!rt.block_on(store.verify_pin("1001", "4321")).unwrap());
    for bad in ["123", "12345678901", "12a4"] {
        let out = sb.admin(&["mailbox", "pin", "1001", bad]);
        assert_eq!(out.status.code(), Some(1), "{bad}");
        assert!(stderr(&out).contains("PIN must be 4 to 10 digits"), "{}", stderr(&out));
    }
    assert!(rt.block_on(store.verify_pin("1001", "86420")).unwrap(), "unchanged by refused PINs");
    let out = sb.admin(&["mailbox", "pin", "9999", "1234"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("mailbox 9999 not found"), "{}", stderr(&out));
}
