//! Headless Chromium for end-to-end tests of the web console, driven over
//! W3C WebDriver through chromedriver (Debian packages `chromium` and
//! `chromium-driver`: /usr/bin/chromium, /usr/bin/chromedriver).
//!
//! # Why a hand-written WebDriver client (no new crate)
//!
//! WebDriver is JSON over HTTP/1.1, and a test only needs a few dozen
//! commands, so this file speaks it itself over `std::net::TcpStream` with
//! `serde_json` and `base64` (both already dependencies): blocking like the
//! rest of `tests/common`, no async runtime, nothing new in Cargo.lock and
//! nothing new to compile. The alternative, `fantoccini 0.22` with
//! `default-features = false` (plain http only), adds 29 crates to
//! Cargo.lock (its `webdriver` crate brings `time`, `cookie` x2, `http 0.2`,
//! `thiserror 1` and the ICU segmenter stack with its proc-macro derives),
//! a noticeable first build on 2 cores, and an async API that would still
//! need a private tokio runtime to look like this one. The price of the
//! hand-written client is that it knows only chromedriver on loopback: one
//! request per connection (`Connection: close`), Content-Length or chunked
//! bodies, no TLS, no proxies.
//!
//! # Lifecycle
//!
//! [`Browser::start`] starts chromedriver on a free 127.0.0.1 port
//! ([`super::ports`]) as a [`super::proc::ChildGuard`] (own process group,
//! SIGKILLed if the test thread dies), then a WebDriver session with headless
//! Chromium (the flags this machine needs, see `CHROME_ARGS`), a fresh
//! `--user-data-dir` in a temp dir and a 1280x900 window. Chromium is
//! chromedriver's child in the same process group. Drop always: saves
//! `last.png` + `last.html` + `chromedriver.log` into the artifacts dir if
//! the thread is panicking, ends the session (Chromium quits), kills the
//! chromedriver process group, SIGKILLs any process still naming the
//! profile dir on its command line, and removes the temp dir.
//!
//! # Waits
//!
//! Every operation by CSS selector looks the element up again and retries
//! (every 50 ms) while it is missing, stale, not interactable or covered,
//! up to the implicit wait ([`Browser::set_wait`], default 5 s); explicit
//! waits take their own timeout. Every HTTP request has a deadline. Errors
//! name the operation, the selector, the time waited, the last WebDriver
//! error and the page's URL.
//!
//! # Artifacts
//!
//! `target/test-artifacts/<test-name>/` under `CARGO_MANIFEST_DIR`, where the
//! test name is the test thread's name (libtest names it after the test) or
//! the one given to [`Browser::start_named`]. The directory is emptied the
//! first time a browser of that name starts in this process.
//!
//! Overrides: `SB_CHROMIUM` (browser binary), `SB_CHROMEDRIVER`.

use std::fmt;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

use super::ports;
use super::proc::{ChildGuard, SpawnOpts};
use super::{Error, Result};

/// Chromium flags. Running as root needs `--no-sandbox`; on this machine's
/// closed network the background-networking flags avoid floods of refused
/// connections and failed lookups of Google's hosts at every start.
const CHROME_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--password-store=basic",
    "--window-size=1280,900", // WINDOW_WIDTH x WINDOW_HEIGHT
];

pub const WINDOW_WIDTH: u32 = 1280;
pub const WINDOW_HEIGHT: u32 = 900;

/// Default implicit wait of the by-selector operations.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(5);
/// Poll interval of every wait.
const POLL: Duration = Duration::from_millis(50);
/// Deadline of one WebDriver command (page loads are capped at 30 s by the
/// session's own pageLoad timeout, scripts likewise).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Deadline of the commands Drop sends (a wedged browser must not hang it).
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(10);
/// W3C web element identifier key.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

// ---------------------------------------------------------------------------
// Wire: one HTTP/1.1 request per connection to chromedriver.

/// A failed WebDriver command: the W3C `error` code (or `transport` /
/// `pending` for our own) and the message.
#[derive(Debug, Clone)]
struct WdErr {
    error: String,
    message: String,
}

