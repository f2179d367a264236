//! Bridged calls through the media engine instead of the packet relay:
//! both legs are terminated (each with its own negotiated codec, so
//! different codecs are transcoded), their audio meets in a pair of ports
//! at 16 kHz, digits are regenerated as RFC 4733 on the other leg, and the
//! call can be recorded. Used when `recording.mode` is not `off`, and to
//! transcode when the caller offers no codec the callee's list allows.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

use super::Ctx;
use crate::config::{RecordingFormat, RecordingLayout};
use crate::media::endpoint::{self, EndpointEvent, EndpointHandle, LegMedia};
use crate::media::quality::LegQuality;
use crate::media::recorder::{recording_path, spawn_recorder, Format, Layout, Recorder, RecorderHandle, RecorderTap};
use crate::media::moh::{MohListener, StartAt};
use crate::media::{AudioFrame, MediaPort, PortPair};
use crate::store::RecordingSummary;

/// Rate the two legs exchange audio at (and recordings are written at).
pub const BRIDGE_RATE: u32 = 16_000;
/// Writer queue: two seconds of ticks.
const RECORDER_QUEUE_TICKS: usize = 100;

struct BridgeState {
    from_a: AudioFrame,
    from_b: AudioFrame,
    tap: Option<RecorderTap>,
    /// Music for the caller while the callee holds, and for the callee
    /// while the caller holds.
    moh_for_a: Option<MohListener>,
    moh_for_b: Option<MohListener>,
    /// Each leg's decoded audio is narrowband (its codec runs at 8 kHz).
    narrowband_a: bool,
    narrowband_b: bool,
}

impl BridgeState {
    /// Silence both ways, no recording, no music.
    fn new(narrowband_a: bool, narrowband_b: bool) -> BridgeState {
        BridgeState {
            from_a: AudioFrame::silence(BRIDGE_RATE),
            from_b: AudioFrame::silence(BRIDGE_RATE),
            tap: None,
            moh_for_a: None,
            moh_for_b: None,
            narrowband_a,
            narrowband_b,
        }
    }
}

/// One leg's view of the bridge: its audio in, the other leg's out.
struct BridgePort {
    state: Arc<Mutex<BridgeState>>,
    is_a: bool,
    /// What the last `get_frame` handed out was narrowband: the other
    /// leg's audio from an 8 kHz codec, not music on hold.
    narrowband: bool,
}

impl MediaPort for BridgePort {
    fn rate(&self) -> u32 {
        BRIDGE_RATE
    }
    fn put_frame(&mut self, frame: &AudioFrame) {
        let Ok(mut s) = self.state.lock() else { return };
        if self.is_a {
            s.from_a.fill(frame.rate, frame.pcm());
            // The caller's tick is the recording clock: write the pair
            // (caller, callee) once per 20 ms.
            let BridgeState { from_a, from_b, tap, .. } = &mut *s;
            if let Some(t) = tap.as_mut() {
                let _ = t.write(from_a, from_b);
            }
        } else {
            s.from_b.fill(frame.rate, frame.pcm());
        }
    }
    fn get_frame(&mut self, frame: &mut AudioFrame) -> bool {
        let Ok(mut s) = self.state.lock() else { return false };
        let moh = if self.is_a { s.moh_for_a.as_mut() } else { s.moh_for_b.as_mut() };
        if let Some(m) = moh {
            self.narrowband = false;
            return m.get_frame(frame);
        }
        self.narrowband = if self.is_a { s.narrowband_b } else { s.narrowband_a };
        let other = if self.is_a { &s.from_b } else { &s.from_a };
        frame.fill(other.rate, other.pcm());
        true
    }
    fn narrowband(&self) -> bool {
        self.narrowband
    }
}

/// A call recording being written: its writer thread and its row. The
/// audio goes in through the `RecorderTap` `start` returns.
pub struct Recording {
    row: Option<i64>,
    handle: RecorderHandle,
}

