//! Two of our terminals back to back, in memory and in virtual time: a
//! 2-page document crosses over T.38 (IFP packets handed over directly,
//! with and without ECM) and over audio (samples handed over directly).
//! Interop with an independent spandsp build is in `tests/fax_*.rs`.

use super::*;
use std::path::PathBuf;

fn vector() -> PathBuf {
    // tests/vectors/fax/README.md says how it was made.
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/fax/two-pages.tif")
}

fn pair(dir: &Path, ecm: bool) -> (FaxConfig, FaxConfig, PathBuf) {
    let rx = dir.join("received.tif");
    let sender = FaxConfig {
        document: Document::Send { tiff: vector(), header: Some("switchboard test".into()) },
        calling_party: true,
        local_ident: "+1 555 0100".into(),
        ecm,
    };
    let receiver = FaxConfig {
        document: Document::Receive { tiff: rx.clone() },
        calling_party: false,
        local_ident: "+1 555 0199".into(),
        ecm,
    };
    (sender, receiver, rx)
}

/// Runs until both report phase E or `limit_secs` of virtual time pass.
fn run_t38(a: &mut T38Terminal, b: &mut T38Terminal, limit_secs: u32) -> (Vec<FaxEvent>, Vec<FaxEvent>) {
    let (mut ev_a, mut ev_b) = (Vec::new(), Vec::new());
    let (mut seq_a, mut seq_b) = (0u16, 0u16);
    for _ in 0..limit_secs * 50 {
        a.advance(160);
        b.advance(160);
        while let Some((ifp, count)) = a.poll_ifp() {
            for _ in 0..count {
                b.receive_ifp(seq_a, &ifp);
                seq_a = seq_a.wrapping_add(1);
            }
        }
        while let Some((ifp, count)) = b.poll_ifp() {
            for _ in 0..count {
                a.receive_ifp(seq_b, &ifp);
                seq_b = seq_b.wrapping_add(1);
            }
        }
        ev_a.extend(std::iter::from_fn(|| a.poll_event()));
        ev_b.extend(std::iter::from_fn(|| b.poll_event()));
        if a.finished() && b.finished() {
            break;
        }
    }
    (ev_a, ev_b)
}

