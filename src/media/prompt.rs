//! Recorded prompts: lookup, decode-once cache, playback port, numbers.
//!
//! Owns: [`PromptStore`] (files under `prompts/<lang>/`, decoded once per
//! (name, rate), shared as `Arc<[i16]>`, bounded LRU; optional per-codec
//! encoded cache), [`PromptPlayer`] (a [`MediaPort`] playing a queue of
//! prompts) and the English number grammar ([`say_number`], [`say_digits`]).
//! Must not touch: codecs (encoding is a caller-supplied function), dialplan
//! logic (which prompt to play), files outside `root/<lang>/`.
//!
//! A missing or broken prompt is never fatal: the store logs one `warn!`
//! naming the paths it tried and hands back [`MISSING_PROMPT_MS`] of silence,
//! so an IVR keeps its timing and the caller is not cut off.
//!
//! Decoding is blocking file I/O and CPU (milliseconds per prompt): call
//! [`PromptStore::get`] from `spawn_blocking` or warm the cache at start-up
//! with [`PromptStore::preload`]. The 20 ms path (`PromptPlayer::get_frame`)
//! only copies from memory.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::decode::decode_file;
use super::frame::{samples_per_frame, AudioFrame, MediaPort};

#[path = "prompt/numbers.rs"]
mod numbers;
pub use numbers::{say_digits, say_number};

/// Extensions tried, in order, for a prompt name.
pub const EXTENSIONS: [&str; 4] = ["wav", "ogg", "flac", "mp3"];

/// Silence returned for a missing prompt: long enough to keep the rhythm
/// of a menu, short enough not to sound like a dead line.
pub const MISSING_PROMPT_MS: u32 = 500;

/// Default cache bound: 8 M samples = 16 MB of PCM (about 8 minutes of
/// audio at 16 kHz), far more than the shipped set at two rates.
pub const DEFAULT_CACHE_SAMPLES: usize = 8 * 1024 * 1024;

/// 20 ms payloads of one prompt in one codec, ready to packetise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedPrompt {
    pub codec: String,
    /// One payload per 20 ms frame, in order.
    pub frames: Vec<Vec<u8>>,
}

struct Entry {
    pcm: Arc<[i16]>,
    last_used: u64,
}

#[derive(Default)]
struct Cache {
    pcm: HashMap<(String, u32), Entry>,
    /// Keyed (name, rate, codec); dropped with the PCM entry it came from.
    encoded: HashMap<(String, u32, String), Arc<EncodedPrompt>>,
    total_samples: usize,
    tick: u64,
    decodes: u64,
}

/// Prompts of one language under `root/<lang>/`, shared by every call
/// (wrap the store in an `Arc`).
pub struct PromptStore {
    root: PathBuf,
    lang: String,
    max_samples: usize,
    cache: Mutex<Cache>,
}

impl std::fmt::Debug for PromptStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PromptStore").field("root", &self.root).field("lang", &self.lang).finish()
    }
}

