//! The sans-IO core of a terminated media leg: RTP in through the jitter
//! buffer and decoder (with concealment), RFC 4733 and in-band DTMF merged
//! with SIP INFO digits, the application's audio out through the encoder
//! and packetizer, and RTCP both ways. Fed datagrams and the time; returns
//! datagrams to send. Every buffer is allocated in `new`, so the per-packet
//! and per-tick paths allocate nothing. Must not touch sockets or SIP.
//!
//! Source check (symmetric RTP, RFC 4961; issue 9, no RTP bleed): RTP and
//! RTCP each have a `media::latch::Latch`. The first *valid* datagram's
//! source becomes the peer and where we send (the NAT's public address wins
//! over the private one a NAT'd phone's SDP advertises); later datagrams from
//! any other source are dropped before they reach the jitter buffer, the
//! DTMF receiver or RTCP, and counted (`dropped_foreign`). A new SDP address
//! (`set_remote`, a re-INVITE) resets the latches, as in the relay.

use std::net::SocketAddr;
use std::time::Instant;

use crate::media::codec::{AnyDecoder, AnyEncoder, CodecError, CodecKind, Decoder, Encoder, OpusBandwidth, OpusSettings};
use crate::media::dtmf::{
    Digit, DtmfDetector, DtmfEvent, DtmfMerger, MergedDigit, TelephoneEventReceiver, TelephoneEventSender,
};
use crate::media::jitter::{JitterBuffer, JitterConfig, Playout};
use crate::media::latch::{Latch, LatchDecision};
use crate::media::quality::{Codec as QualityCodec, LegQuality};
use crate::media::resample::{Resample, Resampler};
use crate::media::rtcp::{RtcpConfig, RtcpSession};
use crate::media::rtp::{depacketize, Packetizer};
use crate::media::validate::is_valid_rtcp;
use crate::media::{samples_per_frame, AudioFrame, MediaPort};

/// What the leg was negotiated to use (from SDP offer/answer).
#[derive(Debug, Clone)]
pub struct LegConfig {
    pub codec: CodecKind,
    /// Payload type of the codec on this leg (the offerer's number).
    pub pt: u8,
    /// RFC 4733 telephone-event payload type, if negotiated.
    pub dtmf_pt: Option<u8>,
    /// Clock of the telephone-event stream (8000, or 48000 beside Opus).
    pub dtmf_clock: u32,
    /// Run the in-band detector on received audio (PSTN trunks send tones).
    pub inband_dtmf: bool,
    /// RTCP SDES CNAME.
    pub cname: String,
    /// Opus encoder effort (`[media] opus_complexity`); other codecs ignore it.
    pub opus_complexity: u8,
}

/// What became of one received datagram: the source check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxVerdict {
    /// From the latched peer: processed.
    Accepted,
    /// The first valid datagram since the last reset: processed, and its
    /// source is the peer from now on (we send there).
    Latched(SocketAddr),
    /// From a source other than the latched one: dropped and counted.
    Foreign,
    /// Not a valid RTP / RTCP datagram: dropped, never latched onto.
    Malformed,
}

/// Datagrams dropped by the source check, per stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ForeignDrops {
    pub rtp: u64,
    pub rtcp: u64,
}

impl ForeignDrops {
    pub fn total(&self) -> u64 {
        self.rtp + self.rtcp
    }
}

/// Payload bytes per RTP packet at most (one 20 ms Opus frame fits).
const MAX_PAYLOAD: usize = 1400;
/// RTP header (12) + payload.
const MAX_PACKET: usize = 12 + MAX_PAYLOAD;
/// Digits queued for sending at most; more are dropped (a caller cannot
/// usefully be ahead by more than this).
const DTMF_QUEUE: usize = 32;
/// Length of a digit we send, in ms (Q.24 wants at least 40).
const DTMF_SEND_MS: u32 = 100;

