//! What a recording is made of, where it goes, and what is reported when it ends.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::timeline::PauseMark;

/// Container and codec of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// RIFF WAVE, 16-bit linear PCM at the recording rate: lossless, ~256 kbit/s mono at 16 kHz.
    Wav,
    /// Opus in Ogg (RFC 7845): ~24 kbit/s mono, plays in browsers and standard tools.
    OggOpus,
}

impl Format {
    /// File extension, also the value stored in the `format` column.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Wav => "wav",
            Format::OggOpus => "opus",
        }
    }
}

/// How the two legs are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Caller + agent summed (soft-clipped) into one channel.
    Mono,
    /// Caller in the left channel, agent in the right: speech analytics and QA want them apart.
    Stereo,
}

impl Layout {
    pub fn channels(self) -> usize {
        match self {
            Layout::Mono => 1,
            Layout::Stereo => 2,
        }
    }

    /// Value stored in the `layout` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Mono => "mono",
            Layout::Stereo => "stereo",
        }
    }
}

/// What `finish` reports: everything the recordings row needs except ids and wall-clock times.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordingInfo {
    pub path: PathBuf,
    pub format: Format,
    pub layout: Layout,
    pub rate: u32,
    /// Length of the audio in the file, paused and dropped stretches included.
    pub duration: Duration,
    /// Total time written as silence because recording was paused.
    pub paused: Duration,
    /// Where the pauses are, relative to the start of the file.
    pub pauses: Vec<PauseMark>,
    /// Total time written as silence because the writer fell behind the media tick.
    pub dropped: Duration,
    /// Size of the file.
    pub bytes: u64,
}

/// `<data_dir>/recordings/<name>.<ext>`, with `name` reduced to `[A-Za-z0-9._-]` (everything else
/// becomes `_`, and leading dots are replaced) so that a Call-ID such as `../../etc/x@host` cannot
/// leave the recordings directory.
pub fn recording_path(data_dir: &Path, name: &str, format: Format) -> PathBuf {
    let mut safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.is_empty() || safe.starts_with('.') {
        safe.insert(0, '_');
    }
    data_dir
        .join("recordings")
        .join(format!("{safe}.{}", format.extension()))
}
