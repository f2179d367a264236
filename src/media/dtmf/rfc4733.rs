//! RTP telephone-events (RFC 4733 §2): payload wire format, a receiver that reports each key
//! press once, and a sender that produces the packet train for one press.
//!
//! Owns: the 4-byte event payload, event reassembly from duration updates and end
//! retransmissions, the send schedule. Must not touch: the RTP header (the relay parses and
//! builds it and hands us timestamp, marker and payload), sockets, clocks (time comes in as
//! milliseconds from the caller).

use std::collections::VecDeque;

use thiserror::Error;

use super::event::{Digit, DtmfEvent, DtmfSource};

/// Why a telephone-event payload was refused.
#[derive(Debug, Error, PartialEq, Eq, Clone, Copy)]
pub enum TelephoneEventError {
    /// Fewer than the 4 bytes of one event (RFC 4733 §2.3).
    #[error("telephone-event payload too short: {0} bytes")]
    Truncated(usize),
}

/// One event block of the payload (RFC 4733 §2.3, figure 1):
/// `event(8) | E(1) R(1) volume(6) | duration(16)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// Event code (§3.2: 0–15 are the DTMF keys).
    pub event: u8,
    /// End bit (§2.3.2).
    pub end: bool,
    /// Power level as −dBm0, 0..=63 (§2.3.4).
    pub volume: u8,
    /// Duration so far in timestamp units (§2.3.5).
    pub duration: u16,
}

impl TelephoneEvent {
    /// Parses the first event block; trailing blocks (§2.5.1.5 packing) are not interpreted.
    pub fn parse(payload: &[u8]) -> Result<TelephoneEvent, TelephoneEventError> {
        let b: &[u8; 4] = payload
            .get(..4)
            .and_then(|s| s.try_into().ok())
            .ok_or(TelephoneEventError::Truncated(payload.len()))?;
        // Volume is 6 bits (§2.3.4: 0 to −63 dBm0), so any value is in range; R is ignored.
        Ok(TelephoneEvent {
            event: b[0],
            end: b[1] & 0x80 != 0,
            volume: b[1] & 0x3f,
            duration: u16::from_be_bytes([b[2], b[3]]),
        })
    }

    /// Wire form; the R bit is sent as 0 (§2.3.3).
    pub fn to_bytes(&self) -> [u8; 4] {
        let d = self.duration.to_be_bytes();
        [
            self.event,
            (u8::from(self.end) << 7) | (self.volume & 0x3f),
            d[0],
            d[1],
        ]
    }
}

/// Fuzz entry: parsing and feeding arbitrary bytes must never panic.
pub fn fuzz_parse(data: &[u8]) {
    let _ = TelephoneEvent::parse(data);
    let mut rx = TelephoneEventReceiver::new(8000);
    for (i, chunk) in data.chunks(9).enumerate() {
        let ts = chunk
            .get(..4)
            .and_then(|s| s.try_into().ok())
            .map(u32::from_be_bytes)
            .unwrap_or(0);
        let marker = chunk.get(4).is_some_and(|b| b & 1 != 0);
        let _ = rx.handle_packet(i as u64 * 20, ts, marker, chunk.get(5..).unwrap_or(&[]));
        rx.handle_timeout(i as u64 * 20);
        while rx.poll_event().is_some() {}
    }
}

/// An event being received: keyed by its RTP timestamp (§2.5.2.1: all packets of one event
/// carry the event's start timestamp).
struct InProgress {
    ts: u32,
    /// Extended (wrap-free) start timestamp.
    start: u64,
    digit: Digit,
    /// Sum of finished long-event segments (§2.5.1.3) plus the current segment's duration.
    done_segments: u32,
    duration: u16,
    volume: u8,
    last_arrival_ms: u64,
}

