//! Music on hold: classes (folders of audio files) decoded once and shared.
//!
//! Owns: [`MohClass`] (every file of a folder decoded at one rate and
//! concatenated into one loop), [`MohRegistry`] (loads each (class, rate)
//! once and hands out `Arc`s), and [`MohListener`], the per-call
//! [`MediaPort`] that walks the shared loop with its own cursor.
//! Must not touch: queue logic (when hold starts/stops), codecs, files
//! outside `root/<class>/`.
//!
//! Sharing: a thousand callers on hold share one decoded buffer; each
//! listener owns only an `Arc` and a cursor, and `get_frame` copies samples
//! without allocating. Listeners start either at a random point (so callers
//! put on hold together do not hear the same bar in lockstep) or at a
//! class-global "radio" position derived from the time since the class was
//! loaded (everyone hears the same moment, like a broadcast).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rand::Rng;

use super::decode::decode_file;
use super::frame::{samples_per_frame, AudioFrame, MediaPort};
use super::prompt::EXTENSIONS;

/// The class used when none is configured.
pub const DEFAULT_CLASS: &str = "default";

/// One music-on-hold class at one rate.
#[derive(Debug)]
pub struct MohClass {
    name: String,
    rate: u32,
    /// All files, decoded and concatenated in file-name order; empty when the
    /// folder is missing, empty or holds nothing decodable (→ silence).
    pcm: Arc<[i16]>,
    files: Vec<PathBuf>,
    loaded_at: Instant,
}

impl MohClass {
    /// Decodes every audio file directly in `dir` (sorted by name; other
    /// entries ignored) at `rate`. Never fails: a missing or empty folder
    /// and each undecodable file are logged, and the class plays silence if
    /// nothing is left.
    pub fn load(name: &str, dir: &Path, rate: u32) -> MohClass {
        let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
            Ok(rd) => rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .filter(|p| p.extension().and_then(|e| e.to_str()).is_some_and(|e| EXTENSIONS.contains(&e)))
                .collect(),
            Err(e) => {
                tracing::warn!(class = name, dir = %dir.display(), error = %e, "music-on-hold folder unreadable; playing silence");
                Vec::new()
            }
        };
        files.sort();
        let mut pcm: Vec<i16> = Vec::new();
        let mut used = Vec::new();
        for f in files {
            match decode_file(&f, rate) {
                Ok(mut p) => {
                    pcm.append(&mut p);
                    used.push(f);
                }
                Err(e) => tracing::warn!(class = name, error = %e, "music-on-hold file skipped"),
            }
        }
        if pcm.is_empty() {
            tracing::warn!(class = name, dir = %dir.display(), "music-on-hold class has no playable audio; playing silence");
        } else {
            tracing::info!(
                class = name,
                rate,
                files = used.len(),
                secs = pcm.len() as u64 / u64::from(rate.max(1)),
                "music-on-hold class loaded"
            );
        }
        MohClass { name: name.to_string(), rate, pcm: pcm.into(), files: used, loaded_at: Instant::now() }
    }

    /// A class from PCM already in memory (tests, generated music).
    pub fn from_pcm(name: &str, rate: u32, pcm: Arc<[i16]>) -> MohClass {
        MohClass { name: name.to_string(), rate, pcm, files: Vec::new(), loaded_at: Instant::now() }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Length of the loop in samples (0 = silent class).
    pub fn len_samples(&self) -> usize {
        self.pcm.len()
    }

    /// The files that made it into the loop, in play order.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The "radio" position: where a listener joining now lands if everyone
    /// has been listening since the class was loaded.
    pub fn global_position(&self) -> usize {
        if self.pcm.is_empty() {
            return 0;
        }
        let elapsed = self.loaded_at.elapsed().as_millis() as u64;
        ((elapsed * u64::from(self.rate) / 1000) % self.pcm.len() as u64) as usize
    }
}

