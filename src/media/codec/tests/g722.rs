//! G.722 conformance (ITU-T G.722 Appendix II digital test sequences) and
//! behaviour (tones, silence, concealment).
//!
//! The test sequences exercise the sub-band ADPCM alone: in the
//! Recommendation's test configuration the QMFs are bypassed, the same
//! input word feeds both sub-band encoders, and the decoder's lower and
//! higher sub-band outputs are compared separately. Words are 16-bit with
//! the 15-bit sub-band value in the top 15 bits; encoded octets sit in the
//! high byte; 0x0001 words mark the reset sequence around the data.
//! Files (ASCII format, 16 words a line plus a check byte) are the
//! overload set of the ITU distribution, reproduced in `tests/vectors/itu-g722/`:
//! T1C2.XMT (encoder input) → T2R2.COD (codes) → T3L2.RC1 (lower band,
//! mode 1) and T3H2.RC0 (higher band).

use super::super::g722::{SubbandDecoder, SubbandEncoder};
use super::super::{CodecError, CodecKind, Decoder, Encoder};
use super::{goertzel, rms, sine_frame, snr_db};
use crate::media::AudioFrame;

/// Words of an ITU ASCII test-sequence file, reset markers removed.
fn itu_words(text: &str) -> Vec<u16> {
    text.lines()
        .filter(|l| !l.starts_with("/*") && l.len() >= 64)
        .flat_map(|l| {
            (0..16).map(move |i| u16::from_str_radix(&l[i * 4..i * 4 + 4], 16).expect("hex word"))
        })
        .filter(|&w| w != 0x0001)
        .collect()
}

const T1C2_XMT: &str = include_str!("../../../../tests/vectors/itu-g722/T1C2.XMT");
const T2R2_COD: &str = include_str!("../../../../tests/vectors/itu-g722/T2R2.COD");
const T3L2_RC1: &str = include_str!("../../../../tests/vectors/itu-g722/T3L2.RC1");
const T3H2_RC0: &str = include_str!("../../../../tests/vectors/itu-g722/T3H2.RC0");

#[test]
fn itu_encoder_test_sequence_t1c2() {
    let input = itu_words(T1C2_XMT);
    let expected = itu_words(T2R2_COD);
    assert_eq!(input.len(), 768);
    assert_eq!(expected.len(), input.len());
    let mut enc = SubbandEncoder::new();
    for (i, (&x, &c)) in input.iter().zip(&expected).enumerate() {
        let x = i32::from(x as i16) >> 1;
        let code = enc.encode(x, x);
        assert_eq!(u16::from(code), c >> 8, "sample {i}");
    }
}

#[test]
fn itu_decoder_test_sequence_t2r2() {
    let codes = itu_words(T2R2_COD);
    let lower = itu_words(T3L2_RC1);
    let higher = itu_words(T3H2_RC0);
    assert_eq!((lower.len(), higher.len()), (codes.len(), codes.len()));
    let mut dec = SubbandDecoder::new();
    for (i, &c) in codes.iter().enumerate() {
        let (rl, rh) = dec.decode((c >> 8) as u8);
        assert_eq!(
            rl << 1,
            i32::from(lower[i] as i16),
            "lower band, sample {i}"
        );
        assert_eq!(
            rh << 1,
            i32::from(higher[i] as i16),
            "higher band, sample {i}"
        );
    }
}

/// Encodes and decodes `frames` frames of a sine; returns (input, output).
fn round_trip(freq: f64, amplitude: f64, frames: usize) -> (Vec<i16>, Vec<i16>) {
    let mut enc = CodecKind::G722.new_encoder().expect("encoder");
    let mut dec = CodecKind::G722.new_decoder().expect("decoder");
    let mut payload = [0u8; 160];
    let mut out = AudioFrame::silence(16_000);
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for i in 0..frames {
        let f = sine_frame(16_000, freq, amplitude, i);
        let n = enc.encode(&f, &mut payload).expect("encode");
        assert_eq!(n, 160);
        dec.decode(&payload[..n], &mut out).expect("decode");
        assert_eq!((out.rate, out.len), (16_000, 320));
        x.extend_from_slice(f.pcm());
        y.extend_from_slice(out.pcm());
    }
    (x, y)
}

#[test]
fn tones_survive_round_trip() {
    // 1 kHz sits in the lower sub-band, 5 kHz in the higher one (a tone
    // G.711's 4 kHz bandwidth cannot carry at all).
    for (freq, min_snr) in [(1000.0, 25.0), (5000.0, 15.0)] {
        let (x, y) = round_trip(freq, 10_000.0, 25);
        // Skip 100 ms of adaptation. A pure tone's best lag is ambiguous
        // (modulo its period), so only the SNR is asserted here.
        let (x, y) = (&x[1600..], &y[1600..]);
        let (snr, lag) = snr_db(x, y, 40);
        assert!(snr > min_snr, "{freq} Hz: SNR {snr:.1} dB (lag {lag})");
        let tone = goertzel(y, 16_000, freq);
        let input_tone = goertzel(x, 16_000, freq);
        assert!(
            tone > 0.7 * input_tone,
            "{freq} Hz keeps its energy: {tone:.0} vs {input_tone:.0}"
        );
        for other in [300.0, 2500.0, 3000.0, 6500.0] {
            let leak = goertzel(y, 16_000, other);
            assert!(
                tone > 300.0 * leak,
                "{freq} Hz output leaks into {other} Hz: {leak:.1}"
            );
        }
    }
}

