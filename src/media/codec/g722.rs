//! ITU-T G.722 (09/2012) 7 kHz audio coding, 64 kbit/s mode 1 only, RTP
//! payload per RFC 3551 §4.5.2 (one octet per pair of 16 kHz samples, payload
//! type 9, RTP clock 8000).
//!
//! Owns: the transmit/receive QMF, the lower and higher sub-band ADPCM
//! encoders and decoders (the Recommendation's computational blocks), and
//! concealment through `WaveformPlc`.
//! Must not touch: other codecs, RTP framing.
//!
//! Written from the Recommendation's block descriptions (names follow its
//! computational blocks: QUANTL, INVQAL, LOGSCL, SCALEL, RECONS, PARREC,
//! UPPOL1/2, UPZERO, FILTEP, FILTEZ, PREDIC), checked bit-exactly against the
//! ITU-T G.722 digital test sequences (Appendix II; `tests/g722.rs`) and for
//! interoperability against FFmpeg's G.722 (checked by hand during development). All arithmetic is the
//! Recommendation's 16-bit fixed point, held in `i32` with explicit
//! saturation where the Recommendation limits a value.
//!
//! Scaling: G.722 works on 14-bit input and 15-bit sub-band signals. We feed
//! the transmit QMF 16-bit samples and shift its sums right by 14 bits
//! instead of 12, which keeps the extra input precision; the receive QMF
//! shifts by 11 to produce 16-bit output. Both ends stay interoperable: the
//! octets on the wire mean the same thing.
//!
//! Why not the `ezk-g722` crate (0.1.2): it is a line-by-line translation of
//! spandsp's C with no tests at all, its encoder/decoder return a fresh `Vec`
//! per call (an allocation per frame), and it pulls the whole `ezk` media
//! framework (ezk, ezk-audio, ezk-rtp, bytes) into our dependency tree.

use super::plc::WaveformPlc;
use super::{CodecError, Decoder, Encoder};
use crate::media::{samples_per_frame, AudioFrame};

const RATE: u32 = 16_000;
/// 16 kHz samples in 20 ms; the payload is half that in octets.
const FRAME_SAMPLES: usize = samples_per_frame(RATE);
const FRAME_OCTETS: usize = FRAME_SAMPLES / 2;

/// QMF coefficients h0..h11 (G.722 QMF coefficient table); h(23−i) = h(i).
const QMF_HALF: [i32; 12] = [3, -11, -11, 53, 12, -156, 32, 362, -210, -805, 951, 3876];

const fn qmf_coefficient(i: usize) -> i32 {
    if i < 12 {
        QMF_HALF[i]
    } else {
        QMF_HALF[23 - i]
    }
}

// Lower sub-band quantizer (QUANTL): decision levels, normalised to
// a scale factor of 2^12, and the code for each interval by sign.
const Q6: [i32; 31] = [
    0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714, 786, 858, 940,
    1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919, 0,
];
const ILN: [i32; 31] = [
    0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11,
    10, 9, 8, 7, 6, 5, 4,
];
const ILP: [i32; 31] = [
    0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39,
    38, 37, 36, 35, 34, 33, 32,
];

/// 4-bit inverse quantizer (INVQAL), indexed by the 4 MSBs of the lower
/// code: what both ends feed the lower-band predictor.
const QQ4: [i32; 16] = [
    0, -20456, -12896, -8968, -6288, -4240, -2584, -1200, 20456, 12896, 8968, 6288, 4240, 2584,
    1200, 0,
];

/// 6-bit inverse quantizer (INVQBL, mode 1), indexed by the full lower code: the
/// mode 1 decoder's output path.
const QQ6: [i32; 64] = [
    -136, -136, -136, -136, -24808, -21904, -19008, -16704, -14984, -13512, -12280, -11192, -10232,
    -9360, -8576, -7856, -7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576, -3168, -2776,
    -2400, -2032, -1688, -1360, -1040, -728, 24808, 21904, 19008, 16704, 14984, 13512, 12280,
    11192, 10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456, 4944, 4464, 4008, 3576, 3168, 2776,
    2400, 2032, 1688, 1360, 1040, 728, 432, 136, -432, -136,
];

/// LOGSCL: log scale factor multipliers, reached through RIL4.
const WL: [i32; 8] = [-60, -30, 58, 172, 334, 538, 1198, 3042];
const RL42: [usize; 16] = [0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0];

/// SCALEL/SCALEH: 2^x for x in [0, 1) in 32 steps, ×2048.
const ILB: [i32; 32] = [
    2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834,
    2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
];

