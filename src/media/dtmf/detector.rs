//! In-band DTMF receiver meeting ITU-T Q.24 (the "Q.24 ¶" references below are to its
//! §2/§3 receiver requirements: frequency tolerance, power levels, twist, signal/pause
//! durations, talk-off).
//!
//! Owns: per-block tone decisions and the digit timing state machine; `detect_pcm` for the CLI.
//! Must not touch: resampling or decoding (callers hand 8 kHz PCM; `switchboard dtmf FILE`
//! decodes and resamples elsewhere), the merging of sources (`merge`).
//!
//! Block length 102 samples (12.75 ms) at 8 kHz, chosen because:
//! - its 78 Hz resolution separates the closest DTMF tones (697/770 Hz, 73 Hz apart) by more
//!   than 20 dB of leakage while keeping the ±1.5 % deviations inside the main lobe (≤ 1.4 dB
//!   loss at 1633 Hz);
//! - a 40 ms tone (Q.24 minimum, 320 samples) always contains two whole blocks (2 × 102 + 101
//!   ≤ 320), and so does a 40 ms pause, so "two consecutive equal blocks" accepts every 40 ms
//!   tone and sees every 40 ms pause (with check 4 below, tones under 20.4 ms never pass);
//! - it is even, so the half-block phase comparison in `bins` splits it exactly.
//!
//! Per block, a key is a *hit* only if all of these hold (each guards against a talk-off mode):
//! 1. both strongest tones are above `MIN_TONE_POWER` (−38 dBm0 each; Q.24 asks for operation
//!    down to −26 dBm0 per tone, the margin covers line loss);
//! 2. twist: the high tone is at most 4 dB above the low one (reverse twist) and the low tone at
//!    most 8 dB above the high one (normal/forward twist: lines attenuate the high group);
//! 3. relative peak: every other tone of the same group is ≥ 8 dB below the winner;
//! 4. the two tones carry ≥ half the block's power (speech and music spread theirs), and
//!    ≥ 60 % of each half block's: a block the tone only partly fills fails, so a tone must
//!    fill two blocks almost wholly — under 20.4 ms (2 × 82 samples) it never does;
//! 5. the column tone's second harmonic is ≥ 15 dB below it (voiced speech is harmonic-rich,
//!    DTMF is not);
//! 6. each tone's measured frequency is within 2.5 % of nominal (halfway between Q.24's
//!    ±1.5 % must-accept and ±3.5 % must-reject).
//!
//! A digit starts when two consecutive blocks hit the same key (reported start: the first of
//! them) and ends after two consecutive blocks without it. Digits are reported once, when they
//! end, with their duration.

use std::collections::VecDeque;

use thiserror::Error;

use super::bins::{col_bin, harmonic_bin, row_bin, BlockResult, ToneBank, BLOCK, COLS, ROWS};
use super::event::{Digit, DtmfEvent, DtmfSource, KEYPAD};

pub use super::bins::RATE;

/// Peak amplitude of a 0 dBm0 sine in 16-bit linear PCM (G.711: +3.14 dBm0 is full scale).
const DBM0_PEAK: f32 = 22_826.0;

const fn db(x: f32) -> f32 {
    // const-friendly 10^(x/10) for the few fixed thresholds below (x ≤ 20): exp via series.
    let y = x * 0.230_258_5; // ln(10)/10
    let mut term = 1.0;
    let mut sum = 1.0;
    let mut i = 1;
    while i < 40 {
        term = term * y / i as f32;
        sum += term;
        i += 1;
    }
    sum
}

/// Mean power of a sine at `dbm0`.
fn dbm0_power(dbm0: f32) -> f32 {
    let a = DBM0_PEAK * 10f32.powf(dbm0 / 20.0);
    a * a / 2.0
}

const MIN_TONE_DBM0: f32 = -38.0;
const REVERSE_TWIST: f32 = db(4.0);
const NORMAL_TWIST: f32 = db(8.0);
const RELATIVE_PEAK: f32 = db(8.0);
const MIN_TONE_SHARE: f32 = 0.5;
const MIN_HALF_TONE_SHARE: f32 = 0.6;
const HARMONIC_REJECT: f32 = db(15.0);
const MAX_DEVIATION: f32 = 0.025;
/// Blocks without the key that end a digit (2 × 12.75 ms: any 40 ms pause contains two).
const END_MISSES: u8 = 2;
/// Events buffered between polls; at most one digit can end per block, so a caller polling
/// after every 20 ms frame never needs more than 2.
const QUEUE: usize = 16;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum DetectorError {
    /// The detector works on 8 kHz PCM only; resample (with a low-pass) before.
    #[error("DTMF detection needs 8000 Hz audio, got {0} Hz")]
    UnsupportedRate(u32),
}

struct Active {
    digit: Digit,
    start: u64,
    /// Sample index just past the last block that hit this digit.
    last_hit_end: u64,
    misses: u8,
}

