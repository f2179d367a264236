//! A `MediaPort` run on another thread: [`Offloaded`] hands each 20 ms tick
//! to a thread of tokio's blocking pool and never waits for it.
//!
//! Why: terminated legs run on the media shards (`shard`), one thread for
//! many calls. A port that may block, such as the spandsp fax terminal
//! (libtiff writes each received page to disk inside `put_frame`), would
//! stall every leg on that shard for as long as the disk takes; on a worker
//! of the main runtime it would hold up SIP and the call tasks. Offloaded
//! to a blocking-pool thread, a slow write delays only that port's audio.
//!
//! Cost: one frame (20 ms) of delay each way, up to `MAX_BACKLOG` after a
//! stall, which fax modems and T.30 timers do not notice. While the worker
//! lags, the leg sends silence. A thread per offloaded port: fax sessions
//! are few.
//!
//! Owns: the two bounded channels and the worker task. Must not touch: what
//! the inner port does; the inner port is dropped on the worker when this
//! handle is dropped (so its `Drop`, e.g. the fax terminal's phase E
//! report, runs there too, shortly after, not during the handle's drop).

use tokio::sync::mpsc;

use super::{AudioFrame, MediaPort};

/// Ticks (and finished frames) in flight at most. A tick the worker cannot
/// take is dropped (`dropped_ticks`); so is a frame the leg does not collect.
const IN_FLIGHT: usize = 6;

/// Frames left waiting after a tick at most (see `get_frame`). Scheduling
/// noise alone makes the backlog swing between 0 and 2, and every frame
/// cut is a hole in the modem signal: only a real stall's backlog is cut.
const MAX_BACKLOG: usize = 3;

/// One tick for the worker: what the leg heard since the last one.
struct Tick {
    heard: Option<AudioFrame>,
}

/// The leg's side of an offloaded port.
pub struct Offloaded {
    rate: u32,
    ticks: mpsc::Sender<Tick>,
    made: mpsc::Receiver<AudioFrame>,
    /// Heard since the last `get_frame`, handed over with the next tick.
    heard: Option<AudioFrame>,
    /// Ticks the worker could not take (it was behind).
    pub dropped_ticks: u64,
}

impl Offloaded {
    /// Starts `port`'s worker on the current runtime's blocking pool.
    pub fn spawn<P: MediaPort + Send + 'static>(mut port: P) -> Offloaded {
        let rate = port.rate();
        let (ticks, mut tick_rx) = mpsc::channel::<Tick>(IN_FLIGHT);
        let (made_tx, made) = mpsc::channel::<AudioFrame>(IN_FLIGHT);
        tokio::task::spawn_blocking(move || {
            let mut out = AudioFrame::silence(rate);
            while let Some(t) = tick_rx.blocking_recv() {
                if let Some(f) = &t.heard {
                    port.put_frame(f);
                }
                if !port.get_frame(&mut out) {
                    out = AudioFrame::silence(rate);
                }
                // Full: the leg is not collecting (it stopped ticking); the
                // frame is stale by the time it would, so it is dropped.
                let _ = made_tx.try_send(out.clone());
            }
            // The handle is gone: `port` drops here, on the worker.
        });
        Offloaded { rate, ticks, made, heard: None, dropped_ticks: 0 }
    }
}

impl MediaPort for Offloaded {
    fn rate(&self) -> u32 {
        self.rate
    }

    fn put_frame(&mut self, frame: &AudioFrame) {
        match &mut self.heard {
            Some(h) => h.clone_from(frame),
            None => self.heard = Some(frame.clone()),
        }
    }

