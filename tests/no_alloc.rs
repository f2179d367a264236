//! Proves "hot paths allocate nothing" for the media pipeline outside the mixer (which has
//! tests/mixer_no_alloc.rs): every per-frame and per-packet path runs in steady state, after a
//! warm-up, under a counting global allocator, and must not allocate.
//!
//! The counter is thread-local, so tests running in parallel do not see each other. Each test
//! also asserts that the path did real work (digits detected, frames played, packets relayed),
//! so a zero cannot come from a path that silently did nothing.
//! The SIP attack guard's per-packet checks (`sip::guard`) are held to the same rule.
//! An integration test, so the counting allocator is confined to this test binary.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::{Duration, Instant};

use switchboard::media::codec::{CodecKind, Decoder, Encoder};
use switchboard::media::dtmf::{Digit, DtmfDetector, TelephoneEventReceiver, TelephoneEventSender};
use switchboard::media::jitter::{JitterBuffer, JitterConfig, Playout};
use switchboard::media::rtcp::{RtcpConfig, RtcpSession};
use switchboard::media::rtp::{depacketize, packetize, Packetizer, RtpHeader};
use switchboard::media::{AudioFrame, Resample, Resampler};

struct Counting;
thread_local! { static ALLOCS: Cell<u64> = const { Cell::new(0) }; }
// `realloc` and `alloc_zeroed` use the default methods, which call `alloc`: counted too.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
}
#[global_allocator]
static A: Counting = Counting;

fn allocs() -> u64 {
    ALLOCS.with(|c| c.get())
}

/// Allocations made on this thread while `f` runs.
fn count<R>(f: impl FnOnce() -> R) -> (u64, R) {
    let before = allocs();
    let r = f();
    (allocs() - before, r)
}

