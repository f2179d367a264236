//! Who is in a conference and what they may hear and say.

use super::talkers::Level;

/// Handle to one party. Carries the slot index (O(1) look-up on the hot path) and the slot's
/// generation, so a stale id of a removed party never addresses the party that reused its slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PartyId {
    pub(super) slot: u32,
    pub(super) gen: u32,
}

impl std::fmt::Display for PartyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.slot, self.gen)
    }
}

/// What a party says to whom. Hearing is the same for every role (everything audible except one's own
/// voice) unless the party is deaf.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// An ordinary participant: everyone hears them (subject to loudest-N selection).
    Normal,
    /// Silent monitoring by a supervisor: hears everyone, nobody hears them. Never counted as a talker,
    /// and joining plays no tone (the monitored parties must not notice).
    Listen,
    /// Coaching: only `to` (the agent) hears them; they hear everyone. Bypasses loudest-N selection so
    /// the coach is never cut off by a loud caller. If `to` leaves, the whisper reaches nobody until the
    /// role is changed.
    Whisper { to: PartyId },
    /// A supervisor taking part in the call: exactly `Normal` for mixing, kept distinct for reporting.
    Barge,
}

impl Role {
    /// Whether the party's voice goes into the common mix.
    pub(super) fn speaks_to_all(self) -> bool {
        matches!(self, Role::Normal | Role::Barge)
    }
}

/// Per-party state and buffers. The buffers are allocated once for the slot, in `add_party`, and
/// survive `remove_party` so the next party in the slot reuses them.
pub(super) struct Slot {
    pub gen: u32,
    pub occupied: bool,
    pub role: Role,
    pub muted: bool,
    pub deaf: bool,
    /// A frame was `put` since the last `mix`; otherwise the party is silent this tick.
    pub fresh: bool,
    /// The party's voice was in the common mix this tick (so it is subtracted from what it hears).
    pub in_mix: bool,
    /// Something was whispered to this party this tick (`whisper` holds it).
    pub whispered: bool,
    pub level: Level,
    /// This tick's input, one 20 ms frame at the conference rate.
    pub input: Box<[i16]>,
    /// Sum of what whisperers said to this party this tick.
    pub whisper: Box<[i32]>,
    /// This party's mix-minus, ready for `get`.
    pub output: Box<[i16]>,
}

impl Slot {
    pub fn new(samples: usize) -> Slot {
        Slot {
            gen: 0,
            occupied: false,
            role: Role::Normal,
            muted: false,
            deaf: false,
            fresh: false,
            in_mix: false,
            whispered: false,
            level: Level::default(),
            input: vec![0; samples].into_boxed_slice(),
            whisper: vec![0; samples].into_boxed_slice(),
            output: vec![0; samples].into_boxed_slice(),
        }
    }

    /// Makes a vacant slot a fresh party without touching the buffers' allocation.
    pub fn occupy(&mut self, role: Role) {
        self.occupied = true;
        self.role = role;
        self.muted = false;
        self.deaf = false;
        self.fresh = false;
        self.in_mix = false;
        self.whispered = false;
        self.level = Level::default();
        self.output.fill(0);
    }
}
