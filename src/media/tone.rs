//! Call-progress tones: per-country tone plans and a generator port.
//!
//! Owns: the tone tables ([`TonePlan`] for US, UK, DE, CN), [`ToneSpec`]
//! (frequencies + cadence) and [`ToneGenerator`], a [`MediaPort`] that plays
//! a tone at any frame rate.
//! Must not touch: call state (the call layer decides *which* tone to play and
//! when to stop), codecs, RTP. Detection of tones is the DTMF/progress
//! detector's job.
//!
//! # Where the values come from
//!
//! ITU-T E.180 (03/1998) §2 recommends the characteristics; the per-country
//! values are the administrations' own, collected in the E.180 supplement
//! *Various tones used in national networks* (annex to ITU Operational
//! Bulletin No. 781, 1.II.2003). Of that list we could consult the entry for
//! **Germany** (values below match it: busy 0.48/0.48 s, congestion
//! 0.24/0.24 s, ringing 1/4 s, call waiting 0.2-0.2-0.2-5 s, all 425 Hz).
//! The **US**, **UK** and **CN** entries could not be read from the list
//! itself; their values are the well-known published ones and are marked
//! below with their source (North American Precise Tone Plan; BT SIN 350;
//! the Chinese national standard as commonly published). Check them against
//! the supplement before claiming conformance.
//!
//! # Level
//!
//! Levels are in dBm0 per frequency (E.180 §2: −10 ± 5 dBm0 recommended
//! range for tones; we default to −13 dBm0 per frequency so a dual tone
//! stays below −10 dBm0 total). 0 dBm0 is the G.711 reference: a full-scale
//! sine is +3.14 dBm0 (G.711 μ-law "digital milliwatt", Table 5), so a tone
//! of L dBm0 has peak amplitude 32767 · 10^((L − 3.14)/20).

use super::frame::{samples_per_frame, AudioFrame, MediaPort};

/// Default level of each frequency component, dBm0.
pub const DEFAULT_LEVEL_DBM0: f32 = -13.0;

/// Linear-PCM level of a full-scale sine relative to 0 dBm0 (ITU-T G.711).
// 3.14 is the G.711 figure, not π (clippy's approx_constant misfires).
#[allow(clippy::approx_constant)]
const FULL_SCALE_DBM0: f32 = 3.14;

/// Raised-cosine ramp at each burst edge. A tone switched on or off
/// mid-cycle clicks (a broadband step); 2 ms is far below the 20–25 ms
/// tolerance E.180 allows on cadence, so timing is unaffected.
const RAMP_MS: u32 = 2;

/// One tone: up to two frequencies played together (`f1+f2` in E.180
/// notation) and a cadence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToneSpec {
    /// Frequencies in Hz; one or two are used (`[f, 0.0]` for a single tone).
    pub freqs: [f32; 2],
    /// Alternating on/off durations in ms, starting with "on"; empty means
    /// continuous. E.g. `[400, 200, 400, 2000]` = 0.4 on, 0.2 off, 0.4 on, 2 off.
    pub cadence: &'static [u32],
    /// Whether the cadence repeats (all progress tones here do).
    pub repeat: bool,
}

impl ToneSpec {
    const fn single(f: f32, cadence: &'static [u32]) -> ToneSpec {
        ToneSpec { freqs: [f, 0.0], cadence, repeat: true }
    }
    const fn dual(f1: f32, f2: f32, cadence: &'static [u32]) -> ToneSpec {
        ToneSpec { freqs: [f1, f2], cadence, repeat: true }
    }
    /// Length of one cadence cycle in ms (0 for continuous).
    pub fn cycle_ms(&self) -> u32 {
        self.cadence.iter().sum()
    }
}

/// The tones a call can play toward a caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ToneKind {
    /// Proceed-to-dial (E.180 §2.1).
    Dial,
    /// Ringing / ringback (E.180 §2.2).
    Ringback,
    /// Called party busy (E.180 §2.3).
    Busy,
    /// Network congestion, "fast busy" / reorder (E.180 §2.4).
    Congestion,
    /// Call waiting, heard by a party already in a call (E.180 §2.8).
    CallWaiting,
}

/// Countries with a built-in tone plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Country {
    Us,
    Uk,
    De,
    Cn,
}

/// An unknown country code.
#[derive(Debug, thiserror::Error)]
#[error("no tone plan for country {0:?} (known: us, uk/gb, de, cn)")]
pub struct UnknownCountry(pub String);

