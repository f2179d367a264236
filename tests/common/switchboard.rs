//! The appliance under test: runs the real `switchboard` binary (built by
//! cargo for integration tests) on 127.0.0.1 with its own data directory,
//! free SIP/HTTP ports and a private RTP range, and drives its admin CLI.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use super::ports;
use super::proc::{ChildGuard, SpawnOpts, TestDir};
use super::{Error, Result};

/// MD5 challenged first, SHA-256 second. SIPp 3.6.1 copes (it takes the
/// first challenge); baresip 1.0.0 does not (any SHA-256 challenge breaks
/// it), so baresip tests use the default, MD5 only.
pub const MD5_FIRST: &str = "[sip]\ndigest_algorithms = [\"MD5\", \"SHA-256\"]\n";
/// SHA-256 challenged first (RFC 8760 order).
pub const SHA256_FIRST: &str = "[sip]\ndigest_algorithms = [\"SHA-256\", \"MD5\"]\n";

pub struct Switchboard {
    dir: TestDir,
    child: Option<ChildGuard>,
    pub sip_port: u16,
    pub http_port: u16,
    /// SIP over TLS (`--sip-tls`) and the HTTPS console (`--https`), on 127.0.0.1.
    pub sip_tls_port: u16,
    pub https_port: u16,
    pub rtp: (u16, u16),
    config: PathBuf,
    /// An all-scopes API key made on first use (`key()`).
    key: std::sync::OnceLock<String>,
    /// Extra environment of the appliance process (`set_env`).
    env: Vec<(String, String)>,
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_switchboard"))
}

impl Switchboard {
    /// Prepares a data directory and config (TOML text), without starting.
    /// Without a `[dialplan]` section the appliance gets an empty dialplan
    /// folder of its own (see `dialplan_dir`), not the repository's demo.
    pub fn new(config_toml: &str) -> Result<Switchboard> {
        let dir = TestDir::new("sb")?;
        let config = dir.path().join("switchboard.toml");
        let mut text = config_toml.to_string();
        if !text.contains("[dialplan]") {
            let plans = dir.path().join("dialplans");
            std::fs::create_dir_all(&plans).map_err(|e| Error::new(format!("dialplan dir: {e}")))?;
            text.push_str(&format!("\n[dialplan]\ndir = \"{}\"\n", plans.display()));
        }
        std::fs::write(&config, text).map_err(|e| Error::new(format!("write config: {e}")))?;
        let sip_port = ports::alloc();
        let http_port = ports::alloc();
        let (sip_tls_port, https_port) = (ports::alloc(), ports::alloc());
        let block = ports::alloc_block(64);
        let lo = if block.is_multiple_of(2) { block } else { block + 1 };
        Ok(Switchboard { dir, child: None, sip_port, http_port, sip_tls_port, https_port, rtp: (lo, lo + 61), config, key: std::sync::OnceLock::new(), env: Vec::new() })
    }

    /// `new` + `start`.
    pub fn start_with(config_toml: &str) -> Result<Switchboard> {
        let mut sb = Switchboard::new(config_toml)?;
        sb.start()?;
        Ok(sb)
    }

    pub fn start(&mut self) -> Result<()> {
        let mut cmd = Command::new(bin());
        cmd.arg("--data")
            .arg(self.data_dir())
            .arg("--config")
            .arg(&self.config)
            .arg("run")
            .arg("--sip")
            .arg(self.sip_addr())
            .arg("--http")
            .arg(format!("127.0.0.1:{}", self.http_port))
            // Free ports: the defaults (0.0.0.0:5061, :8443) would clash between parallel tests.
            .arg("--sip-tls")
            .arg(format!("127.0.0.1:{}", self.sip_tls_port))
            .arg("--https")
            .arg(format!("127.0.0.1:{}", self.https_port))
            .arg("--rtp-ports")
            .arg(format!("{}-{}", self.rtp.0, self.rtp.1))
            .env("SWITCHBOARD_LOG", "debug,sqlx=warn")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let opts = SpawnOpts { die_with_parent: false, ..SpawnOpts::default() };
        let mut child = ChildGuard::spawn("switchboard", cmd, &self.dir.path().join("logs"), opts)?;
        child.wait_for_line("running", Duration::from_secs(20))?;
        self.child = Some(child);
        Ok(())
    }

