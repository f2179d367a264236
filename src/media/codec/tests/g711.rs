//! G.711 conformance and behaviour.
//!
//! Expected decode tables: we could not obtain the text of ITU-T G.711
//! Tables 1b/2b through the search tool, so the 256-entry tables below were
//! produced by an independent implementation, CPython 3.11's
//! `audioop.ulaw2lin(bytes(range(256)), 2)` / `audioop.alaw2lin(...)`
//! (Sun Microsystems' public-domain g711.c), i.e. G.711's decoder output
//! values on the 16-bit scale.
//! Encode is checked for every 16-bit input against the segment structure
//! of G.711 Tables 1a/2a (segment start decision values and step sizes),
//! written out below independently of the bit manipulation in `g711.rs`.

use super::super::{
    alaw_to_linear, linear_to_alaw, linear_to_ulaw, ulaw_to_linear, CodecError, CodecKind, Decoder,
    Encoder,
};
use super::{rms, sine, sine_frame, snr_db};
use crate::media::AudioFrame;

#[rustfmt::skip]
const ULAW_EXPECTED: [i16; 256] = [
    -32124, -31100, -30076, -29052, -28028, -27004, -25980, -24956, -23932, -22908, -21884, -20860, -19836, -18812, -17788, -16764,
    -15996, -15484, -14972, -14460, -13948, -13436, -12924, -12412, -11900, -11388, -10876, -10364, -9852, -9340, -8828, -8316,
    -7932, -7676, -7420, -7164, -6908, -6652, -6396, -6140, -5884, -5628, -5372, -5116, -4860, -4604, -4348, -4092,
    -3900, -3772, -3644, -3516, -3388, -3260, -3132, -3004, -2876, -2748, -2620, -2492, -2364, -2236, -2108, -1980,
    -1884, -1820, -1756, -1692, -1628, -1564, -1500, -1436, -1372, -1308, -1244, -1180, -1116, -1052, -988, -924,
    -876, -844, -812, -780, -748, -716, -684, -652, -620, -588, -556, -524, -492, -460, -428, -396,
    -372, -356, -340, -324, -308, -292, -276, -260, -244, -228, -212, -196, -180, -164, -148, -132,
    -120, -112, -104, -96, -88, -80, -72, -64, -56, -48, -40, -32, -24, -16, -8, 0,
    32124, 31100, 30076, 29052, 28028, 27004, 25980, 24956, 23932, 22908, 21884, 20860, 19836, 18812, 17788, 16764,
    15996, 15484, 14972, 14460, 13948, 13436, 12924, 12412, 11900, 11388, 10876, 10364, 9852, 9340, 8828, 8316,
    7932, 7676, 7420, 7164, 6908, 6652, 6396, 6140, 5884, 5628, 5372, 5116, 4860, 4604, 4348, 4092,
    3900, 3772, 3644, 3516, 3388, 3260, 3132, 3004, 2876, 2748, 2620, 2492, 2364, 2236, 2108, 1980,
    1884, 1820, 1756, 1692, 1628, 1564, 1500, 1436, 1372, 1308, 1244, 1180, 1116, 1052, 988, 924,
    876, 844, 812, 780, 748, 716, 684, 652, 620, 588, 556, 524, 492, 460, 428, 396,
    372, 356, 340, 324, 308, 292, 276, 260, 244, 228, 212, 196, 180, 164, 148, 132,
    120, 112, 104, 96, 88, 80, 72, 64, 56, 48, 40, 32, 24, 16, 8, 0,
];

