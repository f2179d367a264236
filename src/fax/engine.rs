//! The fax engine seam: spandsp's T.30 terminal, either over T.38 (IFP
//! packets, `T38Terminal`) or over G.711 audio with its own V.21/V.27ter/
//! V.29/V.17 modems (`AudioTerminal`), behind a safe, sans-IO API. Callers
//! feed packets or samples and elapsed time, and take packets, samples and
//! `FaxEvent`s out; nothing here does I/O except spandsp reading and
//! writing the TIFF file it was given.
//!
//! This is the one module of the crate with `unsafe` code and C callbacks
//! (see `docs/decisions.md` for why spandsp and for the LGPL terms). The
//! rules that keep it sound:
//! - each terminal owns its spandsp state and a boxed `Callbacks` whose
//!   address is what spandsp keeps as `user_data`; the box never moves and
//!   outlives the state (the state is freed first, in `Drop`);
//! - callbacks only push onto queues in that box: they never call back
//!   into spandsp and never unwind (a panic in an `extern "C"` function
//!   aborts, and nothing in them can panic short of an allocation failure);
//! - spandsp is entered only through `&mut self`, so one thread at a time.
//!
//! It must not know UDPTL, RTP, SIP or the database: framing is `udptl`'s,
//! the call drivers own the sockets and decide where files go.

use std::collections::VecDeque;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::path::{Path, PathBuf};
use std::ptr::NonNull;

use spandsp_sys as sys;
use thiserror::Error;

/// spandsp's clock: every timer runs on 8 kHz samples.
pub const SAMPLE_RATE: u32 = 8000;

/// What the terminal does with a document.
#[derive(Debug, Clone)]
pub enum Document {
    /// Transmit this TIFF (Class F, or anything spandsp 3 can re-encode).
    Send { tiff: PathBuf, header: Option<String> },
    /// Write what arrives to this multi-page TIFF.
    Receive { tiff: PathBuf },
}

/// T.30 settings shared by both transports.
#[derive(Debug, Clone)]
pub struct FaxConfig {
    pub document: Document,
    /// True for the side that placed the call (it sends CNG; the called side
    /// sends CED and the DIS). A called terminal can still send: it offers
    /// the document for polling and the caller's machine asks for it.
    pub calling_party: bool,
    /// Our station identity (TSI/CSI), at most 20 characters, printable.
    pub local_ident: String,
    /// Error correction mode (T.30 Annex A) offered/accepted.
    pub ecm: bool,
}

/// T.38 settings negotiated in SDP (`a=T38Fax...`).
#[derive(Debug, Clone)]
pub struct T38Settings {
    pub version: u8,
    pub max_bit_rate: u32,
    /// `T38FaxRateManagement:transferredTCF` (else localTCF).
    pub transferred_tcf: bool,
    pub fill_bit_removal: bool,
    /// The far end's `T38FaxMaxDatagram`: IFP packets are cut to fit.
    pub max_datagram: usize,
}

impl Default for T38Settings {
    fn default() -> Self {
        Self { version: 0, max_bit_rate: 14400, transferred_tcf: true, fill_bit_removal: false, max_datagram: 400 }
    }
}

