//! Opus through libopus: tone round trip, settings, FEC and PLC paths.

use super::super::{
    CodecError, CodecKind, Decoder, Encoder, OpusBandwidth, OpusEncoder, OpusSettings, OPUS_MAX_PACKET,
};
use super::{goertzel, rms, sine_frame, snr_db};
use crate::media::AudioFrame;

/// The rate libopus runs at (the RTP clock stays 48 kHz).
const RATE: u32 = CodecKind::Opus.sample_rate();
/// Samples in one 20 ms frame at `RATE`.
const FRAME: usize = (RATE / 50) as usize;

fn encode_tone(enc: &mut impl Encoder, frames: usize, freq: f64) -> Vec<Vec<u8>> {
    let mut buf = [0u8; OPUS_MAX_PACKET];
    (0..frames)
        .map(|i| {
            let n = enc
                .encode(&sine_frame(RATE, freq, 8000.0, i), &mut buf)
                .expect("encode");
            buf[..n].to_vec()
        })
        .collect()
}

#[test]
fn tone_round_trip() {
    let mut enc = CodecKind::Opus.new_encoder().expect("encoder");
    let mut dec = CodecKind::Opus.new_decoder().expect("decoder");
    let packets = encode_tone(&mut enc, 50, 1000.0);
    let (mut x, mut y) = (Vec::new(), Vec::new());
    let mut out = AudioFrame::silence(RATE);
    for (i, p) in packets.iter().enumerate() {
        assert!(!p.is_empty() && p.len() <= OPUS_MAX_PACKET);
        dec.decode(p, &mut out).expect("decode");
        assert_eq!((out.rate, out.len), (RATE, FRAME));
        x.extend_from_slice(sine_frame(RATE, 1000.0, 8000.0, i).pcm());
        y.extend_from_slice(out.pcm());
    }
    // Skip the first 200 ms while the encoder settles; Opus is not a
    // waveform codec, so judge by spectrum and a loose aligned SNR.
    let (x, y) = (&x[10 * FRAME..], &y[10 * FRAME..]);
    let tone = goertzel(y, RATE, 1000.0);
    let off = goertzel(y, RATE, 3000.0);
    assert!(
        tone > 1000.0 * off,
        "1 kHz dominates: {tone:.0} vs {off:.0}"
    );
    let (snr, lag) = snr_db(x, y, FRAME);
    assert!(snr > 10.0, "aligned SNR {snr:.1} dB at lag {lag}");
}

/// Whether a packet's TOC octet declares narrowband (RFC 6716 §3.1,
/// Table 2: configs 0-3 SILK and 16-19 CELT are narrowband; the others are
/// mediumband, wideband, super-wideband or fullband).
fn toc_is_narrowband(packet: &[u8]) -> bool {
    let config = packet[0] >> 3;
    (0..=3).contains(&config) || (16..=19).contains(&config)
}

/// Limited to narrowband, every packet says so and a 6 kHz tone (above
/// narrowband's 4 kHz) is gone after decoding, while a 1 kHz one stays;
/// the wideband default keeps the 6 kHz tone.
#[test]
fn a_narrowband_limit_codes_narrowband_only() {
    let settings = |max_bandwidth| OpusSettings { max_bandwidth, ..OpusSettings::default() };
    let mut nb = OpusEncoder::new(settings(OpusBandwidth::Narrowband)).expect("encoder");
    assert_eq!(nb.max_bandwidth().expect("get"), OpusBandwidth::Narrowband);
    let mut wb = OpusEncoder::new(OpusSettings::default()).expect("encoder");
    assert_eq!(wb.max_bandwidth().expect("get"), OpusBandwidth::Wideband);
    let level = |enc: &mut OpusEncoder, freq: f64| {
        let packets = encode_tone(enc, 50, freq);
        let mut dec = CodecKind::Opus.new_decoder().expect("decoder");
        let mut out = AudioFrame::silence(RATE);
        let mut y = Vec::new();
        for p in &packets {
            dec.decode(p, &mut out).expect("decode");
            y.extend_from_slice(out.pcm());
        }
        (packets.iter().skip(10).all(|p| toc_is_narrowband(p)), rms(&y[10 * FRAME..]))
    };
    let (nb_toc, nb_6k) = level(&mut nb, 6000.0);
    let (wb_toc, wb_6k) = level(&mut wb, 6000.0);
    assert!(nb_toc && !wb_toc, "TOC bandwidth: narrowband-limited {nb_toc}, default {wb_toc}");
    assert!(wb_6k > 1000.0 && nb_6k < wb_6k / 10.0, "6 kHz tone: rms {nb_6k:.0} narrowband, {wb_6k:.0} wideband");
    let (_, nb_1k) = level(&mut nb, 1000.0);
    assert!(nb_1k > 1000.0, "1 kHz tone through narrowband: rms {nb_1k:.0}");
}