#[rustfmt::skip]
const ALAW_EXPECTED: [i16; 256] = [
    -5504, -5248, -6016, -5760, -4480, -4224, -4992, -4736, -7552, -7296, -8064, -7808, -6528, -6272, -7040, -6784,
    -2752, -2624, -3008, -2880, -2240, -2112, -2496, -2368, -3776, -3648, -4032, -3904, -3264, -3136, -3520, -3392,
    -22016, -20992, -24064, -23040, -17920, -16896, -19968, -18944, -30208, -29184, -32256, -31232, -26112, -25088, -28160, -27136,
    -11008, -10496, -12032, -11520, -8960, -8448, -9984, -9472, -15104, -14592, -16128, -15616, -13056, -12544, -14080, -13568,
    -344, -328, -376, -360, -280, -264, -312, -296, -472, -456, -504, -488, -408, -392, -440, -424,
    -88, -72, -120, -104, -24, -8, -56, -40, -216, -200, -248, -232, -152, -136, -184, -168,
    -1376, -1312, -1504, -1440, -1120, -1056, -1248, -1184, -1888, -1824, -2016, -1952, -1632, -1568, -1760, -1696,
    -688, -656, -752, -720, -560, -528, -624, -592, -944, -912, -1008, -976, -816, -784, -880, -848,
    5504, 5248, 6016, 5760, 4480, 4224, 4992, 4736, 7552, 7296, 8064, 7808, 6528, 6272, 7040, 6784,
    2752, 2624, 3008, 2880, 2240, 2112, 2496, 2368, 3776, 3648, 4032, 3904, 3264, 3136, 3520, 3392,
    22016, 20992, 24064, 23040, 17920, 16896, 19968, 18944, 30208, 29184, 32256, 31232, 26112, 25088, 28160, 27136,
    11008, 10496, 12032, 11520, 8960, 8448, 9984, 9472, 15104, 14592, 16128, 15616, 13056, 12544, 14080, 13568,
    344, 328, 376, 360, 280, 264, 312, 296, 472, 456, 504, 488, 408, 392, 440, 424,
    88, 72, 120, 104, 24, 8, 56, 40, 216, 200, 248, 232, 152, 136, 184, 168,
    1376, 1312, 1504, 1440, 1120, 1056, 1248, 1184, 1888, 1824, 2016, 1952, 1632, 1568, 1760, 1696,
    688, 656, 752, 720, 560, 528, 624, 592, 944, 912, 1008, 976, 816, 784, 880, 848,
];

#[test]
fn ulaw_decode_table_matches_reference() {
    for code in 0..=255u8 {
        assert_eq!(
            ulaw_to_linear(code),
            ULAW_EXPECTED[code as usize],
            "code {code:#04x}"
        );
    }
}

#[test]
fn alaw_decode_table_matches_reference() {
    for code in 0..=255u8 {
        assert_eq!(
            alaw_to_linear(code),
            ALAW_EXPECTED[code as usize],
            "code {code:#04x}"
        );
    }
}

/// G.711 Table 2a in the 14-bit scale: segment k starts at decision value
/// START[k] and has 16 steps of STEP[k]; inputs past 8159 overload to the
/// top step. (Segment 0's first interval straddles zero: [−1, 1).)
const ULAW_SEG_START: [i32; 8] = [-1, 31, 95, 223, 479, 991, 2015, 4063];
const ULAW_SEG_STEP: [i32; 8] = [2, 4, 8, 16, 32, 64, 128, 256];

/// G.711 Table 1a in the 12-bit scale of `sample >> 4` (the 13-bit scale's
/// smallest step is 2): exponent k starts at START[k] with 16 steps of
/// STEP[k]; the Recommendation's first segment is our exponents 0 and 1.
const ALAW_SEG_START: [i32; 8] = [0, 16, 32, 64, 128, 256, 512, 1024];
const ALAW_SEG_STEP: [i32; 8] = [1, 1, 2, 4, 8, 16, 32, 64];

fn segment_of(n: i32, start: &[i32; 8], step: &[i32; 8]) -> (u8, u8, i32, i32) {
    let seg = (0..8).rev().find(|&k| n >= start[k]).unwrap_or(0);
    let m = ((n - start[seg]) / step[seg]).min(15);
    (seg as u8, m as u8, start[seg] + m * step[seg], step[seg])
}