/// 8 kHz PCM with the 16 keys (80 ms on, 80 ms off, -10 dBm0 per tone) over low noise.
fn dtmf_pcm() -> (Vec<i16>, String) {
    const ROWS: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
    const COLS: [f64; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
    const KEYS: [&str; 4] = ["123A", "456B", "789C", "*0#D"];
    let mut pcm = vec![0i16; 800];
    let mut keys = String::new();
    let mut seed = 1u32;
    for (r, row) in KEYS.iter().enumerate() {
        for (c, key) in row.chars().enumerate() {
            keys.push(key);
            for n in 0..1280 {
                let t = n as f64 / 8000.0;
                let tone = if n < 640 {
                    7000.0 * ((std::f64::consts::TAU * ROWS[r] * t).sin() + (std::f64::consts::TAU * COLS[c] * t).sin())
                } else {
                    0.0
                };
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                let noise = f64::from((seed >> 16) % 400) - 200.0;
                pcm.push((tone + noise) as i16);
            }
        }
    }
    pcm.extend(std::iter::repeat_n(0, 800));
    (pcm, keys)
}

fn tone_frame(rate: u32, hz: f64, offset: usize) -> AudioFrame {
    let mut f = AudioFrame::silence(rate);
    for (i, s) in f.pcm_mut().iter_mut().enumerate() {
        let t = (offset + i) as f64 / f64::from(rate);
        *s = (8000.0 * (std::f64::consts::TAU * hz * t).sin()) as i16;
    }
    f
}

#[test]
fn the_counter_sees_allocations() {
    let (n, v) = count(|| std::hint::black_box(vec![1u8; 100]));
    assert!(n >= 1 && v.len() == 100, "counted {n}");
}

#[test]
fn dtmf_detection_does_not_allocate() {
    let (pcm, keys) = dtmf_pcm();
    let mut det = DtmfDetector::new();
    // Warm-up: one full pass, so every state (tone on, off, event queued) has been visited.
    for chunk in pcm.chunks(160) {
        det.process(chunk);
    }
    while det.poll_event().is_some() {}

    let mut found = String::with_capacity(64);
    let (n, ()) = count(|| {
        for _ in 0..3 {
            for chunk in pcm.chunks(160) {
                det.process(chunk);
                while let Some(e) = det.poll_event() {
                    found.push(e.digit.to_char());
                }
            }
        }
    });
    assert_eq!(n, 0, "allocations in DtmfDetector::process/poll_event");
    assert_eq!(found, keys.repeat(3), "the detector did its job while measured");
}

#[test]
fn rfc4733_receiver_does_not_allocate() {
    // Packet trains for all 16 keys, 100 ms presses 200 ms apart (timestamps at 8 kHz).
    let mut train = Vec::new();
    for (k, ch) in "123A456B789C*0#D".chars().enumerate() {
        let ts0 = 1000 + k as u32 * 1600;
        for p in TelephoneEventSender::new(Digit::from_char(ch).expect("key"), ts0, 800, 10, 8000) {
            train.push((u64::from(ts0 + p.send_at) / 8, p.timestamp, p.marker, p.payload));
        }
    }
    let mut rx = TelephoneEventReceiver::new(8000);
    let round_ts = 16 * 1600u32;
    let run = |rx: &mut TelephoneEventReceiver, round: u32, out: &mut String| {
        for &(ms, ts, marker, payload) in &train {
            let now = u64::from(round) * u64::from(round_ts / 8) + ms;
            rx.handle_packet(now, ts + round * round_ts, marker, &payload).expect("valid payload");
            rx.handle_timeout(now);
            while let Some(e) = rx.poll_event() {
                out.push(e.digit.to_char());
            }
        }
    };
    let mut warm = String::new();
    run(&mut rx, 0, &mut warm);
    assert_eq!(warm, "123A456B789C*0#D");

    let mut found = String::with_capacity(64);
    let (n, ()) = count(|| {
        for round in 1..4 {
            run(&mut rx, round, &mut found);
        }
    });
    assert_eq!(n, 0, "allocations in TelephoneEventReceiver::handle_packet/poll_event");
    assert_eq!(found, "123A456B789C*0#D".repeat(3));
}

#[test]
fn codecs_encode_and_decode_without_allocating() {
    for kind in CodecKind::ALL {
        let rate = kind.sample_rate();
        let frames: Vec<AudioFrame> = (0..50).map(|i| tone_frame(rate, 440.0, i * (rate as usize / 50))).collect();
        let mut enc = kind.new_encoder().expect("encoder");
        let mut dec = kind.new_decoder().expect("decoder");
        let mut payload = vec![0u8; kind.max_payload_len()];
        let mut out = AudioFrame::silence(rate);
        let mut step = |f: &AudioFrame, out: &mut AudioFrame| -> (usize, i64) {
            let len = enc.encode(f, &mut payload).expect("encode");
            dec.decode(&payload[..len], out).expect("decode");
            let energy = out.pcm().iter().map(|&s| i64::from(s).abs()).sum::<i64>();
            (len, energy)
        };
        for f in &frames {
            step(f, &mut out);
        }
        let (n, (bytes, energy)) = count(|| {
            let (mut bytes, mut energy) = (0, 0);
            for _ in 0..4 {
                for f in &frames {
                    let (l, e) = step(f, &mut out);
                    bytes += l;
                    energy += e;
                }
            }
            (bytes, energy)
        });
        assert_eq!(n, 0, "{kind}: allocations in encode/decode");
        assert!(bytes > 0 && energy > 0, "{kind}: encoded {bytes} bytes, decoded energy {energy}");
        assert_eq!((out.rate, out.len), (rate, rate as usize / 50), "{kind}: decoded a full frame");

        // Loss paths of the decoder (PLC; Opus FEC) are per-frame too.
        let (n, ()) = count(|| {
            for _ in 0..10 {
                dec.conceal(&mut out);
                dec.decode_fec(&payload[..1], &mut out).ok();
            }
        });
        assert_eq!(n, 0, "{kind}: allocations in conceal/decode_fec");
    }
}

#[test]
fn jitter_buffer_push_pop_does_not_allocate() {
    let mut jb = JitterBuffer::new(JitterConfig::default());
    let t0 = Instant::now();
    let frame = Duration::from_millis(20);
    let mut payload = [0u8; 160];
    let mut played = 0u32;
    let mut step = |k: u32, played: &mut u32| {
        payload[..4].copy_from_slice(&k.to_be_bytes());
        // Every 7th packet late by 30 ms, every 11th missing: reordering and loss paths too.
        if k % 11 != 5 {
            let late = if k % 7 == 3 { 30 } else { (k % 3) * 3 };
            jb.push(k as u16, k * 160, &payload, t0 + frame * k + Duration::from_millis(u64::from(late)));
        }
        if let Playout::Frame(_) = jb.pop(t0 + frame * k + Duration::from_millis(10)) {
            *played += 1;
        }
    };
    for k in 0..200 {
        step(k, &mut played);
    }
    let before = played;
    let (n, ()) = count(|| {
        // Crosses the 16-bit sequence wrap (65536) on the way.
        for k in 200..70_000 {
            step(k, &mut played);
        }
    });
    assert_eq!(n, 0, "allocations in JitterBuffer::push/pop");
    assert!(played - before > 50_000, "frames played while measured: {}", played - before);
}

#[test]
fn resampler_does_not_allocate() {
    for (from, to) in [(8000u32, 16_000u32), (16_000, 8000), (16_000, 48_000), (48_000, 16_000), (8000, 48_000)] {
        let mut r = Resampler::new(from, to).expect("resampler");
        let frames: Vec<AudioFrame> = (0..10).map(|i| tone_frame(from, 1000.0, i * (from as usize / 50))).collect();
        let mut out = AudioFrame::silence(to);
        for f in &frames {
            r.process(f, &mut out);
        }
        let (n, energy) = count(|| {
            let mut energy = 0i64;
            for _ in 0..20 {
                for f in &frames {
                    r.process(f, &mut out);
                    energy += out.pcm().iter().map(|&s| i64::from(s).abs()).sum::<i64>();
                }
            }
            energy
        });
        assert_eq!(n, 0, "{from}->{to}: allocations in Resampler::process");
        assert!(energy > 0 && r.mismatched_frames() == 0, "{from}->{to}: produced audio");
        assert_eq!((out.rate, out.len), (to, to as usize / 50));
    }
}

#[test]
fn rtp_packetize_depacketize_does_not_allocate() {
    let payload = [0xd5u8; 160];
    let mut pk = Packetizer::new(0x1234_5678, 0, 65_000, 0).expect("pt");
    let mut buf = [0u8; 1500];
    let n = pk.next(&payload, 160, true, &mut buf).expect("fits");
    depacketize(&buf[..n]).expect("parses");

    let (allocs, sum) = count(|| {
        let mut sum = 0u64;
        for i in 0..2000u32 {
            let n = pk.next(&payload, 160, i % 50 == 0, &mut buf).expect("fits");
            let p = depacketize(&buf[..n]).expect("parses");
            sum += u64::from(p.header.seq) + p.payload.len() as u64 + p.csrcs().count() as u64;
            let h = RtpHeader { payload_type: 8, marker: false, seq: i as u16, timestamp: i * 160, ssrc: 9 };
            let n = packetize(&h, &payload[..80], &mut buf).expect("fits");
            sum += depacketize(&buf[..n]).expect("parses").payload.len() as u64;
        }
        sum
    });
    assert_eq!(allocs, 0, "allocations in packetize/depacketize");
    assert!(sum > 2000 * 240, "packets were built and parsed");
    assert_eq!(pk.packets(), 2001);
}

#[test]
fn rtcp_on_rtp_received_does_not_allocate() {
    let t0 = Instant::now();
    let cfg = RtcpConfig {
        ssrc: 1,
        cname: b"test@switchboard".to_vec(),
        clock_rate: 8000,
        session_bandwidth_bps: 80_000,
    };
    let mut s = RtcpSession::new(cfg, t0, 0, 7);
    let at = |k: u32| t0 + Duration::from_millis(u64::from(k) * 20 + u64::from(k % 4));
    for k in 0..100u32 {
        s.on_rtp_received(0xabcd, k as u16, k * 160, at(k));
    }
    let (n, ()) = count(|| {
        for k in 100..70_000u32 {
            s.on_rtp_received(0xabcd, k as u16, k * 160, at(k));
        }
    });
    assert_eq!(n, 0, "allocations in RtcpSession::on_rtp_received");
    assert_eq!(s.remote_ssrc(), Some(0xabcd));
    assert!(s.stats().received() > 60_000, "packets counted: {}", s.stats().received());
}

/// The relay's per-packet path (`media::relay_task`: readiness, `try_recv_from`, validation,
/// latch, counters, quality observation of RTP headers and RTCP reports, `try_send_to`, the
/// publish timer) on a current-thread runtime, so the relay task, the tokio scheduler and the I/O
/// driver all run on this thread and are seen by the thread-local counter (checked with a probe
/// task first). The peers are plain non-blocking std sockets (no tokio, no allocation of their
/// own); the test task sends one datagram, then yields until the other peer has it: ping-pong
/// A→B, B→A, with an RTCP SR (report block + SDES) each way every 10th round.
#[test]
fn relay_forwarding_does_not_allocate_in_steady_state() {
    use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
    use switchboard::media::rtcp::{ReportBlock, RtcpWriter, SenderInfo};
    use switchboard::media::{Leg, PortAllocator, RelayConfig, RelaySession};

    /// Sends `pkt` from `from` to the relay at `relay`; yields until `to` has received it and
    /// returns whether it arrived unchanged (bounded: a lost datagram fails, it cannot hang).
    async fn hop(from: &UdpSocket, to: &UdpSocket, relay: SocketAddr, pkt: &[u8], rbuf: &mut [u8; 2048]) -> bool {
        from.send_to(pkt, relay).expect("send");
        for _ in 0..100_000 {
            match to.recv_from(rbuf) {
                Ok((n, _)) => return rbuf[..n] == *pkt,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => tokio::task::yield_now().await,
                Err(e) => panic!("recv: {e}"),
            }
        }
        false
    }
    fn rtp(buf: &mut [u8; 172], ssrc: u32, seq: u16) -> &[u8] {
        let h = RtpHeader { payload_type: 0, marker: false, seq, timestamp: u32::from(seq) * 160, ssrc };
        let n = packetize(&h, &[0xd5; 160], buf).expect("fits");
        &buf[..n]
    }
    fn sr(buf: &mut [u8; 256], ssrc: u32, about: u32, round: u32) -> &[u8] {
        let info = SenderInfo {
            ntp: (3_900_000_000u64 + u64::from(round)) << 32,
            rtp_ts: round * 160,
            packet_count: round,
            octet_count: round * 160,
        };
        let block = ReportBlock {
            ssrc: about,
            ext_highest_seq: round,
            jitter: 3,
            lsr: ((3_900_000_000u32.wrapping_add(round).wrapping_sub(10)) & 0xffff) << 16,
            dlsr: 65_536 / 10,
            ..ReportBlock::default()
        };
        let mut w = RtcpWriter::new(buf);
        w.sender_report(ssrc, &info, &[block]).expect("sr");
        w.sdes_cname(ssrc, b"peer@127.0.0.1").expect("sdes");
        let n = w.finish();
        &buf[..n]
    }

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let alloc = PortAllocator::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 31_400..=31_499).expect("range");
        let a = alloc.allocate().await.expect("leg A ports");
        let b = alloc.allocate().await.expect("leg B ports");
        let (h, _events) = RelaySession::start(a, b, RelayConfig::default());
        // Probe: work done by a spawned task (as the relay is) shows in this thread's counter.
        let probe = tokio::spawn(async { std::hint::black_box(Box::new([0u8; 64])).len() });
        let before = allocs();
        assert_eq!(probe.await.expect("probe"), 64);
        assert!(allocs() > before, "a spawned task's allocation was not counted on this thread");

        let peer = || {
            let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
            s.set_nonblocking(true).expect("nonblocking");
            s
        };
        let (pa, pa_rtcp, pb, pb_rtcp) = (peer(), peer(), peer(), peer());
        let addr = |s: &UdpSocket| s.local_addr().expect("addr");
        h.set_remote(Leg::A, addr(&pa), Some(addr(&pa_rtcp)));
        h.set_remote(Leg::B, addr(&pb), Some(addr(&pb_rtcp)));
        let (ra, rb) = (h.local_rtp(Leg::A), h.local_rtp(Leg::B));
        let (ca, cb) = (h.local_rtcp(Leg::A), h.local_rtcp(Leg::B));

        let (mut pkt, mut cbuf, mut rbuf) = ([0u8; 172], [0u8; 256], [0u8; 2048]);
        // One round: RTP each way; every 10th round an SR each way. Returns datagrams relayed.
        let mut round = async |k: u16| -> u32 {
            let mut ok = 0;
            ok += u32::from(hop(&pa, &pb, ra, rtp(&mut pkt, 0xa, k), &mut rbuf).await);
            ok += u32::from(hop(&pb, &pa, rb, rtp(&mut pkt, 0xb, k), &mut rbuf).await);
            if k % 10 == 0 {
                ok += u32::from(hop(&pa_rtcp, &pb_rtcp, ca, sr(&mut cbuf, 0xa, 0xb, u32::from(k)), &mut rbuf).await);
                ok += u32::from(hop(&pb_rtcp, &pa_rtcp, cb, sr(&mut cbuf, 0xb, 0xa, u32::from(k)), &mut rbuf).await);
            }
            ok
        };

        // Warm-up: latching all four streams (a Latched event each for RTP), the timers' and
        // the I/O driver's first use.
        for k in 0..100u16 {
            assert_eq!(round(k).await, if k % 10 == 0 { 4 } else { 2 }, "warm-up round {k}");
        }

        let before = allocs();
        let mut ok = 0u32;
        for k in 100..600u16 {
            ok += round(k).await;
        }
        let n = allocs() - before;
        // 500 rounds: 1000 RTP + 100 RTCP datagrams.
        assert_eq!(ok, 1100, "datagrams relayed while measured");
        let st = h.stats();
        assert_eq!((st.a.packets_in, st.b.packets_in), (660, 660));
        assert_eq!(n, 0, "allocations while relaying 1000 RTP + 100 RTCP datagrams (relay task + current-thread tokio)");
        h.shutdown().await;
    });
}

