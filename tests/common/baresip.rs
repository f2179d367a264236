//! baresip (Debian 12 package, v1.0.0) as a headless, scriptable SIP phone.
//!
//! [`Baresip::start`] writes `config` + `accounts` into a fresh temp dir,
//! runs `baresip -f DIR -t LIFETIME`, and connects to its `ctrl_tcp` port.
//! Commands and events travel as netstring-framed JSON on that socket:
//! `{"command":"dial","params":"sip:b@127.0.0.1:5062","token":"7"}` is
//! answered by `{"response":true,"ok":true,"data":"","token":"7"}`, and
//! events look like `{"event":true,"type":"CALL_ESTABLISHED","class":"call",
//! "accountaor":"sip:a@...","direction":"outgoing","peeruri":"sip:b@...",
//! "id":"...","param":"..."}`. Command names come from the `menu` module
//! (without it every command answers "command not found").
//!
//! Audio: `audio_source aufile,<wav>` (8 kHz mono s16 wav; played once,
//! then silence), `audio_player alsa,null` (ALSA's null PCM: no sound card
//! needed). The `sndfile` filter records every call into `snd_path` as
//! `dump-YYYY-MM-DD-hh-mm-ss-dec.wav` (what was *received*, decoded) and
//! `...-enc.wav` (what was *sent*); the WAV header is finalised when the
//! call's audio stream is destroyed, i.e. shortly after CALL_CLOSED. Names
//! have one-second resolution: two calls on one instance within the same
//! second overwrite each other.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::fs;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::ports::{self, BaresipPorts};
use super::proc::{ChildGuard, LogCursor, Pattern, SpawnOpts, TestDir};
use super::{audio, Error, Result};

/// `answermode` account parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerMode {
    /// Answer incoming calls immediately with 200 OK.
    Auto,
    /// Ring (180) until [`Baresip::answer`] is called.
    Manual,
    /// Answer with 183 early media.
    Early,
}

impl AnswerMode {
    fn as_str(self) -> &'static str {
        match self {
            AnswerMode::Auto => "auto",
            AnswerMode::Manual => "manual",
            AnswerMode::Early => "early",
        }
    }
}

/// How to run one baresip instance. Build with [`BaresipConfig::new`].
#[derive(Debug, Clone)]
pub struct BaresipConfig {
    /// User part of the account's address of record.
    pub user: String,
    /// `host:port` of the registrar/proxy. `None`: peer-to-peer mode, the AOR
    /// is `sip:USER@127.0.0.1:OWN_PORT` and nothing is registered.
    pub domain: Option<String>,
    pub auth_user: Option<String>,
    pub auth_pass: Option<String>,
    /// Registration interval (s) when `domain` is set; 0 disables REGISTER.
    pub regint: u32,
    /// SIP transport toward the registrar/proxy: "udp", "tcp" or "tls".
    pub transport: String,
    /// `outbound` proxy URI, e.g. `sip:127.0.0.1:5060;transport=udp`.
    pub outbound: Option<String>,
    pub answermode: AnswerMode,
    /// `audio_codecs` account parameter, e.g. `["PCMU"]`, `["PCMA","PCMU"]`.
    pub audio_codecs: Vec<String>,
    /// WAV (8 kHz mono s16) to send. `None`: a silent file is generated.
    pub audio_source: Option<PathBuf>,
    /// Extra `;key=value` account parameters (without the leading `;`).
    pub extra_account_params: Vec<String>,
    /// Extra raw lines appended to `config`.
    pub extra_config: Vec<String>,
    /// Passed as `-t`: baresip quits by itself after this, even if the test
    /// process was SIGKILLed and never got to clean up.
    pub lifetime: Duration,
    /// `-s`: print SIP messages to stdout.
    pub sip_trace: bool,
    /// `-v`: verbose debug output.
    pub verbose: bool,
    /// Fixed ports; `None` allocates with [`ports::alloc_baresip`].
    pub ports: Option<BaresipPorts>,
    /// `rtp_ports` range; `None` leaves baresip's default (random).
    pub rtp_ports: Option<(u16, u16)>,
    /// How long to wait for startup and for each command response.
    pub op_timeout: Duration,
}

