//! The conference itself: parties, the per-tick mix, and what each party hears.

use std::sync::Arc;

use super::error::MixerError;
use super::limiter::soft_clip;
use super::party::{PartyId, Role, Slot};
use super::talkers::{TopK, SPEECH_FLOOR};
use super::tones::{Beep, ToneSource};
use crate::media::{samples_per_frame, AudioFrame};

/// Wideband: enough for G.722 and Opus voice, half the work of 32 kHz.
pub const DEFAULT_INTERNAL_RATE: u32 = 16_000;
/// Three simultaneous talkers is what people can follow; more only adds noise.
pub const DEFAULT_MAX_TALKERS: usize = 3;

/// The internal rate for parties at `rates`: the highest of them (so nobody's audio is narrowed more
/// than their own codec does), never below 8 kHz, and `DEFAULT_INTERNAL_RATE` for an empty room.
/// Rates an `AudioFrame` cannot carry are rounded up to the next one it can.
pub fn internal_rate_for(rates: impl IntoIterator<Item = u32>) -> u32 {
    let highest = rates.into_iter().max().unwrap_or(DEFAULT_INTERNAL_RATE);
    [8_000, 16_000, 24_000, 32_000, 48_000]
        .into_iter()
        .find(|&r| r >= highest)
        .unwrap_or(48_000)
}

/// A conference bridge, driven per 20 ms tick: `put` each party's frame, `mix`, `get` each party's
/// mix-minus. Every party presents and takes frames at `rate()`.
pub struct Conference {
    rate: u32,
    samples: usize,
    slots: Vec<Slot>,
    /// Vacant slot indices, reused before the slot vector grows.
    free: Vec<usize>,
    /// Sum of all voices in the common mix this tick.
    total: Box<[i32]>,
    /// This tick's tone/announcement samples.
    tone_buf: Box<[i32]>,
    tone: ToneSource,
    talkers: TopK,
    max_talkers: usize,
    join_leave_tones: bool,
}

impl Conference {
    /// A conference mixing at `rate` Hz (see `internal_rate_for`; 16 kHz by default) and mixing at most
    /// `max_talkers` voices at once (0 means "no limit").
    pub fn new(rate: u32, max_talkers: usize) -> Result<Conference, MixerError> {
        if ![8_000, 16_000, 24_000, 32_000, 48_000].contains(&rate) {
            return Err(MixerError::UnsupportedRate(rate));
        }
        let samples = samples_per_frame(rate);
        Ok(Conference {
            rate,
            samples,
            slots: Vec::new(),
            free: Vec::new(),
            total: vec![0; samples].into_boxed_slice(),
            tone_buf: vec![0; samples].into_boxed_slice(),
            tone: ToneSource::Idle,
            talkers: TopK::new(max_talkers),
            max_talkers,
            join_leave_tones: true,
        })
    }

    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Number of parties present.
    pub fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `Normal`/`Barge` parties joining or leaving play `Beep::Join`/`Beep::Leave` to the room
    /// (on by default). `Listen` and `Whisper` parties never do: silent monitoring must stay silent.
    pub fn set_join_leave_tones(&mut self, on: bool) {
        self.join_leave_tones = on;
    }

