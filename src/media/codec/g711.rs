//! ITU-T G.711 (11/88) µ-law and A-law, RTP payload per RFC 3551 §4.5.14
//! (one octet per 8 kHz sample, PCMU = payload type 0, PCMA = 8).
//!
//! Owns: the companding tables, the G.711 encoder/decoder and their use of
//! `WaveformPlc` for concealment.
//! Must not touch: other codecs, RTP framing.
//!
//! Both directions are table lookups built by `const fn` at compile time, so
//! there is no build script and no runtime initialisation:
//! - decode: 256 entries, code → 16-bit linear (G.711 Tables 1b/2b give the
//!   decoder output values; we scale them to 16 bits as everyone does:
//!   A-law's 13-bit and µ-law's 14-bit scales shifted left by 3 and 2).
//! - encode: A-law only looks at the top 12 bits of a 16-bit sample and µ-law
//!   at the top 14 (G.711 Tables 1a/2a quantise 13/14-bit inputs, and A-law's
//!   first step is 2 units of the 13-bit scale), so tables of 4096 and 16384
//!   octets indexed by `sample >> 4` / `sample >> 2` cover every input.
//!
//! Negative inputs are mirrored with one's complement (−x−1) before
//! quantising, as the ITU-T G.191 reference does, so decision thresholds are
//! symmetric about −½ LSB.

use super::plc::WaveformPlc;
use super::{CodecError, CodecKind, Decoder, Encoder};
use crate::media::{samples_per_frame, AudioFrame};

/// Which companding law.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum G711Law {
    /// µ-law (North America, Japan): PCMU.
    Ulaw,
    /// A-law (Europe, most of the world): PCMA.
    Alaw,
}

impl G711Law {
    pub fn kind(self) -> CodecKind {
        match self {
            G711Law::Ulaw => CodecKind::Pcmu,
            G711Law::Alaw => CodecKind::Pcma,
        }
    }
}

const RATE: u32 = 8000;
/// Octets (= samples) in a 20 ms G.711 payload.
const FRAME_SAMPLES: usize = samples_per_frame(RATE);

// ---------------------------------------------------------------- µ-law

/// µ-law code → linear. A code is the polarity bit (1 = positive) followed
/// by the inverted segment (3 bits) and step (4 bits); equivalently, the
/// one's complement of negative(1) | segment | step, which is how we build
/// it. In the 14-bit scale of Table 2 the output value of segment e, step m
/// is ((2m + 33)·2^e) − 33; ×4 for 16 bits.
const fn ulaw_decode_slow(code: u8) -> i16 {
    let c = !code;
    let seg = ((c >> 4) & 0x07) as i32;
    let step = (c & 0x0F) as i32;
    let magnitude = (((2 * step + 33) << seg) - 33) * 4;
    if c & 0x80 != 0 {
        -magnitude as i16
    } else {
        magnitude as i16
    }
}

/// 14-bit linear (`sample >> 2`) → µ-law. The magnitude biased by 33 has its
/// leading one at bit 5 + segment; the four bits after it are the step.
/// Inputs beyond the last decision value (8159) take the top code.
const fn ulaw_encode_slow(x14: i16) -> u8 {
    let (magnitude, sign) = if x14 < 0 {
        (!x14 as i32, 0x80)
    } else {
        (x14 as i32, 0x00)
    };
    let mut biased = magnitude + 33;
    if biased > 0x1FFF {
        biased = 0x1FFF;
    }
    let mut seg = 0;
    while seg < 7 && biased >= (64 << seg) {
        seg += 1;
    }
    let step = (biased >> (seg + 1)) & 0x0F;
    !((sign | (seg << 4) | step) as u8)
}

// ---------------------------------------------------------------- A-law

/// A-law code → linear. A code is sign(1 = positive) | segment | step with
/// the even bits inverted (G.711 §2.4: XOR 0x55). Output values (Table 1b,
/// 13-bit scale ×8): segment 0: 16m + 8; segment e ≥ 1: (16m + 264)·2^(e−1).
const fn alaw_decode_slow(code: u8) -> i16 {
    let c = code ^ 0x55;
    let seg = ((c >> 4) & 0x07) as i32;
    let step = (c & 0x0F) as i32;
    let magnitude = if seg == 0 {
        (step << 4) + 8
    } else {
        ((step << 4) + 264) << (seg - 1)
    };
    if c & 0x80 != 0 {
        magnitude as i16
    } else {
        -magnitude as i16
    }
}

/// 12-bit linear (`sample >> 4`) → A-law. Segments 0 and 1 share the
/// smallest step, so below 32 the magnitude is the code itself; above it the
/// leading one sits at bit 3 + segment.
const fn alaw_encode_slow(x12: i16) -> u8 {
    let (magnitude, sign) = if x12 < 0 {
        (!x12 as i32, 0x00)
    } else {
        (x12 as i32, 0x80)
    };
    let code = if magnitude < 32 {
        magnitude
    } else {
        let mut seg = 2;
        while seg < 7 && magnitude >= (16 << seg) {
            seg += 1;
        }
        (seg << 4) | ((magnitude >> (seg - 1)) & 0x0F)
    };
    ((sign | code) as u8) ^ 0x55
}

