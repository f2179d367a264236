//! G.711 audio fax on a call's media port: the spandsp audio terminal as a
//! `MediaPort`, so the caller's leg (its jitter buffer, codec and RTP) stays
//! what it is and only what the caller hears and what we listen to change.
//! The port runs at the call's rate (16 kHz in the IVR) and converts to the
//! 8 kHz the modems work at, both ways. Phase events go to the owner over a
//! channel; the port never blocks and allocates only when spandsp reports
//! an event. Owns no socket and no SIP.

use tokio::sync::mpsc;

use super::engine::{AudioTerminal, FaxConfig, FaxError, FaxEvent, FaxTone, FaxToneDetector};
use crate::media::resample::{Resample, Resampler};
use crate::media::{AudioFrame, MediaPort};

const FAX_RATE: u32 = 8000;

pub struct FaxAudioPort {
    terminal: AudioTerminal,
    rate: u32,
    /// `rate` -> 8 kHz for what we hear, 8 kHz -> `rate` for what we send;
    /// `None` when the port already runs at 8 kHz.
    down: Option<Resampler>,
    up: Option<Resampler>,
    narrow: AudioFrame,
    /// Listens for the far end's fax tone (a reason to switch to T.38);
    /// dropped once heard.
    tone: Option<FaxToneDetector>,
    events: mpsc::UnboundedSender<AudioFaxEvent>,
}

/// What the port reports.
#[derive(Debug, Clone, PartialEq)]
pub enum AudioFaxEvent {
    /// The far end's fax tone was heard (CNG from a sender, CED or V.21
    /// preamble from a receiver).
    ToneHeard,
    Fax(FaxEvent),
}

impl FaxAudioPort {
    /// A port at `rate` Hz running `config`; events arrive on the returned
    /// receiver (phase E exactly once, also when the port is dropped early).
    pub fn new(config: &FaxConfig, rate: u32) -> Result<(FaxAudioPort, mpsc::UnboundedReceiver<AudioFaxEvent>), FaxError> {
        let terminal = AudioTerminal::new(config)?;
        // A calling sender hears CED/preamble from the far end; anyone else
        // (we answered, or we call to receive) hears the sender's CNG.
        let listen_for = match (&config.document, config.calling_party) {
            (super::engine::Document::Send { .. }, true) => FaxTone::CedOrPreamble,
            _ => FaxTone::Cng,
        };
        let tone = Some(FaxToneDetector::new(listen_for)?);
        let (down, up) = if rate == FAX_RATE {
            (None, None)
        } else {
            let down = Resampler::new(rate, FAX_RATE).map_err(|_| FaxError::Init("resampler"))?;
            let up = Resampler::new(FAX_RATE, rate).map_err(|_| FaxError::Init("resampler"))?;
            (Some(down), Some(up))
        };
        let (tx, rx) = mpsc::unbounded_channel();
        Ok((FaxAudioPort { terminal, rate, down, up, narrow: AudioFrame::silence(FAX_RATE), tone, events: tx }, rx))
    }

    fn forward_events(&mut self) {
        while let Some(ev) = self.terminal.poll_event() {
            let _ = self.events.send(AudioFaxEvent::Fax(ev));
        }
    }
}

impl MediaPort for FaxAudioPort {
    fn rate(&self) -> u32 {
        self.rate
    }

    fn put_frame(&mut self, frame: &AudioFrame) {
        match self.down.as_mut() {
            Some(down) => down.process(frame, &mut self.narrow),
            None => self.narrow.fill(FAX_RATE, frame.pcm()),
        }
        self.terminal.receive_audio(self.narrow.pcm());
        if self.tone.as_mut().is_some_and(|t| t.feed(self.narrow.pcm())) {
            self.tone = None;
            let _ = self.events.send(AudioFaxEvent::ToneHeard);
        }
        self.forward_events();
    }

    fn get_frame(&mut self, frame: &mut AudioFrame) -> bool {
        let mut narrow = AudioFrame::silence(FAX_RATE);
        self.terminal.transmit_audio(narrow.pcm_mut());
        match self.up.as_mut() {
            Some(up) => up.process(&narrow, frame),
            None => frame.fill(FAX_RATE, narrow.pcm()),
        }
        self.forward_events();
        true
    }
}

impl Drop for FaxAudioPort {
    fn drop(&mut self) {
        // Phase E (call dropped) for a session cut short, so the owner always
        // hears how it ended.
        self.terminal.terminate();
        self.forward_events();
    }
}
