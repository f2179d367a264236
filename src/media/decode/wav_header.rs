//! A look at every RIFF/WAVE `fmt ` chunk in a file before symphonia parses it.
//!
//! Owns: refusing WAV headers no prompt has and symphonia-format-riff
//! 0.6.1 mishandles (it computes `channels × bytes per sample` in a u16,
//! which overflows, a panic with overflow checks on, for a file claiming
//! about 49 000 channels; found by the `prompt_decode` fuzz target).
//! Must not touch: decoding; anything but WAV passes through.
//!
//! Where: symphonia's probe does not only look at the start. It skips ID3
//! tags and scans up to 1 MB of junk for a format marker (the fuzz target
//! found the same overflow behind 74 junk bytes), so the screen reads the
//! whole stream and checks every `RIFF....WAVE` in it. A genuine file
//! holding such bytes with an absurd `fmt ` inside its audio is refused too,
//! which costs nothing real. Runs at load time, one sequential read.

use std::io::{self, Read, Seek, SeekFrom};

/// Most channels a prompt or music file may have (7.1 is 8; WAV allows 65535).
pub const MAX_CHANNELS: u16 = 32;
/// Widest sample WAV formats use (64-bit float).
const MAX_BITS: u16 = 64;
/// Chunks walked after a `RIFF` header before giving up on finding `fmt `
/// (symphonia reads it first or after a few metadata chunks).
const MAX_CHUNKS: usize = 64;
/// RIFF/WAVE headers checked in one file at most; a file with more is
/// refused (no audio file has that many, and each costs a chunk walk).
const MAX_MARKERS: usize = 64;
/// Read size of the scan.
const BLOCK: usize = 64 * 1024;

/// Why a header is refused.
pub type Refusal = String;

/// Scans all of `r` (from its start) and checks the `fmt ` chunk of every
/// RIFF/WAVE header in it. `Ok(Ok(()))` when nothing is implausible.
pub fn check<R: Read + Seek>(r: &mut R) -> io::Result<Result<(), Refusal>> {
    let mut block = vec![0u8; BLOCK + 11];
    // Bytes kept from the previous block so a marker across blocks is seen.
    let mut carry = 0usize;
    let mut offset = 0u64; // file offset of block[0]
    let mut markers = 0usize;
    r.seek(SeekFrom::Start(0))?;
    loop {
        let n = read_full(r, &mut block[carry..])?;
        let len = carry + n;
        for at in find_all(&block[..len], b"RIFF") {
            if block[..len].get(at + 8..at + 12).is_some_and(|w| w == b"WAVE") {
                markers += 1;
                if markers > MAX_MARKERS {
                    return Ok(Err(format!("more than {MAX_MARKERS} RIFF/WAVE headers in one file")));
                }
                let here = r.stream_position()?;
                let verdict = check_riff(r, offset + at as u64 + 12)?;
                if verdict.is_err() {
                    return Ok(verdict);
                }
                r.seek(SeekFrom::Start(here))?;
            }
        }
        if n == 0 {
            return Ok(Ok(()));
        }
        // Keep the last 11 bytes: a `RIFF....WAVE` starting there is only
        // complete in the next block.
        let keep = len.min(11);
        block.copy_within(len - keep..len, 0);
        offset += (len - keep) as u64;
        carry = keep;
    }
}

