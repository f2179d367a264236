//! The fax inbox and sending, console and REST API, against the real
//! binary over HTTP: who sees what (admins and supervisors every fax,
//! agents only the jobs they queued, nobody without a login or key), the
//! list's filters (hostile text included) and its live fragment, the
//! detail page with the PDF framed by this origin only, PDF and TIFF
//! downloads with byte ranges and nothing outside the data directory,
//! sending PNG and PDF documents (202, the job recorded, its failure
//! reason from the dial), the refusals (415 for what is no TIFF/PDF/PNG,
//! 422 naming the field), cancelling (200 then 409), CSRF on the console's
//! upload, and the audit log. Received faxes are written through the
//! library's store, as the fax receiver writes them; jobs go to numbers
//! nothing answers (no trunk: failed at once; an unregistered extension:
//! waits for a retry).

mod common;

use std::time::{Duration, Instant};

use common::http::{form, request, Resp};
use common::switchboard::Switchboard;
use serde_json::Value;
use switchboard::store::{FaxSessionResult, NewIncomingFax, Store};

const PW: &str = "a long passphrase";

fn cookie_header(cookie: &str) -> String {
    format!("sb_session={cookie}")
}

fn get(sb: &Switchboard, path: &str, cookie: &str, extra: &[(&str, &str)]) -> Resp {
    let c = cookie_header(cookie);
    let mut h = vec![("Cookie", c.as_str())];
    h.extend_from_slice(extra);
    request(sb.http_port, "GET", path, &h, b"")
}

fn api(sb: &Switchboard, method: &str, path: &str, key: &str, extra: &[(&str, &str)], body: &[u8]) -> Resp {
    let auth = format!("Bearer {key}");
    let mut h = vec![("Authorization", auth.as_str())];
    h.extend_from_slice(extra);
    request(sb.http_port, method, path, &h, body)
}

fn json(r: &Resp) -> Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("not JSON ({e}): {r:?}"))
}

fn login(sb: &Switchboard, user: &str) -> String {
    let r = request(
        sb.http_port,
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &form(&[("username", user), ("password", PW), ("next", "")]),
    );
    assert_eq!(r.status, 303, "login {user}: {r:?}");
    r.set_cookie("sb_session").expect("session cookie").0
}

/// An appliance with admin `root`, supervisor `sam`, agents `ann` and
/// `al`; their cookies in that order, and an admin key.
fn appliance() -> (Switchboard, [String; 4], String) {
    let sb = Switchboard::start_with("[site]\ntimezone = \"Europe/Berlin\"\n").expect("start");
    let out = sb.admin_ok(&["setup-link"]);
    let link = out[out.find("/setup/").expect("setup link")..].trim().to_string();
    let made = request(
        sb.http_port,
        "POST",
        &link,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &form(&[("username", "root"), ("password", PW), ("confirm", PW)]),
    );
    assert_eq!(made.status, 303, "{made:?}");
    for args in [&["user", "add", "sam", "--role", "supervisor"][..], &["user", "add", "ann", "--role", "agent", "--agent", "ann"], &["user", "add", "al", "--role", "agent", "--agent", "al"]] {
        let out = sb.admin_stdin(args, &format!("{PW}\n"));
        assert!(out.status.success(), "{out:?}");
    }
    let cookies = [login(&sb, "root"), login(&sb, "sam"), login(&sb, "ann"), login(&sb, "al")];
    let key = sb.key().to_string();
    (sb, cookies, key)
}

fn vector_tiff() -> Vec<u8> {
    std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/fax/two-pages.tif")).unwrap()
}

/// A 200 x 100 grayscale PNG: a black bar on white.
fn png() -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, 200, 100);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().unwrap();
        let data: Vec<u8> = (0..100u32).flat_map(|y| (0..200u32).map(move |x| if (40..60).contains(&y) && x > 20 { 0 } else { 255 })).collect();
        w.write_image_data(&data).unwrap();
    }
    out
}

/// A one-page A4 PDF with a filled rectangle, xref offsets correct.
fn pdf() -> Vec<u8> {
    let content = "0 0 0 rg 72 600 400 100 re f";
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>".to_string(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes());
    out
}