impl BaresipConfig {
    pub fn new(user: &str) -> Self {
        BaresipConfig {
            user: user.to_owned(),
            domain: None,
            auth_user: None,
            auth_pass: None,
            regint: 60,
            transport: "udp".to_owned(),
            outbound: None,
            answermode: AnswerMode::Auto,
            audio_codecs: vec!["PCMU".to_owned()],
            audio_source: None,
            extra_account_params: Vec::new(),
            extra_config: Vec::new(),
            lifetime: Duration::from_secs(60),
            sip_trace: true,
            verbose: false,
            ports: None,
            rtp_ports: None,
            op_timeout: Duration::from_secs(5),
        }
    }

    /// Register at `domain` (`host:port`) with digest credentials.
    pub fn registrar(mut self, domain: &str, auth_user: &str, auth_pass: &str) -> Self {
        self.domain = Some(domain.to_owned());
        self.auth_user = Some(auth_user.to_owned());
        self.auth_pass = Some(auth_pass.to_owned());
        self
    }
    pub fn audio_source(mut self, wav: impl Into<PathBuf>) -> Self {
        self.audio_source = Some(wav.into());
        self
    }
    pub fn answermode(mut self, m: AnswerMode) -> Self {
        self.answermode = m;
        self
    }
    pub fn codecs(mut self, codecs: &[&str]) -> Self {
        self.audio_codecs = codecs.iter().map(|s| (*s).to_owned()).collect();
        self
    }
    pub fn lifetime(mut self, d: Duration) -> Self {
        self.lifetime = d;
        self
    }
}

/// One event from ctrl_tcp.
#[derive(Debug, Clone)]
pub struct Event {
    /// `type`, e.g. `CALL_ESTABLISHED`.
    pub kind: String,
    /// `param` (call peer URI, DTMF key, close reason ...), empty if absent.
    pub param: String,
    /// The whole JSON object.
    pub json: Value,
    /// When it was received.
    pub at: Instant,
}

impl Event {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.json.get(key).and_then(Value::as_str)
    }
}

#[derive(Default)]
struct Inbox {
    events: Vec<Event>,
    responses: VecDeque<Value>,
    closed: bool,
}

type Shared = Arc<(Mutex<Inbox>, Condvar)>;

/// A running baresip. Dropping it kills the process (and keeps the temp dir
/// if the test is panicking).
pub struct Baresip {
    // Field order is drop order: socket, reader, process, then directory.
    ctrl: TcpStream,
    reader: Option<JoinHandle<()>>,
    inbox: Shared,
    cursor: usize,
    token: AtomicU64,
    child: ChildGuard,
    cfg: BaresipConfig,
    ports: BaresipPorts,
    rec_dir: PathBuf,
    dir: TestDir,
}

