//! The media operations an IVR conversation is made of, shared by the
//! dialplan interpreter's driver and the voicemail machines (deposit,
//! retrieval). A sans-IO machine returns an [`Op`]; the call driver performs
//! it on the caller's leg and answers with an [`OpResult`]. Nothing here
//! does IO.

use std::path::PathBuf;

/// Something the caller hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Media {
    /// A prompt by name from the prompt store (`welcome`, `5`, `pound`).
    Prompt(String),
    /// An audio file on disk (a voicemail message, a recorded greeting), any
    /// format the decoder knows.
    File(PathBuf),
    /// The 440 Hz record beep (ITU-T E.180 style, 400 ms).
    Beep,
    /// Silence of the given length (pauses between items).
    Silence { ms: u32 },
}

impl Media {
    pub fn prompt(name: impl Into<String>) -> Media {
        Media::Prompt(name.into())
    }
}

/// Why a recording ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordEnd {
    /// The caller pressed a terminator key.
    Key(char),
    /// `silence_ms` of continuous silence (trimmed from the file).
    Silence,
    /// `max_ms` reached.
    MaxLength,
    /// The caller hung up while recording.
    Hangup,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Play in order; any key press does not interrupt. Answer: `PlayDone`.
    Play(Vec<Media>),
    /// Play (interrupted by the first key) and collect digits. Answer:
    /// `Digits` (terminator included when pressed) or `Timeout` (nothing typed).
    Collect {
        prompts: Vec<Media>,
        min: u32,
        max: u32,
        terminator: Option<char>,
        first_timeout_ms: u64,
        inter_timeout_ms: u64,
    },
    /// Record the caller into `path` (WAV, 16 kHz mono, 16-bit), optionally
    /// after a beep, until a key in `terminators`, `silence_ms` of silence
    /// (0 = off), `max_ms`, or hang-up. Answer: `Recorded`.
    Record { path: PathBuf, max_ms: u64, silence_ms: u64, beep: bool, terminators: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpResult {
    PlayDone,
    Digits(String),
    Timeout,
    /// `duration_ms` of audio kept in the file (0 = nothing usable, the file
    /// may be missing).
    Recorded { duration_ms: u64, end: RecordEnd },
    /// The caller hung up during a play or collect.
    Hangup,
    /// A fax machine's calling tone (CNG) was heard during a play or
    /// collect: the call belongs to the fax context.
    FaxTone,
}