/// Walks the chunks of a RIFF/WAVE whose first chunk is at `at`, as
/// symphonia does (padded to even lengths), and checks `fmt `.
fn check_riff<R: Read + Seek>(r: &mut R, mut at: u64) -> io::Result<Result<(), Refusal>> {
    for _ in 0..MAX_CHUNKS {
        r.seek(SeekFrom::Start(at))?;
        let mut header = [0u8; 8];
        if read_full(r, &mut header)? < 8 {
            return Ok(Ok(()));
        }
        let size = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        if &header[..4] == b"fmt " {
            let mut fmt = [0u8; 16];
            if read_full(r, &mut fmt)? < 16 {
                // Cut off: symphonia reports the short chunk itself.
                return Ok(Ok(()));
            }
            let channels = u16::from_le_bytes([fmt[2], fmt[3]]);
            let bits = u16::from_le_bytes([fmt[14], fmt[15]]);
            if channels == 0 || channels > MAX_CHANNELS {
                return Ok(Err(format!("WAV header claims {channels} channels (accepted: 1 to {MAX_CHANNELS})")));
            }
            if bits > MAX_BITS {
                return Ok(Err(format!("WAV header claims {bits} bits per sample (at most {MAX_BITS})")));
            }
            return Ok(Ok(()));
        }
        at += 8 + u64::from(size) + u64::from(size & 1);
    }
    Ok(Ok(()))
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Start offsets of `needle` in `hay`.
fn find_all<'a>(hay: &'a [u8], needle: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    hay.windows(needle.len()).enumerate().filter(move |(_, w)| *w == needle).map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(bytes: &[u8]) -> Result<(), Refusal> {
        super::check(&mut std::io::Cursor::new(bytes)).expect("in-memory reads do not fail")
    }

    fn wav(channels: u16, bits: u16, junk_before_fmt: usize) -> Vec<u8> {
        let mut v = b"RIFF\0\0\0\0WAVE".to_vec();
        if junk_before_fmt > 0 {
            v.extend_from_slice(b"LIST");
            v.extend_from_slice(&(junk_before_fmt as u32).to_le_bytes());
            v.resize(v.len() + junk_before_fmt + (junk_before_fmt & 1), 0);
        }
        v.extend_from_slice(b"fmt ");
        v.extend_from_slice(&16u32.to_le_bytes());
        v.extend_from_slice(&1u16.to_le_bytes());
        v.extend_from_slice(&channels.to_le_bytes());
        v.extend_from_slice(&8000u32.to_le_bytes());
        v.extend_from_slice(&(8000 * u32::from(channels) * 2).to_le_bytes());
        v.extend_from_slice(&channels.wrapping_mul(2).to_le_bytes());
        v.extend_from_slice(&bits.to_le_bytes());
        v
    }

    #[test]
    fn plausible_headers_and_other_formats_pass() {
        assert_eq!(check(&wav(1, 16, 0)), Ok(()));
        assert_eq!(check(&wav(8, 24, 0)), Ok(()));
        assert_eq!(check(&wav(2, 16, 33)), Ok(()), "after an odd-sized chunk and its pad byte");
        assert_eq!(check(b"OggS\0\x02"), Ok(()));
        assert_eq!(check(b"RIFF"), Ok(()), "too short to judge: symphonia reports it");
        assert_eq!(check(&wav(48_000, 16, 0)[..20]), Ok(()), "fmt cut off: symphonia reports it");
        assert_eq!(check(b""), Ok(()));
    }

    #[test]
    fn implausible_channels_and_widths_are_refused() {
        assert!(check(&wav(48_963, 16, 0)).unwrap_err().contains("48963 channels"));
        assert!(check(&wav(0, 16, 0)).unwrap_err().contains("0 channels"));
        assert!(check(&wav(33, 16, 7)).is_err());
        assert!(check(&wav(1, 4096, 0)).unwrap_err().contains("4096 bits"));
    }

    #[test]
    fn a_header_behind_junk_or_across_read_blocks_is_found() {
        // The fuzz finding: symphonia skips junk before a marker.
        let mut junk = b"\x02ID3 junk".to_vec();
        junk.extend_from_slice(&wav(64_769, 16, 0));
        assert!(check(&junk).unwrap_err().contains("64769 channels"));
        // Every split of the marker across the scan's blocks, and a fmt
        // chunk further on than the first block (a long LIST before it).
        for pad in BLOCK - 12..=BLOCK + 1 {
            let mut v = vec![b'x'; pad];
            v.extend_from_slice(&wav(40_000, 16, 0));
            assert!(check(&v).is_err(), "marker at {pad}");
        }
        assert!(check(&wav(40_000, 16, 3 * BLOCK)).is_err());
        // Checking costs a chunk walk per header: a file made of headers is
        // refused past MAX_MARKERS rather than walked.
        let many: Vec<u8> = (0..=MAX_MARKERS).flat_map(|_| wav(1, 16, 0)).collect();
        assert!(check(&many).unwrap_err().contains("RIFF/WAVE headers"));
        let some: Vec<u8> = (0..MAX_MARKERS).flat_map(|_| wav(1, 16, 0)).collect();
        assert_eq!(check(&some), Ok(()));
        // A harmless WAV inside another file's data changes nothing.
        let mut v = vec![0u8; 1000];
        v.extend_from_slice(&wav(2, 16, 0));
        assert_eq!(check(&v), Ok(()));
    }
}
