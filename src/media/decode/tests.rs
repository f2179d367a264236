//! Decoder requirements: WAV, FLAC, Ogg Vorbis and MP3 at any rate and
//! channel count come out mono at the target rate with the right duration
//! and frequency. Test files are made with sox (installed on the build
//! machine, DESIGN §7); missing sox fails loudly rather than skipping.

use std::process::Command;

use super::*;
use crate::media::tone::goertzel::{amplitude, rms};

/// Makes `name` in `dir` with sox: `secs` of a 1 kHz sine at `rate`,
/// `channels` channels, half scale.
fn sox_tone(dir: &Path, name: &str, rate: u32, channels: u32, secs: f32) -> PathBuf {
    let path = dir.join(name);
    let status = Command::new("sox")
        .args(["-n", "-r", &rate.to_string(), "-c", &channels.to_string()])
        .arg(&path)
        .args(["synth", &secs.to_string(), "sine", "1000", "vol", "0.5"])
        .status()
        .expect("sox must be installed to run the decode tests (apt install sox libsox-fmt-all)");
    assert!(status.success(), "sox failed making {name}");
    path
}

fn check_tone(pcm: &[i16], rate: u32, secs: f32, tolerance_secs: f32) {
    let got = pcm.len() as f32 / rate as f32;
    assert!((got - secs).abs() <= tolerance_secs, "duration {got} s, want {secs} s");
    let mid = &pcm[pcm.len() / 4..pcm.len() * 3 / 4];
    let a = amplitude(mid, rate, 1000.0);
    // Half scale = 16384; lossy codecs and downmixing stay within 10 %.
    assert!((a - 16384.0).abs() < 1640.0, "1 kHz amplitude {a}");
    assert!(amplitude(mid, rate, 1500.0) < 300.0 && amplitude(mid, rate, 500.0) < 300.0);
    assert!((rms(mid) - a / 2f64.sqrt()).abs() < 0.1 * rms(mid), "energy outside 1 kHz");
}

#[test]
fn wav_stereo_44k1_to_8k() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = sox_tone(dir.path(), "x.wav", 44100, 2, 1.0);
    check_tone(&decode_file(&f, 8000).expect("decode"), 8000, 1.0, 0.001);
}

#[test]
fn flac_mono_22k05_to_16k() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = sox_tone(dir.path(), "x.flac", 22050, 1, 1.5);
    check_tone(&decode_file(&f, 16000).expect("decode"), 16000, 1.5, 0.001);
}

#[test]
fn ogg_vorbis_stereo_48k_to_8k() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = sox_tone(dir.path(), "x.ogg", 48000, 2, 1.0);
    check_tone(&decode_file(&f, 8000).expect("decode"), 8000, 1.0, 0.01);
}

#[test]
fn mp3_mono_44k1_to_48k() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = sox_tone(dir.path(), "x.mp3", 44100, 1, 1.0);
    // MP3 adds encoder delay/padding (~1 frame of 1152 samples each end).
    check_tone(&decode_file(&f, 48000).expect("decode"), 48000, 1.0, 0.06);
}

#[test]
fn six_channel_wav_is_downmixed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = sox_tone(dir.path(), "x.wav", 16000, 6, 0.5);
    check_tone(&decode_file(&f, 16000).expect("decode"), 16000, 0.5, 0.001);
}

#[test]
fn missing_and_garbage_files_are_errors_not_panics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope.wav");
    assert!(matches!(decode_file(&missing, 8000), Err(DecodeError::Open { .. })));
    let garbage = dir.path().join("junk.wav");
    std::fs::write(&garbage, b"this is not a RIFF file at all, just text").expect("write");
    let err = decode_file(&garbage, 8000).expect_err("garbage must fail");
    assert!(err.to_string().contains("junk.wav"), "{err}");
    let empty = dir.path().join("empty.ogg");
    std::fs::write(&empty, b"").expect("write");
    assert!(decode_file(&empty, 8000).is_err());
}

