//! The UDPTL session: sequence numbers, error recovery, in-order delivery. Sans-IO.
//!
//! Owns: the transmit history and sequence number, the receive window and its recovery logic,
//! the counters. Must not touch: sockets and timers (the caller sends what [`Udptl::send`]
//! returns and feeds every received datagram to [`Udptl::receive`]), IFP contents.
//!
//! Transmit: each IFP gets the next `seq-number`. With redundancy the datagram also carries the
//! last `depth` IFPs, newest first; entries are dropped oldest-first until the datagram fits the
//! far end's T38FaxMaxDatagram. With FEC the datagram carries `entries` parity entries over the
//! last `span * entries` IFPs, as spandsp and Asterisk build them (entry `m` is the XOR of IFPs
//! `seq + m - k*entries`, `k = 1..=span`, each zero-padded to the longest); entries are dropped
//! until it fits. Both wind up at the start of a session, when there is less history.
//!
//! Receive: datagrams are decoded, duplicates and packets older than the next expected one are
//! dropped (a late packet's gap has already been reported), a packet implausibly far from the
//! next expected one is dropped unless a few consecutive ones confirm that the far end restarted
//! its numbering, and for a packet ahead of the next
//! expected one the gap is filled from its redundancy entries, then from parity FEC (the new
//! packet's and those received before it, repeatedly while a group has exactly one IFP missing).
//! Whatever is still missing is lost: delivery is in sequence order and the gap stays visible in
//! the sequence numbers, which is what the T.38 core needs to know. We never hold packets back
//! to wait for later repair: T.38 is real time and has no timer here.
//!
//! A known limit of T.38 parity FEC (spandsp and Asterisk alike): a packet rebuilt from FEC has
//! the length of the longest packet in its group, so it may carry trailing zero octets.

use super::codec::{
    decode, length_len, put_length, ErrorRecovery, UdptlPacket, MAX_UNFRAGMENTED_LEN,
};
use super::error::{Field, UdptlError};

/// Redundancy depth for IFP data packets when nothing else is configured (T.38 practice;
/// spandsp, Asterisk and FreeSWITCH all use 3).
pub const DEFAULT_REDUNDANCY_DEPTH: u8 = 3;
/// Deeper redundancy buys nothing at fax rates and only grows datagrams; depths are capped here.
pub const MAX_REDUNDANCY_DEPTH: u8 = 15;
/// FEC span and entries when FEC is chosen without other configuration (Asterisk's udptl.conf
/// defaults `udptlfecspan = 3`, `udptlfecentries = 3`).
pub const DEFAULT_FEC_SPAN: u8 = 3;
pub const DEFAULT_FEC_ENTRIES: u8 = 3;
/// Transmit FEC limits (Asterisk's `MAX_FEC_SPAN`/`MAX_FEC_ENTRIES`); received FEC may use any
/// layout whose groups fit the receive window.
pub const MAX_FEC_SPAN: u8 = 5;
pub const MAX_FEC_ENTRIES: u8 = 5;
/// T38FaxMaxDatagram to assume when the far end did not declare one (Asterisk's default).
pub const DEFAULT_MAX_DATAGRAM: usize = 400;

/// History kept on both sides, in packets (a power of two: slots are indexed by `seq & MASK`).
/// The receive window is the newest packet and the `RING - 1` before it.
const RING: usize = 32;
const MASK: usize = RING - 1;
const WINDOW: usize = RING - 1;
/// A jump ahead longer than this is not believed on one packet: about 20 s of IFPs at the
/// highest packet rates, far longer than any outage a fax survives. Without it, one stray or
/// forged datagram far ahead would make every genuine packet after it look stale.
const MAX_JUMP: u16 = 1024;
/// How many consecutive packets (n, n+1, ...) out of window, i.e. more than [`MAX_JUMP`] ahead
/// or more than the window behind, make us believe the far end restarted its sequence numbers
/// and start over from them.
const RESYNC_AFTER: u8 = 4;

/// What error recovery our transmitted datagrams carry. Reception handles every kind whatever
/// this says (a far end may even switch between them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCorrection {
    /// `t38UDPNoEC`: an empty `secondary-ifp-packets` list.
    None,
    /// `t38UDPRedundancy`: up to `depth` earlier IFPs (capped at [`MAX_REDUNDANCY_DEPTH`]).
    Redundancy { depth: u8 },
    /// `t38UDPFEC`: `entries` parity entries over `span` packets each (capped at
    /// [`MAX_FEC_ENTRIES`] and [`MAX_FEC_SPAN`]).
    Fec { span: u8, entries: u8 },
}

