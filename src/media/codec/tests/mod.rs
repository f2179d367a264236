//! Tests of the codec module: conformance (G.711 tables, G.722 ITU-T
//! test sequences), round trips, concealment, Opus FEC/PLC, transcoding.
//! Shared signal helpers live here.

mod g711;
mod g722;
mod opus;
mod transcode;

use crate::media::AudioFrame;
use std::f64::consts::PI;

/// `n` samples of a sine at `freq` Hz, peak `amplitude`, starting at sample
/// `start` (so consecutive frames join without a phase jump).
pub(super) fn sine(rate: u32, freq: f64, amplitude: f64, start: usize, n: usize) -> Vec<i16> {
    (start..start + n)
        .map(|i| (amplitude * (2.0 * PI * freq * i as f64 / f64::from(rate)).sin()).round() as i16)
        .collect()
}

/// A frame of that sine, frame number `index`.
pub(super) fn sine_frame(rate: u32, freq: f64, amplitude: f64, index: usize) -> AudioFrame {
    let n = crate::media::samples_per_frame(rate);
    let mut f = AudioFrame::silence(rate);
    f.fill(rate, &sine(rate, freq, amplitude, index * n, n));
    f
}

/// Power of `freq` in `x` by the Goertzel algorithm, normalised so a sine
/// of peak A gives about A²/4·N² / N² = A²/4.
pub(super) fn goertzel(x: &[i16], rate: u32, freq: f64) -> f64 {
    let w = 2.0 * PI * freq / f64::from(rate);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &v in x {
        let s0 = f64::from(v) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    power / (x.len() as f64 * x.len() as f64)
}

/// SNR in dB of `y` against reference `x`, after finding the lag (0..=max_lag)
/// that best aligns them (codecs delay the signal).
pub(super) fn snr_db(x: &[i16], y: &[i16], max_lag: usize) -> (f64, usize) {
    let mut best = (f64::MIN, 0);
    for lag in 0..=max_lag {
        let n = x.len().min(y.len().saturating_sub(lag));
        let (mut sig, mut err) = (0.0f64, 0.0f64);
        for i in 0..n {
            let a = f64::from(x[i]);
            let b = f64::from(y[i + lag]);
            sig += a * a;
            err += (a - b) * (a - b);
        }
        let snr = 10.0 * (sig / err.max(1e-9)).log10();
        if snr > best.0 {
            best = (snr, lag);
        }
    }
    best
}

pub(super) fn rms(x: &[i16]) -> f64 {
    (x.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / x.len().max(1) as f64).sqrt()
}