#[test]
fn bytes_in_memory_decode_like_the_file_and_errors_name_the_label() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = sox_tone(dir.path(), "x.flac", 16000, 1, 0.5);
    let bytes = std::fs::read(&f).expect("read");
    let from_bytes = decode_bytes(bytes.clone(), Some("flac"), Path::new("upload.flac"), 8000).expect("decode bytes");
    assert_eq!(from_bytes, decode_file(&f, 8000).expect("decode file"));
    // Without a hint the probe still finds the container by its content.
    assert_eq!(decode_bytes(bytes, None, Path::new("upload"), 8000).expect("no hint"), from_bytes);
    let err = decode_bytes(b"not audio at all".to_vec(), Some("wav"), Path::new("junk.wav"), 8000).unwrap_err();
    assert!(matches!(err, DecodeError::Format { .. }) && err.to_string().starts_with("junk.wav:"), "{err}");
}

/// Regression (fuzz target `prompt_decode`): a WAV header claiming a sample
/// rate of about 1 GHz made the resampler allocate gigabytes for its FFT.
#[test]
fn implausible_header_rate_is_refused_before_resampling() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = sox_tone(dir.path(), "x.wav", 8000, 1, 0.1);
    let mut bytes = std::fs::read(&f).expect("read");
    // Canonical 44-byte header: the rate is the little-endian u32 at byte 24.
    assert_eq!(&bytes[24..28], &8000u32.to_le_bytes());
    bytes[24..28].copy_from_slice(&1_073_749_832u32.to_le_bytes());
    let err = decode_bytes(bytes, Some("wav"), Path::new("odd.wav"), 8000).unwrap_err();
    assert!(matches!(err, DecodeError::BadRate { rate: 1_073_749_832, .. }), "{err}");
    assert!(err.to_string().contains("implausible sample rate"), "{err}");
}

/// Asserts that the WAV header screen refuses `bytes` (a fuzz input minus
/// its first, hint-picking byte) from memory and from a file named `name`;
/// returns the directory holding the file.
fn assert_screened_out(bytes: &[u8], name: &str) -> tempfile::TempDir {
    let ext = Path::new(name).extension().and_then(|e| e.to_str());
    let err = decode_bytes(bytes.to_vec(), ext, Path::new(name), 8000).unwrap_err();
    // Refused by the header screen before symphonia could overflow on it
    // (it used to reach symphonia and come back as `Panicked`).
    assert!(matches!(&err, DecodeError::Header { reason, .. } if reason.contains("channels")), "{err}");
    // The same from a file on disk.
    let dir = tempfile::tempdir().expect("tempdir");
    let odd = dir.path().join(name);
    std::fs::write(&odd, bytes).expect("write");
    assert!(matches!(decode_file(&odd, 8000), Err(DecodeError::Header { .. })));
    dir
}

#[test]
fn a_wav_header_behind_junk_bytes_is_screened_too() {
    // The second fuzz finding (session 8): the same overflow, with the RIFF
    // header 74 bytes in, after an ID3-looking prefix symphonia skips.
    assert_screened_out(&include_bytes!("wav-behind-junk.bin")[1..], "junk.mp3");
}

/// Regression (fuzz target `prompt_decode`): a WAV claiming about 49 000
/// channels overflows inside symphonia-format-riff where overflow checks are
/// on (this test build). The file is refused; the caller carries on.
#[test]
fn a_wav_claiming_49000_channels_is_refused_and_nothing_else() {
    // The fuzz input's first byte picks the name hint (1: wav).
    let dir = assert_screened_out(&include_bytes!("wav-channels-overflow.bin")[1..], "odd.wav");
    // The next file decodes normally.
    let f = sox_tone(dir.path(), "ok.wav", 8000, 1, 0.2);
    assert_eq!(decode_file(&f, 8000).expect("decode").len(), 1600);
}