impl WdErr {
    fn new(error: &str, message: impl Into<String>) -> Self {
        WdErr {
            error: error.to_owned(),
            message: message.into(),
        }
    }
    /// Not yet in the wanted state (a wait condition, not a driver error).
    fn pending(message: impl Into<String>) -> Self {
        WdErr::new("pending", message)
    }
    /// Worth looking the element up again and retrying.
    fn retryable(&self) -> bool {
        matches!(
            self.error.as_str(),
            "no such element"
                | "stale element reference"
                | "element not interactable"
                | "element click intercepted"
                | "invalid element state"
                | "pending"
        )
    }
}

impl fmt::Display for WdErr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // chromedriver's messages repeat the code and add a multi-line
        // session-info tail; the first line is the useful part.
        let first = self.message.lines().next().unwrap_or("");
        if self.error == "pending" {
            f.write_str(first)
        } else {
            write!(f, "{}: {}", self.error, first)
        }
    }
}

type WdResult<T> = std::result::Result<T, WdErr>;

#[derive(Clone, Copy)]
struct Wire {
    port: u16,
}

impl Wire {
    /// Send one command; returns the response's `value`.
    fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        timeout: Duration,
    ) -> WdResult<Value> {
        let (status, text) = self
            .http(method, path, body, timeout)
            .map_err(|e| WdErr::new("transport", format!("{method} {path}: {e}")))?;
        let v: Value = serde_json::from_str(&text).map_err(|e| {
            WdErr::new(
                "transport",
                format!(
                    "{method} {path}: HTTP {status}, not JSON ({e}): {}",
                    clip(&text, 300)
                ),
            )
        })?;
        let value = v.get("value").cloned().unwrap_or(Value::Null);
        if (200..300).contains(&status) {
            return Ok(value);
        }
        let error = value
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("unknown error")
            .to_owned();
        let message = value
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        Err(WdErr { error, message })
    }

    fn http(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        timeout: Duration,
    ) -> std::io::Result<(u16, String)> {
        use std::io::{Error as IoError, ErrorKind};
        let deadline = Instant::now() + timeout;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let mut stream = TcpStream::connect_timeout(&addr, timeout.min(Duration::from_secs(5)))?;
        stream.set_write_timeout(Some(timeout))?;
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost:{port}\r\n\
             Content-Type: application/json; charset=utf-8\r\n\
             Content-Length: {len}\r\nConnection: close\r\n\r\n{body}",
            port = self.port,
            len = body.len()
        );
        stream.write_all(req.as_bytes())?;
        // The read timeout bounds each read; the deadline bounds the sum.
        let remaining = |what: &str| {
            deadline
                .checked_duration_since(Instant::now())
                .filter(|d| !d.is_zero())
                .ok_or_else(|| {
                    IoError::new(ErrorKind::TimedOut, format!("no {what} within {timeout:?}"))
                })
        };
        stream.set_read_timeout(Some(remaining("response")?))?;
        let mut r = BufReader::new(stream);
        let mut line = String::new();
        r.read_line(&mut line)?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                IoError::new(ErrorKind::InvalidData, format!("bad status line {line:?}"))
            })?;
        let mut content_length: Option<usize> = None;
        let mut chunked = false;
        loop {
            line.clear();
            if r.read_line(&mut line)? == 0 {
                return Err(IoError::new(ErrorKind::UnexpectedEof, "EOF in headers"));
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
                if k == "content-length" {
                    content_length = v.parse().ok();
                } else if k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked") {
                    chunked = true;
                }
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                r.get_mut().set_read_timeout(Some(remaining("chunk")?))?;
                line.clear();
                r.read_line(&mut line)?;
                let size_hex = line.trim().split(';').next().unwrap_or("");
                let size = usize::from_str_radix(size_hex, 16).map_err(|_| {
                    IoError::new(ErrorKind::InvalidData, format!("bad chunk size {line:?}"))
                })?;
                if size == 0 {
                    break;
                }
                let start = body.len();
                body.resize(start + size, 0);
                r.read_exact(&mut body[start..])?;
                line.clear();
                r.read_line(&mut line)?; // CRLF after the chunk
            }
        } else if let Some(n) = content_length {
            body.resize(n, 0);
            r.read_exact(&mut body)?;
        } else {
            r.read_to_end(&mut body)?;
        }
        let text = String::from_utf8(body)
            .map_err(|_| IoError::new(ErrorKind::InvalidData, "response body is not UTF-8"))?;
        Ok((status, text))
    }
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut c: String = s.chars().take(n).collect();
        c.push('…');
        c
    }
}