    /// Sets an environment variable for the next `start`.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.push((key.to_string(), value.to_string()));
    }

    /// Stops the process (SIGTERM, then SIGKILL); the data stays.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill();
        }
    }

    /// The running appliance's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.pid())
    }

    /// Kills the process with SIGKILL (no shutdown of any kind: a crash or
    /// power cut as far as the data is concerned) and reaps it; the data stays.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: kill(2) on our own child's pid, which it still is: not yet reaped.
            unsafe {
                libc::kill(c.pid() as i32, libc::SIGKILL);
            }
            let _ = c.wait_timeout(Duration::from_secs(10));
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("var")
    }

    /// The dialplan folder the default config points at.
    pub fn dialplan_dir(&self) -> PathBuf {
        self.dir.path().join("dialplans")
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn sip_addr(&self) -> String {
        format!("127.0.0.1:{}", self.sip_port)
    }

    /// Runs an admin subcommand against this appliance's data.
    pub fn admin(&self, args: &[&str]) -> Output {
        Command::new(bin())
            .arg("--data")
            .arg(self.data_dir())
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .output()
            .expect("run switchboard admin command")
    }

    /// Runs an admin subcommand and insists it succeeds; returns stdout.
    pub fn admin_ok(&self, args: &[&str]) -> String {
        let out = self.admin(args);
        assert!(
            out.status.success(),
            "switchboard {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs an admin subcommand with `input` on its standard input (passwords).
    pub fn admin_stdin(&self, args: &[&str], input: &str) -> Output {
        use std::io::Write;
        let mut child = Command::new(bin())
            .arg("--data")
            .arg(self.data_dir())
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run switchboard admin command");
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(input.as_bytes());
        }
        child.wait_with_output().expect("switchboard admin command output")
    }

    pub fn add_extension(&self, number: &str, secret: &str) {
        self.admin_ok(&["extension", "add", number, "--secret", secret]);
    }

    /// This appliance's test API key (scope `admin`), created on first use.
    pub fn key(&self) -> &str {
        self.key.get_or_init(|| self.admin_api_key("test-harness"))
    }

    /// Creates an API key with the `admin` scope (every API call) and returns it.
    pub fn admin_api_key(&self, name: &str) -> String {
        let out = self.admin_ok(&["apikey", "add", name, "--scope", "admin"]);
        out.split_whitespace().find(|w| w.starts_with("sb_")).expect("API key printed").to_string()
    }

    /// One HTTP/1.1 request to the appliance's API with `key` as bearer
    /// token; returns (status, body). Status 0: no answer.
    pub fn api(&self, method: &str, path: &str, key: &str) -> (u16, String) {
        use std::io::{Read, Write};
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.http_port)) else {
            return (0, String::new());
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(20)));
        let _ = write!(s, "{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        let mut resp = String::new();
        let _ = s.read_to_string(&mut resp);
        let status = resp.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        let body = resp.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
        (status, body)
    }

    /// Everything the appliance logged so far.
    pub fn log(&self) -> String {
        self.child
            .as_ref()
            .map(|c| std::fs::read_to_string(c.stdout_path()).unwrap_or_default())
            .unwrap_or_default()
    }

    /// Everything the appliance wrote to stderr so far: where Rust's default
    /// panic hook prints ("thread '...' panicked at"), even for a panic that
    /// tokio catches in a task and the process survives.
    pub fn stderr(&self) -> String {
        self.child
            .as_ref()
            .map(|c| std::fs::read_to_string(c.stderr_path()).unwrap_or_default())
            .unwrap_or_default()
    }

    /// Waits for a log line containing `pat`.
    pub fn wait_log(&mut self, pat: &str, timeout: Duration) -> Result<String> {
        match self.child.as_mut() {
            Some(c) => c.wait_for_line(pat, timeout),
            None => Err(Error::new("switchboard not running")),
        }
    }

    /// Whether the process is still alive (a panic would end it).
    pub fn is_running(&mut self) -> bool {
        self.child.as_mut().map(|c| c.try_wait().is_none()).unwrap_or(false)
    }

    /// RTP ports of our range bound by a UDP socket the appliance's process
    /// holds: its open sockets (`/proc/<pid>/fd`) looked up in the kernel's
    /// UDP tables. Asking whether a port can be bound instead would count a
    /// port some other program got from the ephemeral range (which overlaps
    /// the test ranges, see `ports`) as ours.
    pub fn rtp_ports_in_use(&self) -> Vec<u16> {
        let Some(pid) = self.pid() else { return Vec::new() };
        let inodes: std::collections::HashSet<u64> = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .map(|dir| {
                dir.flatten()
                    .filter_map(|e| std::fs::read_link(e.path()).ok())
                    .filter_map(|l| l.to_str()?.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        let mut ports: Vec<u16> = ["/proc/net/udp", "/proc/net/udp6"]
            .iter()
            .filter_map(|t| std::fs::read_to_string(t).ok())
            .flat_map(|table| {
                // "sl local_address rem_address st ... uid timeout inode": local is HEXIP:HEXPORT.
                table
                    .lines()
                    .skip(1)
                    .filter_map(|line| {
                        let cols: Vec<&str> = line.split_whitespace().collect();
                        let port = u16::from_str_radix(cols.get(1)?.rsplit(':').next()?, 16).ok()?;
                        let inode: u64 = cols.get(9)?.parse().ok()?;
                        Some((port, inode))
                    })
                    .collect::<Vec<_>>()
            })
            .filter(|(port, inode)| inodes.contains(inode) && (self.rtp.0..=self.rtp.1).contains(port))
            .map(|(port, _)| port)
            .collect();
        ports.sort_unstable();
        ports.dedup();
        ports
    }
}

impl Drop for Switchboard {
    fn drop(&mut self) {
        self.stop();
    }
}
