//! Sample-rate conversion between the rates an [`AudioFrame`] carries.
//!
//! Owns: the streaming per-frame [`Resampler`] (one per direction of a
//! transcoding leg or per prompt/MOH listener whose rate differs from the
//! leg's), the [`Resample`] trait the codec layer calls, and the whole-clip
//! [`resample_all`] used when prompts and music are decoded offline.
//! Must not touch: codecs, RTP, files (callers hand us PCM, we hand PCM back).
//!
//! Two filters, both band-limited (DESIGN §5: a linear interpolator would
//! alias). Per frame, a polyphase FIR of our own (`polyphase`): every ratio
//! we meet there is fixed for the life of a call and whole-kHz, one 20 ms
//! frame in gives exactly one 20 ms frame out, and it holds about 1.5 KB
//! per direction where rubato's 20 ms FFT held 21 KB (an IVR caller's leg
//! has two or three). Whole clips (any rate, e.g. 44.1 kHz files) go
//! through rubato's `Fft` with a long block, where size and delay do not
//! matter.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler as _};

use super::frame::{samples_per_frame, AudioFrame, MAX_RATE};

mod polyphase;
use polyphase::Polyphase;

/// Converts one 20 ms frame at one rate into one 20 ms frame at another.
/// Defined here, implemented here by [`Resampler`]; the codec layer imports
/// `crate::media::resample::Resample` so it can be handed any implementation
/// (or a test double) without naming the filter.
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
    /// rubato refused the clip's configuration (message kept for the log).
    #[error("resampler construction failed: {0}")]
    Construction(String),
    /// rubato failed while processing a clip.
    #[error("resampling failed: {0}")]
    Process(String),
}

/// Scale between i16 PCM and the filters' f32 samples.
const I16_SCALE: f32 = 32768.0;

/// Streaming 20 ms-in / 20 ms-out resampler for one direction of one call.
///
/// All buffers are allocated in [`Resampler::new`]; [`Resample::process`]
/// only converts and filters.
pub struct Resampler {
    from: u32,
    to: u32,
    in_len: usize,
    out_len: usize,
    /// `None` when `from == to`: a copy, no filter, no delay.
    filter: Option<Polyphase>,
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
    /// Builds a resampler from `from` Hz to `to` Hz frames. The group delay
    /// is under 4 ms (see [`Resampler::delay_samples`]).
    pub fn new(from: u32, to: u32) -> Result<Resampler, ResampleError> {
        check_frame_rate(from)?;
        check_frame_rate(to)?;
        let in_len = samples_per_frame(from);
        let out_len = samples_per_frame(to);
        let filter = (from != to).then(|| Polyphase::new(from, to, in_len));
        Ok(Resampler { from, to, in_len, out_len, filter, mismatched: 0 })
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
        self.filter.as_ref().map_or(0, Polyphase::delay_samples)
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
        if let Some(f) = self.filter.as_mut() {
            f.reset();
        }
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
        let Some(filter) = self.filter.as_mut() else {
            let n = pcm.len().min(self.out_len);
            out.samples[..n].copy_from_slice(&pcm[..n]);
            out.samples[n..self.out_len].fill(0);
            return;
        };
        // A short frame (end of a stream) is zero-padded to a full one.
        let samples = pcm.iter().map(|&v| f32::from(v) / I16_SCALE).chain(std::iter::repeat(0.0)).take(self.in_len);
        filter.process(samples, &mut out.samples[..self.out_len]);
    }
}

fn to_i16(x: f32) -> i16 {
    // Saturate: the band-limiting filter can overshoot full-scale input by a
    // few percent (Gibbs), and wrapping would turn that into a loud click.
    // Rounds half away from zero like `f32::round`, which on x86-64 without
    // SSE4.1 is a libm call per sample (1.4 % of a transcoding box's CPU);
    // the truncating cast is one instruction.
    let y = (x * I16_SCALE).clamp(-32768.0, 32767.0);
    (y + 0.5f32.copysign(y)) as i16
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
