//! The update file's header, sans-IO. The format (firmware-image's
//! make-update.sh writes it; the image's update-apply reads it):
//!
//! ```text
//! SWITCHBOARD-UPDATE 1
//! version=0.1.0
//! rootfs-size=<decimal bytes>
//! rootfs-sha256=<64 lowercase hex>
//! compression=zstd
//!
//! <zstd stream of the root ext4 image>
//! ```
//!
//! The header, its empty line included, is at most [`HEADER_MAX`] bytes;
//! unknown `KEY=VALUE` lines are ignored. The checks are those the applier
//! makes (so a file accepted here is not refused there for its header),
//! plus what it silently assumes: a header within its first 4096 bytes, no
//! NUL or other control characters (it deletes NULs before measuring the
//! header, which would move the payload), zstd right after the header, a
//! non-zero size (a zero size would make its checksum cover nothing). A
//! key given twice counts with its first value, as the applier reads it.

use super::UpdateError;

/// The first line, with its line end.
pub const MAGIC_LINE: &[u8] = b"SWITCHBOARD-UPDATE 1\n";
/// The longest header, its empty line included.
pub const HEADER_MAX: usize = 4096;
/// A zstd frame's first four bytes.
pub const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];

/// What an update file says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateHeader {
    /// The switchboard version inside (free text, one line).
    pub version: String,
    /// The uncompressed root filesystem, in bytes.
    pub rootfs_size: u64,
    /// SHA-256 of the uncompressed root filesystem, lowercase hex.
    pub rootfs_sha256: String,
    /// Always `zstd` (the only one the applier decompresses).
    pub compression: String,
}

impl UpdateHeader {
    /// Parses the beginning of an update file: the header and where the
    /// payload starts. `bytes` must hold the file's first
    /// `HEADER_MAX + 4` bytes (all of it when it is shorter), so the header
    /// and the payload's magic are both in view.
    pub fn parse(bytes: &[u8]) -> Result<(UpdateHeader, usize), UpdateError> {
        if !bytes.starts_with(MAGIC_LINE) {
            return Err(other_format(bytes));
        }
        // The first empty line ends the header; the magic line's own line
        // end may be the first of the two.
        let window = &bytes[..bytes.len().min(HEADER_MAX)];
        let Some(blank) = window.windows(2).skip(MAGIC_LINE.len() - 1).position(|w| w == b"\n\n").map(|p| p + MAGIC_LINE.len() - 1) else {
            return Err(if bytes.len() >= HEADER_MAX { UpdateError::HeaderTooLong } else { UpdateError::Truncated });
        };
        let payload = blank + 2;
        let mut fields = Fields::default();
        // Between the magic line and the empty line; empty when there is no field.
        let lines = bytes.get(MAGIC_LINE.len()..blank).unwrap_or_default();
        if !lines.is_empty() {
            for (i, line) in lines.split(|b| *b == b'\n').enumerate() {
                fields.take(line, i + 2)?;
            }
        }
        let header = fields.check()?;
        if bytes.get(payload..payload + ZSTD_MAGIC.len()) != Some(&ZSTD_MAGIC[..]) {
            return Err(UpdateError::NotZstd);
        }
        Ok((header, payload))
    }

    /// The header as make-update.sh writes it, its empty line included.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = MAGIC_LINE.to_vec();
        out.extend_from_slice(
            format!("version={}\nrootfs-size={}\nrootfs-sha256={}\ncompression={}\n\n", self.version, self.rootfs_size, self.rootfs_sha256, self.compression)
                .as_bytes(),
        );
        out
    }
}