#[test]
fn ulaw_encode_every_input_respects_segment_boundaries() {
    for x in i16::MIN..=i16::MAX {
        let negative = x < 0;
        let n = i32::from(if negative { !x } else { x }) >> 2;
        let (seg, m, lower, step) = segment_of(n, &ULAW_SEG_START, &ULAW_SEG_STEP);
        let expected = !(if negative { 0x80 } else { 0 } | (seg << 4) | m);
        let code = linear_to_ulaw(x);
        assert_eq!(code, expected, "x = {x}");
        // The decoder output is the middle of the decision interval.
        let out = i32::from(ulaw_to_linear(code)).abs();
        assert_eq!(out, (lower + step / 2).max(0) * 4, "x = {x}");
    }
}

#[test]
fn alaw_encode_every_input_respects_segment_boundaries() {
    for x in i16::MIN..=i16::MAX {
        let negative = x < 0;
        let n = i32::from(if negative { !x } else { x }) >> 4;
        let (seg, m, lower, step) = segment_of(n, &ALAW_SEG_START, &ALAW_SEG_STEP);
        let expected = (if negative { 0 } else { 0x80 } | (seg << 4) | m) ^ 0x55;
        let code = linear_to_alaw(x);
        assert_eq!(code, expected, "x = {x}");
        let out = i32::from(alaw_to_linear(code)).abs();
        assert_eq!(out * 2, (2 * lower + step) * 16, "x = {x}");
    }
}

#[test]
fn round_trips() {
    // Every code's output value encodes back to a code with the same value
    // (µ-law 0x7F, "negative zero", comes back as 0xFF: both decode to 0).
    for code in 0..=255u8 {
        let v = ulaw_to_linear(code);
        assert_eq!(ulaw_to_linear(linear_to_ulaw(v)), v, "µ-law {code:#04x}");
        let v = alaw_to_linear(code);
        assert_eq!(linear_to_alaw(v), code, "A-law {code:#04x}");
    }
    // Quantisation error never exceeds half a step of the largest segment
    // (plus the overload region at the µ-law top: 32767 − 32124).
    for x in i16::MIN..=i16::MAX {
        let eu = (i32::from(x) - i32::from(ulaw_to_linear(linear_to_ulaw(x)))).abs();
        let ea = (i32::from(x) - i32::from(alaw_to_linear(linear_to_alaw(x)))).abs();
        assert!(eu <= 1024, "µ-law x = {x}: error {eu}");
        assert!(ea <= 1024, "A-law x = {x}: error {ea}");
    }
    // Sign symmetry: x and its one's-complement mirror differ only in sign.
    for x in 0..=i16::MAX {
        assert_eq!(linear_to_ulaw(x) ^ linear_to_ulaw(!x), 0x80);
        assert_eq!(linear_to_alaw(x) ^ linear_to_alaw(!x), 0x80);
    }
}

#[test]
fn frame_round_trip_snr() {
    for kind in [CodecKind::Pcmu, CodecKind::Pcma] {
        let mut enc = kind.new_encoder().expect("encoder");
        let mut dec = kind.new_decoder().expect("decoder");
        let (mut x, mut y) = (Vec::new(), Vec::new());
        let mut payload = [0u8; 160];
        let mut out = AudioFrame::silence(8000);
        for i in 0..25 {
            let f = sine_frame(8000, 1000.0, 16000.0, i);
            let n = enc.encode(&f, &mut payload).expect("encode");
            assert_eq!(n, 160);
            dec.decode(&payload[..n], &mut out).expect("decode");
            assert_eq!((out.rate, out.len), (8000, 160));
            x.extend_from_slice(f.pcm());
            y.extend_from_slice(out.pcm());
        }
        let (snr, lag) = snr_db(&x, &y, 0);
        // G.711's SNR for a loud sine is about 38 dB.
        assert!(snr > 33.0, "{kind}: SNR {snr:.1} dB at lag {lag}");
    }
}

