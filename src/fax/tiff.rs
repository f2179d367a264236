//! Reads the page structure of a bilevel fax TIFF (TIFF 6.0, Class F as
//! spandsp and libtiff write it): per page the size, resolution, CCITT
//! coding options and where its compressed strips are, without decoding
//! a single pixel. That is all a PDF needs to embed the CCITT data as is
//! (`pdf`). The file comes from our own disk, but it was produced from
//! what a remote fax sent, so every offset is checked: a bad file is an
//! error, never a panic. Does not write TIFF and knows nothing of PDF.

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum TiffError {
    #[error("not a TIFF file")]
    NotTiff,
    #[error("TIFF truncated at offset {0}")]
    Truncated(usize),
    #[error("page {page}: {what}")]
    Page { page: usize, what: String },
    #[error("more than {0} pages")]
    TooManyPages(usize),
}

/// How a page's strips are coded (TIFF Compression 3 or 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    /// T.4 (Group 3); `two_d`: mixed 1-D/2-D lines (T4Options bit 0);
    /// `byte_aligned`: fill bits make each EOL end on a byte boundary
    /// (T4Options bit 2).
    T4 { two_d: bool, byte_aligned: bool },
    /// T.6 (Group 4, MMR).
    T6,
}

/// One strip: `rows` lines coded at `offset..offset + len` in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Strip {
    pub offset: usize,
    pub len: usize,
    pub rows: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub width: u32,
    pub length: u32,
    /// Dots per inch, horizontal and vertical.
    pub x_dpi: f32,
    pub y_dpi: f32,
    pub coding: Coding,
    /// FillOrder 2: the least significant bit of each byte comes first.
    pub lsb_first: bool,
    /// PhotometricInterpretation 1: a 0 bit is black (the usual is white).
    pub min_is_black: bool,
    pub strips: Vec<Strip>,
}

impl Page {
    /// The resolution as fax people say it, e.g. "204x98".
    pub fn resolution(&self) -> String {
        format!("{}x{}", self.x_dpi.round() as u32, self.y_dpi.round() as u32)
    }
}

/// A fax is at most this many pages here (a bound against loops in the
/// IFD chain and absurd files).
const MAX_PAGES: usize = 1000;

struct Reader<'a> {
    data: &'a [u8],
    le: bool,
}

impl Reader<'_> {
    fn u16(&self, at: usize) -> Result<u16, TiffError> {
        let b = self.data.get(at..at + 2).ok_or(TiffError::Truncated(at))?;
        Ok(if self.le { u16::from_le_bytes([b[0], b[1]]) } else { u16::from_be_bytes([b[0], b[1]]) })
    }
    fn u32(&self, at: usize) -> Result<u32, TiffError> {
        let b = self.data.get(at..at + 4).ok_or(TiffError::Truncated(at))?;
        let a = [b[0], b[1], b[2], b[3]];
        Ok(if self.le { u32::from_le_bytes(a) } else { u32::from_be_bytes(a) })
    }
}

/// A directory entry's values, as unsigned integers or rationals.
struct Entry {
    tag: u16,
    typ: u16,
    count: usize,
    /// Where the values are: inside the entry when they fit in 4 bytes.
    at: usize,
}

impl Entry {
    fn ints(&self, r: &Reader<'_>) -> Result<Vec<u32>, TiffError> {
        let size = match self.typ {
            3 => 2,
            4 => 4,
            1 => 1,
            _ => return Err(TiffError::Truncated(self.at)),
        };
        if self.count > r.data.len() {
            return Err(TiffError::Truncated(self.at));
        }
        (0..self.count)
            .map(|i| {
                let o = self.at + i * size;
                match size {
                    1 => r.data.get(o).map(|&b| u32::from(b)).ok_or(TiffError::Truncated(o)),
                    2 => r.u16(o).map(u32::from),
                    _ => r.u32(o),
                }
            })
            .collect()
    }
    fn first(&self, r: &Reader<'_>) -> Result<u32, TiffError> {
        if self.typ == 5 {
            let (n, d) = (r.u32(self.at)?, r.u32(self.at + 4)?);
            return Ok(if d == 0 { 0 } else { n / d });
        }
        self.ints(r)?.first().copied().ok_or(TiffError::Truncated(self.at))
    }
    fn rational(&self, r: &Reader<'_>) -> Result<f32, TiffError> {
        if self.typ != 5 {
            return self.first(r).map(|v| v as f32);
        }
        let (n, d) = (r.u32(self.at)?, r.u32(self.at + 4)?);
        Ok(if d == 0 { 0.0 } else { n as f32 / d as f32 })
    }
}

