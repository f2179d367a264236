//! The caller's audio while a dialplan runs: what the caller hears (prompts,
//! ringback, music, or the bridged callee) and an optional capture of what
//! the caller says (voicemail, `record`). A bridged call may have a second
//! party besides the callee (an agent's consultation or a party added to a
//! three-way conference, see `Side`); which leg is "the callee" can change
//! when the agent hands the caller over (`callee_slot`). The media tasks
//! tick the ports every 20 ms; the call task steers the shared state between
//! ticks. Neither side holds the lock across an await, and the ticks never
//! allocate. Owns no sockets and no SIP.

use std::sync::{Arc, Mutex};

use crate::call::apps::ConferencePort;
use crate::dialplan::ops::RecordEnd;
use crate::media::moh::MohListener;
use crate::media::prompt::PromptPlayer;
use crate::media::recorder::RecorderTap;
use crate::media::tone::ToneGenerator;
use crate::media::{AudioFrame, MediaPort};

/// Everything runs at the bridge rate; the legs resample to their codecs.
pub const IVR_RATE: u32 = crate::call::bridge::BRIDGE_RATE;
/// Frames quieter than this peak count as silence (about −40 dBFS): line
/// noise and comfort noise stay below it, speech does not.
const SILENCE_PEAK: i16 = 330;

/// What the caller hears.
pub enum Feed {
    /// The prompt player (silence when it is empty).
    Prompts,
    Ringback(ToneGenerator),
    Music(MohListener),
    /// The callee's audio.
    Bridge,
    /// Another port that also hears the caller (a conference room).
    Port(Box<dyn MediaPort + Send>),
}

/// A capture of the caller's audio with end-of-message detection.
pub struct Capture {
    tap: RecorderTap,
    silence: AudioFrame,
    frames: u64,
    max_frames: u64,
    /// Frames of continuous silence that end the capture (0 = never).
    silence_limit: u64,
    silent_run: u64,
    heard_voice: bool,
    ended: Option<RecordEnd>,
}

impl Capture {
    pub fn new(tap: RecorderTap, max_ms: u64, silence_ms: u64) -> Capture {
        Capture {
            tap,
            silence: AudioFrame::silence(IVR_RATE),
            frames: 0,
            max_frames: (max_ms / 20).max(1),
            silence_limit: silence_ms / 20,
            silent_run: 0,
            heard_voice: false,
            ended: None,
        }
    }

    fn put(&mut self, frame: &AudioFrame) {
        if self.ended.is_some() {
            return;
        }
        let _ = self.tap.write(frame, &self.silence);
        self.frames += 1;
        let peak = frame.pcm().iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
        if peak < SILENCE_PEAK as u16 {
            self.silent_run += 1;
        } else {
            self.silent_run = 0;
            self.heard_voice = true;
        }
        if self.frames >= self.max_frames {
            self.ended = Some(RecordEnd::MaxLength);
        } else if self.silence_limit > 0 && self.silent_run >= self.silence_limit {
            self.ended = Some(RecordEnd::Silence);
        }
    }

    /// Milliseconds captured, and of those the trailing silence.
    pub fn lengths_ms(&self) -> (u64, u64) {
        (self.frames * 20, self.silent_run * 20)
    }

    pub fn heard_voice(&self) -> bool {
        self.heard_voice
    }
}

/// Which of the call's two non-caller legs a port belongs to. The first is
/// the callee a `dial`/`queue` step bridged; the second a party the agent
/// brought in. After a handover the second slot is the caller's callee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    First,
    Second,
}

impl Slot {
    pub fn other(self) -> Slot {
        match self {
            Slot::First => Slot::Second,
            Slot::Second => Slot::First,
        }
    }
}

/// What the second party (if any) is part of.
pub enum Side {
    /// Nobody else, or a second party that is not connected yet.
    None,
    /// The agent consults: they hear this ringback while the second party
    /// rings (the caller hears `feed`, music on hold).
    ConsultRinging(ToneGenerator),
    /// The agent and the second party talk; the caller hears `feed`.
    Consult,
    /// Caller, callee and second party all hear each other (the mixer).
    Conference(ThreeWay),
}

