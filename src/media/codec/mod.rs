//! Audio codecs for RTP payloads (DESIGN §3: an RTP endpoint is a port with a
//! codec and a jitter buffer in front of it).
//!
//! Owns: the `Encoder`/`Decoder` traits, the `CodecKind` catalogue (SDP names,
//! clock rates, static payload types, default fmtp), the codecs themselves
//! (G.711 µ-law/A-law, G.722, Opus), packet-loss concealment and the
//! `Transcoder` that joins two codecs.
//! Must not touch: RTP headers, sequence numbers and timestamps (the RTP
//! endpoint owns them), jitter buffering, SDP text (the `sdp`/`call` layers
//! read names and numbers from `CodecKind`), sockets, tokio, and resampling
//! itself (`media::resample` implements the `Resample` trait we declare).
//!
//! Hot-path rule (DESIGN §3): `encode`, `decode`, `conceal` and
//! `Transcoder::transcode` write into caller-provided `&mut` buffers and never
//! allocate; everything a codec needs is allocated once in its constructor
//! (for Opus, libopus allocates its state in `opus_*_create`).
//!
//! One call to `decode` turns one RTP payload into at most one 20 ms frame.
//! Peers that send a different packetisation (`a=ptime`) are the jitter
//! buffer's business: G.711 and G.722 payloads can be split at any octet.

mod g711;
mod g722;
mod opus;
mod plc;
mod transcode;

#[cfg(test)]
mod tests;

pub use g711::{
    alaw_to_linear, linear_to_alaw, linear_to_ulaw, ulaw_to_linear, G711Decoder, G711Encoder,
    G711Law,
};
pub use g722::{G722Decoder, G722Encoder};
pub use opus::{OpusBandwidth, OpusDecoder, OpusEncoder, OpusSettings, OPUS_MAX_PACKET};
pub use plc::WaveformPlc;
pub use transcode::{Resample, Transcoder};

use crate::media::AudioFrame;

/// Why a codec refused a frame or a payload. None of these are fatal to the
/// call: the RTP endpoint drops the packet (or conceals) and goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The caller's output buffer cannot hold the encoded frame.
    #[error("output buffer too small: need {need} bytes, have {have}")]
    OutputTooSmall { need: usize, have: usize },
    /// The frame is not at the codec's audio sample rate (resample first).
    #[error("frame is {got} Hz, codec expects {expected} Hz")]
    RateMismatch { expected: u32, got: u32 },
    /// The frame's sample count is not one the codec can encode.
    #[error("frame of {len} samples cannot be encoded")]
    BadFrameLength { len: usize },
    /// The payload is empty.
    #[error("empty payload")]
    EmptyPayload,
    /// The payload holds more than one 20 ms frame (split it upstream).
    #[error("payload of {len} bytes is longer than one 20 ms frame")]
    PayloadTooLong { len: usize },
    /// libopus refused the packet or the call (RFC 6716 packet malformed,
    /// packet longer than 20 ms, or an encoder setting out of range).
    #[error("opus: {0}")]
    Opus(#[from] audiopus::Error),
    /// Two codecs at different rates were joined without a resampler.
    #[error("{from} Hz to {to} Hz needs a resampler")]
    ResamplerMissing { from: u32, to: u32 },
}

impl CodecError {
    /// Every encoder takes frames at its own audio rate only.
    pub fn check_rate(frame: &AudioFrame, expected: u32) -> Result<(), CodecError> {
        if frame.rate == expected {
            Ok(())
        } else {
            Err(CodecError::RateMismatch { expected, got: frame.rate })
        }
    }
}

/// Turns 20 ms of PCM into one RTP payload.
pub trait Encoder {
    /// Encodes `frame` (at the codec's `sample_rate`) into `out`; returns the
    /// payload length.
    fn encode(&mut self, frame: &AudioFrame, out: &mut [u8]) -> Result<usize, CodecError>;
}

/// Turns one RTP payload into PCM, and fills in for payloads that never came.
pub trait Decoder {
    /// Decodes `payload` into `out` (rate and length set by the codec).
    fn decode(&mut self, payload: &[u8], out: &mut AudioFrame) -> Result<(), CodecError>;
    /// Packet-loss concealment: synthesises one lost 20 ms frame.
    fn conceal(&mut self, out: &mut AudioFrame);
    /// Recovers a lost frame from the packet after it (Opus in-band FEC,
    /// RFC 6716 §2.1.7). Codecs without FEC conceal instead; the next packet
    /// is then decoded normally by the caller.
    fn decode_fec(&mut self, next_payload: &[u8], out: &mut AudioFrame) -> Result<(), CodecError> {
        let _ = next_payload;
        self.conceal(out);
        Ok(())
    }
}

