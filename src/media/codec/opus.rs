//! Opus (RFC 6716) through libopus via the `audiopus` 0.2 binding; RTP
//! payload per RFC 7587 (dynamic payload type, 48 kHz clock).
//!
//! Owns: encoder settings (VOIP application, in-band FEC, expected loss,
//! bitrate, DTX off), decoding, FEC recovery and libopus's own PLC.
//! Must not touch: SDP negotiation of fmtp (the call layer turns the remote
//! `maxaveragebitrate`/`useinbandfec` into `OpusSettings`), RTP framing.
//!
//! We run libopus at 16 kHz mono. The RTP clock stays 48 kHz whatever the
//! audio bandwidth (RFC 7587 §4.1), and libopus decodes any Opus stream at
//! 16 kHz, so nothing on the wire changes. 16 kHz is the bridge's rate and
//! what we tell peers we play (`maxplaybackrate=16000` in our fmtp): audio
//! above 8 kHz would be dropped at the bridge anyway, so encoding and
//! decoding at 48 kHz only cost two resamplers per leg and a slower
//! encoder. A peer sending stereo is downmixed by libopus (the decoder is
//! opened mono).

use super::{CodecError, Decoder, Encoder};
use crate::media::{samples_per_frame, AudioFrame};
use audiopus::coder::{Decoder as LibDecoder, Encoder as LibEncoder};
use audiopus::{Application, Bitrate, Channels, SampleRate};

/// Rate of the PCM we hand libopus and get back (`AudioFrame::rate`).
pub const OPUS_PCM_RATE: u32 = 16_000;
const RATE: u32 = OPUS_PCM_RATE;
/// Samples in 20 ms at `RATE`: the longest packet we decode.
const FRAME_SAMPLES: usize = samples_per_frame(RATE);
/// Largest Opus packet for one 20 ms frame (RFC 6716 §3.2.1: a frame is at
/// most 1275 octets; one frame plus the TOC octet for code 0).
pub const OPUS_MAX_PACKET: usize = 1276;

/// `OPUS_SET_DTX_REQUEST` from opus_defines.h; audiopus 0.2 has no setter.
const OPUS_SET_DTX_REQUEST: i32 = 4016;
/// `OPUS_SET_COMPLEXITY_REQUEST` / `OPUS_GET_COMPLEXITY_REQUEST` (opus_defines.h); audiopus
/// 0.2 has neither.
const OPUS_SET_COMPLEXITY_REQUEST: i32 = 4010;
const OPUS_GET_COMPLEXITY_REQUEST: i32 = 4011;
/// `OPUS_SET_MAX_BANDWIDTH_REQUEST` / `OPUS_GET_MAX_BANDWIDTH_REQUEST`.
const OPUS_SET_MAX_BANDWIDTH_REQUEST: i32 = 4004;
const OPUS_GET_MAX_BANDWIDTH_REQUEST: i32 = 4005;

/// The widest audio band the encoder may code (RFC 6716 §2: narrowband
/// 4 kHz, mediumband 6 kHz, wideband 8 kHz; we run libopus at 16 kHz, so
/// wideband is the most there is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpusBandwidth {
    Narrowband,
    Mediumband,
    Wideband,
}

impl OpusBandwidth {
    /// `OPUS_BANDWIDTH_*` from opus_defines.h.
    const fn ctl_value(self) -> i32 {
        match self {
            OpusBandwidth::Narrowband => 1101,
            OpusBandwidth::Mediumband => 1102,
            OpusBandwidth::Wideband => 1103,
        }
    }

    fn from_ctl_value(v: i32) -> Option<OpusBandwidth> {
        [OpusBandwidth::Narrowband, OpusBandwidth::Mediumband, OpusBandwidth::Wideband].into_iter().find(|b| b.ctl_value() == v)
    }
}