pub struct LegMedia {
    cfg: LegConfig,
    decoder: AnyDecoder,
    encoder: AnyEncoder,
    /// The encoder is limited to narrowband because the port said its
    /// audio is (`MediaPort::narrowband`); changed only when that changes.
    coding_narrowband: bool,
    jitter: JitterBuffer,
    rtcp: RtcpSession,
    packetizer: Packetizer,
    te_rx: TelephoneEventReceiver,
    detector: Option<(DtmfDetector, Option<Resampler>, AudioFrame)>,
    merger: DtmfMerger,
    /// Decoded audio at the codec rate, and the same at the app's rate.
    rx_frame: AudioFrame,
    rx_app: AudioFrame,
    rx_resampler: Option<Resampler>,
    /// Audio from the app at its rate, and at the codec rate.
    tx_app: AudioFrame,
    tx_frame: AudioFrame,
    tx_resampler: Option<Resampler>,
    payload: [u8; MAX_PAYLOAD],
    packet: [u8; MAX_PACKET],
    epoch: Instant,
    last_rtp: Option<Instant>,
    /// Symmetric RTP: the peer's RTP and RTCP sources, learned from their
    /// first valid datagrams; the SDP addresses until then.
    rtp_latch: Latch,
    rtcp_latch: Latch,
    dropped_foreign: ForeignDrops,
    decode_errors: u64,
    /// Digit being sent as RFC 4733 events: the sender and the event's age
    /// in telephone-event clock units; digits waiting their turn.
    dtmf_tx: Option<(TelephoneEventSender, u32, Option<crate::media::dtmf::TelephoneEventPacket>)>,
    dtmf_queue: std::collections::VecDeque<Digit>,
}

/// Ring slots of a leg's jitter buffer: 640 ms of 20 ms packets, three
/// times the 200 ms maximum playout delay (packets further ahead than the
/// ring are a stream restart, see `jitter`).
const JITTER_SLOTS: usize = 32;
/// A typical payload's bytes (Opus speech at 32 kbit/s is 80; G.711 160).
const JITTER_TYPICAL_PAYLOAD: usize = 320;

