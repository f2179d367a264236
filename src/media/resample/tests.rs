//! Resampler requirements: frequency and level survive 8k→16k→8k, the
//! anti-aliasing filter removes what the lower rate cannot carry, every
//! frame comes out exactly 20 ms long, and the reported delay is the real one.

use super::*;
use crate::media::tone::goertzel::{amplitude, rms, sine};

const RATES: [u32; 5] = [8000, 16000, 24000, 32000, 48000];

/// Runs `pcm` through `r` frame by frame and returns the concatenated output.
fn stream(r: &mut Resampler, pcm: &[i16]) -> Vec<i16> {
    let spf = samples_per_frame(r.from_rate());
    let mut out = Vec::new();
    let mut frame_out = AudioFrame::silence(r.to_rate());
    let mut frame_in = AudioFrame::silence(r.from_rate());
    for chunk in pcm.chunks(spf) {
        frame_in.fill(r.from_rate(), chunk);
        r.process(&frame_in, &mut frame_out);
        out.extend_from_slice(frame_out.pcm());
    }
    out
}

#[test]
fn tone_round_trip_8k_16k_8k_keeps_frequency_and_level() {
    let input = sine(8000, 1000.0, 10_000.0, 1.0);
    let mut up = Resampler::new(8000, 16000).expect("8k→16k");
    let mut down = Resampler::new(16000, 8000).expect("16k→8k");
    let wide = stream(&mut up, &input);
    assert_eq!(wide.len(), 16000);
    // Skip the start-up transient (delay plus one block), measure the rest.
    let a16 = amplitude(&wide[1600..], 16000, 1000.0);
    assert!((a16 - 10_000.0).abs() < 300.0, "level at 16 kHz: {a16}");
    let back = stream(&mut down, &wide);
    assert_eq!(back.len(), 8000);
    let a8 = amplitude(&back[1600..], 8000, 1000.0);
    assert!((a8 - 10_000.0).abs() < 400.0, "level after round trip: {a8}");
    // Nearly all the energy is still at 1 kHz: RMS of a sine is A/√2.
    let r = rms(&back[1600..]);
    assert!((r - a8 / 2f64.sqrt()).abs() < 0.03 * r, "rms {r} vs tone {a8}");
    for f in [500.0, 1500.0, 2000.0, 3000.0] {
        assert!(amplitude(&back[1600..], 8000, f) < 100.0, "spurious {f} Hz");
    }
}

#[test]
fn six_khz_is_filtered_out_going_down_to_8k() {
    // 6 kHz cannot exist at 8 kHz (Nyquist 4 kHz); without a filter it would
    // alias to 2 kHz at full level.
    let input = sine(16000, 6000.0, 10_000.0, 0.5);
    let mut down = Resampler::new(16000, 8000).expect("16k→8k");
    let out = stream(&mut down, &input);
    let alias = amplitude(&out[800..], 8000, 2000.0);
    let r = rms(&out[800..]);
    // ≥ 50 dB below the 10 000 input peak.
    assert!(alias < 30.0 && r < 30.0, "alias {alias}, rms {r}");
    // A 2 kHz tone in the passband goes through at level.
    let pass = stream(&mut down, &sine(16000, 2000.0, 10_000.0, 0.5));
    let a = amplitude(&pass[800..], 8000, 2000.0);
    assert!((a - 10_000.0).abs() < 300.0, "passband level {a}");
}

#[test]
fn every_rate_pair_gives_exact_frames() {
    for &from in &RATES {
        for &to in &RATES {
            let mut r = Resampler::new(from, to).expect("supported pair");
            let mut out = AudioFrame::silence(8000);
            let input = AudioFrame::silence(from);
            for _ in 0..3 {
                r.process(&input, &mut out);
                assert_eq!((out.rate, out.len), (to, samples_per_frame(to)), "{from}→{to}");
            }
            if from == to {
                assert_eq!(r.delay_samples(), 0, "{from}→{to}");
            } else {
                assert!(r.delay() > std::time::Duration::ZERO, "{from}→{to}");
                assert!(r.delay() < std::time::Duration::from_millis(4), "{from}→{to}: {:?}", r.delay());
            }
        }
    }
}

#[test]
fn reported_delay_matches_impulse_response_peak() {
    for (from, to) in [(8000, 16000), (16000, 8000), (8000, 48000), (48000, 16000)] {
        let mut r = Resampler::new(from, to).expect("pair");
        let mut impulse = vec![0i16; samples_per_frame(from) * 4];
        impulse[0] = 20_000;
        let out = stream(&mut r, &impulse);
        let peak = out.iter().enumerate().max_by_key(|(_, v)| v.unsigned_abs()).map(|(i, _)| i).unwrap_or(usize::MAX);
        let d = r.delay_samples();
        assert!(peak.abs_diff(d) <= 1, "{from}→{to}: peak at {peak}, reported {d}");
    }
}

