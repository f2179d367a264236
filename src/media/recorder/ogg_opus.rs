//! Ogg Opus output (RFC 7845) with libopus through `audiopus` and Ogg paging (RFC 3533) through `ogg`.
//!
//! Stream layout, RFC 7845 §3: page 1 holds only the identification header (`OpusHead`, §5.1), the
//! next page(s) only the comment header (`OpusTags`, §5.2), then one 20 ms Opus packet per tick.
//! Granule positions count 48 kHz samples whatever the input rate (§4): a page's granule is the number
//! of samples decodable from the packets that end on it, pre-skip included, so after `n` packets it is
//! `960 n`. The encoder's look-ahead is signalled as pre-skip (§4.2) and the final page's granule is
//! trimmed to `pre-skip + 960 × frames recorded` (end trimming, §4.5), after one extra packet of silence
//! that flushes the look-ahead out of the encoder.

use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::io::{BufWriter, Write};

use audiopus::coder::Encoder;
use audiopus::{Application, Bitrate, Channels, SampleRate, Signal};
use ogg::writing::{PacketWriteEndInfo, PacketWriter};

use super::error::RecorderError;
use crate::media::MAX_FRAME_SAMPLES;

/// Opus granule positions always run at 48 kHz (RFC 7845 §4).
const GRANULE_RATE: u64 = 48_000;
/// Samples at 48 kHz in one 20 ms packet.
const GRANULE_PER_PACKET: u64 = GRANULE_RATE / 50;
/// End a page every this many packets (1 s): bounded loss on a crash, seekable files, and pages well
/// under the 255-segment limit.
const PACKETS_PER_PAGE: u64 = 50;
/// Largest packet we accept from the encoder; RFC 6716 §3.4 bounds a 20 ms packet at 1275 bytes per
/// frame, libopus documents 4000 as always sufficient.
const MAX_PACKET: usize = 4000;
/// Voice bitrates: transparent for wideband speech, ~180 kB per minute mono.
const BITRATE_MONO: i32 = 24_000;
const BITRATE_STEREO: i32 = 40_000;

/// The OpusHead identification header, RFC 7845 §5.1, channel mapping family 0 (mono or stereo).
pub(super) fn opus_head(channels: u8, pre_skip: u16, input_rate: u32) -> Vec<u8> {
    let mut h = Vec::with_capacity(19);
    h.extend_from_slice(b"OpusHead");
    h.push(1); // version
    h.push(channels);
    h.extend_from_slice(&pre_skip.to_le_bytes());
    h.extend_from_slice(&input_rate.to_le_bytes()); // informational: the rate before encoding
    h.extend_from_slice(&0i16.to_le_bytes()); // output gain, Q7.8 dB
    h.push(0); // mapping family 0: mono/stereo, no mapping table
    h
}

/// The OpusTags comment header, RFC 7845 §5.2 (Vorbis-comment layout, lengths little-endian).
pub(super) fn opus_tags(vendor: &str, comments: &[&str]) -> Vec<u8> {
    let mut t = Vec::with_capacity(64);
    t.extend_from_slice(b"OpusTags");
    t.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
    t.extend_from_slice(vendor.as_bytes());
    t.extend_from_slice(&(comments.len() as u32).to_le_bytes());
    for c in comments {
        t.extend_from_slice(&(c.len() as u32).to_le_bytes());
        t.extend_from_slice(c.as_bytes());
    }
    t
}

fn sample_rate(rate: u32) -> Result<SampleRate, RecorderError> {
    Ok(match rate {
        8_000 => SampleRate::Hz8000,
        12_000 => SampleRate::Hz12000,
        16_000 => SampleRate::Hz16000,
        24_000 => SampleRate::Hz24000,
        48_000 => SampleRate::Hz48000,
        other => return Err(RecorderError::UnsupportedRate(other)),
    })
}