impl std::str::FromStr for Country {
    type Err = UnknownCountry;
    /// ISO 3166-1 alpha-2 codes, case-insensitive; "uk" accepted for GB.
    fn from_str(s: &str) -> Result<Country, UnknownCountry> {
        match s.to_ascii_lowercase().as_str() {
            "us" | "usa" | "ca" => Ok(Country::Us),
            "uk" | "gb" => Ok(Country::Uk),
            "de" => Ok(Country::De),
            "cn" => Ok(Country::Cn),
            _ => Err(UnknownCountry(s.to_string())),
        }
    }
}

/// One country's set of call-progress tones.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TonePlan {
    pub country: Country,
    pub dial: ToneSpec,
    pub ringback: ToneSpec,
    pub busy: ToneSpec,
    pub congestion: ToneSpec,
    pub call_waiting: ToneSpec,
}

/// North American Precise Tone Plan (AT&T/Bellcore, ANSI T1.401); call
/// waiting per Telcordia GR-506 (300 ms of 440 Hz, repeated after ~10 s).
pub const US: TonePlan = TonePlan {
    country: Country::Us,
    dial: ToneSpec::dual(350.0, 440.0, &[]),
    ringback: ToneSpec::dual(440.0, 480.0, &[2000, 4000]),
    busy: ToneSpec::dual(480.0, 620.0, &[500, 500]),
    congestion: ToneSpec::dual(480.0, 620.0, &[250, 250]),
    call_waiting: ToneSpec::single(440.0, &[300, 9700]),
};

/// BT SIN 350 (UK). Congestion's second burst is 6 dB louder in SIN 350;
/// we play both bursts at the same level (the cadence is what callers
/// recognise). Call waiting as commonly published (400 Hz, 0.1 s every 3 s).
pub const UK: TonePlan = TonePlan {
    country: Country::Uk,
    dial: ToneSpec::dual(350.0, 440.0, &[]),
    ringback: ToneSpec::dual(400.0, 450.0, &[400, 200, 400, 2000]),
    busy: ToneSpec::single(400.0, &[375, 375]),
    congestion: ToneSpec::single(400.0, &[400, 350, 225, 525]),
    call_waiting: ToneSpec::single(400.0, &[100, 3000]),
};

/// Germany, from the E.180 supplement entry (variant I of each tone).
pub const DE: TonePlan = TonePlan {
    country: Country::De,
    dial: ToneSpec::single(425.0, &[]),
    ringback: ToneSpec::single(425.0, &[1000, 4000]),
    busy: ToneSpec::single(425.0, &[480, 480]),
    congestion: ToneSpec::single(425.0, &[240, 240]),
    call_waiting: ToneSpec::single(425.0, &[200, 200, 200, 5000]),
};

/// China, 450 Hz plan as commonly published for the national network
/// (not verified against the E.180 supplement text).
pub const CN: TonePlan = TonePlan {
    country: Country::Cn,
    dial: ToneSpec::single(450.0, &[]),
    ringback: ToneSpec::single(450.0, &[1000, 4000]),
    busy: ToneSpec::single(450.0, &[350, 350]),
    congestion: ToneSpec::single(450.0, &[700, 700]),
    call_waiting: ToneSpec::single(450.0, &[400, 4000]),
};

impl TonePlan {
    /// The built-in plan for `country`.
    pub fn for_country(country: Country) -> &'static TonePlan {
        match country {
            Country::Us => &US,
            Country::Uk => &UK,
            Country::De => &DE,
            Country::Cn => &CN,
        }
    }

    /// The spec of one tone of this plan.
    pub fn tone(&self, kind: ToneKind) -> ToneSpec {
        match kind {
            ToneKind::Dial => self.dial,
            ToneKind::Ringback => self.ringback,
            ToneKind::Busy => self.busy,
            ToneKind::Congestion => self.congestion,
            ToneKind::CallWaiting => self.call_waiting,
        }
    }
}

/// Plays a [`ToneSpec`] as 20 ms frames at a fixed rate.
///
/// Oscillators are phase accumulators that keep running across frames and
/// across cadence gaps, so the waveform is continuous frame to frame; burst
/// edges get a short raised-cosine ramp. Nothing is allocated after `new`.
#[derive(Debug, Clone)]
pub struct ToneGenerator {
    spec: ToneSpec,
    rate: u32,
    /// Peak amplitude of each component, in sample units.
    amp: f32,
    /// Phase of each oscillator in cycles, kept in [0, 1).
    phase: [f64; 2],
    /// Phase increment per sample, cycles.
    step: [f64; 2],
    /// Index into `spec.cadence` and samples already played of that segment.
    segment: usize,
    pos: u32,
    ramp: u32,
    finished: bool,
}

