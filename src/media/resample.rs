//! Sample-rate conversion between the rates an [`AudioFrame`] carries.
//!
//! Owns: the streaming per-frame [`Resampler`] (one per direction of a
//! transcoding leg or per prompt/MOH listener whose rate differs from the
//! leg's), the [`Resample`] trait the codec layer calls, and the whole-clip
//! [`resample_all`] used when prompts and music are decoded offline.
//! Must not touch: codecs, RTP, files (callers hand us PCM, we hand PCM back).
//!
//! Why rubato's `Fft` (synchronous) resampler: every ratio we meet is fixed
//! for the life of a call (8/16/24/32/48 kHz, all multiples of 8 kHz), so the
//! asynchronous sinc machinery buys nothing; `Fft` gives band-limited
//! conversion (anti-aliasing filter built from a Blackman-Harris window) at
//! the lowest CPU cost, and with `FixedSync::Both` one 20 ms frame in gives
//! exactly one 20 ms frame out with no internal FIFO to drift. A hand-rolled
//! linear interpolator would alias (DESIGN §5: "resample with rubato").

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler as _};

use super::frame::{samples_per_frame, AudioFrame, MAX_RATE};

/// Converts one 20 ms frame at one rate into one 20 ms frame at another.
/// Defined here, implemented here by [`Resampler`]; the codec layer imports
/// `crate::media::resample::Resample` so it can be handed any implementation
/// (or a test double) without naming rubato.
pub trait Resample {
    /// Reads `input` (at the source rate) and overwrites `out` with a full
    /// frame at the target rate. Never allocates, never fails: a frame it
    /// cannot convert comes out as silence at the target rate.
    fn process(&mut self, input: &AudioFrame, out: &mut AudioFrame);
}

/// Why a resampler could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ResampleError {
    /// The per-frame resampler only handles whole-kHz rates from 8 to 48 kHz,
    /// the rates a 20 ms [`AudioFrame`] can carry.
    #[error("unsupported frame rate {0} Hz (expected 8000..=48000, a multiple of 1000)")]
    UnsupportedRate(u32),
    /// The offline path accepts any rate but zero.
    #[error("invalid sample rate 0 Hz")]
    ZeroRate,
    /// rubato refused the configuration (message kept for the log).
    #[error("resampler construction failed: {0}")]
    Construction(String),
    /// rubato failed while processing a clip.
    #[error("resampling failed: {0}")]
    Process(String),
}

/// Scale between i16 PCM and rubato's f32 samples.
const I16_SCALE: f32 = 32768.0;

/// Streaming 20 ms-in / 20 ms-out resampler for one direction of one call.
///
/// All buffers are allocated in [`Resampler::new`]; [`Resample::process`]
/// only copies, converts and runs the FFTs rubato planned up front.
pub struct Resampler {
    from: u32,
    to: u32,
    in_len: usize,
    out_len: usize,
    /// `None` when `from == to`: a copy, no filter, no delay.
    fft: Option<Fft<f32>>,
    in_buf: Vec<f32>,
    out_buf: Vec<f32>,
    /// Frames that arrived at the wrong rate (dropped to silence).
    mismatched: u64,
}

impl std::fmt::Debug for Resampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resampler")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("delay_samples", &self.delay_samples())
            .finish()
    }
}

fn check_frame_rate(rate: u32) -> Result<(), ResampleError> {
    if (8000..=MAX_RATE).contains(&rate) && rate.is_multiple_of(1000) {
        Ok(())
    } else {
        Err(ResampleError::UnsupportedRate(rate))
    }
}

impl Resampler {
    /// Builds a resampler from `from` Hz to `to` Hz frames.
    ///
    /// The FFT block is exactly one frame, so the group delay is half an
    /// output frame (10 ms) — see [`Resampler::delay_samples`]. A longer
    /// block would sharpen the filter slightly but add delay to every call.
    pub fn new(from: u32, to: u32) -> Result<Resampler, ResampleError> {
        check_frame_rate(from)?;
        check_frame_rate(to)?;
        let in_len = samples_per_frame(from);
        let out_len = samples_per_frame(to);
        let fft = if from == to {
            None
        } else {
            let fft = Fft::<f32>::new(from as usize, to as usize, in_len, 1, FixedSync::Both)
                .map_err(|e| ResampleError::Construction(e.to_string()))?;
            // With whole-kHz rates the minimum FFT blocks (rate / gcd) always
            // divide a 20 ms frame; check rather than trust the arithmetic.
            if fft.input_frames_next() != in_len || fft.output_frames_next() != out_len {
                return Err(ResampleError::Construction(format!(
                    "rubato chose {}→{} samples per chunk, frames need {in_len}→{out_len}",
                    fft.input_frames_next(),
                    fft.output_frames_next()
                )));
            }
            Some(fft)
        };
        Ok(Resampler {
            from,
            to,
            in_len,
            out_len,
            fft,
            in_buf: vec![0.0; in_len],
            out_buf: vec![0.0; out_len],
            mismatched: 0,
        })
    }