/// A port playing a tone and counting what it receives, without allocating.
struct TonePort {
    rate: u32,
    offset: usize,
    received: usize,
}

impl switchboard::media::MediaPort for TonePort {
    fn rate(&self) -> u32 {
        self.rate
    }
    fn put_frame(&mut self, frame: &AudioFrame) {
        self.received += frame.pcm().len();
    }
    fn get_frame(&mut self, frame: &mut AudioFrame) -> bool {
        *frame = tone_frame(self.rate, 1000.0, self.offset);
        self.offset += frame.pcm().len();
        true
    }
}

/// A terminated leg's whole tick (jitter buffer, decode, in-band DTMF,
/// resampling to the app's rate, encode, packetize, RTCP) in steady state,
/// two legs feeding each other, one with an RFC 4733 digit in flight; and
/// the receive path's source check (symmetric RTP latch), which drops a
/// third party's RTP and RTCP on every tick.
#[test]
fn terminated_leg_tick_does_not_allocate() {
    use std::time::{Duration, Instant};
    use switchboard::media::codec::CodecKind;
    use switchboard::media::dtmf::Digit;
    use switchboard::media::endpoint::{LegConfig, LegMedia, RxVerdict};
    let cfg = |inband| LegConfig {
        codec: CodecKind::Pcmu,
        pt: 0,
        dtmf_pt: Some(101),
        dtmf_clock: 8000,
        inband_dtmf: inband,
        cname: "t@x".into(),
        opus_complexity: 5,
    };
    let t0 = Instant::now();
    let mut a = LegMedia::new(cfg(false), 16_000, t0).unwrap();
    let mut b = LegMedia::new(cfg(true), 16_000, t0).unwrap();
    let mut pa = TonePort { rate: 16_000, offset: 0, received: 0 };
    let mut pb = TonePort { rate: 16_000, offset: 0, received: 0 };
    let src: std::net::SocketAddr = "127.0.0.1:4000".parse().unwrap();
    let rtcp_src: std::net::SocketAddr = "127.0.0.1:4001".parse().unwrap();
    let evil: std::net::SocketAddr = "127.0.0.66:4000".parse().unwrap();
    b.set_remote(Some(src), None);
    let mut buf = [0u8; 1500];
    let mut foreign = 0u64;
    let mut step = |i: u64, a: &mut LegMedia, b: &mut LegMedia, pa: &mut TonePort, pb: &mut TonePort| {
        let now = t0 + Duration::from_millis(20 * i);
        if let Some(p) = a.tick(now, pa) {
            let n = p.len();
            buf[..n].copy_from_slice(p);
            b.on_rtp(now, src, &buf[..n]);
            // The same packet from a third party, once latched: dropped.
            if i > 0 {
                assert_eq!(b.on_rtp(now, evil, &buf[..n]), RxVerdict::Foreign);
                foreign += 1;
            }
        }
        if let Some(p) = b.tick(now, pb) {
            let n = p.len();
            buf[..n].copy_from_slice(p);
            a.on_rtp(now, src, &buf[..n]);
        }
        if let Some(p) = a.poll_rtcp(now) {
            let n = p.len();
            buf[..n].copy_from_slice(p);
            b.on_rtcp(now, rtcp_src, &buf[..n]);
            assert_eq!(b.on_rtcp(now, evil, &buf[..n]), RxVerdict::Foreign);
            foreign += 1;
        }
        while b.poll_dtmf().is_some() {}
    };
    // Warm-up: jitter buffers settle, the first RTCP goes out.
    for i in 0..400 {
        step(i, &mut a, &mut b, &mut pa, &mut pb);
    }
    let received_before = pb.received;
    let (n, ()) = count(|| {
        assert!(a.send_dtmf(Digit::from_char('5').unwrap()));
        for i in 400..900 {
            step(i, &mut a, &mut b, &mut pa, &mut pb);
        }
    });
    assert!(pb.received - received_before >= 500 * 320, "audio flowed during the measurement");
    assert_eq!(n, 0, "allocations in 500 steady-state ticks of two legs");
    assert_eq!(b.rtp_source(), Some(src), "latched onto the peer");
    assert_eq!(b.dropped_foreign().total(), foreign, "every foreign datagram counted");
    assert!(foreign >= 899, "the source check ran while measured ({foreign} foreign datagrams)");
}