impl Default for ErrorCorrection {
    fn default() -> Self {
        ErrorCorrection::Redundancy {
            depth: DEFAULT_REDUNDANCY_DEPTH,
        }
    }
}

/// Session configuration, usually from SDP (`crate::sdp::t38::udptl_config`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdptlConfig {
    /// What we send (T38FaxUdpEC of the answer).
    pub error_correction: ErrorCorrection,
    /// Largest datagram we may send: the far end's T38FaxMaxDatagram.
    pub max_datagram: usize,
}

impl Default for UdptlConfig {
    fn default() -> Self {
        UdptlConfig {
            error_correction: ErrorCorrection::default(),
            max_datagram: DEFAULT_MAX_DATAGRAM,
        }
    }
}

impl UdptlConfig {
    /// The configuration with depth/span/entries capped to what the session supports.
    fn normalized(self) -> Self {
        let error_correction = match self.error_correction {
            ErrorCorrection::None => ErrorCorrection::None,
            ErrorCorrection::Redundancy { depth } => ErrorCorrection::Redundancy {
                depth: depth.min(MAX_REDUNDANCY_DEPTH),
            },
            ErrorCorrection::Fec { span, entries } => ErrorCorrection::Fec {
                span: span.min(MAX_FEC_SPAN),
                entries: entries.min(MAX_FEC_ENTRIES),
            },
        };
        UdptlConfig {
            error_correction,
            ..self
        }
    }
}

/// Counters since the session started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UdptlStats {
    /// Datagrams built by [`Udptl::send`].
    pub sent: u64,
    /// Datagrams that decoded (including duplicates).
    pub received: u64,
    /// IFPs handed out by [`Udptl::receive`] (primaries and recovered ones).
    pub delivered: u64,
    /// Datagrams dropped as duplicates or as older than what was already delivered.
    pub duplicates: u64,
    /// Datagrams dropped for a sequence number far from the expected one (more than 1024
    /// ahead, or more than 31 behind), until 4 consecutive ones show the far end restarted.
    pub out_of_window: u64,
    /// Lost IFPs rebuilt from the redundancy entries of a later datagram.
    pub recovered_redundancy: u64,
    /// Lost IFPs rebuilt from parity FEC.
    pub recovered_fec: u64,
    /// Sequence numbers skipped in delivery (nothing could rebuild them).
    pub lost: u64,
    /// Datagrams that did not decode.
    pub malformed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Primary,
    Redundancy,
    Fec,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlotState {
    /// Nothing known for this slot's `seq`.
    Empty,
    /// `seq` is a gap: never received.
    Absent,
    /// The IFP of `seq` is in `ifp`.
    Present(Origin),
}

/// One receive-window slot. The `Vec`s keep their capacity from packet to packet.
struct RxSlot {
    seq: u16,
    state: SlotState,
    ifp: Vec<u8>,
    /// FEC of the datagram received with this seq: `fec_entries` octet strings back to back in
    /// `fec_data`, ending at `fec_ends`; `fec_entries == 0` when it carried none we can use.
    fec_span: usize,
    fec_entries: usize,
    fec_data: Vec<u8>,
    fec_ends: Vec<usize>,
}

impl RxSlot {
    fn new() -> Self {
        RxSlot {
            seq: 0,
            state: SlotState::Empty,
            ifp: Vec::new(),
            fec_span: 0,
            fec_entries: 0,
            fec_data: Vec::new(),
            fec_ends: Vec::new(),
        }
    }

    fn reset(&mut self, seq: u16, state: SlotState) {
        self.seq = seq;
        self.state = state;
        self.ifp.clear();
        self.fec_span = 0;
        self.fec_entries = 0;
        self.fec_data.clear();
        self.fec_ends.clear();
    }

    fn fec_entry(&self, m: usize) -> &[u8] {
        let start = if m == 0 {
            0
        } else {
            self.fec_ends.get(m - 1).copied().unwrap_or(0)
        };
        let end = self.fec_ends.get(m).copied().unwrap_or(start);
        self.fec_data.get(start..end).unwrap_or(&[])
    }
}