    fn get_frame(&mut self, frame: &mut AudioFrame) -> bool {
        let heard = self.heard.take();
        if self.ticks.try_send(Tick { heard }).is_err() {
            self.dropped_ticks += 1;
        }
        // Frames in order, one per tick: a modem signal with a frame left
        // out is garbage, so none is skipped while the worker keeps pace
        // (whether this tick's frame is already made is a race, so one or
        // two may wait). Only a backlog from a stall is cut back.
        match self.made.try_recv() {
            Ok(f) => frame.clone_from(&f),
            Err(_) => *frame = AudioFrame::silence(self.rate),
        }
        while self.made.len() > MAX_BACKLOG {
            let _ = self.made.try_recv();
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    /// Echoes what it heard, can be made to block in `put_frame`, and tells
    /// when it is dropped.
    struct Echo {
        last: AudioFrame,
        /// Held by the test to make `put_frame` block (a stalled disk).
        gate: Arc<Mutex<()>>,
        dropped: Arc<AtomicBool>,
        thread: Arc<Mutex<Option<std::thread::ThreadId>>>,
    }

    impl MediaPort for Echo {
        fn rate(&self) -> u32 {
            8000
        }
        fn put_frame(&mut self, f: &AudioFrame) {
            *self.thread.lock().unwrap() = Some(std::thread::current().id());
            drop(self.gate.lock());
            self.last.clone_from(f);
        }
        fn get_frame(&mut self, f: &mut AudioFrame) -> bool {
            f.clone_from(&self.last);
            true
        }
    }

    impl Drop for Echo {
        fn drop(&mut self) {
            self.dropped.store(true, Ordering::SeqCst);
        }
    }

    fn frame(v: i16) -> AudioFrame {
        let mut f = AudioFrame::silence(8000);
        f.pcm_mut().fill(v);
        f
    }

    /// Lets the worker run until `cond` holds (bounded).
    async fn until(mut cond: impl FnMut() -> bool) {
        for _ in 0..500 {
            if cond() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        panic!("condition not reached");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn frames_go_through_the_worker_and_a_blocked_port_does_not_block_the_leg() {
        let gate = Arc::new(Mutex::new(()));
        let dropped = Arc::new(AtomicBool::new(false));
        let thread = Arc::new(Mutex::new(None));
        let echo = Echo { last: AudioFrame::silence(8000), gate: gate.clone(), dropped: dropped.clone(), thread: thread.clone() };
        let mut port = Offloaded::spawn(echo);
        let mut out = AudioFrame::silence(8000);

        // Tick 1: silence, or already the echo if the worker was quicker
        // than this thread's next step; then the worker echoes 7.
        port.put_frame(&frame(7));
        assert!(port.get_frame(&mut out));
        assert!(out.pcm().iter().all(|&s| s == 0) || out.pcm().iter().all(|&s| s == 7));
        let mut seen = 0;
        until(|| {
            port.put_frame(&frame(7));
            port.get_frame(&mut out);
            seen = out.pcm()[0];
            seen == 7
        })
        .await;
        assert_ne!(*thread.lock().unwrap(), Some(std::thread::current().id()), "the port ran on the worker");

        // Ticking with time between ticks (the leg's is 20 ms), every frame
        // comes back once and in order, whichever way the race between the
        // tick and the worker goes.
        let mut back = Vec::new();
        for v in 100..160i16 {
            port.put_frame(&frame(v));
            port.get_frame(&mut out);
            back.push(out.pcm()[0]);
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let echoed: Vec<i16> = back.iter().copied().filter(|&v| v >= 100).collect();
        assert!(echoed.len() >= 55, "{back:?}");
        assert!(echoed.windows(2).all(|w| w[1] == w[0] + 1), "a frame skipped or repeated: {back:?}");

        // The inner port blocks (a stalled disk): the leg's calls still
        // return at once, with silence, and count the ticks it missed.
        let stall = gate.lock().unwrap();
        for _ in 0..20 {
            port.put_frame(&frame(9));
            assert!(port.get_frame(&mut out));
        }
        assert!(out.pcm().iter().all(|&s| s == 0), "silence while the port is stuck");
        assert!(port.dropped_ticks > 0);
        drop(stall);
        until(|| {
            port.put_frame(&frame(9));
            port.get_frame(&mut out);
            out.pcm()[0] == 9
        })
        .await;

        // Dropping the handle drops the inner port (on the worker).
        drop(port);
        until(|| dropped.load(Ordering::SeqCst)).await;
    }
}