/// Timestamps of recently finished events, so late end retransmissions are ignored.
const RECENT: usize = 4;
/// Events buffered between polls.
const QUEUE: usize = 8;
/// How long after the last packet taken an older timestamp still reads as a late (reordered)
/// packet of an older event, and is dropped. Past that nothing is "late": the sender's
/// timestamps restarted, or the newest one was corrupt (one bit flipped high in a single packet
/// would otherwise put the reference up to 2^31 units ahead and silence every later key for
/// the rest of the call).
const LATE_HORIZON_MS: u64 = 1000;

/// Reassembles telephone-events into one `DtmfEvent` per key press (RFC 4733 §2.5.2).
///
/// Reports at the end bit, or when a new event timestamp shows the end packets were lost,
/// or after `end_timeout_ms` without packets. Duplicates (updates, the three end packets,
/// reordered late packets) are absorbed; a lost first packet is harmless since every packet
/// carries the start timestamp; a new press of the same key is recognised by its new timestamp.
pub struct TelephoneEventReceiver {
    rate: u32,
    end_timeout_ms: u64,
    /// Last timestamp seen and its extension, for 32-bit wrap (RFC 3550 §5.1).
    last_ts: Option<(u32, u64)>,
    /// Arrival of the last packet taken (ms): how fresh `last_ts` is as the lateness reference.
    last_arrival_ms: u64,
    current: Option<InProgress>,
    recent: [Option<u32>; RECENT],
    recent_next: usize,
    events: VecDeque<DtmfEvent>,
}

impl TelephoneEventReceiver {
    /// `rate`: the telephone-event clock rate from SDP (usually 8000; §2.1: same as the audio).
    pub fn new(rate: u32) -> TelephoneEventReceiver {
        TelephoneEventReceiver {
            rate,
            // A sender updates every 50 ms (§2.5.1.2); 500 ms without any is a lost end.
            end_timeout_ms: 500,
            last_ts: None,
            last_arrival_ms: 0,
            current: None,
            recent: [None; RECENT],
            recent_next: 0,
            events: VecDeque::with_capacity(QUEUE),
        }
    }

    pub fn with_end_timeout(mut self, ms: u64) -> Self {
        self.end_timeout_ms = ms;
        self
    }

    /// One telephone-event RTP packet: header timestamp and marker, payload bytes, arrival time.
    /// Non-DTMF events (codes > 15) are accepted and ignored.
    pub fn handle_packet(
        &mut self,
        now_ms: u64,
        ts: u32,
        _marker: bool,
        payload: &[u8],
    ) -> Result<(), TelephoneEventError> {
        let ev = TelephoneEvent::parse(payload)?;
        let Some(digit) = Digit::from_event_code(ev.event) else {
            return Ok(());
        };
        if self.recent.contains(&Some(ts)) {
            return Ok(()); // retransmitted end of an event already reported
        }
        if let Some((last, _)) = self.last_ts {
            if (ts.wrapping_sub(last) as i32) < 0 {
                if now_ms.saturating_sub(self.last_arrival_ms) <= LATE_HORIZON_MS {
                    return Ok(()); // late packet of an event older than the newest one seen
                }
                // Far too late to be reordering: the timeline restarted; re-base on this one.
                self.last_ts = None;
            }
        }
        self.last_arrival_ms = now_ms;
        let start = self.extend(ts);
        if let Some(cur) = self.current.as_mut() {
            if cur.ts == ts {
                cur.duration = cur.duration.max(ev.duration);
                cur.volume = ev.volume;
                cur.last_arrival_ms = now_ms;
                if ev.end {
                    self.finish();
                }
                return Ok(());
            }
            // §2.5.1.3: a long event continues in a new segment starting exactly where the
            // previous one (at the maximum duration) stopped, same key, no end bit in between.
            let continues = cur.digit == digit
                && cur.duration == u16::MAX
                && ts == cur.ts.wrapping_add(u32::from(u16::MAX));
            if continues {
                cur.done_segments = cur.done_segments.saturating_add(u32::from(u16::MAX));
                cur.ts = ts;
                cur.duration = ev.duration;
                cur.last_arrival_ms = now_ms;
                if ev.end {
                    self.finish();
                }
                return Ok(());
            }
            // A new event while the old one never ended: its end packets were lost.
            self.finish();
        }
        self.current = Some(InProgress {
            ts,
            start,
            digit,
            done_segments: 0,
            duration: ev.duration,
            volume: ev.volume,
            last_arrival_ms: now_ms,
        });
        if ev.end {
            self.finish(); // only an end packet made it through
        }
        Ok(())
    }