/// A UDPTL session (one per T.38 media stream).
pub struct Udptl {
    config: UdptlConfig,
    tx_seq: u16,
    /// How many IFPs before `tx_seq` are in `tx_ring` (at most `WINDOW`).
    tx_history: usize,
    tx_ring: [Vec<u8>; RING],
    tx_buf: Vec<u8>,
    /// Next sequence number to deliver; `None` before the first datagram.
    rx_next: Option<u16>,
    rx_slots: [RxSlot; RING],
    /// The last out-of-window sequence number and how many consecutive ones led to it.
    resync: Option<(u16, u8)>,
    scratch: Vec<u8>,
    out_data: Vec<u8>,
    out_items: Vec<(u16, usize, usize)>,
    stats: UdptlStats,
}

/// The IFPs released by one [`Udptl::receive`], oldest first, as `(seq-number, ifp)`.
/// Sequence numbers increase (modulo 2^16); a jump is a loss the T.38 core should be told of.
pub struct Delivered<'a> {
    data: &'a [u8],
    items: std::slice::Iter<'a, (u16, usize, usize)>,
}

impl<'a> Iterator for Delivered<'a> {
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<(u16, &'a [u8])> {
        let &(seq, start, end) = self.items.next()?;
        Some((seq, self.data.get(start..end).unwrap_or(&[])))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.items.size_hint()
    }
}

impl ExactSizeIterator for Delivered<'_> {}

/// Append one delivered IFP to the output buffers.
fn push_out(
    data: &mut Vec<u8>,
    items: &mut Vec<(u16, usize, usize)>,
    stats: &mut UdptlStats,
    seq: u16,
    ifp: &[u8],
) {
    let start = data.len();
    data.extend_from_slice(ifp);
    items.push((seq, start, data.len()));
    stats.delivered += 1;
}

impl Default for Udptl {
    fn default() -> Self {
        Udptl::new(UdptlConfig::default())
    }
}

impl Udptl {
    /// A new session; the first datagram sent has `seq-number` 0 (as spandsp and Asterisk do).
    /// Depth, span and entries above the `MAX_*` constants are capped.
    pub fn new(config: UdptlConfig) -> Self {
        Udptl {
            config: config.normalized(),
            tx_seq: 0,
            tx_history: 0,
            tx_ring: std::array::from_fn(|_| Vec::new()),
            tx_buf: Vec::new(),
            rx_next: None,
            rx_slots: std::array::from_fn(|_| RxSlot::new()),
            resync: None,
            scratch: Vec::new(),
            out_data: Vec::new(),
            out_items: Vec::new(),
            stats: UdptlStats::default(),
        }
    }

    /// The configuration in force (after capping).
    pub fn config(&self) -> UdptlConfig {
        self.config
    }

    /// Change the configuration mid-session (a re-INVITE changed T38FaxMaxDatagram or the
    /// error correction); sequence numbers and history carry on.
    pub fn set_config(&mut self, config: UdptlConfig) {
        self.config = config.normalized();
    }

    /// Counters so far.
    pub fn stats(&self) -> UdptlStats {
        self.stats
    }

    /// The `seq-number` the next [`Udptl::send`] will use.
    pub fn next_tx_seq(&self) -> u16 {
        self.tx_seq
    }

    /// The next `seq-number` receive will deliver; `None` before the first datagram.
    pub fn next_rx_seq(&self) -> Option<u16> {
        self.rx_next
    }

