//! Join and leave tones, and arbitrary announcements played into a conference.
//!
//! The beeps are generated here (two short sine segments, rising for a join and falling for a leave,
//! like most bridges) so the mixer needs no prompt files. Anything else (a recorded "you are now being
//! recorded", a tone from `media::tone`) is handed in as shared PCM at the conference rate: cloning an
//! `Arc<[i16]>` allocates nothing, so starting playback is hot-path safe and the prompt is decoded and
//! resampled once, by whoever loads it.

use std::sync::Arc;

/// Built-in conference beeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Beep {
    /// C5 then G5, 100 ms each.
    Join,
    /// G5 then C5, 100 ms each.
    Leave,
}

/// (frequency Hz, duration ms) segments of each beep.
const JOIN: &[(f32, u32)] = &[(523.25, 100), (783.99, 100)];
const LEAVE: &[(f32, u32)] = &[(783.99, 100), (523.25, 100)];
/// Peak amplitude, about -15 dBFS: clearly audible, well below the soft clipper's knee.
const AMPLITUDE: f32 = 6_000.0;
/// Raised-cosine-free linear ramp at each segment edge, to avoid clicks (5 ms).
const RAMP_MS: u32 = 5;

/// What is playing into the conference right now (one thing at a time; a new one replaces it).
#[derive(Default)]
pub(super) enum ToneSource {
    #[default]
    Idle,
    Beep {
        segments: &'static [(f32, u32)],
        pos: u32,
        phase: f32,
    },
    Pcm {
        pcm: Arc<[i16]>,
        pos: usize,
    },
}

impl ToneSource {
    pub fn beep(beep: Beep) -> ToneSource {
        let segments = match beep {
            Beep::Join => JOIN,
            Beep::Leave => LEAVE,
        };
        ToneSource::Beep {
            segments,
            pos: 0,
            phase: 0.0,
        }
    }

    /// Writes the next frame into `out` (zeros where nothing plays). Returns false when idle, so the
    /// mixer can skip adding it.
    pub fn next_frame(&mut self, rate: u32, out: &mut [i32]) -> bool {
        let playing = match self {
            ToneSource::Idle => false,
            ToneSource::Beep {
                segments,
                pos,
                phase,
            } => beep_frame(segments, pos, phase, rate, out),
            ToneSource::Pcm { pcm, pos } => {
                let left = pcm.len().saturating_sub(*pos);
                let n = left.min(out.len());
                for (o, &s) in out.iter_mut().zip(&pcm[*pos..*pos + n]) {
                    *o = i32::from(s);
                }
                out[n..].fill(0);
                *pos += n;
                n > 0
            }
        };
        if !playing {
            *self = ToneSource::Idle;
        }
        playing
    }
}

/// One frame of a segmented beep; `pos` counts samples since the start of the beep.
fn beep_frame(
    segments: &[(f32, u32)],
    pos: &mut u32,
    phase: &mut f32,
    rate: u32,
    out: &mut [i32],
) -> bool {
    let ramp = (rate / 1000 * RAMP_MS).max(1) as f32;
    let mut any = false;
    for o in out.iter_mut() {
        *o = 0;
        // Find the segment containing `pos` (two segments: a linear walk is cheapest).
        let mut start = 0u32;
        for &(freq, ms) in segments {
            let len = rate / 1000 * ms;
            if *pos < start + len {
                let t = (*pos - start) as f32;
                let edge = t.min((len - 1 - (*pos - start)) as f32);
                let gain = (edge / ramp).min(1.0);
                *o = (AMPLITUDE * gain * (std::f32::consts::TAU * *phase).sin()) as i32;
                *phase = (*phase + freq / rate as f32).fract();
                any = true;
                break;
            }
            start += len;
        }
        *pos = pos.saturating_add(1);
    }
    any
}
