//! Child processes that cannot outlive the test.
//!
//! [`ChildGuard::spawn`] starts a command in its own process group with
//! stdout/stderr redirected to files in a directory, and (by default) asks
//! the kernel to SIGKILL it if the spawning *thread* dies (PR_SET_PDEATHSIG),
//! which covers a test binary killed by a signal. On Drop the whole process
//! group gets SIGTERM, then SIGKILL after a short grace period, and is reaped.
//! If the current thread is panicking, Drop prints the log tails to stderr so
//! the failure explains itself.
//!
//! Nothing here blocks without a deadline.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::{Error, Result};

/// A substring or a regular expression to look for in a log line.
pub enum Pattern {
    Substring(String),
    Regex(regex::Regex),
}

impl Pattern {
    pub fn is_match(&self, line: &str) -> bool {
        match self {
            Pattern::Substring(s) => line.contains(s.as_str()),
            Pattern::Regex(r) => r.is_match(line),
        }
    }
}

impl std::fmt::Display for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pattern::Substring(s) => write!(f, "{s:?}"),
            Pattern::Regex(r) => write!(f, "/{}/", r.as_str()),
        }
    }
}

impl From<&str> for Pattern {
    fn from(s: &str) -> Self {
        Pattern::Substring(s.to_owned())
    }
}
impl From<String> for Pattern {
    fn from(s: String) -> Self {
        Pattern::Substring(s)
    }
}
impl From<regex::Regex> for Pattern {
    fn from(r: regex::Regex) -> Self {
        Pattern::Regex(r)
    }
}
impl From<&regex::Regex> for Pattern {
    fn from(r: &regex::Regex) -> Self {
        Pattern::Regex(r.clone())
    }
}

/// Wait until a line of `path` matches `pat`; returns that line. Scans from
/// the beginning of the file (the file may not exist yet). Polls every 20 ms.
pub fn wait_for_line(path: &Path, pat: impl Into<Pattern>, timeout: Duration) -> Result<String> {
    LogCursor::new(path).wait_for(pat, timeout)
}

/// Reads a growing log file line by line, remembering how far it got, so
/// successive waits find successive occurrences.
pub struct LogCursor {
    path: PathBuf,
    pos: u64,
    partial: String,
}

