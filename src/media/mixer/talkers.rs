//! Loudest-N talker selection. Large rooms mix only the K loudest voices: summing fifty open
//! microphones adds fifty background noises, and the listener cannot follow more than a few talkers
//! anyway (the same reasoning as the "N loudest" policy of pjmedia and of MCUs generally).
//!
//! Loudness is the mean-square energy of each 20 ms frame, tracked with instant attack and a hangover:
//! after a party stops, its level is held for `HANGOVER_TICKS` and then decays. Without the hangover a
//! talker would drop out of the mix in every pause between words, and the ranking would flap. Parties
//! already mixed also get a fixed advantage (`INCUMBENT_BONUS`) for the same reason.

/// Ticks (20 ms) a talker's peak level is held after its energy drops: 300 ms covers inter-word gaps.
const HANGOVER_TICKS: u16 = 15;
/// A mixed talker ranks as if twice as loud (+3 dB) when competing for a place.
const INCUMBENT_BONUS: u64 = 2;
/// Below this mean square (about -50 dBFS) a party is reported as not talking.
pub(super) const SPEECH_FLOOR: u64 = 10_000;

/// Short-term loudness of one party.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Level {
    /// Smoothed mean-square energy.
    pub value: u64,
    hold: u16,
}

impl Level {
    /// Folds in one frame (or silence when the party sent nothing this tick).
    pub fn update(&mut self, pcm: Option<&[i16]>) {
        let energy = pcm.map_or(0, mean_square);
        if energy >= self.value {
            self.value = energy;
            self.hold = HANGOVER_TICKS;
        } else if self.hold > 0 {
            self.hold -= 1;
        } else {
            // Release: move a quarter of the way toward the current energy each tick (~6 dB per
            // 100 ms), slow enough not to flap, fast enough to free the place for a new talker.
            self.value -= (self.value - energy) / 4 + 1;
            self.value = self.value.max(energy);
        }
    }

    /// Rank used to pick the loudest talkers.
    pub fn score(&self, currently_mixed: bool) -> u64 {
        if currently_mixed {
            self.value.saturating_mul(INCUMBENT_BONUS)
        } else {
            self.value
        }
    }
}

fn mean_square(pcm: &[i16]) -> u64 {
    if pcm.is_empty() {
        return 0;
    }
    // At most 960 samples of at most 2^30 each: no overflow in u64.
    let sum: u64 = pcm
        .iter()
        .map(|&s| (i64::from(s) * i64::from(s)) as u64)
        .sum();
    sum / pcm.len() as u64
}

/// The K best (score, slot) pairs seen so far, best first. Its storage is reserved once, in
/// `Conference::new`; `offer` never grows it past K, so selection allocates nothing per tick.
pub(super) struct TopK {
    k: usize,
    best: Vec<(u64, usize)>,
}

impl TopK {
    pub fn new(k: usize) -> TopK {
        TopK {
            k,
            best: Vec::with_capacity(k + 1),
        }
    }

    pub fn clear(&mut self) {
        self.best.clear();
    }

    /// O(K) insertion keeping the list sorted; K is small (a handful of talkers).
    pub fn offer(&mut self, score: u64, slot: usize) {
        if self.k == 0 {
            return;
        }
        if self.best.len() == self.k {
            match self.best.last() {
                Some(&(worst, _)) if score <= worst => return,
                _ => {}
            }
            self.best.pop();
        }
        let at = self
            .best
            .iter()
            .position(|&(s, _)| score > s)
            .unwrap_or(self.best.len());
        // len < k here, and capacity is k + 1: no reallocation.
        self.best.insert(at, (score, slot));
    }

    pub fn slots(&self) -> impl Iterator<Item = usize> + '_ {
        self.best.iter().map(|&(_, slot)| slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_keeps_the_loudest() {
        let mut t = TopK::new(3);
        for (score, slot) in [(5, 0), (1, 1), (9, 2), (7, 3), (3, 4), (8, 5)] {
            t.offer(score, slot);
        }
        assert_eq!(t.slots().collect::<Vec<_>>(), vec![2, 5, 3]);
    }

    #[test]
    fn level_holds_then_decays() {
        let loud = [10_000i16; 320];
        let mut l = Level::default();
        l.update(Some(&loud));
        let peak = l.value;
        for _ in 0..HANGOVER_TICKS {
            l.update(None);
        }
        assert_eq!(l.value, peak, "held through the hangover");
        for _ in 0..40 {
            l.update(None);
        }
        assert!(l.value < peak / 1000, "decays after it");
    }
}
