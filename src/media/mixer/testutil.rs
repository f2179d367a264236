//! Test helpers shared by the mixer and recorder tests: tone generation and single-bin detection.

use crate::media::{samples_per_frame, AudioFrame};

/// Frame `n` of a continuous sine of `freq` Hz at `amp` peak.
pub fn tone_frame(rate: u32, freq: f32, amp: f32, n: u64) -> AudioFrame {
    let mut f = AudioFrame::silence(rate);
    let spf = samples_per_frame(rate) as u64;
    for (i, s) in f.pcm_mut().iter_mut().enumerate() {
        let t = (n * spf + i as u64) as f32 / rate as f32;
        *s = (amp * (std::f32::consts::TAU * freq * t).sin()) as i16;
    }
    f
}

/// Goertzel power of `freq` in `pcm`, normalised to the amplitude of a sine at that frequency
/// (a full-scale-A sine yields about A). ITU-T Q.24-style single-bin detection, as DTMF detectors do.
pub fn goertzel_amp(pcm: &[i16], rate: u32, freq: f32) -> f32 {
    let w = std::f32::consts::TAU * freq / rate as f32;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    for &x in pcm {
        let s0 = f32::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    2.0 * power.max(0.0).sqrt() / pcm.len() as f32
}