impl LogCursor {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        LogCursor {
            path: path.into(),
            pos: 0,
            partial: String::new(),
        }
    }

    /// Complete lines appended since the last call.
    fn new_lines(&mut self) -> Vec<String> {
        let Ok(mut f) = File::open(&self.path) else {
            return Vec::new();
        };
        if f.seek(SeekFrom::Start(self.pos)).is_err() {
            return Vec::new();
        }
        let mut buf = Vec::new();
        if f.read_to_end(&mut buf).is_err() {
            return Vec::new();
        }
        self.pos += buf.len() as u64;
        self.partial.push_str(&String::from_utf8_lossy(&buf));
        let mut lines = Vec::new();
        while let Some(i) = self.partial.find(['\n', '\r']) {
            let line: String = self.partial.drain(..=i).collect();
            let line = line.trim_end_matches(['\n', '\r']);
            if !line.is_empty() {
                lines.push(line.to_owned());
            }
        }
        lines
    }

    /// Consume lines appended so far; return the first one matching `pat`.
    pub fn poll(&mut self, pat: &Pattern) -> Option<String> {
        // Lines after a match stay unread: put them back in front of `partial`.
        let lines = self.new_lines();
        for (i, line) in lines.iter().enumerate() {
            if pat.is_match(line) {
                let rest: Vec<&str> = lines[i + 1..].iter().map(|s| s.as_str()).collect();
                if !rest.is_empty() {
                    let mut back = rest.join("\n");
                    back.push('\n');
                    back.push_str(&self.partial);
                    self.partial = back;
                }
                return Some(line.clone());
            }
        }
        None
    }

    /// Wait for the next line matching `pat`, consuming lines up to it.
    /// A trailing line without newline is also checked once the deadline
    /// passes, so a final unterminated line is not missed.
    pub fn wait_for(&mut self, pat: impl Into<Pattern>, timeout: Duration) -> Result<String> {
        let pat = pat.into();
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(l) = self.poll(&pat) {
                return Ok(l);
            }
            if Instant::now() >= deadline {
                if pat.is_match(&self.partial) {
                    return Ok(std::mem::take(&mut self.partial));
                }
                return Err(Error::new(format!(
                    "timeout after {timeout:?} waiting for {pat} in {}\n--- tail ---\n{}",
                    self.path.display(),
                    tail(&self.path, 30)
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Last `n` lines of a file (empty string if unreadable).
pub fn tail(path: &Path, n: usize) -> String {
    let s = fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Options for [`ChildGuard::spawn`].
#[derive(Debug, Clone)]
pub struct SpawnOpts {
    /// SIGKILL the child if the spawning thread exits (PR_SET_PDEATHSIG).
    /// Turn off when a long-lived fixture is spawned from a short-lived thread.
    pub die_with_parent: bool,
    /// Grace period between SIGTERM and SIGKILL on drop.
    pub term_grace: Duration,
}

impl Default for SpawnOpts {
    fn default() -> Self {
        SpawnOpts {
            die_with_parent: true,
            term_grace: Duration::from_millis(500),
        }
    }
}

/// A running child process, killed with its process group on Drop.
pub struct ChildGuard {
    name: String,
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
    status: Option<ExitStatus>,
    grace: Duration,
}

impl ChildGuard {
    /// Spawn `cmd` with stdin from /dev/null, stdout to `<log_dir>/<name>.out`
    /// and stderr to `<log_dir>/<name>.err`, in a new process group.
    pub fn spawn(name: &str, mut cmd: Command, log_dir: &Path, opts: SpawnOpts) -> Result<Self> {
        fs::create_dir_all(log_dir)
            .map_err(|e| Error::new(format!("mkdir {}: {e}", log_dir.display())))?;
        let stdout = log_dir.join(format!("{name}.out"));
        let stderr = log_dir.join(format!("{name}.err"));
        let out = File::create(&stdout)
            .map_err(|e| Error::new(format!("create {}: {e}", stdout.display())))?;
        let err = File::create(&stderr)
            .map_err(|e| Error::new(format!("create {}: {e}", stderr.display())))?;
        cmd.stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        if opts.die_with_parent {
            // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
            unsafe {
                cmd.pre_exec(|| {
                    if libc::prctl(
                        libc::PR_SET_PDEATHSIG,
                        libc::SIGKILL as libc::c_ulong,
                        0,
                        0,
                        0,
                    ) != 0
                    {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let child = cmd
            .spawn()
            .map_err(|e| Error::new(format!("spawn {name} ({cmd:?}): {e}")))?;
        Ok(ChildGuard {
            name: name.to_owned(),
            child,
            stdout,
            stderr,
            status: None,
            grace: opts.term_grace,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
    pub fn stdout_path(&self) -> &Path {
        &self.stdout
    }
    pub fn stderr_path(&self) -> &Path {
        &self.stderr
    }

    /// Wait for a line in the child's stdout or stderr matching `pat`.
    /// Fails early if the process exits without printing it.
    pub fn wait_for_line(&mut self, pat: impl Into<Pattern>, timeout: Duration) -> Result<String> {
        let pat = pat.into();
        let deadline = Instant::now() + timeout;
        let mut out = LogCursor::new(&self.stdout);
        let mut err = LogCursor::new(&self.stderr);
        loop {
            for c in [&mut out, &mut err] {
                if let Some(l) = c.poll(&pat) {
                    return Ok(l);
                }
            }
            if let Some(st) = self.try_wait() {
                // One last look: output written just before exit.
                for c in [&mut out, &mut err] {
                    if let Some(l) = c.poll(&pat) {
                        return Ok(l);
                    }
                }
                return Err(Error::new(format!(
                    "{} exited ({st}) before printing {pat}\n{}",
                    self.name,
                    self.diagnostics()
                )));
            }
            if Instant::now() >= deadline {
                return Err(Error::new(format!(
                    "timeout after {timeout:?} waiting for {pat} from {}\n{}",
                    self.name,
                    self.diagnostics()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Non-blocking exit check.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Wait up to `timeout` for the process to exit by itself.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(st) = self.try_wait() {
                return Some(st);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Wait for exit; if still running after `timeout`, kill it and fail.
    pub fn wait_or_kill(&mut self, timeout: Duration) -> Result<ExitStatus> {
        match self.wait_timeout(timeout) {
            Some(st) => Ok(st),
            None => {
                self.kill();
                Err(Error::new(format!(
                    "{} still running after {timeout:?}; killed\n{}",
                    self.name,
                    self.diagnostics()
                )))
            }
        }
    }

    /// SIGTERM the process group, SIGKILL after the grace period, reap.
    /// Idempotent. Returns the exit status when known.
    pub fn kill(&mut self) -> Option<ExitStatus> {
        let pgid = self.child.id() as libc::pid_t;
        if self.try_wait().is_none() {
            // SAFETY: plain syscalls on a process group we created.
            unsafe { libc::kill(-pgid, libc::SIGTERM) };
            if self.wait_timeout(self.grace).is_none() {
                unsafe { libc::kill(-pgid, libc::SIGKILL) };
                let _ = self.child.kill();
                self.status = self.child.wait().ok();
            }
        }
        // Grandchildren left in the group (if any) go too.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        self.status
    }

    /// Tails of stdout and stderr, for error messages.
    pub fn diagnostics(&self) -> String {
        format!(
            "--- {} stdout ({}) ---\n{}\n--- {} stderr ({}) ---\n{}",
            self.name,
            self.stdout.display(),
            tail(&self.stdout, 40),
            self.name,
            self.stderr.display(),
            tail(&self.stderr, 20)
        )
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("{}", self.diagnostics());
        }
    }
}

/// A temporary directory that is kept (and its path printed) when the
/// current thread is panicking, so logs/recordings survive a failed test.
pub struct TestDir {
    dir: Option<tempfile::TempDir>,
}

impl TestDir {
    pub fn new(prefix: &str) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("sb-{prefix}-"))
            .tempdir()
            .map_err(|e| Error::new(format!("tempdir: {e}")))?;
        Ok(TestDir { dir: Some(dir) })
    }
    pub fn path(&self) -> &Path {
        self.dir.as_ref().expect("TestDir alive").path()
    }
    /// Keep the directory after drop regardless of outcome.
    pub fn keep(mut self) -> PathBuf {
        self.dir.take().expect("TestDir alive").keep()
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let keep = std::thread::panicking() || std::env::var_os("SB_KEEP_TEST_DIRS").is_some();
        match self.dir.take() {
            Some(d) if keep => eprintln!("test dir kept: {}", d.keep().display()),
            _ => {} // TempDir's own Drop removes it.
        }
    }
}