#[derive(Debug, Error)]
pub enum FaxError {
    #[error("station identity {0:?}: at most 20 printable ASCII characters")]
    BadIdent(String),
    #[error("page header {0:?}: at most 50 printable ASCII characters")]
    BadHeader(String),
    #[error("document path {0}: not valid for the fax engine")]
    BadPath(PathBuf),
    #[error("spandsp could not create the {0} terminal")]
    Init(&'static str),
}

/// What happened, in protocol order.
#[derive(Debug, Clone, PartialEq)]
pub enum FaxEvent {
    /// Phase B: the terminals exchanged capabilities; the far end's ident is
    /// known from here on.
    Negotiated { remote_ident: String },
    /// Phase D: a page went across (sent, or received and written).
    Page { pages: u32 },
    /// Phase E: the session is over. Exactly once.
    Finished(FaxReport),
}

/// The T.30 outcome, as the fax record and the job status show it.
#[derive(Debug, Clone, PartialEq)]
pub struct FaxReport {
    /// spandsp's T.30 completion code (`T30_ERR_*`); 0 is success.
    pub code: i32,
    /// The code in words, e.g. "OK" or "Far end is not able to receive".
    pub reason: String,
    pub remote_ident: String,
    pub pages: u32,
    pub bit_rate: u32,
    pub ecm: bool,
    /// Resolution of the last page, pixels per metre (8037 x 3850 is
    /// standard, 8037 x 7700 fine).
    pub x_resolution: u32,
    pub y_resolution: u32,
    pub width: u32,
    pub length: u32,
    pub bad_rows: u32,
}

impl FaxReport {
    pub fn success(&self) -> bool {
        self.code == sys::t30_err_e::T30_ERR_OK as i32
    }
}

/// Where callbacks leave their results. Boxed by its owner; its address is
/// spandsp's `user_data`.
#[derive(Default)]
struct Callbacks {
    /// IFP packets T.38 wants sent, with spandsp's repeat count.
    ifp_out: VecDeque<(Vec<u8>, u8)>,
    /// Phase events whose details are read after the callback returns:
    /// the callbacks must not call into spandsp.
    raw: VecDeque<RawEvent>,
}

#[derive(Clone, Copy)]
enum RawEvent {
    PhaseB,
    PhaseD,
    PhaseE(c_int),
}

/// State common to both terminals: the T.30 engine and our queues.
struct Session {
    t30: NonNull<sys::t30_state_t>,
    cb: Box<Callbacks>,
    events: VecDeque<FaxEvent>,
    finished: bool,
    /// Kept alive for spandsp, which keeps the pointers it was given for
    /// the file names only until it opens them, but be safe.
    _paths: Vec<CString>,
}

impl Session {
    /// Applies `FaxConfig` to a fresh T.30 engine and installs the phase
    /// handlers.
    ///
    /// # Safety
    /// `t30` must be the live T.30 state of a terminal that outlives the
    /// returned session's use of it.
    /// `cb` may already be registered elsewhere in the same terminal (the
    /// T.38 packet handler); the phase handlers go to the same box.
    unsafe fn configure(
        t30: NonNull<sys::t30_state_t>,
        config: &FaxConfig,
        mut cb: Box<Callbacks>,
    ) -> Result<Self, FaxError> {
        let ident = printable(&config.local_ident, 20).ok_or_else(|| FaxError::BadIdent(config.local_ident.clone()))?;
        let user = (&mut *cb as *mut Callbacks).cast::<c_void>();
        let mut paths = Vec::new();
        let s = t30.as_ptr();
        sys::t30_set_tx_ident(s, ident.as_ptr());
        sys::t30_set_ecm_capability(s, config.ecm);
        sys::t30_set_supported_modems(
            s,
            (sys::T30_SUPPORT_V27TER | sys::T30_SUPPORT_V29 | sys::T30_SUPPORT_V17) as c_int,
        );
        // T.6 (MMR) needs ECM; spandsp only uses it when ECM is agreed.
        sys::t30_set_supported_compressions(
            s,
            (sys::t4_image_compression_t_T4_COMPRESSION_T4_1D
                | sys::t4_image_compression_t_T4_COMPRESSION_T4_2D
                | sys::t4_image_compression_t_T4_COMPRESSION_T6) as c_int,
        );
        sys::t30_set_phase_b_handler(s, Some(on_phase_b), user);
        sys::t30_set_phase_d_handler(s, Some(on_phase_d), user);
        sys::t30_set_phase_e_handler(s, Some(on_phase_e), user);
        match &config.document {
            Document::Send { tiff, header } => {
                if let Some(h) = header {
                    let h = printable(h, 50).ok_or_else(|| FaxError::BadHeader(h.clone()))?;
                    sys::t30_set_tx_page_header_info(s, h.as_ptr());
                    paths.push(h);
                }
                let file = c_path(tiff)?;
                sys::t30_set_tx_file(s, file.as_ptr(), -1, -1);
                paths.push(file);
            }
            Document::Receive { tiff } => {
                let file = c_path(tiff)?;
                sys::t30_set_rx_file(s, file.as_ptr(), -1);
                paths.push(file);
            }
        }
        paths.push(ident);
        route_log(sys::t30_get_logging_state(s));
        Ok(Self { t30, cb, events: VecDeque::new(), finished: false, _paths: paths })
    }