impl ToneGenerator {
    /// A generator for `spec` at `rate` Hz, at the default −13 dBm0 per frequency.
    pub fn new(spec: ToneSpec, rate: u32) -> ToneGenerator {
        let mut g = ToneGenerator {
            spec,
            rate: rate.max(1),
            amp: 0.0,
            phase: [0.0; 2],
            step: [0.0; 2],
            segment: 0,
            pos: 0,
            ramp: (rate.max(1) / 1000 * RAMP_MS).max(1),
            finished: false,
        };
        g.set_level_dbm0(DEFAULT_LEVEL_DBM0);
        g.set_tone(spec);
        g
    }

    /// Convenience: `kind` from `country`'s plan.
    pub fn for_country(country: Country, kind: ToneKind, rate: u32) -> ToneGenerator {
        ToneGenerator::new(TonePlan::for_country(country).tone(kind), rate)
    }

    /// Sets the level of each frequency component (dBm0, see module docs).
    pub fn set_level_dbm0(&mut self, dbm0: f32) {
        self.amp = 32767.0 * 10f32.powf((dbm0 - FULL_SCALE_DBM0) / 20.0);
    }

    /// Peak amplitude of each component in sample units (for tests and meters).
    pub fn amplitude(&self) -> f32 {
        self.amp
    }

    /// Switches to another tone and restarts its cadence (e.g. ringback →
    /// busy). Oscillator phase carries on.
    pub fn set_tone(&mut self, spec: ToneSpec) {
        self.spec = spec;
        for (step, &f) in self.step.iter_mut().zip(&spec.freqs) {
            // Frequencies at or above Nyquist would alias: drop them.
            *step = if f > 0.0 && f64::from(f) < f64::from(self.rate) / 2.0 {
                f64::from(f) / f64::from(self.rate)
            } else {
                0.0
            };
        }
        self.segment = 0;
        self.pos = 0;
        self.finished = false;
    }

    /// The tone being played.
    pub fn spec(&self) -> ToneSpec {
        self.spec
    }

    /// Samples in cadence segment `i` at this rate.
    fn segment_len(&self, i: usize) -> u32 {
        self.spec.cadence.get(i).map_or(u32::MAX, |&ms| (u64::from(ms) * u64::from(self.rate) / 1000) as u32)
    }

    /// Gain (0..=1) for the current sample: 0 in "off" segments, ramped at
    /// the edges of "on" segments, 1 for continuous tones.
    fn gain(&self) -> f32 {
        if self.spec.cadence.is_empty() {
            return 1.0;
        }
        if self.segment % 2 == 1 {
            return 0.0;
        }
        let len = self.segment_len(self.segment);
        let from_edge = self.pos.min(len.saturating_sub(self.pos + 1));
        if from_edge >= self.ramp {
            1.0
        } else {
            let x = from_edge as f32 / self.ramp as f32;
            0.5 - 0.5 * (std::f32::consts::PI * x).cos()
        }
    }

    fn advance_cadence(&mut self) {
        if self.spec.cadence.is_empty() {
            return;
        }
        self.pos += 1;
        // `while`: zero-length segments are skipped.
        while self.pos >= self.segment_len(self.segment) {
            self.pos = 0;
            self.segment += 1;
            if self.segment >= self.spec.cadence.len() {
                self.segment = 0;
                if !self.spec.repeat {
                    self.finished = true;
                    return;
                }
            }
        }
    }

    fn next_sample(&mut self) -> i16 {
        if self.finished {
            return 0;
        }
        let g = self.gain();
        let mut v = 0.0f64;
        for (phase, &step) in self.phase.iter_mut().zip(&self.step) {
            if step > 0.0 {
                v += (std::f64::consts::TAU * *phase).sin();
                *phase = (*phase + step).fract();
            }
        }
        self.advance_cadence();
        (v as f32 * self.amp * g).round().clamp(-32768.0, 32767.0) as i16
    }
}

impl MediaPort for ToneGenerator {
    fn rate(&self) -> u32 {
        self.rate
    }

    /// Tones have no input.
    fn put_frame(&mut self, _frame: &AudioFrame) {}

    fn get_frame(&mut self, frame: &mut AudioFrame) -> bool {
        frame.rate = self.rate;
        frame.len = samples_per_frame(self.rate);
        if self.finished {
            frame.clear();
            return false;
        }
        for i in 0..frame.len {
            frame.samples[i] = self.next_sample();
        }
        true
    }
}

#[cfg(test)]
#[path = "tone/goertzel.rs"]
pub(crate) mod goertzel;

#[cfg(test)]
#[path = "tone/tests.rs"]
mod tests;