/// Encoder knobs. Defaults suit contact-center speech over the Internet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpusSettings {
    /// Target bitrate in bit/s (libopus accepts 500..=512000). 32 kbit/s is
    /// transparent wideband speech with room for the FEC copy.
    pub bitrate: i32,
    /// In-band FEC (RFC 6716 §2.1.7): each packet carries a low-rate copy of
    /// the previous one. Only effective when `packet_loss_perc` > 0.
    pub inband_fec: bool,
    /// Expected packet loss in percent (0..=100); tells libopus how much of
    /// the bitrate to spend on FEC.
    pub packet_loss_perc: u8,
    /// Encoder effort, 0..=10 (libopus default 10). Encoding is the cost of
    /// a transcoded call: measured with libopus 1.3 on the 2-core bench
    /// machine, a 20 ms frame takes about 250 µs at 10 and 130 µs at 5, and
    /// speech at 32 kbit/s stays transparent at 5 (the SILK layer's effort
    /// mostly buys quality at low bitrates). `make bench` reports calls
    /// per core.
    pub complexity: u8,
    /// Widest band coded. Audio from a G.711 leg has nothing above 4 kHz,
    /// and coding it as narrowband skips the bands that would only carry
    /// noise: about a third less encoder time (opusenc at complexity 5 on
    /// 8 kHz speech: 107 instead of 165 µs per 20 ms frame). A leg changes
    /// it as its audio source changes (`LegMedia`, `MediaPort::narrowband`).
    pub max_bandwidth: OpusBandwidth,
}

impl Default for OpusSettings {
    fn default() -> Self {
        OpusSettings {
            bitrate: 32_000,
            inband_fec: true,
            packet_loss_perc: 10,
            complexity: 5,
            max_bandwidth: OpusBandwidth::Wideband,
        }
    }
}

/// Opus encoder, 16 kHz mono, `OPUS_APPLICATION_VOIP`, DTX off (we always
/// send a packet every 20 ms; comfort noise is not negotiated).
pub struct OpusEncoder {
    inner: LibEncoder,
}

impl OpusEncoder {
    pub fn new(settings: OpusSettings) -> Result<OpusEncoder, CodecError> {
        let mut inner = LibEncoder::new(SampleRate::Hz16000, Channels::Mono, Application::Voip)?;
        inner.set_encoder_ctl_request(OPUS_SET_DTX_REQUEST, 0)?;
        let mut enc = OpusEncoder { inner };
        enc.apply(settings)?;
        Ok(enc)
    }

    /// Changes settings mid-call (e.g. after a re-INVITE or on RTCP loss
    /// reports); takes effect from the next frame.
    pub fn apply(&mut self, settings: OpusSettings) -> Result<(), CodecError> {
        self.inner
            .set_bitrate(Bitrate::BitsPerSecond(settings.bitrate))?;
        self.inner.set_inband_fec(settings.inband_fec)?;
        self.inner.set_packet_loss_perc(settings.packet_loss_perc)?;
        self.inner.set_encoder_ctl_request(OPUS_SET_COMPLEXITY_REQUEST, i32::from(settings.complexity))?;
        self.set_max_bandwidth(settings.max_bandwidth)
    }

    /// Changes only the widest band coded (see `OpusSettings::max_bandwidth`),
    /// from the next frame.
    pub fn set_max_bandwidth(&mut self, band: OpusBandwidth) -> Result<(), CodecError> {
        Ok(self.inner.set_encoder_ctl_request(OPUS_SET_MAX_BANDWIDTH_REQUEST, band.ctl_value())?)
    }

    /// The widest band libopus may code.
    pub fn max_bandwidth(&self) -> Result<OpusBandwidth, CodecError> {
        let value = self.inner.encoder_ctl_request(OPUS_GET_MAX_BANDWIDTH_REQUEST)?;
        OpusBandwidth::from_ctl_value(value).ok_or(CodecError::Opus(audiopus::Error::InvalidBandwidth(value)))
    }