/// The mixer ports of a three-way call. The caller's own port is its
/// `Feed::Port`; these are the callee's and the second party's.
pub struct ThreeWay {
    pub callee: ConferencePort,
    pub second: ConferencePort,
}

pub struct IvrMedia {
    pub player: PromptPlayer,
    pub feed: Feed,
    from_caller: AudioFrame,
    from_callee: AudioFrame,
    pub capture: Option<Capture>,
    /// Recording of a bridged call: (caller, callee) per caller tick.
    pub call_tap: Option<RecorderTap>,
    /// Music for the callee while the caller holds.
    pub moh_for_callee: Option<MohListener>,
    /// The callee hears silence (the agent put the caller on hold).
    pub callee_muted: bool,
    /// A supervisor on the bridged call.
    pub supervisor: Option<SupervisorLink>,
    /// The slot whose leg is bridged to the caller.
    pub callee_slot: Slot,
    /// The other slot's audio (the consulted or added party, or the agent
    /// while they consult after a handover).
    from_second: AudioFrame,
    pub side: Side,
    /// Listening for a fax machine's CNG while the dialplan runs prompts.
    pub fax_listen: Option<FaxListen>,
}

/// CNG detection on the caller's audio (`[fax] detect`): spandsp's
/// detector at 8 kHz, fed by halving the 16 kHz caller frames (a pair
/// average: CNG is 1100 Hz, far below the new Nyquist).
pub struct FaxListen {
    detector: crate::fax::engine::FaxToneDetector,
    narrow: [i16; 160],
    heard: std::sync::Arc<tokio::sync::Notify>,
}

impl FaxListen {
    pub fn new(heard: std::sync::Arc<tokio::sync::Notify>) -> Option<FaxListen> {
        let detector = crate::fax::engine::FaxToneDetector::new(crate::fax::engine::FaxTone::Cng).ok()?;
        Some(FaxListen { detector, narrow: [0; 160], heard })
    }

    /// True once CNG was heard (the owner is told through `heard`).
    fn put(&mut self, frame: &AudioFrame) -> bool {
        let pcm = frame.pcm();
        let n = (pcm.len() / 2).min(self.narrow.len());
        for (i, s) in self.narrow[..n].iter_mut().enumerate() {
            *s = ((i32::from(pcm[2 * i]) + i32::from(pcm[2 * i + 1])) / 2) as i16;
        }
        if self.detector.feed(&self.narrow[..n]) {
            self.heard.notify_one();
            return true;
        }
        false
    }
}

impl IvrMedia {
    pub fn new() -> IvrMedia {
        IvrMedia {
            player: PromptPlayer::new(IVR_RATE),
            feed: Feed::Prompts,
            from_caller: AudioFrame::silence(IVR_RATE),
            from_callee: AudioFrame::silence(IVR_RATE),
            capture: None,
            call_tap: None,
            moh_for_callee: None,
            callee_muted: false,
            supervisor: None,
            callee_slot: Slot::First,
            from_second: AudioFrame::silence(IVR_RATE),
            side: Side::None,
            fax_listen: None,
        }
    }

    /// Why the capture ended, once it has.
    pub fn capture_ended(&self) -> Option<RecordEnd> {
        self.capture.as_ref().and_then(|c| c.ended)
    }
}

impl Default for IvrMedia {
    fn default() -> Self {
        IvrMedia::new()
    }
}

pub type SharedIvr = Arc<Mutex<IvrMedia>>;

/// A supervisor's view of a bridged call: what they hear (caller and agent
/// mixed) and what they say, heard by the agent (whisper) or by both (barge).
#[derive(Debug)]
pub struct Supervision {
    pub mode: crate::dialplan::SuperviseMode,
    /// Caller + agent, written on the caller's tick.
    pub heard: AudioFrame,
    /// The supervisor's voice.
    pub spoken: AudioFrame,
    /// False once either call has ended.
    pub active: bool,
}

pub type SupervisorLink = Arc<Mutex<Supervision>>;