    /// Build the datagram carrying `ifp` and advance the sequence number. The datagram is at
    /// most `max_datagram` octets. To repeat a packet (spandsp asks for indicators to be sent
    /// several times), send the returned datagram again rather than calling this again: repeats
    /// must keep their sequence number, and the receiver drops the copies.
    ///
    /// Errors (nothing is sent and the sequence number does not advance): an empty IFP, or one
    /// that does not fit `max_datagram` even without error recovery.
    pub fn send(&mut self, ifp: &[u8]) -> Result<&[u8], UdptlError> {
        let max = self.config.max_datagram;
        let too_large = UdptlError::IfpTooLarge {
            len: ifp.len(),
            max_datagram: max,
        };
        if ifp.is_empty() {
            return Err(UdptlError::EmptyIfp {
                field: Field::PrimaryIfp,
            });
        }
        if ifp.len() > MAX_UNFRAGMENTED_LEN {
            return Err(too_large);
        }
        let seq = self.tx_seq;
        // seq-number, primary-ifp-packet, and the error-recovery CHOICE octet.
        let base = 2 + length_len(ifp.len()) + ifp.len() + 1;
        let buf = &mut self.tx_buf;
        buf.clear();
        buf.extend_from_slice(&seq.to_be_bytes());
        put_length(ifp.len(), |b| buf.extend_from_slice(b));
        buf.extend_from_slice(ifp);

        match self.config.error_correction {
            ErrorCorrection::None => {
                if base + 1 > max {
                    return Err(too_large);
                }
                buf.extend_from_slice(&[0x00, 0x00]);
            }
            ErrorCorrection::Redundancy { depth } => {
                // The element count is one octet: depth <= 15 < 128.
                let mut size = base + 1;
                if size > max {
                    return Err(too_large);
                }
                let available = usize::from(depth).min(self.tx_history);
                let mut n = 0;
                while n < available {
                    let entry = &self.tx_ring[usize::from(seq.wrapping_sub(n as u16 + 1)) & MASK];
                    let add = length_len(entry.len()) + entry.len();
                    if size + add > max {
                        // Everything older is dropped too: the list must stay contiguous.
                        break;
                    }
                    size += add;
                    n += 1;
                }
                buf.extend_from_slice(&[0x00, n as u8]);
                for i in 0..n {
                    let entry = &self.tx_ring[usize::from(seq.wrapping_sub(i as u16 + 1)) & MASK];
                    put_length(entry.len(), |b| buf.extend_from_slice(b));
                    buf.extend_from_slice(entry);
                }
            }
            ErrorCorrection::Fec { span, entries } => {
                let (span, mut entries) =
                    fec_windup(usize::from(span), usize::from(entries), self.tx_history);
                // fec-npackets as a length octet and a one-octet INTEGER (span <= 5), and the
                // one-octet count (entries <= 5); `base` already has the CHOICE octet.
                let header = 3;
                loop {
                    let data: usize = (0..entries)
                        .map(|m| {
                            let high_tide = fec_high_tide(&self.tx_ring, seq, m, span, entries);
                            length_len(high_tide) + high_tide
                        })
                        .sum();
                    if base + header + data <= max {
                        break;
                    }
                    if entries == 0 {
                        // Not even an empty fec-info fits: an empty secondary list is two
                        // octets shorter and just as valid.
                        if base + 1 > max {
                            return Err(too_large);
                        }
                        buf.extend_from_slice(&[0x00, 0x00]);
                        return Ok(self.commit(seq, ifp));
                    }
                    entries -= 1;
                }
                buf.extend_from_slice(&[0x80, 0x01, span as u8, entries as u8]);
                for m in 0..entries {
                    let high_tide = fec_high_tide(&self.tx_ring, seq, m, span, entries);
                    put_length(high_tide, |b| buf.extend_from_slice(b));
                    let start = buf.len();
                    buf.resize(start + high_tide, 0);
                    for q in fec_group(seq, m, span, entries) {
                        let member = &self.tx_ring[usize::from(q) & MASK];
                        for (d, s) in buf.iter_mut().skip(start).zip(member) {
                            *d ^= s;
                        }
                    }
                }
            }
        }

        Ok(self.commit(seq, ifp))
    }

    /// The datagram in `tx_buf` is complete: remember `ifp` for later redundancy/FEC, advance.
    fn commit(&mut self, seq: u16, ifp: &[u8]) -> &[u8] {
        let slot = &mut self.tx_ring[usize::from(seq) & MASK];
        slot.clear();
        slot.extend_from_slice(ifp);
        self.tx_history = (self.tx_history + 1).min(WINDOW);
        self.tx_seq = seq.wrapping_add(1);
        self.stats.sent += 1;
        &self.tx_buf
    }