// Higher sub-band (QUANTH, INVQAH, LOGSCH): 2-bit quantizer and its inverse.
const QQ2: [i32; 4] = [-7408, -1616, 7408, 1616];
const WH: [i32; 3] = [0, -214, 798];
const RH2: [usize; 4] = [2, 1, 2, 1];

#[inline]
fn sat16(x: i32) -> i32 {
    x.clamp(i16::MIN as i32, i16::MAX as i32)
}

/// Sign as the Recommendation uses it: 0 for x ≥ 0, −1 for x < 0 (the 16-bit sign bit).
#[inline]
fn sign(x: i32) -> i32 {
    x >> 15
}

/// State of one sub-band's adaptive predictor and scale factor (block 4
/// plus LOGSCL/SCALEL). Index 0 of the delay lines is "now", 1 is "one
/// sample ago" and so on, as in the Recommendation.
#[derive(Clone)]
struct Band {
    /// Signal estimate S (SL / SH), pole part SP and zero part SZ.
    s: i32,
    sp: i32,
    sz: i32,
    /// Reconstructed signal R and partial reconstruction P (index 0 is the
    /// current sample), past quantized differences D (index 1..=6 are one to
    /// six samples ago; index 0 unused so indices match the coefficients).
    r: [i32; 3],
    p: [i32; 3],
    d: [i32; 7],
    /// Pole (A) and zero (B) predictor coefficients.
    a: [i32; 3],
    b: [i32; 7],
    /// Log scale factor NB and scale factor DET.
    nb: i32,
    det: i32,
}

impl Band {
    fn new(det: i32) -> Band {
        Band {
            s: 0,
            sp: 0,
            sz: 0,
            r: [0; 3],
            p: [0; 3],
            d: [0; 7],
            a: [0; 3],
            b: [0; 7],
            nb: 0,
            det,
        }
    }

    /// LOGSCL + SCALEL for the lower band: `ril` is the 4-bit truncated code.
    fn adapt_scale_lower(&mut self, ril: usize) {
        let wl = WL[RL42[ril & 0x0F]];
        self.nb = (((self.nb * 127) >> 7) + wl).clamp(0, 18432);
        self.det = scale(self.nb, 8);
    }

    /// LOGSCH + SCALEH for the higher band.
    fn adapt_scale_higher(&mut self, ih: usize) {
        let wh = WH[RH2[ih & 0x03]];
        self.nb = (((self.nb * 127) >> 7) + wh).clamp(0, 22528);
        self.det = scale(self.nb, 10);
    }

    /// Block 4: reconstruct, adapt the pole/zero predictor with the
    /// quantized difference `dq`, and compute the next estimate `s`.
    fn predict(&mut self, dq: i32) {
        // RECONS and PARREC
        self.r[0] = sat16(self.s + dq);
        self.p[0] = sat16(self.sz + dq);

        // UPPOL2: second pole coefficient.
        let sg0 = sign(self.p[0]);
        let sg1 = sign(self.p[1]);
        let sg2 = sign(self.p[2]);
        let wd1 = sat16(self.a[1] * 4);
        let wd2 = if sg0 == sg1 { -wd1 } else { wd1 };
        let wd2 = wd2.min(32767) >> 7;
        let wd3 = if sg0 == sg2 { 128 } else { -128 };
        let wd5 = (self.a[2] * 32512) >> 15;
        let ap2 = (wd2 + wd3 + wd5).clamp(-12288, 12288);

        // UPPOL1: first pole coefficient, kept inside the stability triangle.
        let wd1 = if sg0 == sg1 { 192 } else { -192 };
        let wd2 = (self.a[1] * 32640) >> 15;
        let limit = sat16(15360 - ap2);
        let ap1 = sat16(wd1 + wd2).clamp(-limit, limit);

        // UPZERO: sixth-order zero predictor, sign-sign adaptation.
        let step = if dq == 0 { 0 } else { 128 };
        let sgd = sign(dq);
        let mut bp = [0i32; 7];
        for ((bp, &b), &d) in bp.iter_mut().zip(&self.b).zip(&self.d).skip(1) {
            let wd2 = if sign(d) == sgd { step } else { -step };
            let wd3 = (b * 32640) >> 15;
            *bp = sat16(wd2 + wd3);
        }

        // DELAYA / DELAYL: age everything by one sample.
        for i in (2..7).rev() {
            self.d[i] = self.d[i - 1];
        }
        self.d[1] = dq;
        self.b = bp;
        self.r[2] = self.r[1];
        self.r[1] = self.r[0];
        self.p[2] = self.p[1];
        self.p[1] = self.p[0];
        self.a[1] = ap1;
        self.a[2] = ap2;

        // FILTEP: pole section on past reconstructed signal.
        let wd1 = (self.a[1] * sat16(self.r[1] * 2)) >> 15;
        let wd2 = (self.a[2] * sat16(self.r[2] * 2)) >> 15;
        self.sp = sat16(wd1 + wd2);

        // FILTEZ: zero section on past quantized differences.
        let mut sz = 0;
        for i in 1..7 {
            sz += (self.b[i] * sat16(self.d[i] * 2)) >> 15;
        }
        self.sz = sat16(sz);

        // PREDIC
        self.s = sat16(self.sp + self.sz);
    }
}

