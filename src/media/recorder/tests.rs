//! Call recording requirements (issue "Call recording"): stereo channels carry the right legs, mono
//! mixes both, pause writes silence with marks, Ogg Opus files are valid RFC 7845 streams that standard
//! tools decode back to the recorded tone, durations add up, the tick never blocks.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::*;
use crate::media::mixer::testutil::{goertzel_amp, tone_frame};
use crate::media::AudioFrame;

const RATE: u32 = 16_000;
const AMP: f32 = 8_000.0;
const CALLER_HZ: f32 = 600.0;
const AGENT_HZ: f32 = 1_100.0;

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// Records `ticks` ticks of the two test tones.
fn record(path: &Path, format: Format, layout: Layout, ticks: u64) -> RecordingInfo {
    let mut rec = Recorder::create(path, format, layout, RATE).expect("create");
    for n in 0..ticks {
        rec.write(
            &tone_frame(RATE, CALLER_HZ, AMP, n),
            &tone_frame(RATE, AGENT_HZ, AMP, n),
        )
        .expect("write");
    }
    rec.finish().expect("finish")
}

/// Reads a 16-bit WAV and splits it into channels.
fn read_wav(path: &Path) -> (hound::WavSpec, Vec<Vec<i16>>) {
    let mut r = hound::WavReader::open(path).expect("open wav");
    let spec = r.spec();
    let ch = spec.channels as usize;
    let mut chans = vec![Vec::new(); ch];
    for (i, s) in r.samples::<i16>().enumerate() {
        chans[i % ch].push(s.expect("sample"));
    }
    (spec, chans)
}

/// Amplitude of `freq` over the middle second-ish of `pcm` (skipping codec start-up).
fn amp_mid(pcm: &[i16], rate: u32, freq: f32) -> f32 {
    let n = rate as usize / 5; // 200 ms window
    let start = (pcm.len() / 2).saturating_sub(n / 2);
    goertzel_amp(&pcm[start..start + n], rate, freq)
}

fn tool(name: &str) -> bool {
    Command::new(name).arg("--help").output().is_ok()
}

#[test]
fn wav_stereo_caller_left_agent_right() {
    let dir = tmp();
    let path = dir.path().join("s.wav");
    let info = record(&path, Format::Wav, Layout::Stereo, 50);
    let (spec, ch) = read_wav(&path);
    assert_eq!(
        (spec.channels, spec.sample_rate, spec.bits_per_sample),
        (2, RATE, 16)
    );
    assert_eq!(ch[0].len(), RATE as usize, "1 s of samples");
    assert!(amp_mid(&ch[0], RATE, CALLER_HZ) > AMP * 0.9 && amp_mid(&ch[0], RATE, AGENT_HZ) < 10.0);
    assert!(amp_mid(&ch[1], RATE, AGENT_HZ) > AMP * 0.9 && amp_mid(&ch[1], RATE, CALLER_HZ) < 10.0);
    assert_eq!(info.duration, Duration::from_secs(1));
    assert_eq!(info.bytes, std::fs::metadata(&path).expect("meta").len());
    assert_eq!(info.bytes, 44 + 2 * 2 * RATE as u64);
}

#[test]
fn wav_mono_mixes_both_legs() {
    let dir = tmp();
    let path = dir.path().join("m.wav");
    record(&path, Format::Wav, Layout::Mono, 25);
    let (spec, ch) = read_wav(&path);
    assert_eq!(spec.channels, 1);
    assert!(amp_mid(&ch[0], RATE, CALLER_HZ) > AMP * 0.9);
    assert!(amp_mid(&ch[0], RATE, AGENT_HZ) > AMP * 0.9);
}