#[test]
fn pass_band_is_flat_to_3400_hz_for_modems_and_dtmf() {
    // G.711 fax modems (V.17 up to 3 kHz) and DTMF (to 1633 Hz) go through
    // 16k→8k in the IVR: within 0.1 dB from 300 to 3400 Hz, both ways.
    for (from, to) in [(16000, 8000), (8000, 16000), (8000, 48000), (48000, 8000)] {
        for f in [300.0, 1000.0, 1633.0, 2400.0, 3000.0, 3400.0] {
            let mut r = Resampler::new(from, to).expect("pair");
            let out = stream(&mut r, &sine(from, f, 10_000.0, 0.5));
            let a = amplitude(&out[to as usize / 20..], to, f);
            let db = 20.0 * (a / 10_000.0).log10();
            assert!(db.abs() < 0.1, "{from}→{to} at {f} Hz: {db:.3} dB");
        }
    }
}

#[test]
fn frames_join_without_a_seam() {
    // The filter history carries across frames: a tone streamed frame by
    // frame equals the same tone run as one long block would, so the output
    // has no click every 20 ms (the residual is far below the tone).
    let mut r = Resampler::new(8000, 16000).expect("pair");
    let out = stream(&mut r, &sine(8000, 1000.0, 10_000.0, 0.2));
    let d = r.delay_samples();
    let ideal = sine(16000, 1000.0, 10_000.0, 0.2);
    let worst = out[400..].iter().zip(&ideal[400 - d..]).map(|(&a, &b)| (i32::from(a) - i32::from(b)).abs()).max().unwrap_or(i32::MAX);
    assert!(worst < 20, "largest deviation from the ideal tone: {worst}");
}

#[test]
fn wrong_input_rate_gives_silence_not_pitch_shift() {
    let mut r = Resampler::new(8000, 16000).expect("pair");
    let mut frame = AudioFrame::silence(16000);
    frame.fill(16000, &sine(16000, 1000.0, 8000.0, 0.02));
    let mut out = AudioFrame::silence(8000);
    r.process(&frame, &mut out);
    assert_eq!((out.rate, out.len), (16000, 320));
    assert!(out.pcm().iter().all(|&s| s == 0));
    assert_eq!(r.mismatched_frames(), 1);
}

#[test]
fn rejects_rates_a_frame_cannot_carry() {
    assert!(matches!(Resampler::new(44100, 8000), Err(ResampleError::UnsupportedRate(44100))));
    assert!(matches!(Resampler::new(8000, 96000), Err(ResampleError::UnsupportedRate(96000))));
    assert!(matches!(Resampler::new(0, 8000), Err(ResampleError::UnsupportedRate(0))));
}

#[test]
fn resample_all_trims_delay_and_keeps_tone() {
    let input = sine(44100, 1000.0, 12_000.0, 0.5);
    let out = resample_all(&input, 44100, 16000).expect("resample");
    assert!(out.len().abs_diff(8000) <= 1, "len {}", out.len());
    // Delay trimmed: the tone is there from the first few samples on.
    assert!(rms(&out[..160]) > 6000.0);
    let a = amplitude(&out, 16000, 1000.0);
    assert!((a - 12_000.0).abs() < 400.0, "level {a}");
    assert_eq!(resample_all(&input, 44100, 44100).expect("same"), input);
    assert!(matches!(resample_all(&input, 0, 8000), Err(ResampleError::ZeroRate)));
}

/// The output conversion rounds half away from zero and saturates, as
/// `f32::round` and a clamp would: values between samples, exact halves of
/// either sign, and the filter's overshoot past full scale.
#[test]
fn output_samples_round_half_away_from_zero_and_saturate() {
    let cases: [(f32, i16); 10] = [
        (0.0, 0),
        (0.3, 0),
        (0.5, 1),
        (-0.5, -1),
        (1.49, 1),
        (-2.5, -3),
        (1000.5, 1001),
        (32767.4, 32767),
        (40000.0, 32767),
        (-40000.0, -32768),
    ];
    for (sample, want) in cases {
        assert_eq!(to_i16(sample / I16_SCALE), want, "{sample}");
    }
    // Every quarter step over the range and past it: halves of both signs
    // included. (Only 0.49999997, the float just below a half, differs:
    // it comes out 1 instead of 0.)
    for k in -140_000..140_000 {
        let x = k as f32 / 4.0;
        let want = x.round().clamp(-32768.0, 32767.0) as i16;
        assert_eq!(to_i16(x / I16_SCALE), want, "{x}");
    }
}
