//! An independent fax peer for the fax interop tests: `tests/fax/peer.c`, a small C
//! program on Debian's libspandsp 0.0.6 with its own UDPTL framing (see
//! `tests/fax/README.md`), plus test documents and page-exact comparison.
//!
//! - [`build`]: compiles `peer.c` once per test binary into `$CARGO_TARGET_TMPDIR`.
//! - [`FaxPeer`]: builder for one session (send or receive, T.38 or G.711 audio);
//!   [`FaxPeer::spawn`] gives a [`RunningPeer`] (killed on drop), whose
//!   [`RunningPeer::wait`] parses the result line into a [`PeerResult`].
//! - [`run_pair`]: receiver and sender against each other, both results.
//! - [`make_document`]: a multi-page TIFF/F (1728 px wide, 204x98 dpi, G3) with
//!   distinct drawn shapes per page (ImageMagick, no fonts).
//! - [`pages_identical`]: page count, size, resolution and pixels
//!   (`compare -metric AE`) equal page by page.
//! - [`udp_port_pair`] / [`udp_ports`]: free UDP ports (kernel-assigned, then released).
//!
//! Needs gcc, libspandsp-dev, libtiff-dev and imagemagick (Debian packages).
//! Standalone: uses nothing else from `tests/common`, so a test may include it with
//! `#[path = "common/faxpeer.rs"] mod faxpeer;`.

#![allow(dead_code)]

use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Path of the C source, `tests/fax/peer.c`.
pub fn source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fax/peer.c")
}

/// Compile `tests/fax/peer.c` (once per test binary) and return the executable's
/// path. Panics with gcc's output when compilation fails.
pub fn build() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("faxpeer");
        std::fs::create_dir_all(&dir).expect("create faxpeer build dir");
        // Several test binaries may build at once: compile to a private name and
        // rename (atomic) over the shared one.
        let tmp = dir.join(format!("faxpeer.{}.tmp", std::process::id()));
        let out = Command::new("gcc")
            .args(["-O2", "-Wall", "-Wextra", "-o"])
            .arg(&tmp)
            .arg(source())
            .args(["-lspandsp", "-ltiff", "-lm"])
            .output()
            .expect("run gcc (is gcc installed?)");
        assert!(
            out.status.success(),
            "gcc tests/fax/peer.c failed (needs libspandsp-dev, libtiff-dev):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        if !out.stderr.is_empty() {
            eprintln!(
                "faxpeer: gcc warnings:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let bin = dir.join("faxpeer");
        std::fs::rename(&tmp, &bin).expect("rename faxpeer binary");
        bin
    })
    .clone()
}

/// Send or receive a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Send,
    Receive,
}

/// T.38 over UDPTL, or fax modems over G.711 RTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    T38,
    Audio,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::T38 => "t38",
            Transport::Audio => "audio",
        }
    }
}

/// Options for one faxpeer session. Build with [`FaxPeer::send`] or
/// [`FaxPeer::receive`], then chain setters; unset options use faxpeer's
/// defaults (see `tests/fax/README.md`).
#[derive(Debug, Clone)]
pub struct FaxPeer {
    pub mode: Mode,
    pub file: PathBuf,
    pub transport: Transport,
    pub local_port: u16,
    /// `HOST:PORT`; `0.0.0.0:0` makes the peer latch to the first source.
    pub remote: String,
    pub calling: bool,
    pub ecm: bool,
    pub ident: Option<String>,
    pub redundancy: Option<u32>,
    /// Percent of the datagrams *this* peer sends that it drops.
    pub loss: Option<f64>,
    pub seed: Option<u64>,
    pub max_datagram: Option<usize>,
    /// faxpeer's own deadline (`--timeout`, whole seconds, default 120).
    pub timeout: Option<Duration>,
    pub wait_first: bool,
    /// T.38 version (`--version`, default 0).
    pub version: Option<u8>,
    /// `FAXPEER_DEBUG` for the child: 1 = spandsp FLOW logs, 2 = plus one line per
    /// packet. `None` passes the test's own environment through.
    pub debug: Option<u8>,
}

impl FaxPeer {
    fn new(mode: Mode, file: &Path) -> Self {
        FaxPeer {
            mode,
            file: file.to_path_buf(),
            transport: Transport::T38,
            local_port: 0,
            remote: "0.0.0.0:0".into(),
            calling: false,
            ecm: false,
            ident: None,
            redundancy: None,
            loss: None,
            seed: None,
            max_datagram: None,
            timeout: None,
            wait_first: false,
            version: None,
            debug: None,
        }
    }

