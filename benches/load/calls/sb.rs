//! The switchboard under test: config and data in a temp dir, extension
//! 1001 and trunk "carrier" added through the CLI (as benches/load/cps.py
//! does), admission limits lifted, started in its own process group and
//! waited for with OPTIONS. Dropping the handle stops the whole group
//! (SIGTERM, then SIGKILL after 10 s), on error paths too.

use std::net::{SocketAddr, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SECRET: &str = "bench-secret-1001";
/// The number the IVR plan answers (dialled by the extension).
pub const IVR_NUMBER: &str = "7100";
/// A number that is no extension and no plan entry: it goes out the default trunk.
pub const TRUNK_NUMBER: &str = "5551234";

/// What the config switches between modes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// `[recording] mode = "off"`: bridged calls take the packet relay.
    Relay,
    /// `[recording] mode = "on_demand"`: bridged calls go through the media
    /// engine (both legs terminated), the only path that transcodes.
    Engine,
}

pub struct Switchboard {
    pub pid: u32,
    pub sip: SocketAddr,
    child: Child,
}

/// Two different ports, each free for both UDP and TCP (SIP listens on
/// both). Each is held while the next is chosen: picking a UDP port and a
/// TCP port separately once gave the console the SIP port's number.
fn free_port_pair() -> (u16, u16) {
    let mut held = Vec::new();
    for _ in 0..100 {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let port = udp.local_addr().expect("addr").port();
        if let Ok(tcp) = std::net::TcpListener::bind(("127.0.0.1", port)) {
            held.push((port, udp, tcp));
            if let [(a, ..), (b, ..)] = held[..] {
                return (a, b);
            }
        }
    }
    panic!("no two ports free for both UDP and TCP in 100 tries");
}

/// The bench dialplan: 7100 (7000 is the built-in IVR test app) answers and loops a menu forever (prompts
/// playing, in-band DTMF detected on the caller's audio the whole time);
/// "1" (which the caller sends now and then) restarts it.
const IVR_PLAN: &str = r#"
[[entry]]
match = { did = "7100" }
context = "bench-ivr"

[context.bench-ivr]
steps = [ { app = "answer" }, { app = "goto", context = "bench-loop" } ]

[context.bench-loop]
steps = [
  { app = "menu", prompt = ["main-menu"], choices = { "1" = "bench-loop" }, invalid = ["invalid"], timeout_ms = 1000, retries = 0, fallback = "bench-loop" },
]
"#;

impl Switchboard {
    /// Writes config, plan and data under `dir` (fresh per mode) and adds
    /// the extension and the trunk toward `carrier`.
    pub fn prepare(
        binary: &Path,
        dir: &Path,
        flavour: Flavour,
        carrier: SocketAddr,
        repo: &Path,
        opus_complexity: Option<u8>,
    ) -> std::io::Result<PathBuf> {
        let data = dir.join("data");
        let plans = dir.join("dialplans");
        std::fs::create_dir_all(&data)?;
        std::fs::create_dir_all(&plans)?;
        std::fs::write(plans.join("bench.toml"), IVR_PLAN)?;
        let cfg = dir.join("switchboard.toml");
        let (sip_port, http_port) = free_port_pair();
        let mode = match flavour {
            Flavour::Relay => "off",
            Flavour::Engine => "on_demand",
        };
        std::fs::write(
            &cfg,
            format!(
                r#"[sip]
listen = "127.0.0.1:{sip}"
tls_listen = ""
[http]
listen = "127.0.0.1:{http}"
tls_listen = ""
# Above the load tool's own sockets (20000-29999).
[rtp]
port_min = 30000
port_max = 65000
[trunks]
options_interval_secs = 0
# Capacity is what is measured: admission control must not cap it.
[limits]
max_calls = 100000
max_cps = 100000
burst = 100000
backlog_high = 100000
[recording]
mode = "{mode}"
[dialplan]
dir = "{plans}"
[media]
prompts_dir = "{prompts}"
moh_dir = "{moh}"
{opus}
"#,
                sip = sip_port,
                http = http_port,
                plans = plans.display(),
                prompts = repo.join("prompts").display(),
                moh = repo.join("prompts").join("moh").display(),
                opus = opus_complexity.map(|c| format!("opus_complexity = {c}")).unwrap_or_default(),
            ),
        )?;
        let admin = |args: &[&str]| -> std::io::Result<()> {
            let st = Command::new(binary)
                .arg("--data")
                .arg(&data)
                .arg("--config")
                .arg(&cfg)
                .args(args)
                .current_dir(repo)
                .stdout(Stdio::null())
                .status()?;
            if st.success() {
                Ok(())
            } else {
                Err(std::io::Error::other(format!("switchboard {args:?} failed: {st}")))
            }
        };
        // A plan that does not load would silently route 7100 elsewhere.
        admin(&["check-config"])?;
        admin(&["extension", "add", "1001", "--secret", SECRET])?;
        admin(&["trunk", "add", "carrier", "--host", &carrier.to_string()])?;
        Ok(cfg)
    }

    /// Starts `run` and waits (up to 30 s) until it answers OPTIONS.
    pub fn start(binary: &Path, dir: &Path, cfg: &Path, repo: &Path, log_name: &str) -> std::io::Result<Switchboard> {
        let text = std::fs::read_to_string(cfg)?;
        let port: u16 = text
            .lines()
            .find_map(|l| l.strip_prefix("listen = \"127.0.0.1:"))
            .and_then(|p| p.trim_end_matches('"').parse().ok())
            .ok_or_else(|| std::io::Error::other("no sip listen in config"))?;
        let log = std::fs::File::create(dir.join(log_name))?;
        let child = Command::new(binary)
            .arg("--data")
            .arg(dir.join("data"))
            .arg("--config")
            .arg(cfg)
            .arg("run")
            .current_dir(repo)
            .env("RUST_LOG", "warn")
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0)
            .spawn()?;
        let sb = Switchboard { pid: child.id(), sip: SocketAddr::from(([127, 0, 0, 1], port)), child };
        if !wait_options(sb.sip, Duration::from_secs(30)) {
            return Err(std::io::Error::other("switchboard did not answer OPTIONS within 30 s"));
        }
        Ok(sb)
    }

    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Switchboard {
    fn drop(&mut self) {
        let pg = -(self.pid as i32);
        // SAFETY: signalling our own child's process group.
        unsafe { libc::kill(pg, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if matches!(self.child.try_wait(), Ok(None)) {
            // SAFETY: as above.
            unsafe { libc::kill(pg, libc::SIGKILL) };
        }
        let _ = self.child.wait();
    }
}

/// Polls with OPTIONS until anything answers on `addr`.
fn wait_options(addr: SocketAddr, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let Ok(s) = UdpSocket::bind("127.0.0.1:0") else { return false };
    let _ = s.set_read_timeout(Some(Duration::from_millis(300)));
    let local = s.local_addr().expect("addr");
    let mut n = 0u32;
    while Instant::now() < deadline {
        n += 1;
        let msg = format!(
            "OPTIONS sip:{addr} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKopt{n}\r\nMax-Forwards: 70\r\n\
From: <sip:bench@{local}>;tag=1\r\nTo: <sip:{addr}>\r\nCall-ID: opt{n}@bench\r\nCSeq: {n} OPTIONS\r\nContent-Length: 0\r\n\r\n"
        );
        let _ = s.send_to(msg.as_bytes(), addr);
        let mut buf = [0u8; 4096];
        if s.recv_from(&mut buf).is_ok() {
            return true;
        }
    }
    false
}