/// End-to-end delay of the QMF pair, measured on broadband noise where the
/// lag is unambiguous: 22 samples with the Recommendation's sample pairing
/// (FFmpeg's independent implementation showed the same 22 when checked by
/// hand during development).
#[test]
fn qmf_delay_on_noise() {
    let mut enc = CodecKind::G722.new_encoder().expect("encoder");
    let mut dec = CodecKind::G722.new_decoder().expect("decoder");
    let mut seed = 0x1234_5678u32;
    let (mut x, mut y) = (Vec::new(), Vec::new());
    let mut payload = [0u8; 160];
    let mut out = AudioFrame::silence(16_000);
    for _ in 0..25 {
        let pcm: Vec<i16> = (0..320)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                ((seed >> 16) as i16) / 8
            })
            .collect();
        let mut f = AudioFrame::silence(16_000);
        f.fill(16_000, &pcm);
        let n = enc.encode(&f, &mut payload).expect("encode");
        dec.decode(&payload[..n], &mut out).expect("decode");
        x.extend_from_slice(&pcm);
        y.extend_from_slice(out.pcm());
    }
    let (snr, lag) = snr_db(&x[1600..], &y[1600..], 40);
    eprintln!("noise: SNR {snr:.1} dB at lag {lag}");
    assert_eq!(lag, 22, "QMF delay");
    assert!(snr > 10.0, "white noise SNR {snr:.1} dB");
}

#[test]
fn silence_stays_silent() {
    let (_, y) = round_trip(1000.0, 0.0, 25);
    let level = rms(&y[1600..]);
    assert!(level < 4.0, "idle noise RMS {level:.2}");
    assert!(y.iter().all(|&s| s.abs() < 32), "no bursts in silence");
}

#[test]
fn full_scale_does_not_wrap() {
    let (x, y) = round_trip(440.0, 32_767.0, 10);
    let (snr, _) = snr_db(&x[1600..], &y[1600..], 40);
    assert!(snr > 20.0, "full-scale SNR {snr:.1} dB");
}

#[test]
fn errors_and_concealment() {
    let mut enc = CodecKind::G722.new_encoder().expect("encoder");
    let mut dec = CodecKind::G722.new_decoder().expect("decoder");
    let mut buf = [0u8; 160];
    assert_eq!(
        enc.encode(&AudioFrame::silence(8000), &mut buf),
        Err(CodecError::RateMismatch {
            expected: 16_000,
            got: 8000
        })
    );
    let mut odd = AudioFrame::silence(16_000);
    odd.len = 319;
    assert_eq!(
        enc.encode(&odd, &mut buf),
        Err(CodecError::BadFrameLength { len: 319 })
    );
    assert_eq!(
        enc.encode(&AudioFrame::silence(16_000), &mut buf[..10]),
        Err(CodecError::OutputTooSmall {
            need: 160,
            have: 10
        })
    );
    let mut out = AudioFrame::silence(16_000);
    assert_eq!(
        dec.decode(&[0u8; 161], &mut out),
        Err(CodecError::PayloadTooLong { len: 161 })
    );

    // Concealment of one lost frame in a 250 Hz tone (64-sample period).
    for i in 0..10 {
        let n = enc
            .encode(&sine_frame(16_000, 250.0, 8000.0, i), &mut buf)
            .expect("encode");
        dec.decode(&buf[..n], &mut out).expect("decode");
    }
    dec.conceal(&mut out);
    assert_eq!((out.rate, out.len), (16_000, 320));
    assert!(
        rms(&out.pcm()[..160]) > 0.8 * 5657.0,
        "first 10 ms at full level"
    );
    assert!(goertzel(out.pcm(), 16_000, 250.0) > 100.0 * goertzel(out.pcm(), 16_000, 1000.0));
    // Decoding resumes and the ADPCM state reconverges.
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for i in 11..20 {
        let f = sine_frame(16_000, 250.0, 8000.0, i);
        let n = enc.encode(&f, &mut buf).expect("encode");
        dec.decode(&buf[..n], &mut out).expect("decode");
        x.extend_from_slice(f.pcm());
        y.extend_from_slice(out.pcm());
    }
    let (snr, _) = snr_db(&x[640..], &y[640..], 40);
    assert!(snr > 20.0, "after loss: SNR {snr:.1} dB");
}

/// A test signal with energy in both sub-bands and no single period.
fn two_band_signal(samples: usize) -> Vec<i16> {
    let a = super::sine(16_000, 1100.0, 6000.0, 0, samples);
    let b = super::sine(16_000, 5300.0, 4000.0, 0, samples);
    let c = super::sine(16_000, 2900.0, 3000.0, 0, samples);
    (0..samples).map(|i| a[i] + b[i] + c[i]).collect()
}

#[test]
fn two_band_round_trip() {
    let x = two_band_signal(8000);
    let mut enc = CodecKind::G722.new_encoder().expect("encoder");
    let mut dec = CodecKind::G722.new_decoder().expect("decoder");
    let (mut payload, mut out, mut y) = ([0u8; 160], AudioFrame::silence(16_000), Vec::new());
    for chunk in x.chunks(320) {
        let mut f = AudioFrame::silence(16_000);
        f.fill(16_000, chunk);
        let n = enc.encode(&f, &mut payload).expect("encode");
        dec.decode(&payload[..n], &mut out).expect("decode");
        y.extend_from_slice(out.pcm());
    }
    let (snr, lag) = snr_db(&x[1600..], &y[1600..], 40);
    eprintln!("ours → ours: SNR {snr:.1} dB at lag {lag}");
    assert!(snr > 20.0, "two-band SNR {snr:.1} dB");
}