fn finished(events: &[FaxEvent]) -> &FaxReport {
    events
        .iter()
        .find_map(|e| match e {
            FaxEvent::Finished(r) => Some(r),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no phase E in {events:?}"))
}

fn pages_in(tiff: &Path) -> usize {
    // Count IFDs by walking the TIFF's directory chain: enough to see that
    // spandsp wrote both pages (the interop tests compare pixels).
    let data = std::fs::read(tiff).expect("received TIFF exists");
    assert_eq!(&data[..4], b"II*\0", "little-endian TIFF");
    let u32_at = |o: usize| u32::from_le_bytes(data[o..o + 4].try_into().unwrap()) as usize;
    let u16_at = |o: usize| u16::from_le_bytes(data[o..o + 2].try_into().unwrap()) as usize;
    let (mut off, mut n) = (u32_at(4), 0);
    while off != 0 && n < 100 {
        n += 1;
        off = u32_at(off + 2 + 12 * u16_at(off));
    }
    n
}

fn t38_transfer(ecm: bool) {
    let dir = tempfile::tempdir().unwrap();
    let (tx_cfg, rx_cfg, rx_file) = pair(dir.path(), ecm);
    let settings = T38Settings::default();
    let mut tx = T38Terminal::new(&tx_cfg, &settings).unwrap();
    let mut rx = T38Terminal::new(&rx_cfg, &settings).unwrap();
    let (ev_tx, ev_rx) = run_t38(&mut tx, &mut rx, 300);
    let (sent, got) = (finished(&ev_tx), finished(&ev_rx));
    assert!(sent.success(), "sender: {sent:?}");
    assert!(got.success(), "receiver: {got:?}");
    assert_eq!((sent.pages, got.pages), (2, 2));
    assert_eq!(got.remote_ident, "+1 555 0100");
    assert_eq!(sent.remote_ident, "+1 555 0199");
    assert_eq!(got.ecm, ecm);
    assert_eq!(got.bit_rate, 14400, "V.17 is the fastest both offer");
    assert_eq!(got.width, 1728);
    assert!(ev_rx.iter().any(|e| matches!(e, FaxEvent::Negotiated { remote_ident } if remote_ident == "+1 555 0100")));
    assert_eq!(ev_rx.iter().filter(|e| matches!(e, FaxEvent::Page { .. })).count(), 2);
    assert_eq!(ev_rx.iter().filter(|e| matches!(e, FaxEvent::Finished(_))).count(), 1, "phase E once");
    assert_eq!(pages_in(&rx_file), 2);
}

#[test]
fn t38_two_pages_without_ecm() {
    t38_transfer(false);
}

#[test]
fn t38_two_pages_with_ecm() {
    t38_transfer(true);
}

#[test]
fn audio_two_pages() {
    let dir = tempfile::tempdir().unwrap();
    let (tx_cfg, rx_cfg, rx_file) = pair(dir.path(), true);
    let mut tx = AudioTerminal::new(&tx_cfg).unwrap();
    let mut rx = AudioTerminal::new(&rx_cfg).unwrap();
    let (mut ev_tx, mut ev_rx) = (Vec::new(), Vec::new());
    let (mut a, mut b) = ([0i16; 160], [0i16; 160]);
    for _ in 0..300 * 50 {
        tx.transmit_audio(&mut a);
        rx.transmit_audio(&mut b);
        rx.receive_audio(&a);
        tx.receive_audio(&b);
        ev_tx.extend(std::iter::from_fn(|| tx.poll_event()));
        ev_rx.extend(std::iter::from_fn(|| rx.poll_event()));
        if tx.finished() && rx.finished() {
            break;
        }
    }
    let (sent, got) = (finished(&ev_tx), finished(&ev_rx));
    assert!(sent.success() && got.success(), "{sent:?} / {got:?}");
    assert_eq!((sent.pages, got.pages), (2, 2));
    assert_eq!(pages_in(&rx_file), 2);
}

#[test]
fn hang_up_mid_call_reports_call_dropped_once() {
    let dir = tempfile::tempdir().unwrap();
    let (tx_cfg, _, _) = pair(dir.path(), false);
    let mut tx = T38Terminal::new(&tx_cfg, &T38Settings::default()).unwrap();
    tx.advance(8000);
    tx.terminate();
    tx.terminate();
    let events: Vec<_> = std::iter::from_fn(|| tx.poll_event()).collect();
    let report = finished(&events);
    assert!(!report.success());
    assert_eq!(report.code, sys::t30_err_e::T30_ERR_CALLDROPPED as i32, "{report:?}");
    assert_eq!(events.iter().filter(|e| matches!(e, FaxEvent::Finished(_))).count(), 1);
}

#[test]
fn missing_document_fails_with_a_file_error() {
    let cfg = FaxConfig {
        document: Document::Send { tiff: "/nonexistent/doc.tif".into(), header: None },
        calling_party: true,
        local_ident: "x".into(),
        ecm: false,
    };
    let dir = tempfile::tempdir().unwrap();
    let (_, rx_cfg, _) = pair(dir.path(), false);
    let mut tx = T38Terminal::new(&cfg, &T38Settings::default()).unwrap();
    let mut rx = T38Terminal::new(&rx_cfg, &T38Settings::default()).unwrap();
    let (ev_tx, _) = run_t38(&mut tx, &mut rx, 120);
    let report = finished(&ev_tx);
    assert!(!report.success(), "{report:?}");
    assert!(!report.reason.is_empty());
}

#[test]
fn idents_must_be_printable_and_short() {
    let mut cfg = pair(Path::new("/tmp"), false).0;
    cfg.local_ident = "x".repeat(21);
    assert!(matches!(T38Terminal::new(&cfg, &T38Settings::default()), Err(FaxError::BadIdent(_))));
    cfg.local_ident = "bad\u{7}".into();
    assert!(matches!(AudioTerminal::new(&cfg), Err(FaxError::BadIdent(_))));
}

#[test]
fn tone_detector_hears_the_senders_cng_and_not_silence() {
    let dir = tempfile::tempdir().unwrap();
    let (tx_cfg, _, _) = pair(dir.path(), false);
    // A calling audio terminal starts with CNG (0.5 s of 1100 Hz every 3.5 s).
    let mut tx = AudioTerminal::new(&tx_cfg).unwrap();
    let mut cng = FaxToneDetector::new(FaxTone::Cng).unwrap();
    let mut quiet = FaxToneDetector::new(FaxTone::Cng).unwrap();
    let mut buf = [0i16; 160];
    let mut heard_after = None;
    for i in 0..250 {
        tx.transmit_audio(&mut buf);
        if cng.feed(&buf) && heard_after.is_none() {
            heard_after = Some(i);
        }
        assert!(!quiet.feed(&[0; 160]));
    }
    assert!(heard_after.is_some(), "CNG not detected in 5 s");
}