    /// Take one received datagram. Returns the IFPs it releases in sequence order: recovered
    /// ones first, then its primary; nothing for a duplicate or late packet. A malformed
    /// datagram is counted and returned as the error; the session is unaffected by it.
    pub fn receive(&mut self, datagram: &[u8]) -> Result<Delivered<'_>, UdptlError> {
        self.out_items.clear();
        self.out_data.clear();
        let pkt = match decode(datagram) {
            Ok(p) => p,
            Err(e) => {
                self.stats.malformed += 1;
                return Err(e);
            }
        };
        self.stats.received += 1;
        let seq = pkt.seq;
        let expected = match self.rx_next {
            Some(e) => e,
            // Senders start at 0: a small first seq-number means packets 0.. were lost and may
            // still be recovered; a large one means we joined late (or the far end starts
            // elsewhere), so start there.
            None if usize::from(seq) < RING => 0,
            None => seq,
        };
        let ahead = seq.wrapping_sub(expected);
        let behind = expected.wrapping_sub(seq);
        if ahead <= MAX_JUMP {
            self.resync = None;
            self.accept(&pkt, ahead);
        } else if usize::from(behind) <= WINDOW {
            // A duplicate, or a late packet whose gap was already filled or reported.
            self.stats.duplicates += 1;
        } else if self.resync_step(seq) {
            // The far end restarted its numbering: start over from here, no loss assumed.
            self.resync = None;
            for slot in &mut self.rx_slots {
                slot.reset(0, SlotState::Empty);
            }
            self.accept(&pkt, 0);
        } else {
            self.stats.out_of_window += 1;
        }
        Ok(Delivered {
            data: &self.out_data,
            items: self.out_items.iter(),
        })
    }

    /// Count consecutive out-of-window packets; true when there have been enough to resynchronize.
    fn resync_step(&mut self, seq: u16) -> bool {
        let run = match self.resync {
            Some((last, run)) if last.wrapping_add(1) == seq => run.saturating_add(1),
            _ => 1,
        };
        self.resync = Some((seq, run));
        run >= RESYNC_AFTER
    }

    /// Accept `pkt`, `gap` sequence numbers after the next expected one: fill the gap as far as
    /// possible and deliver it and the primary.
    fn accept(&mut self, pkt: &UdptlPacket<'_>, gap: u16) {
        let seq = pkt.seq;
        let gap = usize::from(gap);
        let in_window = gap.min(WINDOW);
        for off in 1..=in_window {
            let q = seq.wrapping_sub(off as u16);
            self.rx_slots[usize::from(q) & MASK].reset(q, SlotState::Absent);
        }

        let slot = &mut self.rx_slots[usize::from(seq) & MASK];
        slot.reset(seq, SlotState::Present(Origin::Primary));
        slot.ifp.extend_from_slice(pkt.primary);
        let secondaries = match pkt.recovery {
            ErrorRecovery::Secondary(list) => Some(list),
            ErrorRecovery::Fec { npackets, data } => {
                // Keep FEC only when its groups can lie inside the window; others cannot help.
                let span = usize::try_from(npackets).unwrap_or(usize::MAX);
                if span >= 1 && !data.is_empty() && span.saturating_mul(data.len()) <= WINDOW {
                    slot.fec_span = span;
                    slot.fec_entries = data.len();
                    for entry in data.iter() {
                        slot.fec_data.extend_from_slice(entry);
                        slot.fec_ends.push(slot.fec_data.len());
                    }
                }
                None
            }
        };

        // Redundancy: element i is seq - 1 - i. Only gap slots are filled; anything at or before
        // the next expected seq was delivered or reported lost already.
        if let Some(list) = secondaries {
            for (i, ifp) in list.iter().take(in_window).enumerate() {
                let q = seq.wrapping_sub(i as u16 + 1);
                let slot = &mut self.rx_slots[usize::from(q) & MASK];
                if slot.state == SlotState::Absent {
                    slot.state = SlotState::Present(Origin::Redundancy);
                    slot.ifp.clear();
                    slot.ifp.extend_from_slice(ifp);
                }
            }
        }
        if (1..=in_window)
            .any(|off| self.slot_of(seq.wrapping_sub(off as u16)).state == SlotState::Absent)
        {
            self.fec_repair(seq);
        }

        // Deliver, oldest first. Gap members older than the window can still come straight
        // from this packet's redundancy (a long burst before a deep redundancy list); they are
        // produced newest first and then reversed into place.
        let far_start = self.out_items.len();
        let mut far_recovered = 0;
        if gap > WINDOW {
            if let Some(list) = secondaries {
                for (i, ifp) in list.iter().enumerate().skip(WINDOW).take(gap - WINDOW) {
                    let q = seq.wrapping_sub(i as u16 + 1);
                    push_out(
                        &mut self.out_data,
                        &mut self.out_items,
                        &mut self.stats,
                        q,
                        ifp,
                    );
                    far_recovered += 1;
                }
            }
            self.stats.lost += (gap - WINDOW - far_recovered) as u64;
            self.stats.recovered_redundancy += far_recovered as u64;
        }
        if let Some(far) = self.out_items.get_mut(far_start..) {
            far.reverse();
        }
        for off in (1..=in_window).rev() {
            let q = seq.wrapping_sub(off as u16);
            let slot = &self.rx_slots[usize::from(q) & MASK];
            match slot.state {
                SlotState::Present(origin) => {
                    match origin {
                        Origin::Redundancy => self.stats.recovered_redundancy += 1,
                        Origin::Fec => self.stats.recovered_fec += 1,
                        Origin::Primary => {}
                    }
                    push_out(
                        &mut self.out_data,
                        &mut self.out_items,
                        &mut self.stats,
                        q,
                        &slot.ifp,
                    );
                }
                SlotState::Absent | SlotState::Empty => self.stats.lost += 1,
            }
        }
        push_out(
            &mut self.out_data,
            &mut self.out_items,
            &mut self.stats,
            seq,
            pkt.primary,
        );
        self.rx_next = Some(seq.wrapping_add(1));
    }

    fn slot_of(&self, seq: u16) -> &RxSlot {
        &self.rx_slots[usize::from(seq) & MASK]
    }

    /// Rebuild absent packets from parity FEC: any stored FEC group (of the newest packet or an
    /// earlier one in the window) with exactly one member absent and all others present gives
    /// that member as the XOR of the FEC entry and the others. Repeats while it makes progress,
    /// since one rebuilt packet can complete another group.
    fn fec_repair(&mut self, newest: u16) {
        for _round in 0..RING {
            let mut progress = false;
            for off_l in 0..=WINDOW {
                let l = newest.wrapping_sub(off_l as u16);
                let holder = self.slot_of(l);
                if holder.seq != l
                    || holder.fec_entries == 0
                    || !matches!(holder.state, SlotState::Present(_))
                {
                    continue;
                }
                let (span, entries) = (holder.fec_span, holder.fec_entries);
                for m in 0..entries {
                    let Some(target) = self.repairable(newest, l, m, span, entries) else {
                        continue;
                    };
                    self.scratch.clear();
                    self.scratch
                        .extend_from_slice(self.rx_slots[usize::from(l) & MASK].fec_entry(m));
                    for q in fec_group(l, m, span, entries).filter(|&q| q != target) {
                        let member = &self.rx_slots[usize::from(q) & MASK].ifp;
                        for (d, s) in self.scratch.iter_mut().zip(member) {
                            *d ^= s;
                        }
                    }
                    let slot = &mut self.rx_slots[usize::from(target) & MASK];
                    std::mem::swap(&mut slot.ifp, &mut self.scratch);
                    slot.state = SlotState::Present(Origin::Fec);
                    progress = true;
                }
            }
            if !progress {
                break;
            }
        }
    }

    /// The one absent member of FEC group `m` of the packet `l`, if the group lies in the window
    /// with every other member present.
    fn repairable(
        &self,
        newest: u16,
        l: u16,
        m: usize,
        span: usize,
        entries: usize,
    ) -> Option<u16> {
        let mut missing = None;
        for q in fec_group(l, m, span, entries) {
            let off = usize::from(newest.wrapping_sub(q));
            let slot = self.slot_of(q);
            if off == 0 || off > WINDOW || slot.seq != q {
                return None;
            }
            match slot.state {
                SlotState::Present(_) => {}
                SlotState::Absent if missing.is_none() => missing = Some(q),
                SlotState::Absent | SlotState::Empty => return None,
            }
        }
        missing
    }
}

/// Span and entries for the next FEC datagram when only `history` earlier packets exist: the
/// groups must not reach before the first packet (spandsp winds up the same way).
fn fec_windup(span: usize, entries: usize, history: usize) -> (usize, usize) {
    if span == 0 || entries == 0 {
        return (0, 0);
    }
    if span * entries <= history {
        return (span, entries);
    }
    let entries = history / span;
    (if entries == 0 { 0 } else { span }, entries)
}

/// Sequence numbers of FEC group `m` of the packet `seq`: `seq + m - k * entries`, `k = 1..=span`.
fn fec_group(seq: u16, m: usize, span: usize, entries: usize) -> impl Iterator<Item = u16> {
    (1..=span).map(move |k| {
        let back = (k * entries).wrapping_sub(m) as u16;
        seq.wrapping_sub(back)
    })
}

/// Length of FEC entry `m`: the longest IFP of its group.
fn fec_high_tide(ring: &[Vec<u8>; RING], seq: u16, m: usize, span: usize, entries: usize) -> usize {
    fec_group(seq, m, span, entries)
        .map(|q| ring[usize::from(q) & MASK].len())
        .max()
        .unwrap_or(0)
}