impl Baresip {
    pub fn start(cfg: BaresipConfig) -> Result<Baresip> {
        let dir = TestDir::new(&format!("baresip-{}", cfg.user))?;
        let ports = cfg.ports.unwrap_or_else(ports::alloc_baresip);
        let rec_dir = dir.path().join("rec");
        fs::create_dir_all(&rec_dir).map_err(|e| Error::new(format!("mkdir rec: {e}")))?;

        let source = match &cfg.audio_source {
            Some(p) => p.clone(),
            None => {
                let p = dir.path().join("silence.wav");
                audio::write_silence(&p, cfg.lifetime.as_secs_f64().min(120.0))?;
                p
            }
        };
        let conf = render_config(&cfg, ports, &source, &rec_dir);
        let accounts = render_account(&cfg, ports);
        write(dir.path().join("config"), &conf)?;
        write(dir.path().join("accounts"), &accounts)?;
        // Avoid the default-file creation path for these two.
        write(dir.path().join("contacts"), "")?;

        let mut cmd = Command::new("baresip");
        cmd.arg("-f")
            .arg(dir.path())
            .arg("-t")
            .arg(cfg.lifetime.as_secs().max(1).to_string());
        if cfg.sip_trace {
            cmd.arg("-s");
        }
        if cfg.verbose {
            cmd.arg("-v");
        }
        cmd.current_dir(dir.path());
        let mut child = ChildGuard::spawn("baresip", cmd, dir.path(), SpawnOpts::default())?;

        // Connect as early as possible: events raised before the connection
        // (e.g. an early REGISTER_OK) are not replayed by baresip.
        let deadline = Instant::now() + cfg.op_timeout;
        let ctrl = loop {
            match TcpStream::connect(("127.0.0.1", ports.ctrl)) {
                Ok(s) => break s,
                Err(e) => {
                    if let Some(st) = child.try_wait() {
                        return Err(Error::new(format!(
                            "baresip exited at startup ({st})\n{}",
                            child.diagnostics()
                        )));
                    }
                    if Instant::now() >= deadline {
                        return Err(Error::new(format!(
                            "baresip ctrl_tcp 127.0.0.1:{} not reachable: {e}\n{}",
                            ports.ctrl,
                            child.diagnostics()
                        )));
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        };
        ctrl.set_nodelay(true).ok();
        let inbox: Shared = Arc::new((Mutex::new(Inbox::default()), Condvar::new()));
        let reader = {
            let stream = ctrl
                .try_clone()
                .map_err(|e| Error::new(format!("clone ctrl socket: {e}")))?;
            let inbox = inbox.clone();
            std::thread::Builder::new()
                .name(format!("baresip-ctrl-{}", cfg.user))
                .spawn(move || read_loop(stream, inbox))
                .map_err(|e| Error::new(format!("spawn reader: {e}")))?
        };
        child.wait_for_line("baresip is ready", cfg.op_timeout)?;
        Ok(Baresip {
            ctrl,
            reader: Some(reader),
            inbox,
            cursor: 0,
            token: AtomicU64::new(1),
            child,
            cfg,
            ports,
            rec_dir,
            dir,
        })
    }

    pub fn ports(&self) -> BaresipPorts {
        self.ports
    }
    pub fn pid(&self) -> u32 {
        self.child.pid()
    }
    pub fn sip_port(&self) -> u16 {
        self.ports.sip
    }
    /// Where this instance can be reached directly: `sip:USER@127.0.0.1:PORT`.
    pub fn contact_uri(&self) -> String {
        format!("sip:{}@127.0.0.1:{}", self.cfg.user, self.ports.sip)
    }
    /// The account's address of record (as written in `accounts`).
    pub fn aor(&self) -> String {
        aor(&self.cfg, self.ports)
    }
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
    /// baresip's stdout (SIP trace with `-s`, call progress, errors).
    pub fn log_path(&self) -> &Path {
        self.child.stdout_path()
    }
    pub fn diagnostics(&self) -> String {
        self.child.diagnostics()
    }
    /// Wait for a line in baresip's stdout/stderr (from the start of the log).
    pub fn wait_for_log(&mut self, pat: impl Into<Pattern>, timeout: Duration) -> Result<String> {
        self.child.wait_for_line(pat, timeout)
    }

    /// Send a ctrl_tcp command; returns the response's `data` text.
    /// `ok:false` becomes an error carrying that text.
    pub fn command(&self, name: &str, params: &str) -> Result<String> {
        let token = self.token.fetch_add(1, Ordering::Relaxed).to_string();
        let body =
            serde_json::json!({ "command": name, "params": params, "token": token }).to_string();
        let frame = format!("{}:{},", body.len(), body);
        (&self.ctrl)
            .write_all(frame.as_bytes())
            .map_err(|e| Error::new(format!("ctrl_tcp write {name}: {e}")))?;
        let (lock, cv) = &*self.inbox;
        let deadline = Instant::now() + self.cfg.op_timeout;
        let mut inbox = lock.lock().unwrap();
        loop {
            if let Some(i) = inbox
                .responses
                .iter()
                .position(|r| r.get("token").and_then(Value::as_str) == Some(token.as_str()))
            {
                let r = inbox.responses.remove(i).unwrap();
                let data = r
                    .get("data")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                return if r.get("ok").and_then(Value::as_bool) == Some(true) {
                    Ok(data)
                } else {
                    Err(Error::new(format!(
                        "baresip command {name} {params:?} failed: {}",
                        data.trim_end()
                    )))
                };
            }
            let now = Instant::now();
            if inbox.closed || now >= deadline {
                drop(inbox);
                return Err(Error::new(format!(
                    "no response to baresip command {name} {params:?}\n{}",
                    self.diagnostics()
                )));
            }
            inbox = cv.wait_timeout(inbox, deadline - now).unwrap().0;
        }
    }

    /// Place a call (`dial` command). Follow with `wait_event("CALL_ESTABLISHED")`.
    pub fn dial(&self, uri: &str) -> Result<()> {
        self.command("dial", uri).map(drop)
    }
    /// Hang up the current call.
    pub fn hangup(&self) -> Result<()> {
        self.command("hangup", "").map(drop)
    }
    /// Answer the current incoming call (for [`AnswerMode::Manual`]).
    pub fn answer(&self) -> Result<()> {
        self.command("accept", "").map(drop)
    }
    /// Send DTMF in the current call, one `sndcode` per key with a 120 ms gap
    /// (`0-9 * # A-D`). baresip sends RFC 4733 telephone-events when the peer
    /// offered/accepted `telephone-event` (it always offers it), else SIP INFO.
    pub fn send_dtmf(&self, digits: &str) -> Result<()> {
        for d in digits.chars() {
            self.command("sndcode", &d.to_string())?;
            std::thread::sleep(Duration::from_millis(120));
        }
        Ok(())
    }

    /// All events received so far.
    pub fn events(&self) -> Vec<Event> {
        self.inbox.0.lock().unwrap().events.clone()
    }
    /// Event types received so far, in order.
    pub fn event_kinds(&self) -> Vec<String> {
        self.events().into_iter().map(|e| e.kind).collect()
    }

    /// Wait for the next event (after the previously waited-for one) whose
    /// type is `kind`. Events are consumed in order, so
    /// `wait_event("CALL_ESTABLISHED")` then `wait_event("CALL_CLOSED")`
    /// checks ordering; events skipped over remain in [`Baresip::events`].
    pub fn wait_event(&mut self, kind: &str, timeout: Duration) -> Result<Event> {
        self.wait_event_where(|e| e.kind == kind, timeout)
            .map_err(|e| Error::new(format!("waiting for {kind}: {e}")))
    }

    /// Like [`Baresip::wait_event`] with an arbitrary predicate.
    pub fn wait_event_where(
        &mut self,
        pred: impl Fn(&Event) -> bool,
        timeout: Duration,
    ) -> Result<Event> {
        let (lock, cv) = &*self.inbox;
        let deadline = Instant::now() + timeout;
        let mut inbox = lock.lock().unwrap();
        loop {
            if let Some(off) = inbox.events[self.cursor..].iter().position(&pred) {
                let i = self.cursor + off;
                self.cursor = i + 1;
                return Ok(inbox.events[i].clone());
            }
            let now = Instant::now();
            if inbox.closed || now >= deadline {
                let seen: Vec<String> = inbox
                    .events
                    .iter()
                    .map(|e| format!("{}({})", e.kind, e.param))
                    .collect();
                let closed = inbox.closed;
                drop(inbox);
                return Err(Error::new(format!(
                    "no matching event within {timeout:?} (ctrl closed: {closed}); events so far: {seen:?}\n{}",
                    self.diagnostics()
                )));
            }
            inbox = cv.wait_timeout(inbox, deadline - now).unwrap().0;
        }
    }

    /// Wait until the account is registered. `REGISTER_OK` may fire before
    /// the ctrl_tcp connection exists (baresip registers during startup), so
    /// this also accepts the `{0/UDP/v4} 200 OK () [1 binding]` line baresip
    /// prints, and fails early on REGISTER_FAIL or a `reg: AOR: 403 ...` line.
    pub fn wait_registered(&mut self, timeout: Duration) -> Result<()> {
        let ok = Pattern::Regex(regex::Regex::new(r"\{\d+/(UDP|TCP|TLS)/v4\} 200 OK").unwrap());
        // e.g. "reg: sip:alice@127.0.0.1:5060: 403 Forbidden ()"
        let refused = Pattern::Regex(regex::Regex::new(r"reg: sip:\S+: [3-6]\d\d ").unwrap());
        let mut ok_cur = LogCursor::new(self.child.stdout_path());
        let mut bad_cur = LogCursor::new(self.child.stdout_path());
        let deadline = Instant::now() + timeout;
        loop {
            if self.events().iter().any(|e| e.kind == "REGISTER_OK") || ok_cur.poll(&ok).is_some() {
                return Ok(());
            }
            if let Some(e) = self.events().iter().find(|e| e.kind == "REGISTER_FAIL") {
                return Err(Error::new(format!(
                    "REGISTER_FAIL: {}\n{}",
                    e.param,
                    self.diagnostics()
                )));
            }
            if let Some(l) = bad_cur.poll(&refused) {
                return Err(Error::new(format!(
                    "registration refused: {l}\n{}",
                    self.diagnostics()
                )));
            }
            if let Some(st) = self.child.try_wait() {
                return Err(Error::new(format!(
                    "baresip exited ({st}) before registering\n{}",
                    self.diagnostics()
                )));
            }
            if Instant::now() >= deadline {
                return Err(Error::new(format!(
                    "not registered within {timeout:?}\n{}",
                    self.diagnostics()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// All `dump-*.wav` files recorded so far (sorted by name).
    pub fn recordings(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = fs::read_dir(&self.rec_dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| {
                        p.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.starts_with("dump-") && n.ends_with(".wav"))
                    })
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }
    /// Received (decoded) audio recordings: `dump-*-dec.wav`.
    pub fn received_recordings(&self) -> Vec<PathBuf> {
        self.recordings()
            .into_iter()
            .filter(|p| p.to_string_lossy().ends_with("-dec.wav"))
            .collect()
    }
    /// Sent (encoded) audio recordings: `dump-*-enc.wav`.
    pub fn sent_recordings(&self) -> Vec<PathBuf> {
        self.recordings()
            .into_iter()
            .filter(|p| p.to_string_lossy().ends_with("-enc.wav"))
            .collect()
    }

    /// After a call ended: wait until the newest received recording is a
    /// finalised WAV with at least `min_secs` of audio, and return it.
    pub fn wait_received_recording(&self, min_secs: f64, timeout: Duration) -> Result<PathBuf> {
        let deadline = Instant::now() + timeout;
        loop {
            let newest = self.received_recordings().pop();
            let long_enough = newest
                .as_deref()
                .and_then(|p| audio::read_wav(p).ok())
                .is_some_and(|a| a.duration_secs() >= min_secs);
            if long_enough {
                return Ok(newest.unwrap());
            }
            if Instant::now() >= deadline {
                let mut listing = String::new();
                for p in self.recordings() {
                    let len = fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
                    let _ = writeln!(listing, "  {} ({len} bytes)", p.display());
                }
                return Err(Error::new(format!(
                    "no finalised received recording >= {min_secs}s within {timeout:?}; files:\n{listing}{}",
                    self.diagnostics()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Ask baresip to quit (flushes recordings), then make sure it is gone.
    pub fn stop(mut self) {
        let _ = self.command("quit", "");
        let _ = self.child.wait_timeout(Duration::from_secs(2));
    }
}

impl Drop for Baresip {
    fn drop(&mut self) {
        let _ = self.ctrl.shutdown(Shutdown::Both);
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

fn write(path: PathBuf, s: &str) -> Result<()> {
    fs::write(&path, s).map_err(|e| Error::new(format!("write {}: {e}", path.display())))
}

fn aor(cfg: &BaresipConfig, ports: BaresipPorts) -> String {
    match &cfg.domain {
        Some(d) => format!("sip:{}@{d};transport={}", cfg.user, cfg.transport),
        None => format!("sip:{}@127.0.0.1:{}", cfg.user, ports.sip),
    }
}

fn render_config(
    cfg: &BaresipConfig,
    ports: BaresipPorts,
    source: &Path,
    rec_dir: &Path,
) -> String {
    let mut c = String::new();
    let _ = writeln!(c, "poll_method\t\tepoll");
    // Must be an address: `lo` fails ("could not get IPv4 address").
    let _ = writeln!(c, "net_interface\t\t127.0.0.1");
    let _ = writeln!(c, "sip_listen\t\t127.0.0.1:{}", ports.sip);
    let _ = writeln!(c, "call_local_timeout\t30");
    let _ = writeln!(c, "call_max_calls\t\t4");
    let _ = writeln!(c, "audio_player\t\talsa,null");
    let _ = writeln!(c, "audio_alert\t\talsa,null");
    let _ = writeln!(c, "audio_source\t\taufile,{}", source.display());
    let _ = writeln!(c, "audio_buffer\t\t20-160");
    let _ = writeln!(c, "jitter_buffer_delay\t5-10");
    if let Some((lo, hi)) = cfg.rtp_ports {
        let _ = writeln!(c, "rtp_ports\t\t{lo}-{hi}");
    }
    let _ = writeln!(c, "module_path\t\t/usr/lib/baresip/modules");
    for m in ["g711.so", "aufile.so", "alsa.so", "sndfile.so"] {
        let _ = writeln!(c, "module\t\t\t{m}");
    }
    let _ = writeln!(c, "module_tmp\t\taccount.so");
    // menu provides the command set (dial, hangup, sndcode, ...).
    let _ = writeln!(c, "module_app\t\tmenu.so");
    let _ = writeln!(c, "module_app\t\tctrl_tcp.so");
    let _ = writeln!(c, "ctrl_tcp_listen\t\t127.0.0.1:{}", ports.ctrl);
    let _ = writeln!(c, "snd_path\t\t{}", rec_dir.display());
    for l in &cfg.extra_config {
        let _ = writeln!(c, "{l}");
    }
    c
}

fn render_account(cfg: &BaresipConfig, ports: BaresipPorts) -> String {
    let mut a = format!("<{}>", aor(cfg, ports));
    let _ = write!(a, ";answermode={}", cfg.answermode.as_str());
    if !cfg.audio_codecs.is_empty() {
        let _ = write!(a, ";audio_codecs={}", cfg.audio_codecs.join(","));
    }
    if let Some(u) = &cfg.auth_user {
        let _ = write!(a, ";auth_user={u}");
    }
    if let Some(p) = &cfg.auth_pass {
        let _ = write!(a, ";auth_pass={p}");
    }
    if let Some(o) = &cfg.outbound {
        let _ = write!(a, ";outbound=\"{o}\"");
    }
    // Peer-to-peer: the AOR is our own address; never REGISTER to ourselves.
    let regint = if cfg.domain.is_some() { cfg.regint } else { 0 };
    let _ = write!(a, ";regint={regint}");
    for p in &cfg.extra_account_params {
        let _ = write!(a, ";{p}");
    }
    a.push('\n');
    a
}

/// Parse netstrings (`LEN:JSON,`) until EOF; sort into events and responses.
fn read_loop(mut stream: TcpStream, inbox: Shared) {
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        while let Some((msg, used)) = next_netstring(&buf) {
            let parsed: Option<Value> = serde_json::from_slice(msg).ok();
            buf.drain(..used);
            let Some(v) = parsed else { continue };
            let (lock, cv) = &*inbox;
            let mut ib = lock.lock().unwrap();
            if v.get("event").and_then(Value::as_bool) == Some(true) {
                let kind = v
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                let param = v
                    .get("param")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                ib.events.push(Event {
                    kind,
                    param,
                    json: v,
                    at: Instant::now(),
                });
            } else if v.get("response").is_some() {
                ib.responses.push_back(v);
            }
            cv.notify_all();
        }
    }
    let (lock, cv) = &*inbox;
    lock.lock().unwrap().closed = true;
    cv.notify_all();
}

/// One complete netstring at the start of `buf`: (payload, bytes consumed).
fn next_netstring(buf: &[u8]) -> Option<(&[u8], usize)> {
    let colon = buf.iter().position(|&b| b == b':')?;
    let len: usize = std::str::from_utf8(&buf[..colon])
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let end = colon + 1 + len;
    if buf.len() < end + 1 {
        return None;
    }
    Some((&buf[colon + 1..end], end + 1))
}
