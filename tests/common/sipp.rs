//! SIPp 3.6.1 (Debian `sip-tester`) runs with bounded time and parsed stats.
//!
//! Every run gets its own temp working directory in which the files of
//! `/usr/share/sip-tester` (g711a.pcap, dtmf_2833_*.pcap) are symlinked,
//! because `play_pcap_audio` paths are resolved relative to the working
//! directory. Each run also gets its own signalling, media (`-mp`) and
//! control (`-cp`) ports: SIPp binds mp and mp+2 (audio/video RTP) and a UDP
//! control socket (default 8888) even when the scenario has no media.
//!
//! Exit codes (SIPp docs): 0 all calls succeeded, 1 at least one call
//! failed, 97 exit on internal command, 99 normal exit without any call
//! processed, 255 fatal error, 254 fatal error binding a socket.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::ports::{self, SippPorts};
use super::proc::{tail, ChildGuard, Pattern, SpawnOpts, TestDir};
use super::{Error, Result};

const PCAP_DIR: &str = "/usr/share/sip-tester";

#[derive(Debug, Clone)]
enum Scenario {
    Builtin(String),
    File(PathBuf),
}

/// A SIPp invocation; configure with the builder methods, then
/// [`Sipp::run`] (blocking) or [`Sipp::spawn`] (background, e.g. a UAS).
#[derive(Debug, Clone)]
pub struct Sipp {
    name: String,
    scenario: Scenario,
    remote: Option<String>,
    calls: Option<u32>,
    rate: Option<f64>,
    limit: Option<u32>,
    auth: Option<(String, String)>,
    service: Option<String>,
    keys: Vec<(String, String)>,
    timeout: Duration,
    ports: Option<SippPorts>,
    transport: Option<String>,
    extra: Vec<String>,
    trace_msg: bool,
}

