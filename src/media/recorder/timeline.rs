//! Time accounting of a recording, in 20 ms ticks (sans-IO: no clock, just counting what is written).

use std::time::Duration;

use crate::media::FRAME_MS;

/// A stretch of the file written as silence because recording was paused (offsets from its start).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PauseMark {
    pub start: Duration,
    pub end: Duration,
}

#[derive(Debug, Default)]
pub(super) struct Timeline {
    ticks: u64,
    paused_ticks: u64,
    dropped_ticks: u64,
    paused_since: Option<u64>,
    pauses: Vec<PauseMark>,
}

fn ticks_to_duration(ticks: u64) -> Duration {
    Duration::from_millis(ticks * u64::from(FRAME_MS))
}

impl Timeline {
    pub fn is_paused(&self) -> bool {
        self.paused_since.is_some()
    }

    pub fn pause(&mut self) {
        if self.paused_since.is_none() {
            self.paused_since = Some(self.ticks);
        }
    }

    pub fn resume(&mut self) {
        if let Some(start) = self.paused_since.take() {
            // A pause/resume within one tick writes nothing: no mark for it.
            if self.ticks > start {
                self.pauses.push(PauseMark {
                    start: ticks_to_duration(start),
                    end: ticks_to_duration(self.ticks),
                });
            }
        }
    }

    /// One tick written (as audio, or as silence when paused).
    pub fn tick(&mut self) {
        self.ticks += 1;
        if self.is_paused() {
            self.paused_ticks += 1;
        }
    }

    /// One tick the writer never received, written as silence.
    pub fn dropped_tick(&mut self) {
        self.ticks += 1;
        self.dropped_ticks += 1;
    }

    pub fn duration(&self) -> Duration {
        ticks_to_duration(self.ticks)
    }

    pub fn paused(&self) -> Duration {
        ticks_to_duration(self.paused_ticks)
    }

    pub fn dropped(&self) -> Duration {
        ticks_to_duration(self.dropped_ticks)
    }

    /// Closes an open pause and hands over the marks.
    pub fn finish(&mut self) -> Vec<PauseMark> {
        self.resume();
        std::mem::take(&mut self.pauses)
    }
}
