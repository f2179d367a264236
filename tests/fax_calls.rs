//! Fax through real SIP calls against an independent fax peer (issue 7):
//! Debian's libspandsp 0.0.6 driven by tests/fax/peer.c (its own UDPTL
//! framing, or G.711 RTP), while a small Rust UA (tests/common/sip_ua.rs)
//! plays the carrier's SIP side: INVITE to a fax DID, then re-INVITE to
//! T.38 or not. What arrives in switchboard's data dir must be the very
//! pages the peer sent (ImageMagick `compare -metric AE` = 0).

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::faxpeer::{make_document, pages_identical, FaxPeer};
use common::sip_ua::{audio_sdp, media_port, t38_sdp, Ua};
use common::switchboard::Switchboard;

const FAX_DID: &str = "5550300";
const T: Duration = Duration::from_secs(120);

/// Fax-on-demand: the document goes back on the same call.
const ON_DEMAND_DID: &str = "5550301";
/// Queues an outbound job to `OUTBOUND_NUMBER`, then hangs up.
const QUEUE_DID: &str = "5550302";
const OUTBOUND_NUMBER: &str = "5552000";
/// Receives and mails the PDF to fax-inbox@example.org.
const MAIL_DID: &str = "5550303";

fn plan() -> String {
    format!(
        "[[entry]]\nmatch = {{ did = \"{FAX_DID}\" }}\ncontext = \"fax\"\n\n\
         [[entry]]\nmatch = {{ did = \"{ON_DEMAND_DID}\" }}\ncontext = \"fod\"\n\n\
         [[entry]]\nmatch = {{ did = \"{QUEUE_DID}\" }}\ncontext = \"queue\"\n\n\
         [[entry]]\nmatch = {{ did = \"{MAIL_DID}\" }}\ncontext = \"mail\"\n\n\
         [context.mail]\nsteps = [{{ app = \"fax_receive\", email = \"fax-inbox@example.org\" }}, {{ app = \"hangup\" }}]\n\
         [context.fax]\nsteps = [{{ app = \"fax_receive\" }}, {{ app = \"hangup\" }}]\n\
         [context.fod]\nsteps = [{{ app = \"fax_send\", document = \"demo\" }}, {{ app = \"hangup\" }}]\n\
         [context.queue]\nsteps = [{{ app = \"answer\" }}, {{ app = \"fax_send\", document = \"demo\", to = \"{OUTBOUND_NUMBER}\" }}, {{ app = \"hangup\" }}]\n"
    )
}

/// A switchboard with the fax DIDs, behind a trunk whose host is the UA;
/// the fax library holds `demo.tif`, a copy of `library_doc` when given.
fn appliance(extra: &str, ua_port: u16) -> Switchboard {
    appliance_with(extra, ua_port, None)
}

fn appliance_with(extra: &str, ua_port: u16, library_doc: Option<&Path>) -> Switchboard {
    let dir = tempfile::tempdir().unwrap().keep();
    std::fs::write(dir.join("fax.toml"), plan()).unwrap();
    let library = dir.join("library");
    std::fs::create_dir_all(&library).unwrap();
    if let Some(doc) = library_doc {
        std::fs::copy(doc, library.join("demo.tif")).unwrap();
    }
    let cfg = format!(
        "[trunks]\noptions_interval_secs = 0\n[dialplan]\ndir = \"{}\"\n[fax]\nlibrary = \"{}\"\nretry_secs = 10\n{extra}",
        dir.display(),
        library.display()
    );
    let mut sb = Switchboard::new(&cfg).expect("prepare");
    sb.admin_ok(&["trunk", "add", "carrier", "--host", &format!("127.0.0.1:{ua_port}")]);
    sb.start().expect("start");
    sb
}