impl Sipp {
    /// A built-in scenario (`-sn uac`, `-sn uas`, `-sn regexp` ...).
    pub fn builtin(name: &str) -> Self {
        Self::new(name, Scenario::Builtin(name.to_owned()))
    }
    /// A scenario file (`-sf`): an existing path, or a file name looked up in
    /// the project's `tests/sipp/` (see [`super::sipp_scenario`]).
    pub fn scenario(file: impl AsRef<Path>) -> Self {
        let f = file.as_ref();
        let path = if f.exists() {
            f.to_path_buf()
        } else {
            super::sipp_scenario(&f.to_string_lossy())
        };
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "sipp".into());
        Self::new(&name, Scenario::File(path))
    }

    fn new(name: &str, scenario: Scenario) -> Self {
        Sipp {
            name: name.to_owned(),
            scenario,
            remote: None,
            calls: None,
            rate: None,
            limit: None,
            auth: None,
            service: None,
            keys: Vec::new(),
            timeout: Duration::from_secs(20),
            ports: None,
            transport: None,
            extra: Vec::new(),
            trace_msg: true,
        }
    }

    /// Remote `host:port` (the positional argument).
    pub fn remote(mut self, addr: &str) -> Self {
        self.remote = Some(addr.to_owned());
        self
    }
    /// `-m`: stop after this many calls.
    pub fn calls(mut self, m: u32) -> Self {
        self.calls = Some(m);
        self
    }
    /// `-r`: calls per second.
    pub fn rate(mut self, r: f64) -> Self {
        self.rate = Some(r);
        self
    }
    /// `-l`: max simultaneous calls.
    pub fn limit(mut self, l: u32) -> Self {
        self.limit = Some(l);
        self
    }
    /// `-au`/`-ap`: digest credentials used by `[authentication]`.
    pub fn auth(mut self, user: &str, pass: &str) -> Self {
        self.auth = Some((user.to_owned(), pass.to_owned()));
        self
    }
    /// `-s`: the `[service]` (request-URI user part), default "service".
    pub fn service(mut self, s: &str) -> Self {
        self.service = Some(s.to_owned());
        self
    }
    /// `-key name value`: sets `[name]` in the scenario.
    pub fn key(mut self, name: &str, value: &str) -> Self {
        self.keys.push((name.to_owned(), value.to_owned()));
        self
    }
    /// `-timeout`: SIPp stops itself after this (default 20 s); the harness
    /// waits this plus 5 s before killing it.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }
    /// `-d`: duration of `<pause/>` without `milliseconds` (call length in
    /// `uac_auth_invite.xml`).
    pub fn pause(mut self, d: Duration) -> Self {
        self.extra.push("-d".into());
        self.extra.push(d.as_millis().to_string());
        self
    }
    /// Fixed ports; otherwise [`ports::alloc_sipp`] picks them.
    pub fn ports(mut self, p: SippPorts) -> Self {
        self.ports = Some(p);
        self
    }
    /// `-t`: transport mode (u1, un, t1, tn, l1 ...); default UDP mono-socket.
    pub fn transport(mut self, t: &str) -> Self {
        self.transport = Some(t.to_owned());
        self
    }
    /// Any other raw argument(s).
    pub fn arg(mut self, a: &str) -> Self {
        self.extra.push(a.to_owned());
        self
    }
    /// Disable `-trace_msg` (on by default; the message log is handy but
    /// large for high-rate runs).
    pub fn no_trace_msg(mut self) -> Self {
        self.trace_msg = false;
        self
    }

    fn command(&self, dir: &Path, ports: SippPorts) -> Command {
        let mut c = Command::new("sipp");
        match &self.scenario {
            Scenario::Builtin(n) => c.args(["-sn", n]),
            Scenario::File(p) => c.arg("-sf").arg(p),
        };
        if let Some(r) = &self.remote {
            c.arg(r);
        }
        c.args(["-i", "127.0.0.1"]);
        c.args(["-p", &ports.sip.to_string()]);
        c.args(["-mp", &ports.media.to_string()]);
        c.args(["-cp", &ports.control.to_string()]);
        c.arg("-nostdin");
        c.args(["-timeout", &format!("{}s", self.timeout.as_secs().max(1))]);
        c.arg("-timeout_error");
        if let Some(m) = self.calls {
            c.args(["-m", &m.to_string()]);
        }
        if let Some(r) = self.rate {
            c.args(["-r", &r.to_string()]);
        }
        if let Some(l) = self.limit {
            c.args(["-l", &l.to_string()]);
        }
        if let Some((u, p)) = &self.auth {
            c.args(["-au", u, "-ap", p]);
        }
        if let Some(s) = &self.service {
            c.args(["-s", s]);
        }
        if let Some(t) = &self.transport {
            c.args(["-t", t]);
        }
        for (k, v) in &self.keys {
            c.args(["-key", k, v]);
        }
        c.args(["-trace_stat", "-fd", "1"])
            .arg("-stf")
            .arg(dir.join("stat.csv"));
        c.arg("-trace_err")
            .arg("-error_file")
            .arg(dir.join("errors.log"));
        if self.trace_msg {
            c.arg("-trace_msg")
                .arg("-message_file")
                .arg(dir.join("messages.log"));
        }
        c.args(&self.extra);
        c.current_dir(dir);
        c
    }

    /// Start in the background; the returned process is killed on drop.
    pub fn spawn(self) -> Result<SippProcess> {
        let dir = TestDir::new(&format!("sipp-{}", self.name))?;
        link_pcaps(dir.path())?;
        let ports = self.ports.unwrap_or_else(ports::alloc_sipp);
        let cmd = self.command(dir.path(), ports);
        let cmdline = format!("{cmd:?}");
        let child = ChildGuard::spawn("sipp", cmd, dir.path(), SpawnOpts::default())?;
        Ok(SippProcess {
            child: Some(child),
            ports,
            timeout: self.timeout,
            cmdline,
            dir: Some(dir),
        })
    }

    /// Run to completion (bounded by the SIPp timeout + 5 s).
    pub fn run(self) -> Result<SippRun> {
        let t = self.timeout + Duration::from_secs(5);
        self.spawn()?.wait(t)
    }
}

/// A SIPp running in the background.
pub struct SippProcess {
    child: Option<ChildGuard>,
    ports: SippPorts,
    timeout: Duration,
    cmdline: String,
    dir: Option<TestDir>,
}