/// SCALEL/SCALEH: DET = 2^(NB/2048) via the ILB table; `bias` is 8 for the
/// lower band and 10 for the higher (their different minimum scale factors).
fn scale(nb: i32, bias: i32) -> i32 {
    let mantissa = ILB[((nb >> 6) & 31) as usize];
    let shift = bias - (nb >> 11);
    let wd3 = if shift >= 0 {
        mantissa >> shift
    } else {
        mantissa << -shift
    };
    wd3 << 2
}

/// QUANTL: 6-bit lower sub-band quantizer.
fn quantize_lower(el: i32, det: i32) -> i32 {
    // Magnitude with one's complement for negatives, as the Recommendation defines WD.
    let wd = if el >= 0 { el } else { -(el + 1) };
    let mut mil = 1;
    while mil < 30 && wd >= (Q6[mil] * det) >> 12 {
        mil += 1;
    }
    if el < 0 {
        ILN[mil]
    } else {
        ILP[mil]
    }
}

/// QUANTH: 2-bit higher sub-band quantizer.
fn quantize_higher(eh: i32, det: i32) -> i32 {
    let wd = if eh >= 0 { eh } else { -(eh + 1) };
    let large = wd >= (564 * det) >> 12;
    match (eh < 0, large) {
        (true, true) => 0,
        (true, false) => 1,
        (false, true) => 2,
        (false, false) => 3,
    }
}

/// The ADPCM part of the encoder: one lower and one higher sub-band sample in,
/// one octet out (IH1 IH2 IL1..IL6, higher-band bits first).
#[derive(Clone)]
pub(crate) struct SubbandEncoder {
    lower: Band,
    higher: Band,
}

impl SubbandEncoder {
    pub(crate) fn new() -> SubbandEncoder {
        SubbandEncoder {
            lower: Band::new(32),
            higher: Band::new(8),
        }
    }

    pub(crate) fn encode(&mut self, xl: i32, xh: i32) -> u8 {
        // Lower band: SUBTRA, QUANTL, INVQAL (4-bit), LOGSCL/SCALEL, block 4.
        let el = sat16(xl - self.lower.s);
        let il = quantize_lower(el, self.lower.det);
        let ril = (il >> 2) as usize;
        let dlt = (self.lower.det * QQ4[ril]) >> 15;
        self.lower.adapt_scale_lower(ril);
        self.lower.predict(dlt);

        // Higher band: SUBTRA, QUANTH, INVQAH, LOGSCH/SCALEH, block 4.
        let eh = sat16(xh - self.higher.s);
        let ih = quantize_higher(eh, self.higher.det);
        let dh = (self.higher.det * QQ2[ih as usize]) >> 15;
        self.higher.adapt_scale_higher(ih as usize);
        self.higher.predict(dh);

        ((ih << 6) | il) as u8
    }
}

/// The ADPCM part of the decoder (mode 1): one octet in, reconstructed lower
/// and higher sub-band samples (15-bit) out.
#[derive(Clone)]
pub(crate) struct SubbandDecoder {
    lower: Band,
    higher: Band,
}

impl SubbandDecoder {
    pub(crate) fn new() -> SubbandDecoder {
        SubbandDecoder {
            lower: Band::new(32),
            higher: Band::new(8),
        }
    }

    pub(crate) fn decode(&mut self, code: u8) -> (i32, i32) {
        let il = (code & 0x3F) as usize;
        let ih = (code >> 6) as usize;

        // Lower: the 6-bit inverse quantizer makes the output, the 4-bit one
        // feeds the predictor (that is what keeps modes 2/3 decodable).
        let ril = il >> 2;
        let dlt = (self.lower.det * QQ4[ril]) >> 15;
        let dl = (self.lower.det * QQ6[il]) >> 15;
        let rl = (self.lower.s + dl).clamp(-16384, 16383);
        self.lower.adapt_scale_lower(ril);
        self.lower.predict(dlt);

        let dh = (self.higher.det * QQ2[ih]) >> 15;
        let rh = (self.higher.s + dh).clamp(-16384, 16383);
        self.higher.adapt_scale_higher(ih);
        self.higher.predict(dh);

        (rl, rh)
    }
}