    /// Send the TIFF `file`. Defaults: T.38, remote `0.0.0.0:0` (latch),
    /// answering; set at least [`local_port`](Self::local_port).
    pub fn send(file: impl AsRef<Path>) -> Self {
        Self::new(Mode::Send, file.as_ref())
    }

    /// Receive into the TIFF `file` (created or overwritten).
    pub fn receive(file: impl AsRef<Path>) -> Self {
        Self::new(Mode::Receive, file.as_ref())
    }

    pub fn transport(mut self, t: Transport) -> Self {
        self.transport = t;
        self
    }
    pub fn t38(self) -> Self {
        self.transport(Transport::T38)
    }
    pub fn audio(self) -> Self {
        self.transport(Transport::Audio)
    }
    pub fn local_port(mut self, port: u16) -> Self {
        self.local_port = port;
        self
    }
    /// Where to send: `"HOST:PORT"` or a `SocketAddr`.
    pub fn remote(mut self, addr: impl ToString) -> Self {
        self.remote = addr.to_string();
        self
    }
    /// `127.0.0.1:port`.
    pub fn remote_port(self, port: u16) -> Self {
        self.remote(format!("127.0.0.1:{port}"))
    }
    /// Remote `0.0.0.0:0`: reply to the source of the first datagram received.
    pub fn latch(self) -> Self {
        self.remote("0.0.0.0:0")
    }
    pub fn calling(mut self, yes: bool) -> Self {
        self.calling = yes;
        self
    }
    pub fn ecm(mut self, yes: bool) -> Self {
        self.ecm = yes;
        self
    }
    pub fn ident(mut self, ident: &str) -> Self {
        self.ident = Some(ident.into());
        self
    }
    pub fn redundancy(mut self, n: u32) -> Self {
        self.redundancy = Some(n);
        self
    }
    pub fn loss(mut self, percent: f64) -> Self {
        self.loss = Some(percent);
        self
    }
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }
    pub fn max_datagram(mut self, n: usize) -> Self {
        self.max_datagram = Some(n);
        self
    }
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = Some(t);
        self
    }
    pub fn wait_first(mut self, yes: bool) -> Self {
        self.wait_first = yes;
        self
    }
    pub fn version(mut self, v: u8) -> Self {
        self.version = Some(v);
        self
    }
    pub fn debug(mut self, level: u8) -> Self {
        self.debug = Some(level);
        self
    }

    /// The command-line arguments (without the program).
    pub fn args(&self) -> Vec<String> {
        let mut a: Vec<String> = vec![
            "--mode".into(),
            match self.mode {
                Mode::Send => "send",
                Mode::Receive => "receive",
            }
            .into(),
            "--file".into(),
            self.file.to_string_lossy().into_owned(),
            "--transport".into(),
            self.transport.as_str().into(),
            "--local-port".into(),
            self.local_port.to_string(),
            "--remote".into(),
            self.remote.clone(),
        ];
        if self.calling {
            a.push("--calling".into());
        }
        if self.ecm {
            a.push("--ecm".into());
        }
        if self.wait_first {
            a.push("--wait-first".into());
        }
        let mut opt = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                a.push(k.into());
                a.push(v);
            }
        };
        opt("--ident", self.ident.clone());
        opt("--redundancy", self.redundancy.map(|v| v.to_string()));
        opt("--loss", self.loss.map(|v| v.to_string()));
        opt("--seed", self.seed.map(|v| v.to_string()));
        opt("--max-datagram", self.max_datagram.map(|v| v.to_string()));
        opt(
            "--timeout",
            self.timeout.map(|t| t.as_secs().max(1).to_string()),
        );
        opt("--version", self.version.map(|v| v.to_string()));
        a
    }

    /// Start the peer (builds it first if needed). stdout/stderr are collected in
    /// memory; the child gets SIGKILL if the spawning thread dies, and is killed
    /// when the [`RunningPeer`] is dropped.
    pub fn spawn(&self) -> RunningPeer {
        let bin = build();
        let args = self.args();
        let mut cmd = Command::new(&bin);
        cmd.args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(level) = self.debug {
            cmd.env("FAXPEER_DEBUG", level.to_string());
        }
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", bin.display()));
        let stdout = child.stdout.take().map(reader);
        let stderr = child.stderr.take().map(reader);
        RunningPeer {
            child: Some(child),
            stdout,
            stderr,
            args,
            started: Instant::now(),
        }
    }
}