impl SippProcess {
    pub fn ports(&self) -> SippPorts {
        self.ports
    }
    /// `127.0.0.1:PORT` of its SIP socket, to pass as another peer's remote.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.ports.sip)
    }
    pub fn dir(&self) -> &Path {
        self.dir.as_ref().unwrap().path()
    }
    /// Call-IDs of the `method` requests received so far, in arrival order,
    /// a retransmission counted once (e.g. which calls an agent's UAS got).
    /// Reads the `-trace_msg` log, which SIPp writes message by message.
    pub fn received_requests(&self, method: &str) -> Vec<String> {
        let log = fs::read_to_string(self.dir().join("messages.log")).unwrap_or_default();
        received_requests(&log, method)
    }
    /// Wait for a line in SIPp's stdout/stderr.
    pub fn wait_for_line(&mut self, pat: impl Into<Pattern>, timeout: Duration) -> Result<String> {
        self.child.as_mut().unwrap().wait_for_line(pat, timeout)
    }
    /// Give SIPp a moment to bind (it prints its screen only later): waits
    /// until the signalling port is no longer free, at most `timeout`.
    pub fn wait_bound(&mut self, timeout: Duration) -> Result<()> {
        let deadline = std::time::Instant::now() + timeout;
        while ports::is_free(self.ports.sip) {
            if let Some(st) = self.child.as_mut().unwrap().try_wait() {
                return Err(Error::new(format!(
                    "sipp exited at startup ({st})\n{}",
                    self.diagnostics()
                )));
            }
            if std::time::Instant::now() >= deadline {
                return Err(Error::new(format!(
                    "sipp did not bind 127.0.0.1:{} within {timeout:?}",
                    self.ports.sip
                )));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }
    pub fn diagnostics(&self) -> String {
        let dir = self.dir();
        format!(
            "{}\n{}\n--- errors.log ---\n{}",
            self.cmdline,
            self.child
                .as_ref()
                .map(|c| c.diagnostics())
                .unwrap_or_default(),
            tail(&dir.join("errors.log"), 20)
        )
    }

    /// Wait up to `timeout` for SIPp to exit, kill it otherwise, and collect
    /// exit code and stats. A kill is reported as `exit_code: None`, not an error.
    pub fn wait(mut self, timeout: Duration) -> Result<SippRun> {
        let mut child = self.child.take().unwrap();
        let status = child.wait_timeout(timeout).or_else(|| child.kill());
        let exit_code = status.and_then(|s| s.code());
        let killed = status.is_none_or(|s| s.code().is_none());
        let dir = self.dir.take().unwrap();
        let stats = SippStats::from_csv(&dir.path().join("stat.csv"));
        let diag = format!(
            "{}\n{}\n--- errors.log ---\n{}",
            self.cmdline,
            child.diagnostics(),
            tail(&dir.path().join("errors.log"), 20)
        );
        drop(child);
        Ok(SippRun {
            exit_code,
            killed,
            stats,
            diagnostics: diag,
            dir,
        })
    }
}

/// Outcome of a finished SIPp run. Keeps its working directory alive.
pub struct SippRun {
    /// Process exit code (`None` if killed by a signal).
    pub exit_code: Option<i32>,
    /// True if the harness had to kill it.
    pub killed: bool,
    /// Last line of the `-trace_stat` CSV (`None` if SIPp never wrote one).
    pub stats: Option<SippStats>,
    diagnostics: String,
    dir: TestDir,
}

impl SippRun {
    pub fn successful(&self) -> u64 {
        self.stats.as_ref().map_or(0, |s| s.successful)
    }
    pub fn failed(&self) -> u64 {
        self.stats.as_ref().map_or(0, |s| s.failed)
    }
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
    /// The `-trace_msg` log (every message sent/received).
    pub fn messages(&self) -> String {
        fs::read_to_string(self.dir.path().join("messages.log")).unwrap_or_default()
    }
    /// The `-trace_err` log.
    pub fn errors(&self) -> String {
        fs::read_to_string(self.dir.path().join("errors.log")).unwrap_or_default()
    }
    /// Command line, output tails, error log tail.
    pub fn diagnostics(&self) -> &str {
        &self.diagnostics
    }
    /// Exit code 0 and exactly `calls` successful, 0 failed; otherwise an
    /// error with diagnostics.
    pub fn expect_success(&self, calls: u64) -> Result<()> {
        if self.exit_code == Some(0) && self.successful() == calls && self.failed() == 0 {
            Ok(())
        } else {
            Err(Error::new(format!(
                "sipp: exit {:?} (killed: {}), successful {} (want {calls}), failed {}\n{}",
                self.exit_code,
                self.killed,
                self.successful(),
                self.failed(),
                self.diagnostics
            )))
        }
    }
}

/// Call-IDs of the `method` requests among the received messages of a
/// `-trace_msg` log, first arrival order, duplicates (retransmissions) once.
pub fn received_requests(log: &str, method: &str) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    // Each entry: a "-----… date time" line, "UDP message received [N] bytes :",
    // an empty line, then the message.
    for entry in log.split("\n-----------------------------------------------") {
        let mut lines = entry
            .lines()
            .skip_while(|l| !l.contains("message received"))
            .skip(1)
            .skip_while(|l| l.trim().is_empty());
        let Some(start) = lines.next() else { continue };
        if start.split_whitespace().next() != Some(method) || !start.ends_with("SIP/2.0") {
            continue;
        }
        let call_id = lines
            .take_while(|l| !l.trim().is_empty())
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                let name = name.trim();
                (name.eq_ignore_ascii_case("Call-ID") || name == "i")
                    .then(|| value.trim().to_owned())
            })
            .unwrap_or_default();
        // An entry still being written has no Call-ID yet: the next read sees it.
        if !call_id.is_empty() && !ids.contains(&call_id) {
            ids.push(call_id);
        }
    }
    ids
}

