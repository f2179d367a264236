//! The figures of a step derived from the media counters, the rule that
//! stops a sweep, and the printed tables.

use serde_json::Value;

use super::media::MediaResult;

pub fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

pub fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        round(part as f64 * 100.0 / whole as f64, 4)
    }
}

/// Below this share of the nominal packet rate the generator itself was
/// starved of CPU: the step did not offer N calls' worth of media, so the
/// sweep stops there (the row says `generator_limited`).
pub const MIN_OFFERED_PCT: f64 = 95.0;

/// The share of packets a stream without the stamp may fall short of real
/// time (50/s) before the step counts as failed: 1 % is 200 ms over 20 s.
pub const MAX_SHORTFALL_PCT: f64 = 1.0;

/// Loss, shortfall, jitter and packet counts of a step, from what the media
/// thread saw. Stamped (relayed) flows: loss is exact (sent in the window vs
/// arrived). Other streams: loss is what is missing from the RTP sequence
/// numbers; the shortfall is how many fewer packets than a steady 50/s
/// arrived without a sequence gap, i.e. the sender's clock fell behind.
pub fn media_figures(m: &MediaResult, stamped: bool) -> (f64, f64, Option<f64>, u64, &'static str) {
    if stamped {
        let sent = m.sent[0] + m.sent[1];
        let got = m.stamped_received[0] + m.stamped_received[1];
        (pct(sent.saturating_sub(got), sent), 0.0, m.added_jitter_p99_ms, got, "added jitter p99: per packet, transit minus its flow's minimum transit (payload stamp)")
    } else {
        let expected = m.rx_expected[0] + m.rx_expected[1];
        let deficit = m.rx_deficit[0] + m.rx_deficit[1];
        let received = m.received[0] + m.received[1];
        let gaps = m.seq_gaps[0] + m.seq_gaps[1];
        let j = m.rfc3550_jitter_p99_ms.iter().flatten().cloned().fold(None, |a: Option<f64>, b| Some(a.map_or(b, |a| a.max(b))));
        (
            pct(gaps, received + gaps),
            pct(deficit.saturating_sub(gaps), expected),
            j,
            received,
            "RFC 3550 interarrival jitter at window end, p99 over receiving legs (payload transcoded or generated: no stamp)",
        )
    }
}

/// What the generator actually sent in the window, as a share of what its
/// legs should have sent (every leg one packet per 20 ms). Below ~99 % the
/// generator was starved of CPU and the step offered less than nominal.
pub fn offered_pct(m: &MediaResult) -> f64 {
    let per_leg = (m.window_secs / 0.020).floor();
    let want = per_leg * (m.legs[0] + m.legs[1]) as f64;
    if want > 0.0 {
        round((m.sent[0] + m.sent[1]) as f64 * 100.0 / want, 2)
    } else {
        0.0
    }
}

pub fn clean(row: &Value) -> bool {
    row.get("error").is_none()
        && row["loss_pct"].as_f64().unwrap_or(1.0) == 0.0
        && row.get("shortfall_pct").and_then(Value::as_f64).unwrap_or(0.0) <= MAX_SHORTFALL_PCT
        && row.get("offered_pct").and_then(Value::as_f64).unwrap_or(100.0) >= MIN_OFFERED_PCT
        && row.get("setup_failed").and_then(Value::as_u64).unwrap_or(0) == 0
        && row.get("dropped_by_switchboard").and_then(Value::as_u64).unwrap_or(0) == 0
}

pub fn int(v: &Value) -> String {
    v.as_u64().map(|n| n.to_string()).unwrap_or_else(|| "-".into())
}

pub fn fmt_opt(v: &Value, digits: usize) -> String {
    v.as_f64().map(|f| format!("{f:.digits$}")).unwrap_or_else(|| "-".into())
}

pub fn print_table(mode: &str, rows: &[Value]) {
    println!();
    if mode == "floor" {
        println!("floor (minimal recvmmsg/sendmmsg relay thread, same legs and packet rate):");
        println!("{:>6} {:>8} {:>9} {:>10} {:>10} {:>9} {:>7} {:>6}", "N", "loss %", "jit p99ms", "us/packet", "relay CPU%", "tool CPU%", "offer%", "other");
        for r in rows {
            if let Some(e) = r.get("error") {
                println!("{:>6} error: {e}", int(&r["n"]));
                continue;
            }
            println!(
                "{:>6} {:>8} {:>9} {:>10} {:>10} {:>9} {:>7} {:>6}",
                int(&r["n"]), fmt_opt(&r["loss_pct"], 3), fmt_opt(&r["jitter_p99_ms"], 2), fmt_opt(&r["floor_us_per_packet"], 2),
                fmt_opt(&r["floor_cpu_pct"], 1), fmt_opt(&r["tool_cpu_pct"], 1), fmt_opt(&r["offered_pct"], 1), fmt_opt(&r["other_cpu_cores"], 2)
            );
        }
        return;
    }
    let jit = if mode == "bridged" { "jit p99ms" } else { "3550 p99" };
    println!("{mode}:");
    println!(
        "{:>6} {:>6} {:>6} {:>8} {:>7} {:>9} {:>9} {:>9} {:>10} {:>8} {:>9} {:>7} {:>6}",
        "N", "setup", "failed", "loss %", "short%", jit, "CPU%/call", "us/packet", "calls/core", "KB/call", "tool CPU%", "offer%", "other"
    );
    for r in rows {
        if let Some(e) = r.get("error") {
            println!("{:>6} error: {e}", int(&r["n"]));
            continue;
        }
        println!(
            "{:>6} {:>6} {:>6} {:>8} {:>7} {:>9} {:>9} {:>9} {:>10} {:>8} {:>9} {:>7} {:>6}",
            int(&r["n"]), int(&r["setup_ok"]), int(&r["setup_failed"]), fmt_opt(&r["loss_pct"], 3), fmt_opt(&r["shortfall_pct"], 2), fmt_opt(&r["jitter_p99_ms"], 2),
            fmt_opt(&r["sb_cpu_pct_per_call"], 3), fmt_opt(&r["sb_us_per_packet"], 2), fmt_opt(&r["calls_per_core"], 0),
            fmt_opt(&r["kb_per_call"], 1), fmt_opt(&r["tool_cpu_pct"], 1), fmt_opt(&r["offered_pct"], 1), fmt_opt(&r["other_cpu_cores"], 2)
        );
    }
}

pub fn summary(r: &Value) -> String {
    if let Some(e) = r.get("error") {
        return format!("error: {e}");
    }
    format!(
        "setup {}/{} ok, loss {} %, shortfall {} %, jitter p99 {} ms, sb {} s CPU, {} us/packet, {} KB/call, tool CPU {} %",
        r["setup_ok"], r["n"], r["loss_pct"], r["shortfall_pct"], r["jitter_p99_ms"], r["sb_cpu_secs"], r["sb_us_per_packet"], r["kb_per_call"], r["tool_cpu_pct"]
    )
}