fn reader(mut r: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// A running faxpeer. Dropping it kills the process.
pub struct RunningPeer {
    child: Option<Child>,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
    args: Vec<String>,
    started: Instant,
}

impl RunningPeer {
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn args(&self) -> &[String] {
        &self.args
    }

    /// Wait for the peer to exit (at most `timeout`, after which it is killed and
    /// the result says so with `code == -3`), then parse its output.
    pub fn wait(mut self, timeout: Duration) -> PeerResult {
        let deadline = Instant::now() + timeout;
        let mut child = self.child.take().expect("child present until wait");
        let mut killed = false;
        let status: Option<ExitStatus> = loop {
            match child.try_wait() {
                Ok(Some(s)) => break Some(s),
                Ok(None) if Instant::now() >= deadline => {
                    let _ = child.kill();
                    killed = true;
                    break child.wait().ok();
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(_) => break None,
            }
        };
        let stdout = self
            .stdout
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        let mut r = PeerResult::parse(&stdout, &stderr);
        r.exit_code = status.and_then(|s| s.code());
        r.elapsed = self.started.elapsed();
        r.args = std::mem::take(&mut self.args);
        if killed {
            r.code = -3;
            r.reason = format!("killed by the harness after {timeout:?}");
        }
        r
    }
}

impl Drop for RunningPeer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// UDPTL counters from faxpeer's stderr line
/// `udptl rx=.. recovered=.. lost=.. tx=.. dropped_by_loss=.. dup=.. malformed=.. suppressed=..`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UdptlStats {
    /// Well-formed UDPTL packets received (duplicates included).
    pub rx: u64,
    /// IFPs recovered from secondary (redundant) IFPs of later packets.
    pub recovered: u64,
    /// Sequence numbers never received nor recovered.
    pub lost: u64,
    /// Datagrams put on the wire.
    pub tx: u64,
    /// Datagrams dropped on purpose by `--loss` (not counted in `tx`).
    pub dropped_by_loss: u64,
    /// Repeated or late packets (already handled).
    pub dup: u64,
    /// Undecodable datagrams (counted and ignored).
    pub malformed: u64,
    /// Datagrams not sent: no remote yet, or `--wait-first` before the first datagram.
    pub suppressed: u64,
}

/// RTP counters from faxpeer's stderr line
/// `rtp rx=.. lost=.. tx=.. dropped_by_loss=.. dup=.. malformed=.. suppressed=.. other=..`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RtpStats {
    /// G.711 (PT 0/8) packets received, duplicates included.
    pub rx: u64,
    pub lost: u64,
    pub tx: u64,
    pub dropped_by_loss: u64,
    pub dup: u64,
    pub malformed: u64,
    pub suppressed: u64,
    /// Other payload types (CN, telephone-event, ...), ignored.
    pub other: u64,
}

/// What one faxpeer run reported.
#[derive(Clone, Default)]
pub struct PeerResult {
    /// T.30 completion code (0 = OK); -1 faxpeer's own timeout, -2 setup error,
    /// -3 killed by [`RunningPeer::wait`], -4 no result line.
    pub code: i32,
    /// `t30_completion_code_to_str`, or "timeout", or a harness message.
    pub reason: String,
    pub pages: u32,
    pub remote_ident: String,
    pub bit_rate: u32,
    pub ecm: bool,
    /// "t38" or "audio" as printed.
    pub transport: String,
    pub udptl: Option<UdptlStats>,
    pub rtp: Option<RtpStats>,
    /// Process exit code (0 OK, 1 T.30 failure, 2 timeout, 3 setup error).
    pub exit_code: Option<i32>,
    pub elapsed: Duration,
    pub args: Vec<String>,
    pub stdout: String,
    pub stderr: String,
}

