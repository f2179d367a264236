#!/usr/bin/env python3
"""Call setup rate: switchboard (B2BUA) beside Kamailio (stateful proxy).

The same SIPp pair runs through each: a caller (tests/sipp/call_ext_uac.xml:
INVITE, 407 digest challenge, INVITE with credentials, 200, ACK, BYE) and a
carrier (tests/sipp/uas_carrier.xml). switchboard authenticates extension
1001, anchors media ports and bridges to its trunk; Kamailio challenges with
the same password (auth module, no database), record-routes and relays
statefully (tm), swept twice: with 1 and with 2 UDP workers, and the better
of the two is the baseline (see KAMAILIO_WORKERS). The rate steps up until the first failed
call; per step: calls, failures, p50/p99 setup time (first INVITE to 200,
SIPp's rtd), and the rate SIPp actually achieved. A step is *clean* when no
call failed, p99 setup stayed within P99_LIMIT_MS and SIPp achieved at least
ACHIEVED_MIN of the offered rate: a server that completes every call but
only after a second of queueing is past its capacity, not clean. The figure
to compare is switchboard's best clean rate as a ratio of Kamailio's on the
same machine in the same run.

Speed is measured here, never asserted. Loopback only; every step is
bounded (STEP_SECONDS of calls, at most MAX_CALLS per step).

Usage: cps.py [--binary target/release/switchboard] [--rates 50,100,...]
Writes target/bench/cps.json and prints a table.
"""
import argparse
import csv
import glob
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SIPP_DIR = os.path.join(REPO, "tests", "sipp")
STEP_SECONDS = 5
MAX_CALLS = 10000
# A step with every call completed is still not clean when setup queues:
# p99 above this (the first INVITE to the 200, including the digest
# challenge round trip), or SIPp falling behind the offered rate.
P99_LIMIT_MS = 200
ACHIEVED_MIN = 0.9
SECRET = "bench-secret-1001"
# SIPp's own socket buffers (its default is 128 KB): at 1400 calls/s and up
# the generator's sockets overflowed in bursts (`ss -uamn`: drops on
# SIPp's port, none on the server's), and the lost messages failed calls
# that the system under test never saw. Kamailio's maxbuffer (its largest
# UDP buffer, 256 KB by default) and switchboard's own SIP socket ask for
# the same; the host's net.core.rmem_max caps all of them (reported).
SIPP_BUFFER = 4 * 1024 * 1024
KAMAILIO_MODULES = "/usr/lib/x86_64-linux-gnu/kamailio/modules/"


def free_port(kind=socket.SOCK_DGRAM):
    for _ in range(200):
        port = random.randint(20000, 40000)
        ok = True
        for k in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
            s = socket.socket(socket.AF_INET, k)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                ok = False
            finally:
                s.close()
        if ok:
            return port
    raise RuntimeError("no free port")


def wait_udp_answer(port, timeout=30):
    """Polls with OPTIONS until anything answers on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.settimeout(0.5)
        lp = s.getsockname()[1]
        msg = (f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{lp};branch=z9hG4bK{random.getrandbits(40)}\r\n"
               f"Max-Forwards: 70\r\nFrom: <sip:bench@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1:{port}>\r\n"
               f"Call-ID: {random.getrandbits(64)}@bench\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
        try:
            s.sendto(msg.encode(), ("127.0.0.1", port))
            s.recvfrom(65535)
            return True
        except OSError:
            time.sleep(0.3)
        finally:
            s.close()
    return False


class Carrier:
    """SIPp answering every call (uas_carrier.xml) until stopped."""

    def __init__(self, workdir):
        self.port = free_port()
        self.dir = os.path.join(workdir, f"carrier-{self.port}")
        os.makedirs(self.dir)
        self.proc = subprocess.Popen(
            ["sipp", "-sf", os.path.join(SIPP_DIR, "uas_carrier.xml"), "-i", "127.0.0.1", "-p", str(self.port),
             "-mp", str(free_port()), "-nostdin", "-m", str(10 * MAX_CALLS),
             "-timeout", "3600s", "-max_socket", "60000", "-buff_size", str(SIPP_BUFFER)],
            cwd=self.dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


class Switchboard:
    def __init__(self, binary, workdir, carrier_port):
        self.port = free_port()
        self.http = free_port(socket.SOCK_STREAM)
        self.data = os.path.join(workdir, "sb-data")
        os.makedirs(self.data)
        cfg = os.path.join(workdir, "switchboard.toml")
        with open(cfg, "w") as f:
            f.write(f"""[sip]