/// The codecs the appliance speaks. Names and numbers are RFC 3551 §4.5 /
/// Table 4 for the static ones and RFC 7587 for Opus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodecKind {
    /// ITU-T G.711 µ-law (RFC 3551 §4.5.14).
    Pcmu,
    /// ITU-T G.711 A-law (RFC 3551 §4.5.14).
    Pcma,
    /// ITU-T G.722, 64 kbit/s mode 1 (RFC 3551 §4.5.2).
    G722,
    /// Opus (RFC 6716; RTP payload format RFC 7587).
    Opus,
}

impl CodecKind {
    pub const ALL: [CodecKind; 4] = [
        CodecKind::Pcmu,
        CodecKind::Pcma,
        CodecKind::G722,
        CodecKind::Opus,
    ];

    /// The `a=rtpmap` encoding name (RFC 3551 Table 4, RFC 7587 §7).
    pub const fn encoding_name(self) -> &'static str {
        match self {
            CodecKind::Pcmu => "PCMU",
            CodecKind::Pcma => "PCMA",
            CodecKind::G722 => "G722",
            CodecKind::Opus => "opus",
        }
    }

    /// RTP timestamp clock rate. G.722 says 8000 although it carries 16 kHz
    /// audio: an erratum kept for compatibility (RFC 3551 §4.5.2). Opus is
    /// always 48000 whatever it actually encodes (RFC 7587 §4.1).
    pub const fn clock_rate(self) -> u32 {
        match self {
            CodecKind::Pcmu | CodecKind::Pcma | CodecKind::G722 => 8000,
            CodecKind::Opus => 48_000,
        }
    }

    /// Rate of the PCM the codec consumes and produces (`AudioFrame::rate`).
    pub const fn sample_rate(self) -> u32 {
        match self {
            CodecKind::Pcmu | CodecKind::Pcma => 8000,
            CodecKind::G722 => 16_000,
            CodecKind::Opus => opus::OPUS_PCM_RATE,
        }
    }

    /// Static payload type (RFC 3551 Table 4); Opus is dynamic.
    pub const fn static_payload_type(self) -> Option<u8> {
        match self {
            CodecKind::Pcmu => Some(0),
            CodecKind::Pcma => Some(8),
            CodecKind::G722 => Some(9),
            CodecKind::Opus => None,
        }
    }

    /// The rtpmap encoding parameters: Opus is always declared with 2
    /// channels even when mono is sent (RFC 7587 §7).
    pub const fn sdp_channels(self) -> Option<u8> {
        match self {
            CodecKind::Opus => Some(2),
            _ => None,
        }
    }

    /// The `a=fmtp` we offer. For Opus: 10 ms minimum packetisation and in-band
    /// FEC wanted (RFC 7587 §6.1 `minptime`, `useinbandfec`).
    pub const fn default_fmtp(self) -> Option<&'static str> {
        match self {
            CodecKind::Opus => Some("minptime=10;useinbandfec=1"),
            _ => None,
        }
    }

    /// RTP timestamp advance per 20 ms frame (clock rate, not sample rate).
    pub const fn timestamp_step(self) -> u32 {
        self.clock_rate() / 50
    }

    /// Largest payload one 20 ms frame encodes to: size the `encode` output
    /// buffer with this.
    pub const fn max_payload_len(self) -> usize {
        match self {
            // One octet per sample (G.711) or per sample pair at 16 kHz (G.722).
            CodecKind::Pcmu | CodecKind::Pcma | CodecKind::G722 => 160,
            CodecKind::Opus => OPUS_MAX_PACKET,
        }
    }

    /// Looks a codec up by rtpmap name and clock rate. Encoding names are
    /// case-insensitive (RFC 4566 §6, `a=rtpmap`).
    pub fn from_rtpmap(name: &str, clock_rate: u32) -> Option<CodecKind> {
        CodecKind::ALL
            .into_iter()
            .find(|k| k.encoding_name().eq_ignore_ascii_case(name) && k.clock_rate() == clock_rate)
    }

    /// A codec whose payload type is static (RFC 3551 Table 4).
    pub fn from_static_payload_type(pt: u8) -> Option<CodecKind> {
        CodecKind::ALL
            .into_iter()
            .find(|k| k.static_payload_type() == Some(pt))
    }

    /// A fresh encoder with default settings (Opus: `OpusSettings::default()`).
    pub fn new_encoder(self) -> Result<AnyEncoder, CodecError> {
        self.new_encoder_with(OpusSettings::default())
    }

    /// A fresh encoder; Opus with `opus` (other codecs have no settings).
    pub fn new_encoder_with(self, opus: OpusSettings) -> Result<AnyEncoder, CodecError> {
        Ok(match self {
            CodecKind::Pcmu => AnyEncoder::G711(G711Encoder::new(G711Law::Ulaw)),
            CodecKind::Pcma => AnyEncoder::G711(G711Encoder::new(G711Law::Alaw)),
            CodecKind::G722 => AnyEncoder::G722(G722Encoder::new()),
            CodecKind::Opus => {
                AnyEncoder::Opus(OpusEncoder::new(opus)?)
            }
        })
    }

    /// A fresh decoder.
    pub fn new_decoder(self) -> Result<AnyDecoder, CodecError> {
        Ok(match self {
            CodecKind::Pcmu => AnyDecoder::G711(G711Decoder::new(G711Law::Ulaw)),
            CodecKind::Pcma => AnyDecoder::G711(G711Decoder::new(G711Law::Alaw)),
            CodecKind::G722 => AnyDecoder::G722(G722Decoder::new()),
            CodecKind::Opus => AnyDecoder::Opus(OpusDecoder::new()?),
        })
    }
}

