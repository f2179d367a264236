//! PNG documents to send: a PNG (any colour type, bit depth, palette or
//! alpha) becomes fax pages. The image is turned to gray (alpha laid over
//! white), scaled to the fax line of 1728 pels at fine resolution (204 x
//! 196 dpi: rows are scaled by the width's factor times 196/204, so the
//! aspect ratio survives), dithered to black and white (Floyd–Steinberg,
//! which leaves pure black and white untouched so text stays sharp) and
//! cut into A4-long pages. The pages are written as an uncompressed
//! bilevel TIFF (Compression 1, min-is-white, one strip per page) that
//! spandsp's T.4 sender reads and re-encodes for the line, and as a PDF
//! for people (`super::pdf::bilevel_to_pdf`). Untrusted input: sizes are
//! bounded and a bad file is an error, never a panic. Knows nothing of
//! where files live or of T.30.

use thiserror::Error;

/// Pels of a fax line (ITU-T T.4, A4 width at 8 pels/mm).
pub const FAX_WIDTH: u32 = 1728;
/// Fine resolution, dots per inch.
pub const X_DPI: u32 = 204;
pub const Y_DPI: u32 = 196;
/// An A4 page (297 mm) at 196 lines per inch: where a tall image is cut.
pub const PAGE_ROWS: u32 = 2287;
/// Pages one image may fill at most.
pub const MAX_PAGES: u32 = 50;
/// The largest image taken, in pixels (about an A4 page at 600 dpi x 1.5).
const MAX_PIXELS: u64 = 60_000_000;
/// Memory the decoder may use (an RGBA image of `MAX_PIXELS` fits).
const DECODE_LIMIT: usize = 256 * 1024 * 1024;
/// Bytes of one packed fax row.
const ROW_BYTES: usize = (FAX_WIDTH / 8) as usize;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum PngError {
    #[error("not a readable PNG image: {0}")]
    Decode(String),
    #[error("the image has no pixels")]
    Empty,
    #[error("the image is {0} x {1} pixels: at most {MAX_PIXELS} pixels are taken")]
    TooLarge(u32, u32),
    #[error("the image is too tall for its width: it would fill more than {MAX_PAGES} fax pages")]
    TooManyPages,
}

/// Fax pages as packed bits: `FAX_WIDTH` pels a row, most significant bit
/// first, 1 = black (TIFF min-is-white).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bilevel {
    /// Each page's rows, `ROW_BYTES` per row.
    pub pages: Vec<Vec<u8>>,
}

impl Bilevel {
    /// Rows of page `i`.
    pub fn rows(&self, i: usize) -> u32 {
        self.pages.get(i).map(|p| (p.len() / ROW_BYTES) as u32).unwrap_or(0)
    }

    /// Bytes of one packed row.
    pub fn row_bytes(&self) -> usize {
        ROW_BYTES
    }
}

/// Decodes `data` and makes fax pages of it.
pub fn convert(data: &[u8]) -> Result<Bilevel, PngError> {
    let (gray, w, h) = decode_gray(data)?;
    let out_rows = scaled_rows(w, h)?;
    let wide = resample_rows(&gray, w as usize, h as usize, FAX_WIDTH as usize);
    let tall = resample_columns(&wide, FAX_WIDTH as usize, h as usize, out_rows as usize);
    let bits = dither(tall, FAX_WIDTH as usize, out_rows as usize);
    let page_len = PAGE_ROWS as usize * ROW_BYTES;
    Ok(Bilevel { pages: bits.chunks(page_len).map(<[u8]>::to_vec).collect() })
}

/// Rows of the scaled image: the height times the width's factor, times
/// 196/204 (fine resolution's pels are taller than wide).
fn scaled_rows(w: u32, h: u32) -> Result<u32, PngError> {
    let rows = (f64::from(h) * f64::from(FAX_WIDTH) / f64::from(w) * f64::from(Y_DPI) / f64::from(X_DPI)).round().max(1.0);
    if rows > f64::from(PAGE_ROWS * MAX_PAGES) {
        return Err(PngError::TooManyPages);
    }
    Ok(rows as u32)
}