fn free_udp() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The received TIFF once its row says the fax is over.
fn wait_received(sb: &mut Switchboard) -> PathBuf {
    sb.wait_log("fax received", Duration::from_secs(30)).expect("switchboard logged the fax");
    let dir = sb.data_dir().join("fax/in");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let tif = std::fs::read_dir(&dir).ok().and_then(|d| {
            d.filter_map(|e| e.ok()).map(|e| e.path()).find(|p| p.extension().is_some_and(|x| x == "tif"))
        });
        if let Some(t) = tif {
            return t;
        }
        assert!(Instant::now() < deadline, "no TIFF under {}", dir.display());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs `during` while `ua` answers the appliance's re-INVITEs 488 (a
/// carrier without T.38) and its BYEs 200.
fn refusing_t38(ua: Ua, during: impl FnOnce()) {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let refuser = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if let Some(m) = ua.recv(Duration::from_millis(200)) {
                    match m.method() {
                        Some("INVITE") => ua.respond(&m, 488, "Not Acceptable Here", ""),
                        Some("BYE") => ua.respond(&m, 200, "OK", ""),
                        _ => {}
                    }
                }
            }
        })
    };
    during();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    refuser.join().unwrap();
}

fn sip_addr(sb: &Switchboard) -> std::net::SocketAddr {
    sb.sip_addr().parse().expect("SIP address")
}

fn assert_pdf(tif: &Path) {
    let pdf = tif.with_extension("pdf");
    let data = std::fs::read(&pdf).unwrap_or_else(|e| panic!("{}: {e}", pdf.display()));
    assert!(data.starts_with(b"%PDF-"), "not a PDF");
    assert_eq!(String::from_utf8_lossy(&data).matches("/CCITTFaxDecode").count(), 2, "two CCITT page images");
    // Rendered back by ghostscript, the PDF shows the received pixels.
    let rendered = tif.with_extension("rendered.tif");
    let out = std::process::Command::new("gs")
        .args(["-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=tiffg4", "-r204x98"])
        .arg(format!("-sOutputFile={}", rendered.display()))
        .arg(&pdf)
        .output()
        .expect("ghostscript runs");
    assert!(out.status.success(), "gs: {}", String::from_utf8_lossy(&out.stderr));
    pages_identical(tif, &rendered).unwrap_or_else(|e| panic!("the PDF shows other pixels than the TIFF: {e}"));
}

fn t38_receive(ecm: bool, loss: Option<f64>) {
    let ua_port = free_udp();
    let mut sb = appliance("", ua_port);
    let work = tempfile::tempdir().unwrap();
    let doc = make_document(work.path(), 2);
    let mut ua = Ua::new(ua_port, sip_addr(&sb), "5551000", FAX_DID);
    let r = ua.invite(&audio_sdp(free_udp()));
    assert_eq!(r.status(), Some(200), "{r:?}\n{}", sb.log());
    let peer_port = free_udp();
    let r = ua.reinvite(&t38_sdp(peer_port, 0, "t38UDPRedundancy"));
    assert_eq!(r.status(), Some(200), "T.38 re-INVITE: {r:?}\n{}", sb.log());
    let ours = media_port(&r.body, "image").expect("our answer has an image line");
    assert!(r.body.contains("udptl t38") && r.body.contains("T38FaxUdpEC:t38UDPRedundancy"), "{}", r.body);
    let mut peer = FaxPeer::send(&doc).t38().local_port(peer_port).remote(format!("127.0.0.1:{ours}")).calling(true).ecm(ecm);
    if let Some(l) = loss {
        peer = peer.loss(l).redundancy(3).seed(7);
    }
    let result = peer.spawn().wait(T);
    result.assert_ok("peer sending over T.38");
    assert_eq!(result.pages, 2);
    assert_eq!(result.ecm, ecm);
    let tif = wait_received(&mut sb);
    pages_identical(&doc, &tif).unwrap_or_else(|e| panic!("pages differ: {e}"));
    assert_pdf(&tif);
    let log = sb.log();
    assert!(log.contains("the peer switched the call to T.38"), "{log}");
    assert!(log.contains("transport=\"t38\"") || log.contains("transport=t38"), "{log}");
    // The dialplan hangs up after the fax.
    assert!(ua.wait_request("BYE", Duration::from_secs(10)).is_some(), "no BYE after the fax");
}

#[test]
fn t38_two_pages_without_ecm_arrive_pixel_identical() {
    t38_receive(false, None);
}

#[test]
fn t38_two_pages_with_ecm_arrive_pixel_identical() {
    t38_receive(true, None);
}

#[test]
fn t38_survives_five_percent_loss_with_redundancy_three() {
    t38_receive(true, Some(5.0));
}

