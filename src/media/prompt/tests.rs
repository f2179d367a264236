//! Prompt store and player requirements: decode once and share, bounded LRU,
//! missing → silence (never a panic), names cannot escape the folder,
//! sequences play gap-free frame by frame, numbers read correctly, and the
//! shipped English set covers every name the number grammar uses.

use std::path::Path;

use super::*;
use crate::media::tone::goertzel::sine;

fn write_wav(path: &Path, rate: u32, pcm: &[i16]) {
    let spec =
        hound::WavSpec { channels: 1, sample_rate: rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    for &s in pcm {
        w.write_sample(s).expect("write sample");
    }
    w.finalize().expect("finalize wav");
}

/// A store over a temp dir with `en/<name>.wav` files of `ms` ms each.
fn store_with(names: &[(&str, u32)], max_samples: usize) -> (tempfile::TempDir, PromptStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("en")).expect("mkdir");
    for (name, ms) in names {
        let pcm = sine(8000, 440.0, 8000.0, f64::from(*ms) / 1000.0);
        write_wav(&dir.path().join("en").join(format!("{name}.wav")), 8000, &pcm);
    }
    let store = PromptStore::with_capacity(dir.path().to_path_buf(), "en", max_samples);
    (dir, store)
}

/// The repository root, from this file's path (absolute in the scratch
/// crate, relative to the manifest dir — the test cwd — in the main crate).
fn repo_root() -> PathBuf {
    Path::new(file!()).ancestors().nth(4).map(Path::to_path_buf).unwrap_or_default()
}

#[test]
fn decodes_once_and_shares() {
    let (_d, store) = store_with(&[("welcome", 300)], DEFAULT_CACHE_SAMPLES);
    let a = store.get("welcome", 8000);
    let b = store.get("welcome", 8000);
    assert!(Arc::ptr_eq(&a, &b));
    assert_eq!(a.len(), 2400);
    let wide = store.get("welcome", 16000);
    assert_eq!(wide.len(), 4800);
    assert_eq!(store.cache_stats(), (2, 7200, 2));
}

#[test]
fn missing_prompt_is_silence_and_not_cached() {
    let (d, store) = store_with(&[], DEFAULT_CACHE_SAMPLES);
    let s = store.get("nope", 16000);
    assert_eq!(s.len(), 8000);
    assert!(s.iter().all(|&x| x == 0));
    assert!(store.try_get("nope", 16000).is_none());
    // Added later: picked up on the next request.
    write_wav(&d.path().join("en/nope.wav"), 8000, &[1000; 800]);
    assert_eq!(store.get("nope", 8000).len(), 800);
}

#[test]
fn a_replaced_prompt_is_read_again_once_forgotten() {
    let (d, store) = store_with(&[("greeting", 100), ("other", 100)], DEFAULT_CACHE_SAMPLES);
    assert_eq!(store.get("greeting", 8000).len(), 800);
    store.get("other", 8000);
    write_wav(&d.path().join("en/greeting.wav"), 8000, &[500; 1600]);
    assert_eq!(store.get("greeting", 8000).len(), 800, "cached until forgotten");
    store.forget("greeting");
    assert_eq!(store.get("greeting", 8000).len(), 1600);
    assert_eq!(store.cache_stats().0, 2, "other prompts stay cached");
    assert_eq!(crate::media::decode::inspect_file(&d.path().join("en/greeting.wav")).map(|i| (i.rate, i.duration_ms)).ok(), Some((8000, 200)));
}

#[test]
fn undecodable_prompt_is_silence() {
    let (d, store) = store_with(&[], DEFAULT_CACHE_SAMPLES);
    std::fs::write(d.path().join("en/broken.ogg"), b"OggS but not really").expect("write");
    assert_eq!(store.get("broken", 8000).len(), 4000);
}

#[test]
fn names_cannot_escape_the_language_folder() {
    let (d, store) = store_with(&[], DEFAULT_CACHE_SAMPLES);
    write_wav(&d.path().join("secret.wav"), 8000, &[1; 80]);
    for bad in ["../secret", "/etc/passwd", "", ".hidden", "a/b", "a\\b"] {
        assert!(store.find(bad).is_none(), "{bad}");
        assert!(store.get(bad, 8000).iter().all(|&x| x == 0), "{bad}");
    }
}

#[test]
fn cache_is_bounded_lru() {
    // Each prompt is 100 ms = 800 samples; room for two.
    let (_d, store) = store_with(&[("a", 100), ("b", 100), ("c", 100)], 1600);
    let a = store.get("a", 8000);
    store.get("b", 8000);
    store.get("a", 8000); // a is now more recent than b
    store.get("c", 8000); // evicts b
    let (entries, samples, decodes) = store.cache_stats();
    assert_eq!((entries, samples, decodes), (2, 1600, 3));
    assert!(Arc::ptr_eq(&a, &store.get("a", 8000)), "a stayed cached");
    store.get("b", 8000);
    assert_eq!(store.cache_stats().2, 4, "b was decoded again");
}