impl PeerResult {
    /// Parse faxpeer's stdout (the `result ...` line) and stderr (stats line).
    pub fn parse(stdout: &str, stderr: &str) -> PeerResult {
        let mut r = PeerResult {
            code: -4,
            reason: "no result line".into(),
            stdout: stdout.to_owned(),
            stderr: stderr.to_owned(),
            ..Default::default()
        };
        if let Some(line) = stdout.lines().rev().find(|l| l.starts_with("result ")) {
            let kv = parse_kv(&line["result ".len()..]);
            let num = |k: &str| kv.get(k).and_then(|v| v.parse::<i64>().ok());
            r.code = num("code").unwrap_or(-4) as i32;
            r.reason = kv.get("reason").cloned().unwrap_or_default();
            r.pages = num("pages").unwrap_or(0) as u32;
            r.remote_ident = kv.get("remote_ident").cloned().unwrap_or_default();
            r.bit_rate = num("bit_rate").unwrap_or(0) as u32;
            r.ecm = num("ecm") == Some(1);
            r.transport = kv.get("transport").cloned().unwrap_or_default();
        }
        for line in stderr.lines() {
            if let Some(rest) = line.strip_prefix("udptl ") {
                let kv = parse_kv(rest);
                let n = |k: &str| kv.get(k).and_then(|v| v.parse().ok()).unwrap_or(0);
                r.udptl = Some(UdptlStats {
                    rx: n("rx"),
                    recovered: n("recovered"),
                    lost: n("lost"),
                    tx: n("tx"),
                    dropped_by_loss: n("dropped_by_loss"),
                    dup: n("dup"),
                    malformed: n("malformed"),
                    suppressed: n("suppressed"),
                });
            } else if let Some(rest) = line.strip_prefix("rtp ") {
                let kv = parse_kv(rest);
                let n = |k: &str| kv.get(k).and_then(|v| v.parse().ok()).unwrap_or(0);
                r.rtp = Some(RtpStats {
                    rx: n("rx"),
                    lost: n("lost"),
                    tx: n("tx"),
                    dropped_by_loss: n("dropped_by_loss"),
                    dup: n("dup"),
                    malformed: n("malformed"),
                    suppressed: n("suppressed"),
                    other: n("other"),
                });
            }
        }
        r
    }

    /// T.30 completed OK and the process exited 0.
    pub fn ok(&self) -> bool {
        self.code == 0 && self.exit_code == Some(0)
    }

    /// Panic unless [`ok`](Self::ok), showing the result and the stderr tail.
    pub fn assert_ok(&self, what: &str) {
        assert!(self.ok(), "{what}: faxpeer failed: {self:?}");
    }

    /// Lines of stderr reporting a page (`page sent ...` / `page received ...`).
    pub fn page_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.contains("] page sent ") || l.contains("] page received "))
            .collect()
    }

    /// The one-line summary (result fields and counters, no logs).
    pub fn summary(&self) -> String {
        format!(
            "code={} reason={:?} pages={} remote_ident={:?} bit_rate={} ecm={} transport={} exit={:?} elapsed={:.1}s udptl={:?} rtp={:?}",
            self.code,
            self.reason,
            self.pages,
            self.remote_ident,
            self.bit_rate,
            self.ecm as u8,
            self.transport,
            self.exit_code,
            self.elapsed.as_secs_f64(),
            self.udptl,
            self.rtp
        )
    }
}

impl fmt::Debug for PeerResult {
    /// Summary, command line, stdout and the last 60 lines of stderr.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<&str> = self.stderr.lines().collect();
        let tail = &lines[lines.len().saturating_sub(60)..];
        write!(
            f,
            "{}\n  args: {}\n  stdout: {}\n  stderr (last {} of {} lines):\n    {}",
            self.summary(),
            self.args.join(" "),
            self.stdout.trim_end(),
            tail.len(),
            lines.len(),
            tail.join("\n    ")
        )
    }
}

/// `k=v k="quoted \"text\"" ...` → map. Quoted values understand `\"`, `\\`
/// and `\xNN`.
fn parse_kv(s: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut it = s.chars().peekable();
    loop {
        while it.peek() == Some(&' ') {
            it.next();
        }
        let mut key = String::new();
        while let Some(&c) = it.peek() {
            if c == '=' || c == ' ' {
                break;
            }
            key.push(c);
            it.next();
        }
        if key.is_empty() {
            break;
        }
        if it.peek() != Some(&'=') {
            out.insert(key, String::new());
            continue;
        }
        it.next();
        let mut val = String::new();
        if it.peek() == Some(&'"') {
            it.next();
            while let Some(c) = it.next() {
                match c {
                    '"' => break,
                    '\\' => match it.next() {
                        Some('x') => {
                            let h: String = it.by_ref().take(2).collect();
                            if let Ok(b) = u8::from_str_radix(&h, 16) {
                                val.push(b as char);
                            }
                        }
                        Some(o) => val.push(o),
                        None => break,
                    },
                    c => val.push(c),
                }
            }
        } else {
            while let Some(&c) = it.peek() {
                if c == ' ' {
                    break;
                }
                val.push(c);
                it.next();
            }
        }
        out.insert(key, val);
    }
    out
}

