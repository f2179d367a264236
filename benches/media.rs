//! Media hot-path benchmarks (issue 3): codecs, in-band and RFC 4733 DTMF, the conference mixer,
//! resampling, the jitter buffer, RTP and RTCP. Run with `make bench` (or
//! `cargo bench --bench media [-- FILTER]`); ends with a plain summary table.
//!
//! Every benchmark drives the steady state the appliance runs every 20 ms, with state carried
//! across iterations (codec and filter history, jitter-buffer ring), inputs prepared outside the
//! timed loop, and `black_box` on results. Speed is only measured here, never asserted.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput};

use switchboard::media::codec::{CodecKind, Decoder, Encoder, OpusBandwidth, OpusSettings, OPUS_MAX_PACKET};
use switchboard::media::dtmf::{Digit, DtmfDetector, TelephoneEventReceiver, TelephoneEventSender};
use switchboard::media::jitter::{JitterBuffer, JitterConfig, Playout};
use switchboard::media::mixer::{Conference, Role};
use switchboard::media::rtcp::{RtcpConfig, RtcpSession};
use switchboard::media::rtp::{depacketize, Packetizer};
use switchboard::media::{AudioFrame, Resample, Resampler};

mod common;
use common::{dtmf_signal, voice_frames, Summary, DTMF_CHUNK, DTMF_SAMPLES};

const FRAME: Duration = Duration::from_millis(20);
/// Distinct frames cycled through by codec and resampler benches (1 s of audio).
const FRAMES: usize = 50;

fn frame_of(rate: u32, pcm: &[i16]) -> AudioFrame {
    let mut f = AudioFrame::silence(rate);
    f.fill(rate, pcm);
    f
}

fn codecs(c: &mut Criterion, s: &mut Summary) {
    let mut g = c.benchmark_group("codec");
    for kind in CodecKind::ALL {
        let rate = kind.sample_rate();
        let name = kind.encoding_name().to_ascii_lowercase();
        let frames: Vec<AudioFrame> = voice_frames(rate, FRAMES).iter().map(|p| frame_of(rate, p)).collect();
        let samples = frames[0].len as u64;
        g.throughput(Throughput::Elements(samples));

        let mut enc = kind.new_encoder().expect("encoder");
        let mut out = vec![0u8; kind.max_payload_len()];
        let mut i = 0;
        g.bench_function(format!("{name}_encode"), |b| {
            b.iter(|| {
                i = (i + 1) % FRAMES;
                black_box(enc.encode(black_box(&frames[i]), &mut out).expect("encode"))
            })
        });
        s.add(format!("codec/{name}_encode"), samples, "samples", FRAME);

        // Decode what a fresh encoder made of the same second of audio, in order.
        let mut enc = kind.new_encoder().expect("encoder");
        let payloads: Vec<Vec<u8>> = frames
            .iter()
            .map(|f| {
                let mut p = vec![0u8; kind.max_payload_len()];
                let n = enc.encode(f, &mut p).expect("encode");
                p.truncate(n);
                p
            })
            .collect();
        let mut dec = kind.new_decoder().expect("decoder");
        let mut pcm = AudioFrame::silence(rate);
        let mut i = 0;
        g.bench_function(format!("{name}_decode"), |b| {
            b.iter(|| {
                i = (i + 1) % FRAMES;
                dec.decode(black_box(&payloads[i]), &mut pcm).expect("decode");
                black_box(pcm.len)
            })
        });
        s.add(format!("codec/{name}_decode"), samples, "samples", FRAME);
    }
    g.finish();
}

/// What a transcoded call's Opus side encodes: a G.711 caller's voice
/// (8 kHz, brought to the encoder's 16 kHz by the leg's resampler), coded
/// narrowband as `LegMedia` does beside a G.711 leg, at the default effort
/// and at 1 (the bench's `transcode-c1` row). With `codec/opus_decode` these
/// give libopus's own share of a transcoded call, the ceiling `make bench`
/// prints beside the load tool's calls per core.
fn opus_transcode_side(c: &mut Criterion, s: &mut Summary) {
    let mut g = c.benchmark_group("codec");
    let rate = CodecKind::Opus.sample_rate();
    let mut up = Resampler::new(8000, rate).expect("resampler");
    let frames: Vec<AudioFrame> = voice_frames(8000, FRAMES)
        .iter()
        .map(|p| {
            let mut wide = AudioFrame::silence(rate);
            up.process(&frame_of(8000, p), &mut wide);
            wide
        })
        .collect();
    g.throughput(Throughput::Elements(frames[0].len as u64));
    let mut efforts = vec![OpusSettings::default().complexity, 1];
    efforts.dedup();
    for complexity in efforts {
        let settings = OpusSettings { complexity, max_bandwidth: OpusBandwidth::Narrowband, ..OpusSettings::default() };
        let mut enc = CodecKind::Opus.new_encoder_with(settings).expect("encoder");
        let mut out = [0u8; OPUS_MAX_PACKET];
        let mut i = 0;
        let id = format!("opus_encode_narrowband_c{complexity}");
        g.bench_function(&id, |b| {
            b.iter(|| {
                i = (i + 1) % FRAMES;
                black_box(enc.encode(black_box(&frames[i]), &mut out).expect("encode"))
            })
        });
        s.add(format!("codec/{id}"), frames[0].len as u64, "samples", FRAME);
    }
    g.finish();
}

