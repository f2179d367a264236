//! Test audio: write tones, measure tones. Pure Rust (hound), no sox needed.
//!
//! Measurements work on mono samples normalised to [-1, 1]. Leading
//! silence (and jitter-buffer start-up zeros) is skipped before analysis.
//! Power at a frequency is measured with the Goertzel algorithm evaluated
//! at the exact frequency (not a DFT bin), block by block, so that gaps or
//! phase jumps from packet loss only spoil the blocks they fall in.

use std::path::Path;

use super::{Error, Result};

/// Telephony rate used by every generated file.
pub const RATE: u32 = 8000;

/// Decoded audio: mono samples in [-1, 1] and the sample rate.
#[derive(Debug, Clone)]
pub struct Audio {
    pub samples: Vec<f64>,
    pub rate: u32,
}

impl Audio {
    pub fn duration_secs(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.rate)
    }
}

/// Write an 8 kHz mono 16-bit WAV holding the sum of `freqs` (Hz), each at
/// `amplitude / freqs.len()` (full scale = 1.0), lasting `secs`.
pub fn write_tones(path: &Path, freqs: &[f64], secs: f64, amplitude: f64) -> Result<()> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec)
        .map_err(|e| Error::new(format!("create {}: {e}", path.display())))?;
    let n = (secs * f64::from(RATE)).round() as usize;
    let each = if freqs.is_empty() {
        0.0
    } else {
        amplitude / freqs.len() as f64
    };
    for i in 0..n {
        let t = i as f64 / f64::from(RATE);
        let v: f64 = freqs
            .iter()
            .map(|f| each * (2.0 * std::f64::consts::PI * f * t).sin())
            .sum();
        let s = (v.clamp(-1.0, 1.0) * f64::from(i16::MAX)).round() as i16;
        w.write_sample(s)
            .map_err(|e| Error::new(format!("write {}: {e}", path.display())))?;
    }
    w.finalize()
        .map_err(|e| Error::new(format!("finalize {}: {e}", path.display())))
}

/// A single sine tone, 8 kHz mono s16.
pub fn write_tone(path: &Path, freq: f64, secs: f64, amplitude: f64) -> Result<()> {
    write_tones(path, &[freq], secs, amplitude)
}

/// Digital silence, 8 kHz mono s16.
pub fn write_silence(path: &Path, secs: f64) -> Result<()> {
    write_tones(path, &[], secs, 0.0)
}

/// Read any PCM/float WAV hound understands, mixed down to mono.
pub fn read_wav(path: &Path) -> Result<Audio> {
    let mut r = hound::WavReader::open(path)
        .map_err(|e| Error::new(format!("open {}: {e}", path.display())))?;
    let spec = r.spec();
    let ch = usize::from(spec.channels.max(1));
    let interleaved: Vec<f64> = match spec.sample_format {
        hound::SampleFormat::Int => {
            let scale = f64::from(1u32 << (spec.bits_per_sample - 1));
            r.samples::<i32>()
                .map(|s| s.map(|v| f64::from(v) / scale))
                .collect::<std::result::Result<_, _>>()
        }
        hound::SampleFormat::Float => r
            .samples::<f32>()
            .map(|s| s.map(f64::from))
            .collect::<std::result::Result<_, _>>(),
    }
    .map_err(|e| Error::new(format!("read {}: {e}", path.display())))?;
    let samples = interleaved
        .chunks(ch)
        .map(|c| c.iter().sum::<f64>() / c.len() as f64)
        .collect();
    Ok(Audio {
        samples,
        rate: spec.sample_rate,
    })
}

/// Drop everything before the first 10 ms frame whose RMS exceeds
/// `threshold` (full scale 1.0; 0.01 is -40 dBFS).
pub fn trim_leading_silence(samples: &[f64], rate: u32, threshold: f64) -> &[f64] {
    let frame = (rate as usize / 100).max(1);
    let mut start = 0;
    while start < samples.len() {
        let end = (start + frame).min(samples.len());
        if rms(&samples[start..end]) > threshold {
            return &samples[start..];
        }
        start = end;
    }
    &samples[samples.len()..]
}

pub fn rms(samples: &[f64]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    (samples.iter().map(|x| x * x).sum::<f64>() / samples.len() as f64).sqrt()
}