    /// Adds a party. Allocates its buffers (only when no vacant slot is left), so call it off the tick
    /// path or accept one allocation per join.
    pub fn add_party(&mut self, role: Role) -> Result<PartyId, MixerError> {
        if let Role::Whisper { to } = role {
            self.slot(to)?;
        }
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot::new(self.samples));
                // Keep room to free every slot later without `remove_party` allocating.
                self.free.reserve(self.slots.len() - self.free.len());
                self.slots.len() - 1
            }
        };
        let slot = &mut self.slots[index];
        slot.occupy(role);
        if self.join_leave_tones && role.speaks_to_all() {
            self.tone = ToneSource::beep(Beep::Join);
        }
        Ok(PartyId {
            slot: index as u32,
            gen: slot.gen,
        })
    }

    /// Removes a party; its id becomes invalid. Whisperers whose target it was now reach nobody.
    pub fn remove_party(&mut self, party: PartyId) -> Result<(), MixerError> {
        let index = self.index(party)?;
        let slot = &mut self.slots[index];
        let role = slot.role;
        slot.occupied = false;
        // A new generation makes every copy of the old id stale.
        slot.gen = slot.gen.wrapping_add(1);
        self.free.push(index);
        if self.join_leave_tones && role.speaks_to_all() {
            self.tone = ToneSource::beep(Beep::Leave);
        }
        Ok(())
    }

    /// Changes a party's role in place (listen → whisper → barge without rejoining). Plays no tone:
    /// announcing a barge is the caller's decision (`play_beep`).
    pub fn set_role(&mut self, party: PartyId, role: Role) -> Result<(), MixerError> {
        if let Role::Whisper { to } = role {
            if to == party {
                return Err(MixerError::BadWhisperTarget(to));
            }
            self.slot(to)?;
        }
        self.slot_mut(party)?.role = role;
        Ok(())
    }

    pub fn role(&self, party: PartyId) -> Result<Role, MixerError> {
        Ok(self.slot(party)?.role)
    }

    /// A muted party is heard by nobody (it still hears).
    pub fn set_muted(&mut self, party: PartyId, muted: bool) -> Result<(), MixerError> {
        self.slot_mut(party)?.muted = muted;
        Ok(())
    }

    /// A deaf party hears nothing, tones included (it may still speak).
    pub fn set_deaf(&mut self, party: PartyId, deaf: bool) -> Result<(), MixerError> {
        self.slot_mut(party)?.deaf = deaf;
        Ok(())
    }

    /// Plays a built-in beep to every party that is not deaf, replacing whatever was playing.
    pub fn play_beep(&mut self, beep: Beep) {
        self.tone = ToneSource::beep(beep);
    }

    /// Plays `pcm` (mono, at the conference rate) to every party that is not deaf, replacing whatever
    /// was playing. Cloning the `Arc` is all it costs: load and resample prompts once, ahead of time.
    pub fn play_to_all(&mut self, pcm: Arc<[i16]>) {
        self.tone = ToneSource::Pcm { pcm, pos: 0 };
    }

    /// Whether the party's voice went into the last mix and was above the speech floor (for "who is
    /// talking" indicators).
    pub fn is_talking(&self, party: PartyId) -> bool {
        self.slot(party).is_ok_and(|s| {
            let whispering = matches!(s.role, Role::Whisper { .. }) && !s.muted;
            (s.in_mix || whispering) && s.level.value >= SPEECH_FLOOR
        })
    }

    /// Hands in the party's audio for this tick. A party that puts nothing is silent this tick. A frame
    /// at the wrong rate or length is refused (and the party is silent).
    pub fn put(&mut self, party: PartyId, frame: &AudioFrame) -> Result<(), MixerError> {
        let (rate, samples) = (self.rate, self.samples);
        let slot = self.slot_mut(party)?;
        slot.fresh = false;
        if frame.rate != rate {
            return Err(MixerError::RateMismatch {
                expected: rate,
                got: frame.rate,
            });
        }
        if frame.pcm().len() != samples {
            return Err(MixerError::LengthMismatch {
                expected: samples,
                got: frame.pcm().len(),
            });
        }
        slot.input.copy_from_slice(frame.pcm());
        slot.fresh = true;
        Ok(())
    }

    /// Mixes one tick: selects the talkers, sums them once, and prepares every party's mix-minus.
    pub fn mix(&mut self) {
        self.update_levels_and_select();
        self.sum_voices();
        let tone = self.tone.next_frame(self.rate, &mut self.tone_buf);
        let (total, tone_buf) = (&self.total, &self.tone_buf);
        for slot in self.slots.iter_mut().filter(|s| s.occupied) {
            if slot.deaf {
                slot.output.fill(0);
            } else {
                for i in 0..slot.output.len() {
                    let mut v = total[i];
                    if slot.in_mix {
                        // Mix-minus: never hear yourself (echo and the loop it would make).
                        v = v.saturating_sub(i32::from(slot.input[i]));
                    }
                    if slot.whispered {
                        v = v.saturating_add(slot.whisper[i]);
                    }
                    if tone {
                        v = v.saturating_add(tone_buf[i]);
                    }
                    slot.output[i] = soft_clip(v);
                }
            }
        }
        for slot in self.slots.iter_mut() {
            slot.fresh = false;
        }
    }

    /// Copies the party's mix-minus from the last `mix` into `frame` (at the conference rate).
    pub fn get(&self, party: PartyId, frame: &mut AudioFrame) -> Result<(), MixerError> {
        let slot = self.slot(party)?;
        frame.fill(self.rate, &slot.output);
        Ok(())
    }

    /// Energy tracking for everyone, then the loudest `max_talkers` of the parties that may speak to
    /// all (or all of them when they are few). O(N·K).
    fn update_levels_and_select(&mut self) {
        self.talkers.clear();
        let mut candidates = 0;
        for (i, slot) in self
            .slots
            .iter_mut()
            .enumerate()
            .filter(|(_, s)| s.occupied)
        {
            slot.level.update(slot.fresh.then_some(&slot.input[..]));
            let was_mixed = slot.in_mix;
            slot.in_mix = false;
            if slot.fresh && !slot.muted && slot.role.speaks_to_all() {
                candidates += 1;
                self.talkers.offer(slot.level.score(was_mixed), i);
            }
        }
        let unlimited = self.max_talkers == 0 || candidates <= self.max_talkers;
        if unlimited {
            for slot in self.slots.iter_mut().filter(|s| s.occupied) {
                slot.in_mix = slot.fresh && !slot.muted && slot.role.speaks_to_all();
            }
        } else {
            for i in self.talkers.slots() {
                self.slots[i].in_mix = true;
            }
        }
    }

    /// The common mix (selected talkers) and each whisper target's private addition.
    fn sum_voices(&mut self) {
        self.total.fill(0);
        for slot in self.slots.iter_mut() {
            slot.whispered = false;
        }
        for i in 0..self.slots.len() {
            let slot = &self.slots[i];
            if !slot.occupied || !slot.fresh || slot.muted {
                continue;
            }
            if slot.in_mix {
                for (t, &s) in self.total.iter_mut().zip(slot.input.iter()) {
                    // Saturating so that even a pathological room cannot wrap the i32 sum.
                    *t = t.saturating_add(i32::from(s));
                }
            } else if let Role::Whisper { to } = slot.role {
                let Ok(target) = self.index(to) else { continue };
                // Split borrow: whisperer (read) and target (write) are distinct slots (checked in
                // `set_role`/`add_party`, and a target id can never name a slot reused by the whisperer
                // because the generation changes).
                if target == i {
                    continue;
                }
                let (src, dst) = if i < target {
                    let (a, b) = self.slots.split_at_mut(target);
                    (&a[i], &mut b[0])
                } else {
                    let (a, b) = self.slots.split_at_mut(i);
                    (&b[0], &mut a[target])
                };
                if !dst.whispered {
                    dst.whisper.fill(0);
                    dst.whispered = true;
                }
                for (w, &s) in dst.whisper.iter_mut().zip(src.input.iter()) {
                    *w = w.saturating_add(i32::from(s));
                }
            }
        }
    }

    fn index(&self, party: PartyId) -> Result<usize, MixerError> {
        let i = party.slot as usize;
        match self.slots.get(i) {
            Some(s) if s.occupied && s.gen == party.gen => Ok(i),
            _ => Err(MixerError::UnknownParty(party)),
        }
    }

    fn slot(&self, party: PartyId) -> Result<&Slot, MixerError> {
        let i = self.index(party)?;
        Ok(&self.slots[i])
    }

    fn slot_mut(&mut self, party: PartyId) -> Result<&mut Slot, MixerError> {
        let i = self.index(party)?;
        Ok(&mut self.slots[i])
    }
}