/// The jitter buffer for `codec`. Payloads up to the codec's largest 20 ms
/// payload, which is all its decoder accepts (160 bytes for G.711 and G.722,
/// 1275 for Opus). The arena holds `JITTER_SLOTS` typical payloads, and at
/// least the maximum playout delay plus two packets at the largest size
/// (the ring's wrap may waste up to one payload, so the 200 ms window plus
/// one always fits): only bursts beyond what is played anyway are
/// overwritten. 5 KB for G.711, 15 KB for Opus instead of 82 KB.
fn jitter_config(codec: CodecKind) -> JitterConfig {
    let base = JitterConfig::default();
    let max_payload = codec.max_payload_len();
    let window = (base.max_delay_ms / base.ptime_ms) as usize + 2;
    JitterConfig {
        clock_rate: codec.clock_rate(),
        capacity: JITTER_SLOTS,
        max_payload,
        arena_bytes: (JITTER_SLOTS * max_payload.min(JITTER_TYPICAL_PAYLOAD)).max(window * max_payload),
        ..base
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LegError {
    /// The codec could not be created (e.g. libopus refused the settings).
    #[error("codec: {0}")]
    Codec(#[from] CodecError),
    /// A resampler for the app's or the detector's rate could not be built.
    #[error("resampler: {0}")]
    Resample(String),
    /// Packetizer setup failed.
    #[error("rtp: {0}")]
    Rtp(String),
}

impl LegMedia {
    /// `app_rate` is the rate of the `MediaPort` the leg is attached to.
    pub fn new(cfg: LegConfig, app_rate: u32, now: Instant) -> Result<LegMedia, LegError> {
        let codec_rate = cfg.codec.sample_rate();
        let resampler = |from: u32, to: u32| -> Result<Option<Resampler>, LegError> {
            if from == to {
                Ok(None)
            } else {
                Resampler::new(from, to).map(Some).map_err(|e| LegError::Resample(e.to_string()))
            }
        };
        let detector = if cfg.inband_dtmf {
            Some((DtmfDetector::new(), resampler(codec_rate, 8000)?, AudioFrame::silence(8000)))
        } else {
            None
        };
        let ssrc: u32 = rand::random();
        let rtcp = RtcpSession::new(
            RtcpConfig {
                ssrc,
                cname: cfg.cname.as_bytes().to_vec(),
                clock_rate: cfg.codec.clock_rate(),
                session_bandwidth_bps: 100_000,
            },
            now,
            ntp_now(),
            rand::random(),
        );
        let packetizer = Packetizer::new(ssrc, cfg.pt, rand::random(), rand::random()).map_err(|e| LegError::Rtp(e.to_string()))?;
        Ok(LegMedia {
            decoder: cfg.codec.new_decoder()?,
            encoder: cfg.codec.new_encoder_with(OpusSettings { complexity: cfg.opus_complexity, ..OpusSettings::default() })?,
            coding_narrowband: false,
            jitter: JitterBuffer::new(jitter_config(cfg.codec)),
            rtcp,
            packetizer,
            te_rx: TelephoneEventReceiver::new(cfg.dtmf_clock),
            detector,
            merger: DtmfMerger::new(250, 80),
            rx_frame: AudioFrame::silence(codec_rate),
            rx_app: AudioFrame::silence(app_rate),
            rx_resampler: resampler(codec_rate, app_rate)?,
            tx_app: AudioFrame::silence(app_rate),
            tx_frame: AudioFrame::silence(codec_rate),
            tx_resampler: resampler(app_rate, codec_rate)?,
            payload: [0; MAX_PAYLOAD],
            packet: [0; MAX_PACKET],
            epoch: now,
            last_rtp: None,
            rtp_latch: Latch::default(),
            rtcp_latch: Latch::default(),
            dropped_foreign: ForeignDrops::default(),
            decode_errors: 0,
            dtmf_tx: None,
            dtmf_queue: std::collections::VecDeque::with_capacity(DTMF_QUEUE),
            cfg,
        })
    }

    fn ms(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.epoch).as_millis() as u64
    }

    /// The peer's media addresses from SDP (at setup, and on every
    /// re-INVITE). A change resets both latches, so the peer re-latches from
    /// wherever it now sends; the same addresses again (a hold, a session
    /// refresh) keep them. Returns whether anything changed.
    pub fn set_remote(&mut self, rtp: Option<SocketAddr>, rtcp: Option<SocketAddr>) -> bool {
        if self.rtp_latch.expected() == rtp && self.rtcp_latch.expected() == rtcp {
            return false;
        }
        self.rtp_latch.reset(rtp);
        self.rtcp_latch.reset(rtcp);
        true
    }

    /// One RTP datagram from `source`. Invalid ones and those from a source
    /// other than the latched peer are dropped; foreign payload types are
    /// ignored.
    pub fn on_rtp(&mut self, now: Instant, source: SocketAddr, datagram: &[u8]) -> RxVerdict {
        // Validate before the latch looks at it: never latch onto junk.
        let Ok(pkt) = depacketize(datagram) else { return RxVerdict::Malformed };
        let verdict = match self.rtp_latch.on_packet(source) {
            LatchDecision::Accept => RxVerdict::Accepted,
            LatchDecision::Latched(a) => RxVerdict::Latched(a),
            LatchDecision::Reject => {
                self.dropped_foreign.rtp += 1;
                return RxVerdict::Foreign;
            }
        };
        let h = &pkt.header;
        self.last_rtp = Some(now);
        self.rtcp.on_rtp_received(h.ssrc, h.seq, h.timestamp, now);
        if Some(h.payload_type) == self.cfg.dtmf_pt {
            let now_ms = self.ms(now);
            let _ = self.te_rx.handle_packet(now_ms, h.timestamp, h.marker, pkt.payload);
            while let Some(ev) = self.te_rx.poll_event() {
                self.merger.push(now_ms, &ev);
            }
        } else if h.payload_type == self.cfg.pt {
            self.jitter.push(h.seq, h.timestamp, pkt.payload, now);
        }
        verdict
    }

    /// One RTCP datagram from `source`, under the same source check as RTP
    /// (with a latch of its own: RTCP comes from another port).
    pub fn on_rtcp(&mut self, now: Instant, source: SocketAddr, datagram: &[u8]) -> RxVerdict {
        if !is_valid_rtcp(datagram) {
            return RxVerdict::Malformed;
        }
        let verdict = match self.rtcp_latch.on_packet(source) {
            LatchDecision::Accept => RxVerdict::Accepted,
            LatchDecision::Latched(a) => RxVerdict::Latched(a),
            LatchDecision::Reject => {
                self.dropped_foreign.rtcp += 1;
                return RxVerdict::Foreign;
            }
        };
        let _ = self.rtcp.handle_rtcp(now, datagram);
        verdict
    }

    /// Where our RTP goes: the latched source, else the SDP address.
    pub fn rtp_destination(&self) -> Option<SocketAddr> {
        self.rtp_latch.destination()
    }

    /// Where our RTCP goes: the latched RTCP source, else the SDP's RTCP
    /// address, else the RTP destination's port + 1 (RFC 3550 §11; after
    /// RTP latched, that is the NAT's public address rather than the SDP's
    /// private one).
    pub fn rtcp_destination(&self) -> Option<SocketAddr> {
        self.rtcp_latch
            .destination()
            .or_else(|| self.rtp_destination().and_then(|d| Some(SocketAddr::new(d.ip(), d.port().checked_add(1)?))))
    }

    /// The peer's RTP source, once latched.
    pub fn rtp_source(&self) -> Option<SocketAddr> {
        self.rtp_latch.latched()
    }

    /// The peer's RTCP source, once latched.
    pub fn rtcp_source(&self) -> Option<SocketAddr> {
        self.rtcp_latch.latched()
    }

    /// Datagrams dropped because they came from someone other than the peer.
    pub fn dropped_foreign(&self) -> ForeignDrops {
        self.dropped_foreign
    }

    /// A digit from SIP INFO on this leg's dialog.
    pub fn on_info_dtmf(&mut self, now: Instant, ev: &DtmfEvent) {
        let now_ms = self.ms(now);
        self.merger.push(now_ms, ev);
    }

    /// Queues `digit` to be sent as RFC 4733 telephone-events (needs a
    /// negotiated telephone-event payload type; returns false without one).
    pub fn send_dtmf(&mut self, digit: Digit) -> bool {
        if self.cfg.dtmf_pt.is_none() || self.dtmf_queue.len() >= DTMF_QUEUE {
            return false;
        }
        self.dtmf_queue.push_back(digit);
        true
    }

    /// The next telephone-event packet due this tick, if a digit is being sent.
    fn dtmf_packet(&mut self) -> Option<usize> {
        let pt = self.cfg.dtmf_pt?;
        let clock = self.cfg.dtmf_clock;
        if self.dtmf_tx.is_none() {
            let digit = self.dtmf_queue.pop_front()?;
            // The event starts at the media time of the packet it replaces.
            let start = if clock == self.cfg.codec.clock_rate() { self.packetizer.timestamp() } else { 0 };
            let duration = clock / 1000 * DTMF_SEND_MS;
            let mut sender = TelephoneEventSender::new(digit, start, duration, 10, clock);
            let first = sender.next();
            self.dtmf_tx = Some((sender, 0, first));
        }
        let (sender, age, next) = self.dtmf_tx.as_mut()?;
        let step = clock / 50;
        let out = match next {
            Some(p) if p.send_at <= *age => {
                let pkt = *p;
                *next = sender.next();
                self.packetizer.next_event(pt, pkt.timestamp, &pkt.payload, pkt.marker, &mut self.packet).ok()
            }
            _ => None,
        };
        *age = age.saturating_add(step);
        if next.is_none() {
            self.dtmf_tx = None;
        }
        out
    }

    /// One 20 ms tick: play out received audio into `port`, take the port's
    /// audio and return the RTP packet to send (if any).
    pub fn tick<P: MediaPort + ?Sized>(&mut self, now: Instant, port: &mut P) -> Option<&[u8]> {
        let now_ms = self.ms(now);
        // Receive side.
        let have_audio = match self.jitter.pop(now) {
            Playout::Frame(payload) => match self.decoder.decode(payload, &mut self.rx_frame) {
                Ok(()) => true,
                Err(_) => {
                    self.decode_errors += 1;
                    self.decoder.conceal(&mut self.rx_frame);
                    true
                }
            },
            Playout::Lost => {
                self.decoder.conceal(&mut self.rx_frame);
                true
            }
            Playout::Empty => false,
        };
        if !have_audio {
            self.rx_frame.len = samples_per_frame(self.rx_frame.rate);
            self.rx_frame.clear();
        }
        if let Some((det, res, frame8k)) = self.detector.as_mut() {
            let pcm: &[i16] = match res {
                Some(r) => {
                    r.process(&self.rx_frame, frame8k);
                    frame8k.pcm()
                }
                None => self.rx_frame.pcm(),
            };
            det.process(pcm);
            while let Some(ev) = det.poll_event() {
                self.merger.push(now_ms, &ev);
            }
        }
        self.te_rx.handle_timeout(now_ms);
        while let Some(ev) = self.te_rx.poll_event() {
            self.merger.push(now_ms, &ev);
        }
        self.merger.handle_timeout(now_ms);
        let to_app: &AudioFrame = match self.rx_resampler.as_mut() {
            Some(r) => {
                r.process(&self.rx_frame, &mut self.rx_app);
                &self.rx_app
            }
            None => &self.rx_frame,
        };
        port.put_frame(to_app);

        let step = self.cfg.codec.timestamp_step();
        // While a digit is being sent, its events replace the audio
        // (RFC 4733 §2.5.1.2) and the audio clock keeps running.
        if self.dtmf_tx.is_some() || !self.dtmf_queue.is_empty() {
            let sent = self.dtmf_packet();
            self.packetizer.skip(step);
            return sent.map(|len| &self.packet[..len]);
        }
        // Pre-encoded audio (prompts) skips the encoder.
        if let Some(n) = port.get_encoded(self.cfg.codec.encoding_name(), &mut self.payload) {
            return self.send_payload(now, n, step);
        }
        // Send side: silence when the app has nothing, so the peer's jitter
        // buffer and NAT bindings stay fed.
        if !port.get_frame(&mut self.tx_app) {
            self.tx_app.len = samples_per_frame(self.tx_app.rate);
            self.tx_app.clear();
        }
        self.follow_source_band(port.narrowband());
        let frame: &AudioFrame = match self.tx_resampler.as_mut() {
            Some(r) => {
                r.process(&self.tx_app, &mut self.tx_frame);
                &self.tx_frame
            }
            None => &self.tx_app,
        };
        let n = self.encoder.encode(frame, &mut self.payload).ok()?;
        self.send_payload(now, n, step)
    }

    /// An Opus encoder codes narrowband while the port's audio is (a G.711
    /// leg on the other side of a bridge): the wideband layers would only
    /// carry noise, and skipping them saves about a third of the encoder's
    /// time. Back to wideband as soon as the port's audio may be (music on
    /// hold). Other encoders have nothing to change.
    fn follow_source_band(&mut self, narrowband: bool) {
        if narrowband == self.coding_narrowband {
            return;
        }
        if let AnyEncoder::Opus(enc) = &mut self.encoder {
            let band = if narrowband { OpusBandwidth::Narrowband } else { OpusBandwidth::Wideband };
            if let Err(e) = enc.set_max_bandwidth(band) {
                tracing::debug!("opus bandwidth not changed: {e}");
            }
        }
        self.coding_narrowband = narrowband;
    }

    /// Packetizes `payload[..n]` as the next audio packet.
    fn send_payload(&mut self, now: Instant, n: usize, step: u32) -> Option<&[u8]> {
        let ts = self.packetizer.timestamp();
        let len = self.packetizer.next(&self.payload[..n], step, false, &mut self.packet).ok()?;
        self.rtcp.on_rtp_sent(ts, n, now);
        Some(&self.packet[..len])
    }

    /// An RTCP compound packet to send now, if one is due.
    pub fn poll_rtcp(&mut self, now: Instant) -> Option<&[u8]> {
        self.rtcp.poll_transmit(now)
    }

    pub fn poll_dtmf(&mut self) -> Option<MergedDigit> {
        self.merger.poll_event()
    }

    /// The leg's codec.
    pub fn codec(&self) -> CodecKind {
        self.cfg.codec
    }

    /// Time of the last RTP packet received (for inactivity).
    pub fn last_rtp(&self) -> Option<Instant> {
        self.last_rtp
    }

    pub fn quality(&self) -> LegQuality {
        let codec = match self.cfg.codec {
            CodecKind::Pcmu | CodecKind::Pcma => QualityCodec::G711,
            CodecKind::G722 => QualityCodec::G722,
            CodecKind::Opus => QualityCodec::Opus,
        };
        // The playout delay the buffer aims for, not its momentary fill.
        self.rtcp.quality(codec, f64::from(self.jitter.target_ms()))
    }

    pub fn close(&mut self) {
        self.rtcp.close();
    }
}

/// NTP time (RFC 3550 §4: seconds since 1900 in the top 32 bits).
fn ntp_now() -> u64 {
    const UNIX_TO_NTP: u64 = 2_208_988_800;
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() + UNIX_TO_NTP;
    let frac = (u64::from(d.subsec_nanos()) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::dtmf::{Digit, DtmfSource, TelephoneEventSender};
    use crate::media::rtp::{packetize, RtpHeader};
    use std::time::Duration;

    /// A port that records what it was given and plays a constant tone.
    struct Probe {
        rate: u32,
        got: Vec<i16>,
    }
    impl MediaPort for Probe {
        fn rate(&self) -> u32 {
            self.rate
        }
        fn put_frame(&mut self, f: &AudioFrame) {
            self.got.extend_from_slice(f.pcm());
        }
        fn get_frame(&mut self, f: &mut AudioFrame) -> bool {
            let n = samples_per_frame(self.rate);
            for (i, s) in f.samples[..n].iter_mut().enumerate() {
                *s = ((i as f64 * 2.0 * std::f64::consts::PI * 1000.0 / f64::from(self.rate)).sin() * 8000.0) as i16;
            }
            f.rate = self.rate;
            f.len = n;
            true
        }
    }

    fn cfg(codec: CodecKind, inband: bool) -> LegConfig {
        LegConfig { codec, pt: codec.static_payload_type().unwrap_or(96), dtmf_pt: Some(101), dtmf_clock: 8000, inband_dtmf: inband, cname: "t@x".into(), opus_complexity: 5 }
    }

    #[test]
    fn jitter_arena_fits_the_playout_window_at_the_largest_payload() {
        let g711 = jitter_config(CodecKind::Pcmu);
        assert_eq!((g711.capacity, g711.max_payload, g711.arena_len()), (32, 160, 32 * 160));
        let opus = jitter_config(CodecKind::Opus);
        assert_eq!(opus.max_payload, CodecKind::Opus.max_payload_len());
        // 200 ms of 20 ms packets plus two, each as large as Opus allows.
        assert_eq!(opus.arena_len(), 12 * opus.max_payload);
        assert!(opus.arena_len() < 20_000);
    }

    #[test]
    fn opus_leg_encodes_at_the_configured_complexity() {
        let leg = LegMedia::new(LegConfig { opus_complexity: 1, ..cfg(CodecKind::Opus, false) }, 16000, Instant::now()).unwrap();
        let AnyEncoder::Opus(enc) = &leg.encoder else { panic!("an Opus leg has an Opus encoder") };
        assert_eq!(enc.complexity().unwrap(), 1);
        assert!(LegMedia::new(LegConfig { opus_complexity: 11, ..cfg(CodecKind::Opus, false) }, 16000, Instant::now()).is_err());
    }

    /// The Opus encoder follows the port: narrowband while the port's audio
    /// is, wideband again when it is not.
    #[test]
    fn an_opus_leg_codes_narrowband_while_its_port_says_the_audio_is() {
        struct Band(bool);
        impl MediaPort for Band {
            fn rate(&self) -> u32 {
                16000
            }
            fn put_frame(&mut self, _: &AudioFrame) {}
            fn get_frame(&mut self, _: &mut AudioFrame) -> bool {
                false
            }
            fn narrowband(&self) -> bool {
                self.0
            }
        }
        let mut now = Instant::now();
        let mut leg = LegMedia::new(cfg(CodecKind::Opus, false), 16000, now).unwrap();
        let mut band = |leg: &mut LegMedia, narrowband: bool| {
            now += std::time::Duration::from_millis(20);
            assert!(leg.tick(now, &mut Band(narrowband)).is_some(), "a packet every tick");
            let AnyEncoder::Opus(enc) = &leg.encoder else { panic!("an Opus leg has an Opus encoder") };
            enc.max_bandwidth().unwrap()
        };
        assert_eq!(band(&mut leg, false), OpusBandwidth::Wideband);
        assert_eq!(band(&mut leg, true), OpusBandwidth::Narrowband);
        assert_eq!(band(&mut leg, true), OpusBandwidth::Narrowband);
        assert_eq!(band(&mut leg, false), OpusBandwidth::Wideband);
    }

    #[test]
    fn loopback_between_two_legs_carries_audio_and_digits() {
        let t0 = Instant::now();
        let mut a = LegMedia::new(cfg(CodecKind::Pcmu, false), 16000, t0).unwrap();
        let mut b = LegMedia::new(cfg(CodecKind::Pcmu, true), 8000, t0).unwrap();
        let mut pa = Probe { rate: 16000, got: Vec::new() };
        let mut pb = Probe { rate: 8000, got: Vec::new() };
        let src: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        for i in 0..50u32 {
            let now = t0 + Duration::from_millis(20 * u64::from(i));
            let pkt = a.tick(now, &mut pa).unwrap().to_vec();
            b.on_rtp(now, src, &pkt);
            let back = b.tick(now, &mut pb).unwrap().to_vec();
            a.on_rtp(now, src, &back);
        }
        // B heard A's 1 kHz tone (A's app runs at 16 kHz, resampled to G.711).
        let tail = &pb.got[pb.got.len() - 1600..];
        let energy: f64 = tail.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / tail.len() as f64;
        assert!(energy.sqrt() > 2000.0, "tone arrives: rms {}", energy.sqrt());
        assert_eq!(pa.got.len() % 320, 0, "A's app gets 16 kHz frames");
        assert_eq!(b.rtp_source(), Some(src));
        let q = b.quality();
        assert!(q.packets >= 49 && q.lost == 0, "receive statistics: {q:?}");
        assert!(q.mos > 4.0, "clean loopback rates well: {q:?}");

        // An RFC 4733 digit from A reaches B's merged stream once.
        let mut sender = TelephoneEventSender::new(Digit::from_char('5').unwrap(), 1000, 800, 10, 8000);
        let mut seq = 100u16;
        let mut now = t0 + Duration::from_secs(2);
        for p in sender.by_ref() {
            let h = RtpHeader { payload_type: 101, seq, timestamp: p.timestamp, ssrc: 7, marker: p.marker };
            let mut buf = [0u8; 64];
            let n = packetize(&h, &p.payload, &mut buf).unwrap();
            b.on_rtp(now, src, &buf[..n]);
            seq = seq.wrapping_add(1);
            now += Duration::from_millis(20);
            b.tick(now, &mut pb);
        }
        for _ in 0..20 {
            now += Duration::from_millis(20);
            b.tick(now, &mut pb);
        }
        // And B can send a digit back as telephone-events A understands.
        assert!(b.send_dtmf(Digit::from_char('9').unwrap()));
        let mut t = now;
        for _ in 0..15 {
            t += Duration::from_millis(20);
            if let Some(pkt) = b.tick(t, &mut pb).map(|p| p.to_vec()) {
                a.on_rtp(t, src, &pkt);
            }
            a.tick(t, &mut pa);
        }
        for _ in 0..30 {
            t += Duration::from_millis(20);
            a.tick(t, &mut pa);
        }
        let back = a.poll_dtmf().expect("digit sent by B arrives at A");
        assert_eq!((back.digit.to_char(), back.source), ('9', DtmfSource::Rfc4733));
        let d = b.poll_dtmf().expect("digit merged");
        assert_eq!((d.digit.to_char(), d.source), ('5', DtmfSource::Rfc4733));
        assert!(b.poll_dtmf().is_none(), "no double digit");
    }

    /// RFC 4733 packets of one `digit` press from `ssrc`, starting at `seq`.
    fn digit_packets(digit: char, seq: u16, ssrc: u32) -> Vec<Vec<u8>> {
        let sender = TelephoneEventSender::new(Digit::from_char(digit).unwrap(), 1000, 800, 10, 8000);
        sender
            .enumerate()
            .map(|(i, p)| {
                let h = RtpHeader { payload_type: 101, seq: seq.wrapping_add(i as u16), timestamp: p.timestamp, ssrc, marker: p.marker };
                let mut buf = [0u8; 64];
                let n = packetize(&h, &p.payload, &mut buf).unwrap();
                buf[..n].to_vec()
            })
            .collect()
    }

    /// Ticks `leg` for `n` frames from `*now`; the digits it reported.
    fn run_ticks(leg: &mut LegMedia, port: &mut Probe, now: &mut Instant, n: u32) -> Vec<char> {
        let mut got = Vec::new();
        for _ in 0..n {
            *now += Duration::from_millis(20);
            leg.tick(*now, port);
            while let Some(d) = leg.poll_dtmf() {
                got.push(d.digit.to_char());
            }
        }
        got
    }

    #[test]
    fn latches_on_the_first_valid_source_and_drops_the_rest() {
        let t0 = Instant::now();
        let mut leg = LegMedia::new(cfg(CodecKind::Pcmu, false), 8000, t0).unwrap();
        let mut port = Probe { rate: 8000, got: Vec::new() };
        // A NAT'd phone: its SDP names a private address, it sends from a public one.
        let sdp: SocketAddr = "10.0.0.5:4000".parse().unwrap();
        let public: SocketAddr = "203.0.113.7:30000".parse().unwrap();
        let public_rtcp: SocketAddr = "203.0.113.7:30001".parse().unwrap();
        let evil: SocketAddr = "127.0.0.66:5000".parse().unwrap();
        assert!(leg.set_remote(Some(sdp), None));
        assert_eq!(leg.rtp_destination(), Some(sdp), "before latching we send to the SDP address");
        assert_eq!(leg.rtcp_destination(), Some("10.0.0.5:4001".parse().unwrap()));

        // Junk never latches, whoever sends it.
        assert_eq!(leg.on_rtp(t0, evil, &[0x80, 0]), RxVerdict::Malformed);
        assert_eq!(leg.on_rtcp(t0, evil, &[0x80, 0xc9, 0, 9]), RxVerdict::Malformed);
        assert_eq!(leg.rtp_source(), None);

        // The first valid packet latches; we answer there (NAT traversal).
        let audio = |seq: u16| {
            let h = RtpHeader { payload_type: 0, seq, timestamp: u32::from(seq) * 160, ssrc: 9, marker: false };
            let mut buf = [0u8; 200];
            let n = packetize(&h, &[0xff; 160], &mut buf).unwrap();
            buf[..n].to_vec()
        };
        assert_eq!(leg.on_rtp(t0, public, &audio(1)), RxVerdict::Latched(public));
        assert_eq!(leg.on_rtp(t0, public, &audio(2)), RxVerdict::Accepted);
        assert_eq!(leg.rtp_destination(), Some(public));
        assert_eq!(leg.rtcp_destination(), Some(public_rtcp), "RTCP follows the latched RTP source (port + 1)");

        // A third party's valid `#` (same payload type, plausible numbers) is
        // dropped before the DTMF receiver: no digit, and it is counted.
        let mut now = t0;
        let evil_digit = digit_packets('#', 3, 9);
        for p in &evil_digit {
            assert_eq!(leg.on_rtp(now, evil, p), RxVerdict::Foreign);
            now += Duration::from_millis(20);
        }
        assert!(run_ticks(&mut leg, &mut port, &mut now, 40).is_empty(), "an injected digit was detected");
        assert_eq!(leg.dropped_foreign(), ForeignDrops { rtp: evil_digit.len() as u64, rtcp: 0 });
        // Foreign RTP does not keep the leg alive either.
        assert_eq!(leg.last_rtp(), Some(t0));

        // The peer's own `#` gets through.
        for p in &digit_packets('#', 20, 9) {
            assert_eq!(leg.on_rtp(now, public, p), RxVerdict::Accepted);
            now += Duration::from_millis(20);
        }
        assert_eq!(run_ticks(&mut leg, &mut port, &mut now, 40), vec!['#']);

        // RTCP has a latch of its own.
        let rr = [0x80, 0xc9, 0, 1, 0, 0, 0, 9];
        assert_eq!(leg.on_rtcp(now, public_rtcp, &rr), RxVerdict::Latched(public_rtcp));
        assert_eq!(leg.on_rtcp(now, evil, &rr), RxVerdict::Foreign);
        assert_eq!(leg.on_rtcp(now, public_rtcp, &rr), RxVerdict::Accepted);
        assert_eq!(leg.dropped_foreign().rtcp, 1);

        // A re-INVITE with the same address keeps the latches...
        assert!(!leg.set_remote(Some(sdp), None));
        assert_eq!(leg.on_rtp(now, evil, &audio(50)), RxVerdict::Foreign);
        // ...a new address resets them: the peer re-latches from where it now sends.
        let moved: SocketAddr = "198.51.100.9:40000".parse().unwrap();
        assert!(leg.set_remote(Some("10.0.0.6:4000".parse().unwrap()), None));
        assert_eq!(leg.rtp_destination(), Some("10.0.0.6:4000".parse().unwrap()));
        assert_eq!(leg.on_rtp(now, moved, &audio(51)), RxVerdict::Latched(moved));
        assert_eq!(leg.on_rtp(now, public, &audio(52)), RxVerdict::Foreign, "the old source is foreign now");
        assert_eq!(leg.rtp_destination(), Some(moved));
    }

    /// A port that only offers pre-encoded PCMU frames.
    struct Encoded;
    impl MediaPort for Encoded {
        fn rate(&self) -> u32 {
            8000
        }
        fn put_frame(&mut self, _f: &AudioFrame) {}
        fn get_frame(&mut self, _f: &mut AudioFrame) -> bool {
            panic!("PCM must not be asked for while encoded frames are offered")
        }
        fn get_encoded(&mut self, codec: &str, out: &mut [u8]) -> Option<usize> {
            assert_eq!(codec, "PCMU");
            out[..160].fill(0x55);
            Some(160)
        }
    }

    #[test]
    fn pre_encoded_frames_skip_the_encoder() {
        let t0 = Instant::now();
        let mut leg = LegMedia::new(cfg(CodecKind::Pcmu, false), 8000, t0).unwrap();
        let pkt = leg.tick(t0, &mut Encoded).unwrap().to_vec();
        let rtp = depacketize(&pkt).unwrap();
        assert_eq!(rtp.payload, &[0x55u8; 160][..]);
        let next = leg.tick(t0 + Duration::from_millis(20), &mut Encoded).unwrap().to_vec();
        let next = depacketize(&next).unwrap();
        assert_eq!(next.header.timestamp.wrapping_sub(rtp.header.timestamp), 160, "the clock advances per frame");
    }
}