/// G.711 audio fax: the UA refuses our T.38 re-INVITE (sent when we hear
/// the sender's CNG) with 488, and the fax goes through as audio.
#[test]
fn g711_audio_fax_after_a_refused_t38_reinvite() {
    let ua_port = free_udp();
    let mut sb = appliance("", ua_port);
    let work = tempfile::tempdir().unwrap();
    let doc = make_document(work.path(), 2);
    let mut ua = Ua::new(ua_port, sip_addr(&sb), "5551000", FAX_DID);
    let rtp = free_udp();
    let r = ua.invite(&audio_sdp(rtp));
    assert_eq!(r.status(), Some(200), "{r:?}\n{}", sb.log());
    let ours = media_port(&r.body, "audio").expect("audio answer");
    let peer = FaxPeer::send(&doc).audio().local_port(rtp).remote(format!("127.0.0.1:{ours}")).calling(true).ecm(true).spawn();
    let reinvite = ua.wait_request("INVITE", Duration::from_secs(20)).expect("we offer T.38 on hearing CNG");
    assert!(reinvite.body.contains("m=image") && reinvite.body.contains("udptl t38"), "{}", reinvite.body);
    ua.respond(&reinvite, 488, "Not Acceptable Here", "");
    let result = peer.wait(T);
    result.assert_ok("peer sending over G.711");
    let tif = wait_received(&mut sb);
    pages_identical(&doc, &tif).unwrap_or_else(|e| panic!("pages differ: {e}"));
    assert!(sb.log().contains("the peer refused T.38"), "{}", sb.log());
}

/// An outbound job (queued by `fax_send ... to=`) dialled through the
/// trunk; the far end switches to T.38 and receives; its pages are the
/// library document's.
#[test]
fn outbound_job_over_t38_reaches_the_peer() {
    outbound(true);
}

/// The same over G.711 audio only (`[fax] t38 = false`).
#[test]
fn outbound_job_over_g711_reaches_the_peer() {
    outbound(false);
}

fn outbound(t38: bool) {
    let work = tempfile::tempdir().unwrap();
    let doc = make_document(work.path(), 2);
    let ua_port = free_udp();
    let extra = if t38 { "" } else { "t38 = false\n" };
    let mut sb = appliance_with(extra, ua_port, Some(&doc));
    let mut ua = Ua::new(ua_port, sip_addr(&sb), "5551000", QUEUE_DID);
    let r = ua.invite(&audio_sdp(free_udp()));
    assert_eq!(r.status(), Some(200), "{r:?}\n{}", sb.log());
    // The plan hangs up once the job is queued; then the job dials out.
    let bye = ua.wait_request("BYE", Duration::from_secs(10)).expect("BYE after queueing");
    ua.respond(&bye, 200, "OK", "");
    let invite = ua.wait_request("INVITE", Duration::from_secs(20)).expect("the job dials the number");
    assert!(invite.first.contains(&format!("sip:{OUTBOUND_NUMBER}@")), "{}", invite.first);
    assert!(!invite.body.contains("opus") && invite.body.contains("PCMU"), "G.711 only: {}", invite.body);
    let ours_audio = media_port(&invite.body, "audio").expect("audio offer");
    let rtp = free_udp();
    ua.accept(&invite, &audio_sdp(rtp));
    let received = work.path().join("got.tif");
    let peer = if t38 {
        let peer_port = free_udp();
        let r = ua.reinvite(&t38_sdp(peer_port, 0, "t38UDPRedundancy"));
        assert_eq!(r.status(), Some(200), "{r:?}\n{}", sb.log());
        let ours = media_port(&r.body, "image").expect("image answer");
        FaxPeer::receive(&received).t38().local_port(peer_port).remote(format!("127.0.0.1:{ours}")).calling(false).ecm(true)
    } else {
        FaxPeer::receive(&received).audio().local_port(rtp).remote(format!("127.0.0.1:{ours_audio}")).calling(false).ecm(true)
    };
    let result = peer.spawn().wait(T);
    result.assert_ok("peer receiving");
    assert_eq!(result.pages, 2);
    pages_identical(&doc, &received).unwrap_or_else(|e| panic!("pages differ: {e}"));
    sb.wait_log("fax sent", Duration::from_secs(20)).expect("the job reports success");
}