/// The pages of a bilevel CCITT TIFF, in file order.
pub fn read_pages(data: &[u8]) -> Result<Vec<Page>, TiffError> {
    let le = match data.get(..4) {
        Some(b"II*\0") => true,
        Some(b"MM\0*") => false,
        _ => return Err(TiffError::NotTiff),
    };
    let r = Reader { data, le };
    let mut pages = Vec::new();
    let mut next = r.u32(4)? as usize;
    let mut seen = Vec::new();
    while next != 0 {
        if pages.len() >= MAX_PAGES || seen.contains(&next) {
            return Err(TiffError::TooManyPages(MAX_PAGES));
        }
        seen.push(next);
        let n = r.u16(next)? as usize;
        let mut entries = Vec::with_capacity(n);
        for i in 0..n {
            let e = next + 2 + i * 12;
            let (tag, typ, count) = (r.u16(e)?, r.u16(e + 2)?, r.u32(e + 4)? as usize);
            let size = match typ {
                1 | 2 | 6 | 7 => 1,
                3 | 8 => 2,
                4 | 9 | 11 => 4,
                _ => 8,
            };
            let inline = count.saturating_mul(size) <= 4;
            let at = if inline { e + 8 } else { r.u32(e + 8)? as usize };
            entries.push(Entry { tag, typ, count, at });
        }
        pages.push(page(&r, &entries, pages.len() + 1)?);
        next = r.u32(next + 2 + n * 12)? as usize;
    }
    if pages.is_empty() {
        return Err(TiffError::Page { page: 1, what: "no pages".into() });
    }
    Ok(pages)
}

fn page(r: &Reader<'_>, entries: &[Entry], page: usize) -> Result<Page, TiffError> {
    let bad = |what: String| TiffError::Page { page, what };
    let find = |tag: u16| entries.iter().find(|e| e.tag == tag);
    let get = |tag: u16, default: Option<u32>| -> Result<u32, TiffError> {
        match find(tag) {
            Some(e) => e.first(r),
            None => default.ok_or_else(|| bad(format!("tag {tag} missing"))),
        }
    };
    let width = get(256, None)?;
    let length = get(257, None)?;
    if width == 0 || length == 0 || width > 10_000 || length > 100_000 {
        return Err(bad(format!("size {width}x{length} is not a fax page")));
    }
    if get(258, Some(1))? != 1 || get(277, Some(1))? != 1 {
        return Err(bad("not a bilevel image".into()));
    }
    let coding = match get(259, None)? {
        3 => {
            let opts = get(292, Some(0))?;
            if opts & 2 != 0 {
                return Err(bad("uncompressed T.4 mode is not supported".into()));
            }
            Coding::T4 { two_d: opts & 1 != 0, byte_aligned: opts & 4 != 0 }
        }
        4 => Coding::T6,
        c => return Err(bad(format!("compression {c} is not CCITT T.4/T.6"))),
    };
    let unit = get(296, Some(2))?;
    let to_dpi = |v: f32| if unit == 3 { v * 2.54 } else { v };
    let x_dpi = to_dpi(find(282).map(|e| e.rational(r)).transpose()?.unwrap_or(204.0));
    let y_dpi = to_dpi(find(283).map(|e| e.rational(r)).transpose()?.unwrap_or(98.0));
    if !(x_dpi > 1.0 && y_dpi > 1.0 && x_dpi < 10_000.0 && y_dpi < 10_000.0) {
        return Err(bad(format!("resolution {x_dpi}x{y_dpi} dpi")));
    }
    let offsets = find(273).ok_or_else(|| bad("no strips".into()))?.ints(r)?;
    let counts = find(279).ok_or_else(|| bad("no strip sizes".into()))?.ints(r)?;
    if offsets.len() != counts.len() || offsets.is_empty() {
        return Err(bad("strip offsets and sizes differ in number".into()));
    }
    let per_strip = get(278, Some(length))?.clamp(1, length);
    let mut strips = Vec::with_capacity(offsets.len());
    let mut rows_left = length;
    for (&o, &c) in offsets.iter().zip(&counts) {
        let (offset, len) = (o as usize, c as usize);
        if offset.checked_add(len).is_none_or(|end| end > r.data.len()) {
            return Err(bad(format!("strip at {offset} (+{len}) is outside the file")));
        }
        let rows = per_strip.min(rows_left);
        rows_left -= rows;
        strips.push(Strip { offset, len, rows });
    }
    if rows_left != 0 || strips.iter().any(|s| s.rows == 0) {
        return Err(bad("strips do not cover the page".into()));
    }
    Ok(Page {
        width,
        length,
        x_dpi,
        y_dpi,
        coding,
        lsb_first: get(266, Some(1))? == 2,
        min_is_black: get(262, Some(0))? == 1,
        strips,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector() -> Vec<u8> {
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/fax/two-pages.tif")).unwrap()
    }

    #[test]
    fn reads_the_two_page_vector() {
        let pages = read_pages(&vector()).unwrap();
        assert_eq!(pages.len(), 2);
        for p in &pages {
            assert_eq!((p.width, p.length), (1728, 1000));
            assert_eq!(p.resolution(), "204x98");
            assert_eq!(p.coding, Coding::T4 { two_d: false, byte_aligned: true });
            assert!(!p.lsb_first && !p.min_is_black);
            assert_eq!(p.strips.iter().map(|s| s.rows).sum::<u32>(), 1000);
        }
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let data = vector();
        for cut in (0..data.len()).step_by(7) {
            let _ = read_pages(&data[..cut]);
        }
        assert_eq!(read_pages(b"GIF89a"), Err(TiffError::NotTiff));
    }

    #[test]
    fn a_directory_loop_is_refused() {
        // Header pointing at an IFD with no entries whose next IFD is itself.
        let mut d = b"II*\0\x08\0\0\0".to_vec();
        d.extend_from_slice(&[0, 0, 8, 0, 0, 0]);
        assert!(read_pages(&d).is_err());
    }
}
