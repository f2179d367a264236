//! The streaming per-frame filter behind [`super::Resampler`]: a rational
//! polyphase FIR (up by `L`, low-pass, down by `M`, computing only the
//! output samples that survive the decimation).
//!
//! Why not rubato's `Fft` here (it still does whole clips, see
//! `resample_all`): with a 20 ms block its planned FFTs, scratch and
//! overlap buffers cost about 21 KB per direction, and an IVR caller's leg
//! holds two or three of them (8↔16 kHz, plus fax). This filter keeps a
//! coefficient table and a short history, about 1.5 KB for 8↔16 kHz, at a
//! similar CPU cost and a third of the delay.
//!
//! Design: Kaiser-windowed sinc at the common rate `lcm(from, to)`, pass
//! band to 42.5 % of the lower rate (3.4 kHz at 8 kHz, all a G.711 modem
//! or DTMF tone uses), stop band from its Nyquist frequency, 70 dB down.
//! Linear phase, so fax modems see a constant group delay; the delay is
//! rounded up to a whole output sample so callers can line streams up.

/// Stop-band attenuation in dB.
const ATTENUATION_DB: f64 = 70.0;
/// Pass-band edge as a fraction of the lower of the two rates.
const PASS_EDGE: f64 = 0.425;
/// Stop-band edge (the lower rate's Nyquist frequency).
const STOP_EDGE: f64 = 0.5;

pub(super) struct Polyphase {
    up: usize,
    down: usize,
    /// Taps per phase.
    taps: usize,
    /// `up` rows of `taps` coefficients, each row reversed so one output
    /// sample is a dot product with a contiguous slice of `history`.
    coeffs: Box<[f32]>,
    /// The last `taps - 1` input samples of the previous frame, then the
    /// current frame.
    history: Box<[f32]>,
    /// Group delay in output samples.
    delay: usize,
}

impl Polyphase {
    /// A filter from `from` Hz to `to` Hz for frames of `in_len` input
    /// samples (the caller has checked the rates; `from != to`).
    pub(super) fn new(from: u32, to: u32, in_len: usize) -> Polyphase {
        let g = gcd(from, to);
        let (up, down) = ((to / g) as usize, (from / g) as usize);
        let common = f64::from(from) * up as f64;
        let low = f64::from(from.min(to));
        let transition = (STOP_EDGE - PASS_EDGE) * low / common;
        let cutoff = (PASS_EDGE + STOP_EDGE) / 2.0 * low / common;
        // Kaiser's length estimate, then rounded up so the centre sits on a
        // whole output sample: centre = delay * down at the common rate.
        let min_len = ((ATTENUATION_DB - 7.95) / (14.357 * transition)).ceil() as usize + 1;
        let delay = (min_len - 1).div_ceil(2 * down);
        let len = 2 * delay * down + 1;
        let taps = len.div_ceil(up);
        let centre = (delay * down) as f64;
        let beta = 0.1102 * (ATTENUATION_DB - 8.7);
        let mut h: Vec<f64> = (0..taps * up)
            .map(|k| {
                if k >= len {
                    return 0.0;
                }
                let t = k as f64 - centre;
                let w = bessel_i0(beta * (1.0 - (t / centre).powi(2)).max(0.0).sqrt()) / bessel_i0(beta);
                2.0 * cutoff * sinc(2.0 * cutoff * t) * w
            })
            .collect();
        // Unity gain at DC after interpolation: each phase sums to about 1.
        let sum: f64 = h.iter().sum();
        h.iter_mut().for_each(|c| *c *= up as f64 / sum);
        let mut coeffs = vec![0f32; up * taps].into_boxed_slice();
        for p in 0..up {
            for j in 0..taps {
                coeffs[p * taps + (taps - 1 - j)] = h[p + j * up] as f32;
            }
        }
        Polyphase { up, down, taps, coeffs, history: vec![0f32; taps - 1 + in_len].into_boxed_slice(), delay }
    }

    pub(super) fn delay_samples(&self) -> usize {
        self.delay
    }

    pub(super) fn reset(&mut self) {
        self.history.fill(0.0);
    }

    /// Filters one frame: `input` is one frame of samples (zero-padded by the
    /// caller if short), `out` receives `input.len() * up / down` samples.
    pub(super) fn process(&mut self, input: impl Iterator<Item = f32>, out: &mut [i16]) {
        let keep = self.taps - 1;
        for (dst, s) in self.history[keep..].iter_mut().zip(input) {
            *dst = s;
        }
        for (n, o) in out.iter_mut().enumerate() {
            let u = n * self.down;
            let (i, p) = (u / self.up, u % self.up);
            let row = &self.coeffs[p * self.taps..(p + 1) * self.taps];
            *o = super::to_i16(dot(row, &self.history[i..i + self.taps]));
        }
        let len = self.history.len();
        self.history.copy_within(len - keep.., 0);
    }
}

/// Eight running sums, so the compiler can keep them in vector registers
/// (a single sum is a serial dependency it may not reorder).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let tail: f32 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

fn sinc(x: f64) -> f64 {
    if x == 0.0 {
        1.0
    } else {
        let px = std::f64::consts::PI * x;
        px.sin() / px
    }
}

/// Zeroth-order modified Bessel function of the first kind (power series;
/// converges fast for the β ≈ 7 a 70 dB Kaiser window uses).
fn bessel_i0(x: f64) -> f64 {
    let (mut sum, mut term, half) = (1.0, 1.0, x / 2.0);
    for k in 1..64 {
        term *= half / k as f64;
        let t2 = term * term;
        sum += t2;
        if t2 < sum * 1e-17 {
            break;
        }
    }
    sum
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}
