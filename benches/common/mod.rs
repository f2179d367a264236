//! Shared by the bench binaries (`benches/media.rs`, `benches/dtmf_spandsp.rs`): deterministic
//! test signals, the criterion settings that keep `make bench` within a few minutes, and the
//! plain summary table printed at the end of each binary.
//!
//! The table is read back from what criterion itself saved (`<dir>/<id>/new/estimates.json`,
//! written for every finished benchmark): the same point estimate criterion prints as `time`
//! (the regression slope, or the mean when there is none). Only files written by this run are
//! used, so a filtered run (`cargo bench --bench media -- codec`) shows just what it measured.

#![allow(dead_code)] // each bench binary uses a different part of this module

use std::f64::consts::TAU;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use criterion::Criterion;

/// The DTMF signal: 8 kHz, 10 s.
pub const DTMF_RATE: u32 = 8000;
pub const DTMF_SAMPLES: usize = 10 * DTMF_RATE as usize;
/// 20 ms at 8 kHz: both detectors are fed this chunk size, like the appliance does.
pub const DTMF_CHUNK: usize = 160;

/// Small deterministic PRNG (64-bit LCG, high bits): the same signal on every run and machine.
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Lcg {
        Lcg(seed)
    }
    pub fn next_u32(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as u32
    }
    /// Uniform in [-1, 1).
    pub fn unit(&mut self) -> f64 {
        f64::from(self.next_u32()) / f64::from(1u32 << 31) - 1.0
    }
}

const ROWS: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
const COLS: [f64; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
const KEYPAD: [[char; 4]; 4] = [
    ['1', '2', '3', 'A'],
    ['4', '5', '6', 'B'],
    ['7', '8', '9', 'C'],
    ['*', '0', '#', 'D'],
];

fn key_freqs(key: char) -> (f64, f64) {
    for (r, row) in KEYPAD.iter().enumerate() {
        for (c, &k) in row.iter().enumerate() {
            if k == key {
                return (ROWS[r], COLS[c]);
            }
        }
    }
    panic!("not a DTMF key: {key}");
}

/// The fixed 10 s DTMF signal and the keys it carries, in order.
///
/// 1 s of noise, then 40 key presses (all 16 keys, cycled) of 100 ms tone + 100 ms pause,
/// then 1 s of noise. White noise at about -35 dBFS RMS runs under everything; the tone
/// pairs vary between roughly -10 and -20 dBm0 per tone with up to 2 dB of twist.
pub fn dtmf_signal() -> (Vec<i16>, String) {
    const KEYS: &str = "123A456B789C*0#D";
    let mut rng = Lcg::new(0x5eed_d7f0);
    let mut pcm = vec![0.0f64; DTMF_SAMPLES];
    let mut keys = String::new();
    let rate = f64::from(DTMF_RATE);
    let tone = (rate * 0.1) as usize;
    for i in 0..40 {
        let key = KEYS.as_bytes()[i % KEYS.len()] as char;
        keys.push(key);
        let (lo, hi) = key_freqs(key);
        let start = DTMF_RATE as usize + i * 2 * tone;
        // Full-scale sine is +3.14 dBm0 (G.711); -10 dBm0 per tone is ~7300 peak.
        let level_db = -10.0 - (i % 5) as f64 * 2.5;
        let amp = 32767.0 * 10f64.powf((level_db - DBM0_BELOW_FULL_SCALE_DB) / 20.0);
        let twist = 10f64.powf(-((i % 3) as f64) / 20.0); // 0, 1 or 2 dB, high tone weaker
        for (n, s) in pcm[start..start + tone].iter_mut().enumerate() {
            let t = n as f64 / rate;
            *s += amp * (TAU * lo * t).sin() + amp * twist * (TAU * hi * t).sin();
        }
    }
    let noise = 32767.0 * 10f64.powf(-35.0 / 20.0) * 3f64.sqrt(); // uniform: RMS = peak / sqrt 3
    let pcm = pcm
        .into_iter()
        .map(|s| (s + noise * rng.unit()).round().clamp(-32768.0, 32767.0) as i16)
        .collect();
    (pcm, keys)
}

/// A voice-like test signal at `rate`: a 120–180 Hz gliding fundamental with decaying
/// harmonics up to 3.4 kHz (or 7 kHz above 8 kHz rates), syllable-rate amplitude modulation and
/// a little noise. `frames` 20 ms frames, so encoders see changing content.
pub fn voice_frames(rate: u32, frames: usize) -> Vec<Vec<i16>> {
    let n = (rate / 50) as usize;
    let r = f64::from(rate);
    let top = if rate > 8000 { 7000.0 } else { 3400.0 };
    let mut rng = Lcg::new(u64::from(rate));
    let mut phase = 0.0f64;
    let mut out = Vec::with_capacity(frames);
    for f in 0..frames {
        let mut frame = Vec::with_capacity(n);
        for i in 0..n {
            let t = (f * n + i) as f64 / r;
            let f0 = 150.0 + 30.0 * (TAU * 0.7 * t).sin();
            phase += TAU * f0 / r;
            let env = 0.55 + 0.45 * (TAU * 4.0 * t).sin();
            let mut s = 0.0;
            let mut h = 1.0;
            while h * f0 < top && h <= 40.0 {
                s += (phase * h).sin() / h;
                h += 1.0;
            }
            let x = 6000.0 * env * s + 200.0 * rng.unit();
            frame.push(x.round().clamp(-32768.0, 32767.0) as i16);
        }
        out.push(frame);
    }
    out
}

/// Where criterion keeps its data: `$CRITERION_HOME`, else `<target>/criterion` next to this
/// bench executable (`<target>/release/deps/<bench>-<hash>`), else `target/criterion`. Set
/// explicitly on the `Criterion` so writer and reader agree.
pub fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(|t| t.join("criterion")))
        .unwrap_or_else(|| PathBuf::from("target/criterion"))
}