/// Sans-IO in-band DTMF receiver over 8 kHz PCM. No allocation after `new`.
pub struct DtmfDetector {
    bank: ToneBank,
    min_power: f32,
    /// Sample index of the first sample of the block being accumulated.
    block_start: u64,
    /// Previous block's hit and the start of the run of equal hits it belongs to.
    last_hit: Option<Digit>,
    run_start: u64,
    active: Option<Active>,
    events: VecDeque<DtmfEvent>,
}

impl Default for DtmfDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl DtmfDetector {
    pub fn new() -> DtmfDetector {
        DtmfDetector {
            bank: ToneBank::new(),
            min_power: dbm0_power(MIN_TONE_DBM0),
            block_start: 0,
            last_hit: None,
            run_start: 0,
            active: None,
            events: VecDeque::with_capacity(QUEUE),
        }
    }

    /// Feeds 8 kHz mono PCM (any length; blocks straddle calls).
    pub fn process(&mut self, pcm: &[i16]) {
        for &x in pcm {
            if self.bank.push(x) {
                let r = self.bank.finish();
                let hit = classify(&r, self.min_power);
                self.step(hit);
                self.block_start += BLOCK as u64;
            }
        }
    }

    /// The next finished digit, if any.
    pub fn poll_event(&mut self) -> Option<DtmfEvent> {
        self.events.pop_front()
    }

    /// The digit being received right now and its start sample (for barge-in before release).
    pub fn current(&self) -> Option<(Digit, u64)> {
        self.active.as_ref().map(|a| (a.digit, a.start))
    }

    /// Samples consumed so far.
    pub fn position(&self) -> u64 {
        self.block_start + self.bank.len() as u64
    }

    /// Ends a digit still sounding at the end of the input (end of file, end of call).
    pub fn flush(&mut self) {
        if let Some(a) = self.active.take() {
            self.emit(a);
        }
    }

    fn step(&mut self, hit: Option<Digit>) {
        let block_end = self.block_start + BLOCK as u64;
        let confirmed = hit.is_some() && hit == self.last_hit;
        let run_start = if hit == self.last_hit {
            self.run_start
        } else {
            self.block_start
        };
        match self.active.as_mut() {
            Some(a) if hit == Some(a.digit) => {
                a.misses = 0;
                a.last_hit_end = block_end;
            }
            Some(a) => {
                a.misses += 1;
                // A different key held for two blocks replaces this one at once; otherwise the
                // key ends after END_MISSES blocks of something else (Q.24 pause ≥ 40 ms).
                if confirmed || a.misses >= END_MISSES {
                    if let Some(done) = self.active.take() {
                        self.emit(done);
                    }
                }
            }
            None => {}
        }
        if self.active.is_none() && confirmed {
            if let Some(digit) = hit {
                self.active = Some(Active {
                    digit,
                    start: run_start,
                    last_hit_end: block_end,
                    misses: 0,
                });
            }
        }
        self.last_hit = hit;
        self.run_start = run_start;
    }

    fn emit(&mut self, a: Active) {
        if self.events.len() == QUEUE {
            // Caller is not polling; drop the oldest rather than grow (no allocation per block).
            self.events.pop_front();
        }
        self.events.push_back(DtmfEvent {
            digit: a.digit,
            start: a.start,
            duration: u32::try_from(a.last_hit_end.saturating_sub(a.start)).unwrap_or(u32::MAX),
            rate: RATE,
            volume: None,
            source: DtmfSource::InBand,
        });
    }
}

/// Applies the six per-block checks listed in the module doc.
fn classify(r: &BlockResult, min_power: f32) -> Option<Digit> {
    let strongest = |bins: [usize; 4]| -> (usize, f32, f32) {
        let mut best = 0;
        for i in 1..4 {
            if r.bins[bins[i]].power > r.bins[bins[best]].power {
                best = i;
            }
        }
        let p = r.bins[bins[best]].power;
        let second = (0..4)
            .filter(|&i| i != best)
            .map(|i| r.bins[bins[i]].power)
            .fold(0.0, f32::max);
        (best, p, second)
    };
    let (row, pr, pr2) = strongest([row_bin(0), row_bin(1), row_bin(2), row_bin(3)]);
    let (col, pc, pc2) = strongest([col_bin(0), col_bin(1), col_bin(2), col_bin(3)]);
    let ok = pr >= min_power
        && pc >= min_power
        && pc <= pr * REVERSE_TWIST
        && pr <= pc * NORMAL_TWIST
        && pr2 * RELATIVE_PEAK <= pr
        && pc2 * RELATIVE_PEAK <= pc
        && pr + pc >= MIN_TONE_SHARE * r.power
        && (0..2).all(|h| {
            let tone = r.bins[row_bin(row)].half_power[h] + r.bins[col_bin(col)].half_power[h];
            tone >= MIN_HALF_TONE_SHARE * r.half_power[h]
        })
        && r.bins[harmonic_bin(col)].power * HARMONIC_REJECT <= pc
        && r.bins[row_bin(row)].deviation_hz.abs() <= MAX_DEVIATION * ROWS[row]
        && r.bins[col_bin(col)].deviation_hz.abs() <= MAX_DEVIATION * COLS[col];
    ok.then_some(KEYPAD[row][col])
}