impl std::fmt::Display for CodecKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.encoding_name())
    }
}

/// Any encoder, dispatched by `match` rather than `dyn` so a call holds its
/// codec inline and pays no virtual call or box per frame.
// Variants differ in size (G.722 and the PLC history are a few KiB inline,
// Opus is a pointer to libopus state). Kept inline on purpose: one codec per
// call leg, allocated with the call, and no indirection per frame.
#[allow(clippy::large_enum_variant)]
pub enum AnyEncoder {
    G711(G711Encoder),
    G722(G722Encoder),
    Opus(OpusEncoder),
}

impl AnyEncoder {
    pub fn kind(&self) -> CodecKind {
        match self {
            AnyEncoder::G711(e) => e.law().kind(),
            AnyEncoder::G722(_) => CodecKind::G722,
            AnyEncoder::Opus(_) => CodecKind::Opus,
        }
    }
}

impl Encoder for AnyEncoder {
    fn encode(&mut self, frame: &AudioFrame, out: &mut [u8]) -> Result<usize, CodecError> {
        match self {
            AnyEncoder::G711(e) => e.encode(frame, out),
            AnyEncoder::G722(e) => e.encode(frame, out),
            AnyEncoder::Opus(e) => e.encode(frame, out),
        }
    }
}

/// Any decoder; see `AnyEncoder` for why this is an enum.
// Variants differ in size (G.722 and the PLC history are a few KiB inline,
// Opus is a pointer to libopus state). Kept inline on purpose: one codec per
// call leg, allocated with the call, and no indirection per frame.
#[allow(clippy::large_enum_variant)]
pub enum AnyDecoder {
    G711(G711Decoder),
    G722(G722Decoder),
    Opus(OpusDecoder),
}

impl AnyDecoder {
    pub fn kind(&self) -> CodecKind {
        match self {
            AnyDecoder::G711(d) => d.law().kind(),
            AnyDecoder::G722(_) => CodecKind::G722,
            AnyDecoder::Opus(_) => CodecKind::Opus,
        }
    }
}

impl Decoder for AnyDecoder {
    fn decode(&mut self, payload: &[u8], out: &mut AudioFrame) -> Result<(), CodecError> {
        match self {
            AnyDecoder::G711(d) => d.decode(payload, out),
            AnyDecoder::G722(d) => d.decode(payload, out),
            AnyDecoder::Opus(d) => d.decode(payload, out),
        }
    }
    fn conceal(&mut self, out: &mut AudioFrame) {
        match self {
            AnyDecoder::G711(d) => d.conceal(out),
            AnyDecoder::G722(d) => d.conceal(out),
            AnyDecoder::Opus(d) => d.conceal(out),
        }
    }
    fn decode_fec(&mut self, next_payload: &[u8], out: &mut AudioFrame) -> Result<(), CodecError> {
        match self {
            AnyDecoder::G711(d) => d.decode_fec(next_payload, out),
            AnyDecoder::G722(d) => d.decode_fec(next_payload, out),
            AnyDecoder::Opus(d) => d.decode_fec(next_payload, out),
        }
    }
}
