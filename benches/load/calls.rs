//! Concurrent calls with media (issue 9, `make bench` items 2-4): how many
//! calls switchboard carries at once, and what each costs.
//!
//! The tool starts the release `switchboard` itself (config, data and a
//! bench dialplan in a temp dir; extension 1001 and trunk "carrier" added
//! with the CLI; admission limits lifted), a fresh process per step so the
//! RSS baseline is clean. It places N calls from extension 1001 through its
//! own small SIP UA (calls/ua.rs) at `--cps`, lets them warm up, holds them
//! for `--hold` seconds while one thread sends and meters RTP on every leg
//! (calls/media.rs), then hangs up every call with BYE and counts the 200s.
//!
//! Per step, over the hold window: setup successes and failures, calls
//! switchboard dropped, loss and jitter, switchboard's CPU (utime+stime from
//! /proc, all threads) per call and per delivered packet, its RSS growth per
//! call (VmRSS during the hold minus before the first call, / N), the tool's
//! own CPU and how much of the nominal packet rate it managed to send
//! (`offered_pct`), and the CPU the rest of the machine used meanwhile
//! (`other_cpu_cores`): on a shared box that is what limits the big steps.
//! N steps up through `--counts` until the first step with loss, failed
//! setups, calls dropped by switchboard, a shortfall over 1 % (below) or a
//! generator that could not offer 95 % of the nominal rate.
//!
//! Modes:
//! - `bridged`: extension -> trunk, PCMU both sides, RTP both ways on both
//!   legs: the packet relay (recording off). Payloads carry a stamp, so loss
//!   is exact per flow (sent in the window and not arrived within 500 ms
//!   after it: later is as good as lost for voice) and added jitter is
//!   measured per packet.
//! - `floor`: the same packet rate through a minimal recvmmsg/sendmmsg relay
//!   thread with no logic (calls/floor.rs); switchboard's CPU per packet is
//!   reported as a ratio of it. Runs right after `bridged` at each N.
//! - `ivr`: N calls into a bench dialplan (7100: a menu looping forever, so
//!   prompts play and in-band DTMF detection runs for the whole hold); the
//!   caller sends PCMU noise with an in-band "1" every 10 s and counts the
//!   prompt packets it receives.
//! - `transcode`: the caller offers Opus only, the carrier answers PCMU only;
//!   switchboard runs these calls through its media engine (recording
//!   on_demand puts every call there) and converts both ways. The caller
//!   sends a real Opus frame (encoded once at startup).
//!
//! For ivr and transcode the payload is not ours any more, so loss is what
//! is missing from the RTP sequence numbers, jitter is RFC 3550 interarrival
//! jitter, and `shortfall_pct` is how many fewer packets than 50/s per leg
//! arrived without a sequence gap: switchboard's 20 ms clock fell behind
//! real time (its media ticks are `MissedTickBehavior::Delay`).
//!
//! Usage: cargo bench --bench calls -- [--counts 500,1000,2000] [--hold 60]
//!        [--modes bridged,floor,ivr,transcode] [--cps 150] [--warmup 3]
//!        [--binary target/release/switchboard] [--out target/bench/calls.json]
//!        [--tool-nice -5] (favour the RTP thread on a busy machine; see offer%)
//! Loopback only; every wait is bounded. Numbers are measured, never asserted.

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{channel, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

#[path = "calls/floor.rs"]
mod floor;
#[path = "calls/media.rs"]
mod media;
#[path = "calls/mmsg.rs"]
mod mmsg;
#[path = "calls/procstat.rs"]
mod procstat;
#[path = "calls/report.rs"]
mod report;
#[path = "calls/sb.rs"]
mod sb;
#[path = "calls/ua.rs"]
mod ua;

use media::{Engine, Kind, LegSpec, Window, CALLER, CARRIER};
use report::{clean, int, media_figures, offered_pct, print_table, round, summary, MIN_OFFERED_PCT};
use sb::{Flavour, Switchboard};
use ua::{Offer, Sip};

const REPO: &str = env!("CARGO_MANIFEST_DIR");

struct Args {
    binary: PathBuf,
    counts: Vec<usize>,
    hold: f64,
    modes: Vec<String>,
    out: PathBuf,
    cps: f64,
    warmup: f64,
    /// Nice value of the RTP thread (negative: favoured by the scheduler).
    tool_nice: i32,
    /// `[media] opus_complexity` for switchboard; the transcode rows are then
    /// reported as mode `transcode-c<N>`.
    opus_complexity: Option<u8>,
}

fn parse_args() -> Args {
    let mut a = Args {
        binary: PathBuf::from(env!("CARGO_BIN_EXE_switchboard")),
        counts: vec![500, 1000, 2000, 3000, 4000],
        hold: 60.0,
        modes: ["bridged", "floor", "ivr", "transcode"].iter().map(|s| s.to_string()).collect(),
        out: Path::new(REPO).join("target/bench/calls.json"),
        cps: 150.0,
        warmup: 3.0,
        tool_nice: 0,
        opus_complexity: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| die(&format!("{arg} needs a value")));
        match arg.as_str() {
            "--binary" => a.binary = PathBuf::from(val()),
            "--counts" => a.counts = val().split(',').map(|n| n.trim().parse().unwrap_or_else(|_| die("bad --counts"))).collect(),
            "--hold" => a.hold = val().parse().unwrap_or_else(|_| die("bad --hold")),
            "--modes" => a.modes = val().split(',').map(|m| m.trim().to_string()).collect(),
            "--out" => a.out = PathBuf::from(val()),
            "--cps" => a.cps = val().parse().unwrap_or_else(|_| die("bad --cps")),
            "--warmup" => a.warmup = val().parse().unwrap_or_else(|_| die("bad --warmup")),
            "--tool-nice" => a.tool_nice = val().parse().unwrap_or_else(|_| die("bad --tool-nice")),
            "--opus-complexity" => a.opus_complexity = Some(val().parse().ok().filter(|c| *c <= 10).unwrap_or_else(|| die("bad --opus-complexity (0..=10)"))),
            // cargo bench passes --bench to every bench binary.
            "--bench" => {}
            other => die(&format!("unknown argument {other}")),
        }
    }
    for m in &a.modes {
        if !["bridged", "floor", "ivr", "transcode"].contains(&m.as_str()) {
            die(&format!("unknown mode {m}"));
        }
    }
    a
}