/// Where a new listener starts in the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    /// The first sample.
    Beginning,
    /// A uniformly random sample.
    Random,
    /// The class-global position ([`MohClass::global_position`]).
    Global,
    /// A given sample (wrapped to the loop length).
    Sample(usize),
}

/// All classes under one root (`prompts/moh/`), each loaded once per rate
/// and shared. Wrap in an `Arc` and share across calls.
#[derive(Debug)]
pub struct MohRegistry {
    root: PathBuf,
    classes: Mutex<HashMap<(String, u32), Arc<MohClass>>>,
}

impl MohRegistry {
    /// Classes are the folders under `root`.
    pub fn new(root: PathBuf) -> MohRegistry {
        MohRegistry { root, classes: Mutex::new(HashMap::new()) }
    }

    /// The class `name` at `rate`, loading it on first use. Loading decodes
    /// files (blocking; call from `spawn_blocking` or at start-up). A name
    /// that could escape the root is refused with a warning → silent class.
    pub fn class(&self, name: &str, rate: u32) -> Arc<MohClass> {
        let key = (name.to_string(), rate);
        if let Some(c) = self.lock().get(&key) {
            return c.clone();
        }
        let valid = !name.is_empty()
            && !name.starts_with('.')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        let class = if valid {
            MohClass::load(name, &self.root.join(name), rate)
        } else {
            tracing::warn!(class = name, "invalid music-on-hold class name; playing silence");
            MohClass::from_pcm(name, rate, Arc::from(Vec::new()))
        };
        // Decoded without the lock; if another call raced us, keep theirs.
        self.lock().entry(key).or_insert_with(|| Arc::new(class)).clone()
    }

    /// A new listener on class `name` at `rate`.
    pub fn listener(&self, name: &str, rate: u32, start: StartAt) -> MohListener {
        MohListener::new(self.class(name, rate), start)
    }

    /// Forgets loaded classes (after files changed); listeners already
    /// playing keep their `Arc` until they end.
    pub fn reload(&self) {
        self.lock().clear();
    }

    /// Number of (class, rate) pairs loaded.
    pub fn loaded(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, u32), Arc<MohClass>>> {
        // Each mutation is one insert or clear: a poisoned map is still whole.
        self.classes.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One caller's position in a shared class loop.
#[derive(Debug, Clone)]
pub struct MohListener {
    class: Arc<MohClass>,
    pos: usize,
}

impl MohListener {
    pub fn new(class: Arc<MohClass>, start: StartAt) -> MohListener {
        let len = class.len_samples();
        let pos = match (start, len) {
            (_, 0) => 0,
            (StartAt::Beginning, _) => 0,
            (StartAt::Random, _) => rand::thread_rng().gen_range(0..len),
            (StartAt::Global, _) => class.global_position(),
            (StartAt::Sample(s), _) => s % len,
        };
        MohListener { class, pos }
    }

    /// Current sample index in the loop.
    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn class(&self) -> &Arc<MohClass> {
        &self.class
    }
}

impl MediaPort for MohListener {
    fn rate(&self) -> u32 {
        self.class.rate
    }

    /// Hold music has no input.
    fn put_frame(&mut self, _frame: &AudioFrame) {}

    /// Next 20 ms of the loop, wrapping seamlessly; false (and silence) for
    /// a silent class.
    fn get_frame(&mut self, frame: &mut AudioFrame) -> bool {
        frame.rate = self.class.rate;
        frame.len = samples_per_frame(self.class.rate);
        let pcm = &self.class.pcm;
        if pcm.is_empty() {
            frame.clear();
            return false;
        }
        let mut filled = 0;
        while filled < frame.len {
            let take = (pcm.len() - self.pos).min(frame.len - filled);
            frame.samples[filled..filled + take].copy_from_slice(&pcm[self.pos..self.pos + take]);
            filled += take;
            self.pos = (self.pos + take) % pcm.len();
        }
        true
    }
}

#[cfg(test)]
#[path = "moh/tests.rs"]
mod tests;
