//! Decoding audio files (prompts, music on hold) into mono PCM at a rate.
//!
//! Owns: [`decode_file`] (and [`inspect_file`], rate and length; [`decode_bytes`] for data
//! already in memory) — open, probe, decode with symphonia, downmix to
//! mono, resample (via [`super::resample::resample_all`]).
//! Must not touch: caching and lookup (that is `prompt`/`moh`), the 20 ms
//! path (this runs at load time and allocates freely).
//!
//! Formats: WAV (PCM), FLAC, Ogg Vorbis, MP3 — symphonia built with only
//! those features (DESIGN §5: decode with symphonia). Any channel count is
//! averaged down to mono; any rate is resampled to the target.

use std::fs::File;
use std::path::{Path, PathBuf};

use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;

use super::resample::{resample_all, ResampleError};

/// Longest file we agree to decode into memory: 20 minutes. A prompt is
/// seconds; a music-on-hold track a few minutes. The cap keeps a stray
/// multi-hour file from eating the appliance's RAM (20 min at 48 kHz mono
/// i16 is 115 MB; at 16 kHz, 38 MB).
pub const MAX_DECODE_SECS: u64 = 20 * 60;

/// Highest source sample rate we accept: 384 kHz, the top of studio
/// formats. A rate comes from the file's header; a broken one (a WAV
/// claiming a gigahertz, found by the `prompt_decode` fuzz target) would
/// make the resampler size its FFT for that ratio and take gigabytes.
pub const MAX_SOURCE_RATE: u32 = 384_000;

mod wav_header;

/// Why a file could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The file could not be opened (missing, permissions).
    #[error("cannot open {path}")]
    Open { path: PathBuf, source: std::io::Error },
    /// No enabled container reader recognised the file.
    #[error("{path}: unrecognised or unsupported container")]
    Format { path: PathBuf, source: SymError },
    /// The container holds no audio track we know.
    #[error("{path}: no decodable audio track")]
    NoAudioTrack { path: PathBuf },
    /// The audio codec is not one of the enabled decoders.
    #[error("{path}: unsupported audio codec")]
    Codec { path: PathBuf, source: SymError },
    /// Reading or decoding failed part-way (other than a skippable bad packet).
    #[error("{path}: decoding failed")]
    Decode { path: PathBuf, source: SymError },
    /// The stream changes sample rate mid-way (chained Ogg); not supported.
    #[error("{path}: sample rate changes mid-stream ({first} Hz then {later} Hz)")]
    RateChange { path: PathBuf, first: u32, later: u32 },
    /// A sample rate of zero or above [`MAX_SOURCE_RATE`].
    #[error("{path}: implausible sample rate {rate} Hz (accepted: 1 to {MAX_SOURCE_RATE} Hz)")]
    BadRate { path: PathBuf, rate: u32 },
    /// Longer than [`MAX_DECODE_SECS`].
    #[error("{path}: longer than {MAX_DECODE_SECS} s")]
    TooLong { path: PathBuf },
    /// Decoded fine but produced no samples.
    #[error("{path}: no audio samples")]
    Empty { path: PathBuf },
    /// The decoder library panicked on this file (a bug in it; the file is
    /// refused, nothing else is affected).
    #[error("{path}: the decoder failed on this file (malformed)")]
    Panicked { path: PathBuf },
    /// Resampling to the target rate failed.
    #[error("{path}: resampling failed")]
    Resample { path: PathBuf, source: ResampleError },
    /// A WAV header no audio file has (see `wav_header`).
    #[error("{path}: {reason}")]
    Header { path: PathBuf, reason: String },
}

/// Decodes `path` into mono 16-bit PCM at `target_rate` Hz.
pub fn decode_file(path: &Path, target_rate: u32) -> Result<Vec<i16>, DecodeError> {
    let (mono, rate) = decode_mono(path)?;
    to_pcm_at(&mono, rate, target_rate, path)
}

fn to_pcm_at(mono: &[f32], rate: u32, target_rate: u32, path: &Path) -> Result<Vec<i16>, DecodeError> {
    let pcm: Vec<i16> = mono.iter().map(|&x| (x * 32768.0).round().clamp(-32768.0, 32767.0) as i16).collect();
    resample_all(&pcm, rate, target_rate).map_err(|source| DecodeError::Resample { path: path.to_path_buf(), source })
}

/// Decodes audio held in memory (`ext` is a file-name extension hint, as a
/// path's would be); errors name the file as `label`. The fuzz target
/// `prompt_decode` drives the same code as [`decode_file`] through this.
pub fn decode_bytes(bytes: Vec<u8>, ext: Option<&str>, label: &Path, target_rate: u32) -> Result<Vec<i16>, DecodeError> {
    let screened = wav_header::check(&mut std::io::Cursor::new(&bytes[..])).unwrap_or(Ok(()));
    screened.map_err(|reason| DecodeError::Header { path: label.to_path_buf(), reason })?;
    let (mono, rate) = decode_source(Box::new(std::io::Cursor::new(bytes)), ext, label)?;
    to_pcm_at(&mono, rate, target_rate, label)
}