listen = "127.0.0.1:{self.port}"
tls_listen = ""
[http]
listen = "127.0.0.1:{self.http}"
tls_listen = ""
[rtp]
port_min = 40000
port_max = 59999
[trunks]
options_interval_secs = 0
# The benchmark measures capacity, so admission control must not cap it
# (loopback is exempt from the per-address SIP rate limit by default).
[limits]
max_calls = 100000
max_cps = 100000
burst = 100000
backlog_high = 100000
[dialplan]
dir = "{os.path.join(REPO, 'dialplans')}"
[media]
prompts_dir = "{os.path.join(REPO, 'prompts')}"
moh_dir = "{os.path.join(REPO, 'prompts', 'moh')}"
""")
        self.base = [binary, "--data", self.data, "--config", cfg]
        self.admin(["extension", "add", "1001", "--secret", SECRET])
        self.admin(["trunk", "add", "carrier", "--host", f"127.0.0.1:{carrier_port}"])
        self.log = open(os.path.join(workdir, "switchboard.log"), "w")
        env = dict(os.environ, SWITCHBOARD_LOG=os.environ.get("SB_LOG", "info,sqlx=warn"))
        self.proc = subprocess.Popen(self.base + ["run"], stdout=self.log, stderr=subprocess.STDOUT,
                                     cwd=REPO, env=env, start_new_session=True)
        if not wait_udp_answer(self.port):
            raise RuntimeError("switchboard did not answer OPTIONS")

    def admin(self, args):
        subprocess.run(self.base + args, check=True, cwd=REPO, stdout=subprocess.DEVNULL)

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


# Kamailio's UDP worker processes. Two use both cores, but they relay a
# carrier's 180 and 200 in parallel and now and then in the other order;
# SIPp's strict caller scenario aborts the call on the late 180 (RFC 3261
# lets a client ignore it), and that step fails at 1200 calls/s. One
# worker never reorders but runs on one core. Both are swept; the baseline
# is the better, so the ratio is against Kamailio at its best here.
KAMAILIO_WORKERS = (1, 2)


class Kamailio:
    def __init__(self, workdir, carrier_port, children):
        self.port = free_port()
        run = os.path.join(workdir, f"kamailio-run-{children}")
        os.makedirs(run)
        cfg = os.path.join(workdir, f"kamailio-{children}.cfg")
        with open(cfg, "w") as f:
            f.write(f"""#!KAMAILIO