#[test]
fn pause_writes_silence_and_marks_it() {
    let dir = tmp();
    let path = dir.path().join("p.wav");
    let mut rec = Recorder::create(&path, Format::Wav, Layout::Stereo, RATE).expect("create");
    for n in 0..30 {
        if n == 10 {
            rec.pause();
        }
        if n == 20 {
            rec.resume();
        }
        rec.write(
            &tone_frame(RATE, CALLER_HZ, AMP, n),
            &tone_frame(RATE, AGENT_HZ, AMP, n),
        )
        .expect("write");
    }
    let info = rec.finish().expect("finish");
    assert_eq!(info.duration, Duration::from_millis(600));
    assert_eq!(info.paused, Duration::from_millis(200));
    assert_eq!(
        info.pauses,
        vec![PauseMark {
            start: Duration::from_millis(200),
            end: Duration::from_millis(400)
        }]
    );
    let (_, ch) = read_wav(&path);
    let spf = 320;
    assert!(ch[0][10 * spf..20 * spf]
        .iter()
        .chain(&ch[1][10 * spf..20 * spf])
        .all(|&s| s == 0));
    assert!(goertzel_amp(&ch[0][..10 * spf], RATE, CALLER_HZ) > AMP * 0.9);
    assert!(goertzel_amp(&ch[0][20 * spf..], RATE, CALLER_HZ) > AMP * 0.9);
}

#[test]
fn pause_left_open_is_closed_at_finish() {
    let dir = tmp();
    let mut rec = Recorder::create(dir.path().join("o.wav"), Format::Wav, Layout::Mono, 8_000)
        .expect("create");
    rec.write(&AudioFrame::silence(8_000), &AudioFrame::silence(8_000))
        .expect("write");
    rec.pause();
    rec.write(&AudioFrame::silence(8_000), &AudioFrame::silence(8_000))
        .expect("write");
    let info = rec.finish().expect("finish");
    assert_eq!(
        info.pauses,
        vec![PauseMark {
            start: Duration::from_millis(20),
            end: Duration::from_millis(40)
        }]
    );
}

/// Reads back our own Ogg stream and checks the RFC 7845 structure.
fn check_ogg_opus_structure(path: &Path, channels: u8, ticks: u64) -> u64 {
    let file = std::fs::File::open(path).expect("open");
    let mut r = ogg::reading::PacketReader::new(file);
    let head = r.read_packet_expected().expect("OpusHead");
    assert!(
        head.first_in_stream() && head.last_in_page(),
        "OpusHead alone on the first page (§3)"
    );
    assert_eq!(&head.data[..8], b"OpusHead");
    assert_eq!(head.data.len(), 19);
    assert_eq!(
        (head.data[8], head.data[9]),
        (1, channels),
        "version 1, channel count"
    );
    let pre_skip = u64::from(u16::from_le_bytes([head.data[10], head.data[11]]));
    assert_eq!(
        u32::from_le_bytes([head.data[12], head.data[13], head.data[14], head.data[15]]),
        RATE
    );
    assert_eq!(head.data[18], 0, "mapping family 0");
    assert_eq!(head.absgp_page(), 0);
    let tags = r.read_packet_expected().expect("OpusTags");
    assert_eq!(&tags.data[..8], b"OpusTags");
    assert!(tags.last_in_page(), "OpusTags ends its page (§3)");
    assert_eq!(tags.absgp_page(), 0);
    let (mut audio, mut last_gp, mut last) = (0u64, 0u64, false);
    while let Some(p) = r.read_packet().expect("packet") {
        assert!(!last, "nothing after end of stream");
        audio += 1;
        assert!(p.absgp_page() >= last_gp, "granule positions never go back");
        last_gp = p.absgp_page();
        last = p.last_in_stream();
    }
    assert!(last, "stream ends with an EOS page");
    assert_eq!(
        audio,
        ticks + 1,
        "one packet per tick plus the flush packet"
    );
    assert!(pre_skip > 0 && pre_skip < 960);
    assert_eq!(last_gp, pre_skip + ticks * 960, "end trimming (§4.5)");
    pre_skip
}

