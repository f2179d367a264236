//! The `Record` operation: capture the caller into a WAV file after an
//! optional beep, until a terminator key, trailing silence, the length
//! limit or hang-up; trailing silence is cut from the file.

use std::path::{Path, PathBuf};

use super::port::{Capture, IVR_RATE};
use super::run::Wake;
use super::Driver;
use crate::dialplan::ops::{Media, OpResult, RecordEnd};
use crate::media::recorder::{spawn_recorder, Format, Layout, Recorder};

/// Recorder queue: two seconds of 20 ms ticks.
const QUEUE_TICKS: usize = 100;

impl Driver<'_> {
    pub(super) async fn record(&mut self, path: PathBuf, max_ms: u64, silence_ms: u64, beep: bool, terminators: &str) -> OpResult {
        if beep {
            if let OpResult::Hangup = self.play(&[Media::Beep]).await {
                return OpResult::Recorded { duration_ms: 0, end: RecordEnd::Hangup };
            }
        }
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let started = Recorder::create(&path, Format::Wav, Layout::Mono, IVR_RATE)
            .map_err(|e| e.to_string())
            .and_then(|r| spawn_recorder(r, QUEUE_TICKS).map_err(|e| e.to_string()));
        let (tap, handle) = match started {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(path = %path.display(), "cannot record: {e}");
                return OpResult::Recorded { duration_ms: 0, end: RecordEnd::MaxLength };
            }
        };
        self.typeahead.clear();
        if let Ok(mut s) = self.shared.lock() {
            s.capture = Some(Capture::new(tap, max_ms, silence_ms));
        }
        tracing::info!(path = %path.display(), max_ms, silence_ms, "recording the caller");
        // The capture decides silence and length on the media tick; look at it every 100 ms.
        let end = loop {
            let tick = tokio::time::Instant::now() + std::time::Duration::from_millis(100);
            match self.wait(Some(tick)).await {
                Wake::Hangup => break RecordEnd::Hangup,
                Wake::Digit(d) if terminators.contains(d) => break RecordEnd::Key(d),
                _ => {}
            }
            if let Some(e) = self.shared.lock().ok().and_then(|s| s.capture_ended()) {
                break e;
            }
        };
        let capture = self.shared.lock().ok().and_then(|mut s| s.capture.take());
        let (total, trailing, voiced) = capture.as_ref().map(|c| (c.lengths_ms().0, c.lengths_ms().1, c.heard_voice())).unwrap_or((0, 0, false));
        drop(capture); // ends the writer
        let joined = tokio::task::spawn_blocking(move || handle.join()).await;
        if !matches!(joined, Ok(Ok(_))) {
            tracing::warn!(path = %path.display(), "recording not finished cleanly");
        }
        // Silence at the end is not part of the message; neither is the key press.
        let cut = match end {
            RecordEnd::Silence => trailing,
            RecordEnd::Key(_) => 200,
            _ => 0,
        };
        let kept = if voiced { total.saturating_sub(cut) } else { 0 };
        if cut > 0 && kept > 0 {
            let p = path.clone();
            let _ = tokio::task::spawn_blocking(move || truncate_wav(&p, kept)).await;
        }
        tracing::info!(path = %path.display(), ms = kept, ?end, "recording finished");
        OpResult::Recorded { duration_ms: kept, end }
    }
}

/// Keeps the first `ms` of a 16-bit WAV file.
fn truncate_wav(path: &Path, ms: u64) -> Result<(), hound::Error> {
    let mut reader = hound::WavReader::open(path)?;
    let spec = reader.spec();
    let keep = (spec.sample_rate as u64 * ms / 1000) as usize * spec.channels as usize;
    let samples: Vec<i16> = reader.samples::<i16>().take(keep).collect::<Result<_, _>>()?;
    drop(reader);
    let tmp = path.with_extension("wav.tmp");
    let mut w = hound::WavWriter::create(&tmp, spec)?;
    for s in samples {
        w.write_sample(s)?;
    }
    w.finalize()?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn truncate_keeps_the_head() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.wav");
        let spec = hound::WavSpec { channels: 1, sample_rate: 16_000, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
        let mut w = hound::WavWriter::create(&p, spec).unwrap();
        for i in 0..32_000 {
            w.write_sample((i % 100) as i16).unwrap();
        }
        w.finalize().unwrap();
        super::truncate_wav(&p, 500).unwrap();
        let r = hound::WavReader::open(&p).unwrap();
        assert_eq!(r.duration(), 8_000);
    }
}