pub fn supervisor_link(mode: crate::dialplan::SuperviseMode) -> SupervisorLink {
    Arc::new(Mutex::new(Supervision { mode, heard: AudioFrame::silence(IVR_RATE), spoken: AudioFrame::silence(IVR_RATE), active: true }))
}

/// Adds `b` into `a` with saturation (same rate and length).
fn mix_into(a: &mut AudioFrame, b: &AudioFrame) {
    for (x, y) in a.pcm_mut().iter_mut().zip(b.pcm()) {
        *x = x.saturating_add(*y);
    }
}

/// The supervisor's own leg.
pub struct SupervisorPort(pub SupervisorLink);

impl MediaPort for SupervisorPort {
    fn rate(&self) -> u32 {
        IVR_RATE
    }
    fn put_frame(&mut self, frame: &AudioFrame) {
        if let Ok(mut s) = self.0.lock() {
            s.spoken.fill(frame.rate, frame.pcm());
        }
    }
    fn get_frame(&mut self, frame: &mut AudioFrame) -> bool {
        let Ok(s) = self.0.lock() else { return false };
        frame.fill(s.heard.rate, s.heard.pcm());
        true
    }
}

/// The caller's leg: hears the feed, speaks into the capture and the bridge.
pub struct CallerPort(pub SharedIvr);

impl MediaPort for CallerPort {
    fn rate(&self) -> u32 {
        IVR_RATE
    }
    fn put_frame(&mut self, frame: &AudioFrame) {
        let Ok(mut m) = self.0.lock() else { return };
        m.from_caller.fill(frame.rate, frame.pcm());
        if let Some(c) = m.capture.as_mut() {
            c.put(frame);
        }
        let IvrMedia { call_tap, from_caller, from_callee, from_second, feed, side, supervisor, .. } = &mut *m;
        if let Some(tap) = call_tap.as_mut() {
            match (&*feed, &*side) {
                (Feed::Bridge, _) => {
                    let _ = tap.write(from_caller, from_callee);
                }
                // Three-way: the other channel carries both other parties
                // (a stack frame, no allocation).
                (Feed::Port(_), Side::Conference(_)) => {
                    let mut others = from_callee.clone();
                    mix_into(&mut others, from_second);
                    let _ = tap.write(from_caller, &others);
                }
                _ => {}
            }
        }
        if let Some(Ok(mut s)) = supervisor.as_ref().map(|l| l.lock()) {
            s.heard.fill(from_caller.rate, from_caller.pcm());
            mix_into(&mut s.heard, from_callee);
        }
        if let Feed::Port(p) = &mut m.feed {
            p.put_frame(frame);
        }
        if m.fax_listen.as_mut().is_some_and(|l| l.put(frame)) {
            m.fax_listen = None;
        }
    }
    fn get_frame(&mut self, frame: &mut AudioFrame) -> bool {
        let Ok(mut m) = self.0.lock() else { return false };
        let IvrMedia { player, feed, from_callee, .. } = &mut *m;
        match feed {
            Feed::Prompts => player.get_frame(frame),
            Feed::Ringback(tone) => tone.get_frame(frame),
            Feed::Music(moh) => moh.get_frame(frame),
            Feed::Bridge => {
                frame.fill(from_callee.rate, from_callee.pcm());
                // Barge: the caller hears the supervisor too.
                if let Some(Ok(s)) = m.supervisor.as_ref().map(|l| l.lock()) {
                    if s.mode == crate::dialplan::SuperviseMode::Barge {
                        mix_into(frame, &s.spoken);
                    }
                }
                true
            }
            Feed::Port(p) => p.get_frame(frame),
        }
    }
    fn get_encoded(&mut self, codec: &str, out: &mut [u8]) -> Option<usize> {
        let mut m = self.0.lock().ok()?;
        match m.feed {
            Feed::Prompts => m.player.get_encoded(codec, out),
            _ => None,
        }
    }
}

/// A non-caller leg: the callee of a dial from the dialplan (or the agent a
/// queue connected), or the second party of a consultation/conference.
pub struct CalleePort {
    shared: SharedIvr,
    slot: Slot,
}

