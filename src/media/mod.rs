//! Media: RTP port allocation and the anchored RTP/RTCP relay.
//!
//! Owns: relay UDP ports (allocation, binding, release), per-call relay tasks, symmetric RTP
//! latching, packet validation, relay counters.
//! Must not touch: SIP (nothing here knows about dialogs or messages), SDP text (the call layer
//! reads addresses out of `crate::sdp` and hands us `SocketAddr`s), other calls' state.
//!
//! Layout: sans-IO pieces (`latch`, `validate`, `stats`) are plain code tested without sockets;
//! `ports` and `relay_task` are the thin tokio drivers around them; `relay` is the public API;
//! `shard` holds the per-core runtimes the relays and terminated legs run on; `offload` runs a
//! port that may block (the fax terminal) off them.

pub mod codec;
pub mod decode;
pub mod dtmf;
pub mod endpoint;
mod frame;
pub mod jitter;
mod latch;
pub mod mixer;
pub mod moh;
pub mod offload;
pub mod prompt;
pub mod quality;
pub mod recorder;
pub mod resample;
pub mod rtcp;
pub mod rtp;
pub mod tone;
pub(crate) mod ports;
mod relay;
mod relay_task;
pub mod shard;
mod stats;
mod validate;

#[cfg(test)]
mod tests;

pub use frame::{samples_per_frame, AudioFrame, MediaPort, FRAME_MS, MAX_FRAME_SAMPLES, MAX_RATE};
pub use latch::{Latch, LatchDecision};
pub use resample::{Resample, Resampler};
pub use ports::{PortAllocator, PortError, PortPair, DEFAULT_PORT_RANGE};
pub use relay::{Leg, RelayConfig, RelayEvent, RelayHandle, RelaySession};
pub use stats::{LegStats, RelayStats};
pub use validate::{is_valid_rtcp, is_valid_rtp};