/// Decodes with opus-tools' `opusdec` at 48 kHz (the decoder's native rate, no resampler in the way).
fn opusdec(path: &Path, out: &Path) -> Option<(hound::WavSpec, Vec<Vec<i16>>)> {
    if !tool("opusdec") {
        eprintln!("opusdec not installed (apt-get install opus-tools): external decode skipped");
        return None;
    }
    let st = Command::new("opusdec")
        .args(["--quiet", "--rate", "48000"])
        .arg(path)
        .arg(out)
        .status()
        .expect("run opusdec");
    assert!(st.success(), "opusdec rejected the file");
    Some(read_wav(out))
}

#[test]
fn ogg_opus_mono_is_valid_and_decodes_to_the_tone() {
    let dir = tmp();
    let path = dir.path().join("m.opus");
    let ticks = 100;
    let mut rec = Recorder::create(&path, Format::OggOpus, Layout::Mono, RATE).expect("create");
    for n in 0..ticks {
        rec.write(
            &tone_frame(RATE, 1_000.0, AMP, n),
            &AudioFrame::silence(RATE),
        )
        .expect("write");
    }
    let info = rec.finish().expect("finish");
    assert_eq!(info.duration, Duration::from_secs(2));
    assert_eq!(info.bytes, std::fs::metadata(&path).expect("meta").len());
    check_ogg_opus_structure(&path, 1, ticks);
    if tool("opusinfo") {
        let out = Command::new("opusinfo")
            .arg(&path)
            .output()
            .expect("opusinfo");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && !text.contains("WARNING"),
            "opusinfo: {text}"
        );
        assert!(
            text.contains("Playback length: 0m:02.000s"),
            "opusinfo: {text}"
        );
    }
    if let Some((spec, ch)) = opusdec(&path, &dir.path().join("m.wav")) {
        assert_eq!((spec.channels, spec.sample_rate), (1, 48_000));
        assert_eq!(
            ch[0].len(),
            96_000,
            "pre-skip and end trimming give back exactly 2 s"
        );
        let a = amp_mid(&ch[0], 48_000, 1_000.0);
        assert!(a > AMP * 0.7, "decoded tone amplitude {a}");
        assert!(amp_mid(&ch[0], 48_000, 2_500.0) < AMP * 0.05);
    }
}

#[test]
fn ogg_opus_stereo_keeps_the_legs_apart() {
    let dir = tmp();
    let path = dir.path().join("s.opus");
    record(&path, Format::OggOpus, Layout::Stereo, 100);
    check_ogg_opus_structure(&path, 2, 100);
    if let Some((spec, ch)) = opusdec(&path, &dir.path().join("s.wav")) {
        assert_eq!(spec.channels, 2);
        assert!(
            amp_mid(&ch[0], 48_000, CALLER_HZ) > AMP * 0.6,
            "caller on the left"
        );
        assert!(amp_mid(&ch[0], 48_000, AGENT_HZ) < AMP * 0.1);
        assert!(
            amp_mid(&ch[1], 48_000, AGENT_HZ) > AMP * 0.6,
            "agent on the right"
        );
        assert!(amp_mid(&ch[1], 48_000, CALLER_HZ) < AMP * 0.1);
    }
    if tool("ffprobe") {
        let out = Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-show_entries",
                "stream=codec_name,channels,duration",
                "-of",
                "csv=p=0",
            ])
            .arg(&path)
            .output()
            .expect("ffprobe");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.trim().starts_with("opus,2,2.0"), "ffprobe: {text}");
    }
}

#[test]
fn opus_refuses_rates_it_cannot_encode_without_leaving_a_file() {
    let dir = tmp();
    let path = dir.path().join("x.opus");
    let err = Recorder::create(&path, Format::OggOpus, Layout::Mono, 32_000).err();
    assert!(matches!(err, Some(RecorderError::UnsupportedRate(32_000))));
    assert!(!path.exists());
}