fn die(msg: &str) -> ! {
    eprintln!("calls bench: {msg}");
    std::process::exit(2)
}

/// The tool's sockets, bound once for the whole run below switchboard's
/// RTP range. Each RTP socket is on an even port with an RTCP sink beside it
/// (port + 1), where switchboard's media engine sends its RTCP.
struct Sockets {
    caller_sip: UdpSocket,
    carrier_sip: UdpSocket,
    rtp: [UdpSocket; 2],
    rtcp: [UdpSocket; 2],
}

fn bind_pair() -> (UdpSocket, UdpSocket) {
    let start = 20000 + 2 * (rand::random::<u16>() % 4000);
    for i in 0..4000u16 {
        let p = 20000 + (start - 20000 + 2 * i) % 8000;
        if let (Ok(a), Ok(b)) = (UdpSocket::bind(("127.0.0.1", p)), UdpSocket::bind(("127.0.0.1", p + 1))) {
            return (a, b);
        }
    }
    die("no free even/odd port pair in 20000-27999")
}

fn bind_one() -> UdpSocket {
    for _ in 0..200 {
        let p = 28000 + rand::random::<u16>() % 2000;
        if let Ok(s) = UdpSocket::bind(("127.0.0.1", p)) {
            return s;
        }
    }
    die("no free port in 28000-29999")
}

impl Sockets {
    fn new() -> Sockets {
        let (r0, c0) = bind_pair();
        let (r1, c1) = bind_pair();
        for s in [&r0, &r1, &c0, &c1] {
            mmsg::prepare_socket(s);
        }
        Sockets { caller_sip: bind_one(), carrier_sip: bind_one(), rtp: [r0, r1], rtcp: [c0, c1] }
    }

    fn rtp_port(&self, side: usize) -> u16 {
        self.rtp[side].local_addr().expect("addr").port()
    }

    fn media_engine(&self, window: Arc<Window>, rx: std::sync::mpsc::Receiver<LegSpec>) -> Engine {
        let c = |s: &UdpSocket| s.try_clone().expect("clone socket");
        Engine::new([c(&self.rtp[0]), c(&self.rtp[1])], [c(&self.rtcp[0]), c(&self.rtcp[1])], media::payloads(), window, rx)
    }
}