impl Recording {
    /// Creates `<data>/recordings/<call id>-<ms>.<ext>` in the configured
    /// format and layout at the bridge rate, and inserts its row.
    pub async fn start(ctx: &Ctx, call_id: &str) -> Result<(RecorderTap, Recording), String> {
        let format = match ctx.config.recording.format {
            RecordingFormat::Wav => Format::Wav,
            RecordingFormat::Opus => Format::OggOpus,
        };
        let layout = match ctx.config.recording.layout {
            RecordingLayout::Mono => Layout::Mono,
            RecordingLayout::Stereo => Layout::Stereo,
        };
        let name = format!("{call_id}-{}", crate::store::unix_ms());
        let path = recording_path(&ctx.data_dir, &name, format);
        let recorder = Recorder::create(&path, format, layout, BRIDGE_RATE).map_err(|e| e.to_string())?;
        let (tap, handle) = spawn_recorder(recorder, RECORDER_QUEUE_TICKS).map_err(|e| e.to_string())?;
        let row = ctx
            .store
            .start_recording_row(call_id, &path.display().to_string(), format.extension(), layout.as_str(), BRIDGE_RATE)
            .await
            .map_err(|e| tracing::warn!("recording row not written: {e}"))
            .ok();
        tracing::info!(path = %path.display(), "recording started");
        Ok((tap, Recording { row, handle }))
    }

    /// Waits for the writer (the tap must be dropped first) and completes the row.
    pub async fn finish(self, ctx: &Ctx) {
        let handle = self.handle;
        let info = tokio::task::spawn_blocking(move || handle.join()).await;
        let summary = match info {
            Ok(Ok(i)) => {
                tracing::info!(path = %i.path.display(), secs = i.duration.as_secs_f64(), "recording finished");
                Some(RecordingSummary {
                    duration_ms: i.duration.as_millis() as i64,
                    bytes: i.bytes as i64,
                    paused_ms: i.paused.as_millis() as i64,
                    pauses: i.pauses.iter().map(|p| (p.start.as_millis() as i64, p.end.as_millis() as i64)).collect(),
                    dropped_ms: i.dropped.as_millis() as i64,
                })
            }
            Ok(Err(e)) => {
                tracing::warn!("recording failed: {e}");
                None
            }
            Err(e) => {
                tracing::warn!("recording writer: {e}");
                None
            }
        };
        if let Some(row) = self.row {
            if let Err(e) = ctx.store.finish_recording_row(row, summary.as_ref()).await {
                tracing::warn!("recording row not completed: {e}");
            }
        }
    }
}

/// What one side of the bridge needs to start.
pub struct BridgeLeg {
    pub pair: PortPair,
    pub media: LegMedia,
    pub remote: Option<(SocketAddr, Option<SocketAddr>)>,
}

pub struct MediaBridge {
    pub a: EndpointHandle,
    pub b: EndpointHandle,
    events: mpsc::UnboundedReceiver<(bool, EndpointEvent)>,
    state: Arc<Mutex<BridgeState>>,
    recording: Option<Recording>,
}

impl MediaBridge {
    pub fn start(a: BridgeLeg, b: BridgeLeg, inactivity: Duration) -> MediaBridge {
        let narrowband = |leg: &BridgeLeg| leg.media.codec().sample_rate() <= 8000;
        let state = Arc::new(Mutex::new(BridgeState::new(narrowband(&a), narrowband(&b))));
        let port = |is_a| BridgePort { state: state.clone(), is_a, narrowband: false };
        let (a_handle, a_events) = endpoint::spawn(a.pair, a.media, port(true), a.remote, inactivity);
        let (b_handle, b_events) = endpoint::spawn(b.pair, b.media, port(false), b.remote, inactivity);
        // One stream of events, tagged with the side, for the call's select loop.
        let (tx, rx) = mpsc::unbounded_channel();
        for (is_a, mut evs) in [(true, a_events), (false, b_events)] {
            let tx = tx.clone();
            tokio::spawn(async move {
                while let Some(e) = evs.recv().await {
                    if tx.send((is_a, e)).is_err() {
                        return;
                    }
                }
            });
        }
        MediaBridge { a: a_handle, b: b_handle, events: rx, state, recording: None }
    }