impl CalleePort {
    /// The call's callee (first slot).
    pub fn new(shared: SharedIvr) -> CalleePort {
        CalleePort { shared, slot: Slot::First }
    }
    /// A leg for `slot` (the second party takes the slot that is not the callee's).
    pub fn in_slot(shared: SharedIvr, slot: Slot) -> CalleePort {
        CalleePort { shared, slot }
    }
}

impl MediaPort for CalleePort {
    fn rate(&self) -> u32 {
        IVR_RATE
    }
    fn put_frame(&mut self, frame: &AudioFrame) {
        let Ok(mut m) = self.shared.lock() else { return };
        let is_callee = self.slot == m.callee_slot;
        let IvrMedia { from_callee, from_second, side, .. } = &mut *m;
        if is_callee {
            from_callee.fill(frame.rate, frame.pcm());
        } else {
            from_second.fill(frame.rate, frame.pcm());
        }
        if let Side::Conference(t) = side {
            if is_callee { t.callee.put_frame(frame) } else { t.second.put_frame(frame) }
        }
    }
    fn get_frame(&mut self, frame: &mut AudioFrame) -> bool {
        let Ok(mut m) = self.shared.lock() else { return false };
        let is_callee = self.slot == m.callee_slot;
        let IvrMedia { from_caller, from_callee, from_second, side, moh_for_callee, callee_muted, supervisor, .. } = &mut *m;
        match side {
            Side::Conference(t) => return if is_callee { t.callee.get_frame(frame) } else { t.second.get_frame(frame) },
            // The agent hears ringback, then the consulted party; the
            // consulted party hears the agent.
            Side::ConsultRinging(tone) if is_callee => return tone.get_frame(frame),
            Side::Consult if is_callee => {
                frame.fill(from_second.rate, from_second.pcm());
                return true;
            }
            Side::Consult => {
                frame.fill(from_callee.rate, from_callee.pcm());
                return true;
            }
            // A second party that is not connected hears nothing.
            _ if !is_callee => {
                frame.fill(IVR_RATE, &[]);
                return false;
            }
            _ => {}
        }
        if let Some(moh) = moh_for_callee.as_mut() {
            return moh.get_frame(frame);
        }
        if *callee_muted {
            frame.fill(IVR_RATE, &[]);
            return false;
        }
        frame.fill(from_caller.rate, from_caller.pcm());
        // Whisper and barge: the agent hears the supervisor.
        if let Some(Ok(s)) = supervisor.as_ref().map(|l| l.lock()) {
            if s.mode != crate::dialplan::SuperviseMode::Listen {
                mix_into(frame, &s.spoken);
            }
        }
        true
    }
}

/// 400 ms of 440 Hz at −13 dBm0-ish, the record beep.
pub fn beep() -> Arc<[i16]> {
    let n = IVR_RATE as usize * 400 / 1000;
    let w = 2.0 * std::f64::consts::PI * 440.0 / f64::from(IVR_RATE);
    (0..n).map(|i| (6000.0 * (w * i as f64).sin()) as i16).collect::<Vec<i16>>().into()
}