    /// Ends an event whose end packets were all lost.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        if let Some(cur) = &self.current {
            if now_ms >= cur.last_arrival_ms + self.end_timeout_ms {
                self.finish();
            }
        }
    }

    /// When `handle_timeout` next needs calling.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.current
            .as_ref()
            .map(|c| c.last_arrival_ms + self.end_timeout_ms)
    }

    pub fn poll_event(&mut self) -> Option<DtmfEvent> {
        self.events.pop_front()
    }

    fn extend(&mut self, ts: u32) -> u64 {
        let ext = match self.last_ts {
            None => u64::from(ts),
            Some((last, ext)) => ext.wrapping_add_signed(i64::from(ts.wrapping_sub(last) as i32)),
        };
        // Only move the reference forward, so a late old packet does not drag it back.
        if self
            .last_ts
            .is_none_or(|(last, _)| (ts.wrapping_sub(last) as i32) >= 0)
        {
            self.last_ts = Some((ts, ext));
        }
        ext
    }

    fn finish(&mut self) {
        let Some(cur) = self.current.take() else {
            return;
        };
        self.recent[self.recent_next] = Some(cur.ts);
        self.recent_next = (self.recent_next + 1) % RECENT;
        if self.events.len() == QUEUE {
            self.events.pop_front();
        }
        self.events.push_back(DtmfEvent {
            digit: cur.digit,
            start: cur.start,
            duration: cur.done_segments.saturating_add(u32::from(cur.duration)),
            rate: self.rate,
            volume: Some(cur.volume),
            source: DtmfSource::Rfc4733,
        });
    }
}

/// One packet to send: the relay puts `timestamp` and `marker` in the RTP header (with its own
/// sequence number) and sends `payload` at `send_at` samples after the press started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TelephoneEventPacket {
    pub send_at: u32,
    pub timestamp: u32,
    pub marker: bool,
    pub payload: [u8; 4],
}

/// The packet train for one key press (RFC 4733 §2.5.1): a first packet with the marker bit,
/// duration updates every 50 ms (§2.5.1.2 recommends 50 ms for DTMF), then the final packet
/// with the end bit sent three times (§2.5.1.4), 20 ms apart so one burst loss cannot take all.
/// An iterator over fixed state: nothing is allocated.
pub struct TelephoneEventSender {
    digit: Digit,
    timestamp: u32,
    duration: u16,
    volume: u8,
    interval: u32,
    gap: u32,
    next_at: u32,
    ends_sent: u8,
}

impl TelephoneEventSender {
    /// `timestamp`: the RTP timestamp of the press start; `duration` in timestamp units (capped
    /// at 65535, 8.2 s at 8 kHz: one segment, §2.5.1.3 not used); `volume` as −dBm0 (e.g. 10).
    pub fn new(
        digit: Digit,
        timestamp: u32,
        duration: u32,
        volume: u8,
        rate: u32,
    ) -> TelephoneEventSender {
        TelephoneEventSender {
            digit,
            timestamp,
            duration: u16::try_from(duration).unwrap_or(u16::MAX),
            volume: volume.min(63),
            interval: (rate / 20).max(1),
            gap: (rate / 50).max(1),
            next_at: 0,
            ends_sent: 0,
        }
    }
}

impl Iterator for TelephoneEventSender {
    type Item = TelephoneEventPacket;

