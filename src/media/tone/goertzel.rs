//! Test helpers shared by the media tests of this area: a Goertzel single-bin
//! DFT (G. Goertzel, "An algorithm for the evaluation of finite trigonometric
//! series", 1958) to measure the level of one frequency, and RMS.

/// Amplitude (peak, in sample units) of the `freq` Hz component of `pcm`
/// sampled at `rate` Hz. A Hann window keeps leakage from nearby tones low;
/// the factor 4/N undoes the window's 0.5 coherent gain and the one-sided
/// spectrum's 1/2.
pub fn amplitude(pcm: &[i16], rate: u32, freq: f64) -> f64 {
    let n = pcm.len();
    if n < 2 {
        return 0.0;
    }
    let w = 2.0 * std::f64::consts::PI * freq / f64::from(rate);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for (i, &x) in pcm.iter().enumerate() {
        let hann = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / (n - 1) as f64).cos();
        let s = f64::from(x) * hann + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    4.0 * power.max(0.0).sqrt() / n as f64
}

/// Root mean square of `pcm`.
pub fn rms(pcm: &[i16]) -> f64 {
    if pcm.is_empty() {
        return 0.0;
    }
    (pcm.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / pcm.len() as f64).sqrt()
}

/// `secs` seconds of a `freq` Hz sine at peak `amp`, sampled at `rate`.
pub fn sine(rate: u32, freq: f64, amp: f64, secs: f64) -> Vec<i16> {
    let n = (f64::from(rate) * secs) as usize;
    (0..n).map(|i| (amp * (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin()) as i16).collect()
}
