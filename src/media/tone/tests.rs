//! Tone requirements: the right frequencies at the right level (Goertzel),
//! cadences exact to the sample, phase-continuous across frames, any rate.

use super::goertzel::{amplitude, rms};
use super::*;

const PLANS: [&TonePlan; 4] = [&US, &UK, &DE, &CN];
const KINDS: [ToneKind; 5] =
    [ToneKind::Dial, ToneKind::Ringback, ToneKind::Busy, ToneKind::Congestion, ToneKind::CallWaiting];

/// Pulls `n_frames` frames from `g` into one buffer.
fn render(g: &mut ToneGenerator, n_frames: usize) -> Vec<i16> {
    let mut f = AudioFrame::silence(8000);
    let mut out = Vec::new();
    for _ in 0..n_frames {
        assert!(g.get_frame(&mut f));
        assert_eq!((f.rate, f.len), (g.rate(), samples_per_frame(g.rate())));
        out.extend_from_slice(f.pcm());
    }
    out
}

#[test]
fn default_level_is_minus_13_dbm0_per_frequency() {
    let g = ToneGenerator::new(DE.dial, 8000);
    // 32767 · 10^((−13 − 3.14)/20) ≈ 5109.
    assert!((g.amplitude() - 5109.0).abs() < 2.0, "{}", g.amplitude());
}

#[test]
fn every_tone_has_its_frequencies_at_level() {
    for plan in PLANS {
        for kind in KINDS {
            for rate in [8000, 16000, 48000] {
                let spec = plan.tone(kind);
                let mut g = ToneGenerator::new(spec, rate);
                let amp = f64::from(g.amplitude());
                // First "on" stretch, minus ramps: at least 100 ms in all plans.
                let on_ms = spec.cadence.first().copied().unwrap_or(1000);
                let pcm = render(&mut g, on_ms.div_ceil(20) as usize);
                let ramp = (rate / 1000 * RAMP_MS) as usize;
                let on = &pcm[ramp..(on_ms * rate / 1000) as usize - ramp];
                for f in spec.freqs.iter().filter(|&&f| f > 0.0) {
                    let a = amplitude(on, rate, f64::from(*f));
                    assert!(
                        (a - amp).abs() < 0.05 * amp,
                        "{:?} {kind:?} {rate}: {f} Hz at {a}, want {amp}",
                        plan.country
                    );
                }
                // Nothing strong elsewhere (1 kHz is far from all these tones).
                assert!(amplitude(on, rate, 1000.0) < 0.02 * amp, "{:?} {kind:?}", plan.country);
            }
        }
    }
}

#[test]
fn cadences_are_exact_in_samples() {
    for plan in PLANS {
        for kind in KINDS {
            let spec = plan.tone(kind);
            if spec.cadence.is_empty() {
                continue;
            }
            for rate in [8000u32, 16000] {
                let mut g = ToneGenerator::new(spec, rate);
                let amp = f64::from(g.amplitude());
                let cycle = spec.cycle_ms() * rate / 1000;
                let frames = (2 * cycle as usize).div_ceil(samples_per_frame(rate));
                let pcm = render(&mut g, frames);
                let ramp = (rate / 1000 * RAMP_MS) as usize;
                let mut start = 0usize;
                for _cycle in 0..2 {
                    for (i, &ms) in spec.cadence.iter().enumerate() {
                        let len = (ms * rate / 1000) as usize;
                        let seg = &pcm[start..start + len];
                        if i % 2 == 1 {
                            assert!(
                                seg.iter().all(|&s| s == 0),
                                "{:?} {kind:?}: off segment {i} not silent",
                                plan.country
                            );
                        } else {
                            // Energy right up to the ramps on both edges.
                            let inner = &seg[ramp..len - ramp];
                            let want = amp * (spec.freqs.iter().filter(|&&f| f > 0.0).count() as f64 / 2.0).sqrt();
                            let r = rms(inner);
                            assert!(
                                (r - want).abs() < 0.1 * want,
                                "{:?} {kind:?}: on segment {i} rms {r}, want {want}",
                                plan.country
                            );
                            assert!(
                                rms(&seg[ramp..2 * ramp]) > 0.3 * want
                                    && rms(&seg[len - 2 * ramp..len - ramp]) > 0.3 * want
                            );
                        }
                        start += len;
                    }
                }
            }
        }
    }
}

#[test]
fn phase_is_continuous_across_frames() {
    for rate in [8000u32, 16000, 48000] {
        let mut g = ToneGenerator::new(US.dial, rate);
        let pcm = render(&mut g, 20);
        let amp = f64::from(g.amplitude());
        // Largest possible step of a sum of two sines: 2πA(f1+f2)/rate.
        let max_step = std::f64::consts::TAU * amp * (350.0 + 440.0) / f64::from(rate) * 1.05;
        let spf = samples_per_frame(rate);
        for k in 1..20 {
            let b = k * spf;
            let step = (f64::from(pcm[b]) - f64::from(pcm[b - 1])).abs();
            assert!(step <= max_step, "{rate}: jump {step} at frame boundary {k}");
        }
    }
}

#[test]
fn switching_tone_restarts_cadence() {
    let mut g = ToneGenerator::for_country(Country::Us, ToneKind::Ringback, 8000);
    render(&mut g, 10);
    g.set_tone(US.busy);
    let pcm = render(&mut g, 50); // 1 s: 0.5 on, 0.5 off
    assert!(pcm[4000..8000].iter().all(|&s| s == 0));
    assert!(rms(&pcm[100..3900]) > 1000.0);
}

#[test]
fn non_repeating_tone_finishes() {
    let spec = ToneSpec { freqs: [1000.0, 0.0], cadence: &[100, 100], repeat: false };
    let mut g = ToneGenerator::new(spec, 8000);
    render(&mut g, 10);
    let mut f = AudioFrame::silence(8000);
    assert!(!g.get_frame(&mut f));
    assert!(f.pcm().iter().all(|&s| s == 0));
}

#[test]
fn country_codes_parse() {
    assert_eq!("US".parse::<Country>().ok(), Some(Country::Us));
    assert_eq!("gb".parse::<Country>().ok(), Some(Country::Uk));
    assert_eq!("de".parse::<Country>().ok(), Some(Country::De));
    assert_eq!("cn".parse::<Country>().ok(), Some(Country::Cn));
    assert!("fr".parse::<Country>().is_err());
    assert_eq!(TonePlan::for_country(Country::De).busy.cadence, &[480, 480]);
}