/// Start `receiver`, then `sender`, and wait for both (each at most `timeout`).
/// Returns `(sender, receiver)`.
pub fn run_pair(
    sender: &FaxPeer,
    receiver: &FaxPeer,
    timeout: Duration,
) -> (PeerResult, PeerResult) {
    let rx = receiver.spawn();
    let tx = sender.spawn();
    let start = Instant::now();
    let s = tx.wait(timeout);
    let r = rx.wait(
        timeout
            .saturating_sub(start.elapsed())
            .max(Duration::from_secs(5)),
    );
    (s, r)
}

/// `n` distinct UDP ports that were free on 0.0.0.0 a moment ago (kernel-assigned
/// ephemeral ports, released before returning: a small race with other programs
/// remains).
pub fn udp_ports(n: usize) -> Vec<u16> {
    let socks: Vec<UdpSocket> = (0..n)
        .map(|_| UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)).expect("bind UDP :0"))
        .collect();
    socks
        .iter()
        .map(|s| s.local_addr().expect("local addr").port())
        .collect()
}

/// Two distinct free UDP ports.
pub fn udp_port_pair() -> (u16, u16) {
    let p = udp_ports(2);
    (p[0], p[1])
}

/// `127.0.0.1:port` as a `SocketAddr`.
pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// Rows of a page made by [`make_document`] (US letter at 98 lines/inch).
pub const PAGE_ROWS: u32 = 1100;

/// A `pages`-page TIFF/F in `dir` (`doc-<pages>p.tif`): 1728 px wide,
/// [`PAGE_ROWS`] rows, bilevel, 204x98 dpi, CCITT G3; every page has different
/// shapes and `n` marker squares for page `n`. Deterministic.
pub fn make_document(dir: &Path, pages: usize) -> PathBuf {
    make_document_rows(dir, pages, PAGE_ROWS)
}

