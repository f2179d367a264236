//! Applications the appliance answers itself: the IVR test (greeting,
//! digit collection, read-back) and conference rooms. Each is a `MediaPort`
//! the terminated leg feeds every 20 ms, plus digit handling. The ports sit
//! behind a short std Mutex because the media task ticks them while the call
//! task steers them; neither side holds the lock across an await.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::config::AppsConfig;
use crate::media::mixer::{Conference, PartyId, Role, DEFAULT_INTERNAL_RATE, DEFAULT_MAX_TALKERS};
use crate::media::prompt::{say_digits, PromptPlayer, PromptStore};
use crate::media::codec::{CodecKind, Encoder};
use crate::media::{AudioFrame, MediaPort};

/// Prompts are recorded at 16 kHz; the leg resamples to its codec.
pub const PROMPT_RATE: u32 = 16_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppKind {
    IvrTest,
    Conference(String),
    /// The call runs the dialplan entry that matches the dialed number.
    Dialplan,
}

impl AppKind {
    pub fn for_number(cfg: &AppsConfig, dialed: &str) -> Option<AppKind> {
        if !cfg.ivr_test.is_empty() && dialed == cfg.ivr_test {
            return Some(AppKind::IvrTest);
        }
        cfg.conference_rooms.iter().any(|r| r == dialed).then(|| AppKind::Conference(dialed.to_string()))
    }
}

/// A port shared between the media task and the call task.
pub struct Shared<T>(pub Arc<Mutex<T>>);

impl<T: MediaPort> MediaPort for Shared<T> {
    fn rate(&self) -> u32 {
        self.0.lock().map(|p| p.rate()).unwrap_or(PROMPT_RATE)
    }
    fn put_frame(&mut self, frame: &AudioFrame) {
        if let Ok(mut p) = self.0.lock() {
            p.put_frame(frame);
        }
    }
    fn get_frame(&mut self, frame: &mut AudioFrame) -> bool {
        self.0.lock().map(|mut p| p.get_frame(frame)).unwrap_or(false)
    }
    fn get_encoded(&mut self, codec: &str, out: &mut [u8]) -> Option<usize> {
        self.0.lock().ok()?.get_encoded(codec, out)
    }
}

/// The IVR test: plays a greeting, collects digits until `#`, reads them back.
pub struct IvrTest {
    player: Arc<Mutex<PromptPlayer>>,
    prompts: Arc<PromptStore>,
    collected: String,
    /// The leg's codec when prompts can be played pre-encoded for it.
    encoded: Option<CodecKind>,
}

impl IvrTest {
    /// `codec` is the leg's negotiated codec: for G.711 the prompts are
    /// played from a per-codec cache of encoded frames.
    pub fn start(prompts: Arc<PromptStore>, codec: CodecKind) -> (IvrTest, Shared<PromptPlayer>) {
        let player = Arc::new(Mutex::new(PromptPlayer::new(PROMPT_RATE)));
        let encoded = pre_encodable(codec).then_some(codec);
        let ivr = IvrTest { player: player.clone(), prompts, collected: String::new(), encoded };
        ivr.play(&["welcome", "enter-digits"]);
        (ivr, Shared(player))
    }

    fn play<S: AsRef<str>>(&self, names: &[S]) {
        let Ok(mut p) = self.player.lock() else { return };
        match self.encoded {
            Some(codec) => {
                for name in names {
                    let enc = self.prompts.encoded(name.as_ref(), codec.sample_rate(), codec.encoding_name(), |pcm| {
                        encode_frames(codec, pcm)
                    });
                    p.enqueue_encoded(self.prompts.get(name.as_ref(), PROMPT_RATE), enc);
                }
            }
            None => p.enqueue_names(&self.prompts, names),
        }
    }

    /// A digit arrived; returns the digits collected when `#` ends entry.
    pub fn on_digit(&mut self, digit: char) -> Option<String> {
        // Barge-in: a key press stops the prompt that is playing.
        if let Ok(mut p) = self.player.lock() {
            p.clear();
        }
        if digit == '#' {
            let entered = std::mem::take(&mut self.collected);
            let mut names: Vec<&str> = vec!["you-entered"];
            names.extend(say_digits(&entered));
            self.play(&names);
            return Some(entered);
        }
        if self.collected.len() < 32 {
            self.collected.push(digit);
        }
        None
    }
}

