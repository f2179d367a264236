//! WAV output through `hound`: 16-bit linear PCM at the recording rate.

use std::fs::File;
use std::io::BufWriter;

use super::error::RecorderError;

/// Refresh the RIFF sizes every this many frames (1 s) so a crash leaves a playable file.
const HEADER_REFRESH_FRAMES: u64 = 50;

pub(super) struct WavSink {
    writer: hound::WavWriter<BufWriter<File>>,
    frames: u64,
}

impl WavSink {
    pub fn new(file: File, rate: u32, channels: usize) -> Result<WavSink, RecorderError> {
        let spec = hound::WavSpec {
            channels: channels as u16,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        Ok(WavSink {
            writer: hound::WavWriter::new(BufWriter::new(file), spec)?,
            frames: 0,
        })
    }

    /// One tick of interleaved samples.
    pub fn write_frame(&mut self, pcm: &[i16]) -> Result<(), RecorderError> {
        for &s in pcm {
            self.writer.write_sample(s)?;
        }
        self.frames += 1;
        if self.frames % HEADER_REFRESH_FRAMES == 0 {
            // hound's flush rewrites the header sizes before flushing.
            self.writer.flush()?;
        }
        Ok(())
    }

    pub fn finish(self) -> Result<(), RecorderError> {
        self.writer.finalize()?;
        Ok(())
    }
}