    /// Turns what the callbacks recorded into `FaxEvent`s, reading details
    /// (ident, statistics) now that spandsp is not inside a callback.
    fn drain(&mut self) {
        while let Some(raw) = self.cb.raw.pop_front() {
            match raw {
                RawEvent::PhaseB => {
                    let remote_ident = self.remote_ident();
                    self.events.push_back(FaxEvent::Negotiated { remote_ident });
                }
                RawEvent::PhaseD => {
                    let stats = self.stats();
                    let pages = stats.pages_tx.max(stats.pages_rx).max(0) as u32;
                    self.events.push_back(FaxEvent::Page { pages });
                }
                RawEvent::PhaseE(code) => {
                    if !self.finished {
                        self.finished = true;
                        let report = self.report(code);
                        self.events.push_back(FaxEvent::Finished(report));
                    }
                }
            }
        }
    }

    fn stats(&self) -> sys::t30_stats_t {
        // SAFETY: t30 is live (owned by our terminal); t30_stats_t is plain
        // data that spandsp fills in completely.
        unsafe {
            let mut stats: sys::t30_stats_t = std::mem::zeroed();
            sys::t30_get_transfer_statistics(self.t30.as_ptr(), &mut stats);
            stats
        }
    }

    fn remote_ident(&self) -> String {
        // SAFETY: spandsp returns a pointer into its state (NUL-terminated,
        // at most 20 characters) or NULL; we copy it out at once.
        unsafe { owned_str(sys::t30_get_rx_ident(self.t30.as_ptr())) }
    }

    fn report(&self, code: c_int) -> FaxReport {
        let stats = self.stats();
        let n = |v: c_int| v.max(0) as u32;
        FaxReport {
            code,
            reason: completion_reason(code),
            remote_ident: self.remote_ident(),
            pages: n(stats.pages_tx.max(stats.pages_rx)),
            bit_rate: n(stats.bit_rate),
            ecm: stats.error_correcting_mode != 0,
            x_resolution: n(stats.x_resolution),
            y_resolution: n(stats.y_resolution),
            width: n(stats.width),
            length: n(stats.length),
            bad_rows: n(stats.bad_rows),
        }
    }

    /// Ends the session now (hang-up, timeout): spandsp runs phase E with
    /// "call dropped" unless it already finished, and closes the file so
    /// the pages received so far are kept.
    fn terminate(&mut self) {
        if !self.finished {
            // SAFETY: t30 is live; t30_terminate may call on_phase_e, which
            // only queues into self.cb.
            unsafe { sys::t30_terminate(self.t30.as_ptr()) };
            self.drain();
        }
    }
}

/// A fax terminal speaking T.38: IFP packets in and out (UDPTL framing is
/// the caller's, see `fax::udptl`).
pub struct T38Terminal {
    state: NonNull<sys::t38_terminal_state_t>,
    session: Session,
}

// SAFETY: the spandsp state is plain heap memory with no thread affinity
// (no thread-locals, no handles tied to a thread); `&mut self` on every
// entry point means one thread uses it at a time.
unsafe impl Send for T38Terminal {}

impl T38Terminal {
    pub fn new(config: &FaxConfig, t38: &T38Settings) -> Result<Self, FaxError> {
        // The packet handler needs the Callbacks address before the
        // session exists: the box is made first and handed to `Session`.
        let mut cb = Box::<Callbacks>::default();
        let user = (&mut *cb as *mut Callbacks).cast::<c_void>();
        // SAFETY: a NULL state asks spandsp to allocate; `user` points into
        // `cb`, which the session keeps alive until after t38_terminal_free.
        let state = unsafe { sys::t38_terminal_init(std::ptr::null_mut(), config.calling_party, Some(on_ifp), user) };
        let state = NonNull::new(state).ok_or(FaxError::Init("T.38"))?;
        // SAFETY: state is live; the getters return pointers into it.
        let built = unsafe {
            let core = sys::t38_terminal_get_t38_core_state(state.as_ptr());
            sys::t38_set_t38_version(core, t38.version as c_int);
            sys::t38_set_data_rate_management_method(core, if t38.transferred_tcf { 2 } else { 1 });
            sys::t38_set_fastest_image_data_rate(core, t38.max_bit_rate.min(14400) as c_int);
            sys::t38_set_max_datagram_size(core, t38.max_datagram.min(i32::MAX as usize) as c_int);
            sys::t38_set_mmr_transcoding(core, false);
            sys::t38_set_jbig_transcoding(core, false);
            sys::t38_terminal_set_fill_bit_removal(state.as_ptr(), t38.fill_bit_removal);
            sys::t38_terminal_set_tep_mode(state.as_ptr(), false);
            route_log(sys::t38_terminal_get_logging_state(state.as_ptr()));
            route_log(sys::t38_core_get_logging_state(core));
            let t30 = NonNull::new(sys::t38_terminal_get_t30_state(state.as_ptr())).ok_or(FaxError::Init("T.30"));
            t30.and_then(|t30| Session::configure(t30, config, cb))
        };
        match built {
            Ok(session) => Ok(Self { state, session }),
            Err(e) => {
                // SAFETY: state came from t38_terminal_init and is not used again.
                unsafe { sys::t38_terminal_free(state.as_ptr()) };
                Err(e)
            }
        }
    }