/// Why a file without the magic line is refused: a later format of ours
/// (`SWITCHBOARD-UPDATE 2`), or something else entirely.
fn other_format(bytes: &[u8]) -> UpdateError {
    let Some(rest) = bytes.strip_prefix(&b"SWITCHBOARD-UPDATE "[..]) else { return UpdateError::NotAnUpdate };
    let Some(end) = rest.iter().take(12).position(|b| *b == b'\n') else { return UpdateError::NotAnUpdate };
    let version = &rest[..end];
    if version.is_empty() || !version.iter().all(u8::is_ascii_digit) {
        return UpdateError::NotAnUpdate;
    }
    UpdateError::UnsupportedFormat(String::from_utf8_lossy(version).into_owned())
}

/// The known keys' first values.
#[derive(Default)]
struct Fields {
    version: Option<String>,
    size: Option<String>,
    sha256: Option<String>,
    compression: Option<String>,
}

impl Fields {
    /// One `KEY=VALUE` line (`number`: its line in the file, for the error).
    fn take(&mut self, line: &[u8], number: usize) -> Result<(), UpdateError> {
        let text = std::str::from_utf8(line).map_err(|_| UpdateError::BadLine(number))?;
        if text.chars().any(char::is_control) {
            return Err(UpdateError::BadLine(number));
        }
        let Some((key, value)) = text.split_once('=').filter(|(k, _)| !k.is_empty()) else { return Err(UpdateError::BadLine(number)) };
        let slot = match key {
            "version" => &mut self.version,
            "rootfs-size" => &mut self.size,
            "rootfs-sha256" => &mut self.sha256,
            "compression" => &mut self.compression,
            _ => return Ok(()),
        };
        if slot.is_none() {
            *slot = Some(value.to_string());
        }
        Ok(())
    }

    fn check(self) -> Result<UpdateHeader, UpdateError> {
        let version = self.version.ok_or(UpdateError::Missing("version"))?;
        if version.trim().is_empty() {
            return Err(UpdateError::Invalid { key: "version", why: "it is empty" });
        }
        let size = self.size.ok_or(UpdateError::Missing("rootfs-size"))?;
        if size.is_empty() || !size.bytes().all(|b| b.is_ascii_digit()) {
            return Err(UpdateError::Invalid { key: "rootfs-size", why: "not a decimal number of bytes" });
        }
        // The applier compares it with shell arithmetic: 63 bits at most.
        let rootfs_size = size.parse::<u64>().ok().filter(|n| i64::try_from(*n).is_ok()).ok_or(UpdateError::Invalid { key: "rootfs-size", why: "too large" })?;
        if rootfs_size == 0 {
            return Err(UpdateError::Invalid { key: "rootfs-size", why: "zero" });
        }
        let rootfs_sha256 = self.sha256.ok_or(UpdateError::Missing("rootfs-sha256"))?;
        if rootfs_sha256.len() != 64 || !rootfs_sha256.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(UpdateError::Invalid { key: "rootfs-sha256", why: "not 64 lowercase hex digits" });
        }
        let compression = self.compression.ok_or(UpdateError::Missing("compression"))?;
        if compression != "zstd" {
            return Err(UpdateError::UnsupportedCompression(compression));
        }
        Ok(UpdateHeader { version, rootfs_size, rootfs_sha256, compression })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn header(fields: &str) -> Vec<u8> {
        format!("SWITCHBOARD-UPDATE 1\n{fields}\n").into_bytes()
    }

    fn good_fields() -> String {
        format!("version=0.2.0\nrootfs-size=1048576\nrootfs-sha256={SHA}\ncompression=zstd\n")
    }

    /// A header followed by a zstd magic and some payload.
    fn file(head: &[u8]) -> Vec<u8> {
        let mut f = head.to_vec();
        f.extend_from_slice(&ZSTD_MAGIC);
        f.extend_from_slice(b"\x00\x58\x00\x00payload");
        f
    }

