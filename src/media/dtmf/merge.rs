//! One DTMF stream per leg out of three sources (RFC 4733, SIP INFO, in-band).
//!
//! Owns: deciding whether events from different sources are the same key press, and which
//! timing to report. Must not touch: the sources themselves (their own duplicates — RFC 4733
//! updates and end retransmissions, detector blocks — are already gone when events get here).
//!
//! Rules:
//! - Events from the *same* source are always distinct presses (each source de-duplicates
//!   itself), so "5 5" pressed quickly stays two digits.
//! - An event is a duplicate of an earlier press with the same key whose estimated start is
//!   within `window_ms`, provided that press has not yet been seen from this event's source;
//!   each press absorbs at most one event per source, so a repeated press after a pause is new.
//! - RFC 4733 timing is preferred: RFC 4733 presses are released at once; INFO and in-band
//!   presses are held `hold_ms` so a matching RFC 4733 event can replace their timing.
//!
//! Times are milliseconds on the caller's clock (e.g. since the call started). RFC 4733 and
//! in-band events arrive when the press ends, so their start is `now − duration`; an INFO
//! request is taken to start the press when it arrives.

use std::collections::VecDeque;

use super::event::{Digit, DtmfEvent, DtmfSource};

/// A de-duplicated key press.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MergedDigit {
    pub digit: Digit,
    /// Estimated press start on the caller's clock, ms.
    pub start_ms: u64,
    pub duration_ms: u32,
    /// The source whose timing is reported.
    pub source: DtmfSource,
}

#[derive(Clone, Copy)]
struct Press {
    merged: MergedDigit,
    /// Bit per `DtmfSource` already matched to this press.
    seen: u8,
    /// `Some(t)`: still held, release at `t`.
    release_at: Option<u64>,
}

const HISTORY: usize = 16;

fn bit(s: DtmfSource) -> u8 {
    match s {
        DtmfSource::Rfc4733 => 1,
        DtmfSource::SipInfo => 2,
        DtmfSource::InBand => 4,
    }
}

/// Per-leg merger; fixed storage, no allocation after `new`.
pub struct DtmfMerger {
    window_ms: u64,
    hold_ms: u64,
    history: [Option<Press>; HISTORY],
    next: usize,
    out: VecDeque<MergedDigit>,
}

impl Default for DtmfMerger {
    fn default() -> Self {
        // window 250 ms: covers INFO's signalling-path lag against media and the detector's
        // ±13 ms start error. Two real presses can start closer than that (Q.24 allows a tone
        // and pause of 40 ms each); they stay apart because each press absorbs one event per
        // source. hold 80 ms: RFC 4733 end packets trail the in-band end by about a jitter
        // buffer; longer holds only add latency to legs without RFC 4733.
        DtmfMerger::new(250, 80)
    }
}

impl DtmfMerger {
    pub fn new(window_ms: u64, hold_ms: u64) -> DtmfMerger {
        DtmfMerger {
            window_ms,
            hold_ms,
            history: [None; HISTORY],
            next: 0,
            out: VecDeque::with_capacity(HISTORY),
        }
    }

    /// A source's event at `now_ms`. For `SipInfo` build the event with `DtmfEvent::info`.
    pub fn push(&mut self, now_ms: u64, ev: &DtmfEvent) {
        let duration_ms = ev.duration_ms();
        let start_ms = match ev.source {
            DtmfSource::SipInfo => now_ms,
            _ => now_ms.saturating_sub(u64::from(duration_ms)),
        };
        let src = bit(ev.source);
        let window = self.window_ms;
        let found = self
            .history
            .iter_mut()
            .flatten()
            .filter(|p| {
                p.merged.digit == ev.digit
                    && p.seen & src == 0
                    && p.merged.start_ms.abs_diff(start_ms) <= window
            })
            .max_by_key(|p| p.merged.start_ms);
        if let Some(p) = found {
            p.seen |= src;
            if ev.source == DtmfSource::Rfc4733 && p.release_at.is_some() {
                p.merged = MergedDigit {
                    digit: ev.digit,
                    start_ms,
                    duration_ms,
                    source: ev.source,
                };
                p.release_at = Some(now_ms); // released below, ahead of later held presses
            }
            self.handle_timeout(now_ms);
            return;
        }
        let release_at = if ev.source == DtmfSource::Rfc4733 {
            now_ms
        } else {
            now_ms + self.hold_ms
        };
        // Evict the oldest slot; release it first if it was still held.
        if let Some(old) = self.history[self.next].take() {
            if old.release_at.is_some() {
                self.out.push_back(old.merged);
            }
        }
        self.history[self.next] = Some(Press {
            merged: MergedDigit {
                digit: ev.digit,
                start_ms,
                duration_ms,
                source: ev.source,
            },
            seen: src,
            release_at: Some(release_at),
        });
        self.next = (self.next + 1) % HISTORY;
        self.handle_timeout(now_ms);
    }

