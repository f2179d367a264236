//! The unit of audio inside the appliance (DESIGN §3): 20 ms of mono linear
//! PCM at one sample rate, in a fixed-capacity buffer so passing frames
//! around never allocates. Everything that produces or consumes audio (RTP
//! endpoint, prompt player, tone generator, recorder, DTMF detector, mixer)
//! speaks `AudioFrame` through the `MediaPort` trait.

/// Every frame covers this much time.
pub const FRAME_MS: u32 = 20;
/// Highest rate a frame carries (Opus fullband).
pub const MAX_RATE: u32 = 48_000;
/// Samples in a 20 ms frame at `MAX_RATE`.
pub const MAX_FRAME_SAMPLES: usize = (MAX_RATE / 1000 * FRAME_MS) as usize;

/// 20 ms of mono signed 16-bit PCM. `len` samples of `samples` are valid;
/// `len == rate / 50` for a full frame.
#[derive(Clone)]
pub struct AudioFrame {
    pub rate: u32,
    pub len: usize,
    pub samples: [i16; MAX_FRAME_SAMPLES],
}

impl AudioFrame {
    /// A full frame of silence at `rate` (8000, 16000, 24000, 32000 or 48000).
    pub fn silence(rate: u32) -> AudioFrame {
        AudioFrame { rate, len: samples_per_frame(rate), samples: [0; MAX_FRAME_SAMPLES] }
    }
    pub fn pcm(&self) -> &[i16] {
        &self.samples[..self.len.min(MAX_FRAME_SAMPLES)]
    }
    pub fn pcm_mut(&mut self) -> &mut [i16] {
        let n = self.len.min(MAX_FRAME_SAMPLES);
        &mut self.samples[..n]
    }
    /// Copies `pcm` in (truncated to capacity) and sets the rate.
    pub fn fill(&mut self, rate: u32, pcm: &[i16]) {
        let n = pcm.len().min(MAX_FRAME_SAMPLES);
        self.samples[..n].copy_from_slice(&pcm[..n]);
        self.rate = rate;
        self.len = n;
    }
    pub fn clear(&mut self) {
        self.pcm_mut().fill(0);
    }
}

impl std::fmt::Debug for AudioFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioFrame").field("rate", &self.rate).field("len", &self.len).finish()
    }
}

/// Samples in one 20 ms frame at `rate`, capped at the buffer capacity.
pub const fn samples_per_frame(rate: u32) -> usize {
    let n = (rate / 1000 * FRAME_MS) as usize;
    if n > MAX_FRAME_SAMPLES {
        MAX_FRAME_SAMPLES
    } else {
        n
    }
}

/// A producer/consumer of audio frames, driven every 20 ms by its owner
/// (pjmedia's port model). Implementations must not allocate per call in
/// steady state.
pub trait MediaPort {
    /// Native rate of this port; frames in and out use it.
    fn rate(&self) -> u32;
    /// Hands the port one frame (e.g. audio to play out, record or analyse).
    fn put_frame(&mut self, frame: &AudioFrame);
    /// Fills `frame` with the port's next 20 ms; returns false when the port
    /// has nothing (the caller treats that as silence).
    fn get_frame(&mut self, frame: &mut AudioFrame) -> bool;

    /// The next 20 ms already encoded for `codec` (SDP encoding name), copied
    /// into `out`, or `None` to be asked for PCM instead. Ports that play
    /// pre-encoded prompts use it so the leg skips its encoder.
    fn get_encoded(&mut self, _codec: &str, _out: &mut [u8]) -> Option<usize> {
        None
    }

    /// Whether the frames `get_frame` hands out now carry nothing above
    /// 4 kHz (audio from a G.711 leg), so a wideband encoder may code them
    /// narrowband. Asked after every `get_frame`; false when unsure.
    fn narrowband(&self) -> bool {
        false
    }
}

/// A boxed port is a port, so the call layer can pick the application at
/// run time and hand the media task one type.
impl<T: MediaPort + ?Sized> MediaPort for Box<T> {
    fn rate(&self) -> u32 {
        (**self).rate()
    }
    fn put_frame(&mut self, frame: &AudioFrame) {
        (**self).put_frame(frame)
    }
    fn get_frame(&mut self, frame: &mut AudioFrame) -> bool {
        (**self).get_frame(frame)
    }
    fn get_encoded(&mut self, codec: &str, out: &mut [u8]) -> Option<usize> {
        (**self).get_encoded(codec, out)
    }
    fn narrowband(&self) -> bool {
        (**self).narrowband()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_sizes() {
        assert_eq!(samples_per_frame(8000), 160);
        assert_eq!(samples_per_frame(16000), 320);
        assert_eq!(samples_per_frame(48000), 960);
        let mut f = AudioFrame::silence(8000);
        assert_eq!(f.pcm().len(), 160);
        f.fill(16000, &[1; 320]);
        assert_eq!((f.rate, f.pcm().len(), f.pcm()[319]), (16000, 320, 1));
    }
}
