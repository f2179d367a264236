//! The hand-off between the media tick and the writer: a bounded channel of whole ticks.
//!
//! `std::sync::mpsc::sync_channel(n)` allocates its n slots up front and `try_send` never blocks or
//! allocates, which is exactly the contract of the tick: copy 2 × 20 ms, return. Each tick carries a
//! sequence number, so ticks dropped on overflow become silence at the right place in the file instead
//! of shortening it (the recording stays as long as the call).

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError, TrySendError};
use std::thread::JoinHandle;

use super::error::RecorderError;
use super::recording::{check_frame, Recorder};
use super::spec::RecordingInfo;
use crate::media::{samples_per_frame, AudioFrame};

/// Default queue: 2 s of ticks (~7.7 kB each) rides out a slow disk or a busy core.
pub const DEFAULT_QUEUE_TICKS: usize = 100;

struct Tick {
    seq: u64,
    paused: bool,
    caller: AudioFrame,
    agent: AudioFrame,
}

/// Tick side of a recording: owned by whoever drives the call's media. Dropping it ends the recording
/// (the writer drains what is queued, then finishes the file).
pub struct RecorderTap {
    tx: SyncSender<Tick>,
    seq: u64,
    paused: bool,
    rate: u32,
    samples: usize,
    dropped: u64,
}

/// Writer side: drains the queue into a `Recorder`.
pub struct RecorderDrain {
    rx: Receiver<Tick>,
}

/// A bounded channel from the tick (`RecorderTap`) to the writer (`RecorderDrain`) for legs at `rate`,
/// holding up to `queue_ticks` ticks. Creating it allocates; using it does not.
pub fn recording_channel(rate: u32, queue_ticks: usize) -> (RecorderTap, RecorderDrain) {
    let (tx, rx) = sync_channel(queue_ticks.max(1));
    let tap = RecorderTap {
        tx,
        seq: 0,
        paused: false,
        rate,
        samples: samples_per_frame(rate),
        dropped: 0,
    };
    (tap, RecorderDrain { rx })
}

/// Runs `recorder` on its own named thread behind a tap. One thread per recording keeps a slow file
/// from delaying any other; the lead may instead run `RecorderDrain::run` in `spawn_blocking`.
pub fn spawn_recorder(
    recorder: Recorder,
    queue_ticks: usize,
) -> Result<(RecorderTap, RecorderHandle), RecorderError> {
    let (tap, drain) = recording_channel(recorder.rate(), queue_ticks);
    let thread = std::thread::Builder::new()
        .name("recorder".into())
        .spawn(move || drain.run(recorder))?;
    Ok((tap, RecorderHandle { thread }))
}

/// The writer thread; `join` after dropping the tap to get the result.
pub struct RecorderHandle {
    thread: JoinHandle<Result<RecordingInfo, RecorderError>>,
}

impl RecorderHandle {
    /// Waits for the writer to drain and finish the file. Blocks: call it off the media tick.
    pub fn join(self) -> Result<RecordingInfo, RecorderError> {
        self.thread
            .join()
            .map_err(|_| RecorderError::WriterPanicked)?
    }
}

impl RecorderTap {
    /// Queues one tick. Never blocks, never allocates. A full queue drops the tick (it is recorded as
    /// silence and counted in `RecordingInfo::dropped`); a stopped writer is `WriterGone`.
    pub fn write(&mut self, caller: &AudioFrame, agent: &AudioFrame) -> Result<(), RecorderError> {
        let seq = self.seq;
        self.seq += 1;
        check_frame(self.rate, self.samples, caller)?;
        check_frame(self.rate, self.samples, agent)?;
        let tick = Tick {
            seq,
            paused: self.paused,
            caller: caller.clone(),
            agent: agent.clone(),
        };
        match self.tx.try_send(tick) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => {
                self.dropped += 1;
                if self.dropped.is_power_of_two() {
                    tracing::warn!(
                        dropped = self.dropped,
                        "recording writer behind; ticks written as silence"
                    );
                }
                Ok(())
            }
            Err(TrySendError::Disconnected(_)) => Err(RecorderError::WriterGone),
        }
    }

    /// Pauses capture from the next tick on (silence is written until `resume`).
    pub fn pause(&mut self) {
        self.paused = true;
    }

    pub fn resume(&mut self) {
        self.paused = false;
    }

    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Ticks dropped so far because the writer was behind.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

impl RecorderDrain {
    /// Writes queued ticks until the tap is dropped, then finishes the file. Blocking: a thread or
    /// `spawn_blocking`. On an error the file is still closed (best effort) and the error returned.
    pub fn run(self, mut recorder: Recorder) -> Result<RecordingInfo, RecorderError> {
        let mut expected = 0u64;
        let result = loop {
            let tick = match self.rx.recv() {
                Ok(t) => t,
                Err(_) => break Ok(()),
            };
            if let Err(e) = self.write_tick(&mut recorder, &mut expected, tick) {
                break Err(e);
            }
        };
        // Drop the receiver first so a still-running tap sees `WriterGone` at once.
        drop(self.rx);
        match result {
            Ok(()) => recorder.finish(),
            Err(e) => {
                tracing::error!(error = %e, "recording failed; closing the partial file");
                let _ = recorder.finish();
                Err(e)
            }
        }
    }

    /// Non-blocking variant for a caller that polls: writes what is queued and returns whether the tap
    /// is still alive.
    pub fn drain_ready(
        &self,
        recorder: &mut Recorder,
        expected: &mut u64,
    ) -> Result<bool, RecorderError> {
        loop {
            match self.rx.try_recv() {
                Ok(t) => self.write_tick(recorder, expected, t)?,
                Err(TryRecvError::Empty) => return Ok(true),
                Err(TryRecvError::Disconnected) => return Ok(false),
            }
        }
    }

    fn write_tick(
        &self,
        recorder: &mut Recorder,
        expected: &mut u64,
        tick: Tick,
    ) -> Result<(), RecorderError> {
        if tick.seq > *expected {
            recorder.write_dropped(tick.seq - *expected)?;
        }
        *expected = tick.seq + 1;
        if tick.paused != recorder.is_paused() {
            if tick.paused {
                recorder.pause();
            } else {
                recorder.resume();
            }
        }
        recorder.write(&tick.caller, &tick.agent)
    }
}