    fn next(&mut self) -> Option<TelephoneEventPacket> {
        let total = u32::from(self.duration);
        if self.ends_sent >= 3 {
            return None;
        }
        let end = self.next_at >= total;
        let ev = TelephoneEvent {
            event: self.digit.event_code(),
            end,
            volume: self.volume,
            duration: u16::try_from(self.next_at.min(total)).unwrap_or(u16::MAX),
        };
        let pkt = TelephoneEventPacket {
            send_at: if end {
                total + u32::from(self.ends_sent) * self.gap
            } else {
                self.next_at
            },
            timestamp: self.timestamp,
            marker: self.next_at == 0,
            payload: ev.to_bytes(),
        };
        if end {
            self.ends_sent += 1;
            self.next_at = total.max(1);
        } else {
            self.next_at = (self.next_at + self.interval).min(total);
        }
        Some(pkt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(code: u8, end: bool, dur: u16) -> [u8; 4] {
        TelephoneEvent {
            event: code,
            end,
            volume: 10,
            duration: dur,
        }
        .to_bytes()
    }

    fn drain(rx: &mut TelephoneEventReceiver) -> Vec<(char, u64, u32)> {
        std::iter::from_fn(|| rx.poll_event())
            .map(|e| (e.digit.to_char(), e.start, e.duration))
            .collect()
    }

    #[test]
    fn once_per_event_despite_updates_and_end_retransmissions() {
        let mut rx = TelephoneEventReceiver::new(8000);
        let mut now = 0;
        for p in TelephoneEventSender::new(Digit::D5, 1000, 1600, 10, 8000) {
            rx.handle_packet(now, p.timestamp, p.marker, &p.payload)
                .unwrap();
            now += 20;
        }
        assert_eq!(drain(&mut rx), vec![('5', 1000, 1600)]);
        // A very late extra end retransmission changes nothing.
        rx.handle_packet(now, 1000, false, &pkt(5, true, 1600))
            .unwrap();
        rx.handle_timeout(now + 10_000);
        assert!(drain(&mut rx).is_empty());
    }

    #[test]
    fn sender_schedule() {
        let v: Vec<_> = TelephoneEventSender::new(Digit::Hash, 7, 1000, 10, 8000).collect();
        let parsed: Vec<_> = v
            .iter()
            .map(|p| TelephoneEvent::parse(&p.payload).unwrap())
            .collect();
        assert!(v[0].marker && v[1..].iter().all(|p| !p.marker && p.timestamp == 7));
        assert_eq!(
            parsed.iter().map(|e| e.duration).collect::<Vec<_>>(),
            [0, 400, 800, 1000, 1000, 1000]
        );
        assert_eq!(parsed.iter().filter(|e| e.end).count(), 3);
        assert!(parsed.iter().all(|e| e.event == 11 && e.volume == 10));
        assert_eq!(
            v.iter().map(|p| p.send_at).collect::<Vec<_>>(),
            [0, 400, 800, 1000, 1160, 1320]
        );
    }

    #[test]
    fn lost_first_packet_lost_end_and_same_digit_again() {
        let mut rx = TelephoneEventReceiver::new(8000);
        // First packet (marker) lost; updates then all end packets lost.
        rx.handle_packet(0, 500, false, &pkt(1, false, 400))
            .unwrap();
        rx.handle_packet(50, 500, false, &pkt(1, false, 800))
            .unwrap();
        // Same key again, new timestamp: the old one ends, the new one is separate.
        rx.handle_packet(300, 3000, true, &pkt(1, false, 0))
            .unwrap();
        assert_eq!(drain(&mut rx), vec![('1', 500, 800)]);
        rx.handle_packet(350, 3000, false, &pkt(1, true, 640))
            .unwrap();
        rx.handle_packet(360, 3000, false, &pkt(1, true, 640))
            .unwrap();
        assert_eq!(drain(&mut rx), vec![('1', 3000, 640)]);
        // Timeout path.
        rx.handle_packet(1000, 9000, true, &pkt(2, false, 160))
            .unwrap();
        assert_eq!(rx.poll_timeout(), Some(1500));
        rx.handle_timeout(1499);
        assert!(drain(&mut rx).is_empty());
        rx.handle_timeout(1500);
        assert_eq!(drain(&mut rx), vec![('2', 9000, 160)]);
        // Late packet of an older event is ignored.
        rx.handle_packet(1600, 8000, false, &pkt(3, false, 160))
            .unwrap();
        rx.handle_timeout(5000);
        assert!(drain(&mut rx).is_empty());
    }

    #[test]
    fn timestamp_wrap_and_long_events() {
        let mut rx = TelephoneEventReceiver::new(8000);
        rx.handle_packet(0, u32::MAX - 100, true, &pkt(4, true, 160))
            .unwrap();
        rx.handle_packet(100, 200, true, &pkt(6, true, 160))
            .unwrap();
        let got = drain(&mut rx);
        assert_eq!(got[0], ('4', u64::from(u32::MAX - 100), 160));
        assert_eq!(got[1], ('6', (1u64 << 32) + 200, 160));
        // Long event: one full segment, then a continuation segment.
        rx.handle_packet(200, 10_000, true, &pkt(7, false, u16::MAX))
            .unwrap();
        rx.handle_packet(9000, 10_000 + 65_535, false, &pkt(7, true, 800))
            .unwrap();
        assert_eq!(
            drain(&mut rx),
            vec![('7', 10_000 + (1u64 << 32), 65_535 + 800)]
        );
    }

    /// Regression (tests/media_mutation.rs, MUTATION_SEED=1592642302): one corrupt packet with
    /// a timestamp far ahead made every later key press "late" for the rest of the call.
    #[test]
    fn a_corrupt_timestamp_ahead_does_not_silence_later_keys() {
        let mut rx = TelephoneEventReceiver::new(8000);
        rx.handle_packet(0, 16_000, true, &pkt(1, true, 400))
            .unwrap();
        // A bit flip put this one's timestamp 2^30 ahead.
        rx.handle_packet(20, 16_000 + (1 << 30), false, &pkt(5, true, 400))
            .unwrap();
        assert_eq!(drain(&mut rx).len(), 2);
        // Within the horizon an older timestamp is still a late packet, and ignored.
        rx.handle_packet(500, 24_000, true, &pkt(9, true, 400))
            .unwrap();
        assert!(drain(&mut rx).is_empty());
        // The caller's next key, well after: taken, on a re-based timeline.
        for (i, dur) in [160u16, 480, 800].into_iter().enumerate() {
            rx.handle_packet(2000 + 50 * i as u64, 40_000, i == 0, &pkt(11, false, dur))
                .unwrap();
        }
        for i in 0..3 {
            rx.handle_packet(2200 + 20 * i, 40_000, false, &pkt(11, true, 960))
                .unwrap();
        }
        assert_eq!(drain(&mut rx), vec![('#', 40_000, 960)]);
        // And the one after it, normally.
        rx.handle_packet(3000, 48_000, true, &pkt(2, true, 400))
            .unwrap();
        assert_eq!(drain(&mut rx), vec![('2', 48_000, 400)]);
    }

    #[test]
    fn garbage_never_panics() {
        assert_eq!(
            TelephoneEvent::parse(&[1, 2]),
            Err(TelephoneEventError::Truncated(2))
        );
        let mut rx = TelephoneEventReceiver::new(8000);
        assert!(rx.handle_packet(0, 1, true, &[]).is_err());
        rx.handle_packet(0, 1, true, &[200, 0x80, 0, 1]).unwrap(); // non-DTMF event ignored
        assert!(drain(&mut rx).is_empty());
        let mut seed = 0x1234_5678u32;
        let mut buf = [0u8; 64];
        for _ in 0..2000 {
            for b in buf.iter_mut() {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                *b = (seed >> 16) as u8;
            }
            fuzz_parse(&buf[..(seed as usize % 64)]);
        }
    }
}