/// G.722 64 kbit/s encoder: 320 samples at 16 kHz → 160 octets.
pub struct G722Encoder {
    adpcm: SubbandEncoder,
    /// Transmit QMF delay line, newest sample first.
    x: [i32; 24],
}

impl G722Encoder {
    pub fn new() -> G722Encoder {
        G722Encoder {
            adpcm: SubbandEncoder::new(),
            x: [0; 24],
        }
    }

    /// Transmit QMF: two input samples → one lower, one higher
    /// sub-band sample. xA sums the even taps over the newest sample and
    /// every second one before it, xB the odd taps; xL = xA + xB,
    /// xH = xA − xB.
    fn analyse(&mut self, earlier: i16, later: i16) -> (i32, i32) {
        self.x.copy_within(0..22, 2);
        self.x[1] = i32::from(earlier);
        self.x[0] = i32::from(later);
        let (mut xa, mut xb) = (0i32, 0i32);
        for i in 0..12 {
            xa += qmf_coefficient(2 * i) * self.x[2 * i];
            xb += qmf_coefficient(2 * i + 1) * self.x[2 * i + 1];
        }
        // 16-bit input: >> 14 gives the 15-bit sub-band scale (see top).
        (sat16((xa + xb) >> 14), sat16((xa - xb) >> 14))
    }
}

impl Default for G722Encoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Encoder for G722Encoder {
    fn encode(&mut self, frame: &AudioFrame, out: &mut [u8]) -> Result<usize, CodecError> {
        CodecError::check_rate(frame, RATE)?;
        let pcm = frame.pcm();
        if pcm.len() & 1 == 1 {
            return Err(CodecError::BadFrameLength { len: pcm.len() });
        }
        let need = pcm.len() / 2;
        let have = out.len();
        let out = out
            .get_mut(..need)
            .ok_or(CodecError::OutputTooSmall { need, have })?;
        for (o, pair) in out.iter_mut().zip(pcm.chunks_exact(2)) {
            let (xl, xh) = self.analyse(pair[0], pair[1]);
            *o = self.adpcm.encode(xl, xh);
        }
        Ok(need)
    }
}

/// G.722 64 kbit/s decoder: 160 octets → 320 samples at 16 kHz, with
/// waveform concealment. During an erasure the ADPCM state is left as it
/// was (no re-encoding of the concealed signal, unlike G.722 Appendix III);
/// the backward adaptation reconverges within a few milliseconds.
pub struct G722Decoder {
    adpcm: SubbandDecoder,
    /// Receive QMF delay lines of xd = rL − rH and xs = rL + rH, newest first.
    xd: [i32; 12],
    xs: [i32; 12],
    plc: WaveformPlc,
}

impl G722Decoder {
    pub fn new() -> G722Decoder {
        G722Decoder {
            adpcm: SubbandDecoder::new(),
            xd: [0; 12],
            xs: [0; 12],
            plc: WaveformPlc::new(RATE),
        }
    }

    /// Receive QMF: one lower and one higher sub-band sample → two
    /// output samples, the even taps on xd first, then the odd taps on xs.
    fn synthesise(&mut self, rl: i32, rh: i32) -> (i16, i16) {
        self.xd.copy_within(0..11, 1);
        self.xs.copy_within(0..11, 1);
        self.xd[0] = rl - rh;
        self.xs[0] = rl + rh;
        let (mut even, mut odd) = (0i32, 0i32);
        for i in 0..12 {
            even += qmf_coefficient(2 * i) * self.xd[i];
            odd += qmf_coefficient(2 * i + 1) * self.xs[i];
        }
        // 15-bit sub-band → 16-bit output: >> 11 (see top).
        (sat16(even >> 11) as i16, sat16(odd >> 11) as i16)
    }
}

impl Default for G722Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder for G722Decoder {
    fn decode(&mut self, payload: &[u8], out: &mut AudioFrame) -> Result<(), CodecError> {
        if payload.is_empty() {
            return Err(CodecError::EmptyPayload);
        }
        if payload.len() > FRAME_OCTETS {
            return Err(CodecError::PayloadTooLong { len: payload.len() });
        }
        out.rate = RATE;
        out.len = payload.len() * 2;
        for (pair, &code) in out.pcm_mut().chunks_exact_mut(2).zip(payload) {
            let (rl, rh) = self.adpcm.decode(code);
            let (a, b) = self.synthesise(rl, rh);
            pair[0] = a;
            pair[1] = b;
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