    /// The next media event: `(true, ..)` from the caller's leg.
    pub async fn next_event(&mut self) -> Option<(bool, EndpointEvent)> {
        self.events.recv().await
    }

    /// Starts recording into `<data>/recordings/<call id>-<n>.<ext>` and
    /// inserts its row.
    pub async fn start_recording(&mut self, ctx: &Ctx, call_id: &str) -> Result<(), String> {
        if self.recording.is_some() {
            return Err("already recording".into());
        }
        let (tap, rec) = Recording::start(ctx, call_id).await?;
        if let Ok(mut s) = self.state.lock() {
            s.tap = Some(tap);
        }
        self.recording = Some(rec);
        Ok(())
    }

    pub fn pause_recording(&self, pause: bool) -> Result<(), String> {
        if self.recording.is_none() {
            return Err("not recording".into());
        }
        let mut s = self.state.lock().map_err(|_| "bridge poisoned".to_string())?;
        if let Some(t) = s.tap.as_mut() {
            if pause {
                t.pause();
            } else {
                t.resume();
            }
        }
        tracing::info!(paused = pause, "recording paused state changed");
        Ok(())
    }

    /// `caller_holds`: the caller put the call on hold (or took it off);
    /// the other party hears music on hold meanwhile.
    pub fn set_hold(&self, ctx: &Ctx, caller_holds: bool, held: bool) {
        let listener = held.then(|| ctx.moh.listener(&ctx.config.media.moh_class, BRIDGE_RATE, StartAt::Global));
        if let Ok(mut s) = self.state.lock() {
            let slot = if caller_holds { &mut s.moh_for_b } else { &mut s.moh_for_a };
            if slot.is_some() != held {
                tracing::info!(caller_holds, held, "music on hold");
            }
            *slot = listener;
        }
    }

    /// Ends the recording (if any) and completes its row.
    pub async fn stop_recording(&mut self, ctx: &Ctx) -> Result<(), String> {
        let Some(rec) = self.recording.take() else { return Err("not recording".into()) };
        // Dropping the tap ends the writer.
        if let Ok(mut s) = self.state.lock() {
            s.tap = None;
        }
        rec.finish(ctx).await;
        Ok(())
    }

    /// Stops both legs (and any recording); returns (caller, callee) quality.
    pub async fn shutdown(mut self, ctx: &Ctx) -> (Option<LegQuality>, Option<LegQuality>) {
        if self.recording.is_some() {
            let _ = self.stop_recording(ctx).await;
        }
        let a = self.a.shutdown().await;
        let b = self.b.shutdown().await;
        (a, b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::moh::{MohClass, MohListener};

    /// Each side's port says its audio is narrowband exactly when the other
    /// leg's codec runs at 8 kHz, and not while it plays music on hold.
    #[test]
    fn a_port_is_narrowband_when_the_other_leg_is_and_no_music_plays() {
        // A caller on Opus, a callee on G.711.
        let state = Arc::new(Mutex::new(BridgeState::new(false, true)));
        let mut a = BridgePort { state: state.clone(), is_a: true, narrowband: false };
        let mut b = BridgePort { state: state.clone(), is_a: false, narrowband: false };
        let mut frame = AudioFrame::silence(BRIDGE_RATE);
        assert!(a.get_frame(&mut frame) && b.get_frame(&mut frame));
        assert!(a.narrowband(), "the caller hears the G.711 callee");
        assert!(!b.narrowband(), "the callee hears the Opus caller");
        let music = MohClass::from_pcm("test", BRIDGE_RATE, vec![1000i16; 3200].into());
        state.lock().unwrap().moh_for_a = Some(MohListener::new(Arc::new(music), StartAt::Global));
        assert!(a.get_frame(&mut frame));
        assert!(!a.narrowband(), "music on hold may be wideband");
        state.lock().unwrap().moh_for_a = None;
        assert!(a.get_frame(&mut frame));
        assert!(a.narrowband(), "the callee again");
    }
}
