//! Payload-to-payload transcoding between two legs that negotiated different
//! codecs: decode → (resample) → encode, one 20 ms frame at a time.
//!
//! Owns: the `Resample` trait (implemented in `media::resample` with rubato)
//! and the `Transcoder`, with its two preallocated frames.
//! Must not touch: RTP headers (the relay rewrites payload type, timestamps
//! by `CodecKind::timestamp_step`, and sequence numbers), the resampling
//! algorithm itself.
//!
//! Same codec on both sides is a pass-through (DESIGN §3: relay-only calls
//! bypass decoding); the relay should check `is_passthrough` and not call us
//! at all, but if it does we copy the payload unchanged.

use super::{AnyDecoder, AnyEncoder, CodecError, CodecKind, Decoder, Encoder};
use crate::media::AudioFrame;

/// Per-frame rate conversion, implemented with rubato in `media::resample`.
pub use crate::media::resample::Resample;

// `Convert` is large and `Passthrough` empty; a transcoder lives as long as
// its call, so the size is paid once and boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
enum Path<R> {
    Passthrough,
    Convert {
        decoder: AnyDecoder,
        encoder: AnyEncoder,
        /// `None` when both codecs run at the same audio rate.
        resampler: Option<R>,
        /// Decoded PCM at the source rate.
        decoded: Box<AudioFrame>,
        /// PCM at the target rate (only used when resampling).
        resampled: Box<AudioFrame>,
    },
}

/// Transcodes payloads of `from` into payloads of `to`.
pub struct Transcoder<R: Resample> {
    from: CodecKind,
    to: CodecKind,
    path: Path<R>,
}

impl<R: Resample> Transcoder<R> {
    /// `resampler` must convert `from.sample_rate()` to `to.sample_rate()`;
    /// it is required when those differ and dropped when they don't.
    pub fn new(
        from: CodecKind,
        to: CodecKind,
        resampler: Option<R>,
    ) -> Result<Transcoder<R>, CodecError> {
        if from == to {
            return Ok(Transcoder {
                from,
                to,
                path: Path::Passthrough,
            });
        }
        let (rate_in, rate_out) = (from.sample_rate(), to.sample_rate());
        let resampler = if rate_in == rate_out {
            None
        } else {
            Some(resampler.ok_or(CodecError::ResamplerMissing {
                from: rate_in,
                to: rate_out,
            })?)
        };
        Ok(Transcoder {
            from,
            to,
            path: Path::Convert {
                decoder: from.new_decoder()?,
                encoder: to.new_encoder()?,
                resampler,
                decoded: Box::new(AudioFrame::silence(rate_in)),
                resampled: Box::new(AudioFrame::silence(rate_out)),
            },
        })
    }

    /// Same codec both ways: payloads are relayed untouched.
    pub fn is_passthrough(&self) -> bool {
        matches!(self.path, Path::Passthrough)
    }

    pub fn from(&self) -> CodecKind {
        self.from
    }

    pub fn to(&self) -> CodecKind {
        self.to
    }

    /// Transcodes one payload into `out`; returns the new payload's length.
    /// Size `out` with `self.to().max_payload_len()`.
    pub fn transcode(&mut self, payload: &[u8], out: &mut [u8]) -> Result<usize, CodecError> {
        match &mut self.path {
            Path::Passthrough => {
                let have = out.len();
                let out = out
                    .get_mut(..payload.len())
                    .ok_or(CodecError::OutputTooSmall {
                        need: payload.len(),
                        have,
                    })?;
                out.copy_from_slice(payload);
                Ok(payload.len())
            }
            Path::Convert {
                decoder,
                encoder,
                resampler,
                decoded,
                resampled,
            } => {
                decoder.decode(payload, decoded)?;
                encode_pcm(encoder, resampler.as_mut(), decoded, resampled, out)
            }
        }
    }

    /// The source packet was lost: conceals on the decoding side and encodes
    /// the result, so the far leg keeps receiving audio. In pass-through mode
    /// there is nothing to send (0 octets): the far end conceals itself.
    pub fn conceal(&mut self, out: &mut [u8]) -> Result<usize, CodecError> {
        match &mut self.path {
            Path::Passthrough => Ok(0),
            Path::Convert {
                decoder,
                encoder,
                resampler,
                decoded,
                resampled,
            } => {
                decoder.conceal(decoded);
                encode_pcm(encoder, resampler.as_mut(), decoded, resampled, out)
            }
        }
    }
}

fn encode_pcm<R: Resample>(
    encoder: &mut AnyEncoder,
    resampler: Option<&mut R>,
    decoded: &AudioFrame,
    resampled: &mut AudioFrame,
    out: &mut [u8],
) -> Result<usize, CodecError> {
    match resampler {
        Some(r) => {
            r.process(decoded, resampled);
            encoder.encode(resampled, out)
        }
        None => encoder.encode(decoded, out),
    }
}