/// `ms` of silence.
pub fn silence(ms: u32) -> Arc<[i16]> {
    vec![0i16; (IVR_RATE as usize / 1000) * ms as usize].into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::recorder::recording_channel;

    fn frame(level: i16) -> AudioFrame {
        let mut f = AudioFrame::silence(IVR_RATE);
        f.pcm_mut().iter_mut().enumerate().for_each(|(i, s)| *s = if i % 2 == 0 { level } else { -level });
        f
    }

    #[test]
    fn capture_ends_on_silence_after_voice_and_on_max_length() {
        let (tap, _drain) = recording_channel(IVR_RATE, 1000);
        let mut c = Capture::new(tap, 60_000, 1000);
        for _ in 0..25 {
            c.put(&frame(5000));
        }
        assert!(c.heard_voice());
        for _ in 0..49 {
            c.put(&frame(10));
        }
        assert_eq!(c.ended, None, "49 silent frames are 980 ms");
        c.put(&frame(10));
        assert_eq!(c.ended, Some(RecordEnd::Silence));
        assert_eq!(c.lengths_ms(), (1500, 1000));

        let (tap, _drain) = recording_channel(IVR_RATE, 1000);
        let mut c = Capture::new(tap, 100, 0);
        for _ in 0..5 {
            c.put(&frame(10));
        }
        assert_eq!(c.ended, Some(RecordEnd::MaxLength));
        assert!(!c.heard_voice());
    }

    #[test]
    fn caller_port_hears_the_feed_and_the_bridge() {
        let shared: SharedIvr = Arc::new(Mutex::new(IvrMedia::new()));
        let mut caller = CallerPort(shared.clone());
        let mut callee = CalleePort::new(shared.clone());
        callee.put_frame(&frame(1234));
        caller.put_frame(&frame(777));
        let mut out = AudioFrame::silence(IVR_RATE);
        caller.get_frame(&mut out);
        assert!(out.pcm().iter().all(|s| *s == 0), "prompts feed with an empty player is silence");
        shared.lock().unwrap().feed = Feed::Bridge;
        caller.get_frame(&mut out);
        assert_eq!(out.pcm()[0], 1234);
        callee.get_frame(&mut out);
        assert_eq!(out.pcm()[0], 777);
    }

    #[test]
    fn a_consultation_connects_agent_and_second_party_and_a_handover_swaps_the_callee() {
        let shared: SharedIvr = Arc::new(Mutex::new(IvrMedia::new()));
        let mut caller = CallerPort(shared.clone());
        let mut agent = CalleePort::new(shared.clone());
        let mut second = CalleePort::in_slot(shared.clone(), Slot::Second);
        let mut out = AudioFrame::silence(IVR_RATE);
        shared.lock().unwrap().feed = Feed::Bridge;
        caller.put_frame(&frame(700));
        agent.put_frame(&frame(1300));
        second.put_frame(&frame(2100));
        assert!(!second.get_frame(&mut out), "a second party not connected hears nothing");
        assert!(out.pcm().is_empty(), "no frame: the leg sends silence");

        shared.lock().unwrap().side = Side::Consult;
        agent.get_frame(&mut out);
        assert_eq!(out.pcm()[0], 2100, "the agent hears the consulted party");
        second.get_frame(&mut out);
        assert_eq!(out.pcm()[0], 1300, "the consulted party hears the agent");

        // Handover: the second party becomes the caller's callee.
        {
            let mut m = shared.lock().unwrap();
            m.callee_slot = Slot::Second;
            m.side = Side::None;
        }
        second.put_frame(&frame(2100));
        caller.get_frame(&mut out);
        assert_eq!(out.pcm()[0], 2100, "the caller hears the new callee");
        second.get_frame(&mut out);
        assert_eq!(out.pcm()[0], 700, "who hears the caller");
        assert!(!agent.get_frame(&mut out), "the old callee's slot hears nothing");
    }

    #[test]
    fn a_three_way_call_goes_through_the_mixer() {
        let shared: SharedIvr = Arc::new(Mutex::new(IvrMedia::new()));
        let mut caller = CallerPort(shared.clone());
        let mut agent = CalleePort::new(shared.clone());
        let mut second = CalleePort::in_slot(shared.clone(), Slot::Second);
        let [c, a, s] = crate::call::apps::three_way_room().unwrap();
        {
            let mut m = shared.lock().unwrap();
            m.side = Side::Conference(ThreeWay { callee: a, second: s });
            m.feed = Feed::Port(Box::new(c));
        }
        let mut out = AudioFrame::silence(IVR_RATE);
        caller.put_frame(&frame(100));
        agent.put_frame(&frame(1000));
        second.put_frame(&frame(5000));
        caller.get_frame(&mut out);
        assert_eq!(out.pcm()[0], 6000, "the caller hears agent and party");
        agent.get_frame(&mut out);
        assert_eq!(out.pcm()[0], 5100);
        second.get_frame(&mut out);
        assert_eq!(out.pcm()[0], 1100);
    }
}
