//! Conference mixer (DESIGN §3: "a conference is a port with many inputs"; pjmedia's conference bridge is
//! the model). Sans-IO: no clock, no sockets, no tokio. The owner drives it every 20 ms:
//! `put(party, frame)` for each party that has audio, then `mix()`, then `get(party, frame)` for each
//! party's mix-minus.
//!
//! Owns: per-party mix-minus, mute/deaf, supervisor roles (listen, whisper, barge), loudest-N talker
//! selection with hangover, saturation-safe summing with a soft clipper, join/leave tones.
//! Must not touch: codecs, RTP, resampling (every party presents and takes frames at the conference's
//! internal rate; the party's port converts with `media::resample` before `put` and after `get`), SIP,
//! the clock.
//!
//! Hot path: `put`/`mix`/`get` allocate nothing. Every per-party buffer is sized once in `add_party`
//! (slots are reused after `remove_party`), and `mix` is O(N·frame + N·K) for N parties and K =
//! `max_talkers`: the sum of all audible talkers is computed once and each party's own contribution is
//! subtracted from it, instead of summing N-1 inputs per party (O(N²)).

#![forbid(unsafe_code)]

mod conference;
mod error;
mod limiter;
mod party;
mod talkers;
mod tones;

#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod testutil;

pub use conference::{internal_rate_for, Conference, DEFAULT_INTERNAL_RATE, DEFAULT_MAX_TALKERS};
pub use error::MixerError;
pub use limiter::soft_clip;
pub use party::{PartyId, Role};
pub use tones::Beep;