    fn error(bytes: &[u8]) -> String {
        match UpdateHeader::parse(bytes) {
            Ok(h) => panic!("accepted: {h:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_good_header_and_where_its_payload_starts() {
        let head = header(&good_fields());
        let (h, at) = UpdateHeader::parse(&file(&head)).unwrap();
        assert_eq!(h, UpdateHeader { version: "0.2.0".into(), rootfs_size: 1_048_576, rootfs_sha256: SHA.into(), compression: "zstd".into() });
        assert_eq!(at, head.len(), "the payload starts after the empty line");
        assert_eq!(&file(&head)[at..at + 4], &ZSTD_MAGIC);
        assert_eq!(h.to_bytes(), head, "make-update.sh's layout");
    }

    #[test]
    fn unknown_keys_are_ignored_and_the_first_value_counts() {
        let fields = format!("build=2026-11-27\nversion=1.0\nx-note=a=b\n{}version=9.9\n", good_fields());
        let (h, _) = UpdateHeader::parse(&file(&header(&fields))).unwrap();
        assert_eq!(h.version, "1.0", "the applier reads the first value too");
    }

    #[test]
    fn refusals_name_what_is_wrong() {
        assert_eq!(error(b""), "not a switchboard update file");
        assert_eq!(error(b"\x7fELF\x02\x01\x01"), "not a switchboard update file");
        assert_eq!(error(&file(&header(&good_fields()))[1..]), "not a switchboard update file");
        assert_eq!(error(&file(b"SWITCHBOARD-UPDATE 2\nversion=1\n\n")), "unsupported update file format \"2\" (this version reads format 1)");
        let crlf = String::from_utf8(header(&good_fields())).unwrap().replace('\n', "\r\n");
        assert_eq!(error(&file(crlf.as_bytes())), "not a switchboard update file", "CRLF");
        assert_eq!(error(&file(&header(&good_fields().replace('\n', "\r\n")))), "header line 2 is not KEY=VALUE text", "CRLF fields");
        let no_sha = good_fields().replace(&format!("rootfs-sha256={SHA}\n"), "");
        assert_eq!(error(&file(&header(&no_sha))), "header has no rootfs-sha256");
        let no_size = good_fields().replace("rootfs-size=1048576\n", "");
        assert_eq!(error(&file(&header(&no_size))), "header has no rootfs-size");
        assert_eq!(error(&file(&header(&good_fields().replace("version=0.2.0\n", "")))), "header has no version");
        assert_eq!(error(&file(&header(&good_fields().replace("compression=zstd\n", "")))), "header has no compression");
        assert_eq!(error(&file(&header(&good_fields().replace("zstd", "xz")))), "unsupported compression xz");
        assert_eq!(error(&file(&header(&good_fields().replace("=0.2.0", "=")))), "header has an invalid version: it is empty");
        for size in ["", "-1", "+5", "1e6", " 5", "0x10"] {
            let f = good_fields().replace("=1048576", &format!("={size}"));
            assert_eq!(error(&file(&header(&f))), "header has an invalid rootfs-size: not a decimal number of bytes", "{size:?}");
        }
        assert_eq!(error(&file(&header(&good_fields().replace("=1048576", "=0")))), "header has an invalid rootfs-size: zero");
        assert_eq!(error(&file(&header(&good_fields().replace("=1048576", "=9223372036854775808")))), "header has an invalid rootfs-size: too large");
        assert_eq!(error(&file(&header(&good_fields().replace("=1048576", "=99999999999999999999999")))), "header has an invalid rootfs-size: too large");
        for sha in [SHA.to_uppercase(), SHA[1..].to_string(), format!("{SHA}0"), SHA.replace('a', "g")] {
            let f = good_fields().replace(SHA, &sha);
            assert_eq!(error(&file(&header(&f))), "header has an invalid rootfs-sha256: not 64 lowercase hex digits", "{sha}");
        }
        assert_eq!(error(&file(&header(&format!("{}just words\n", good_fields())))), "header line 6 is not KEY=VALUE text");
        assert_eq!(error(&file(&header(&format!("=x\n{}", good_fields())))), "header line 2 is not KEY=VALUE text");
        // NUL, other control characters and bytes that are not UTF-8.
        for bad in ["version=0.2\0\n", "version=0.2\r\n", "note=\x1b[2J\n"] {
            assert_eq!(error(&file(&header(&format!("{bad}{}", good_fields())))), "header line 2 is not KEY=VALUE text", "{bad:?}");
        }
        let mut latin1 = header(&format!("note=caf\u{e9}\n{}", good_fields()));
        let at = latin1.windows(2).position(|w| w == "\u{e9}".as_bytes()).unwrap();
        latin1.splice(at..at + 2, [0xe9]);
        assert_eq!(error(&file(&latin1)), "header line 2 is not KEY=VALUE text");
        assert_eq!(error(&file(b"SWITCHBOARD-UPDATE 1\n\n")), "header has no version");
    }

    #[test]
    fn the_payload_must_be_zstd_right_after_the_header() {
        let head = header(&good_fields());
        assert_eq!(error(&head), "payload is not zstd", "no payload at all");
        let mut f = head.clone();
        f.extend_from_slice(b"\x1f\x8b\x08\x00gzip");
        assert_eq!(error(&f), "payload is not zstd");
        let mut f = head.clone();
        f.push(b'\n');
        f.extend_from_slice(&ZSTD_MAGIC);
        assert_eq!(error(&f), "payload is not zstd", "one byte late");
        let mut f = head;
        f.extend_from_slice(&ZSTD_MAGIC[..3]);
        assert_eq!(error(&f), "payload is not zstd", "cut short");
    }

    #[test]
    fn the_header_fits_in_4096_bytes() {
        let base = header(&good_fields());
        // Padded with an unknown key to exactly the limit: accepted.
        let pad = HEADER_MAX - base.len() - "pad=\n".len();
        let exact = header(&format!("{}pad={}\n", good_fields(), "x".repeat(pad)));
        assert_eq!(exact.len(), HEADER_MAX);
        assert_eq!(UpdateHeader::parse(&file(&exact)).unwrap().1, HEADER_MAX);
        let over = header(&format!("{}pad={}\n", good_fields(), "x".repeat(pad + 1)));
        assert_eq!(error(&file(&over)), "header longer than 4096 bytes");
        // A file with no empty line at all, long or short.
        let mut long = MAGIC_LINE.to_vec();
        long.extend(std::iter::repeat_n(b'a', 10_000));
        assert_eq!(error(&long), "header longer than 4096 bytes");
        assert_eq!(error(&header(&good_fields())[..60]), "the file ends inside its header");
    }

    proptest::proptest! {
        /// Noise spliced into a good file, cut anywhere: never a panic, and
        /// whatever is accepted is what the applier can rely on.
        #[test]
        fn spliced_noise_never_panics(noise in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..48), at in 0usize..240, keep in 0usize..400) {
            let mut f = file(&header(&good_fields()));
            let at = at.min(f.len());
            f.splice(at..at, noise);
            f.truncate(keep.max(at));
            if let Ok((h, off)) = UpdateHeader::parse(&f) {
                proptest::prop_assert!(off <= HEADER_MAX && f[..off].ends_with(b"\n\n") && f[off..].starts_with(&ZSTD_MAGIC));
                proptest::prop_assert!(!f[..off].contains(&0) && h.rootfs_size > 0 && h.rootfs_sha256.len() == 64);
            }
        }
    }

    #[test]
    fn every_prefix_and_every_single_byte_change_is_handled() {
        let good = file(&header(&good_fields()));
        for n in 0..good.len() {
            let _ = UpdateHeader::parse(&good[..n]);
        }
        for i in 0..good.len() {
            for b in [0u8, b'\n', b'=', 0xff, b'A'] {
                let mut f = good.clone();
                f[i] = b;
                if let Ok((h, at)) = UpdateHeader::parse(&f) {
                    assert!(at <= HEADER_MAX && f[at..].starts_with(&ZSTD_MAGIC), "{h:?} at {at}");
                }
            }
        }
    }
}