    /// The encoder effort libopus is using (0..=10).
    pub fn complexity(&self) -> Result<u8, CodecError> {
        let value = self.inner.encoder_ctl_request(OPUS_GET_COMPLEXITY_REQUEST)?;
        Ok(value.clamp(0, 10) as u8)
    }

    /// Bitrate libopus is actually using, in bit/s.
    pub fn bitrate(&self) -> Result<i32, CodecError> {
        Ok(i32::from(self.inner.bitrate()?))
    }

    pub fn set_bitrate(&mut self, bits_per_second: i32) -> Result<(), CodecError> {
        Ok(self
            .inner
            .set_bitrate(Bitrate::BitsPerSecond(bits_per_second))?)
    }

    pub fn inband_fec(&self) -> Result<bool, CodecError> {
        Ok(self.inner.inband_fec()?)
    }

    pub fn packet_loss_perc(&self) -> Result<u8, CodecError> {
        Ok(self.inner.packet_loss_perc()?)
    }
}

impl Encoder for OpusEncoder {
    fn encode(&mut self, frame: &AudioFrame, out: &mut [u8]) -> Result<usize, CodecError> {
        CodecError::check_rate(frame, RATE)?;
        let pcm = frame.pcm();
        // libopus encodes 2.5, 5, 10 or 20 ms (60 ms too, beyond our frame).
        if ![FRAME_SAMPLES / 8, FRAME_SAMPLES / 4, FRAME_SAMPLES / 2, FRAME_SAMPLES].contains(&pcm.len()) {
            return Err(CodecError::BadFrameLength { len: pcm.len() });
        }
        Ok(self.inner.encode(pcm, out)?)
    }
}

/// Opus decoder, 16 kHz mono.
pub struct OpusDecoder {
    inner: LibDecoder,
    /// Duration of the last decoded packet in samples: what a concealed or
    /// FEC-recovered frame must cover (libopus requires the FEC frame size
    /// to equal the lost packet's).
    last_samples: usize,
}

impl OpusDecoder {
    pub fn new() -> Result<OpusDecoder, CodecError> {
        let inner = LibDecoder::new(SampleRate::Hz16000, Channels::Mono)?;
        Ok(OpusDecoder {
            inner,
            last_samples: FRAME_SAMPLES,
        })
    }
}

impl Decoder for OpusDecoder {
    fn decode(&mut self, payload: &[u8], out: &mut AudioFrame) -> Result<(), CodecError> {
        if payload.is_empty() {
            return Err(CodecError::EmptyPayload);
        }
        out.rate = RATE;
        // libopus answers OPUS_BUFFER_TOO_SMALL for packets over 20 ms.
        let n = self
            .inner
            .decode(Some(payload), &mut out.samples[..FRAME_SAMPLES], false)?;
        out.len = n;
        self.last_samples = n.clamp(1, FRAME_SAMPLES);
        Ok(())
    }

    /// libopus PLC (decode with no data) for one packet duration.
    fn conceal(&mut self, out: &mut AudioFrame) {
        out.rate = RATE;
        let want = self.last_samples;
        match self
            .inner
            .decode(None::<&[u8]>, &mut out.samples[..want], false)
        {
            Ok(n) => out.len = n,
            // libopus never fails PLC on a valid decoder and a 2.5 ms
            // multiple; silence is the safe answer if it ever did.
            Err(_) => {
                out.len = want;
                out.clear();
            }
        }
    }

    /// Recovers the lost frame from the FEC data in `next_payload` (the
    /// packet after the gap). If that packet carries no FEC, libopus falls
    /// back to PLC by itself. The caller then decodes `next_payload` normally.
    fn decode_fec(&mut self, next_payload: &[u8], out: &mut AudioFrame) -> Result<(), CodecError> {
        if next_payload.is_empty() {
            return Err(CodecError::EmptyPayload);
        }
        out.rate = RATE;
        let want = self.last_samples;
        let n = self
            .inner
            .decode(Some(next_payload), &mut out.samples[..want], true)?;
        out.len = n;
        Ok(())
    }
}