    /// Source rate in Hz.
    pub fn from_rate(&self) -> u32 {
        self.from
    }

    /// Target rate in Hz.
    pub fn to_rate(&self) -> u32 {
        self.to
    }

    /// Group delay in output samples: a tone entering at sample 0 appears
    /// centred this many samples later in the output (0 for a pass-through).
    pub fn delay_samples(&self) -> usize {
        self.fft.as_ref().map_or(0, |f| f.output_delay())
    }

    /// Group delay as time.
    pub fn delay(&self) -> std::time::Duration {
        std::time::Duration::from_micros(self.delay_samples() as u64 * 1_000_000 / u64::from(self.to))
    }

    /// Frames that arrived at a rate other than `from` and were replaced by
    /// silence (a wiring bug upstream; exposed for counters and tests).
    pub fn mismatched_frames(&self) -> u64 {
        self.mismatched
    }

    /// Clears the filter history (e.g. when a prompt restarts), so the tail
    /// of the previous stream does not bleed into the next.
    pub fn reset(&mut self) {
        if let Some(fft) = self.fft.as_mut() {
            fft.reset();
        }
    }

    fn run_fft(&mut self) -> bool {
        let Some(fft) = self.fft.as_mut() else { return false };
        let Ok(input) = InterleavedSlice::new(&self.in_buf[..], 1, self.in_len) else {
            return false;
        };
        let Ok(mut output) = InterleavedSlice::new_mut(&mut self.out_buf[..], 1, self.out_len) else {
            return false;
        };
        matches!(fft.process_into_buffer(&input, &mut output, None), Ok((_, n)) if n == self.out_len)
    }
}

impl Resample for Resampler {
    fn process(&mut self, input: &AudioFrame, out: &mut AudioFrame) {
        out.rate = self.to;
        out.len = self.out_len;
        if input.rate != self.from {
            // Converting at the wrong ratio would shift pitch; silence is the
            // honest output. Counted, not logged: this runs every 20 ms.
            self.mismatched += 1;
            out.clear();
            return;
        }
        let pcm = input.pcm();
        if self.fft.is_none() {
            let n = pcm.len().min(self.out_len);
            out.samples[..n].copy_from_slice(&pcm[..n]);
            out.samples[n..self.out_len].fill(0);
            return;
        }
        // A short frame (end of a stream) is zero-padded to a full one.
        for (i, s) in self.in_buf.iter_mut().enumerate() {
            *s = pcm.get(i).map_or(0.0, |&v| f32::from(v) / I16_SCALE);
        }
        if !self.run_fft() {
            out.clear();
            return;
        }
        for (dst, &src) in out.samples[..self.out_len].iter_mut().zip(&self.out_buf) {
            *dst = to_i16(src);
        }
    }
}

fn to_i16(x: f32) -> i16 {
    // Saturate: the band-limiting filter can overshoot full-scale input by a
    // few percent (Gibbs), and wrapping would turn that into a loud click.
    (x * I16_SCALE).round().clamp(-32768.0, 32767.0) as i16
}

/// Resamples a whole clip (a decoded prompt or music file) from `from` Hz to
/// `to` Hz, with the filter delay trimmed so the output lines up with the
/// input and has `len * to / from` samples (rounded up). Allocates; meant for
/// load time, not the 20 ms path. Any non-zero rates are accepted (44.1 kHz
/// files are common).
pub fn resample_all(pcm: &[i16], from: u32, to: u32) -> Result<Vec<i16>, ResampleError> {
    if from == 0 || to == 0 {
        return Err(ResampleError::ZeroRate);
    }
    if from == to || pcm.is_empty() {
        return Ok(pcm.to_vec());
    }
    // ~40 ms blocks at 48 kHz: a longer block than the streaming path uses,
    // so the anti-aliasing transition band is narrower; delay is irrelevant
    // offline because process_all trims it.
    let mut fft = Fft::<f32>::new(from as usize, to as usize, 2048, 1, FixedSync::Both)
        .map_err(|e| ResampleError::Construction(e.to_string()))?;
    let input: Vec<f32> = pcm.iter().map(|&v| f32::from(v) / I16_SCALE).collect();
    let adapter =
        InterleavedSlice::new(&input[..], 1, input.len()).map_err(|e| ResampleError::Process(e.to_string()))?;
    let out = fft.process_all(&adapter, input.len(), None).map_err(|e| ResampleError::Process(e.to_string()))?;
    Ok(out.take_data().into_iter().map(to_i16).collect())
}

#[cfg(test)]
#[path = "resample/tests.rs"]
mod tests;