#[test]
fn encoded_payloads_are_made_once_and_evicted_with_pcm() {
    let (_d, store) = store_with(&[("a", 100), ("b", 100)], 800);
    let calls = std::cell::Cell::new(0);
    let enc = |pcm: &[i16]| {
        calls.set(calls.get() + 1);
        pcm.chunks(160).map(|c| vec![c.len() as u8]).collect::<Vec<_>>()
    };
    let e1 = store.encoded("a", 8000, "PCMU", enc);
    let e2 = store.encoded("a", 8000, "PCMU", enc);
    assert!(Arc::ptr_eq(&e1, &e2));
    assert_eq!((calls.get(), e1.frames.len(), e1.codec.as_str()), (1, 5, "PCMU"));
    store.get("b", 8000); // evicts a (bound is one prompt) and its encoding
    store.encoded("a", 8000, "PCMU", enc);
    assert_eq!(calls.get(), 2);
    // Missing prompt: encoded silence, never cached.
    let m = store.encoded("zzz", 8000, "PCMU", enc);
    assert_eq!(m.frames.len(), 25);
}

#[test]
fn player_plays_sequence_gap_free_then_stops() {
    let a: Arc<[i16]> = (1..=250).collect::<Vec<i16>>().into();
    let b: Arc<[i16]> = (1001..=1100).collect::<Vec<i16>>().into();
    let mut p = PromptPlayer::new(8000);
    p.enqueue(a.clone());
    p.enqueue(b.clone());
    assert_eq!(p.remaining_samples(), 350);
    let mut f = AudioFrame::silence(16000);
    let mut got = Vec::new();
    while p.get_frame(&mut f) {
        assert_eq!((f.rate, f.len), (8000, 160));
        got.extend_from_slice(f.pcm());
    }
    assert_eq!(got.len(), 480);
    let want: Vec<i16> = a.iter().chain(b.iter()).copied().chain(std::iter::repeat_n(0, 130)).collect();
    assert_eq!(got, want);
    assert!(p.is_done() && f.pcm().iter().all(|&s| s == 0));
    // Reusable after finishing; clear() is barge-in.
    p.enqueue(a);
    assert!(p.get_frame(&mut f));
    p.clear();
    assert!(!p.get_frame(&mut f));
}

#[test]
fn player_queues_named_prompts_including_missing_ones() {
    let (_d, store) = store_with(&[("1", 100)], DEFAULT_CACHE_SAMPLES);
    let mut p = PromptPlayer::new(8000);
    p.enqueue_names(&store, &["1", "missing"]);
    assert_eq!(p.remaining_samples(), 800 + 4000);
}

#[test]
fn numbers_in_english() {
    let cases: &[(u64, &str)] = &[
        (0, "0"),
        (7, "7"),
        (13, "13"),
        (20, "20"),
        (21, "20 1"),
        (100, "1 hundred"),
        (105, "1 hundred 5"),
        (123, "1 hundred 20 3"),
        (1000, "1 thousand"),
        (1001, "1 thousand 1"),
        (20_019, "20 thousand 19"),
        (1_234_567, "1 million 2 hundred 30 4 thousand 5 hundred 60 7"),
        (1_000_000, "1 million"),
        (3_000_000_042, "3 billion 40 2"),
    ];
    for &(n, want) in cases {
        assert_eq!(say_number(n).join(" "), want, "{n}");
    }
    assert_eq!(say_digits("12*#-3 0"), ["1", "2", "star", "pound", "3", "0"]);
}

#[test]
fn shipped_english_set_is_complete_and_decodes() {
    let root = repo_root().join("prompts");
    let list = std::fs::read_to_string(root.join("en/prompts.txt")).expect("prompts/en/prompts.txt");
    let names: Vec<&str> = list
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split('\t').next())
        .collect();
    assert!(names.len() >= 45, "{} prompts", names.len());
    let store = PromptStore::new(root, "en");
    for name in &names {
        let path = store.find(name).unwrap_or_else(|| panic!("prompt {name} listed but not generated"));
        let pcm = decode_file(&path, 8000).unwrap_or_else(|e| panic!("{e}"));
        assert!(pcm.len() > 1600 || name.len() <= 2, "{name}: only {} samples", pcm.len());
    }
    let mut needed: Vec<&str> = (0..=1100).flat_map(say_number).collect();
    needed.extend(say_number(2_000_000_000));
    needed.extend(say_number(5_000_000));
    needed.extend(say_digits("0123456789*#"));
    for n in needed {
        assert!(names.contains(&n), "number prompt {n} missing from prompts.txt");
    }
    assert!(store.preload(&[8000]) >= names.len());
}

#[test]
fn player_hands_out_pre_encoded_frames_for_its_codec_only() {
    let pcm: Arc<[i16]> = vec![1i16; 320 * 2 + 100].into(); // 2.3 frames at 16 kHz
    let enc = Arc::new(EncodedPrompt { codec: "PCMU".into(), frames: vec![vec![1; 160], vec![2; 160], vec![3; 160]] });
    let mut p = PromptPlayer::new(16_000);
    p.enqueue_encoded(pcm.clone(), enc);
    p.enqueue(pcm);
    let mut out = [0u8; 200];
    assert_eq!(p.get_encoded("PCMA", &mut out), None, "another codec gets PCM");
    for want in [1u8, 2, 3] {
        assert_eq!(p.get_encoded("PCMU", &mut out), Some(160));
        assert_eq!(out[0], want);
    }
    // The encoded clip is done; the next clip has no encoded frames.
    assert_eq!(p.get_encoded("PCMU", &mut out), None);
    let mut f = AudioFrame::silence(16_000);
    assert!(p.get_frame(&mut f), "the PCM-only clip still plays");
    assert_eq!(f.pcm()[0], 1);
}