/// Polls fax `id` through the API until `done` holds (10 s at most).
fn wait_for(sb: &Switchboard, key: &str, id: i64, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = api(sb, "GET", &format!("/api/v1/faxes/{id}"), key, &[], b"");
        assert_eq!(r.status, 200, "{r:?}");
        let v = json(&r);
        if done(&v) {
            return v;
        }
        assert!(Instant::now() < deadline, "fax {id} never got there: {v}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `<tr data-fax="…">` ids of a page or fragment.
fn fax_rows(body: &str) -> Vec<i64> {
    body.split("data-fax=\"").skip(1).map(|s| s[..s.find('"').unwrap()].parse().unwrap()).collect()
}

#[test]
fn inbox_roles_detail_files_and_filters() {
    let (sb, [admin, sup, ann, _al], key) = appliance();
    let data = sb.data_dir();
    std::fs::create_dir_all(data.join("fax/in")).unwrap();
    let tiff = vector_tiff();
    let pdf_bytes = switchboard::fax::pdf::tiff_to_pdf(&tiff).unwrap();
    std::fs::write(data.join("fax/in/a.tif"), &tiff).unwrap();
    std::fs::write(data.join("fax/in/a.pdf"), &pdf_bytes).unwrap();
    std::fs::write(sb.dir().join("secret.pdf"), b"%PDF-TOPSECRET").unwrap();

    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = rt.block_on(Store::open(&data)).unwrap();
    let receive = |number: &str, tiff: &str, result: FaxSessionResult, pdf: Option<&str>| {
        let id = rt
            .block_on(store.create_incoming_fax(&NewIncomingFax {
                call_id: format!("call-{number}"),
                remote_number: number.into(),
                local_number: "5550100".into(),
                local_ident: "switchboard".into(),
                email: String::new(),
                tiff_path: tiff.into(),
            }))
            .unwrap();
        rt.block_on(store.finish_incoming_fax(id, &result, pdf)).unwrap();
        id
    };
    let ok = FaxSessionResult { success: true, remote_ident: "<script>alert(1)</script>".into(), pages: 2, bit_rate: 14400, ecm: true, transport: "t38", resolution: "204x98".into(), t30_code: 0, t30_reason: "OK".into() };
    let good = receive("+4930111", "fax/in/a.tif", ok.clone(), Some("fax/in/a.pdf"));
    let lost = FaxSessionResult { t30_code: 49, t30_reason: "The call dropped prematurely".into(), transport: "g711", ..Default::default() };
    let failed = receive("5552000", "fax/in/b.tif", lost, None);
    let escape = receive("5553000", "fax/in/c.tif", ok.clone(), Some("../secret.pdf"));

    // Who: everyone with a login opens the page; agents see only their own jobs.
    let anon = request(sb.http_port, "GET", "/fax", &[], b"");
    assert_eq!((anon.status, anon.header("location")), (303, Some("/login?next=/fax")));
    assert_eq!(request(sb.http_port, "GET", "/api/v1/faxes", &[], b"").status, 401);
    let page = get(&sb, "/fax", &admin, &[]);
    assert_eq!(page.status, 200, "{page:?}");
    assert!(page.body.contains("href=\"/fax\">Fax<") && page.body.contains("id=\"fax-send\""), "nav and send form");
    assert_eq!(fax_rows(&page.body), [escape, failed, good], "newest first");
    assert!(page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !page.body.contains("<script>alert(1)"), "escaped");
    assert!(page.body.contains("Time (Europe/Berlin)") && page.body.contains("The call dropped prematurely"), "site time zone, failure reason");
    assert!(page.body.contains("hx-get=\"/fax/rows?") && page.body.contains("hx-trigger=\"every 5s\""), "live refresh");
    assert_eq!(fax_rows(&get(&sb, "/fax", &sup, &[]).body), [escape, failed, good], "supervisors see every fax");
    let agent_page = get(&sb, "/fax", &ann, &[]);
    assert_eq!(agent_page.status, 200);
    assert!(fax_rows(&agent_page.body).is_empty() && agent_page.body.contains("id=\"fax-send\"") && agent_page.body.contains(">My faxes<"), "{}", agent_page.body);
    assert!(agent_page.body.contains("href=\"/fax\">Fax<") && !agent_page.body.contains(">Voicemail<"), "agent navigation");

    // The live fragment shows a fax that arrived after the page was loaded.
    let late = receive("5554000", "fax/in/a.tif", ok.clone(), Some("fax/in/a.pdf"));
    let frag = get(&sb, "/fax/rows?sort=time&dir=desc", &admin, &[("HX-Request", "true")]);
    assert_eq!(frag.status, 200);
    assert!(!frag.body.contains("<html") && fax_rows(&frag.body)[0] == late, "{}", frag.body);
    let ended = request(sb.http_port, "GET", "/fax/rows", &[("HX-Request", "true")], b"");
    assert_eq!((ended.status, ended.header("hx-redirect")), (401, Some("/login")));

    // Filters and sorting; hostile text is data.
    let by_pages = get(&sb, "/fax?sort=pages&dir=asc", &admin, &[]);
    assert_eq!(fax_rows(&by_pages.body)[0], failed, "0 pages first");
    assert_eq!(fax_rows(&get(&sb, "/fax?q=2000", &admin, &[]).body), [failed]);
    for hostile in ["%27%20OR%201%3D1%20--", "%25", "x%22%3E%3Cscript%3E"] {
        let r = get(&sb, &format!("/fax?q={hostile}"), &admin, &[]);
        assert!(fax_rows(&r.body).is_empty() && !r.body.contains("\"><script>"), "{hostile}");
        let r = api(&sb, "GET", &format!("/api/v1/faxes?q={hostile}"), &key, &[], b"");
        assert_eq!((r.status, json(&r)["faxes"].as_array().map(Vec::len)), (200, Some(0)), "{hostile}");
    }
    let bad = get(&sb, "/fax?status=lost&direction=up", &admin, &[]);
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("id=\"status-error\"") && bad.body.contains("id=\"direction-error\""), "errors at their fields");
    let r = api(&sb, "GET", "/api/v1/faxes?status=lost", &key, &[], b"");
    assert_eq!((r.status, json(&r)["field"].as_str()), (422, Some("status")));
    let r = api(&sb, "GET", "/api/v1/faxes?direction=in&status=received&limit=2", &key, &[], b"");
    let listed: Vec<i64> = json(&r)["faxes"].as_array().unwrap().iter().map(|f| f["id"].as_i64().unwrap()).collect();
    assert_eq!(listed, [late, escape]);

    // The record, with its T.30 outcome.
    let v = json(&api(&sb, "GET", &format!("/api/v1/faxes/{good}"), &key, &[], b""));
    assert_eq!((v["status"].as_str(), v["pages"].as_i64(), v["bit_rate"].as_i64(), v["ecm"].as_bool(), v["transport"].as_str()), (Some("received"), Some(2), Some(14400), Some(true), Some("t38")));
    assert_eq!((v["pdf"].as_str(), v["tiff"].as_str()), (Some(format!("/api/v1/faxes/{good}/pdf").as_str()), Some(format!("/api/v1/faxes/{good}/tiff").as_str())));
    let v = json(&api(&sb, "GET", &format!("/api/v1/faxes/{failed}"), &key, &[], b""));
    assert_eq!((v["status"].as_str(), v["t30_code"].as_i64(), v["t30_reason"].as_str(), v["pdf"].as_str()), (Some("failed"), Some(49), Some("The call dropped prematurely"), None));
    assert_eq!(api(&sb, "GET", "/api/v1/faxes/99999", &key, &[], b"").status, 404);
    assert_eq!(api(&sb, "GET", "/api/v1/faxes/abc", &key, &[], b"").status, 404);

    // Detail pages: fields, the reason of a failure, the framed PDF.
    let d = get(&sb, &format!("/fax/{good}"), &sup, &[]);
    assert_eq!(d.status, 200, "{d:?}");
    assert!(d.body.contains(&format!("<iframe class=\"fax-pdf\" id=\"fax-pdf\" src=\"/fax/{good}/pdf\"")), "{}", d.body);
    assert!(d.body.contains("14400 bit/s") && d.body.contains("+4930111") && d.body.contains("&lt;script&gt;"), "fields");
    assert_eq!(d.header("x-frame-options"), Some("DENY"), "the page itself is never framed");
    let d = get(&sb, &format!("/fax/{failed}"), &admin, &[]);
    assert!(d.body.contains("id=\"t30-reason\"") && d.body.contains("The call dropped prematurely (T.30 code 49)") && !d.body.contains("<iframe"), "{}", d.body);
    assert_eq!(get(&sb, &format!("/fax/{good}"), &ann, &[]).header("location"), Some("/fax?err=That%20fax%20does%20not%20exist."), "not an agent's");
    assert_eq!(get(&sb, "/fax/x'1", &admin, &[]).status, 303);

    // Files: inline PDF framable by this origin only, downloads, ranges, confinement.
    let p = get(&sb, &format!("/fax/{good}/pdf"), &admin, &[]);
    assert_eq!((p.status, p.header("content-type")), (200, Some("application/pdf")));
    assert!(p.body.starts_with("%PDF-") && p.header("content-length") == Some(pdf_bytes.len().to_string().as_str()), "{:?}", p.headers);
    assert_eq!(p.header("x-frame-options"), Some("SAMEORIGIN"));
    assert!(p.header("content-security-policy").is_some_and(|c| c.contains("frame-ancestors 'self'")), "{p:?}");
    assert_eq!(p.header("content-disposition"), Some(format!("inline; filename=\"fax-{good}.pdf\"").as_str()));
    let dl = get(&sb, &format!("/fax/{good}/pdf?download=1"), &admin, &[]);
    assert_eq!((dl.header("content-disposition"), dl.header("x-frame-options")), (Some(format!("attachment; filename=\"fax-{good}.pdf\"").as_str()), Some("DENY")));
    let part = get(&sb, &format!("/fax/{good}/pdf"), &sup, &[("Range", "bytes=0-7")]);
    assert_eq!((part.status, part.body.as_bytes()), (206, &pdf_bytes[..8]));
    assert_eq!(part.header("content-range"), Some(format!("bytes 0-7/{}", pdf_bytes.len()).as_str()));
    let t = api(&sb, "GET", &format!("/api/v1/faxes/{good}/tiff"), &key, &[("Range", "bytes=-4")], b"");
    assert_eq!((t.status, t.header("content-type")), (206, Some("image/tiff")));
    assert_eq!(t.header("content-range"), Some(format!("bytes {}-{}/{}", tiff.len() - 4, tiff.len() - 1, tiff.len()).as_str()));
    let t = api(&sb, "GET", &format!("/api/v1/faxes/{good}/pdf"), &key, &[], b"");
    assert_eq!((t.status, t.header("content-disposition")), (200, Some(format!("attachment; filename=\"fax-{good}.pdf\"").as_str())));
    assert_eq!(api(&sb, "GET", &format!("/api/v1/faxes/{good}/pdf"), &key, &[("Range", "bytes=999999-")], b"").status, 416);
    for path in [format!("/fax/{escape}/pdf"), format!("/fax/{failed}/pdf"), format!("/fax/{failed}/tiff")] {
        let r = get(&sb, &path, &admin, &[]);
        assert!(r.status == 404 && !r.body.contains("TOPSECRET"), "{path}: {r:?}");
    }
    let r = api(&sb, "GET", &format!("/api/v1/faxes/{escape}/pdf"), &key, &[], b"");
    assert_eq!((r.status, r.header("content-type")), (404, Some("application/json")));
    assert!(!r.body.contains("TOPSECRET"));
    assert_eq!(get(&sb, &format!("/fax/{good}/pdf"), &ann, &[]).status, 404, "not an agent's");
    assert_eq!(request(sb.http_port, "GET", &format!("/fax/{good}/tiff"), &[], b"").status, 303);
}

#[test]
fn sending_cancelling_and_who_sees_which_job() {
    let (sb, [_admin, sup, ann, al], key) = appliance();
    sb.add_extension("2001", "s3cret-2001");
    let post = |query: &str, ctype: &str, body: &[u8]| api(&sb, "POST", &format!("/api/v1/faxes{query}"), &key, &[("Content-Type", ctype)], body);

    // Refusals, each before anything is queued.
    assert_eq!(request(sb.http_port, "POST", "/api/v1/faxes?to=2001", &[("Content-Type", "image/png")], &png()).status, 401);
    let r = post("?to=call%20me", "image/png", &png());
    assert_eq!((r.status, json(&r)["field"].as_str()), (422, Some("to")), "{r:?}");
    let r = post("", "image/png", &png());
    assert_eq!((r.status, json(&r)["field"].as_str()), (422, Some("to")));
    // International and premium numbers are not in the default [fax] destinations.
    for refused in ["%2B441234567890", "0114412345678", "19005551234"] {
        let r = post(&format!("?to={refused}"), "image/png", &png());
        assert_eq!((r.status, json(&r)["field"].as_str()), (422, Some("to")), "{refused}: {r:?}");
        assert!(json(&r)["error"].as_str().unwrap_or("").contains("destinations"), "{r:?}");
    }
    let r = post(&format!("?to=2001&header={}", "h".repeat(51)), "image/png", &png());
    assert_eq!((r.status, json(&r)["field"].as_str()), (422, Some("header")));
    assert_eq!(post("?to=2001", "image/gif", b"GIF89a....").status, 415, "declared type");
    let r = post("?to=2001", "application/pdf", b"GIF89a, not what it says");
    assert_eq!(r.status, 415, "sniffed, not trusted: {r:?}");
    let r = post("?to=2001", "application/pdf", b"");
    assert_eq!((r.status, json(&r)["field"].as_str()), (422, Some("document")));
    let r = post("?to=2001", "image/png", b"\x89PNG\r\n\x1a\nnot really");
    assert_eq!((r.status, json(&r)["field"].as_str()), (422, Some("document")), "{r:?}");
    assert!(json(&api(&sb, "GET", "/api/v1/faxes", &key, &[], b""))["faxes"].as_array().unwrap().is_empty(), "nothing queued");

    // A PNG to a number no trunk reaches: queued, then failed with the dial's reason.
    let r = post("?to=%2B1%20555%20210-0199&name=plan.png", "image/png", &png());
    assert_eq!(r.status, 202, "{r:?}");
    let job = json(&r);
    let png_job = job["id"].as_i64().unwrap();
    assert!(["queued", "sending", "failed"].contains(&job["status"].as_str().unwrap()), "{job}");
    assert_eq!((job["direction"].as_str(), job["remote_number"].as_str(), job["document"].as_str()), (Some("out"), Some("+15552100199"), Some("plan.png")));
    assert!(job["requested_by"].as_str().unwrap().starts_with("api:"), "{job}");
    let done = wait_for(&sb, &key, png_job, |v| v["status"] == "failed");
    assert!(done["t30_reason"].as_str().unwrap().contains("404"), "no trunk: {done}");
    let p = api(&sb, "GET", &format!("/api/v1/faxes/{png_job}/pdf"), &key, &[], b"");
    assert!(p.status == 200 && p.body.starts_with("%PDF-"), "the PNG's pages as PDF");
    let t = api(&sb, "GET", &format!("/api/v1/faxes/{png_job}/tiff"), &key, &[], b"");
    assert!(t.status == 200 && t.body.starts_with("II*\0"), "the TIFF sent");
    let r = api(&sb, "DELETE", &format!("/api/v1/faxes/{png_job}"), &key, &[], b"");
    assert_eq!(r.status, 409, "a failed job is final: {r:?}");

    // A PDF (ghostscript) to an extension with no phone: waits for a retry; cancelled once.
    let r = post("?to=2001&header=Acme%20Corp&name=offer.pdf", "application/pdf", &pdf());
    assert_eq!(r.status, 202, "{r:?}");
    let pdf_job = json(&r)["id"].as_i64().unwrap();
    let retry = wait_for(&sb, &key, pdf_job, |v| v["status"] == "retry");
    assert!(retry["t30_reason"].as_str().unwrap().contains("480") && retry["attempts"] == 1, "{retry}");
    assert!(retry["next_attempt_at"].as_i64().is_some() && retry["header"] == "Acme Corp", "{retry}");
    let p = api(&sb, "GET", &format!("/api/v1/faxes/{pdf_job}/pdf"), &key, &[], b"");
    assert_eq!(p.body.as_bytes(), &pdf()[..], "the uploaded PDF is its view");
    let r = api(&sb, "DELETE", &format!("/api/v1/faxes/{pdf_job}"), &key, &[], b"");
    assert_eq!((r.status, json(&r)["status"].as_str()), (200, Some("cancelled")), "{r:?}");
    let r = api(&sb, "DELETE", &format!("/api/v1/faxes/{pdf_job}"), &key, &[], b"");
    assert_eq!((r.status, r.header("content-type")), (409, Some("application/json")));
    assert_eq!(api(&sb, "DELETE", "/api/v1/faxes/99999", &key, &[], b"").status, 404);

    // The console's upload: raw body with the CSRF header; the agent's job is theirs.
    let page = get(&sb, "/fax", &ann, &[]);
    let csrf = page.csrf_token();
    let c = cookie_header(&ann);
    let upload = |query: &str, token: Option<&str>, body: &[u8]| {
        let mut h = vec![("Cookie", c.as_str()), ("Content-Type", "image/png")];
        if let Some(t) = token {
            h.push(("X-CSRF-Token", t));
        }
        request(sb.http_port, "POST", &format!("/fax/send{query}"), &h, body)
    };
    assert_eq!(upload("?to=2001&name=x.png", None, &png()).status, 403, "CSRF");
    let r = upload("?to=12ab&header=%01&name=x.png", Some(&csrf), &png());
    let v = json(&r);
    let fields: Vec<&str> = v["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!((r.status, fields), (422, vec!["to", "header"]), "every field at fault");
    let r = upload("?to=2001&name=notes.txt", Some(&csrf), b"just text");
    assert_eq!((r.status, json(&r)["field"].as_str()), (415, Some("file")));
    let r = upload("?to=2001&name=ann.png", Some(&csrf), &png());
    assert_eq!(r.status, 202, "{r:?}");
    let v = json(&r);
    let ann_job = v["id"].as_i64().unwrap();
    assert_eq!(v["url"].as_str(), Some(format!("/fax/{ann_job}").as_str()));
    let mine = wait_for(&sb, &key, ann_job, |v| v["status"] == "retry");
    assert_eq!(mine["requested_by"].as_str(), Some("user:ann"));

    // Agents see and cancel only their own jobs, in the console and the API.
    assert_eq!(fax_rows(&get(&sb, "/fax", &ann, &[]).body), [ann_job]);
    assert_eq!(fax_rows(&get(&sb, "/fax/rows", &ann, &[]).body), [ann_job]);
    assert_eq!(fax_rows(&get(&sb, "/fax", &sup, &[]).body), [ann_job, pdf_job, png_job], "supervisors see all");
    assert!(fax_rows(&get(&sb, "/fax", &al, &[]).body).is_empty(), "another agent sees none");
    let listed = json(&get(&sb, "/api/v1/faxes", &ann, &[]));
    assert_eq!(listed["faxes"].as_array().unwrap().iter().map(|f| f["id"].as_i64().unwrap()).collect::<Vec<_>>(), [ann_job]);
    assert_eq!(json(&get(&sb, "/api/v1/faxes", &al, &[]))["faxes"].as_array().map(Vec::len), Some(0), "another agent's API list is empty");
    assert_eq!(get(&sb, &format!("/api/v1/faxes/{pdf_job}"), &ann, &[]).status, 404);
    let del = |cookie: &str, token: &str, id: i64| {
        let c = cookie_header(cookie);
        request(sb.http_port, "DELETE", &format!("/api/v1/faxes/{id}"), &[("Cookie", c.as_str()), ("X-CSRF-Token", token)], b"")
    };
    let al_csrf = get(&sb, "/fax", &al, &[]).csrf_token();
    assert_eq!(del(&al, &al_csrf, ann_job).status, 404, "not al's job");
    let d = get(&sb, &format!("/fax/{ann_job}"), &ann, &[]);
    assert!(d.body.contains("id=\"cancel-fax\"") && d.body.contains("SIP 480"), "{}", d.body);
    let c = cookie_header(&ann);
    let r = request(
        sb.http_port,
        "POST",
        &format!("/fax/{ann_job}/cancel"),
        &[("Cookie", c.as_str()), ("Content-Type", "application/x-www-form-urlencoded")],
        &form(&[("_csrf", &csrf)]),
    );
    assert_eq!((r.status, r.header("location")), (303, Some(format!("/fax/{ann_job}?ok=The%20job%20is%20cancelled.").as_str())));
    assert!(get(&sb, &format!("/fax/{ann_job}"), &ann, &[]).body.contains(">cancelled<"));
    let r = request(
        sb.http_port,
        "POST",
        &format!("/fax/{ann_job}/cancel"),
        &[("Cookie", c.as_str()), ("Content-Type", "application/x-www-form-urlencoded")],
        &form(&[("_csrf", &csrf)]),
    );
    assert!(r.header("location").is_some_and(|l| l.contains("?err=")), "already cancelled: {r:?}");

    // A key with just the `fax` scope sends and sees everything; others lack it.
    let out = sb.admin_ok(&["apikey", "add", "faxer", "--scope", "fax"]);
    let faxer = out.split_whitespace().find(|w| w.starts_with("sb_")).unwrap().to_string();
    let r = api(&sb, "POST", "/api/v1/faxes?to=2001", &faxer, &[("Content-Type", "application/octet-stream")], &vector_tiff());
    assert_eq!(r.status, 202, "{r:?}");
    let tiff_job = json(&r);
    assert_eq!((tiff_job["requested_by"].as_str(), tiff_job["document"].as_str()), (Some("api:faxer"), Some("upload.tif")));
    assert!(tiff_job["pdf"].is_string(), "a CCITT TIFF gets a PDF view");
    assert_eq!(json(&api(&sb, "GET", "/api/v1/faxes?direction=out", &faxer, &[], b""))["faxes"].as_array().map(Vec::len), Some(4));
    let out = sb.admin_ok(&["apikey", "add", "stats-only", "--scope", "stats"]);
    let stats = out.split_whitespace().find(|w| w.starts_with("sb_")).unwrap().to_string();
    assert_eq!(api(&sb, "GET", "/api/v1/faxes", &stats, &[], b"").status, 403);

    // Sending and cancelling are audited with who did it.
    let log = json(&api(&sb, "GET", "/api/v1/audit?action=fax.", &key, &[], b""));
    let entries: Vec<(String, String)> = log["entries"].as_array().unwrap().iter().map(|e| (e["actor"].as_str().unwrap().to_string(), e["action"].as_str().unwrap().to_string())).collect();
    for want in [("apikey:test-harness", "fax.send"), ("apikey:test-harness", "fax.cancel"), ("ann", "fax.send"), ("ann", "fax.cancel"), ("apikey:faxer", "fax.send")] {
        assert!(entries.iter().any(|(a, b)| a == want.0 && b == want.1), "{want:?} in {entries:?}");
    }
}

/// The page's script in a real browser: a mistake is shown at its field,
/// a PNG is uploaded as the raw body and the new job's page opens with its
/// PDF framed (the frame's document is ours, not a refusal).
#[test]
fn the_browser_sends_a_fax_with_the_form() {
    use common::browser::Browser;
    let t = Duration::from_secs(15);
    let (sb, _, key) = appliance();
    sb.add_extension("2001", "s3cret-2001");
    let file = sb.dir().join("plan.png");
    std::fs::write(&file, png()).unwrap();
    let b = Browser::start().expect("browser");
    let base = format!("http://127.0.0.1:{}", sb.http_port);
    b.goto(&format!("{base}/login")).unwrap();
    b.fill("#username", "ann").unwrap();
    b.fill("#password", PW).unwrap();
    b.click("#login").unwrap();
    b.wait_url("/agent", t).expect("agent panel after login");
    b.goto(&format!("{base}/fax")).unwrap();
    b.fill("#to", "12ab").unwrap();
    b.find("#file").unwrap().fill(&file.display().to_string()).unwrap();
    b.click("#send-fax").unwrap();
    b.wait_text("#to-error", "not a dialable number", t).expect("the number's error at its field");
    b.screenshot("01-error-at-field").unwrap();
    b.fill("#to", "2001").unwrap();
    b.fill("#header", "Acme").unwrap();
    b.click("#send-fax").unwrap();
    let url = b.wait_url("?ok=", t).expect("the job's page");
    let id: i64 = url.rsplit('/').next().and_then(|s| s.split('?').next()).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("{url}"));
    b.wait_for("#fax-pdf", t).expect("the PDF frame");
    b.screenshot("02-job").unwrap();
    let framed = b.exec("var d = document.getElementById('fax-pdf').contentDocument; return d ? d.URL : null;").unwrap();
    assert_eq!(framed.as_str(), Some(format!("{base}/fax/{id}/pdf").as_str()), "the PDF loads in the frame");
    let job = wait_for(&sb, &key, id, |v| v["status"] == "retry");
    assert_eq!((job["requested_by"].as_str(), job["document"].as_str(), job["header"].as_str()), (Some("user:ann"), Some("plan.png"), Some("Acme")));
}