/// Stateless codecs can splice frames encoded in advance into a live
/// stream exactly; G.722 and Opus carry predictor state, so they encode live.
fn pre_encodable(codec: CodecKind) -> bool {
    matches!(codec, CodecKind::Pcmu | CodecKind::Pcma)
}

/// A whole prompt as 20 ms payloads (the last frame padded with silence).
fn encode_frames(codec: CodecKind, pcm: &[i16]) -> Vec<Vec<u8>> {
    let Ok(mut enc) = codec.new_encoder() else { return Vec::new() };
    let rate = codec.sample_rate();
    let n = crate::media::samples_per_frame(rate);
    let mut frame = AudioFrame::silence(rate);
    let mut out = vec![0u8; 1500];
    pcm.chunks(n)
        .filter_map(|chunk| {
            frame.clear();
            frame.len = n;
            frame.samples[..chunk.len()].copy_from_slice(chunk);
            let len = enc.encode(&frame, &mut out).ok()?;
            Some(out[..len].to_vec())
        })
        .collect()
}

/// One conference room: the mixer plus when it last mixed. Mixing happens
/// lazily on the first `get` of each 20 ms period, so no extra task ticks
/// the room; a party's input joins the mix at most one period late.
pub struct Room {
    conf: Conference,
    last_mix: Option<Instant>,
}

impl Room {
    fn mix_if_due(&mut self, now: Instant) {
        let due = self.last_mix.map(|t| now.saturating_duration_since(t).as_millis() >= 19).unwrap_or(true);
        if due {
            self.conf.mix();
            self.last_mix = Some(now);
        }
    }
    pub fn len(&self) -> usize {
        self.conf.len()
    }
    pub fn is_empty(&self) -> bool {
        self.conf.is_empty()
    }
}

/// All rooms, created on first join and dropped when the last party leaves.
#[derive(Default)]
pub struct Rooms {
    rooms: Mutex<HashMap<String, Arc<Mutex<Room>>>>,
    /// Which party each call is, for whisper targets.
    parties: Mutex<HashMap<String, PartyId>>,
}

impl Rooms {
    /// Joins `room` as call `call_id`, returning the party's port.
    pub fn join(&self, room: &str, call_id: &str) -> Option<ConferencePort> {
        let mut rooms = self.rooms.lock().ok()?;
        let entry = match rooms.get(room) {
            Some(r) => r.clone(),
            None => {
                let conf = Conference::new(DEFAULT_INTERNAL_RATE, DEFAULT_MAX_TALKERS).ok()?;
                let r = Arc::new(Mutex::new(Room { conf, last_mix: None }));
                rooms.insert(room.to_string(), r.clone());
                r
            }
        };
        let party = entry.lock().ok()?.conf.add_party(Role::Normal).ok()?;
        if let Ok(mut p) = self.parties.lock() {
            p.insert(call_id.to_string(), party);
        }
        Some(ConferencePort { room: entry, party, name: room.to_string(), call_id: call_id.to_string() })
    }

    /// Leaves; the room goes away with its last party.
    pub fn leave(&self, port: &ConferencePort) {
        if let Ok(mut p) = self.parties.lock() {
            p.remove(&port.call_id);
        }
        let Ok(mut rooms) = self.rooms.lock() else { return };
        let empty = match port.room.lock() {
            Ok(mut r) => {
                let _ = r.conf.remove_party(port.party);
                r.is_empty()
            }
            Err(_) => true,
        };
        if empty {
            rooms.remove(&port.name);
        }
    }

    /// Mutes (the room stops hearing the party) or makes deaf (the party
    /// stops hearing the room).
    pub fn control(&self, port: &ConferencePort, action: &super::ConferenceAction) -> Result<(), String> {
        use super::ConferenceAction::*;
        let target = match action {
            Whisper { to } => Some(
                self.parties
                    .lock()
                    .ok()
                    .and_then(|p| p.get(to).copied())
                    .ok_or_else(|| format!("no live call {to} in a conference"))?,
            ),
            _ => None,
        };
        let mut room = port.room.lock().map_err(|_| "room poisoned".to_string())?;
        let r = match (action, target) {
            (Mute, _) => room.conf.set_muted(port.party, true),
            (Unmute, _) => room.conf.set_muted(port.party, false),
            (Deaf, _) => room.conf.set_deaf(port.party, true),
            (Undeaf, _) => room.conf.set_deaf(port.party, false),
            (Listen, _) => room.conf.set_role(port.party, Role::Listen),
            (Barge, _) => room.conf.set_role(port.party, Role::Barge),
            (Whisper { .. }, Some(to)) => room.conf.set_role(port.party, Role::Whisper { to }),
            (Whisper { .. }, None) => return Err("no whisper target".into()),
        };
        r.map_err(|e| e.to_string())
    }