#[test]
fn settings_are_applied() {
    let mut enc = OpusEncoder::new(OpusSettings::default()).expect("encoder");
    assert_eq!(enc.bitrate().expect("bitrate"), 32_000);
    assert!(enc.inband_fec().expect("fec"));
    assert_eq!(enc.packet_loss_perc().expect("loss"), 10);
    assert_eq!(enc.complexity().expect("complexity"), 5);
    enc.apply(OpusSettings { complexity: 10, ..OpusSettings::default() }).expect("apply");
    assert_eq!(enc.complexity().expect("complexity"), 10);
    assert!(matches!(enc.apply(OpusSettings { complexity: 11, ..OpusSettings::default() }), Err(CodecError::Opus(_))));
    enc.set_bitrate(16_000).expect("set");
    assert_eq!(enc.bitrate().expect("bitrate"), 16_000);
    // Lower bitrate, smaller packets (averaged over a second of tone).
    let low: usize = encode_tone(&mut enc, 50, 440.0).iter().map(Vec::len).sum();
    enc.set_bitrate(64_000).expect("set");
    let high: usize = encode_tone(&mut enc, 50, 440.0).iter().map(Vec::len).sum();
    assert!(high > low, "64 kbit/s ({high} B) > 16 kbit/s ({low} B)");
    // 16 kbit/s for 1 s is 2000 octets; allow VBR slack.
    assert!(low < 2600, "16 kbit/s produced {low} octets per second");
    assert!(matches!(enc.set_bitrate(-5), Err(CodecError::Opus(_))));
}

#[test]
fn rejects_wrong_rate_and_length() {
    let mut enc = CodecKind::Opus.new_encoder().expect("encoder");
    let mut buf = [0u8; OPUS_MAX_PACKET];
    assert_eq!(
        enc.encode(&AudioFrame::silence(48_000), &mut buf),
        Err(CodecError::RateMismatch {
            expected: RATE,
            got: 48_000
        })
    );
    let mut f = AudioFrame::silence(RATE);
    f.len = 500;
    assert_eq!(
        enc.encode(&f, &mut buf),
        Err(CodecError::BadFrameLength { len: 500 })
    );
    let mut dec = CodecKind::Opus.new_decoder().expect("decoder");
    let mut out = AudioFrame::silence(RATE);
    assert_eq!(dec.decode(&[], &mut out), Err(CodecError::EmptyPayload));
}

/// One packet lost: FEC from the next packet recovers it better than PLC
/// does, and both produce audio of the tone's level.
#[test]
fn fec_and_plc() {
    let mut enc = CodecKind::Opus.new_encoder().expect("encoder");
    let packets = encode_tone(&mut enc, 40, 600.0);
    let lost = 30;
    let truth: Vec<i16> = sine_frame(RATE, 600.0, 8000.0, lost).pcm().to_vec();

    let recover = |use_fec: bool| -> Vec<i16> {
        let mut dec = CodecKind::Opus.new_decoder().expect("decoder");
        let mut out = AudioFrame::silence(RATE);
        for p in &packets[..lost] {
            dec.decode(p, &mut out).expect("decode");
        }
        if use_fec {
            dec.decode_fec(&packets[lost + 1], &mut out).expect("fec");
        } else {
            dec.conceal(&mut out);
        }
        assert_eq!((out.rate, out.len), (RATE, FRAME));
        out.pcm().to_vec()
    };
    let fec = recover(true);
    let plc = recover(false);
    assert!(rms(&fec) > 0.3 * rms(&truth), "FEC frame carries the tone");
    assert!(rms(&plc) > 0.1 * rms(&truth), "PLC frame is not silence");
    assert!(
        goertzel(&fec, RATE, 600.0) > 100.0 * goertzel(&fec, RATE, 2500.0),
        "FEC frame is the tone"
    );
    // The decoder delays by a fixed amount; compare spectra rather than waveforms.
    let fec_tone = goertzel(&fec, RATE, 600.0);
    let truth_tone = goertzel(&truth, RATE, 600.0);
    assert!(
        fec_tone > 0.2 * truth_tone,
        "FEC energy at 600 Hz: {fec_tone:.0} vs {truth_tone:.0}"
    );
}
