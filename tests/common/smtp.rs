//! A real SMTP receiver for tests: Python's aiosmtpd (Debian
//! `python3-aiosmtpd`) on loopback, storing each message in a Maildir.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::ports;
use super::proc::{ChildGuard, SpawnOpts};

/// Debian's interpreter: the one `apt-get install python3-aiosmtpd` serves
/// (a pyenv `python3` earlier on PATH would not have the module).
pub const PYTHON: &str = "/usr/bin/python3";

pub struct Receiver {
    _child: ChildGuard,
    pub port: u16,
    pub maildir: PathBuf,
}

pub fn start_receiver(dir: &Path) -> Receiver {
    let maildir = dir.join("maildir");
    let port = ports::alloc();
    let mut cmd = Command::new(PYTHON);
    cmd.args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"]).arg(&maildir);
    let mut child = ChildGuard::spawn("aiosmtpd", cmd, &dir.join("logs"), SpawnOpts::default()).expect("spawn aiosmtpd");
    let deadline = Instant::now() + Duration::from_secs(15);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(child.try_wait().is_none(), "aiosmtpd exited early (is python3-aiosmtpd installed?)\n{}", child.diagnostics());
        assert!(Instant::now() < deadline, "aiosmtpd did not listen on {port}\n{}", child.diagnostics());
        std::thread::sleep(Duration::from_millis(50));
    }
    Receiver { _child: child, port, maildir }
}

/// Waits for the one message file in `maildir/new`.
pub fn wait_message(maildir: &Path) -> PathBuf {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let files: Vec<PathBuf> = std::fs::read_dir(maildir.join("new"))
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        if let Some(f) = files.into_iter().next() {
            return f;
        }
        assert!(Instant::now() < deadline, "no message arrived in {}", maildir.display());
        std::thread::sleep(Duration::from_millis(50));
    }
}