debug=0
log_stderror=yes
children={children}
maxbuffer={SIPP_BUFFER}
listen=udp:127.0.0.1:{self.port}
mpath="{KAMAILIO_MODULES}"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "siputils.so"
loadmodule "textops.so"
loadmodule "auth.so"
request_route {{
    if (!mf_process_maxfwd_header("10")) {{ sl_send_reply("483", "Too Many Hops"); exit; }}
    if (has_totag()) {{
        if (loose_route()) {{ t_relay(); exit; }}
        if (is_method("ACK")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
        sl_send_reply("404", "Not here"); exit;
    }}
    if (is_method("CANCEL")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
    if (is_method("OPTIONS")) {{ sl_send_reply("200", "OK"); exit; }}
    if (is_method("INVITE")) {{
        if (!pv_proxy_authenticate("bench", "{SECRET}", "0")) {{ proxy_challenge("bench", "0"); exit; }}
        consume_credentials();
    }}
    record_route();
    $du = "sip:127.0.0.1:{carrier_port}";
    t_relay();
    exit;
}}
""")
        self.proc = subprocess.Popen(["kamailio", "-f", cfg, "-DD", "-E", "-Y", run, "-m", "256"],
                                     stdout=subprocess.DEVNULL, stderr=open(os.path.join(workdir, f"kamailio-{children}.log"), "w"),
                                     start_new_session=True)
        if not wait_udp_answer(self.port):
            raise RuntimeError(f"kamailio did not answer OPTIONS (see kamailio-{children}.log)")

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def socket_buffer_caps():
    """net.core.rmem_max and wmem_max: SIPp, Kamailio and switchboard all
    ask for SIPP_BUFFER and get at most these, so the figures depend on
    them (Debian's default is 212992)."""
    caps = {}
    for name in ("rmem_max", "wmem_max"):
        try:
            with open(f"/proc/sys/net/core/{name}") as f:
                caps[name] = int(f.read().strip())
        except OSError:
            caps[name] = None
    return caps


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def step(target_port, rate, workdir, label):
    """One step: STEP_SECONDS of calls at `rate`; returns its figures."""
    calls = min(MAX_CALLS, rate * STEP_SECONDS)
    d = os.path.join(workdir, f"{label}-{rate}")
    os.makedirs(d)
    cmd = ["sipp", "-sf", os.path.join(SIPP_DIR, "call_ext_uac.xml"), f"127.0.0.1:{target_port}",
           "-i", "127.0.0.1", "-p", str(free_port()), "-mp", str(free_port()),
           "-s", "5551234", "-key", "caller", "1001", "-au", "1001", "-ap", SECRET,
           "-r", str(rate), "-m", str(calls), "-l", str(max(100, rate * 4)), "-nostdin",
           "-timeout", f"{STEP_SECONDS * 4 + 30}s", "-recv_timeout", "10000", "-max_socket", "60000",
           "-buff_size", str(SIPP_BUFFER),
           "-trace_rtt", "-rtt_freq", "1", "-trace_stat", "-fd", "1", "-trace_err"]
    started = time.monotonic()
    r = subprocess.run(cmd, cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elapsed = time.monotonic() - started
    ok = failed = 0
    causes = {}
    for stat in glob.glob(os.path.join(d, "*_.csv")):
        with open(stat) as f:
            rows = list(csv.reader(f, delimiter=";"))
        if len(rows) >= 2:
            head, last = rows[0], rows[-1]
            ok = int(last[head.index("SuccessfulCall(C)")])
            failed = int(last[head.index("FailedCall(C)")])
            # SIPp's own split of the failures (timeouts, unexpected
            # messages...); the messages are in the step's *_errors.log.
            causes = {k[:-3]: int(v) for k, v in zip(head, last)
                      if k.startswith("Failed") and k.endswith("(C)") and k != "FailedCall(C)" and v.isdigit() and int(v) > 0}
    rtts = []
    for rtt in glob.glob(os.path.join(d, "*_rtt.csv")):
        with open(rtt) as f:
            for row in csv.reader(f, delimiter=";"):
                try:
                    rtts.append(float(row[1]))
                except (ValueError, IndexError):
                    pass
    failed = max(failed, calls - ok)
    achieved = round(ok / elapsed, 1) if elapsed > 0 else 0
    p99 = percentile(rtts, 99)
    why = []
    if failed:
        split = ", ".join(f"{k} {v}" for k, v in causes.items())
        why.append(f"{failed} failed" + (f" ({split})" if split else ""))
    if p99 is None or p99 > P99_LIMIT_MS:
        why.append(f"p99 {p99} ms > {P99_LIMIT_MS} ms")
    # SIPp's elapsed time includes the last calls' setup and BYE, so it runs
    # a little under the offered rate even when nothing queues.
    if achieved < ACHIEVED_MIN * rate:
        why.append(f"achieved {achieved} cps < {ACHIEVED_MIN:.0%} of offered")
    return {"rate": rate, "calls": calls, "ok": ok, "failed": failed, "failure_causes": causes, "sipp_exit": r.returncode,
            "achieved_cps": achieved, "p50_ms": percentile(rtts, 50), "p99_ms": p99,
            "clean": not why, "not_clean_because": why}


def sweep(target_port, rates, workdir, label):
    steps = []
    for rate in rates:
        s = step(target_port, rate, workdir, label)
        steps.append(s)
        print(f"  {label:<12} {rate:>6} cps: {s['ok']:>6} ok {s['failed']:>5} failed  "
              f"p50 {s['p50_ms']} ms  p99 {s['p99_ms']} ms  achieved {s['achieved_cps']} cps"
              + ("" if s["clean"] else "  NOT CLEAN: " + "; ".join(s["not_clean_because"])), flush=True)
        if not s["clean"]:
            break
        time.sleep(2)
    clean = [s for s in steps if s["clean"]]
    best = max(clean, key=lambda s: s["rate"]) if clean else None
    return {"steps": steps, "best_clean_rate": best["rate"] if best else 0, "best": best}


def main():
    global STEP_SECONDS
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(REPO, "target", "release", "switchboard"))
    ap.add_argument("--rates", default="50,100,200,400,800,1200,1400,1600,2000,2400,3200")
    ap.add_argument("--out", default=os.path.join(REPO, "target", "bench"))
    ap.add_argument("--step-seconds", type=int, default=STEP_SECONDS, help="length of each step")
    ap.add_argument("--systems", default="kamailio,switchboard",
                    help="which to sweep (one alone is for profiling; the ratio needs both)")
    args = ap.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    STEP_SECONDS = args.step_seconds
    for tool in ("sipp", "kamailio"):
        if shutil.which(tool) is None:
            sys.exit(f"missing {tool}: make bench installs sip-tester and kamailio")
    workdir = tempfile.mkdtemp(prefix="sb-bench-cps-")
    result = {"rates": rates, "step_seconds": STEP_SECONDS, "p99_limit_ms": P99_LIMIT_MS, "achieved_min": ACHIEVED_MIN,
              "socket_buffer_caps": socket_buffer_caps()}
    procs = []
    try:
        print("call setup rate (SIPp uac with digest -> system -> SIPp uas), stepping up to the first failure:")
        caps = result["socket_buffer_caps"]
        print(f"  (socket buffers asked: {SIPP_BUFFER} bytes; the host caps them at {caps})")
        systems = args.systems.split(",")
        if "kamailio" in systems:
            runs = {}
            for children in KAMAILIO_WORKERS:
                carrier = Carrier(workdir)
                procs.append(carrier)
                kam = Kamailio(workdir, carrier.port, children)
                procs.append(kam)
                print(f"  (kamailio with {children} UDP worker{'s' if children > 1 else ''})", flush=True)
                runs[children] = sweep(kam.port, rates, workdir, f"kamailio{children}w")
                kam.stop()
                carrier.stop()
            best = max(KAMAILIO_WORKERS, key=lambda c: runs[c]["best_clean_rate"])
            result["kamailio"] = dict(runs[best], workers=best)
            result["kamailio_by_workers"] = {str(c): runs[c] for c in KAMAILIO_WORKERS}
        if "switchboard" in systems:
            carrier = Carrier(workdir)
            procs.append(carrier)
            sb = Switchboard(args.binary, workdir, carrier.port)
            procs.append(sb)
            print(f"  (switchboard pid {sb.proc.pid})", flush=True)
            result["switchboard"] = sweep(sb.port, rates, workdir, "switchboard")
    finally:
        for p in reversed(procs):
            p.stop()
    k = result.get("kamailio", {}).get("best_clean_rate")
    s = result.get("switchboard", {}).get("best_clean_rate")
    result["ratio_vs_kamailio"] = round(s / k, 3) if k and s is not None else None
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "cps.json"), "w") as f:
        json.dump(result, f, indent=2)
    print()
    print(f"{'system':<14}{'best clean cps':>16}{'p50 ms':>10}{'p99 ms':>10}")
    for name in ("kamailio", "switchboard"):
        if name not in result:
            continue
        b = result[name]["best"] or {}
        if name == "kamailio":
            for c, run in result["kamailio_by_workers"].items():
                print(f"  ({c} worker{'s' if c != '1' else ''}: best clean {run['best_clean_rate']})")
        print(f"{name:<14}{result[name]['best_clean_rate']:>16}{str(b.get('p50_ms')):>10}{str(b.get('p99_ms')):>10}")
    print(f"switchboard / kamailio: {result['ratio_vs_kamailio']}  (target: >= 2000 cps on 2 cores; "
          f"clean = no failure, p99 <= {P99_LIMIT_MS} ms, >= {ACHIEVED_MIN:.0%} of the offered rate achieved)")
    print(f"JSON: {os.path.join(args.out, 'cps.json')}; logs: {workdir}")


if __name__ == "__main__":
    main()