/// CSS string literal content (for `[attr="..."]`).
fn css_string(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// File-name-safe version of a test name.
fn sanitize(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let s = s.trim_matches('.').to_owned();
    if s.is_empty() {
        "unnamed".to_owned()
    } else {
        s
    }
}

// ---------------------------------------------------------------------------
// Public types.

/// A cookie as the browser stores it (W3C cookie object).
#[derive(Debug, Clone, PartialEq)]
pub struct Cookie {
    pub name: String,
    pub value: String,
    pub path: Option<String>,
    pub domain: Option<String>,
    pub secure: bool,
    pub http_only: bool,
    /// "Strict", "Lax" or "None" as reported by the browser.
    pub same_site: Option<String>,
    /// Seconds since the epoch; `None` for a session cookie.
    pub expiry: Option<u64>,
}

impl Cookie {
    fn from_json(v: &Value) -> Cookie {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        Cookie {
            name: s("name").unwrap_or_default(),
            value: s("value").unwrap_or_default(),
            path: s("path"),
            domain: s("domain"),
            secure: v.get("secure").and_then(Value::as_bool).unwrap_or(false),
            http_only: v.get("httpOnly").and_then(Value::as_bool).unwrap_or(false),
            same_site: s("sameSite"),
            expiry: v.get("expiry").and_then(Value::as_u64),
        }
    }
}

/// An element found by [`Browser::find`]. Its operations run once (no
/// retry): an element replaced by the page gives a "stale element
/// reference" error; the by-selector operations on [`Browser`] retry.
pub struct Element<'b> {
    b: &'b Browser,
    id: String,
    css: String,
}

impl fmt::Debug for Element<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Element({:?})", self.css)
    }
}

impl<'b> Element<'b> {
    pub fn css(&self) -> &str {
        &self.css
    }
    fn path(&self, tail: &str) -> String {
        format!("element/{}/{tail}", self.id)
    }
    fn raw_text(&self) -> WdResult<String> {
        let v = self.b.cmd("GET", &self.path("text"), None)?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }
    fn raw_attr(&self, name: &str) -> WdResult<Option<String>> {
        let v = self
            .b
            .cmd("GET", &self.path(&format!("attribute/{name}")), None)?;
        Ok(v.as_str().map(str::to_owned))
    }
    fn raw_prop(&self, name: &str) -> WdResult<Value> {
        self.b
            .cmd("GET", &self.path(&format!("property/{name}")), None)
    }
    fn raw_click(&self) -> WdResult<()> {
        self.b
            .cmd("POST", &self.path("click"), Some(json!({})))
            .map(drop)
    }
    fn raw_fill(&self, text: &str) -> WdResult<()> {
        self.b.cmd("POST", &self.path("clear"), Some(json!({})))?;
        self.b
            .cmd("POST", &self.path("value"), Some(json!({ "text": text })))
            .map(drop)
    }
    fn raw_selected(&self) -> WdResult<bool> {
        Ok(self
            .b
            .cmd("GET", &self.path("selected"), None)?
            .as_bool()
            .unwrap_or(false))
    }
    fn raw_displayed(&self) -> WdResult<bool> {
        Ok(self
            .b
            .cmd("GET", &self.path("displayed"), None)?
            .as_bool()
            .unwrap_or(false))
    }
    fn raw_find(&self, css: &str) -> WdResult<Element<'b>> {
        let v = self.b.cmd(
            "POST",
            &self.path("element"),
            Some(json!({ "using": "css selector", "value": css })),
        )?;
        self.b.element_from(&v, &format!("{} {css}", self.css))
    }
    fn wrap<T>(&self, op: &str, r: WdResult<T>) -> Result<T> {
        r.map_err(|e| self.b.fail(op, &self.css, None, &e))
    }

    /// Rendered text (`innerText`-like, as WebDriver defines it).
    pub fn text(&self) -> Result<String> {
        self.wrap("text", self.raw_text())
    }
    /// An HTML attribute (`None` when absent). For live form values use
    /// [`Element::prop`]`("value")`.
    pub fn attr(&self, name: &str) -> Result<Option<String>> {
        self.wrap("attr", self.raw_attr(name))
    }
    /// A DOM property (e.g. "value", "checked").
    pub fn prop(&self, name: &str) -> Result<Value> {
        self.wrap("prop", self.raw_prop(name))
    }
    pub fn click(&self) -> Result<()> {
        self.wrap("click", self.raw_click())
    }
    /// Clear, then type `text`.
    pub fn fill(&self, text: &str) -> Result<()> {
        self.wrap("fill", self.raw_fill(text))
    }
    pub fn is_displayed(&self) -> Result<bool> {
        self.wrap("is_displayed", self.raw_displayed())
    }
    pub fn is_selected(&self) -> Result<bool> {
        self.wrap("is_selected", self.raw_selected())
    }
    /// First descendant matching `css` (no wait).
    pub fn find(&self, css: &str) -> Result<Element<'b>> {
        self.wrap("find", self.raw_find(css))
    }
}