fn dtmf(c: &mut Criterion, s: &mut Summary) {
    let (signal, keys) = dtmf_signal();
    // Not a timing check: the bench is only meaningful if the detector finds the digits.
    let mut det = DtmfDetector::new();
    let mut found = String::new();
    for chunk in signal.chunks(DTMF_CHUNK) {
        det.process(chunk);
        while let Some(e) = det.poll_event() {
            found.push(e.digit.to_char());
        }
    }
    det.flush();
    while let Some(e) = det.poll_event() {
        found.push(e.digit.to_char());
    }
    assert_eq!(found, keys, "detector output on the bench signal");

    let mut g = c.benchmark_group("dtmf");
    g.throughput(Throughput::Elements(DTMF_SAMPLES as u64));
    g.bench_function("detector_10s", |b| {
        b.iter_batched(
            DtmfDetector::new,
            |mut d| {
                let mut n = 0u32;
                for chunk in signal.chunks(DTMF_CHUNK) {
                    d.process(black_box(chunk));
                    while d.poll_event().is_some() {
                        n += 1;
                    }
                }
                black_box(n);
                d // dropped outside the timed section
            },
            BatchSize::SmallInput,
        )
    });
    s.add("dtmf/detector_10s", DTMF_SAMPLES as u64, "samples", Duration::from_secs(10));

    // RFC 4733: the packet trains of 16 key presses (100 ms each, 200 ms apart), replayed with
    // the timestamps moved forward each round so every packet is new to the receiver.
    let mut train = Vec::new();
    for (k, ch) in "123A456B789C*0#D".chars().enumerate() {
        let digit = Digit::from_char(ch).expect("key");
        let ts0 = k as u32 * 1600;
        for p in TelephoneEventSender::new(digit, ts0, 800, 10, 8000) {
            train.push((u64::from(ts0 + p.send_at) / 8, p.timestamp, p.marker, p.payload));
        }
    }
    let round_ts = 16 * 1600u32;
    let mut rx = TelephoneEventReceiver::new(8000);
    let (mut i, mut round) = (0usize, 0u32);
    g.throughput(Throughput::Elements(1));
    g.bench_function("rfc4733_packet", |b| {
        b.iter(|| {
            let (ms, ts, marker, payload) = train[i];
            let off = round.wrapping_mul(round_ts);
            let now = u64::from(round) * u64::from(round_ts / 8) + ms;
            rx.handle_packet(now, ts.wrapping_add(off), marker, black_box(&payload)).expect("valid");
            while let Some(e) = rx.poll_event() {
                black_box(e);
            }
            i += 1;
            if i == train.len() {
                i = 0;
                round += 1;
            }
        })
    });
    // RFC 4733 packets come every 50 ms during a press; report per packet, no real-time factor.
    s.add("dtmf/rfc4733_packet", 1, "packets", Duration::ZERO);
    g.finish();
}

fn mixer(c: &mut Criterion, s: &mut Summary) {
    const RATE: u32 = 16_000;
    let mut g = c.benchmark_group("mixer");
    let voices = voice_frames(RATE, FRAMES);
    for parties in [3usize, 10, 50, 100] {
        // Three loudest talkers mixed (the conference default in the tests and the config).
        let mut conf = Conference::new(RATE, 3).expect("rate");
        conf.set_join_leave_tones(false);
        let ids: Vec<_> = (0..parties).map(|_| conf.add_party(Role::Normal).expect("add")).collect();
        // Every party talks, at different levels and offsets, so talker selection has work.
        let inputs: Vec<Vec<AudioFrame>> = (0..parties)
            .map(|p| {
                (0..FRAMES)
                    .map(|f| {
                        let mut fr = frame_of(RATE, &voices[(f + p) % FRAMES]);
                        let gain = 1.0 / (1.0 + (p % 7) as f32);
                        fr.pcm_mut().iter_mut().for_each(|x| *x = (f32::from(*x) * gain) as i16);
                        fr
                    })
                    .collect()
            })
            .collect();
        let mut out = AudioFrame::silence(RATE);
        let mut tick = 0usize;
        g.throughput(Throughput::Elements(parties as u64));
        g.bench_function(BenchmarkId::new("tick_16k", parties), |b| {
            b.iter(|| {
                tick = (tick + 1) % FRAMES;
                for (p, &id) in ids.iter().enumerate() {
                    conf.put(id, &inputs[p][tick]).expect("put");
                }
                conf.mix();
                for &id in &ids {
                    conf.get(id, &mut out).expect("get");
                    black_box(&out);
                }
            })
        });
        s.add(format!("mixer/tick_16k/{parties}"), parties as u64, "party-frames", FRAME);
    }
    g.finish();
}

