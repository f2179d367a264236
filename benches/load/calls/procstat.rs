//! CPU time and resident memory of a process or thread, from /proc.
//!
//! CPU is utime + stime (fields 14 and 15 of `stat`, in clock ticks, all
//! threads of a process summed by the kernel); RSS is `VmRSS` of `status`.
//! Sampled at the start and end of the hold window only, so the cost of
//! reading them does not matter.

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`, normally 100).
pub fn clk_tck() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// utime + stime in seconds of `/proc/<path>/stat` (`path` is "1234",
/// "self" or "self/task/5678"); None when the process is gone.
pub fn cpu_secs(path: &str) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/{path}/stat")).ok()?;
    // The command name (field 2) may contain spaces: fields are counted
    // after its closing parenthesis, where field 3 (state) comes first.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / clk_tck())
}

/// VmRSS in KB of `/proc/<path>/status`.
pub fn rss_kb(path: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{path}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// The kernel's UDP counters (`/proc/net/snmp`): InErrors and
/// RcvbufErrors. Their growth over a window means some socket on the box
/// (ours or switchboard's) overflowed: loss the kernel saw, not the app.
pub fn udp_errors() -> (u64, u64) {
    let Ok(text) = std::fs::read_to_string("/proc/net/snmp") else { return (0, 0) };
    let mut lines = text.lines().filter(|l| l.starts_with("Udp:"));
    let (Some(head), Some(vals)) = (lines.next(), lines.next()) else { return (0, 0) };
    let get = |name: &str| -> u64 {
        let i = head.split_whitespace().position(|h| h == name);
        i.and_then(|i| vals.split_whitespace().nth(i)).and_then(|v| v.parse().ok()).unwrap_or(0)
    };
    (get("InErrors"), get("RcvbufErrors"))
}

/// The calling thread's kernel id, for `/proc/self/task/<tid>/stat`.
pub fn gettid() -> i64 {
    // SAFETY: gettid has no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_gettid) }
}

/// Number of online CPUs.
pub fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// The 1-minute load average: other work on a shared machine shows here.
pub fn loadavg() -> f64 {
    std::fs::read_to_string("/proc/loadavg").ok().and_then(|t| t.split_whitespace().next().and_then(|v| v.parse().ok())).unwrap_or(0.0)
}

/// Busy CPU seconds of the whole machine (all cores, `/proc/stat`): with
/// the measured processes' own CPU subtracted, what else ran meanwhile.
pub fn machine_busy_secs() -> f64 {
    let Ok(text) = std::fs::read_to_string("/proc/stat") else { return 0.0 };
    let Some(line) = text.lines().find(|l| l.starts_with("cpu ")) else { return 0.0 };
    let v: Vec<f64> = line.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    if v.len() < 5 {
        return 0.0;
    }
    // user nice system idle iowait irq softirq steal (guest is inside user).
    let total: f64 = v.iter().take(8).sum();
    (total - v[3] - v[4]) / clk_tck()
}
