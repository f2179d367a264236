//! Waveform packet-loss concealment for the sample codecs (G.711, G.722).
//!
//! Owns: the history of decoded audio, pitch estimation and the synthetic
//! signal played while packets are missing.
//! Must not touch: codec state (the caller decodes; we only see PCM), timing
//! (the jitter buffer decides when a frame is lost).
//!
//! Method: a simplified ITU-T G.711 Appendix I. On the first lost frame we
//! estimate the pitch period from the last 10 ms of history (normalised
//! autocorrelation, lags 5–15 ms, as Appendix I's 40–120 samples at 8 kHz)
//! and repeat the last period. The first 10 ms of an erasure are played at
//! full level, then attenuated linearly by 20 % per 10 ms, reaching silence
//! after 60 ms (Appendix I §I.2.4). When real audio returns, its first 4 ms
//! (plus 4 ms per further 10 ms lost, at most 10 ms) are cross-faded with the
//! continued synthetic signal so the splice does not click (§I.2.7).
//! Simplifications against Appendix I: one pitch period is repeated for the
//! whole erasure (Appendix I widens to 2 then 3 periods) and there is no
//! 1/4-period overlap-add at the start of the erasure. Everything is fixed
//! arrays: no allocation.

/// Highest rate the concealment handles (G.722's 16 kHz).
const PLC_MAX_RATE: usize = 16_000;
/// History kept: enough for a 10 ms window plus the longest (15 ms) lag.
const HISTORY_MS: usize = 40;
const HISTORY_MAX: usize = PLC_MAX_RATE * HISTORY_MS / 1000;
/// Longest pitch period: 15 ms.
const PITCH_MAX: usize = PLC_MAX_RATE * 15 / 1000;

/// Repeat-last-pitch-period concealment (see the module comment).
pub struct WaveformPlc {
    rate: usize,
    /// Last `history_len` samples played, oldest first.
    history: [i16; HISTORY_MAX],
    history_len: usize,
    /// The pitch period being repeated (copied at the start of an erasure).
    period: [i16; PITCH_MAX],
    pitch: usize,
    /// Position inside `period` of the next synthetic sample.
    pos: usize,
    /// Samples synthesised in the current erasure; 0 when not concealing.
    lost: usize,
}

impl WaveformPlc {
    /// `rate` is clamped to 16 kHz, the highest sample codec rate.
    pub fn new(rate: u32) -> WaveformPlc {
        let rate = (rate as usize).clamp(8000, PLC_MAX_RATE);
        WaveformPlc {
            rate,
            history: [0; HISTORY_MAX],
            history_len: rate * HISTORY_MS / 1000,
            period: [0; PITCH_MAX],
            pitch: rate * 5 / 1000,
            pos: 0,
            lost: 0,
        }
    }

    /// True while an erasure is being concealed.
    pub fn concealing(&self) -> bool {
        self.lost > 0
    }

    /// Feeds a frame of real decoded audio. After an erasure, its start is
    /// cross-faded in place with the continued synthetic signal.
    pub fn good_frame(&mut self, pcm: &mut [i16]) {
        if self.lost > 0 {
            // §I.2.7: 4 ms, plus 4 ms per extra 10 ms of erasure, at most 10 ms.
            let extra_tens = (self.lost * 1000 / self.rate).saturating_sub(10) / 10;
            let overlap_ms = (4 + 4 * extra_tens).min(10);
            let n = (self.rate * overlap_ms / 1000).min(pcm.len());
            for (i, s) in pcm.iter_mut().take(n).enumerate() {
                let synth = i64::from(self.next_synthetic());
                let real = i64::from(*s);
                let (i, n) = (i as i64, n as i64);
                *s = ((synth * (n - i) + real * i) / n) as i16;
            }
            self.lost = 0;
        }
        self.remember(pcm);
    }

    /// Writes one concealment frame into `out`.
    pub fn conceal(&mut self, out: &mut [i16]) {
        if self.lost == 0 {
            self.start_erasure();
        }
        for s in out.iter_mut() {
            *s = self.next_synthetic();
        }
        self.remember(out);
    }

    fn start_erasure(&mut self) {
        self.pitch = self.estimate_pitch();
        let h = &self.history[..self.history_len];
        self.period[..self.pitch].copy_from_slice(&h[h.len() - self.pitch..]);
        self.pos = 0;
    }

    /// One synthetic sample with the Appendix I attenuation applied.
    fn next_synthetic(&mut self) -> i16 {
        let ms_x10 = self.lost * 10_000 / self.rate; // tenths of a ms into the erasure
                                                     // Gain in 1/1000: 1000 up to 10 ms, then −20 % per 10 ms, 0 at 60 ms.
        let gain = if ms_x10 < 100 {
            1000
        } else {
            1000usize.saturating_sub((ms_x10 - 100) * 2)
        };
        let v = i32::from(self.period[self.pos]) * gain as i32 / 1000;
        self.pos = (self.pos + 1) % self.pitch.max(1);
        self.lost = self.lost.saturating_add(1);
        v as i16
    }

    /// Normalised autocorrelation peak over lags of 5–15 ms.
    fn estimate_pitch(&self) -> usize {
        let h = &self.history[..self.history_len];
        let window = self.rate / 100;
        let (min_lag, max_lag) = (self.rate * 5 / 1000, self.rate * 15 / 1000);
        let start = h.len() - window;
        let mut best = (max_lag, f64::MIN);
        for lag in min_lag..=max_lag {
            let (mut corr, mut energy) = (0f64, 0f64);
            for n in start..h.len() {
                let a = f64::from(h[n]);
                let b = f64::from(h[n - lag]);
                corr += a * b;
                energy += b * b;
            }
            // corr·|corr|/energy keeps the sign (a negative peak is no pitch).
            let score = if energy > 0.0 {
                corr * corr.abs() / energy
            } else {
                0.0
            };
            if score > best.1 {
                best = (lag, score);
            }
        }
        best.0
    }

    /// Appends `pcm` to the history, dropping the oldest samples.
    fn remember(&mut self, pcm: &[i16]) {
        let len = self.history_len;
        let h = &mut self.history[..len];
        if pcm.len() >= len {
            h.copy_from_slice(&pcm[pcm.len() - len..]);
        } else {
            h.copy_within(pcm.len().., 0);
            h[len - pcm.len()..].copy_from_slice(pcm);
        }
    }
}