    /// Releases held presses that are due, in start order.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        loop {
            let due = self
                .history
                .iter_mut()
                .flatten()
                .filter(|p| p.release_at.is_some_and(|t| t <= now_ms))
                .min_by_key(|p| p.merged.start_ms);
            let Some(p) = due else { break };
            p.release_at = None;
            let m = p.merged;
            if self.out.len() == HISTORY {
                self.out.pop_front();
            }
            self.out.push_back(m);
        }
    }

    /// When `handle_timeout` next needs calling.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.history
            .iter()
            .flatten()
            .filter_map(|p| p.release_at)
            .min()
    }

    pub fn poll_event(&mut self) -> Option<MergedDigit> {
        self.out.pop_front()
    }
}

impl DtmfEvent {
    /// An INFO key as an event for the merger (duration in ms on a 1 kHz clock).
    pub fn info(digit: Digit, duration_ms: Option<u32>) -> DtmfEvent {
        DtmfEvent {
            digit,
            start: 0,
            duration: duration_ms.unwrap_or(0),
            rate: 1000,
            volume: None,
            source: DtmfSource::SipInfo,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(c: char, dur_ms: u32, source: DtmfSource) -> DtmfEvent {
        let digit = Digit::from_char(c).unwrap();
        match source {
            DtmfSource::SipInfo => DtmfEvent::info(digit, Some(dur_ms)),
            _ => DtmfEvent {
                digit,
                start: 0,
                duration: dur_ms * 8,
                rate: 8000,
                volume: None,
                source,
            },
        }
    }

    fn run(
        m: &mut DtmfMerger,
        input: &[(u64, char, u32, DtmfSource)],
    ) -> Vec<(char, u64, DtmfSource)> {
        let mut out = vec![];
        for &(now, c, d, s) in input {
            m.push(now, &ev(c, d, s));
            out.extend(std::iter::from_fn(|| m.poll_event()));
        }
        m.handle_timeout(u64::MAX / 2);
        out.extend(std::iter::from_fn(|| m.poll_event()));
        out.into_iter()
            .map(|d| (d.digit.to_char(), d.start_ms, d.source))
            .collect()
    }

    use DtmfSource::*;

    #[test]
    fn three_sources_one_press() {
        let mut m = DtmfMerger::default();
        // In-band ends first, INFO arrived at the start, RFC 4733 end arrives a bit later.
        let got = run(
            &mut m,
            &[
                (1000, '5', 40, SipInfo),
                (1100, '5', 100, InBand),
                (1120, '5', 100, Rfc4733),
            ],
        );
        // INFO held 80 ms and released before RFC 4733 came: its timing stands, rest suppressed.
        assert_eq!(got, vec![('5', 1000, SipInfo)]);
        let mut m = DtmfMerger::default();
        let got = run(
            &mut m,
            &[
                (1100, '5', 100, InBand),
                (1130, '5', 120, Rfc4733),
                (1140, '5', 0, SipInfo),
            ],
        );
        assert_eq!(got, vec![('5', 1010, Rfc4733)], "RFC 4733 timing preferred");
    }

    #[test]
    fn repeats_and_different_keys() {
        let mut m = DtmfMerger::default();
        let got = run(
            &mut m,
            &[
                (1100, '5', 100, Rfc4733),
                (1105, '5', 100, InBand),
                (1250, '5', 100, Rfc4733), // second press 150 ms later: new
                (1255, '5', 100, InBand),  // its in-band twin
                (1300, '6', 40, InBand),
            ],
        );
        assert_eq!(
            got,
            vec![
                ('5', 1000, Rfc4733),
                ('5', 1150, Rfc4733),
                ('6', 1260, InBand)
            ]
        );
    }
}