    /// An IFP packet from the far end, with its UDPTL sequence number (gaps
    /// tell spandsp that packets were lost).
    pub fn receive_ifp(&mut self, seq: u16, ifp: &[u8]) {
        if self.session.finished {
            return;
        }
        let Ok(len) = c_int::try_from(ifp.len()) else { return };
        // SAFETY: state is live; spandsp reads `len` bytes from `ifp` and
        // keeps no pointer to it. Callbacks only queue into session.cb.
        unsafe {
            let core = sys::t38_terminal_get_t38_core_state(self.state.as_ptr());
            sys::t38_core_rx_ifp_packet(core, ifp.as_ptr(), len, seq);
        }
        self.session.drain();
    }

    /// Lets `samples` (8 kHz) of time pass: T.30 timers run and paced
    /// packets become due. Call it every 20 ms or so.
    pub fn advance(&mut self, samples: u32) {
        if self.session.finished {
            return;
        }
        // SAFETY: as in receive_ifp.
        unsafe { sys::t38_terminal_send_timeout(self.state.as_ptr(), samples.min(i32::MAX as u32) as c_int) };
        self.session.drain();
    }

    /// The next IFP packet to send and how many times spandsp wants it sent
    /// (indicators are repeated for robustness; each copy is its own UDPTL
    /// packet).
    pub fn poll_ifp(&mut self) -> Option<(Vec<u8>, u8)> {
        self.session.cb.ifp_out.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<FaxEvent> {
        self.session.events.pop_front()
    }

    pub fn finished(&self) -> bool {
        self.session.finished
    }

    /// See `Session::terminate`.
    pub fn terminate(&mut self) {
        self.session.terminate();
    }
}

impl Drop for T38Terminal {
    fn drop(&mut self) {
        self.session.terminate();
        // SAFETY: state came from t38_terminal_init; after this nothing
        // refers to it, and the callbacks box is dropped after (field order
        // does not matter: the box is only freed when `session` drops,
        // which is after this body).
        unsafe { sys::t38_terminal_free(self.state.as_ptr()) };
    }
}

/// A fax terminal on audio: 8 kHz linear samples in and out (the caller
/// converts G.711).
pub struct AudioTerminal {
    state: NonNull<sys::fax_state_t>,
    session: Session,
}

// SAFETY: as for T38Terminal.
unsafe impl Send for AudioTerminal {}

impl AudioTerminal {
    pub fn new(config: &FaxConfig) -> Result<Self, FaxError> {
        // SAFETY: NULL asks spandsp to allocate.
        let state = unsafe { sys::fax_init(std::ptr::null_mut(), config.calling_party) };
        let state = NonNull::new(state).ok_or(FaxError::Init("audio fax"))?;
        // SAFETY: state is live; the getters return pointers into it.
        let built = unsafe {
            // Silence rather than nothing while idle: the RTP stream keeps
            // its 20 ms rhythm, which gateways and jitter buffers expect.
            sys::fax_set_transmit_on_idle(state.as_ptr(), 1);
            sys::fax_set_tep_mode(state.as_ptr(), 0);
            route_log(sys::fax_get_logging_state(state.as_ptr()));
            let t30 = NonNull::new(sys::fax_get_t30_state(state.as_ptr())).ok_or(FaxError::Init("T.30"));
            t30.and_then(|t30| Session::configure(t30, config, Box::default()))
        };
        match built {
            Ok(session) => Ok(Self { state, session }),
            Err(e) => {
                // SAFETY: not used again.
                unsafe { sys::fax_free(state.as_ptr()) };
                Err(e)
            }
        }
    }