/// Counters from the last line of a `-trace_stat` CSV.
#[derive(Debug, Clone)]
pub struct SippStats {
    /// `SuccessfulCall(C)`
    pub successful: u64,
    /// `FailedCall(C)`
    pub failed: u64,
    /// `TotalCallCreated`
    pub created: u64,
    /// `Retransmissions(C)`
    pub retransmissions: u64,
    /// Every column of the last line, by header name.
    pub all: BTreeMap<String, String>,
}

impl SippStats {
    /// Parse a SIPp stat file (`;`-separated, header in the first line).
    pub fn from_csv(path: &Path) -> Option<SippStats> {
        let text = fs::read_to_string(path).ok()?;
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let header: Vec<&str> = lines.next()?.split(';').collect();
        let last: Vec<&str> = lines.next_back()?.split(';').collect();
        let all: BTreeMap<String, String> = header
            .iter()
            .zip(last.iter())
            .map(|(h, v)| ((*h).to_owned(), (*v).to_owned()))
            .collect();
        let num = |k: &str| all.get(k).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
        Some(SippStats {
            successful: num("SuccessfulCall(C)"),
            failed: num("FailedCall(C)"),
            created: num("TotalCallCreated"),
            retransmissions: num("Retransmissions(C)"),
            all,
        })
    }
    /// A cumulative counter by column name, e.g. `FailedUnexpectedMessage(C)`.
    pub fn get(&self, column: &str) -> u64 {
        self.all
            .get(column)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }
}

/// Symlink every file of /usr/share/sip-tester into `dir`.
pub fn link_pcaps(dir: &Path) -> Result<()> {
    let rd = fs::read_dir(PCAP_DIR)
        .map_err(|e| Error::new(format!("read {PCAP_DIR}: {e} (is sip-tester installed?)")))?;
    for e in rd.flatten() {
        let target = dir.join(e.file_name());
        if !target.exists() {
            std::os::unix::fs::symlink(e.path(), &target)
                .map_err(|err| Error::new(format!("symlink {}: {err}", target.display())))?;
        }
    }
    Ok(())
}