/// Short runs: 0.5 s warm-up, 1.5 s measurement, 30 samples per benchmark (criterion's
/// defaults are 3 s / 5 s / 100). Command-line flags (`--measurement-time`, ...) still win.
pub fn criterion() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500))
        .sample_size(30)
        .output_directory(&criterion_dir())
        .configure_from_args()
}

/// One line of the closing table.
pub struct Row {
    /// Criterion's full id, `group/function[/parameter]`.
    pub id: String,
    /// Units of work per iteration (samples, packets, parties) and their name.
    pub elements: u64,
    pub unit: &'static str,
    /// Audio time one iteration processes for one stream (20 ms for a frame or packet, 10 s
    /// for the DTMF signal): the real-time factor is this over the time per iteration.
    pub audio: Duration,
}

/// The rows registered by a bench binary, in the order they run.
pub struct Summary {
    start: SystemTime,
    dir: PathBuf,
    rows: Vec<Row>,
}

impl Summary {
    pub fn new() -> Summary {
        Summary { start: SystemTime::now(), dir: criterion_dir(), rows: Vec::new() }
    }

    pub fn add(&mut self, id: impl Into<String>, elements: u64, unit: &'static str, audio: Duration) {
        self.rows.push(Row { id: id.into(), elements, unit, audio });
    }

    /// Criterion's point estimate (ns per iteration) for `id`, if this run measured it.
    pub fn nanos(&self, id: &str) -> Option<f64> {
        read_estimate(&self.dir.join(id).join("new/estimates.json"), self.start)
    }

    /// Prints the table and saves it as `target/bench/<name>.json` for `make bench`'s combined
    /// table (benches/load/report.py); returns the rows that had a fresh measurement with their
    /// ns/iter.
    pub fn print(&self, name: &str, title: &str) -> Vec<(String, f64)> {
        let mut got = Vec::new();
        let width = self.rows.iter().map(|r| r.id.len()).max().unwrap_or(10).max(10);
        println!();
        println!("== {title} ==");
        println!(
            "{:<width$}  {:>12}  {:>22}  {:>14}",
            "benchmark", "time/iter", "throughput", "x real time"
        );
        println!("{}", "-".repeat(width + 2 + 12 + 2 + 22 + 2 + 14));
        for r in &self.rows {
            let Some(ns) = self.nanos(&r.id) else { continue };
            let per_s = r.elements as f64 * 1e9 / ns;
            let realtime = if r.audio.is_zero() {
                "-".to_string()
            } else {
                format!("{:.0}x", r.audio.as_secs_f64() * 1e9 / ns)
            };
            println!(
                "{:<width$}  {:>12}  {:>22}  {:>14}",
                r.id,
                fmt_time(ns),
                format!("{} {}/s", fmt_count(per_s), r.unit),
                realtime,
            );
            got.push((r.id.clone(), ns));
        }
        if got.is_empty() {
            println!("(no fresh criterion estimates under {})", self.dir.display());
        }
        println!("x real time: how many streams (or conferences, for the mixer) one core keeps up with.");
        self.save(name, title, &got);
        got
    }

    fn save(&self, name: &str, title: &str, got: &[(String, f64)]) {
        let rows: Vec<serde_json::Value> = got
            .iter()
            .filter_map(|(id, ns)| {
                let r = self.rows.iter().find(|r| &r.id == id)?;
                Some(serde_json::json!({
                    "id": id,
                    "ns_per_iter": ns,
                    "per_second": r.elements as f64 * 1e9 / ns,
                    "unit": r.unit,
                    "x_real_time": (!r.audio.is_zero()).then(|| r.audio.as_secs_f64() * 1e9 / ns),
                }))
            })
            .collect();
        let dir = self.dir.parent().map_or_else(|| PathBuf::from("target/bench"), |t| t.join("bench"));
        let path = dir.join(format!("{name}.json"));
        let doc = serde_json::json!({ "title": title, "rows": rows });
        let written = std::fs::create_dir_all(&dir).and_then(|()| {
            std::fs::write(&path, serde_json::to_vec_pretty(&doc).expect("JSON values serialize"))
        });
        match written {
            Ok(()) => println!("JSON: {}", path.display()),
            Err(e) => eprintln!("cannot write {}: {e}", path.display()),
        }
    }
}

fn read_estimate(path: &Path, since: SystemTime) -> Option<f64> {
    let meta = std::fs::metadata(path).ok()?;
    if meta.modified().ok()? < since {
        return None; // left over from an earlier run
    }
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    // Criterion prints the slope when it has one (linear sampling), else the mean.
    ["slope", "mean"]
        .iter()
        .find_map(|k| v.get(k)?.get("point_estimate")?.as_f64())
}

pub fn fmt_time(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

pub fn fmt_count(x: f64) -> String {
    if x >= 1e9 {
        format!("{:.2} G", x / 1e9)
    } else if x >= 1e6 {
        format!("{:.2} M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.2} k", x / 1e3)
    } else {
        format!("{x:.1}")
    }
}

/// G.711: a sine at 0 dBm0 peaks 3.14 dB below digital full scale (G.711
/// Table 5/6); the value only looks like pi.
#[allow(clippy::approx_constant)]
const DBM0_BELOW_FULL_SCALE_DB: f64 = 3.14;