/// 8-bit gray, alpha composed over white: (pixels, width, height).
fn decode_gray(data: &[u8]) -> Result<(Vec<u8>, u32, u32), PngError> {
    let bad = |e: png::DecodingError| PngError::Decode(e.to_string());
    let mut decoder = png::Decoder::new_with_limits(std::io::Cursor::new(data), png::Limits { bytes: DECODE_LIMIT });
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(bad)?;
    let (w, h) = (reader.info().width, reader.info().height);
    if w == 0 || h == 0 {
        return Err(PngError::Empty);
    }
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(PngError::TooLarge(w, h));
    }
    let size = reader.output_buffer_size().ok_or(PngError::TooLarge(w, h))?;
    let mut buf = vec![0u8; size];
    let info = reader.next_frame(&mut buf).map_err(bad)?;
    let channels = match info.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        // EXPAND turns palettes into RGB(A): never seen here.
        png::ColorType::Indexed => return Err(PngError::Decode("palette image not expanded".into())),
    };
    if info.bit_depth != png::BitDepth::Eight {
        return Err(PngError::Decode(format!("unexpected bit depth {:?} after expansion", info.bit_depth)));
    }
    let (w, h) = (info.width as usize, info.height as usize);
    let mut gray = Vec::with_capacity(w * h);
    for y in 0..h {
        let line = buf.get(y * info.line_size..y * info.line_size + w * channels).ok_or_else(|| PngError::Decode("short frame".into()))?;
        for px in line.chunks_exact(channels) {
            let (luma, alpha) = match *px {
                [g] => (u32::from(g), 255),
                [g, a] => (u32::from(g), u32::from(a)),
                [r, g, b] => (luma(r, g, b), 255),
                [r, g, b, a] => (luma(r, g, b), u32::from(a)),
                _ => (255, 255),
            };
            // Transparent parts are paper: white.
            gray.push(((luma * alpha + 255 * (255 - alpha) + 127) / 255) as u8);
        }
    }
    Ok((gray, info.width, info.height))
}

/// ITU-R BT.601 luma.
fn luma(r: u8, g: u8, b: u8) -> u32 {
    (299 * u32::from(r) + 587 * u32::from(g) + 114 * u32::from(b) + 500) / 1000
}

/// For each output index, the input indexes it covers and their weights
/// (area averaging: right for shrinking, a soft nearest neighbour for
/// growing). Weights of an output sum to 1.
fn weights(src: usize, dst: usize) -> Vec<Vec<(usize, f32)>> {
    let scale = src as f64 / dst as f64;
    (0..dst)
        .map(|i| {
            let (a, b) = (i as f64 * scale, (i + 1) as f64 * scale);
            let (first, last) = (a.floor() as usize, (b.ceil() as usize).min(src).max(a.floor() as usize + 1));
            let mut ws: Vec<(usize, f32)> = (first..last)
                .map(|j| {
                    let cover = (b.min((j + 1) as f64) - a.max(j as f64)).max(0.0);
                    (j.min(src - 1), (cover / (b - a)) as f32)
                })
                .filter(|(_, w)| *w > 0.0)
                .collect();
            if ws.is_empty() {
                ws.push((first.min(src - 1), 1.0));
            }
            ws
        })
        .collect()
}

/// Every row scaled from `w` to `dst_w` pixels.
fn resample_rows(img: &[u8], w: usize, h: usize, dst_w: usize) -> Vec<u8> {
    let ws = weights(w, dst_w);
    let mut out = Vec::with_capacity(dst_w * h);
    for row in img.chunks_exact(w).take(h) {
        out.extend(ws.iter().map(|taps| taps.iter().map(|&(j, k)| f32::from(row[j]) * k).sum::<f32>().round().clamp(0.0, 255.0) as u8));
    }
    out
}

