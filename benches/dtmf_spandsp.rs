//! In-band DTMF detection speed, side by side: our `DtmfDetector` and spandsp 0.0.6's `dtmf_rx`
//! (Debian libspandsp-dev) on the same fixed 10 s signal (40 digits in noise, see
//! `common::dtmf_signal`), both fed 20 ms chunks of 160 samples and both constructed outside the
//! timed section. Prints samples/s for each and the ratio ours/spandsp. Run with `make bench`
//! or `cargo bench --bench dtmf_spandsp`.
//!
//! spandsp is reached through a minimal hand-written FFI declaration (prototypes from
//! /usr/include/spandsp/dtmf.h) rather than bindgen: three functions, one opaque type.

use std::ffi::{c_char, c_int, c_void};
use std::hint::black_box;
use std::marker::{PhantomData, PhantomPinned};
use std::time::Duration;

use criterion::{BatchSize, Throughput};

use switchboard::media::dtmf::DtmfDetector;

mod common;
use common::{dtmf_signal, fmt_count, Summary, DTMF_CHUNK, DTMF_SAMPLES};

/// `dtmf_rx_state_t`, opaque.
#[repr(C)]
struct DtmfRxState {
    _data: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// `typedef void (*digits_rx_callback_t)(void *user_data, const char *digits, int len);`
type DigitsRxCallback = Option<unsafe extern "C" fn(user_data: *mut c_void, digits: *const c_char, len: c_int)>;

#[link(name = "spandsp")]
unsafe extern "C" {
    /// `dtmf_rx_state_t *dtmf_rx_init(dtmf_rx_state_t *s, digits_rx_callback_t callback, void *user_data);`
    /// With `s == NULL` spandsp allocates the state.
    fn dtmf_rx_init(s: *mut DtmfRxState, callback: DigitsRxCallback, user_data: *mut c_void) -> *mut DtmfRxState;
    /// `int dtmf_rx(dtmf_rx_state_t *s, const int16_t amp[], int samples);`
    fn dtmf_rx(s: *mut DtmfRxState, amp: *const i16, samples: c_int) -> c_int;
    /// `int dtmf_rx_free(dtmf_rx_state_t *s);`
    fn dtmf_rx_free(s: *mut DtmfRxState) -> c_int;
}

/// Collects the digits spandsp reports through the callback.
unsafe extern "C" fn on_digits(user_data: *mut c_void, digits: *const c_char, len: c_int) {
    // SAFETY: `user_data` is the `Box<String>` owned by the `SpanRx` that registered this
    // callback, alive for as long as the spandsp state; spandsp passes `len` valid bytes.
    unsafe {
        let out = &mut *user_data.cast::<String>();
        let bytes = std::slice::from_raw_parts(digits.cast::<u8>(), usize::try_from(len).unwrap_or(0));
        out.extend(bytes.iter().map(|&b| b as char));
    }
}

/// One spandsp receiver with its digit sink; freed on drop.
struct SpanRx {
    state: *mut DtmfRxState,
    digits: Box<String>,
}

impl SpanRx {
    fn new() -> SpanRx {
        let mut digits = Box::new(String::with_capacity(64));
        let user = (&mut *digits as *mut String).cast::<c_void>();
        // SAFETY: NULL asks spandsp to allocate; the callback and its user data outlive the state
        // (both dropped together in `Drop`, the state first).
        let state = unsafe { dtmf_rx_init(std::ptr::null_mut(), Some(on_digits), user) };
        assert!(!state.is_null(), "dtmf_rx_init failed");
        SpanRx { state, digits }
    }

    fn process(&mut self, pcm: &[i16]) {
        // SAFETY: valid state from dtmf_rx_init; `pcm` is readable for `len` samples.
        let left = unsafe { dtmf_rx(self.state, pcm.as_ptr(), pcm.len() as c_int) };
        debug_assert_eq!(left, 0);
    }
}

impl Drop for SpanRx {
    fn drop(&mut self) {
        // SAFETY: allocated by dtmf_rx_init(NULL, ...), freed once.
        unsafe {
            dtmf_rx_free(self.state);
        }
    }
}

fn ours_digits(signal: &[i16]) -> String {
    let mut det = DtmfDetector::new();
    let mut out = String::new();
    for chunk in signal.chunks(DTMF_CHUNK) {
        det.process(chunk);
        while let Some(e) = det.poll_event() {
            out.push(e.digit.to_char());
        }
    }
    det.flush();
    while let Some(e) = det.poll_event() {
        out.push(e.digit.to_char());
    }
    out
}

fn spandsp_digits(signal: &[i16]) -> String {
    let mut rx = SpanRx::new();
    for chunk in signal.chunks(DTMF_CHUNK) {
        rx.process(chunk);
    }
    std::mem::take(&mut *rx.digits)
}

fn main() {
    let (signal, keys) = dtmf_signal();
    // What each detector finds on the signal (untimed): a speed comparison only means something
    // if both do the same job.
    let ours = ours_digits(&signal);
    let theirs = spandsp_digits(&signal);

    let mut c = common::criterion();
    let mut s = Summary::new();
    let mut g = c.benchmark_group("dtmf_vs_spandsp");
    g.throughput(Throughput::Elements(DTMF_SAMPLES as u64));
    g.bench_function("switchboard", |b| {
        b.iter_batched(
            DtmfDetector::new,
            |mut d| {
                let mut n = 0u32;
                for chunk in signal.chunks(DTMF_CHUNK) {
                    d.process(black_box(chunk));
                    while d.poll_event().is_some() {
                        n += 1;
                    }
                }
                black_box(n);
                d
            },
            BatchSize::SmallInput,
        )
    });
    s.add("dtmf_vs_spandsp/switchboard", DTMF_SAMPLES as u64, "samples", Duration::from_secs(10));
    g.bench_function("spandsp", |b| {
        b.iter_batched(
            SpanRx::new,
            |mut rx| {
                for chunk in signal.chunks(DTMF_CHUNK) {
                    rx.process(black_box(chunk));
                }
                black_box(rx.digits.len());
                rx
            },
            BatchSize::SmallInput,
        )
    });
    s.add("dtmf_vs_spandsp/spandsp", DTMF_SAMPLES as u64, "samples", Duration::from_secs(10));
    g.finish();
    c.final_summary();

    s.print("dtmf_spandsp", "in-band DTMF: switchboard vs spandsp 0.0.6 dtmf_rx (10 s, 8 kHz, 160-sample chunks)");
    println!();
    println!("{:<12}  {:>16}  {:>7}  digits found (signal carries {} : {keys})", "detector", "samples/s", "digits", keys.len());
    let ns = |id: &str| s.nanos(id);
    for (name, id, found) in [
        ("switchboard", "dtmf_vs_spandsp/switchboard", &ours),
        ("spandsp", "dtmf_vs_spandsp/spandsp", &theirs),
    ] {
        let rate = ns(id).map_or("-".to_string(), |n| fmt_count(DTMF_SAMPLES as f64 * 1e9 / n));
        let ok = if *found == keys { "all correct" } else { "DIFFERS" };
        println!("{name:<12}  {rate:>16}  {:>7}  {ok}: {found}", found.len());
    }
    match (ns("dtmf_vs_spandsp/switchboard"), ns("dtmf_vs_spandsp/spandsp")) {
        // Samples/s ratio = inverse of the time ratio.
        (Some(o), Some(t)) => println!("ratio ours/spandsp (samples/s): {:.2}", t / o),
        _ => println!("ratio ours/spandsp: not measured in this run"),
    }
}
