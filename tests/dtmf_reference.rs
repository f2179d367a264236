//! In-band DTMF detector against the reference: spandsp 0.0.6 (Debian libspandsp-dev).
//!
//! Owns: the comparison matrix of ITU-T Q.24 cases and the talk-off corpus.
//! Must not touch: the detector itself (src/media/dtmf/), the C harness sources (tests/dtmf/).
//!
//! For every case, tests/dtmf/spandsp_gen.c writes an 8 kHz WAV, tests/dtmf/spandsp_rx.c runs
//! spandsp's dtmf_rx over it, and we run `detect_pcm` over the same samples. Where spandsp meets
//! Q.24 we assert the digit strings are equal (and the start times within 60 ms: spandsp's are
//! confirmation times at 20 ms granularity). Where spandsp deviates from Q.24 the case says so
//! and we assert the Q.24 answer, printing spandsp's.
//! Talk-off: speech from espeak-ng (several voices, speeds, digits spoken aloud) and music-like
//! signals from sox must give no digit from us; spandsp's result is printed, not asserted.
//!
//! Needs gcc, libspandsp-dev, libtiff-dev, espeak-ng and sox (Debian packages).
//! Run with `--nocapture` to see the table.

use std::path::{Path, PathBuf};
use std::process::Command;

use switchboard::media::dtmf::detect_pcm;

const ALL: &str = "123A456B789C*0#D";

struct Harness {
    dir: PathBuf,
}