fn resample(c: &mut Criterion, s: &mut Summary) {
    let mut g = c.benchmark_group("resample");
    for (from, to) in [(8000u32, 16_000u32), (16_000, 8000), (16_000, 48_000), (48_000, 16_000)] {
        let frames: Vec<AudioFrame> = voice_frames(from, FRAMES).iter().map(|p| frame_of(from, p)).collect();
        let mut r = Resampler::new(from, to).expect("resampler");
        let mut out = AudioFrame::silence(to);
        let samples = frames[0].len as u64;
        let mut i = 0;
        g.throughput(Throughput::Elements(samples));
        let id = format!("{}k_to_{}k", from / 1000, to / 1000);
        g.bench_function(&id, |b| {
            b.iter(|| {
                i = (i + 1) % FRAMES;
                r.process(black_box(&frames[i]), &mut out);
                black_box(&out);
            })
        });
        assert_eq!(r.mismatched_frames(), 0);
        s.add(format!("resample/{id}"), samples, "in-samples", FRAME);
    }
    g.finish();
}

fn jitter(c: &mut Criterion, s: &mut Summary) {
    let mut g = c.benchmark_group("jitter");
    let mut jb = JitterBuffer::new(JitterConfig::default());
    let payload = [0x55u8; 160];
    let t0 = Instant::now();
    let mut n: u64 = 0;
    // One packet in, one frame out per iteration, on a virtual clock (packets 20 ms apart with
    // a few ms of alternating jitter, pops at a 20 ms cadence).
    let mut step = move |jb: &mut JitterBuffer| {
        let arrival = t0 + FRAME * (n as u32) + Duration::from_millis((n % 3) * 4);
        jb.push(n as u16, (n as u32).wrapping_mul(160), black_box(&payload), arrival);
        let played = matches!(jb.pop(t0 + FRAME * (n as u32) + Duration::from_millis(10)), Playout::Frame(_));
        n += 1;
        played
    };
    for _ in 0..100 {
        step(&mut jb);
    }
    g.throughput(Throughput::Elements(1));
    g.bench_function("push_pop", |b| b.iter(|| black_box(step(&mut jb))));
    let st = jb.stats();
    assert!(st.played > 0 && st.late == 0, "jitter bench left steady state: {st:?}");
    s.add("jitter/push_pop", 1, "packets", FRAME);
    g.finish();
}

fn rtp_rtcp(c: &mut Criterion, s: &mut Summary) {
    let mut g = c.benchmark_group("rtp");
    g.throughput(Throughput::Elements(1));
    let payload = [0xd5u8; 160];
    let mut pk = Packetizer::new(0x1234_5678, 0, 1000, 0).expect("pt");
    let mut buf = [0u8; 1500];
    g.bench_function("packetize", |b| {
        b.iter(|| black_box(pk.next(black_box(&payload), 160, false, &mut buf).expect("fits")))
    });
    s.add("rtp/packetize", 1, "packets", FRAME);

    let n = pk.next(&payload, 160, false, &mut buf).expect("fits");
    let datagram = buf[..n].to_vec();
    g.bench_function("depacketize", |b| {
        b.iter(|| {
            let p = depacketize(black_box(&datagram)).expect("valid");
            black_box((p.header, p.payload.len()))
        })
    });
    s.add("rtp/depacketize", 1, "packets", FRAME);

    let t0 = Instant::now();
    let cfg = RtcpConfig {
        ssrc: 1,
        cname: b"bench@switchboard".to_vec(),
        clock_rate: 8000,
        session_bandwidth_bps: 80_000,
    };
    let mut sess = RtcpSession::new(cfg, t0, 0, 7);
    let mut k: u32 = 0;
    g.bench_function("rtcp_on_rtp_received", |b| {
        b.iter(|| {
            k = k.wrapping_add(1);
            sess.on_rtp_received(0xabcd, k as u16, k.wrapping_mul(160), t0 + FRAME * (k % 1_000_000));
        })
    });
    s.add("rtp/rtcp_on_rtp_received", 1, "packets", FRAME);
    g.finish();
}

fn main() {
    let mut c = common::criterion();
    let mut s = Summary::new();
    codecs(&mut c, &mut s);
    opus_transcode_side(&mut c, &mut s);
    dtmf(&mut c, &mut s);
    mixer(&mut c, &mut s);
    resample(&mut c, &mut s);
    jitter(&mut c, &mut s);
    rtp_rtcp(&mut c, &mut s);
    c.final_summary();
    s.print("media", "switchboard media benchmarks (criterion point estimates)");
}
