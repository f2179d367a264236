//! The PDF of a received fax shows exactly the fax's pixels: each TIFF
//! coding we may be handed (T.4 1-D with fill bits, T.4 2-D least
//! significant bit first, T.6, several strips a page) goes through
//! `fax::pdf::tiff_to_pdf`, ghostscript renders the PDF back at the fax
//! resolution, and ImageMagick finds no differing pixel.

mod common;

use std::path::Path;
use std::process::Command;

use common::faxpeer::pages_identical;

fn check(name: &str) {
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/fax");
    let tiff = vectors.join(name);
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("fax.pdf");
    std::fs::write(&pdf, switchboard::fax::pdf::tiff_to_pdf(&std::fs::read(&tiff).unwrap()).expect("PDF")).unwrap();
    let rendered = dir.path().join("rendered.tif");
    let out = Command::new("gs")
        .args(["-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=tiffg4", "-r204x98"])
        .arg(format!("-sOutputFile={}", rendered.display()))
        .arg(&pdf)
        .output()
        .expect("ghostscript (Debian package ghostscript) runs");
    assert!(out.status.success(), "gs: {}", String::from_utf8_lossy(&out.stderr));
    pages_identical(&tiff, &rendered).unwrap_or_else(|e| panic!("{name}: the PDF shows other pixels: {e}"));
}

#[test]
fn t4_one_dimensional_with_fill_bits() {
    check("two-pages.tif");
}

#[test]
fn t4_two_dimensional_lsb_first() {
    check("g3-2d-lsb.tif");
}

#[test]
fn t6_group_4() {
    check("t6-group4.tif");
}

#[test]
fn several_strips_a_page() {
    check("multistrip.tif");
}