/// CPU seconds of `path` over the window, and the window's packet figures.
struct Meter {
    path: String,
    cpu0: f64,
    tool0: f64,
    busy0: f64,
    udp0: (u64, u64),
}

impl Meter {
    fn start(path: String) -> Meter {
        Meter {
            cpu0: procstat::cpu_secs(&path).unwrap_or(0.0),
            tool0: procstat::cpu_secs("self").unwrap_or(0.0),
            busy0: procstat::machine_busy_secs(),
            udp0: procstat::udp_errors(),
            path,
        }
    }
    fn stop(&self) -> Measured {
        let cpu = procstat::cpu_secs(&self.path).unwrap_or(0.0) - self.cpu0;
        let tool = procstat::cpu_secs("self").unwrap_or(0.0) - self.tool0;
        let busy = procstat::machine_busy_secs() - self.busy0;
        let u = procstat::udp_errors();
        // The floor thread is inside "self": count the process only once.
        let ours = if self.path.starts_with("self") { tool } else { cpu + tool };
        Measured {
            cpu,
            tool,
            other: (busy - ours).max(0.0),
            udp_in_errors: u.0.saturating_sub(self.udp0.0),
            udp_rcvbuf_errors: u.1.saturating_sub(self.udp0.1),
        }
    }
}

/// CPU seconds over the window: the measured process (switchboard or the
/// floor thread), this tool, and everything else on the machine.
struct Measured {
    cpu: f64,
    tool: f64,
    other: f64,
    udp_in_errors: u64,
    udp_rcvbuf_errors: u64,
}

fn pump(sip: &mut Sip, tx: &Sender<LegSpec>, until: Instant) {
    loop {
        let step = (Instant::now() + Duration::from_millis(20)).min(until);
        sip.pump(step);
        for leg in sip.legs_up.drain(..) {
            let _ = tx.send(leg);
        }
        if Instant::now() >= until {
            return;
        }
    }
}

struct Ctx {
    args: Args,
    socks: Sockets,
    workdir: PathBuf,
}