impl Harness {
    fn new() -> Harness {
        let dir = std::env::temp_dir().join(format!("dtmf-reference-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dtmf");
        for prog in ["spandsp_gen", "spandsp_rx"] {
            let out = Command::new("gcc")
                .arg("-O2")
                .arg(src.join(format!("{prog}.c")))
                .arg("-I")
                .arg(&src)
                .arg("-o")
                .arg(dir.join(prog))
                .args(["-lspandsp", "-ltiff", "-lm"])
                .output()
                .expect("gcc runs");
            assert!(
                out.status.success(),
                "gcc {prog}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Harness { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn run(&self, prog: &str, args: &[&str]) -> String {
        let out = Command::new(self.dir.join(prog))
            .args(args)
            .output()
            .expect("harness runs");
        assert!(
            out.status.success(),
            "{prog} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn generate(&self, name: &str, digits: &str, params: &[&str]) -> PathBuf {
        let wav = self.path(&format!("{name}.wav"));
        let mut args = vec![wav.to_str().expect("utf-8 temp path"), digits];
        args.extend_from_slice(params);
        self.run("spandsp_gen", &args);
        wav
    }

    /// spandsp's digits: (confirmation seconds, key).
    fn spandsp(&self, wav: &Path) -> Vec<(f64, char)> {
        parse_lines(&self.run("spandsp_rx", &[wav.to_str().expect("utf-8 temp path")]))
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn parse_lines(s: &str) -> Vec<(f64, char)> {
    s.lines()
        .filter_map(|l| {
            let (t, d) = l.split_once(' ')?;
            Some((t.parse().ok()?, d.chars().next()?))
        })
        .collect()
}

fn ours(wav: &Path) -> Vec<(f64, char)> {
    let mut r = hound::WavReader::open(wav).expect("wav");
    let spec = r.spec();
    assert_eq!((spec.channels, spec.bits_per_sample), (1, 16), "{wav:?}");
    let pcm: Vec<i16> = r.samples::<i16>().map(|s| s.expect("sample")).collect();
    detect_pcm(&pcm, spec.sample_rate).expect("8 kHz")
}

fn keys(v: &[(f64, char)]) -> String {
    v.iter().map(|(_, k)| *k).collect()
}

/// What a case asserts.
enum Expect {
    /// Ours must equal spandsp's, which must equal this (spandsp meets Q.24 here).
    Both(&'static str),
    /// spandsp deviates from Q.24 here: ours must equal this, spandsp's is only reported.
    Q24(&'static str, &'static str),
}

struct Case {
    name: &'static str,
    digits: &'static str,
    params: &'static [&'static str],
    expect: Expect,
}

const fn both(
    name: &'static str,
    digits: &'static str,
    params: &'static [&'static str],
    e: &'static str,
) -> Case {
    Case {
        name,
        digits,
        params,
        expect: Expect::Both(e),
    }
}

fn cases() -> Vec<Case> {
    use Expect::Q24;
    vec![
        // All 16 keys, spandsp's dtmf_tx (−10 dBm0 per tone, 50 ms on / 55 ms off).
        both("all16", ALL, &[], ALL),
        // Levels per tone: −3 dBm0 per tone is 0 dBm0 for the pair; Q.24 floor −26 dBm0.
        both("level-3", ALL, &["level=-3"], ALL),
        both("level-13", ALL, &["level=-13"], ALL),
        both("level-20", ALL, &["level=-20"], ALL),
        both("level-26", ALL, &["level=-26"], ALL),
        both("level-50", ALL, &["level=-50"], ""),
        // Twist (high minus low, dB), exact per-tone levels from the sin() generator.
        both(
            "twist+3.5",
            ALL,
            &["synth=1", "level=-10", "twist=3.5"],
            ALL,
        ),
        both("twist-7", ALL, &["synth=1", "level=-6", "twist=-7"], ALL),
        both("twist+5.5", ALL, &["synth=1", "level=-10", "twist=5.5"], ""),
        both("twist-9.5", ALL, &["synth=1", "level=-6", "twist=-9.5"], ""),
        // Frequency deviation (Q.24: ±1.5 % accept, ±3.5 % reject).
        both("dev-high+1.5", ALL, &["devhigh=1.5"], ALL),
        both("dev-high-1.5", ALL, &["devhigh=-1.5"], ALL),
        both("dev-low+1.5", ALL, &["devlow=1.5"], ALL),
        both("dev-low-1.5", ALL, &["devlow=-1.5"], ALL),
        Case {
            name: "dev-both+1.5",
            digits: ALL,
            params: &["dev=1.5"],
            expect: Q24(
                ALL,
                "spandsp misses C and D (1633 Hz +1.5 % together with a row +1.5 %)",
            ),
        },
        Case {
            name: "dev-both-1.5",
            digits: ALL,
            params: &["dev=-1.5"],
            expect: Q24(
                ALL,
                "spandsp misses C and D (1633 Hz −1.5 % together with a row −1.5 %)",
            ),
        },
        both("dev-both+3.5", ALL, &["dev=3.5"], ""),
        both("dev-both-3.5", ALL, &["dev=-3.5"], ""),
        both("dev-high+3.5", ALL, &["devhigh=3.5"], ""),
        both("dev-high-3.5", ALL, &["devhigh=-3.5"], ""),
        Case {
            name: "dev-low+3.5",
            digits: ALL,
            params: &["devlow=3.5"],
            expect: Q24(
                "",
                "spandsp accepts some keys with only the low tone 3.5 % off",
            ),
        },
        Case {
            name: "dev-low-3.5",
            digits: ALL,
            params: &["devlow=-3.5"],
            expect: Q24(
                "",
                "spandsp accepts some keys with only the low tone 3.5 % off",
            ),
        },
        // Q.24 minimum tone and pause, and a too-short tone.
        both("40on-40off", ALL, &["on=40", "off=40"], ALL),
        both("repeat-40-40", "1111##55", &["on=40", "off=40"], "1111##55"),
        both("20on", ALL, &["on=20", "off=40"], ""),
        // Noise: spandsp AWGN, SNR relative to the low tone.
        both("snr20-level-20", ALL, &["level=-20", "snr=20"], ALL),
        both("snr15-level-10", ALL, &["level=-10", "snr=15"], ALL),
        both(
            "snr15-level-26",
            ALL,
            &["level=-26", "snr=15", "seed=7"],
            ALL,
        ),
    ]
}

/// Talk-off material: (name, 8 kHz s16 mono WAV, must ours stay silent).
fn talkoff_sources(h: &Harness) -> Vec<(String, PathBuf, bool)> {
    let mut out = Vec::new();
    let speech = [
        ("en", "160", "Please enter your account number followed by the pound key. One two three four five six seven eight nine zero. Press star to return to the main menu."),
        ("en-us", "120", "Thank you for calling. Your call is important to us. Eight, five, two, nine, four, one. Please hold while we connect you."),
        ("en+f3", "200", "Hash, star, zero, zero, seven. The quick brown fox jumps over the lazy dog, while she sells sea shells by the sea shore."),
        ("de", "150", "Bitte geben Sie Ihre Kundennummer ein. Eins, zwei, drei, vier, fünf, sechs, sieben, acht, neun, null."),
        ("fr", "170", "Bonjour, tapez un, deux, trois, puis la touche dièse. Nous allons transférer votre appel."),
        ("en+m7", "90", "Aaaa eeee iiii oooo uuuu. Mmmm hmmm. Beep boop. Sixty six, ninety nine, one hundred."),
    ];
    for (i, (voice, speed, text)) in speech.iter().enumerate() {
        let raw = h.path(&format!("speech{i}-raw.wav"));
        let wav = h.path(&format!("speech{i}.wav"));
        let ok = Command::new("espeak-ng")
            .args(["-v", voice, "-s", speed, "-w"])
            .arg(&raw)
            .arg(text)
            .status()
            .expect("espeak-ng runs")
            .success();
        assert!(ok, "espeak-ng {voice}");
        // Resample (sox low-passes), normalise loud (−1 dBFS peak): worst case for talk-off.
        sox(&[
            raw.to_str().expect("path"),
            "-r",
            "8000",
            "-b",
            "16",
            "-c",
            "1",
            wav.to_str().expect("path"),
            "gain",
            "-n",
            "-1",
        ]);
        out.push((format!("speech {voice} {speed}wpm"), wav, true));
    }
    let music: [(&str, &[&str]); 8] = [
        (
            "pluck chord C-E-G",
            &["synth", "6", "pluck", "C4", "pluck", "E4", "pluck", "G4"],
        ),
        (
            "pluck chord A-C#-E-A",
            &[
                "synth", "6", "pluck", "A3", "pluck", "C#4", "pluck", "E4", "pluck", "A4",
            ],
        ),
        (
            "square dyad",
            &["synth", "5", "square", "220", "square", "330"],
        ),
        (
            "triangle chord",
            &[
                "synth", "5", "triangle", "F4", "triangle", "A4", "triangle", "C5",
            ],
        ),
        ("sine sweep 300-3400", &["synth", "8", "sine", "300-3400"]),
        (
            "sweep over 440 Hz",
            &["synth", "8", "sine", "500-3000", "sine", "440"],
        ),
        (
            "pluck arpeggio",
            &["synth", "0.3", "pluck", "C4", "pluck", "G4", "repeat", "12"],
        ),
        (
            "sawtooth tremolo",
            &[
                "synth", "6", "sawtooth", "G3", "sawtooth", "D4", "tremolo", "6", "40",
            ],
        ),
    ];
    for (i, (name, synth)) in music.iter().enumerate() {
        let wav = h.path(&format!("music{i}.wav"));
        let mut args = vec![
            "-n",
            "-r",
            "8000",
            "-b",
            "16",
            "-c",
            "1",
            wav.to_str().expect("path"),
        ];
        args.extend_from_slice(synth);
        args.extend_from_slice(&["gain", "-n", "-1"]);
        sox(&args);
        out.push((format!("music {name}"), wav, true));
    }
    // Not talk-off: two slow simultaneous sweeps pass through real DTMF pairs (each stays
    // within ±2.5 % of a row and a column tone for far longer than 40 ms), so by Q.24 they *are*
    // digits. Kept to show both detectors agree on such a signal; asserted equal, not silent.
    let wav = h.path("two-sweeps.wav");
    let mut args = vec![
        "-n",
        "-r",
        "8000",
        "-b",
        "16",
        "-c",
        "1",
        wav.to_str().expect("path"),
    ];
    args.extend_from_slice(&[
        "synth",
        "8",
        "sine",
        "600-1000",
        "sine",
        "1100-1700",
        "gain",
        "-n",
        "-1",
    ]);
    sox(&args);
    out.push(("two sweeps crossing DTMF pairs".to_string(), wav, false));
    out
}

fn sox(args: &[&str]) {
    let out = Command::new("sox").args(args).output().expect("sox runs");
    assert!(
        out.status.success(),
        "sox {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn dtmf_matches_spandsp_and_q24() {
    let h = Harness::new();
    let mut failures = Vec::new();
    println!("{:<16} {:<18} {:<18} note", "case", "ours", "spandsp");
    for c in cases() {
        let wav = h.generate(c.name, c.digits, c.params);
        let (us, them) = (ours(&wav), h.spandsp(&wav));
        let (k_us, k_them) = (keys(&us), keys(&them));
        let note = match c.expect {
            Expect::Both(want) => {
                if k_us != want || k_them != want {
                    failures.push(format!(
                        "{}: ours {k_us:?} spandsp {k_them:?} want {want:?}",
                        c.name
                    ));
                } else if let Some(((a, _), (b, _))) = us
                    .iter()
                    .zip(&them)
                    .find(|((a, _), (b, _))| (a - b).abs() > 0.06)
                {
                    failures.push(format!("{}: start {a:.3} vs spandsp {b:.3}", c.name));
                }
                String::new()
            }
            Expect::Q24(want, why) => {
                if k_us != want {
                    failures.push(format!("{}: ours {k_us:?} want {want:?} (Q.24)", c.name));
                }
                format!("Q.24 asserted; {why}")
            }
        };
        println!("{:<16} {:<18} {:<18} {note}", c.name, k_us, k_them);
    }
    println!("\ntalk-off (ours must be empty):");
    for (name, wav, silent) in talkoff_sources(&h) {
        let (us, them) = (ours(&wav), h.spandsp(&wav));
        println!("{name:<34} ours {:<6} spandsp {}", keys(&us), keys(&them));
        if silent && !us.is_empty() {
            failures.push(format!("talk-off {name}: {us:?}"));
        }
        if !silent && keys(&us) != keys(&them) {
            failures.push(format!("{name}: ours {us:?} spandsp {them:?}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