/// Like [`make_document`] with `rows` rows per page (>= 200); shorter pages make
/// faster calls. File name `doc-<pages>p-<rows>r.tif`.
pub fn make_document_rows(dir: &Path, pages: usize, rows: u32) -> PathBuf {
    assert!(
        pages >= 1 && rows >= 200,
        "make_document: {pages} pages of {rows} rows"
    );
    let out = if rows == PAGE_ROWS {
        dir.join(format!("doc-{pages}p.tif"))
    } else {
        dir.join(format!("doc-{pages}p-{rows}r.tif"))
    };
    let h = rows as i64;
    let mut args: Vec<String> = Vec::new();
    for i in 0..pages as i64 {
        let x = 100 + (i * 230) % 1200;
        let y = 60 + (i * 97) % (h / 3);
        let cx = 1300 - (i * 170) % 1000;
        let cy = h / 2 + (i * 53) % (h / 4);
        let r = 60 + (i * 37) % 140;
        args.extend(
            [
                "(",
                "-size",
                &format!("1728x{rows}"),
                "xc:white",
                "+antialias",
                "-fill",
                "black",
                "-stroke",
                "black",
                "-draw",
                &format!("rectangle {x},{y} {},{}", x + 300 + 20 * i, y + 120),
                "-fill",
                "none",
                "-strokewidth",
                "6",
                "-draw",
                &format!("circle {cx},{cy} {},{cy}", cx + r),
                "-strokewidth",
                "3",
                "-draw",
                &format!(
                    "line 20,{} 1707,{}",
                    20 + (i * 41) % (h - 40),
                    h - 20 - (i * 29) % (h - 40)
                ),
                "-fill",
                "black",
                "-strokewidth",
                "1",
            ]
            .map(String::from),
        );
        // n marker squares for page n, along the bottom edge.
        for k in 0..=i {
            let mx = 40 + k * 60;
            args.push("-draw".into());
            args.push(format!("rectangle {mx},{} {},{}", h - 80, mx + 40, h - 40));
        }
        args.push(")".into());
    }
    args.extend(
        [
            "-units",
            "PixelsPerInch",
            "-density",
            "204x98",
            "-monochrome",
            "-compress",
            "Fax",
        ]
        .map(String::from),
    );
    args.push(out.to_string_lossy().into_owned());
    let o = Command::new("convert")
        .args(&args)
        .output()
        .expect("run ImageMagick convert (is imagemagick installed?)");
    assert!(
        o.status.success(),
        "convert {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

/// Per-page geometry as reported by ImageMagick.
#[derive(Debug, Clone, PartialEq)]
pub struct PageInfo {
    pub width: u32,
    pub height: u32,
    /// Horizontal and vertical resolution in dots per inch.
    pub x_dpi: f64,
    pub y_dpi: f64,
}

/// Width, height and resolution of every page of a (multi-page) image.
pub fn page_info(path: &Path) -> Result<Vec<PageInfo>, String> {
    let o = Command::new("identify")
        .args(["-format", "%w %h %x %y %U\\n"])
        .arg(path)
        .output()
        .map_err(|e| format!("identify: {e}"))?;
    if !o.status.success() {
        return Err(format!(
            "identify {}: {}",
            path.display(),
            String::from_utf8_lossy(&o.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&o.stdout);
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 4 {
                return Err(format!("identify {}: odd line {l:?}", path.display()));
            }
            let num = |s: &str| {
                s.parse::<f64>()
                    .map_err(|_| format!("identify {}: bad number in {l:?}", path.display()))
            };
            let scale = match f.get(4).copied() {
                Some("PixelsPerCentimeter") => 2.54,
                _ => 1.0, // PixelsPerInch, or Undefined (taken as inches)
            };
            Ok(PageInfo {
                width: num(f[0])? as u32,
                height: num(f[1])? as u32,
                x_dpi: num(f[2])? * scale,
                y_dpi: num(f[3])? * scale,
            })
        })
        .collect()
}

/// Number of pages (TIFF directories) of an image.
pub fn page_count(path: &Path) -> Result<usize, String> {
    page_info(path).map(|p| p.len())
}

/// `Ok` when `a` and `b` have the same number of pages and every page has the same
/// size, the same resolution (within 1 %) and no differing pixel
/// (`compare -metric AE` is 0).
pub fn pages_identical(a: &Path, b: &Path) -> Result<(), String> {
    let pa = page_info(a)?;
    let pb = page_info(b)?;
    if pa.len() != pb.len() {
        return Err(format!(
            "page count differs: {} has {}, {} has {}",
            a.display(),
            pa.len(),
            b.display(),
            pb.len()
        ));
    }
    let close = |x: f64, y: f64| (x - y).abs() <= 0.01 * x.abs().max(y.abs()).max(1.0);
    for (i, (ia, ib)) in pa.iter().zip(&pb).enumerate() {
        if (ia.width, ia.height) != (ib.width, ib.height) {
            return Err(format!("page {}: size {ia:?} vs {ib:?}", i + 1));
        }
        if !close(ia.x_dpi, ib.x_dpi) || !close(ia.y_dpi, ib.y_dpi) {
            return Err(format!("page {}: resolution {ia:?} vs {ib:?}", i + 1));
        }
        // compare prints the metric on stderr; exit 0 same, 1 different, 2 error.
        let o = Command::new("compare")
            .args(["-metric", "AE"])
            .arg(format!("{}[{i}]", a.display()))
            .arg(format!("{}[{i}]", b.display()))
            .arg("null:")
            .output()
            .map_err(|e| format!("compare: {e}"))?;
        let metric = String::from_utf8_lossy(&o.stderr).trim().to_owned();
        let differing = metric
            .split_whitespace()
            .next()
            .and_then(|m| m.parse::<f64>().ok());
        match (o.status.code(), differing) {
            (Some(0), Some(d)) if d == 0.0 => {}
            (Some(0 | 1), Some(d)) => {
                return Err(format!("page {}: {d} pixels differ", i + 1));
            }
            _ => {
                return Err(format!(
                    "page {}: compare failed ({:?}): {metric}",
                    i + 1,
                    o.status
                ));
            }
        }
    }
    Ok(())
}