// ---------------------------------------------------------------------------
// Browser.

/// Artifact dirs already emptied by this process.
static PREPARED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// A headless Chromium session. See the module docs.
pub struct Browser {
    wire: Wire,
    session: Option<String>,
    driver: Option<ChildGuard>,
    /// Temp dir holding the profile and chromedriver's logs (removed on drop).
    tmp: Option<PathBuf>,
    profile: PathBuf,
    artifacts: PathBuf,
    wait: Duration,
}

impl Browser {
    /// Start chromedriver + headless Chromium; artifacts are named after the
    /// current test (the thread's name).
    pub fn start() -> Result<Browser> {
        let name = std::thread::current()
            .name()
            .unwrap_or("unnamed")
            .to_owned();
        Browser::start_named(&name)
    }

    /// Like [`Browser::start`] with an explicit artifacts name.
    pub fn start_named(test_name: &str) -> Result<Browser> {
        let chromium = std::env::var("SB_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let chromedriver =
            std::env::var("SB_CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        for bin in [&chromium, &chromedriver] {
            if !Path::new(bin).exists() {
                return Err(Error::new(format!(
                    "browser: {bin} not found (Debian packages chromium and chromium-driver; `make test-deps` installs them)"
                )));
            }
        }
        let artifacts = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target")
            .join("test-artifacts")
            .join(sanitize(test_name));
        {
            let mut prepared = PREPARED.lock().unwrap_or_else(|p| p.into_inner());
            if !prepared.contains(&artifacts) {
                let _ = fs::remove_dir_all(&artifacts);
                prepared.push(artifacts.clone());
            }
        }
        let tmp = tempfile::Builder::new()
            .prefix("sb-browser-")
            .tempdir()
            .map_err(|e| Error::new(format!("browser: tempdir: {e}")))?
            .keep();
        let profile = tmp.join("profile");
        // From here on, Drop cleans up whatever part was started.
        let mut b = Browser {
            wire: Wire { port: 0 },
            session: None,
            driver: None,
            tmp: Some(tmp.clone()),
            profile: profile.clone(),
            artifacts,
            wait: DEFAULT_WAIT,
        };
        fs::create_dir_all(&profile)
            .map_err(|e| Error::new(format!("browser: mkdir {}: {e}", profile.display())))?;

        // chromedriver; a port taken between allocation and bind makes it
        // exit, so try a few.
        let mut last_err = None;
        for attempt in 0..3 {
            let port = ports::alloc();
            let mut cmd = Command::new(&chromedriver);
            cmd.arg(format!("--port={port}"))
                .arg(format!(
                    "--log-path={}",
                    tmp.join("chromedriver.log").display()
                ))
                .arg("--log-level=INFO")
                .arg("--enable-chrome-logs");
            let mut g = ChildGuard::spawn(
                &format!("chromedriver{attempt}"),
                cmd,
                &tmp,
                SpawnOpts::default(),
            )?;
            match g.wait_for_line("started successfully", Duration::from_secs(20)) {
                Ok(_) => {
                    b.wire = Wire { port };
                    b.driver = Some(g);
                    break;
                }
                Err(e) => last_err = Some(e),
            }
        }
        if b.driver.is_none() {
            return Err(
                last_err.unwrap_or_else(|| Error::new("browser: chromedriver did not start"))
            );
        }

        let mut args: Vec<String> = CHROME_ARGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let caps = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "pageLoadStrategy": "normal",
                    "timeouts": { "implicit": 0, "pageLoad": 30_000, "script": 30_000 },
                    "goog:chromeOptions": { "binary": chromium, "args": args },
                }
            }
        });
        let v = b
            .wire
            .call("POST", "/session", Some(caps), COMMAND_TIMEOUT)
            .map_err(|e| b.startup_error("new session", &e))?;
        let id = v
            .get("sessionId")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::new(format!("browser: new session: no sessionId in {v}")))?;
        b.session = Some(id.to_owned());
        // The window size comes from --window-size (an extra SetWindowRect
        // costs ~1.4 s here); tests/browser_smoke.rs checks it took effect.
        Ok(b)
    }

    fn startup_error(&self, what: &str, e: &WdErr) -> Error {
        let log = self.tmp.as_ref().map(|t| t.join("chromedriver.log"));
        let tail = log
            .as_deref()
            .map(|l| super::proc::tail(l, 30))
            .unwrap_or_default();
        Error::new(format!(
            "browser: {what}: {e}\n--- chromedriver.log tail ---\n{tail}"
        ))
    }

    /// Session command, e.g. `cmd("GET", "title", None)`.
    fn cmd(&self, method: &str, tail: &str, body: Option<Value>) -> WdResult<Value> {
        self.cmd_timeout(method, tail, body, COMMAND_TIMEOUT)
    }

    fn cmd_timeout(
        &self,
        method: &str,
        tail: &str,
        body: Option<Value>,
        timeout: Duration,
    ) -> WdResult<Value> {
        let id = self
            .session
            .as_deref()
            .ok_or_else(|| WdErr::new("invalid session id", "no session"))?;
        let path = if tail.is_empty() {
            format!("/session/{id}")
        } else {
            format!("/session/{id}/{tail}")
        };
        self.wire.call(method, &path, body, timeout)
    }

    fn element_from(&self, v: &Value, css: &str) -> WdResult<Element<'_>> {
        let id = v
            .get(ELEMENT_KEY)
            .and_then(Value::as_str)
            .ok_or_else(|| WdErr::new("transport", format!("no element reference in {v}")))?;
        Ok(Element {
            b: self,
            id: id.to_owned(),
            css: css.to_owned(),
        })
    }

    fn find_once(&self, css: &str) -> WdResult<Element<'_>> {
        let v = self.cmd(
            "POST",
            "element",
            Some(json!({ "using": "css selector", "value": css })),
        )?;
        self.element_from(&v, css)
    }

    /// An error naming the operation, selector, wait and URL.
    fn fail(&self, op: &str, css: &str, waited: Option<Duration>, e: &WdErr) -> Error {
        let url = self
            .cmd_timeout("GET", "url", None, Duration::from_secs(5))
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| "?".into());
        let waited = waited
            .map(|w| format!(" after {w:.1?}"))
            .unwrap_or_default();
        Error::new(format!(
            "browser: {op}({css:?}) failed{waited}: {e} [url: {url}]"
        ))
    }

    /// Find `css` and run `f` on it, retrying both while the error is
    /// retryable and the deadline has not passed.
    fn retry<T>(
        &self,
        op: &str,
        css: &str,
        timeout: Duration,
        mut f: impl FnMut(&Element<'_>) -> WdResult<T>,
    ) -> Result<T> {
        let start = Instant::now();
        loop {
            let r = self.find_once(css).and_then(|e| f(&e));
            match r {
                Ok(v) => return Ok(v),
                Err(e) if e.retryable() && start.elapsed() < timeout => std::thread::sleep(POLL),
                Err(e) => return Err(self.fail(op, css, Some(start.elapsed()), &e)),
            }
        }
    }

    // -- configuration / identity -------------------------------------------

    /// Implicit wait of the by-selector operations (default 5 s).
    pub fn set_wait(&mut self, wait: Duration) {
        self.wait = wait;
    }
    pub fn wait(&self) -> Duration {
        self.wait
    }
    /// `target/test-artifacts/<test-name>/` (may not exist yet).
    pub fn artifacts_dir(&self) -> &Path {
        &self.artifacts
    }
    /// Chromium's `--user-data-dir` (removed on drop).
    pub fn profile_dir(&self) -> &Path {
        &self.profile
    }
    /// chromedriver's pid (Chromium runs in its process group).
    pub fn driver_pid(&self) -> Option<u32> {
        self.driver.as_ref().map(ChildGuard::pid)
    }

    // -- navigation ---------------------------------------------------------

    /// Navigate and wait for the load event (at most 30 s).
    pub fn goto(&self, url: &str) -> Result<()> {
        self.cmd("POST", "url", Some(json!({ "url": url })))
            .map(drop)
            .map_err(|e| self.fail("goto", url, None, &e))
    }
    pub fn current_url(&self) -> Result<String> {
        self.cmd("GET", "url", None)
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .map_err(|e| Error::new(format!("browser: current_url: {e}")))
    }
    pub fn title(&self) -> Result<String> {
        self.cmd("GET", "title", None)
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .map_err(|e| self.fail("title", "", None, &e))
    }
    pub fn back(&self) -> Result<()> {
        self.cmd("POST", "back", Some(json!({})))
            .map(drop)
            .map_err(|e| self.fail("back", "", None, &e))
    }
    pub fn refresh(&self) -> Result<()> {
        self.cmd("POST", "refresh", Some(json!({})))
            .map(drop)
            .map_err(|e| self.fail("refresh", "", None, &e))
    }
    /// Wait until the current URL contains `substring`; returns it.
    pub fn wait_url(&self, substring: &str, timeout: Duration) -> Result<String> {
        let start = Instant::now();
        loop {
            let url = self.current_url()?;
            if url.contains(substring) {
                return Ok(url);
            }
            if start.elapsed() >= timeout {
                return Err(Error::new(format!(
                    "browser: wait_url({substring:?}) failed after {:.1?}: url is {url}",
                    start.elapsed()
                )));
            }
            std::thread::sleep(POLL);
        }
    }
    /// The page's HTML as the DOM serialises it now.
    pub fn page_source(&self) -> Result<String> {
        self.cmd("GET", "source", None)
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .map_err(|e| self.fail("page_source", "", None, &e))
    }

    // -- elements -----------------------------------------------------------

    /// First element matching `css`, waiting up to the implicit wait.
    pub fn find(&self, css: &str) -> Result<Element<'_>> {
        self.wait_for(css, self.wait)
    }
    /// First element matching `css`, waiting up to `timeout`.
    pub fn wait_for(&self, css: &str, timeout: Duration) -> Result<Element<'_>> {
        let start = Instant::now();
        loop {
            match self.find_once(css) {
                Ok(e) => return Ok(e),
                Err(e) if e.retryable() && start.elapsed() < timeout => std::thread::sleep(POLL),
                Err(e) => return Err(self.fail("wait_for", css, Some(start.elapsed()), &e)),
            }
        }
    }
    /// Wait until no element matches `css`.
    pub fn wait_gone(&self, css: &str, timeout: Duration) -> Result<()> {
        let start = Instant::now();
        loop {
            match self.find_once(css) {
                Err(e) if e.error == "no such element" => return Ok(()),
                Err(e) if !e.retryable() => return Err(self.fail("wait_gone", css, None, &e)),
                _ if start.elapsed() >= timeout => {
                    return Err(self.fail(
                        "wait_gone",
                        css,
                        Some(start.elapsed()),
                        &WdErr::pending("element still present"),
                    ))
                }
                _ => std::thread::sleep(POLL),
            }
        }
    }
    /// All elements matching `css` now (no wait; possibly empty).
    pub fn find_all(&self, css: &str) -> Result<Vec<Element<'_>>> {
        let v = self
            .cmd(
                "POST",
                "elements",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .map_err(|e| self.fail("find_all", css, None, &e))?;
        let list = v.as_array().cloned().unwrap_or_default();
        list.iter()
            .map(|v| {
                self.element_from(v, css)
                    .map_err(|e| self.fail("find_all", css, None, &e))
            })
            .collect()
    }
    /// Whether an element matches `css` now (no wait).
    pub fn exists(&self, css: &str) -> Result<bool> {
        match self.find_once(css) {
            Ok(_) => Ok(true),
            Err(e) if e.error == "no such element" => Ok(false),
            Err(e) => Err(self.fail("exists", css, None, &e)),
        }
    }
    /// Wait until the text of `css` contains `substring`; returns the text.
    pub fn wait_text(&self, css: &str, substring: &str, timeout: Duration) -> Result<String> {
        let op = format!("wait_text[{substring:?}]");
        self.retry(&op, css, timeout, |e| {
            let t = e.raw_text()?;
            if t.contains(substring) {
                Ok(t)
            } else {
                Err(WdErr::pending(format!("text is {:?}", clip(&t, 200))))
            }
        })
    }
    /// Click the element (waits until it exists and is clickable).
    pub fn click(&self, css: &str) -> Result<()> {
        self.retry("click", css, self.wait, |e| e.raw_click())
    }
    /// Clear the field, then type `text`.
    pub fn fill(&self, css: &str, text: &str) -> Result<()> {
        self.retry("fill", css, self.wait, |e| e.raw_fill(text))
    }
    /// Choose the `<option value="VALUE">` of the `<select>` at `css`.
    pub fn select(&self, css: &str, value: &str) -> Result<()> {
        let opt = format!("option[value=\"{}\"]", css_string(value));
        let op = format!("select[{value:?}]");
        self.retry(&op, css, self.wait, |sel| {
            let o = sel.raw_find(&opt)?;
            o.raw_click()?;
            if o.raw_selected()? {
                Ok(())
            } else {
                Err(WdErr::pending(format!("{opt} not selected after click")))
            }
        })
    }
    /// Rendered text of the element.
    pub fn text(&self, css: &str) -> Result<String> {
        self.retry("text", css, self.wait, |e| e.raw_text())
    }
    /// HTML attribute of the element (`None` when absent).
    pub fn attr(&self, css: &str, name: &str) -> Result<Option<String>> {
        let op = format!("attr[{name:?}]");
        self.retry(&op, css, self.wait, |e| e.raw_attr(name))
    }
    /// DOM property of the element (e.g. the live "value" of an input).
    pub fn prop(&self, css: &str, name: &str) -> Result<Value> {
        let op = format!("prop[{name:?}]");
        self.retry(&op, css, self.wait, |e| e.raw_prop(name))
    }

    // -- scripts, cookies, screenshots ----------------------------------------

    /// Run `js` as a function body (use `return`) in the page; returns its
    /// JSON-serialisable result.
    pub fn exec(&self, js: &str) -> Result<Value> {
        self.exec_args(js, &[])
    }
    /// Like [`Browser::exec`], with `arguments[i]` = `args[i]`.
    pub fn exec_args(&self, js: &str, args: &[Value]) -> Result<Value> {
        self.cmd(
            "POST",
            "execute/sync",
            Some(json!({ "script": js, "args": args })),
        )
        .map_err(|e| self.fail("exec", &clip(js, 80), None, &e))
    }
    /// Cookies visible to the current page, with their flags.
    pub fn cookies(&self) -> Result<Vec<Cookie>> {
        let v = self
            .cmd("GET", "cookie", None)
            .map_err(|e| self.fail("cookies", "", None, &e))?;
        Ok(v.as_array()
            .map(|a| a.iter().map(Cookie::from_json).collect())
            .unwrap_or_default())
    }
    /// One cookie by name, if the current page sees it.
    pub fn cookie(&self, name: &str) -> Result<Option<Cookie>> {
        Ok(self.cookies()?.into_iter().find(|c| c.name == name))
    }
    pub fn delete_cookies(&self) -> Result<()> {
        self.cmd("DELETE", "cookie", None)
            .map(drop)
            .map_err(|e| self.fail("delete_cookies", "", None, &e))
    }
    /// Save a PNG of the viewport as `<artifacts>/<name>.png`; returns the path.
    pub fn screenshot(&self, name: &str) -> Result<PathBuf> {
        self.screenshot_timeout(name, COMMAND_TIMEOUT)
    }
    fn screenshot_timeout(&self, name: &str, timeout: Duration) -> Result<PathBuf> {
        let v = self
            .cmd_timeout("GET", "screenshot", None, timeout)
            .map_err(|e| self.fail("screenshot", name, None, &e))?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .map_err(|e| Error::new(format!("browser: screenshot {name}: bad base64: {e}")))?;
        let name = sanitize(name.strip_suffix(".png").unwrap_or(name));
        self.write_artifact(&format!("{name}.png"), &png)
    }
    /// Write `bytes` to `<artifacts>/<file>` (creating the dir); returns the path.
    pub fn write_artifact(&self, file: &str, bytes: &[u8]) -> Result<PathBuf> {
        fs::create_dir_all(&self.artifacts)
            .map_err(|e| Error::new(format!("browser: mkdir {}: {e}", self.artifacts.display())))?;
        let path = self.artifacts.join(file);
        fs::write(&path, bytes)
            .map_err(|e| Error::new(format!("browser: write {}: {e}", path.display())))?;
        Ok(path)
    }

    // -- cleanup ------------------------------------------------------------

    /// Save last.png, last.html and chromedriver.log for a failed test.
    fn save_failure_artifacts(&self) {
        if self.session.is_none() {
            return;
        }
        match self.screenshot_timeout("last", CLEANUP_TIMEOUT) {
            Ok(p) => eprintln!("browser: screenshot at failure: {}", p.display()),
            Err(e) => eprintln!("browser: no screenshot at failure: {e}"),
        }
        if let Ok(v) = self.cmd_timeout("GET", "source", None, CLEANUP_TIMEOUT) {
            if let Ok(p) =
                self.write_artifact("last.html", v.as_str().unwrap_or_default().as_bytes())
            {
                eprintln!("browser: page source at failure: {}", p.display());
            }
        }
        if let Ok(v) = self.cmd_timeout("GET", "url", None, CLEANUP_TIMEOUT) {
            eprintln!("browser: url at failure: {}", v.as_str().unwrap_or("?"));
        }
    }

    /// Pids of live processes whose command line mentions our profile dir.
    fn stray_pids(&self) -> Vec<libc::pid_t> {
        let needle = self.profile.to_string_lossy().into_owned();
        let mut pids = Vec::new();
        let Ok(rd) = fs::read_dir("/proc") else {
            return pids;
        };
        for ent in rd.flatten() {
            let Some(pid) = ent
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<libc::pid_t>().ok())
            else {
                continue;
            };
            if let Ok(cmdline) = fs::read(ent.path().join("cmdline")) {
                if String::from_utf8_lossy(&cmdline).contains(&needle) {
                    pids.push(pid);
                }
            }
        }
        pids
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let panicking = std::thread::panicking();
        if panicking {
            self.save_failure_artifacts();
        }
        if self.session.is_some() {
            // Chromium quits with its session.
            let _ = self.cmd_timeout("DELETE", "", None, CLEANUP_TIMEOUT);
            self.session = None;
        }
        if let Some(mut d) = self.driver.take() {
            d.kill(); // process group: chromedriver and Chromium
            drop(d); // prints its log tails when panicking
        }
        // Safety net: anything still running with our profile.
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let pids = self.stray_pids();
            if pids.is_empty() || Instant::now() >= deadline {
                break;
            }
            for p in pids {
                // SAFETY: plain kill(2) on processes that use our profile dir.
                unsafe { libc::kill(p, libc::SIGKILL) };
            }
            std::thread::sleep(POLL);
        }
        if let Some(tmp) = self.tmp.take() {
            if panicking {
                let log = tmp.join("chromedriver.log");
                if log.exists() && fs::create_dir_all(&self.artifacts).is_ok() {
                    let dst = self.artifacts.join("chromedriver.log");
                    if fs::copy(&log, &dst).is_ok() {
                        eprintln!("browser: chromedriver log: {}", dst.display());
                    }
                }
            }
            // A just-killed Chromium may still be flushing into the profile.
            for _ in 0..20 {
                if fs::remove_dir_all(&tmp).is_ok() || !tmp.exists() {
                    break;
                }
                std::thread::sleep(POLL);
            }
        }
    }
}