/// One step of a switchboard mode at `n` calls (a row with `error` when switchboard could not start).
fn sip_step(ctx: &Ctx, mode: &str, n: usize, cfg: &Path, dir: &Path) -> Value {
    let (offer, dial, stamped) = match mode {
        "bridged" => (Offer::Pcmu(Kind::Stamped), sb::TRUNK_NUMBER, true),
        "ivr" => (Offer::Pcmu(Kind::Ivr), sb::IVR_NUMBER, false),
        _ => (Offer::Opus, sb::TRUNK_NUMBER, false),
    };
    let mut sbx = match Switchboard::start(&ctx.args.binary, dir, cfg, Path::new(REPO), &format!("switchboard-{n}.log")) {
        Ok(s) => s,
        Err(e) => return json!({ "n": n, "error": format!("switchboard did not start: {e}") }),
    };
    std::thread::sleep(Duration::from_millis(500));
    let pid = sbx.pid.to_string();
    let rss_idle = procstat::rss_kb(&pid).unwrap_or(0);
    let window = Arc::new(Window::default());
    let (tx, rx) = channel();
    let engine = ctx.socks.media_engine(window.clone(), rx);
    let nice = ctx.args.tool_nice;
    let media_thread = std::thread::Builder::new().name("rtp".into()).spawn(move || engine.run(nice)).expect("media thread");
    let sock = |s: &UdpSocket| s.try_clone().expect("clone");
    let mut sip = Sip::new(sock(&ctx.socks.caller_sip), sock(&ctx.socks.carrier_sip), sbx.sip, sb::SECRET, dial, offer, ctx.socks.rtp_port(CALLER), ctx.socks.rtp_port(CARRIER));

    // Setup, paced so that setup itself is not what fails.
    let t_setup = Instant::now();
    for i in 0..n {
        let due = t_setup + Duration::from_secs_f64(i as f64 / ctx.args.cps);
        pump(&mut sip, &tx, due);
        sip.place();
    }
    let deadline = Instant::now() + Duration::from_secs(40);
    while sip.pending() > 0 && Instant::now() < deadline {
        pump(&mut sip, &tx, Instant::now() + Duration::from_millis(50));
    }
    let setup_secs = t_setup.elapsed().as_secs_f64();
    pump(&mut sip, &tx, Instant::now() + Duration::from_secs_f64(ctx.args.warmup));

    // The hold window.
    let meter = Meter::start(pid.clone());
    window.t0.store(mmsg::now_ns(), Ordering::Relaxed);
    let t0 = Instant::now();
    pump(&mut sip, &tx, t0 + Duration::from_secs_f64(ctx.args.hold));
    window.t1.store(mmsg::now_ns(), Ordering::Relaxed);
    let win = t0.elapsed().as_secs_f64();
    let Measured { cpu, tool: tool_cpu, other, udp_in_errors, udp_rcvbuf_errors } = meter.stop();
    let rss_hold = procstat::rss_kb(&pid).unwrap_or(0);
    // Grace for packets sent at the end of the window.
    pump(&mut sip, &tx, Instant::now() + Duration::from_millis(500));
    window.stop.store(true, Ordering::Relaxed);
    let m = media_thread.join().expect("media thread");

    // Teardown: BYE every call at the setup pace, count the 200s.
    let t_bye = Instant::now();
    while sip.hang_up(((ctx.args.cps / 10.0) as usize).max(1)) > 0 && t_bye.elapsed() < Duration::from_secs(120) {
        pump(&mut sip, &tx, Instant::now() + Duration::from_millis(100));
    }
    let deadline = Instant::now() + Duration::from_secs(40);
    while sip.closing() > 0 && Instant::now() < deadline {
        pump(&mut sip, &tx, Instant::now() + Duration::from_millis(50));
    }
    let alive = sbx.alive();
    drop(sbx);

    let c = &sip.counters;
    let (loss, shortfall, jitter, packets, jitter_kind) = media_figures(&m, stamped);
    let calls = c.established.max(1) as f64;
    let cpu_per_call_pct = cpu / win / calls * 100.0;
    let mut row = json!({
        "n": n,
        "setup_ok": c.established,
        "setup_failed": c.failed + (n as u64).saturating_sub(c.established + c.failed),
        "setup_secs": round(setup_secs, 2),
        "dropped_by_switchboard": c.dropped_by_switchboard,
        "bye_sent": c.bye_sent,
        "bye_ok": c.bye_ok,
        "switchboard_alive_after": alive,
        "window_secs": round(win, 2),
        "loss_pct": loss,
        "shortfall_pct": shortfall,
        "jitter_p99_ms": jitter.map(|j| round(j, 3)),
        "jitter_kind": jitter_kind,
        "packets_delivered": packets,
        "sb_cpu_secs": round(cpu, 3),
        "sb_cpu_pct_per_call": round(cpu_per_call_pct, 4),
        "sb_us_per_packet": if packets > 0 { Some(round(cpu * 1e6 / packets as f64, 3)) } else { None },
        "calls_per_core": if cpu > 0.0 { Some(round(calls * win / cpu, 1)) } else { None },
        "rss_idle_kb": rss_idle,
        "rss_hold_kb": rss_hold,
        "kb_per_call": round(rss_hold.saturating_sub(rss_idle) as f64 / calls, 2),
        "tool_cpu_pct": round(tool_cpu / win * 100.0, 1),
        "offered_pct": offered_pct(&m),
        "generator_limited": offered_pct(&m) < MIN_OFFERED_PCT,
        "other_cpu_cores": round(other / win, 2),
        "loadavg_1min": procstat::loadavg(),
        "udp_in_errors": udp_in_errors,
        "udp_rcvbuf_errors": udp_rcvbuf_errors,
        "sip": c,
        "media": m,
    });
    if !stamped {
        row["note"] = json!(
            "loss: packets missing from the RTP sequence; shortfall: packets fewer than a steady 50/s per receiving leg \
             (one packet of edge allowed) without sequence gaps, i.e. switchboard's sender fell behind real time"
        );
    }
    row
}