/// Fax-on-demand on the caller's own call: the caller's machine (the
/// calling party) receives the library document.
#[test]
fn fax_on_demand_on_the_same_call_over_t38() {
    let work = tempfile::tempdir().unwrap();
    let doc = make_document(work.path(), 1);
    let ua_port = free_udp();
    let mut sb = appliance_with("", ua_port, Some(&doc));
    let mut ua = Ua::new(ua_port, sip_addr(&sb), "5551000", ON_DEMAND_DID);
    let r = ua.invite(&audio_sdp(free_udp()));
    assert_eq!(r.status(), Some(200), "{r:?}\n{}", sb.log());
    let peer_port = free_udp();
    let r = ua.reinvite(&t38_sdp(peer_port, 0, "t38UDPRedundancy"));
    assert_eq!(r.status(), Some(200), "{r:?}\n{}", sb.log());
    let ours = media_port(&r.body, "image").expect("image answer");
    let received = work.path().join("got.tif");
    let result = FaxPeer::receive(&received).t38().local_port(peer_port).remote(format!("127.0.0.1:{ours}")).calling(true).spawn().wait(T);
    result.assert_ok("caller's machine receiving");
    pages_identical(&doc, &received).unwrap_or_else(|e| panic!("pages differ: {e}"));
    sb.wait_log("fax sent on the call", Duration::from_secs(20)).expect("logged");
}

/// A received fax is mailed as PDF when the step says so (a real SMTP
/// receiver on loopback: Python's aiosmtpd).
#[test]
fn received_fax_is_mailed_as_pdf() {
    use base64::Engine as _;
    let work = tempfile::tempdir().unwrap();
    let smtp = common::smtp::start_receiver(work.path());
    let doc = make_document(work.path(), 2);
    let ua_port = free_udp();
    let extra = format!("[smtp]\nhost = \"127.0.0.1\"\nport = {}\nfrom = \"Switchboard <fax@example.org>\"\n", smtp.port);
    let mut sb = appliance_with(&extra, ua_port, None);
    let mut ua = Ua::new(ua_port, sip_addr(&sb), "5551000", MAIL_DID);
    let r = ua.invite(&audio_sdp(free_udp()));
    assert_eq!(r.status(), Some(200), "{r:?}\n{}", sb.log());
    let peer_port = free_udp();
    let r = ua.reinvite(&t38_sdp(peer_port, 0, "t38UDPRedundancy"));
    let ours = media_port(&r.body, "image").expect("image answer");
    FaxPeer::send(&doc).t38().local_port(peer_port).remote(format!("127.0.0.1:{ours}")).calling(true).spawn().wait(T).assert_ok("peer sending");
    let tif = wait_received(&mut sb);
    let mail = std::fs::read_to_string(common::smtp::wait_message(&smtp.maildir)).unwrap();
    assert!(mail.contains("Subject: Fax from 5551000 (2 pages)"), "{mail:.2000}");
    assert!(mail.contains("To: fax-inbox@example.org"), "{mail:.2000}");
    let part = mail.split("Content-Type: application/pdf").nth(1).expect("a PDF part");
    assert!(mail.contains("filename=\"fax-1.pdf\""), "attachment name: {mail:.3000}");
    let b64: String = part.split("\r\n\r\n").nth(1).or_else(|| part.split("\n\n").nth(1)).unwrap_or("").lines().take_while(|l| !l.starts_with("--")).collect();
    let pdf = base64::engine::general_purpose::STANDARD.decode(b64.trim()).expect("base64 attachment");
    assert_eq!(pdf, std::fs::read(tif.with_extension("pdf")).unwrap(), "the mailed PDF is the stored one");
    sb.wait_log("fax e-mailed", Duration::from_secs(10)).expect("logged");
}

