//! Transcoder: pass-through, equal-rate conversion, resampler requirement.

use super::super::{CodecError, CodecKind, Encoder, Resample, Transcoder};
use super::{sine_frame, snr_db};
use crate::media::AudioFrame;

/// Test-only resampler for the equal-rate case: copies the frame. The real
/// one (rubato) lives in `media::resample`.
struct CopyResampler;

impl Resample for CopyResampler {
    fn process(&mut self, input: &AudioFrame, out: &mut AudioFrame) {
        out.fill(input.rate, input.pcm());
    }
}

#[test]
fn same_codec_is_passthrough() {
    let mut t =
        Transcoder::<CopyResampler>::new(CodecKind::G722, CodecKind::G722, None).expect("new");
    assert!(t.is_passthrough());
    let mut out = [0u8; 160];
    assert_eq!(t.transcode(&[1, 2, 3], &mut out), Ok(3));
    assert_eq!(&out[..3], &[1, 2, 3]);
    assert_eq!(t.conceal(&mut out), Ok(0));
}

#[test]
fn pcmu_to_pcma() {
    let mut t =
        Transcoder::<CopyResampler>::new(CodecKind::Pcmu, CodecKind::Pcma, None).expect("new");
    assert!(!t.is_passthrough());
    assert_eq!((t.from(), t.to()), (CodecKind::Pcmu, CodecKind::Pcma));
    let mut enc = CodecKind::Pcmu.new_encoder().expect("encoder");
    let mut pcma_dec = CodecKind::Pcma.new_decoder().expect("decoder");
    let (mut x, mut y) = (Vec::new(), Vec::new());
    let mut ulaw = [0u8; 160];
    let mut alaw = [0u8; 160];
    let mut out = AudioFrame::silence(8000);
    for i in 0..10 {
        let f = sine_frame(8000, 700.0, 12000.0, i);
        let n = enc.encode(&f, &mut ulaw).expect("encode");
        let m = t.transcode(&ulaw[..n], &mut alaw).expect("transcode");
        assert_eq!(m, 160);
        super::super::Decoder::decode(&mut pcma_dec, &alaw[..m], &mut out).expect("decode");
        x.extend_from_slice(f.pcm());
        y.extend_from_slice(out.pcm());
    }
    let (snr, _) = snr_db(&x, &y, 0);
    assert!(snr > 30.0, "tandem G.711 SNR {snr:.1} dB");
    // A lost µ-law packet still yields an A-law packet (concealed audio).
    assert_eq!(t.conceal(&mut alaw), Ok(160));
}

#[test]
fn equal_rate_with_explicit_resampler_is_dropped() {
    // Same rate: a resampler offered is not needed and not used.
    let t = Transcoder::new(CodecKind::Pcma, CodecKind::Pcmu, Some(CopyResampler)).expect("new");
    assert!(!t.is_passthrough());
}

#[test]
fn different_rates_need_a_resampler() {
    let r = Transcoder::<CopyResampler>::new(CodecKind::Pcmu, CodecKind::G722, None);
    assert!(matches!(
        r,
        Err(CodecError::ResamplerMissing {
            from: 8000,
            to: 16_000
        })
    ));
    let r = Transcoder::<CopyResampler>::new(CodecKind::Opus, CodecKind::Pcma, None);
    assert!(matches!(
        r,
        Err(CodecError::ResamplerMissing {
            from: 16_000,
            to: 8000
        })
    ));
}

#[test]
fn codec_catalogue() {
    use CodecKind::*;
    let rows = [
        (Pcmu, "PCMU", 8000, 8000, Some(0), None),
        (Pcma, "PCMA", 8000, 8000, Some(8), None),
        (G722, "G722", 8000, 16_000, Some(9), None),
        (
            Opus,
            "opus",
            48_000,
            16_000,
            None,
            Some("minptime=10;useinbandfec=1"),
        ),
    ];
    for (k, name, clock, rate, pt, fmtp) in rows {
        assert_eq!(k.encoding_name(), name);
        assert_eq!(k.clock_rate(), clock);
        assert_eq!(k.sample_rate(), rate);
        assert_eq!(k.static_payload_type(), pt);
        assert_eq!(k.default_fmtp(), fmtp);
        assert_eq!(
            CodecKind::from_rtpmap(&name.to_ascii_lowercase(), clock),
            Some(k)
        );
        if let Some(pt) = pt {
            assert_eq!(CodecKind::from_static_payload_type(pt), Some(k));
        }
        assert_eq!(k.new_encoder().expect("encoder").kind(), k);
        assert_eq!(k.new_decoder().expect("decoder").kind(), k);
    }
    assert_eq!(G722.timestamp_step(), 160);
    assert_eq!(Opus.timestamp_step(), 960);
    assert_eq!(Opus.sdp_channels(), Some(2));
    assert_eq!(CodecKind::from_rtpmap("G722", 16_000), None);
}