/// The floor at `n` calls: the same legs and packet rate through the minimal relay.
fn floor_step(ctx: &Ctx, n: usize) -> Value {
    let f = match floor::Floor::start(ctx.socks.rtp_port(CALLER), ctx.socks.rtp_port(CARRIER)) {
        Ok(f) => f,
        Err(e) => return json!({ "n": n, "error": format!("floor relay: {e}") }),
    };
    let window = Arc::new(Window::default());
    let (tx, rx) = channel();
    let engine = ctx.socks.media_engine(window.clone(), rx);
    let nice = ctx.args.tool_nice;
    let media_thread = std::thread::Builder::new().name("rtp".into()).spawn(move || engine.run(nice)).expect("media thread");
    for _ in 0..n {
        let _ = tx.send(LegSpec { side: CALLER, dest_port: f.a_port, kind: Kind::Stamped, own_port: false });
        let _ = tx.send(LegSpec { side: CARRIER, dest_port: f.b_port, kind: Kind::Stamped, own_port: false });
    }
    std::thread::sleep(Duration::from_secs_f64(ctx.args.warmup));
    let meter = Meter::start(f.proc_path());
    let fwd0 = f.forwarded.load(Ordering::Relaxed);
    window.t0.store(mmsg::now_ns(), Ordering::Relaxed);
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(ctx.args.hold));
    window.t1.store(mmsg::now_ns(), Ordering::Relaxed);
    let win = t0.elapsed().as_secs_f64();
    let Measured { cpu, tool: tool_all, other, .. } = meter.stop();
    let forwarded = f.forwarded.load(Ordering::Relaxed) - fwd0;
    std::thread::sleep(Duration::from_millis(500));
    window.stop.store(true, Ordering::Relaxed);
    let m = media_thread.join().expect("media thread");
    drop(f);
    let (loss, _, jitter, packets, jitter_kind) = media_figures(&m, true);
    json!({
        "n": n,
        "window_secs": round(win, 2),
        "loss_pct": loss,
        "jitter_p99_ms": jitter.map(|j| round(j, 3)),
        "jitter_kind": jitter_kind,
        "packets_delivered": packets,
        "forwarded_in_window": forwarded,
        "floor_cpu_secs": round(cpu, 3),
        "floor_us_per_packet": if forwarded > 0 { Some(round(cpu * 1e6 / forwarded as f64, 3)) } else { None },
        "floor_cpu_pct": round(cpu / win * 100.0, 1),
        "offered_pct": offered_pct(&m),
        "generator_limited": offered_pct(&m) < MIN_OFFERED_PCT,
        "other_cpu_cores": round(other / win, 2),
        "loadavg_1min": procstat::loadavg(),
        // The whole process minus the relay thread: the generator's share.
        "tool_cpu_pct": round((tool_all - cpu) / win * 100.0, 1),
        "media": m,
    })
}

