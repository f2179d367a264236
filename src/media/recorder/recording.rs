//! The synchronous recorder: frames in, file out, on the calling thread. Used by the writer thread
//! behind a `RecorderTap`, and directly by tests and offline tools. Not for the media tick itself
//! (it encodes and writes to disk).

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use super::compose::compose;
use super::error::RecorderError;
use super::ogg_opus::OggOpusSink;
use super::spec::{Format, Layout, RecordingInfo};
use super::timeline::Timeline;
use super::wav::WavSink;
use crate::media::{samples_per_frame, AudioFrame, MAX_FRAME_SAMPLES};

enum Sink {
    Wav(WavSink),
    OggOpus(OggOpusSink),
}

pub struct Recorder {
    path: PathBuf,
    format: Format,
    layout: Layout,
    rate: u32,
    samples: usize,
    sink: Sink,
    timeline: Timeline,
    /// One composed tick (interleaved for stereo); reused every tick.
    buf: Box<[i16]>,
    silence: Box<[i16]>,
}

impl Recorder {
    /// Creates the file (and its directory) and writes the headers. Refuses to overwrite an existing
    /// file: a recording is evidence, a name collision is a bug to surface, not to paper over.
    /// `rate` is the rate both legs arrive at; Ogg Opus needs 8, 12, 16, 24 or 48 kHz.
    pub fn create(
        path: impl AsRef<Path>,
        format: Format,
        layout: Layout,
        rate: u32,
    ) -> Result<Recorder, RecorderError> {
        let path = path.as_ref().to_path_buf();
        let samples = samples_per_frame(rate);
        if samples == 0 || rate % 50 != 0 || samples * 50 != rate as usize {
            return Err(RecorderError::UnsupportedRate(rate));
        }
        if format == Format::OggOpus && ![8_000, 12_000, 16_000, 24_000, 48_000].contains(&rate) {
            // Checked before touching the disk so a bad request leaves no empty file behind.
            return Err(RecorderError::UnsupportedRate(rate));
        }
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        let file: File = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        let channels = layout.channels();
        let sink = match format {
            Format::Wav => Sink::Wav(WavSink::new(file, rate, channels)?),
            Format::OggOpus => {
                let channel_tag = match layout {
                    Layout::Mono => "SWITCHBOARD_CHANNELS=caller+agent",
                    Layout::Stereo => "SWITCHBOARD_CHANNELS=caller,agent",
                };
                Sink::OggOpus(OggOpusSink::new(
                    file,
                    rate,
                    channels,
                    &["ENCODER=switchboard", channel_tag],
                )?)
            }
        };
        Ok(Recorder {
            path,
            format,
            layout,
            rate,
            samples,
            sink,
            timeline: Timeline::default(),
            buf: vec![0; 2 * MAX_FRAME_SAMPLES].into_boxed_slice(),
            silence: vec![0; 2 * MAX_FRAME_SAMPLES].into_boxed_slice(),
        })
    }

    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Records one tick: the caller's and the agent's 20 ms at the recording rate. While paused the
    /// audio is discarded and silence written instead.
    pub fn write(&mut self, caller: &AudioFrame, agent: &AudioFrame) -> Result<(), RecorderError> {
        self.check(caller)?;
        self.check(agent)?;
        if self.timeline.is_paused() {
            self.timeline.tick();
            return self.write_silence();
        }
        let n = compose(self.layout, caller.pcm(), agent.pcm(), &mut self.buf);
        match &mut self.sink {
            Sink::Wav(w) => w.write_frame(&self.buf[..n])?,
            Sink::OggOpus(o) => o.write_frame(&self.buf[..n])?,
        }
        self.timeline.tick();
        Ok(())
    }

    /// Stops capturing audio; ticks keep being written, as silence, and the stretch is reported as a
    /// `PauseMark` (e.g. while a caller reads out a card number, PCI DSS).
    pub fn pause(&mut self) {
        self.timeline.pause();
    }

    pub fn resume(&mut self) {
        self.timeline.resume();
    }

    pub fn is_paused(&self) -> bool {
        self.timeline.is_paused()
    }

    /// Writes `ticks` of silence for ticks the writer never received (the tap's queue overflowed).
    pub(super) fn write_dropped(&mut self, ticks: u64) -> Result<(), RecorderError> {
        for _ in 0..ticks {
            self.write_silence()?;
            self.timeline.dropped_tick();
        }
        Ok(())
    }

    /// Closes the file (final WAV header, Ogg end-of-stream page) and reports what was written.
    pub fn finish(mut self) -> Result<RecordingInfo, RecorderError> {
        let pauses = self.timeline.finish();
        match self.sink {
            Sink::Wav(w) => w.finish()?,
            Sink::OggOpus(o) => o.finish()?,
        }
        let bytes = fs::metadata(&self.path)?.len();
        Ok(RecordingInfo {
            path: self.path,
            format: self.format,
            layout: self.layout,
            rate: self.rate,
            duration: self.timeline.duration(),
            paused: self.timeline.paused(),
            pauses,
            dropped: self.timeline.dropped(),
            bytes,
        })
    }

    fn write_silence(&mut self) -> Result<(), RecorderError> {
        let n = self.samples * self.layout.channels();
        match &mut self.sink {
            Sink::Wav(w) => w.write_frame(&self.silence[..n]),
            Sink::OggOpus(o) => o.write_frame(&self.silence[..n]),
        }
    }

    fn check(&self, frame: &AudioFrame) -> Result<(), RecorderError> {
        check_frame(self.rate, self.samples, frame)
    }
}

/// A frame belongs to a recording at `rate` if it has that rate and exactly 20 ms of samples.
pub(super) fn check_frame(
    rate: u32,
    samples: usize,
    frame: &AudioFrame,
) -> Result<(), RecorderError> {
    if frame.rate != rate {
        return Err(RecorderError::RateMismatch {
            expected: rate,
            got: frame.rate,
        });
    }
    if frame.pcm().len() != samples {
        return Err(RecorderError::LengthMismatch {
            expected: samples,
            got: frame.pcm().len(),
        });
    }
    Ok(())
}