/// Runs a fresh detector over a whole signal of decoded mono PCM at 8 kHz and returns
/// `(start seconds, key)` per digit — what `switchboard dtmf FILE` prints as `0.200 5`.
pub fn detect_pcm(pcm: &[i16], rate: u32) -> Result<Vec<(f64, char)>, DetectorError> {
    if rate != RATE {
        return Err(DetectorError::UnsupportedRate(rate));
    }
    let mut det = DtmfDetector::new();
    let mut out = Vec::new();
    // 20 ms chunks, as the media path would feed it (DESIGN §3).
    for chunk in pcm.chunks(160) {
        det.process(chunk);
        while let Some(ev) = det.poll_event() {
            out.push((ev.start_secs(), ev.digit.to_char()));
        }
    }
    det.flush();
    while let Some(ev) = det.poll_event() {
        out.push((ev.start_secs(), ev.digit.to_char()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Q.23 tone pair at `level` dBm0 per tone, `on`/`off` ms, after 100 ms of silence.
    fn tones(keys: &str, level: f32, twist: f32, dev: f32, on: usize, off: usize) -> Vec<i16> {
        let mut pcm = vec![0i16; 800];
        let al = DBM0_PEAK * 10f32.powf(level / 20.0);
        let ah = DBM0_PEAK * 10f32.powf((level + twist) / 20.0);
        for k in keys.chars() {
            let d = Digit::from_char(k).expect("test key");
            let (r, c) = (0..16)
                .map(|i| (i / 4, i % 4))
                .find(|&(r, c)| KEYPAD[r][c] == d)
                .expect("on keypad");
            let (fl, fh) = (ROWS[r] * (1.0 + dev), COLS[c] * (1.0 + dev));
            for i in 0..on * 8 {
                let t = i as f32 / 8000.0;
                let w = std::f32::consts::TAU;
                pcm.push((al * (w * fl * t).sin() + ah * (w * fh * t).sin()) as i16);
            }
            pcm.extend(std::iter::repeat_n(0, off * 8));
        }
        pcm.extend(std::iter::repeat_n(0, 800));
        pcm
    }

    fn keys(pcm: &[i16]) -> String {
        detect_pcm(pcm, 8000)
            .expect("8 kHz")
            .iter()
            .map(|(_, k)| *k)
            .collect()
    }

    const ALL: &str = "123A456B789C*0#D";

    #[test]
    fn all_keys_at_q24_limits() {
        assert_eq!(keys(&tones(ALL, -10.0, 0.0, 0.0, 50, 50)), ALL);
        assert_eq!(keys(&tones(ALL, -26.0, 0.0, 0.0, 40, 40)), ALL);
        assert_eq!(keys(&tones(ALL, -3.0, 0.0, 0.0, 40, 40)), ALL);
        assert_eq!(keys(&tones(ALL, -10.0, 3.5, 0.0, 50, 50)), ALL);
        assert_eq!(keys(&tones(ALL, -6.0, -7.5, 0.0, 50, 50)), ALL);
        assert_eq!(keys(&tones(ALL, -10.0, 0.0, 0.015, 50, 50)), ALL);
        assert_eq!(keys(&tones(ALL, -10.0, 0.0, -0.015, 50, 50)), ALL);
    }

    #[test]
    fn rejects_out_of_spec() {
        assert_eq!(keys(&tones(ALL, -10.0, 0.0, 0.035, 50, 50)), "");
        assert_eq!(keys(&tones(ALL, -10.0, 0.0, -0.035, 50, 50)), "");
        assert_eq!(keys(&tones(ALL, -10.0, 5.5, 0.0, 50, 50)), "");
        assert_eq!(keys(&tones(ALL, -6.0, -9.5, 0.0, 50, 50)), "");
        assert_eq!(keys(&tones(ALL, -10.0, 0.0, 0.0, 20, 50)), "");
        assert_eq!(keys(&tones(ALL, -50.0, 0.0, 0.0, 50, 50)), "");
    }

    #[test]
    fn start_time_and_duration() {
        let pcm = tones("5", -10.0, 0.0, 0.0, 100, 100);
        let mut det = DtmfDetector::new();
        det.process(&pcm);
        let ev = det.poll_event().expect("one digit");
        assert_eq!(ev.digit, Digit::D5);
        // Tone starts at sample 800; the first whole block starts within one block of it.
        assert!(
            ev.start >= 800 && ev.start < 800 + BLOCK as u64,
            "{}",
            ev.start
        );
        assert!(
            (ev.duration_ms() as i32 - 100).abs() <= 26,
            "{}",
            ev.duration_ms()
        );
        assert!(det.poll_event().is_none());
    }

    #[test]
    fn repeated_key_after_pause_is_two_digits_and_rate_is_checked() {
        assert_eq!(keys(&tones("55", -10.0, 0.0, 0.0, 40, 40)), "55");
        assert_eq!(
            detect_pcm(&[], 16000),
            Err(DetectorError::UnsupportedRate(16000))
        );
    }
}