fn main() {
    let args = parse_args();
    if !args.binary.exists() {
        die(&format!("no switchboard binary at {} (cargo build --release)", args.binary.display()));
    }
    let workdir = tempfile::Builder::new().prefix("sb-bench-calls-").tempdir().expect("temp dir").keep();
    let socks = Sockets::new();
    let carrier_sip: SocketAddr = socks.carrier_sip.local_addr().expect("addr");
    let ctx = Ctx { args, socks, workdir };
    let a = &ctx.args;
    println!(
        "concurrent calls with media: counts {:?}, hold {} s (+{} s warm-up), setup at {} calls/s, {} cores; logs in {}",
        a.counts, a.hold, a.warmup, a.cps, procstat::cores(), ctx.workdir.display()
    );
    let mut modes = serde_json::Map::new();
    let want = |m: &str| a.modes.iter().any(|x| x == m);
    let mut bridged_rows = Vec::new();
    let mut floor_rows = Vec::new();

    if want("bridged") || want("floor") {
        let dir = ctx.workdir.join("bridged");
        let cfg = if want("bridged") {
            match Switchboard::prepare(&a.binary, &dir, Flavour::Relay, carrier_sip, Path::new(REPO), a.opus_complexity) {
                Ok(c) => Some(c),
                Err(e) => die(&format!("preparing switchboard: {e}")),
            }
        } else {
            None
        };
        for &n in &a.counts {
            let mut stop = false;
            if let Some(cfg) = &cfg {
                let row = sip_step(&ctx, "bridged", n, cfg, &dir);
                println!("  bridged {n}: {}", summary(&row));
                stop |= !clean(&row);
                bridged_rows.push(row);
            }
            if want("floor") {
                let row = floor_step(&ctx, n);
                println!("  floor   {n}: loss {} % jitter p99 {} ms, {} us/packet", row["loss_pct"], row["jitter_p99_ms"], row["floor_us_per_packet"]);
                stop |= cfg.is_none() && !clean(&row);
                floor_rows.push(row);
            }
            if stop {
                break;
            }
        }
    }
    for (mode, flavour) in [("ivr", Flavour::Relay), ("transcode", Flavour::Engine)] {
        if !want(mode) {
            continue;
        }
        let dir = ctx.workdir.join(mode);
        let cfg = Switchboard::prepare(&a.binary, &dir, flavour, carrier_sip, Path::new(REPO), a.opus_complexity)
            .unwrap_or_else(|e| die(&format!("preparing switchboard: {e}")));
        let mut rows = Vec::new();
        for &n in &a.counts {
            let row = sip_step(&ctx, mode, n, &cfg, &dir);
            println!("  {mode} {n}: {}", summary(&row));
            let ok = clean(&row);
            rows.push(row);
            if !ok {
                break;
            }
        }
        let key = match (mode, a.opus_complexity) {
            ("transcode", Some(c)) => format!("transcode-c{c}"),
            _ => mode.to_string(),
        };
        if mode == "transcode" {
            // The effort the rows ran at, for the report's libopus ceiling.
            let effort = a.opus_complexity.unwrap_or(switchboard::config::MediaConfig::default().opus_complexity);
            for row in &mut rows {
                row["opus_complexity"] = json!(effort);
            }
        }
        modes.insert(key, Value::Array(rows));
    }

    // Switchboard's CPU per relayed packet over the floor's, at each N both ran.
    let mut ratios = Vec::new();
    for b in &bridged_rows {
        if let Some(f) = floor_rows.iter().find(|f| f["n"] == b["n"]) {
            if let (Some(s), Some(fl)) = (b["sb_us_per_packet"].as_f64(), f["floor_us_per_packet"].as_f64()) {
                if fl > 0.0 {
                    let both_clean = clean(b) && clean(f);
                    ratios.push(json!({ "n": b["n"], "sb_us_per_packet": s, "floor_us_per_packet": fl, "ratio": round(s / fl, 2), "clean": both_clean }));
                }
            }
        }
    }
    if want("bridged") {
        modes.insert("bridged".into(), Value::Array(bridged_rows));
    }
    if want("floor") {
        modes.insert("floor".into(), Value::Array(floor_rows));
    }
    let transcode_key = a.opus_complexity.map_or("transcode".to_string(), |c| format!("transcode-c{c}"));
    for m in ["bridged", "floor", "ivr", &transcode_key] {
        if let Some(Value::Array(rows)) = modes.get(m) {
            print_table(m, rows);
        }
    }
    // The headline ratio: at the largest N where both were clean, else the largest both ran.
    let headline = ratios.iter().rev().find(|r| r["clean"] == true).or(ratios.last());
    let floor_ratio = headline.map(|r| r["ratio"].clone()).unwrap_or(Value::Null);
    println!();
    println!("short%: packets switchboard sent fewer than 50/s per leg without sequence gaps (its clock fell behind; ivr/transcode only).");
    println!("offer%: packets the generator sent / nominal (legs x 50/s); other: CPU cores used by the rest of the machine in the window.");
    if !ratios.is_empty() {
        for r in &ratios {
            println!("N {:>5}: switchboard {} us/packet = {} x the floor ({} us/packet)", int(&r["n"]), r["sb_us_per_packet"], r["ratio"], r["floor_us_per_packet"]);
        }
    }
    let result = json!({
        "machine": { "cores": procstat::cores(), "clk_tck": procstat::clk_tck() },
        "settings": { "counts": a.counts, "hold_secs": a.hold, "warmup_secs": a.warmup, "setup_cps": a.cps, "tool_nice": a.tool_nice, "binary": a.binary.display().to_string() },
        "modes": modes,
        "floor_ratio": floor_ratio,
        "floor_ratios": ratios,
        "workdir": ctx.workdir.display().to_string(),
    });
    if let Some(parent) = a.out.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    match std::fs::write(&a.out, serde_json::to_string_pretty(&result).expect("json")) {
        Ok(()) => println!("JSON: {}", a.out.display()),
        Err(e) => eprintln!("writing {}: {e}", a.out.display()),
    }
}
