//! A received fax as PDF: each TIFF page becomes a PDF page of the same
//! physical size, its CCITT T.4/T.6 strips embedded unchanged as image
//! XObjects with the `CCITTFaxDecode` filter (PDF 1.4, 7.4.6), so the PDF
//! shows exactly the pixels the fax machine sent and is about the size of
//! the TIFF. Only bit order is normalised (TIFF FillOrder 2 is reversed:
//! PDF reads the most significant bit first). Pages we made ourselves from
//! a PNG (`super::png`) are embedded as 1-bit images, deflated
//! ([`bilevel_to_pdf`]). Knows nothing of T.30 or where files live.

use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref};

use super::tiff::{read_pages, Coding, Page, TiffError};

/// The PDF for a fax TIFF's bytes.
pub fn tiff_to_pdf(tiff: &[u8]) -> Result<Vec<u8>, TiffError> {
    let pages = read_pages(tiff)?;
    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let mut next = 3;
    let mut alloc = || {
        let r = Ref::new(next);
        next += 1;
        r
    };
    let page_refs: Vec<(Ref, Ref, Vec<Ref>)> =
        pages.iter().map(|p| (alloc(), alloc(), p.strips.iter().map(|_| alloc()).collect())).collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids(page_refs.iter().map(|(p, _, _)| *p)).count(pages.len() as i32);
    let mut strip_data = Vec::new();
    for (page, (page_ref, content_ref, image_refs)) in pages.iter().zip(&page_refs) {
        // Page size in points (1/72 in) from the fax resolution.
        let (w, h) = (page.width as f32 * 72.0 / page.x_dpi, page.length as f32 * 72.0 / page.y_dpi);
        let names: Vec<String> = (0..image_refs.len()).map(|i| format!("S{i}")).collect();
        {
            let mut p = pdf.page(*page_ref);
            p.parent(tree).media_box(Rect::new(0.0, 0.0, w, h)).contents(*content_ref);
            let mut res = p.resources();
            let mut xo = res.x_objects();
            for (name, r) in names.iter().zip(image_refs) {
                xo.pair(Name(name.as_bytes()), *r);
            }
        }
        // Strips top to bottom; PDF's y axis points up.
        let mut content = Content::new();
        let mut top = 0u32;
        for (strip, name) in page.strips.iter().zip(&names) {
            let sh = strip.rows as f32 * 72.0 / page.y_dpi;
            let y = h - (top as f32 * 72.0 / page.y_dpi) - sh;
            content.save_state().transform([w, 0.0, 0.0, sh, 0.0, y]).x_object(Name(name.as_bytes())).restore_state();
            top += strip.rows;
        }
        pdf.stream(*content_ref, &content.finish());
        for (strip, r) in page.strips.iter().zip(image_refs) {
            strip_data.clear();
            strip_data.extend_from_slice(&tiff[strip.offset..strip.offset + strip.len]);
            if page.lsb_first {
                strip_data.iter_mut().for_each(|b| *b = b.reverse_bits());
            }
            write_image(&mut pdf, *r, page, strip.rows, &strip_data);
        }
    }
    Ok(pdf.finish())
}