/// A 20-party conference with a whisperer, and the recorder tap, per tick.
#[test]
fn mixer_and_recorder_tap_ticks_do_not_allocate() {
    let mut c = switchboard::media::mixer::Conference::new(16_000, 3).expect("rate");
    let ps: Vec<_> = (0..20).map(|_| c.add_party(switchboard::media::mixer::Role::Normal).expect("add")).collect();
    let sup = c.add_party(switchboard::media::mixer::Role::Whisper { to: ps[0] }).expect("add");
    let mut f = AudioFrame::silence(16_000);
    for (i, s) in f.pcm_mut().iter_mut().enumerate() {
        *s = ((i * 37) % 2000) as i16 - 1000;
    }
    let mut out = AudioFrame::silence(16_000);
    let dir = std::env::temp_dir().join(format!("noalloc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("r.wav");
    let _ = std::fs::remove_file(&path);
    let rec = switchboard::media::recorder::Recorder::create(&path, switchboard::media::recorder::Format::Wav, switchboard::media::recorder::Layout::Stereo, 16_000).expect("create");
    let (mut tap, drain) = switchboard::media::recorder::recording_channel(16_000, 400);

    let before = allocs();
    for _ in 0..200 {
        for &p in ps.iter().chain([&sup]) {
            c.put(p, &f).expect("put");
        }
        c.mix();
        for &p in &ps {
            c.get(p, &mut out).expect("get");
        }
        tap.write(&f, &out).expect("tap");
    }
    tap.pause();
    tap.write(&f, &out).expect("tap");
    assert_eq!(allocs() - before, 0, "allocations on the tick path");

    drop(tap);
    let info = drain.run(rec).expect("drain");
    assert_eq!(info.duration.as_millis(), 201 * 20);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sip_guard_screening_does_not_allocate() {
    use switchboard::sip::guard::{Admit, Guard, GuardConfig, SharedGuard};
    let cfg = GuardConfig { exempt: vec!["10.0.0.0/8".parse().unwrap()], rate_limit_per_sec: 1000, rate_limit_burst: 100_000, ..GuardConfig::default() };
    let mut guard = Guard::new(&cfg);
    let phone: std::net::IpAddr = "192.0.2.10".parse().unwrap();
    let lan: std::net::IpAddr = "10.1.2.3".parse().unwrap();
    // Warm-up: the address's bucket exists.
    assert_eq!(guard.admit_request(0, phone, Some("Yealink SIP-T46S"), true), Admit::Pass);
    let (n, passed) = count(|| {
        let mut passed = 0;
        for i in 1..10_000u64 {
            passed += usize::from(guard.admit_packet(i, phone) && guard.admit_packet(i, lan));
            passed += usize::from(guard.admit_request(i, phone, Some("Yealink SIP-T46S"), true) == Admit::Pass);
            passed += usize::from(guard.admit_request(i, phone, None, false) == Admit::Pass);
            passed += usize::from(guard.admit_request(i, lan, Some("friendly-scanner"), true) == Admit::Pass);
        }
        passed
    });
    assert_eq!(n, 0, "allocations while screening");
    assert_eq!(passed, 4 * 9_999, "every check passed");
    let shared = SharedGuard::new(&cfg);
    let src: std::net::SocketAddr = "192.0.2.10:5060".parse().unwrap();
    assert!(shared.admit_request(src, None, true));
    let (n, passed) = count(|| (0..10_000).filter(|_| shared.admit_packet(src.ip()) && shared.admit_request(src, Some("baresip"), true)).count());
    assert_eq!((n, passed), (0, 10_000), "allocations through the shared handle");
}
