//! Errors of call recording. Any of them ends the recording; the partial file is left in place
//! (WAV headers are refreshed every second, Ogg pages are complete every second).

#[derive(Debug, thiserror::Error)]
pub enum RecorderError {
    /// Creating, writing or flushing the file failed (disk full, permissions, path exists).
    #[error("recording file: {0}")]
    Io(#[from] std::io::Error),
    /// The WAV writer refused (it wraps I/O errors too).
    #[error("WAV writer: {0}")]
    Wav(#[from] hound::Error),
    /// libopus refused to create the encoder or to encode a frame.
    #[error("Opus encoder: {0}")]
    Opus(#[from] audiopus::Error),
    /// Opus encodes 8, 12, 16, 24 or 48 kHz only (RFC 6716 §2); WAV takes any `AudioFrame` rate.
    #[error("{0} Hz cannot be recorded in this format")]
    UnsupportedRate(u32),
    /// A frame at another rate than the recording's: the leg's port must resample first.
    #[error("frame at {got} Hz in a recording at {expected} Hz")]
    RateMismatch { expected: u32, got: u32 },
    /// A frame that is not exactly 20 ms at the recording rate.
    #[error("frame of {got} samples, expected {expected} (20 ms)")]
    LengthMismatch { expected: usize, got: usize },
    /// The writer thread has stopped (after an error, reported by its `join`).
    #[error("recording writer has stopped")]
    WriterGone,
    /// The writer thread panicked.
    #[error("recording writer panicked")]
    WriterPanicked,
}