    /// Parties in `room` right now.
    pub fn size(&self, room: &str) -> usize {
        self.rooms
            .lock()
            .ok()
            .and_then(|r| r.get(room).cloned())
            .and_then(|r| r.lock().ok().map(|r| r.len()))
            .unwrap_or(0)
    }
}

/// The bridged legs and the mixer exchange frames without resampling.
const _: () = assert!(DEFAULT_INTERNAL_RATE == super::bridge::BRIDGE_RATE);

/// A room of its own for one call's three-way conference (caller, callee,
/// added party, in that order), known to nobody else: no name, no whisper
/// targets, no join/leave tones (the agent asked for the party and the
/// phones say who joined). The room goes away with its last port.
pub fn three_way_room() -> Option<[ConferencePort; 3]> {
    let mut conf = Conference::new(DEFAULT_INTERNAL_RATE, DEFAULT_MAX_TALKERS).ok()?;
    conf.set_join_leave_tones(false);
    let ids = [conf.add_party(Role::Normal).ok()?, conf.add_party(Role::Normal).ok()?, conf.add_party(Role::Normal).ok()?];
    let room = Arc::new(Mutex::new(Room { conf, last_mix: None }));
    Some(ids.map(|party| ConferencePort { room: room.clone(), party, name: String::new(), call_id: String::new() }))
}

/// A party's view of its room: its voice in, everyone else's mix out.
#[derive(Clone)]
pub struct ConferencePort {
    room: Arc<Mutex<Room>>,
    party: PartyId,
    name: String,
    call_id: String,
}

impl MediaPort for ConferencePort {
    fn rate(&self) -> u32 {
        DEFAULT_INTERNAL_RATE
    }
    fn put_frame(&mut self, frame: &AudioFrame) {
        if let Ok(mut r) = self.room.lock() {
            let _ = r.conf.put(self.party, frame);
        }
    }
    fn get_frame(&mut self, frame: &mut AudioFrame) -> bool {
        let Ok(mut r) = self.room.lock() else { return false };
        r.mix_if_due(Instant::now());
        r.conf.get(self.party, frame).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_map_to_apps() {
        let cfg = AppsConfig { ivr_test: "7000".into(), conference_rooms: vec!["8000".into()], supervisors: vec![] };
        assert_eq!(AppKind::for_number(&cfg, "7000"), Some(AppKind::IvrTest));
        assert_eq!(AppKind::for_number(&cfg, "8000"), Some(AppKind::Conference("8000".into())));
        assert_eq!(AppKind::for_number(&cfg, "1001"), None);
        let off = AppsConfig { ivr_test: String::new(), conference_rooms: vec![], supervisors: vec![] };
        assert_eq!(AppKind::for_number(&off, ""), None);
    }

    #[test]
    fn a_three_way_room_mixes_each_party_for_the_other_two() {
        let [mut a, mut b, mut c] = three_way_room().unwrap();
        let level = |v: i16| {
            let mut f = AudioFrame::silence(DEFAULT_INTERNAL_RATE);
            f.pcm_mut().fill(v);
            f
        };
        // Two ticks: the first mix may run before every party put its frame.
        let mut out = AudioFrame::silence(DEFAULT_INTERNAL_RATE);
        for _ in 0..2 {
            a.put_frame(&level(100));
            b.put_frame(&level(1000));
            c.put_frame(&level(5000));
            std::thread::sleep(std::time::Duration::from_millis(21));
            a.get_frame(&mut out);
        }
        assert_eq!(out.pcm()[0], 6000, "a hears b + c");
        b.get_frame(&mut out);
        assert_eq!(out.pcm()[0], 5100, "b hears a + c");
        c.get_frame(&mut out);
        assert_eq!(out.pcm()[0], 1100, "c hears a + b");
    }

    #[test]
    fn rooms_come_and_go_with_parties() {
        let rooms = Rooms::default();
        let a = rooms.join("8000", "call-a").unwrap();
        let b = rooms.join("8000", "call-b").unwrap();
        assert_eq!(rooms.size("8000"), 2);
        rooms.leave(&a);
        assert_eq!(rooms.size("8000"), 1);
        rooms.leave(&b);
        assert_eq!(rooms.size("8000"), 0);
    }
}