/// Busy is retried after `[fax] retry_secs`; the second attempt is
/// answered and delivered; the job records two attempts.
#[test]
fn busy_outbound_job_is_retried() {
    let work = tempfile::tempdir().unwrap();
    let doc = make_document(work.path(), 1);
    let ua_port = free_udp();
    let mut sb = appliance_with("t38 = false\n", ua_port, Some(&doc));
    let mut ua = Ua::new(ua_port, sip_addr(&sb), "5551000", QUEUE_DID);
    assert_eq!(ua.invite(&audio_sdp(free_udp())).status(), Some(200));
    let bye = ua.wait_request("BYE", Duration::from_secs(10)).expect("BYE after queueing");
    ua.respond(&bye, 200, "OK", "");
    let first = ua.wait_request("INVITE", Duration::from_secs(20)).expect("first attempt");
    ua.respond(&first, 486, "Busy Here", "");
    let started = Instant::now();
    let second = ua.wait_request("INVITE", Duration::from_secs(30)).expect("a retry");
    assert!(started.elapsed() >= Duration::from_secs(8), "retried after {:?}, before retry_secs", started.elapsed());
    let ours = media_port(&second.body, "audio").expect("audio offer");
    let rtp = free_udp();
    ua.accept(&second, &audio_sdp(rtp));
    let received = work.path().join("got.tif");
    let result = FaxPeer::receive(&received).audio().local_port(rtp).remote(format!("127.0.0.1:{ours}")).spawn().wait(T);
    result.assert_ok("peer receiving on the retry");
    pages_identical(&doc, &received).unwrap_or_else(|e| panic!("pages differ: {e}"));
    sb.wait_log("fax sent", Duration::from_secs(20)).expect("success logged");
    assert!(sb.log().contains("busy"), "the first attempt's reason is logged: {}", sb.log());
}

/// The demo dialplan's fax-on-demand: main menu 4, fax menu 1, document
/// 1001#, then # for "on this call"; keys by SIP INFO; the caller's fax
/// machine (G.711, it refuses our T.38 offer) receives the library's
/// document 1001.
#[test]
fn demo_menu_fax_on_demand_sends_document_1001() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let ua_port = free_udp();
    let cfg = format!(
        "[media]\nprompts_dir = \"{}\"\n[trunks]\noptions_interval_secs = 0\n[dialplan]\ndir = \"{}\"\nfixed_time = \"2026-03-02T10:00:00+01:00\"\n",
        repo.join("prompts").display(),
        repo.join("dialplans").display()
    );
    let mut sb = Switchboard::new(&cfg).expect("prepare");
    sb.admin_ok(&["trunk", "add", "carrier", "--host", &format!("127.0.0.1:{ua_port}")]);
    sb.start().expect("start");
    let mut ua = Ua::new(ua_port, sip_addr(&sb), "5551000", "5550100");
    let rtp = free_udp();
    let r = ua.invite(&audio_sdp(rtp));
    assert_eq!(r.status(), Some(200), "{r:?}\n{}", sb.log());
    let ours = media_port(&r.body, "audio").expect("audio answer");
    for key in "411001##".chars() {
        assert_eq!(ua.info_digit(key).status(), Some(200));
        std::thread::sleep(Duration::from_millis(300));
    }
    let work = tempfile::tempdir().unwrap();
    let received = work.path().join("got.tif");
    let peer = FaxPeer::receive(&received).audio().local_port(rtp).remote(format!("127.0.0.1:{ours}")).calling(true).spawn();
    // If we hear the machine's CNG we offer T.38; this caller refuses.
    refusing_t38(ua, || peer.wait(T).assert_ok("the caller's machine receiving"));
    pages_identical(&repo.join("dialplans/fax-library/1001.tif"), &received).unwrap_or_else(|e| panic!("pages differ: {e}"));
    let line = sb.wait_log("dialplan finished", Duration::from_secs(20)).expect("the call ends");
    assert!(line.contains("main > menu > choice=4 > fax > choice=1 > fax-on-demand > fax-on-this-call > fax-done"), "{line}");
}

