//! Errors of the conference mixer. None of them is fatal to the conference: a bad frame is dropped
//! (the party counts as silent for that tick), an unknown party is a caller bug worth logging.

use super::party::PartyId;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MixerError {
    /// The id names no party (never added, or removed since; ids are not reused).
    #[error("unknown conference party {0}")]
    UnknownParty(PartyId),
    /// A frame at another rate than the conference's: the party's port must resample first.
    #[error("frame at {got} Hz in a conference mixing at {expected} Hz")]
    RateMismatch { expected: u32, got: u32 },
    /// A frame that is not exactly 20 ms at the conference rate.
    #[error("frame of {got} samples, expected {expected} (20 ms)")]
    LengthMismatch { expected: usize, got: usize },
    /// The conference rate is not one an `AudioFrame` carries (8000, 16000, 24000, 32000, 48000).
    #[error("unsupported internal rate {0} Hz")]
    UnsupportedRate(u32),
    /// `Role::Whisper { to }` names an unknown party or the whisperer itself.
    #[error("whisper target {0} is not another party of this conference")]
    BadWhisperTarget(PartyId),
}