/// Check that SIPp loads a scenario file: runs it briefly against a port
/// nobody listens on (1 call, 2 s) and fails unless SIPp got as far as
/// drawing its scenario screen without printing a scenario error. SIPp's
/// exit code does not tell: an XML error exits 1, like a failed call, and a
/// `-timeout_error` timeout exits 255. Pass `-key` values the scenario needs.
pub fn check_scenario(file: impl AsRef<Path>, keys: &[(&str, &str)]) -> Result<()> {
    let dead = ports::alloc();
    let mut s = Sipp::scenario(file)
        .remote(&format!("127.0.0.1:{dead}"))
        .calls(1)
        .timeout(Duration::from_secs(2));
    s = s.auth("checker", "checker");
    for (k, v) in keys {
        s = s.key(k, v);
    }
    let path = match &s.scenario {
        Scenario::File(p) => p.clone(),
        Scenario::Builtin(_) => unreachable!(),
    };
    let text = fs::read_to_string(&path)
        .map_err(|e| Error::new(format!("read {}: {e}", path.display())))?;
    xml_balanced(&text).map_err(|e| Error::new(format!("{}: {e}", path.display())))?;
    let run = s.run()?;
    let stdout = fs::read_to_string(run.dir().join("sipp.out")).unwrap_or_default();
    let stderr = fs::read_to_string(run.dir().join("sipp.err")).unwrap_or_default();
    let bad = regex::Regex::new(
        r"(?i)xml scenario file|unknown element|unknown attribute|unable to load|unknown keyword|invalid|syntax|unterminated|not closed|missing|unsupported",
    )
    .unwrap();
    let loaded = stdout.contains("Scenario Screen");
    let complaints: Vec<&str> = stderr
        .lines()
        .chain(stdout.lines())
        .filter(|l| bad.is_match(l))
        .take(10)
        .collect();
    if !loaded || !complaints.is_empty() {
        return Err(Error::new(format!(
            "scenario check failed (loaded: {loaded}, exit {:?}):\n{}\n{}",
            run.exit_code,
            complaints.join("\n"),
            run.diagnostics()
        )));
    }
    Ok(())
}

/// Minimal well-formedness check SIPp itself skips (it happily runs a file
/// whose root element is never closed): every element is closed in order;
/// comments, CDATA, `<?...?>` and `<!...>` are skipped. Not a full XML parser.
pub fn xml_balanced(text: &str) -> std::result::Result<(), String> {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = text;
    let line_of = |r: &str| text[..text.len() - r.len()].lines().count().max(1);
    while let Some(i) = rest.find('<') {
        rest = &rest[i..];
        let skip_to = |r: &str, open: &str, close: &str| -> std::result::Result<usize, String> {
            r.find(close)
                .map(|j| j + close.len())
                .ok_or_else(|| format!("line {}: unterminated {open}", line_of(r)))
        };
        if rest.starts_with("<!--") {
            rest = &rest[skip_to(rest, "<!--", "-->")?..];
        } else if rest.starts_with("<![CDATA[") {
            rest = &rest[skip_to(rest, "<![CDATA[", "]]>")?..];
        } else if rest.starts_with("<?") {
            rest = &rest[skip_to(rest, "<?", "?>")?..];
        } else if rest.starts_with("<!") {
            rest = &rest[skip_to(rest, "<!", ">")?..];
        } else {
            let end = rest
                .find('>')
                .ok_or_else(|| format!("line {}: unterminated tag", line_of(rest)))?;
            let tag = &rest[1..end];
            if let Some(name) = tag.strip_prefix('/') {
                let name = name.trim();
                match stack.pop() {
                    Some(open) if open == name => {}
                    Some(open) => {
                        return Err(format!("line {}: </{name}> closes <{open}>", line_of(rest)))
                    }
                    None => {
                        return Err(format!(
                            "line {}: </{name}> without opening tag",
                            line_of(rest)
                        ))
                    }
                }
            } else if !tag.ends_with('/') {
                let name: String = tag.chars().take_while(|c| !c.is_whitespace()).collect();
                stack.push(name);
            }
            rest = &rest[end + 1..];
        }
    }
    match stack.pop() {
        Some(open) => Err(format!("<{open}> never closed")),
        None => Ok(()),
    }
}