/// Why a name is refused: it would reach outside the language folder.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl PromptStore {
    /// A store reading `root/<lang>/<name>.{wav,ogg,flac,mp3}`.
    pub fn new(root: PathBuf, lang: impl Into<String>) -> PromptStore {
        PromptStore::with_capacity(root, lang, DEFAULT_CACHE_SAMPLES)
    }

    /// Same, with the cache bounded to `max_samples` decoded samples in total.
    pub fn with_capacity(root: PathBuf, lang: impl Into<String>, max_samples: usize) -> PromptStore {
        PromptStore { root, lang: lang.into(), max_samples, cache: Mutex::new(Cache::default()) }
    }

    pub fn lang(&self) -> &str {
        &self.lang
    }

    /// The folder prompts are read from.
    pub fn dir(&self) -> PathBuf {
        self.root.join(&self.lang)
    }

    /// The first existing file for `name`, if any.
    pub fn find(&self, name: &str) -> Option<PathBuf> {
        if !valid_name(name) {
            return None;
        }
        let dir = self.dir();
        EXTENSIONS.iter().map(|ext| dir.join(format!("{name}.{ext}"))).find(|p| p.is_file())
    }

    fn lock(&self) -> MutexGuard<'_, Cache> {
        // A panic while holding the lock leaves a consistent map (every
        // mutation is a single insert/remove), so poisoning is ignored.
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Decoded PCM of `name` at `rate` Hz: from the cache, or decoded now and
    /// cached. Missing/undecodable → a warning and [`MISSING_PROMPT_MS`] of
    /// silence (not cached, so a file added later is picked up).
    pub fn get(&self, name: &str, rate: u32) -> Arc<[i16]> {
        self.try_get(name, rate).unwrap_or_else(|| silence(rate))
    }

    /// Like [`get`](Self::get) but `None` (after the warning) instead of silence.
    pub fn try_get(&self, name: &str, rate: u32) -> Option<Arc<[i16]>> {
        let key = (name.to_string(), rate);
        {
            let mut c = self.lock();
            c.tick += 1;
            let tick = c.tick;
            if let Some(e) = c.pcm.get_mut(&key) {
                e.last_used = tick;
                return Some(e.pcm.clone());
            }
        }
        // Decode without the lock: other calls keep hitting the cache.
        let Some(path) = self.find(name) else {
            tracing::warn!(
                prompt = name,
                tried = %format!("{}/{name}.{{{}}}", self.dir().display(), EXTENSIONS.join(",")),
                "prompt not found; playing silence"
            );
            return None;
        };
        let pcm: Arc<[i16]> = match decode_file(&path, rate) {
            Ok(pcm) => pcm.into(),
            Err(e) => {
                tracing::warn!(prompt = name, error = %e, "prompt undecodable; playing silence");
                return None;
            }
        };
        let mut c = self.lock();
        c.decodes += 1;
        c.tick += 1;
        let tick = c.tick;
        // Another call may have decoded it meanwhile: keep one copy.
        if let Some(e) = c.pcm.get_mut(&key) {
            e.last_used = tick;
            return Some(e.pcm.clone());
        }
        c.total_samples += pcm.len();
        c.pcm.insert(key, Entry { pcm: pcm.clone(), last_used: tick });
        self.evict(&mut c);
        Some(pcm)
    }

    /// Drops least-recently-used entries until the bound holds. A linear
    /// scan: the cache holds tens to hundreds of prompts, and eviction only
    /// runs after a decode.
    fn evict(&self, c: &mut Cache) {
        while c.total_samples > self.max_samples && c.pcm.len() > 1 {
            let Some(oldest) = c.pcm.iter().min_by_key(|(_, e)| e.last_used).map(|(k, _)| k.clone()) else {
                break;
            };
            if let Some(e) = c.pcm.remove(&oldest) {
                c.total_samples -= e.pcm.len();
            }
            c.encoded.retain(|(n, r, _), _| !(n == &oldest.0 && *r == oldest.1));
        }
    }

    /// Pre-encoded 20 ms payloads of `name` for `codec` (a name such as
    /// "PCMU", used only as a cache key), produced once by `encode` from the
    /// PCM at `rate` and shared afterwards. `encode` receives the whole
    /// prompt and returns one payload per frame; the codec module supplies
    /// it (this module does not depend on `media::codec`). A missing prompt
    /// is encoded from silence each time and not cached.
    pub fn encoded<F>(&self, name: &str, rate: u32, codec: &str, encode: F) -> Arc<EncodedPrompt>
    where
        F: FnOnce(&[i16]) -> Vec<Vec<u8>>,
    {
        let key = (name.to_string(), rate, codec.to_string());
        if let Some(e) = self.lock().encoded.get(&key) {
            return e.clone();
        }
        let Some(pcm) = self.try_get(name, rate) else {
            return Arc::new(EncodedPrompt { codec: codec.to_string(), frames: encode(&silence(rate)) });
        };
        let enc = Arc::new(EncodedPrompt { codec: codec.to_string(), frames: encode(&pcm) });
        let mut c = self.lock();
        // Only cache while the PCM is still cached, so eviction covers both.
        if c.pcm.contains_key(&(key.0.clone(), rate)) {
            c.encoded.entry(key).or_insert_with(|| enc.clone());
        }
        enc
    }

    /// Decodes every prompt file of the language at each of `rates`, so the
    /// first caller does not wait. Returns how many (name, rate) pairs are
    /// now cached.
    pub fn preload(&self, rates: &[u32]) -> usize {
        let names = match list_names(&self.dir()) {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(dir = %self.dir().display(), error = %e, "cannot list prompts");
                return 0;
            }
        };
        let mut n = 0;
        for name in &names {
            for &rate in rates {
                n += usize::from(self.try_get(name, rate).is_some());
            }
        }
        n
    }

    /// Drops the decoded (and encoded) copies of `name`, so the next play
    /// reads the file again (after an administrator replaced it).
    pub fn forget(&self, name: &str) {
        let mut c = self.lock();
        let gone: Vec<(String, u32)> = c.pcm.keys().filter(|(n, _)| n == name).cloned().collect();
        for k in gone {
            if let Some(e) = c.pcm.remove(&k) {
                c.total_samples -= e.pcm.len();
            }
        }
        c.encoded.retain(|(n, _, _), _| n != name);
    }

    /// (entries, total samples, decodes so far) — for stats and tests.
    pub fn cache_stats(&self) -> (usize, usize, u64) {
        let c = self.lock();
        (c.pcm.len(), c.total_samples, c.decodes)
    }
}

/// Names (file stems) of the audio files in `dir`, sorted, deduplicated.
fn list_names(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().and_then(|e| e.to_str()).is_some_and(|e| EXTENSIONS.contains(&e)))
        .filter_map(|p| p.file_stem().and_then(|s| s.to_str()).map(str::to_string))
        .filter(|n| valid_name(n))
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