/// Wire check: Wireshark's T.38 dissector (`tshark -d udp.port==N,t38`)
/// decodes every UDPTL datagram we sent during a 2-page T.38 fax with no
/// malformed field. Captured on loopback with tshark itself.
#[test]
fn our_udptl_decodes_cleanly_in_tshark() {
    let work = tempfile::tempdir().unwrap();
    let doc = make_document(work.path(), 2);
    let ua_port = free_udp();
    let mut sb = appliance_with("", ua_port, Some(&doc));
    let peer_port = free_udp();
    let pcap = work.path().join("t38.pcapng");
    let mut capture = std::process::Command::new("tshark")
        .args(["-i", "lo", "-f", &format!("udp port {peer_port}"), "-w"])
        .arg(&pcap)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("tshark (Debian package tshark) runs");
    // tshark says "Capturing on 'Loopback: lo'" once it captures.
    let mut err = std::io::BufReader::new(capture.stderr.take().unwrap());
    let mut line = String::new();
    while std::io::BufRead::read_line(&mut err, &mut line).unwrap_or(0) > 0 && !line.contains("Capturing on") {
        line.clear();
    }
    std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
    let mut ua = Ua::new(ua_port, sip_addr(&sb), "5551000", ON_DEMAND_DID);
    assert_eq!(ua.invite(&audio_sdp(free_udp())).status(), Some(200));
    let r = ua.reinvite(&t38_sdp(peer_port, 0, "t38UDPRedundancy"));
    let ours = media_port(&r.body, "image").expect("image answer");
    let received = work.path().join("got.tif");
    FaxPeer::receive(&received).t38().local_port(peer_port).remote(format!("127.0.0.1:{ours}")).calling(true).spawn().wait(T).assert_ok("peer");
    sb.wait_log("fax sent on the call", Duration::from_secs(20)).expect("sent");
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(capture.id() as i32, libc::SIGINT) };
    capture.wait().expect("tshark stops");
    let out = std::process::Command::new("tshark")
        .arg("-r")
        .arg(&pcap)
        .args(["-d", &format!("udp.port=={peer_port},t38"), "-Y", &format!("udp.srcport=={ours}")])
        .args(["-T", "fields", "-e", "t38.seq_number", "-e", "_ws.malformed", "-e", "t38.type_of_msg", "-e", "t38.malformed"])
        .output()
        .expect("tshark reads the capture");
    let text = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    let all = std::process::Command::new("tshark").arg("-r").arg(&pcap).output().map(|o| String::from_utf8_lossy(&o.stdout).lines().take(5).collect::<Vec<_>>().join("\n")).unwrap_or_default();
    assert!(rows.len() > 50, "only {} of our {all} datagrams captured (port {ours}):\n{text}\n{}", rows.len(), String::from_utf8_lossy(&out.stderr));
    let undecoded: Vec<_> = rows.iter().filter(|r| r.first().is_none_or(|s| s.is_empty())).collect();
    assert!(undecoded.is_empty(), "datagrams without a T.38 sequence number: {undecoded:?}");
    let malformed: Vec<_> = rows.iter().filter(|r| [1, 3].iter().any(|&i| r.get(i).is_some_and(|m| !m.is_empty()))).collect();
    if !malformed.is_empty() {
        let _ = std::fs::copy(&pcap, "/tmp/t38-malformed.pcapng");
    }
    assert!(malformed.is_empty(), "malformed per tshark: {malformed:?}");
    assert!(rows.iter().any(|r| r.get(2).is_some_and(|t| t.contains('1'))), "no data (t30-data) packets decoded: {text:.1000}");
}

/// A fax machine calling the main number (not the fax line): the IVR hears
/// its calling tone (CNG) during the welcome prompts and hands the call to
/// the plan's `fax-in` context, which receives the fax.
#[test]
fn ivr_hears_cng_on_the_main_line_and_receives_the_fax() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let ua_port = free_udp();
    let cfg = format!(
        "[media]\nprompts_dir = \"{}\"\n[trunks]\noptions_interval_secs = 0\n[dialplan]\ndir = \"{}\"\nfixed_time = \"2026-03-02T10:00:00+01:00\"\n",
        repo.join("prompts").display(),
        repo.join("dialplans").display()
    );
    let mut sb = Switchboard::new(&cfg).expect("prepare");
    sb.admin_ok(&["trunk", "add", "carrier", "--host", &format!("127.0.0.1:{ua_port}")]);
    sb.start().expect("start");
    let work = tempfile::tempdir().unwrap();
    let doc = make_document(work.path(), 1);
    let mut ua = Ua::new(ua_port, sip_addr(&sb), "5551000", "5550100");
    let rtp = free_udp();
    let r = ua.invite(&audio_sdp(rtp));
    assert_eq!(r.status(), Some(200), "{r:?}\n{}", sb.log());
    let ours = media_port(&r.body, "audio").expect("audio answer");
    let peer = FaxPeer::send(&doc).audio().local_port(rtp).remote(format!("127.0.0.1:{ours}")).calling(true).spawn();
    refusing_t38(ua, || peer.wait(T).assert_ok("the calling fax machine"));
    let tif = wait_received(&mut sb);
    pages_identical(&doc, &tif).unwrap_or_else(|e| panic!("pages differ: {e}"));
    let log = sb.log();
    assert!(log.contains("fax calling tone heard"), "{log}");
}