/// A stream serial number that differs between files (RFC 3533 §6: unique within a physical stream;
/// random so that files can later be chained or multiplexed). `RandomState` is randomly seeded by std.
fn random_serial() -> u32 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(std::process::id().into());
    h.finish() as u32
}

pub(super) struct OggOpusSink {
    writer: PacketWriter<'static, BufWriter<File>>,
    encoder: Encoder,
    serial: u32,
    channels: usize,
    samples_per_channel: usize,
    pre_skip: u64,
    /// Audio packets written (each 960 granule units).
    packets: u64,
    packet: Box<[u8]>,
}

impl OggOpusSink {
    pub fn new(
        file: File,
        rate: u32,
        channels: usize,
        comments: &[&str],
    ) -> Result<OggOpusSink, RecorderError> {
        let sr = sample_rate(rate)?;
        let (ch, bitrate) = if channels == 2 {
            (Channels::Stereo, BITRATE_STEREO)
        } else {
            (Channels::Mono, BITRATE_MONO)
        };
        let mut encoder = Encoder::new(sr, ch, Application::Voip)?;
        encoder.set_bitrate(Bitrate::BitsPerSecond(bitrate))?;
        encoder.set_signal(Signal::Voice)?;
        // Look-ahead is reported at the encoder's rate; pre-skip is counted at 48 kHz (§5.1).
        let pre_skip = u64::from(encoder.lookahead()?) * GRANULE_RATE / u64::from(rate);
        let mut writer = PacketWriter::new(BufWriter::new(file));
        let serial = random_serial();
        let head = opus_head(channels as u8, pre_skip as u16, rate);
        writer.write_packet(head, serial, PacketWriteEndInfo::EndPage, 0)?;
        let tags = opus_tags(concat!("switchboard ", env!("CARGO_PKG_VERSION")), comments);
        writer.write_packet(tags, serial, PacketWriteEndInfo::EndPage, 0)?;
        Ok(OggOpusSink {
            writer,
            encoder,
            serial,
            channels,
            samples_per_channel: (rate / 50) as usize,
            pre_skip,
            packets: 0,
            packet: vec![0; MAX_PACKET].into_boxed_slice(),
        })
    }

    /// One tick of interleaved samples → one Opus packet.
    pub fn write_frame(&mut self, pcm: &[i16]) -> Result<(), RecorderError> {
        let end = if (self.packets + 1) % PACKETS_PER_PAGE == 0 {
            PacketWriteEndInfo::EndPage
        } else {
            PacketWriteEndInfo::NormalPacket
        };
        let granule = (self.packets + 1) * GRANULE_PER_PACKET;
        self.encode_and_write(pcm, end, granule)
    }

    /// Flushes the encoder's look-ahead with one packet of silence and ends the stream with the trimmed
    /// granule position.
    pub fn finish(mut self) -> Result<(), RecorderError> {
        let recorded = self.packets;
        let silence = [0i16; 2 * MAX_FRAME_SAMPLES];
        let n = self.samples_per_channel * self.channels;
        // pre_skip < 960, so one extra packet covers it and the trimmed granule stays ≥ the previous
        // page's (RFC 7845 §4.5).
        let last = self.pre_skip + recorded * GRANULE_PER_PACKET;
        self.encode_and_write(&silence[..n], PacketWriteEndInfo::EndStream, last)?;
        let mut file = self.writer.into_inner();
        file.flush()?;
        Ok(())
    }

    fn encode_and_write(
        &mut self,
        pcm: &[i16],
        end: PacketWriteEndInfo,
        granule: u64,
    ) -> Result<(), RecorderError> {
        let len = self.encoder.encode(pcm, &mut self.packet)?;
        // The ogg writer keeps packets until their page is complete, so it needs an owned copy: one
        // small allocation per packet, on the writer thread, never on the media tick.
        self.writer
            .write_packet(self.packet[..len].to_vec(), self.serial, end, granule)?;
        self.packets += 1;
        Ok(())
    }
}
