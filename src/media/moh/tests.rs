//! Music-on-hold requirements: a folder of mixed files becomes one loop,
//! decoded once and shared; listeners loop seamlessly from their own start;
//! missing/empty folders are silence, not errors; the shipped default class
//! loads.

use std::path::Path;

use super::*;
use crate::media::tone::goertzel::{amplitude, sine};

fn write_wav(path: &Path, rate: u32, pcm: &[i16]) {
    let spec =
        hound::WavSpec { channels: 1, sample_rate: rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    for &s in pcm {
        w.write_sample(s).expect("write");
    }
    w.finalize().expect("finalize");
}

#[test]
fn folder_is_decoded_once_concatenated_and_shared() {
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join("jazz");
    std::fs::create_dir(&dir).expect("mkdir");
    write_wav(&dir.join("b.wav"), 16000, &sine(16000, 800.0, 8000.0, 0.5));
    write_wav(&dir.join("a.wav"), 8000, &sine(8000, 400.0, 8000.0, 0.25));
    std::fs::write(dir.join("notes.txt"), "not audio").expect("write");
    std::fs::write(dir.join("c.ogg"), "broken").expect("write");
    let reg = MohRegistry::new(root.path().to_path_buf());
    let c1 = reg.class("jazz", 8000);
    let c2 = reg.class("jazz", 8000);
    assert!(Arc::ptr_eq(&c1, &c2));
    assert_eq!(reg.loaded(), 1);
    // a.wav (0.25 s) then b.wav (0.5 s) at 8 kHz; the broken file is skipped.
    assert_eq!(c1.len_samples(), 2000 + 4000);
    assert_eq!(c1.files().len(), 2);
    let mut l = reg.listener("jazz", 8000, StartAt::Beginning);
    let mut f = AudioFrame::silence(8000);
    let mut got = Vec::new();
    for _ in 0..(6000 / 160 + 1) {
        assert!(l.get_frame(&mut f));
        got.extend_from_slice(f.pcm());
    }
    assert!(amplitude(&got[100..1900], 8000, 400.0) > 7000.0);
    assert!(amplitude(&got[2100..5900], 8000, 800.0) > 7000.0);
}

#[test]
fn listener_loops_seamlessly_from_its_start() {
    let pcm: Arc<[i16]> = (0..1000).map(|i| i as i16).collect::<Vec<_>>().into();
    let class = Arc::new(MohClass::from_pcm("t", 8000, pcm));
    let mut l = MohListener::new(class.clone(), StartAt::Sample(900));
    let mut f = AudioFrame::silence(8000);
    let mut got = Vec::new();
    for _ in 0..20 {
        assert!(l.get_frame(&mut f));
        got.extend_from_slice(f.pcm());
    }
    let want: Vec<i16> = (0..3200).map(|i| ((900 + i) % 1000) as i16).collect();
    assert_eq!(got, want);
    // Random and global starts land inside the loop; listeners are independent.
    for _ in 0..50 {
        assert!(MohListener::new(class.clone(), StartAt::Random).position() < 1000);
    }
    assert!(MohListener::new(class.clone(), StartAt::Global).position() < 1000);
    assert_eq!(l.position(), (900 + 3200) % 1000);
}

#[test]
fn missing_empty_or_invalid_class_is_silence() {
    let root = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(root.path().join("empty")).expect("mkdir");
    let reg = MohRegistry::new(root.path().to_path_buf());
    let mut f = AudioFrame::silence(16000);
    for name in ["nope", "empty", "../etc", ""] {
        let mut l = reg.listener(name, 16000, StartAt::Random);
        f.fill(16000, &[7; 320]);
        assert!(!l.get_frame(&mut f), "{name}");
        assert!(f.pcm().iter().all(|&s| s == 0) && f.len == 320, "{name}");
    }
}

#[test]
fn reload_keeps_playing_listeners_alive() {
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join("x");
    std::fs::create_dir(&dir).expect("mkdir");
    write_wav(&dir.join("a.wav"), 8000, &[100; 800]);
    let reg = MohRegistry::new(root.path().to_path_buf());
    let mut old = reg.listener("x", 8000, StartAt::Beginning);
    write_wav(&dir.join("b.wav"), 8000, &[200; 800]);
    reg.reload();
    assert_eq!(reg.class("x", 8000).len_samples(), 1600);
    let mut f = AudioFrame::silence(8000);
    assert!(old.get_frame(&mut f));
    assert_eq!(old.class().len_samples(), 800);
}

#[test]
fn shipped_default_class_loads() {
    let root = Path::new(file!()).ancestors().nth(4).map(Path::to_path_buf).unwrap_or_default();
    let reg = MohRegistry::new(root.join("prompts/moh"));
    let c = reg.class(DEFAULT_CLASS, 8000);
    let secs = c.len_samples() as f64 / 8000.0;
    assert!((15.0..=30.0).contains(&secs), "{secs} s");
    let mut l = reg.listener(DEFAULT_CLASS, 8000, StartAt::Sample(8000 * 2));
    let mut f = AudioFrame::silence(8000);
    assert!(l.get_frame(&mut f));
    assert!(f.pcm().iter().any(|&s| s != 0));
}