/// The PDF of pages made by `super::png` (1728 pels wide, 204 x 196 dpi,
/// 1 = black): each page one deflated 1-bit image.
pub fn bilevel_to_pdf(doc: &super::png::Bilevel) -> Vec<u8> {
    use std::io::Write;
    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let refs: Vec<(Ref, Ref, Ref)> = (0..doc.pages.len() as i32).map(|i| (Ref::new(3 + 3 * i), Ref::new(4 + 3 * i), Ref::new(5 + 3 * i))).collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids(refs.iter().map(|(p, _, _)| *p)).count(doc.pages.len() as i32);
    let (x_dpi, y_dpi) = (super::png::X_DPI as f32, super::png::Y_DPI as f32);
    for (i, (page, (page_ref, content_ref, image_ref))) in doc.pages.iter().zip(&refs).enumerate() {
        let rows = doc.rows(i);
        let (w, h) = (super::png::FAX_WIDTH as f32 * 72.0 / x_dpi, rows as f32 * 72.0 / y_dpi);
        {
            let mut p = pdf.page(*page_ref);
            p.parent(tree).media_box(Rect::new(0.0, 0.0, w, h)).contents(*content_ref);
            p.resources().x_objects().pair(Name(b"P"), *image_ref);
        }
        let mut content = Content::new();
        content.save_state().transform([w, 0.0, 0.0, h, 0.0, 0.0]).x_object(Name(b"P")).restore_state();
        pdf.stream(*content_ref, &content.finish());
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        // Writing to a Vec cannot fail.
        let data = z.write_all(page).and_then(|_| z.finish()).unwrap_or_default();
        let mut img = pdf.image_xobject(*image_ref, &data);
        img.width(super::png::FAX_WIDTH as i32).height(rows as i32).bits_per_component(1);
        img.color_space().device_gray();
        // 1 bits are black: the reverse of DeviceGray's 0 = black.
        img.decode([1.0, 0.0]);
        img.filter(Filter::FlateDecode);
        img.finish();
    }
    pdf.finish()
}

fn write_image(pdf: &mut Pdf, r: Ref, page: &Page, rows: u32, data: &[u8]) {
    let mut img = pdf.image_xobject(r, data);
    img.width(page.width as i32).height(rows as i32).bits_per_component(1);
    img.color_space().device_gray();
    if page.min_is_black {
        img.decode([1.0, 0.0]);
    }
    img.filter(Filter::CcittFaxDecode);
    let mut parms = img.decode_parms();
    parms.columns(page.width as i32).rows(rows as i32).black_is_1(false);
    match page.coding {
        Coding::T6 => {
            parms.k(-1);
        }
        Coding::T4 { two_d, .. } => {
            // K > 0: each line's tag bit says 1-D or 2-D, whatever K is.
            // TIFF's fill bits (T4Options bit 2) pad before the EOL, which
            // the decoder reads as part of the EOL; PDF's EncodedByteAlign
            // means something else (padding before each line's data) and
            // must stay off, or 1-D pages decode as garbage.
            parms.k(if two_d { 4 } else { 0 }).end_of_line(true);
        }
    }
    parms.finish();
    img.finish();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_pages_become_two_pdf_pages_with_ccitt_images() {
        let tiff = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/fax/two-pages.tif")).unwrap();
        let pdf = tiff_to_pdf(&tiff).unwrap();
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.starts_with("%PDF-1."));
        assert_eq!(text.matches("/Type /Page\n").count() + text.matches("/Type /Page ").count(), 2, "{text:.2000}");
        assert_eq!(text.matches("/CCITTFaxDecode").count(), 2);
        assert!(text.contains("/Columns 1728"));
        // 1728 px at 204 dpi is 609.88 pt wide.
        assert!(text.contains("609.88"), "{text:.1500}");
    }

    #[test]
    fn png_pages_become_deflated_one_bit_images() {
        let doc = super::super::png::Bilevel { pages: vec![vec![0xf0; 216 * 196], vec![0; 216 * 98]] };
        let pdf = bilevel_to_pdf(&doc);
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.starts_with("%PDF-1."));
        assert_eq!(text.matches("/FlateDecode").count(), 2);
        assert!(text.contains("/Height 196") && text.contains("/Height 98") && text.contains("/Decode [1 0]"), "{text:.1500}");
        // 196 rows at 196 dpi: one inch, 72 pt.
        assert!(text.contains("/MediaBox [0 0 609.88") && text.contains(" 72]") && text.contains(" 36]"), "{text:.1500}");
    }

    #[test]
    fn not_a_tiff_is_an_error() {
        assert!(tiff_to_pdf(b"%PDF-1.4").is_err());
    }
}