// ---------------------------------------------------------------- tables

const fn build_decode(law: G711Law) -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = match law {
            G711Law::Ulaw => ulaw_decode_slow(i as u8),
            G711Law::Alaw => alaw_decode_slow(i as u8),
        };
        i += 1;
    }
    t
}

const fn build_ulaw_encode() -> [u8; 1 << 14] {
    let mut t = [0u8; 1 << 14];
    let mut i = 0;
    while i < (1 << 14) {
        // Index is the 14-bit two's complement pattern of `sample >> 2`.
        let x14 = ((i as i32) << 18 >> 18) as i16;
        t[i] = ulaw_encode_slow(x14);
        i += 1;
    }
    t
}

const fn build_alaw_encode() -> [u8; 1 << 12] {
    let mut t = [0u8; 1 << 12];
    let mut i = 0;
    while i < (1 << 12) {
        let x12 = ((i as i32) << 20 >> 20) as i16;
        t[i] = alaw_encode_slow(x12);
        i += 1;
    }
    t
}

static ULAW_DECODE: [i16; 256] = build_decode(G711Law::Ulaw);
static ALAW_DECODE: [i16; 256] = build_decode(G711Law::Alaw);
static ULAW_ENCODE: [u8; 1 << 14] = build_ulaw_encode();
static ALAW_ENCODE: [u8; 1 << 12] = build_alaw_encode();

/// One sample, 16-bit linear → µ-law.
#[inline]
pub fn linear_to_ulaw(sample: i16) -> u8 {
    // (sample >> 2) as u16 & 0x3FFF is the 14-bit pattern: always in bounds.
    ULAW_ENCODE[((sample >> 2) as u16 & 0x3FFF) as usize]
}

/// One sample, µ-law → 16-bit linear.
#[inline]
pub fn ulaw_to_linear(code: u8) -> i16 {
    ULAW_DECODE[code as usize]
}

/// One sample, 16-bit linear → A-law.
#[inline]
pub fn linear_to_alaw(sample: i16) -> u8 {
    ALAW_ENCODE[((sample >> 4) as u16 & 0x0FFF) as usize]
}

/// One sample, A-law → 16-bit linear.
#[inline]
pub fn alaw_to_linear(code: u8) -> i16 {
    ALAW_DECODE[code as usize]
}

// ---------------------------------------------------------------- codec

/// G.711 encoder: stateless, one octet per sample.
pub struct G711Encoder {
    law: G711Law,
}

impl G711Encoder {
    pub fn new(law: G711Law) -> G711Encoder {
        G711Encoder { law }
    }
    pub fn law(&self) -> G711Law {
        self.law
    }
}

impl Encoder for G711Encoder {
    fn encode(&mut self, frame: &AudioFrame, out: &mut [u8]) -> Result<usize, CodecError> {
        CodecError::check_rate(frame, RATE)?;
        let pcm = frame.pcm();
        let have = out.len();
        let out = out.get_mut(..pcm.len()).ok_or(CodecError::OutputTooSmall {
            need: pcm.len(),
            have,
        })?;
        let table: fn(i16) -> u8 = match self.law {
            G711Law::Ulaw => linear_to_ulaw,
            G711Law::Alaw => linear_to_alaw,
        };
        for (o, &s) in out.iter_mut().zip(pcm) {
            *o = table(s);
        }
        Ok(pcm.len())
    }
}

/// G.711 decoder with waveform concealment (`WaveformPlc`).
pub struct G711Decoder {
    law: G711Law,
    plc: WaveformPlc,
}

impl G711Decoder {
    pub fn new(law: G711Law) -> G711Decoder {
        G711Decoder {
            law,
            plc: WaveformPlc::new(RATE),
        }
    }
    pub fn law(&self) -> G711Law {
        self.law
    }
}

impl Decoder for G711Decoder {
    fn decode(&mut self, payload: &[u8], out: &mut AudioFrame) -> Result<(), CodecError> {
        if payload.is_empty() {
            return Err(CodecError::EmptyPayload);
        }
        if payload.len() > FRAME_SAMPLES {
            return Err(CodecError::PayloadTooLong { len: payload.len() });
        }
        let table = match self.law {
            G711Law::Ulaw => &ULAW_DECODE,
            G711Law::Alaw => &ALAW_DECODE,
        };
        out.rate = RATE;
        out.len = payload.len();
        for (s, &c) in out.pcm_mut().iter_mut().zip(payload) {
            *s = table[c as usize];
        }
        self.plc.good_frame(out.pcm_mut());
        Ok(())
    }

    fn conceal(&mut self, out: &mut AudioFrame) {
        out.rate = RATE;
        out.len = FRAME_SAMPLES;
        self.plc.conceal(out.pcm_mut());
    }
}