#[test]
fn existing_files_are_never_overwritten() {
    let dir = tmp();
    let path = dir.path().join("a.wav");
    std::fs::write(&path, b"evidence").expect("write");
    assert!(matches!(
        Recorder::create(&path, Format::Wav, Layout::Mono, RATE),
        Err(RecorderError::Io(_))
    ));
    assert_eq!(std::fs::read(&path).expect("read"), b"evidence");
}

#[test]
fn frames_must_match_the_recording_rate() {
    let dir = tmp();
    let mut rec = Recorder::create(dir.path().join("r.wav"), Format::Wav, Layout::Mono, RATE)
        .expect("create");
    let err = rec
        .write(&AudioFrame::silence(8_000), &AudioFrame::silence(RATE))
        .err();
    assert!(matches!(
        err,
        Some(RecorderError::RateMismatch {
            expected: RATE,
            got: 8_000
        })
    ));
}

#[test]
fn tap_and_writer_thread_account_for_every_tick() {
    let dir = tmp();
    let path = dir.path().join("t.wav");
    let rec = Recorder::create(&path, Format::Wav, Layout::Stereo, RATE).expect("create");
    let (mut tap, handle) = spawn_recorder(rec, DEFAULT_QUEUE_TICKS).expect("spawn");
    for n in 0..50 {
        if n == 20 {
            tap.pause();
        }
        if n == 30 {
            tap.resume();
        }
        tap.write(
            &tone_frame(RATE, CALLER_HZ, AMP, n),
            &tone_frame(RATE, AGENT_HZ, AMP, n),
        )
        .expect("tap");
    }
    drop(tap);
    let info = handle.join().expect("join");
    assert_eq!(info.duration, Duration::from_secs(1));
    assert_eq!(info.paused, Duration::from_millis(200));
    assert_eq!(info.dropped, Duration::ZERO);
    assert_eq!(info.pauses.len(), 1);
    assert_eq!(read_wav(&path).1[0].len(), RATE as usize);
}

#[test]
fn a_full_queue_drops_ticks_as_silence_without_blocking() {
    let dir = tmp();
    let path = dir.path().join("d.wav");
    let rec = Recorder::create(&path, Format::Wav, Layout::Mono, RATE).expect("create");
    let (mut tap, drain) = recording_channel(RATE, 4);
    for n in 0..10 {
        tap.write(
            &tone_frame(RATE, CALLER_HZ, AMP, n),
            &AudioFrame::silence(RATE),
        )
        .expect("tap");
    }
    assert_eq!(tap.dropped(), 6);
    // Two more after the writer caught up: the gap in between must become silence.
    let mut rec = rec;
    let mut expected = 0;
    assert!(drain.drain_ready(&mut rec, &mut expected).expect("drain"));
    tap.write(
        &tone_frame(RATE, CALLER_HZ, AMP, 10),
        &AudioFrame::silence(RATE),
    )
    .expect("tap");
    drop(tap);
    assert!(!drain.drain_ready(&mut rec, &mut expected).expect("drain"));
    let info = rec.finish().expect("finish");
    assert_eq!(info.duration, Duration::from_millis(220));
    assert_eq!(info.dropped, Duration::from_millis(120));
    let (_, ch) = read_wav(&path);
    assert!(
        ch[0][4 * 320..10 * 320].iter().all(|&s| s == 0),
        "dropped ticks are silence"
    );
    assert!(
        goertzel_amp(&ch[0][10 * 320..], RATE, CALLER_HZ) > AMP * 0.9,
        "the last tick is in place"
    );
}

#[test]
fn recording_paths_stay_inside_the_data_dir() {
    let base = PathBuf::from("/var/lib/switchboard");
    let p = recording_path(&base, "../../etc/passwd@host", Format::Wav);
    assert_eq!(p, base.join("recordings/_.._.._etc_passwd_host.wav"));
    assert_eq!(
        recording_path(&base, "", Format::OggOpus),
        base.join("recordings/_.opus")
    );
    assert!(recording_path(&base, "a/b", Format::Wav).starts_with(base.join("recordings")));
}