#[test]
fn errors_are_typed() {
    let mut enc = CodecKind::Pcmu.new_encoder().expect("encoder");
    let mut dec = CodecKind::Pcma.new_decoder().expect("decoder");
    let mut buf = [0u8; 160];
    assert_eq!(
        enc.encode(&AudioFrame::silence(16000), &mut buf),
        Err(CodecError::RateMismatch {
            expected: 8000,
            got: 16000
        })
    );
    assert_eq!(
        enc.encode(&AudioFrame::silence(8000), &mut buf[..100]),
        Err(CodecError::OutputTooSmall {
            need: 160,
            have: 100
        })
    );
    let mut out = AudioFrame::silence(8000);
    assert_eq!(dec.decode(&[], &mut out), Err(CodecError::EmptyPayload));
    assert_eq!(
        dec.decode(&[0xD5; 240], &mut out),
        Err(CodecError::PayloadTooLong { len: 240 })
    );
    // A 10 ms payload decodes to a 10 ms frame.
    dec.decode(&[0xD5; 80], &mut out).expect("10 ms");
    assert_eq!(out.len, 80);
}

/// Concealment: a voiced-like periodic signal is continued at full level
/// for the first 10 ms, fades to silence by 60 ms, and real audio returns
/// without a click.
#[test]
fn concealment_continues_then_fades() {
    let mut enc = CodecKind::Pcmu.new_encoder().expect("encoder");
    let mut dec = CodecKind::Pcmu.new_decoder().expect("decoder");
    let mut payload = [0u8; 160];
    let mut out = AudioFrame::silence(8000);
    // 200 Hz: a 40-sample pitch period, inside the 5–15 ms search range.
    for i in 0..10 {
        let n = enc
            .encode(&sine_frame(8000, 200.0, 10000.0, i), &mut payload)
            .expect("encode");
        dec.decode(&payload[..n], &mut out).expect("decode");
    }
    // Frame 10 is lost: the concealment should track the true signal.
    dec.conceal(&mut out);
    assert_eq!((out.rate, out.len), (8000, 160));
    let truth = sine(8000, 200.0, 10000.0, 10 * 160, 160);
    let (snr, _) = snr_db(&truth[..80], &out.pcm()[..80], 0);
    assert!(snr > 15.0, "first 10 ms of concealment: SNR {snr:.1} dB");
    let second_half = rms(&out.pcm()[80..]);
    assert!(
        second_half < rms(&truth[80..]) && second_half > 0.7 * rms(&truth[80..]),
        "fading starts"
    );
    // Frames 11, 12: level keeps falling (−20 % per 10 ms after the first
    // 10 ms); frame 13, past 60 ms, is silent.
    dec.conceal(&mut out);
    let level_40ms = rms(out.pcm());
    dec.conceal(&mut out);
    let level_60ms = rms(out.pcm());
    assert!(
        level_60ms < level_40ms && level_40ms < second_half,
        "monotonic fade"
    );
    dec.conceal(&mut out);
    assert!(out.pcm().iter().all(|&s| s == 0), "silent after 60 ms");
    // Real audio returns: first sample is a blend, no jump to full scale.
    let n = enc
        .encode(&sine_frame(8000, 200.0, 10000.0, 14), &mut payload)
        .expect("encode");
    dec.decode(&payload[..n], &mut out).expect("decode");
    assert!(
        i32::from(out.pcm()[0]).abs() < 2000,
        "cross-fade starts from the faded signal"
    );
    let tail = sine(8000, 200.0, 10000.0, 14 * 160, 160);
    let (snr, _) = snr_db(&tail[100..], &out.pcm()[100..], 0);
    assert!(
        snr > 30.0,
        "after the cross-fade the decoded signal is untouched: {snr:.1} dB"
    );
}

#[test]
fn concealment_before_any_audio_is_silence() {
    let mut dec = CodecKind::Pcma.new_decoder().expect("decoder");
    let mut out = AudioFrame::silence(8000);
    out.fill(8000, &[1234; 160]);
    dec.conceal(&mut out);
    assert!(out.pcm().iter().all(|&s| s == 0));
}