/// Every column scaled from `h` to `dst_h` pixels (rows of width `w`).
fn resample_columns(img: &[u8], w: usize, h: usize, dst_h: usize) -> Vec<u8> {
    let ws = weights(h, dst_h);
    let mut out = vec![0u8; w * dst_h];
    let mut acc = vec![0f32; w];
    for (y, taps) in ws.iter().enumerate() {
        acc.iter_mut().for_each(|a| *a = 0.0);
        for &(j, k) in taps {
            for (a, &p) in acc.iter_mut().zip(&img[j * w..(j + 1) * w]) {
                *a += f32::from(p) * k;
            }
        }
        for (o, a) in out[y * w..(y + 1) * w].iter_mut().zip(&acc) {
            *o = a.round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

/// Floyd–Steinberg to packed bits (1 = black).
fn dither(img: Vec<u8>, w: usize, h: usize) -> Vec<u8> {
    let mut cur: Vec<i16> = img.get(..w).unwrap_or(&[]).iter().map(|&p| i16::from(p)).collect();
    let mut next = vec![0i16; w];
    let mut out = vec![0u8; ROW_BYTES * h];
    for y in 0..h {
        if y + 1 < h {
            next.iter_mut().zip(&img[(y + 1) * w..(y + 2) * w]).for_each(|(n, &p)| *n = i16::from(p));
        }
        for x in 0..w {
            let old = cur[x].clamp(0, 255);
            let black = old < 128;
            if black {
                out[y * ROW_BYTES + x / 8] |= 0x80 >> (x % 8);
            }
            let err = old - if black { 0 } else { 255 };
            if x + 1 < w {
                cur[x + 1] += err * 7 / 16;
            }
            if y + 1 < h {
                if x > 0 {
                    next[x - 1] += err * 3 / 16;
                }
                next[x] += err * 5 / 16;
                if x + 1 < w {
                    next[x + 1] += err / 16;
                }
            }
        }
        std::mem::swap(&mut cur, &mut next);
    }
    out
}

/// One TIFF directory entry: tag, type (3 SHORT, 4 LONG, 5 RATIONAL),
/// count, value or offset.
struct Entry(u16, u16, u32, u32);

/// The pages as a little-endian TIFF: per page a directory (Class F's
/// fields, uncompressed) and one strip.
pub fn to_tiff(doc: &Bilevel) -> Vec<u8> {
    const ENTRIES: usize = 16;
    let dir_len = 2 + ENTRIES * 12 + 4;
    let mut out = b"II*\0\0\0\0\0".to_vec();
    let total = doc.pages.len() as u32;
    let mut link_at = 4usize;
    for (i, page) in doc.pages.iter().enumerate() {
        // Strip, then the two resolutions (rationals), then the directory.
        let strip_at = out.len() as u32;
        out.extend_from_slice(page);
        if out.len() % 2 == 1 {
            out.push(0);
        }
        let res_at = out.len() as u32;
        for dpi in [X_DPI, Y_DPI] {
            out.extend_from_slice(&dpi.to_le_bytes());
            out.extend_from_slice(&1u32.to_le_bytes());
        }
        let dir_at = out.len() as u32;
        out[link_at..link_at + 4].copy_from_slice(&dir_at.to_le_bytes());
        let rows = doc.rows(i);
        let entries = [
            Entry(254, 4, 1, 2),          // NewSubfileType: a page of a multi-page document
            Entry(256, 4, 1, FAX_WIDTH),  // ImageWidth
            Entry(257, 4, 1, rows),       // ImageLength
            Entry(258, 3, 1, 1),          // BitsPerSample
            Entry(259, 3, 1, 1),          // Compression: none
            Entry(262, 3, 1, 0),          // PhotometricInterpretation: min-is-white
            Entry(266, 3, 1, 1),          // FillOrder: most significant bit first
            Entry(273, 4, 1, strip_at),   // StripOffsets
            Entry(277, 3, 1, 1),          // SamplesPerPixel
            Entry(278, 4, 1, rows),       // RowsPerStrip: one strip
            Entry(279, 4, 1, page.len() as u32), // StripByteCounts
            Entry(282, 5, 1, res_at),     // XResolution
            Entry(283, 5, 1, res_at + 8), // YResolution
            Entry(284, 3, 1, 1),          // PlanarConfiguration
            Entry(296, 3, 1, 2),          // ResolutionUnit: inch
            Entry(297, 3, 2, (i as u32 & 0xffff) | (total & 0xffff) << 16), // PageNumber: this, of
        ];
        debug_assert_eq!(entries.len(), ENTRIES);
        out.extend_from_slice(&(ENTRIES as u16).to_le_bytes());
        for Entry(tag, typ, count, value) in entries {
            out.extend_from_slice(&tag.to_le_bytes());
            out.extend_from_slice(&typ.to_le_bytes());
            out.extend_from_slice(&count.to_le_bytes());
            if typ == 3 && count == 1 {
                // A SHORT sits in the value's first two bytes.
                out.extend_from_slice(&(value as u16).to_le_bytes());
                out.extend_from_slice(&[0, 0]);
            } else {
                out.extend_from_slice(&value.to_le_bytes());
            }
        }
        link_at = out.len();
        out.extend_from_slice(&[0, 0, 0, 0]);
        debug_assert_eq!(out.len() - dir_at as usize, dir_len);
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A PNG of `w` x `h` in `color` (8 bits per channel) from `px(x, y)`.
    pub(crate) fn png_bytes(w: u32, h: u32, color: png::ColorType, px: impl Fn(u32, u32) -> Vec<u8>) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, w, h);
            enc.set_color(color);
            enc.set_depth(png::BitDepth::Eight);
            let mut writer = enc.write_header().unwrap();
            let px = &px;
            let data: Vec<u8> = (0..h).flat_map(|y| (0..w).flat_map(move |x| px(x, y))).collect();
            writer.write_image_data(&data).unwrap();
        }
        out
    }

    /// A page: black left half, a transparent right half (white paper).
    pub(crate) fn sample_png() -> Vec<u8> {
        png_bytes(400, 300, png::ColorType::Rgba, |x, _| if x < 200 { vec![0, 0, 0, 255] } else { vec![0, 0, 0, 0] })
    }

    /// Fields of a little-endian TIFF's directories: per page, (tag → first value).
    fn directories(tiff: &[u8]) -> Vec<std::collections::BTreeMap<u16, u32>> {
        assert_eq!(&tiff[..4], b"II*\0");
        let u16_at = |o: usize| u16::from_le_bytes([tiff[o], tiff[o + 1]]);
        let u32_at = |o: usize| u32::from_le_bytes([tiff[o], tiff[o + 1], tiff[o + 2], tiff[o + 3]]);
        let mut dirs = Vec::new();
        let mut at = u32_at(4) as usize;
        while at != 0 && dirs.len() < 100 {
            let n = u16_at(at) as usize;
            let mut fields = std::collections::BTreeMap::new();
            for e in 0..n {
                let o = at + 2 + e * 12;
                let (tag, typ) = (u16_at(o), u16_at(o + 2));
                let value = match typ {
                    3 => u32::from(u16_at(o + 8)),
                    5 => {
                        let r = u32_at(o + 8) as usize;
                        u32_at(r) / u32_at(r + 4)
                    }
                    _ => u32_at(o + 8),
                };
                fields.insert(tag, value);
            }
            dirs.push(fields);
            at = u32_at(at + 2 + n * 12) as usize;
        }
        dirs
    }

    #[test]
    fn a_png_becomes_one_fine_resolution_page_with_the_tags_spandsp_reads() {
        let doc = convert(&sample_png()).unwrap();
        // 300 rows x (1728 / 400) x (196 / 204) = 1245.2
        assert_eq!((doc.pages.len(), doc.rows(0)), (1, 1245));
        let tiff = to_tiff(&doc);
        let dirs = directories(&tiff);
        assert_eq!(dirs.len(), 1);
        let d = &dirs[0];
        for (tag, want) in [(256, 1728), (257, 1245), (258, 1), (259, 1), (262, 0), (277, 1), (278, 1245), (282, 204), (283, 196), (296, 2)] {
            assert_eq!(d.get(&tag), Some(&want), "tag {tag}: {d:?}");
        }
        assert_eq!(d[&279] as usize, 1245 * 216, "one strip holds the page");
        let strip = &tiff[d[&273] as usize..(d[&273] + d[&279]) as usize];
        // Left half black (1 bits), right half white: row 600, bytes 0..100 and 116..216.
        let row = &strip[600 * 216..601 * 216];
        assert!(row[..100].iter().all(|&b| b == 0xff), "{:?}", &row[..8]);
        assert!(row[116..].iter().all(|&b| b == 0), "{:?}", &row[116..124]);
    }

    #[test]
    fn gray_is_dithered_and_tall_images_are_cut_into_pages() {
        // Mid gray: about half the pels black, spread out.
        let doc = convert(&png_bytes(864, 100, png::ColorType::Grayscale, |_, _| vec![128])).unwrap();
        let ones: u32 = doc.pages[0].iter().map(|b| b.count_ones()).sum();
        let all = 1728 * doc.rows(0);
        assert!((all * 2 / 5..all * 3 / 5).contains(&ones), "{ones} of {all}");
        // 1728 wide, 5000 tall: 4804 rows → 3 pages.
        let tall = convert(&png_bytes(1728, 5000, png::ColorType::Grayscale, |_, _| vec![255])).unwrap();
        assert_eq!((tall.pages.len(), tall.rows(0), tall.rows(2)), (3, 2287, 4804 - 2 * 2287));
        let dirs = directories(&to_tiff(&tall));
        assert_eq!(dirs.iter().map(|d| d[&257]).collect::<Vec<_>>(), [2287, 2287, 230]);
        assert_eq!(dirs[2][&297], 2, "page number");
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(matches!(convert(b"\x89PNG\r\n\x1a\nrubbish"), Err(PngError::Decode(_))));
        assert!(matches!(convert(b""), Err(PngError::Decode(_))));
        let mut cut = sample_png();
        cut.truncate(cut.len() / 2);
        assert!(convert(&cut).is_err());
        assert_eq!(convert(&png_bytes(1, 200, png::ColorType::Grayscale, |_, _| vec![0])), Err(PngError::TooManyPages));
    }

    #[test]
    fn palette_and_sixteen_bit_images_are_expanded() {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, 8, 8);
            enc.set_color(png::ColorType::Indexed);
            enc.set_depth(png::BitDepth::One);
            enc.set_palette(vec![255, 255, 255, 0, 0, 0]);
            let mut w = enc.write_header().unwrap();
            w.write_image_data(&[0xff; 8]).unwrap();
        }
        let doc = convert(&out).unwrap();
        assert!(doc.pages[0].iter().all(|&b| b == 0xff), "index 1 is black");
    }

    /// spandsp itself reads the TIFF: two of our terminals back to back
    /// over T.38 move the page across.
    #[test]
    fn spandsp_sends_the_tiff() {
        use crate::fax::engine::{Document, FaxConfig, FaxEvent, T38Settings, T38Terminal};
        let dir = tempfile::tempdir().unwrap();
        let tx_file = dir.path().join("page.tif");
        std::fs::write(&tx_file, to_tiff(&convert(&sample_png()).unwrap())).unwrap();
        let rx_file = dir.path().join("received.tif");
        let cfg = |document, calling_party, id: &str| FaxConfig { document, calling_party, local_ident: id.into(), ecm: true };
        let settings = T38Settings::default();
        let mut tx = T38Terminal::new(&cfg(Document::Send { tiff: tx_file, header: None }, true, "sender"), &settings).unwrap();
        let mut rx = T38Terminal::new(&cfg(Document::Receive { tiff: rx_file.clone() }, false, "receiver"), &settings).unwrap();
        let (mut ev_tx, mut ev_rx) = (Vec::new(), Vec::new());
        let (mut seq_a, mut seq_b) = (0u16, 0u16);
        for _ in 0..120 * 50 {
            tx.advance(160);
            rx.advance(160);
            while let Some((ifp, count)) = tx.poll_ifp() {
                for _ in 0..count {
                    rx.receive_ifp(seq_a, &ifp);
                    seq_a = seq_a.wrapping_add(1);
                }
            }
            while let Some((ifp, count)) = rx.poll_ifp() {
                for _ in 0..count {
                    tx.receive_ifp(seq_b, &ifp);
                    seq_b = seq_b.wrapping_add(1);
                }
            }
            ev_tx.extend(std::iter::from_fn(|| tx.poll_event()));
            ev_rx.extend(std::iter::from_fn(|| rx.poll_event()));
            if tx.finished() && rx.finished() {
                break;
            }
        }
        let report = |evs: &[FaxEvent]| {
            evs.iter()
                .find_map(|e| match e {
                    FaxEvent::Finished(r) => Some(r.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| panic!("no phase E: {evs:?}"))
        };
        let (sent, got) = (report(&ev_tx), report(&ev_rx));
        assert!(sent.success() && got.success(), "{sent:?} / {got:?}");
        assert_eq!((sent.pages, got.pages, got.width), (1, 1, 1728));
        assert_eq!(got.y_resolution, 7700, "fine resolution (lines per metre)");
        assert!(std::fs::metadata(&rx_file).unwrap().len() > 1000);
    }
}