fn silence(rate: u32) -> Arc<[i16]> {
    vec![0i16; (u64::from(rate) * u64::from(MISSING_PROMPT_MS) / 1000) as usize].into()
}

/// Names listed in the shipped English prompt list (for tests that check
/// every prompt a module can emit exists).
#[cfg(test)]
pub fn listed_prompts() -> Vec<&'static str> {
    include_str!("../../prompts/en/prompts.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split('\t').next())
        .collect()
}

/// Plays a queue of prompts, 20 ms at a time, at one rate.
///
/// Holds `Arc<[i16]>` clips (no copy of the audio); `get_frame` copies
/// samples into the caller's frame and never allocates. The queue's `Vec`
/// keeps its capacity across plays, so steady-state queuing does not
/// allocate either once it has grown to the longest sequence used.
#[derive(Debug, Default)]
pub struct PromptPlayer {
    rate: u32,
    queue: Vec<Arc<[i16]>>,
    /// Per clip, its pre-encoded frames when queued with `enqueue_encoded`.
    encoded: Vec<Option<Arc<EncodedPrompt>>>,
    clip: usize,
    pos: usize,
}

impl PromptPlayer {
    /// An idle player at `rate` Hz.
    pub fn new(rate: u32) -> PromptPlayer {
        PromptPlayer { rate, queue: Vec::with_capacity(16), encoded: Vec::with_capacity(16), clip: 0, pos: 0 }
    }

    /// Appends already-decoded PCM (at this player's rate).
    pub fn enqueue(&mut self, pcm: Arc<[i16]>) {
        if self.is_done() {
            self.clear();
        }
        self.queue.push(pcm);
        self.encoded.push(None);
    }

    /// Appends a clip with its frames pre-encoded for one codec: a leg of
    /// that codec takes the encoded frames (`get_encoded`), any other the PCM.
    pub fn enqueue_encoded(&mut self, pcm: Arc<[i16]>, encoded: Arc<EncodedPrompt>) {
        self.enqueue(pcm);
        if let Some(slot) = self.encoded.last_mut() {
            *slot = Some(encoded);
        }
    }

    /// Appends `names` from `store` (decoding any not yet cached — see the
    /// module docs on blocking).
    pub fn enqueue_names<S: AsRef<str>>(&mut self, store: &PromptStore, names: &[S]) {
        for name in names {
            self.enqueue(store.get(name.as_ref(), self.rate));
        }
    }

    /// Stops playback and forgets the queue (barge-in on DTMF).
    pub fn clear(&mut self) {
        self.queue.clear();
        self.encoded.clear();
        self.clip = 0;
        self.pos = 0;
    }

    /// True when everything queued has been played.
    pub fn is_done(&self) -> bool {
        self.clip >= self.queue.len()
    }

    /// Samples still to play.
    pub fn remaining_samples(&self) -> usize {
        self.queue.iter().skip(self.clip).map(|c| c.len()).sum::<usize>().saturating_sub(self.pos)
    }
}

impl MediaPort for PromptPlayer {
    fn rate(&self) -> u32 {
        self.rate
    }

    /// Prompts ignore input (the DTMF detector listens to the caller).
    fn put_frame(&mut self, _frame: &AudioFrame) {}

    /// The current clip's next pre-encoded frame for `codec`; the PCM
    /// position advances by the same 20 ms so both paths stay in step.
    fn get_encoded(&mut self, codec: &str, out: &mut [u8]) -> Option<usize> {
        let enc = self.encoded.get(self.clip)?.as_ref()?;
        if enc.codec != codec {
            return None;
        }
        let n = samples_per_frame(self.rate);
        let index = self.pos / n.max(1);
        let payload = enc.frames.get(index)?;
        let dst = out.get_mut(..payload.len())?;
        dst.copy_from_slice(payload);
        self.pos += n;
        if index + 1 >= enc.frames.len() {
            self.clip += 1;
            self.pos = 0;
        }
        Some(payload.len())
    }

    /// Fills the frame across clip boundaries; the last frame is padded with
    /// silence. Returns false once nothing is left.
    fn get_frame(&mut self, frame: &mut AudioFrame) -> bool {
        frame.rate = self.rate;
        frame.len = samples_per_frame(self.rate);
        if self.is_done() {
            frame.clear();
            return false;
        }
        let mut filled = 0;
        while filled < frame.len {
            let Some(clip) = self.queue.get(self.clip) else { break };
            let take = (clip.len() - self.pos.min(clip.len())).min(frame.len - filled);
            frame.samples[filled..filled + take].copy_from_slice(&clip[self.pos..self.pos + take]);
            filled += take;
            self.pos += take;
            if self.pos >= clip.len() {
                self.clip += 1;
                self.pos = 0;
            }
        }
        frame.samples[filled..frame.len].fill(0);
        true
    }
}

#[cfg(test)]
#[path = "prompt/tests.rs"]
mod tests;
