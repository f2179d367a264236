//! A look at a RIFF/WAVE file's `fmt ` chunk before symphonia parses it.
//!
//! Owns: refusing WAV headers no prompt has and symphonia-format-riff
//! 0.6.1 mishandles (it computes `channels × bytes per sample` in a u16,
//! which overflows, a panic with overflow checks on, for a file claiming
//! about 49 000 channels; found by the `prompt_decode` fuzz target).
//! Must not touch: decoding; anything but WAV passes through.

/// Most channels a prompt or music file may have (7.1 is 8; WAV allows 65535).
pub const MAX_CHANNELS: u16 = 32;
/// Widest sample WAV formats use (64-bit float).
const MAX_BITS: u16 = 64;

/// Checks the `fmt ` chunk if it is within `head` (the file's first bytes);
/// a file that is not RIFF/WAVE, or whose `fmt ` lies further on, passes.
pub fn check(head: &[u8]) -> Result<(), String> {
    if head.len() < 12 || &head[..4] != b"RIFF" || &head[8..12] != b"WAVE" {
        return Ok(());
    }
    let mut at = 12usize;
    while let Some(chunk) = head.get(at..at + 8) {
        let size = u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]) as usize;
        if &chunk[..4] == b"fmt " {
            let Some(fmt) = head.get(at + 8..at + 8 + 16) else { return Ok(()) };
            let channels = u16::from_le_bytes([fmt[2], fmt[3]]);
            let bits = u16::from_le_bytes([fmt[14], fmt[15]]);
            if channels == 0 || channels > MAX_CHANNELS {
                return Err(format!("WAV header claims {channels} channels (accepted: 1 to {MAX_CHANNELS})"));
            }
            if bits > MAX_BITS {
                return Err(format!("WAV header claims {bits} bits per sample (at most {MAX_BITS})"));
            }
            return Ok(());
        }
        // Chunks are padded to an even length (RIFF).
        at = match at.checked_add(8).and_then(|a| a.checked_add(size)).and_then(|a| a.checked_add(size & 1)) {
            Some(next) => next,
            None => return Ok(()),
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }

    #[test]
    fn implausible_channels_and_widths_are_refused() {
        assert!(check(&wav(48_963, 16, 0)).unwrap_err().contains("48963 channels"));
        assert!(check(&wav(0, 16, 0)).unwrap_err().contains("0 channels"));
        assert!(check(&wav(33, 16, 7)).is_err());
        assert!(check(&wav(1, 4096, 0)).unwrap_err().contains("4096 bits"));
    }
}