    /// Received audio. `None` for a lost 20 ms frame is `receive_gap`.
    pub fn receive_audio(&mut self, pcm: &[i16]) {
        if self.session.finished {
            return;
        }
        let Ok(len) = c_int::try_from(pcm.len()) else { return };
        // SAFETY: fax_rx reads `len` samples; its `amp` is declared mutable
        // but spandsp only reads it (it is `int16_t amp[]` in 0.0.x and
        // never written in 3.0). We pass a pointer derived from a shared
        // slice cast to *mut, which is sound because nothing writes through it.
        unsafe { sys::fax_rx(self.state.as_ptr(), pcm.as_ptr().cast_mut(), len) };
        self.session.drain();
    }

    /// `samples` of received audio were lost: spandsp fills in so its
    /// timing stays right.
    pub fn receive_gap(&mut self, samples: u32) {
        if self.session.finished {
            return;
        }
        // SAFETY: as above.
        unsafe { sys::fax_rx_fillin(self.state.as_ptr(), samples.min(i32::MAX as u32) as c_int) };
        self.session.drain();
    }

    /// Fills `out` with the next audio to send; returns how many samples
    /// were written (all of them while the session runs: idle is silence).
    pub fn transmit_audio(&mut self, out: &mut [i16]) -> usize {
        if self.session.finished {
            out.fill(0);
            return out.len();
        }
        let Ok(len) = c_int::try_from(out.len()) else { return 0 };
        // SAFETY: fax_tx writes at most `len` samples into `out`.
        let n = unsafe { sys::fax_tx(self.state.as_ptr(), out.as_mut_ptr(), len) };
        self.session.drain();
        let n = (n.max(0) as usize).min(out.len());
        out[n..].fill(0);
        n
    }

    pub fn poll_event(&mut self) -> Option<FaxEvent> {
        self.session.events.pop_front()
    }

    pub fn finished(&self) -> bool {
        self.session.finished
    }

    pub fn terminate(&mut self) {
        self.session.terminate();
    }
}

impl Drop for AudioTerminal {
    fn drop(&mut self) {
        self.session.terminate();
        // SAFETY: state came from fax_init and is not used after this.
        unsafe { sys::fax_free(self.state.as_ptr()) };
    }
}

/// Which fax tone a `FaxToneDetector` listens for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaxTone {
    /// CNG: 1100 Hz bursts from the calling fax machine.
    Cng,
    /// CED (2100 Hz) or the V.21 preamble of HDLC flags: the called
    /// machine answering, or any T.30 frame.
    CedOrPreamble,
}

/// spandsp's `modem_connect_tones_rx` on 8 kHz audio: robust detection of
/// the fax tones, used to switch a call to T.38 or to fax handling.
pub struct FaxToneDetector {
    state: NonNull<sys::modem_connect_tones_rx_state_t>,
    heard: bool,
}

// SAFETY: as for T38Terminal.
unsafe impl Send for FaxToneDetector {}

impl FaxToneDetector {
    pub fn new(tone: FaxTone) -> Result<Self, FaxError> {
        // Values of spandsp's (anonymous) modem connect tone enum:
        // MODEM_CONNECT_TONES_FAX_CNG = 1, ..._FAX_CED_OR_PREAMBLE = 7.
        let kind = match tone {
            FaxTone::Cng => 1,
            FaxTone::CedOrPreamble => 7,
        };
        // SAFETY: NULL asks spandsp to allocate; no callback, we poll.
        let state = unsafe { sys::modem_connect_tones_rx_init(std::ptr::null_mut(), kind, None, std::ptr::null_mut()) };
        Ok(FaxToneDetector { state: NonNull::new(state).ok_or(FaxError::Init("tone detector"))?, heard: false })
    }

