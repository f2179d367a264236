//! Call recording: caller and agent audio to WAV (16-bit PCM) or Ogg Opus (RFC 7845), mixed mono or
//! stereo (caller left, agent right).
//!
//! Owns: composing the two legs into the recorded layout, pause accounting (paused time is written as
//! silence and reported as `PauseMark`s, so the file's timeline stays aligned with the call and with
//! any timestamps a QA reviewer sees), the WAV and Ogg Opus writers, the hand-off from the media tick to
//! a writer thread.
//! Must not touch: the database (the caller stores `RecordingInfo`), SIP, the call state machine,
//! resampling (both legs arrive at the recording rate), the clock (time is counted in 20 ms ticks).
//!
//! Two halves, so the media tick never waits for a disk:
//! - tick side: `RecorderTap::write` copies the two frames into a bounded, preallocated channel
//!   (`std::sync::mpsc::sync_channel`, whose slots are allocated once) and returns; if the writer lags
//!   so far that the channel is full the tick is dropped and later written as silence (counted as
//!   `dropped`), never blocking;
//! - writer side: `RecorderDrain::run` (on `spawn_recorder`'s thread, or in `spawn_blocking`) feeds a
//!   `Recorder`, the synchronous encoder + file writer, which is also usable directly in tests and
//!   offline tools.

#![forbid(unsafe_code)]

mod compose;
mod error;
mod ogg_opus;
mod recording;
mod spec;
mod tap;
mod timeline;
mod wav;

#[cfg(test)]
mod tests;

pub use error::RecorderError;
pub use recording::Recorder;
pub use spec::{recording_path, Format, Layout, RecordingInfo};
pub use tap::{
    recording_channel, spawn_recorder, RecorderDrain, RecorderHandle, RecorderTap,
    DEFAULT_QUEUE_TICKS,
};
pub use timeline::PauseMark;