/// What a decodable audio file holds (the console reports it on upload).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioInfo {
    /// The file's own sample rate.
    pub rate: u32,
    /// Length of the audio.
    pub duration_ms: u64,
}

/// Decodes all of `path` (proving it is audio the prompt player can play)
/// and returns its rate and length.
pub fn inspect_file(path: &Path) -> Result<AudioInfo, DecodeError> {
    let (mono, rate) = decode_mono(path)?;
    Ok(AudioInfo { rate, duration_ms: mono.len() as u64 * 1000 / u64::from(rate) })
}

/// Decodes to mono f32 at the file's own rate; returns (samples, rate).
fn decode_mono(path: &Path) -> Result<(Vec<f32>, u32), DecodeError> {
    let open_err = |source| DecodeError::Open { path: path.to_path_buf(), source };
    let mut file = File::open(path).map_err(open_err)?;
    let screened = wav_header::check(&mut std::io::BufReader::new(&mut file)).map_err(open_err)?;
    screened.map_err(|reason| DecodeError::Header { path: path.to_path_buf(), reason })?;
    std::io::Seek::rewind(&mut file).map_err(open_err)?;
    decode_source(Box::new(file), path.extension().and_then(|e| e.to_str()), path)
}

/// Probes and decodes any source; `path` only names it in errors and logs.
///
/// symphonia parses whatever the file's headers claim, and a bug there must
/// cost one file, not the caller: its panics become [`DecodeError::Panicked`].
/// (The `prompt_decode` fuzz target found one in symphonia-format-riff 0.6.1:
/// `channels * bytes_per_sample` overflows a u16 for a WAV claiming ~49 000
/// channels, a panic only where overflow checks are on; a release build
/// wraps and refuses the file later.)
fn decode_source(source: Box<dyn MediaSource>, ext: Option<&str>, path: &Path) -> Result<(Vec<f32>, u32), DecodeError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decode_source_inner(source, ext, path)))
        .unwrap_or_else(|_| Err(DecodeError::Panicked { path: path.to_path_buf() }))
}

fn decode_source_inner(source: Box<dyn MediaSource>, ext: Option<&str>, path: &Path) -> Result<(Vec<f32>, u32), DecodeError> {
    let p = || path.to_path_buf();
    let mss = MediaSourceStream::new(source, Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = ext {
        hint.with_extension(ext);
    }
    let mut format = symphonia::default::get_probe()
        .probe(&hint, mss, FormatOptions::default(), MetadataOptions::default())
        .map_err(|source| DecodeError::Format { path: p(), source })?;
    let track = format.default_track(TrackType::Audio).ok_or_else(|| DecodeError::NoAudioTrack { path: p() })?;
    let track_id = track.id;
    let params =
        track.codec_params.as_ref().and_then(|c| c.audio()).ok_or_else(|| DecodeError::NoAudioTrack { path: p() })?;
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(params, &AudioDecoderOptions::default())
        .map_err(|source| DecodeError::Codec { path: p(), source })?;

    let mut mono: Vec<f32> = Vec::new();
    let mut interleaved: Vec<f32> = Vec::new();
    let mut rate: Option<u32> = None;
    let mut bad_packets = 0u32;
    loop {
        let packet = match format.next_packet() {
            Ok(Some(packet)) => packet,
            Ok(None) => break,
            // Some readers report the end of a truncated file as EOF.
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            // A chained stream's next link (new track list): we play the first.
            Err(SymError::ResetRequired) => break,
            Err(source) => return Err(DecodeError::Decode { path: p(), source }),
        };
        if packet.track_id != track_id {
            continue;
        }
        let buf = match decoder.decode(&packet) {
            Ok(buf) => buf,
            // One corrupt packet (common at MP3 starts) is skipped, not fatal.
            Err(SymError::DecodeError(_)) | Err(SymError::IoError(_)) => {
                bad_packets += 1;
                continue;
            }
            Err(source) => return Err(DecodeError::Decode { path: p(), source }),
        };
        let spec_rate = buf.spec().rate();
        let channels = buf.spec().channels().count().max(1);
        match rate {
            None if spec_rate == 0 || spec_rate > MAX_SOURCE_RATE => {
                return Err(DecodeError::BadRate { path: p(), rate: spec_rate })
            }
            None => rate = Some(spec_rate),
            Some(first) if first != spec_rate => {
                return Err(DecodeError::RateChange { path: p(), first, later: spec_rate })
            }
            Some(_) => {}
        }
        buf.copy_to_vec_interleaved(&mut interleaved);
        // Downmix by averaging: keeps level for correlated (centre-panned)
        // content and cannot clip.
        mono.extend(interleaved.chunks_exact(channels).map(|f| f.iter().sum::<f32>() / channels as f32));
        if mono.len() as u64 > MAX_DECODE_SECS * u64::from(spec_rate) {
            return Err(DecodeError::TooLong { path: p() });
        }
    }
    if bad_packets > 0 {
        tracing::debug!(path = %path.display(), bad_packets, "skipped undecodable packets");
    }
    match rate {
        Some(rate) if !mono.is_empty() && rate > 0 => Ok((mono, rate)),
        _ => Err(DecodeError::Empty { path: p() }),
    }
}

#[cfg(test)]
#[path = "decode/tests.rs"]
mod tests;