    /// Feeds 8 kHz audio; true once the tone has been heard (and from then on).
    pub fn feed(&mut self, pcm: &[i16]) -> bool {
        if self.heard {
            return true;
        }
        let Ok(len) = c_int::try_from(pcm.len()) else { return false };
        // SAFETY: state is live; spandsp reads `len` samples.
        unsafe {
            sys::modem_connect_tones_rx(self.state.as_ptr(), pcm.as_ptr(), len);
            self.heard = sys::modem_connect_tones_rx_get(self.state.as_ptr()) != 0;
        }
        self.heard
    }
}

impl Drop for FaxToneDetector {
    fn drop(&mut self) {
        // SAFETY: state came from modem_connect_tones_rx_init.
        unsafe { sys::modem_connect_tones_rx_free(self.state.as_ptr()) };
    }
}

// ---- callbacks: queue and return, nothing else ----

unsafe extern "C" fn on_ifp(
    _s: *mut sys::t38_core_state_t,
    user: *mut c_void,
    buf: *const u8,
    len: c_int,
    count: c_int,
) -> c_int {
    if user.is_null() || buf.is_null() || len < 0 {
        return -1;
    }
    // SAFETY: user is the Callbacks box registered with this state; spandsp
    // hands us `len` readable bytes for the duration of the call.
    let cb = unsafe { &mut *user.cast::<Callbacks>() };
    let bytes = unsafe { std::slice::from_raw_parts(buf, len as usize) };
    cb.ifp_out.push_back((bytes.to_vec(), count.clamp(1, 8) as u8));
    0
}

unsafe extern "C" fn on_phase_b(user: *mut c_void, _result: c_int) -> c_int {
    // SAFETY: see on_ifp.
    if let Some(cb) = unsafe { user.cast::<Callbacks>().as_mut() } {
        cb.raw.push_back(RawEvent::PhaseB);
    }
    sys::t30_err_e::T30_ERR_OK as c_int
}

unsafe extern "C" fn on_phase_d(user: *mut c_void, _result: c_int) -> c_int {
    // SAFETY: see on_ifp.
    if let Some(cb) = unsafe { user.cast::<Callbacks>().as_mut() } {
        cb.raw.push_back(RawEvent::PhaseD);
    }
    sys::t30_err_e::T30_ERR_OK as c_int
}

unsafe extern "C" fn on_phase_e(user: *mut c_void, code: c_int) {
    // SAFETY: see on_ifp.
    if let Some(cb) = unsafe { user.cast::<Callbacks>().as_mut() } {
        cb.raw.push_back(RawEvent::PhaseE(code));
    }
}

/// spandsp's protocol log, into `tracing` at debug level under this
/// module's target, so `RUST_LOG=switchboard::fax=debug` shows the T.30
/// dialogue of a call.
unsafe extern "C" fn on_log(_user: *mut c_void, level: c_int, text: *const c_char) {
    if text.is_null() {
        return;
    }
    // SAFETY: spandsp passes a NUL-terminated message valid for the call.
    let msg = unsafe { CStr::from_ptr(text) }.to_string_lossy();
    let msg = msg.trim_end();
    if level <= sys::SPAN_LOG_WARNING as c_int {
        tracing::warn!(target: "switchboard::fax::spandsp", "{msg}");
    } else {
        tracing::debug!(target: "switchboard::fax::spandsp", "{msg}");
    }
}

/// # Safety
/// `log` is a logging state inside a live spandsp object, or NULL.
unsafe fn route_log(log: *mut sys::logging_state_t) {
    if log.is_null() {
        return;
    }
    let level = if tracing::enabled!(target: "switchboard::fax::spandsp", tracing::Level::DEBUG) {
        sys::SPAN_LOG_FLOW
    } else {
        sys::SPAN_LOG_WARNING
    };
    // SAFETY: per the function contract.
    unsafe {
        sys::span_log_set_level(log, (sys::SPAN_LOG_SHOW_PROTOCOL | level) as c_int);
        sys::span_log_set_message_handler(log, Some(on_log), std::ptr::null_mut());
    }
}

/// T.30 idents and header lines are printable ASCII (T.30 5.3.6.2.4).
fn printable(s: &str, max: usize) -> Option<CString> {
    if s.len() > max || !s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return None;
    }
    CString::new(s).ok()
}

fn c_path(p: &Path) -> Result<CString, FaxError> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(p.as_os_str().as_bytes()).map_err(|_| FaxError::BadPath(p.to_path_buf()))
}

/// # Safety
/// `p` is NULL or a NUL-terminated string valid for the call.
unsafe fn owned_str(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: per the function contract.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().trim().to_string()
}

/// The T.30 completion code in words (spandsp's table).
pub fn completion_reason(code: i32) -> String {
    // SAFETY: spandsp returns a static string for every code, "???" for
    // unknown ones.
    unsafe { owned_str(sys::t30_completion_code_to_str(code)) }
}

#[cfg(test)]
mod tests;