/// |X(freq)|^2 over `samples` (Goertzel at an arbitrary, non-bin frequency).
pub fn goertzel_power(samples: &[f64], rate: u32, freq: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * freq / f64::from(rate);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in samples {
        let s0 = x + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    s1 * s1 + s2 * s2 - coeff * s1 * s2
}

/// Fraction (0..=1) of a block's energy that sits at `freq`: a pure sine at
/// `freq` gives ~1.0, a sine elsewhere or noise ~0. Computed per 50 ms
/// block after trimming leading silence (-40 dBFS); blocks quieter than
/// -50 dBFS are ignored; returns the median over the remaining blocks
/// (0.0 if none).
pub fn tone_power_ratio_samples(samples: &[f64], rate: u32, freq: f64) -> f64 {
    let samples = trim_leading_silence(samples, rate, 0.01);
    let n = (rate as usize / 20).max(16);
    let mut ratios: Vec<f64> = samples
        .chunks_exact(n)
        .filter(|b| rms(b) > 0.003)
        .map(|b| {
            let energy: f64 = b.iter().map(|x| x * x).sum();
            // For x = A sin(wt): |X|^2 ~ (A n / 2)^2 and energy ~ A^2 n / 2.
            (2.0 * goertzel_power(b, rate, freq) / (n as f64 * energy)).min(1.0)
        })
        .collect();
    median(&mut ratios)
}

/// [`tone_power_ratio_samples`] of a WAV file.
pub fn tone_power_ratio(path: &Path, freq: f64) -> Result<f64> {
    let a = read_wav(path)?;
    Ok(tone_power_ratio_samples(&a.samples, a.rate, freq))
}

/// Frequency (Hz) with the most energy between 50 Hz and Nyquist - 50, over
/// the first second of non-silent audio. Coarse pass: Hann-windowed 32 ms
/// blocks, powers summed over blocks, 5 Hz steps (the wide main lobe means
/// an off-grid tone is not missed in favour of an on-grid harmonic). Fine
/// pass: the whole window, 0.5 Hz steps within +-10 Hz. Returns 0.0 for
/// silence.
pub fn dominant_freq_samples(samples: &[f64], rate: u32) -> f64 {
    let s = trim_leading_silence(samples, rate, 0.01);
    let s = &s[..s.len().min(rate as usize)];
    let block = (rate as usize * 32 / 1000).max(64);
    if s.len() < block {
        return 0.0;
    }
    let hann: Vec<f64> = (0..block)
        .map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / (block - 1) as f64).cos())
        .collect();
    let blocks: Vec<Vec<f64>> = s
        .chunks_exact(block)
        .map(|b| b.iter().zip(&hann).map(|(x, w)| x * w).collect())
        .collect();
    let nyq = f64::from(rate) / 2.0;
    let best_of = |lo: f64, hi: f64, step: f64, power: &dyn Fn(f64) -> f64| {
        let mut best = (0.0, -1.0);
        let mut f = lo;
        while f <= hi {
            let p = power(f);
            if p > best.1 {
                best = (f, p);
            }
            f += step;
        }
        best.0
    };
    let coarse = best_of(50.0, nyq - 50.0, 5.0, &|f| {
        blocks.iter().map(|b| goertzel_power(b, rate, f)).sum()
    });
    best_of(
        (coarse - 10.0).max(1.0),
        (coarse + 10.0).min(nyq),
        0.5,
        &|f| goertzel_power(s, rate, f),
    )
}

/// [`dominant_freq_samples`] of a WAV file.
pub fn dominant_freq(path: &Path) -> Result<f64> {
    let a = read_wav(path)?;
    Ok(dominant_freq_samples(&a.samples, a.rate))
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Digits as DTMF tone pairs (ITU-T Q.23), 8 kHz mono WAV: `lead` seconds of
/// silence, then each digit for `on` seconds followed by `off` seconds.
pub fn write_dtmf(path: &Path, digits: &str, lead: f64, on: f64, off: f64, tail: f64) {
    let rate = 8000.0;
    let pair = |d: char| -> (f64, f64) {
        let (row, col) = match d {
            '1' => (0, 0), '2' => (0, 1), '3' => (0, 2), 'A' => (0, 3),
            '4' => (1, 0), '5' => (1, 1), '6' => (1, 2), 'B' => (1, 3),
            '7' => (2, 0), '8' => (2, 1), '9' => (2, 2), 'C' => (2, 3),
            '*' => (3, 0), '0' => (3, 1), '#' => (3, 2), _ => (3, 3),
        };
        ([697.0, 770.0, 852.0, 941.0][row], [1209.0, 1336.0, 1477.0, 1633.0][col])
    };
    let spec = hound::WavSpec { channels: 1, sample_rate: 8000, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    let silence = |secs: f64, w: &mut hound::WavWriter<_>| {
        for _ in 0..(secs * rate) as usize {
            w.write_sample(0i16).unwrap();
        }
    };
    silence(lead, &mut w);
    for d in digits.chars() {
        let (lo, hi) = pair(d);
        for i in 0..(on * rate) as usize {
            let t = i as f64 / rate;
            // About -10 dBm0 per tone.
            let s = 5000.0 * ((2.0 * std::f64::consts::PI * lo * t).sin() + (2.0 * std::f64::consts::PI * hi * t).sin());
            w.write_sample(s as i16).unwrap();
        }
        silence(off, &mut w);
    }
    silence(tail, &mut w);
    w.finalize().unwrap();
}
