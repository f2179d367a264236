//! System updates against the real binary. Update files are made here the
//! way firmware-image/make-update.sh makes them: the text header, then
//! `zstd -c` of a stand-in root image. The test machine is not the
//! appliance image (no /usr/lib/switchboard/update-apply), so the appliance
//! runs with `SWITCHBOARD_UPDATE_ALWAYS_STAGE=1` to stage anyway, except in
//! the test of the 503.
//!
//! - API (`/api/v1/system/update`): bad files (wrong first line, no
//!   rootfs-sha256, a payload that is not zstd, a header over 4096 bytes,
//!   an empty body) are 422 with the parser's message and leave nothing in
//!   `<data>/update/`; a declared body over 2 GiB is 413, a wrong
//!   Content-Type 415; no credential 401, agents, supervisors and a `stats`
//!   key 403, a session without its CSRF token 403; a good file with a key
//!   is 202 with its header, staged byte for byte (its payload decompresses
//!   to the image), with the `apply` marker and `staged: version X`; a
//!   second upload is 409 while the marker waits and while the status says
//!   `writing:`, and a session with CSRF stages once the applier failed;
//!   the status JSON shows each step; everything is audited, refusals too.
//! - Console: the settings page's "System update" card (version, slot,
//!   last status, the upload form) and its upload (`/settings/update`,
//!   session and CSRF, 409 when one waits).
//! - Without the variable: 503 "updates apply only on the appliance
//!   image", nothing staged, no upload form.
//! - CLI: `update status`, `update apply` refused off the image,
//!   `update apply --stage-only` staging (and refusing a bad file and a
//!   second one).

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use common::http::{form, request, Resp};
use common::switchboard::{bin, Switchboard};
use serde_json::Value;
use sha2::Digest;

const PW: &str = "a long passphrase";
const APPLIER: &str = "/usr/lib/switchboard/update-apply";
const OCTETS: &str = "application/octet-stream";

/// An update file and what went into it.
struct UpdateFile {
    bytes: Vec<u8>,
    /// Where the zstd stream starts (after the header's empty line).
    payload_at: usize,
    /// The uncompressed "root filesystem".
    image: Vec<u8>,
}

/// A stand-in root image of `len` varied bytes, compressed by the zstd tool.
fn image_and_zstd(len: usize, seed: u32) -> (Vec<u8>, Vec<u8>) {
    let image: Vec<u8> = (0..len as u32).map(|i| (i.wrapping_add(seed).wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("root.img");
    std::fs::write(&path, &image).unwrap();
    let out = Command::new("zstd").args(["-q", "-c"]).arg(&path).output().expect("the zstd command-line tool");
    assert!(out.status.success(), "zstd: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout[..4], [0x28, 0xB5, 0x2F, 0xFD], "a zstd frame");
    (image, out.stdout)
}

fn sha256_hex(data: &[u8]) -> String {
    sha2::Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// A good update file of `version`, as make-update.sh writes one.
fn update_file(version: &str) -> UpdateFile {
    let (image, zst) = image_and_zstd(20_000, version.len() as u32);
    let header = format!("SWITCHBOARD-UPDATE 1\nversion={version}\nrootfs-size={}\nrootfs-sha256={}\ncompression=zstd\n\n", image.len(), sha256_hex(&image));
    let mut bytes = header.clone().into_bytes();
    bytes.extend_from_slice(&zst);
    UpdateFile { bytes, payload_at: header.len(), image }
}

/// Files that must be refused, each with the message it must get.
fn bad_files() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let good = update_file("9.9.9");
    let text = String::from_utf8_lossy(&good.bytes[..good.payload_at]).into_owned();
    let payload = &good.bytes[good.payload_at..];
    let with = |header: String, payload: &[u8]| {
        let mut b = header.into_bytes();
        b.extend_from_slice(payload);
        b
    };
    let sha_line = text.lines().find(|l| l.starts_with("rootfs-sha256=")).unwrap().to_string();
    let gzip = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03not zstd at all";
    vec![
        ("wrong magic line", with(text.replace("SWITCHBOARD-UPDATE 1", "SWITCHBOARD-UPDATE-1"), payload), "not a switchboard update file"),
        ("missing sha", with(text.replace(&format!("{sha_line}\n"), ""), payload), "header has no rootfs-sha256"),
        ("non-zstd payload", with(text.clone(), gzip), "payload is not zstd"),
        ("header over 4096 bytes", with(text.replace("compression=zstd\n", &format!("compression=zstd\nnote={}\n", "x".repeat(4096))), payload), "header longer than 4096 bytes"),
        ("empty", Vec::new(), "not a switchboard update file"),
    ]
}

/// The names in `<data>/update/` (none when it does not exist).
fn update_dir_names(data: &Path) -> Vec<String> {
    let mut n: Vec<String> = std::fs::read_dir(data.join("update")).map(|rd| rd.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect()).unwrap_or_default();
    n.sort();
    n
}

fn json(r: &Resp) -> Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", r.status, r.body))
}

/// The slot the test machine booted from, as the appliance should read it.
fn own_slot() -> Value {
    let cmdline = std::fs::read_to_string("/proc/cmdline").unwrap_or_default();
    cmdline.split_whitespace().filter_map(|w| w.strip_prefix("sb.slot=")).rfind(|s| *s == "A" || *s == "B").map(Value::from).unwrap_or(Value::Null)
}

/// A console login: the cookie and the page's CSRF token.
#[derive(Clone)]
struct Session {
    cookie: String,
    csrf: String,
}

/// A running appliance with admin `root`, supervisor `sam`, agent `ann`,
/// the admin key `prov` and the stats key `wall`.
struct App {
    sb: Switchboard,
    key: String,
    stats_key: String,
    root: Session,
    sam: Session,
    ann: Session,
}

impl App {
    fn start(always_stage: bool) -> App {
        let mut sb = Switchboard::new("").expect("prepare");
        // "0", not unset: the variable may be in the test's own environment.
        sb.set_env("SWITCHBOARD_UPDATE_ALWAYS_STAGE", if always_stage { "1" } else { "0" });
        sb.start().expect("start");
        let out = sb.admin_ok(&["setup-link"]);
        let link = out[out.find("/setup/").expect("setup link")..].trim().to_string();
        let made = request(sb.http_port, "POST", &link, &[("Content-Type", "application/x-www-form-urlencoded")], &form(&[("username", "root"), ("password", PW), ("confirm", PW)]));
        assert_eq!(made.status, 303, "{made:?}");
        for args in [&["user", "add", "sam", "--role", "supervisor"][..], &["user", "add", "ann", "--role", "agent", "--agent", "ann"]] {
            let out = sb.admin_stdin(args, &format!("{PW}\n"));
            assert!(out.status.success(), "{out:?}");
        }
        let key = sb.admin_api_key("prov");
        let out = sb.admin_ok(&["apikey", "add", "wall", "--scope", "stats"]);
        let stats_key = out.split_whitespace().find(|w| w.starts_with("sb_")).expect("key printed").to_string();
        let login = |user: &str, page: &str| {
            let r = request(sb.http_port, "POST", "/login", &[("Content-Type", "application/x-www-form-urlencoded")], &form(&[("username", user), ("password", PW), ("next", "")]));
            assert_eq!(r.status, 303, "login {user}: {r:?}");
            let cookie = format!("sb_session={}", r.set_cookie("sb_session").expect("cookie").0);
            let csrf = request(sb.http_port, "GET", page, &[("Cookie", &cookie)], b"").csrf_token();
            Session { cookie, csrf }
        };
        let (root, sam, ann) = (login("root", "/"), login("sam", "/"), login("ann", "/agent"));
        App { sb, key, stats_key, root, sam, ann }
    }

    fn data(&self) -> PathBuf {
        self.sb.data_dir()
    }

    fn with_key(&self, key: &str, method: &str, path: &str, ctype: &str, body: &[u8]) -> Resp {
        let auth = format!("Bearer {key}");
        request(self.sb.http_port, method, path, &[("Authorization", &auth), ("Content-Type", ctype)], body)
    }

    /// As the console's pages and scripts send it; `csrf`: with the token.
    fn with_session(&self, s: &Session, csrf: bool, method: &str, path: &str, ctype: &str, body: &[u8]) -> Resp {
        let mut h = vec![("Cookie", s.cookie.as_str()), ("Content-Type", ctype)];
        if csrf {
            h.push(("X-CSRF-Token", s.csrf.as_str()));
        }
        request(self.sb.http_port, method, path, &h, body)
    }

    fn status(&self) -> Value {
        let r = self.with_key(&self.key, "GET", "/api/v1/system/update", OCTETS, b"");
        assert_eq!(r.status, 200, "{}", r.body);
        json(&r)
    }

    /// The audit entries whose action starts with `action`, newest first.
    fn audit(&self, action: &str) -> Vec<Value> {
        let r = self.with_key(&self.key, "GET", &format!("/api/v1/audit?action={action}&limit=1000"), OCTETS, b"");
        assert_eq!(r.status, 200, "{}", r.body);
        json(&r)["entries"].as_array().expect("entries").clone()
    }
}

#[test]
fn the_api_and_the_console_stage_an_update_one_at_a_time() {
    let app = App::start(true);
    let data = app.data();
    let upd = update_dir_names;
    let url = "/api/v1/system/update";

    // Before any update.
    let s = app.status();
    assert_eq!(s["running_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(s["last"], Value::Null);
    assert_eq!(s["supported"], Path::new(APPLIER).is_file());
    assert_eq!(s["slot"], own_slot());

    // Bad files: 422 with the parser's message, nothing left behind.
    for (what, bytes, message) in bad_files() {
        let r = app.with_key(&app.key, "POST", url, OCTETS, &bytes);
        assert_eq!((r.status, json(&r)["error"].as_str().unwrap_or_default()), (422, message), "{what}: {}", r.body);
        assert_eq!(upd(&data), Vec::<String>::new(), "{what}: nothing in <data>/update/");
    }
    let good = update_file("9.8.7");
    let r = app.with_key(&app.key, "POST", url, "application/json", &good.bytes);
    assert_eq!(r.status, 415, "{}", r.body);
    // Declared over 2 GiB: refused before a byte is read.
    let mut s = std::net::TcpStream::connect(("127.0.0.1", app.sb.http_port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(s, "POST {url} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\nContent-Type: {OCTETS}\r\nContent-Length: 3000000000\r\nConnection: close\r\n\r\n", app.key).unwrap();
    let _ = s.write_all(&good.bytes);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let r = common::http::parse_response(&raw);
    assert_eq!(r.status, 413, "{}", r.body);
    assert!(json(&r)["error"].as_str().is_some_and(|e| e.contains("larger than 2 GiB")), "{}", r.body);
    assert_eq!(upd(&data), Vec::<String>::new());

    // Who may: admins only, and a session only with its CSRF token.
    for method in ["GET", "POST"] {
        let r = request(app.sb.http_port, method, url, &[("Content-Type", OCTETS)], &good.bytes);
        assert_eq!(r.status, 401, "{method} with no credential: {}", r.body);
        assert_eq!(app.with_key(&app.stats_key, method, url, OCTETS, &good.bytes).status, 403, "{method} with a stats key");
        for (who, s) in [("sam", &app.sam), ("ann", &app.ann)] {
            let r = app.with_session(s, true, method, url, OCTETS, &good.bytes);
            assert_eq!(r.status, 403, "{method} as {who}: {}", r.body);
        }
    }
    let r = app.with_session(&app.root, false, "POST", url, OCTETS, &good.bytes);
    assert_eq!(r.status, 403, "an admin session without the CSRF token: {}", r.body);
    assert_eq!(upd(&data), Vec::<String>::new(), "none of those staged anything");

    // A good file with the key: staged byte for byte, marker and status.
    let r = app.with_key(&app.key, "POST", url, OCTETS, &good.bytes);
    assert_eq!(r.status, 202, "{}", r.body);
    let v = json(&r);
    assert_eq!((v["version"].as_str(), v["rootfs_size"].as_u64()), (Some("9.8.7"), Some(good.image.len() as u64)), "{v}");
    assert_eq!(v["rootfs_sha256"], sha256_hex(&good.image));
    assert_eq!(v["applies"], Path::new(APPLIER).is_file());
    assert_eq!(upd(&data), ["apply", "pending.update", "status"], "no .part left");
    let staged = std::fs::read(data.join("update/pending.update")).unwrap();
    assert!(staged == good.bytes, "pending.update is the upload, byte for byte ({} vs {} bytes)", staged.len(), good.bytes.len());
    assert_eq!(std::fs::read_to_string(data.join("update/status")).unwrap(), "staged: version 9.8.7\n");
    // What the applier does with it: the payload after the header's empty line decompresses to the image.
    let payload = data.join("update/payload.zst");
    std::fs::write(&payload, &staged[good.payload_at..]).unwrap();
    let out = Command::new("zstd").args(["-d", "-c", "-q"]).arg(&payload).output().unwrap();
    std::fs::remove_file(&payload).unwrap();
    assert!(out.status.success() && out.stdout == good.image, "the payload is the zstd image: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(app.status()["last"], "staged: version 9.8.7");

    // One at a time: the marker waits (a session with CSRF this time).
    let second = update_file("9.8.8");
    let r = app.with_session(&app.root, true, "POST", url, OCTETS, &second.bytes);
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(json(&r)["error"].as_str().is_some_and(|e| e.contains("waiting to be applied")), "{}", r.body);
    assert!(std::fs::read(data.join("update/pending.update")).unwrap() == good.bytes, "the staged file is untouched");
    // The applier took it and is writing the other slot.
    std::fs::remove_file(data.join("update/apply")).unwrap();
    std::fs::write(data.join("update/status"), "writing: version 9.8.7 into slot B\n").unwrap();
    let r = app.with_session(&app.root, true, "POST", url, OCTETS, &second.bytes);
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(json(&r)["error"].as_str().is_some_and(|e| e.contains("writing: version 9.8.7")), "{}", r.body);
    assert_eq!(app.status()["last"], "writing: version 9.8.7 into slot B");
    // It failed (the applier removes the file and says why): the next one is welcome.
    std::fs::remove_file(data.join("update/pending.update")).unwrap();
    std::fs::write(data.join("update/status"), "failed: checksum mismatch after writing slot B: the file is damaged\n").unwrap();
    assert_eq!(app.status()["last"], "failed: checksum mismatch after writing slot B: the file is damaged");
    let r = app.with_session(&app.root, true, "POST", url, OCTETS, &second.bytes);
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(json(&r)["version"], "9.8.8");
    assert!(std::fs::read(data.join("update/pending.update")).unwrap() == second.bytes);
    assert!(data.join("update/apply").is_file());

    // The console's card shows it, with the upload form.
    let page = app.with_session(&app.root, false, "GET", "/settings", OCTETS, b"");
    assert_eq!(page.status, 200);
    for want in ["id=\"system-update\"", &format!("id=\"update-version\">{}<", env!("CARGO_PKG_VERSION")), "id=\"update-last\">staged: version 9.8.8<", "id=\"update-upload\"", "action=\"/settings/update\""] {
        assert!(page.body.contains(want), "settings page lacks {want}: {}", page.body);
    }
    assert_eq!(app.with_session(&app.sam, false, "GET", "/settings", OCTETS, b"").status, 403);
    // The card's upload: 409 while one waits, then staged once it is gone.
    let third = update_file("9.8.9");
    let r = app.with_session(&app.root, true, "POST", "/settings/update", OCTETS, &third.bytes);
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(json(&r)["error"].as_str().is_some_and(|e| e.starts_with("Not staged: an update is already waiting")), "{}", r.body);
    std::fs::remove_file(data.join("update/apply")).unwrap();
    std::fs::remove_file(data.join("update/pending.update")).unwrap();
    std::fs::write(data.join("update/status"), "ok: slot B is active, running switchboard 9.8.8\n").unwrap();
    assert_eq!(app.with_session(&app.root, false, "POST", "/settings/update", OCTETS, &third.bytes).status, 403, "no CSRF token");
    assert_eq!(app.with_session(&app.sam, true, "POST", "/settings/update", OCTETS, &third.bytes).status, 403, "a supervisor");
    let r = app.with_session(&app.root, true, "POST", "/settings/update", OCTETS, &bad_files()[2].1);
    assert_eq!((r.status, json(&r)["error"].as_str()), (422, Some("Not staged: payload is not zstd")), "{}", r.body);
    let r = app.with_session(&app.root, true, "POST", "/settings/update", OCTETS, &third.bytes);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(json(&r)["ok"].as_str().is_some_and(|m| m.starts_with("Version 9.8.9 staged")), "{}", r.body);
    assert!(std::fs::read(data.join("update/pending.update")).unwrap() == third.bytes);
    assert_eq!(std::fs::read_to_string(data.join("update/status")).unwrap(), "staged: version 9.8.9\n");

    // Audited: each staging with its actor, and the refusals.
    let staged: Vec<(String, String)> = app.audit("system.update").iter().filter(|e| e["action"] == "system.update").map(|e| (e["actor"].as_str().unwrap().to_string(), e["target"].as_str().unwrap().to_string())).collect();
    assert_eq!(staged, [("root".to_string(), "9.8.9".to_string()), ("root".into(), "9.8.8".into()), ("apikey:prov".into(), "9.8.7".into())]);
    let refused = app.audit("system.update_refused");
    let details: Vec<&str> = refused.iter().map(|e| e["detail"].as_str().unwrap()).collect();
    for (_, _, message) in bad_files() {
        assert!(details.contains(&message), "{message} audited: {details:?}");
    }
    assert!(details.iter().any(|d| d.contains("writing: version 9.8.7")) && details.iter().any(|d| d.contains("larger than 2 GiB")), "{details:?}");
}

#[test]
fn off_the_appliance_image_uploads_are_refused_with_503() {
    if Path::new(APPLIER).is_file() {
        eprintln!("skipped: this machine is the appliance image ({APPLIER} exists)");
        return;
    }
    let app = App::start(false);
    let good = update_file("9.8.7");
    let r = app.with_key(&app.key, "POST", "/api/v1/system/update", OCTETS, &good.bytes);
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(json(&r)["error"].as_str().is_some_and(|e| e.starts_with("updates apply only on the appliance image")), "{}", r.body);
    let r = app.with_session(&app.root, true, "POST", "/settings/update", OCTETS, &good.bytes);
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(update_dir_names(&app.data()), Vec::<String>::new());
    assert!(!app.data().join("update").exists());
    let s = app.status();
    assert_eq!((s["supported"].as_bool(), s["last"].is_null()), (Some(false), true), "{s}");
    let page = app.with_session(&app.root, false, "GET", "/settings", OCTETS, b"");
    assert!(page.body.contains("id=\"update-unsupported\"") && !page.body.contains("id=\"update-upload\""), "{}", page.body);
    assert_eq!(app.audit("system.update_refused").len(), 2, "both refusals audited");
}

/// `switchboard --data DIR ARGS`.
fn cli(data: &Path, args: &[&str]) -> Output {
    Command::new(bin()).arg("--data").arg(data).args(args).env("SWITCHBOARD_UPDATE_ALWAYS_STAGE", "0").output().expect("run switchboard")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn the_cli_stages_with_stage_only_and_shows_the_status() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("var");
    let good = update_file("9.8.7");
    let file = dir.path().join("switchboard-9.8.7.update");
    std::fs::write(&file, &good.bytes).unwrap();
    let file = file.to_str().unwrap();

    let out = cli(&data, &["update", "status"]);
    assert!(out.status.success(), "{}", text(&out));
    let status = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(status.contains(&format!("version   {}\n", env!("CARGO_PKG_VERSION"))) && status.contains("last      none\n"), "{status}");

    if !Path::new(APPLIER).is_file() {
        let out = cli(&data, &["update", "apply", file]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(text(&out).contains("updates apply only on the appliance image"), "{}", text(&out));
        assert_eq!(update_dir_names(&data), Vec::<String>::new());
    }
    for (what, bytes, message) in bad_files() {
        let bad = dir.path().join("bad.update");
        std::fs::write(&bad, &bytes).unwrap();
        let out = cli(&data, &["update", "apply", "--stage-only", bad.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{what}: {}", text(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains(message), "{what}: {}", text(&out));
        assert_eq!(update_dir_names(&data), Vec::<String>::new(), "{what}");
    }

    let out = cli(&data, &["update", "apply", "--stage-only", file]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("version 9.8.7 staged"), "{}", text(&out));
    assert!(std::fs::read(data.join("update/pending.update")).unwrap() == good.bytes);
    assert!(data.join("update/apply").is_file());
    let out = cli(&data, &["update", "status"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("last      staged: version 9.8.7\n"), "{}", text(&out));

    let out = cli(&data, &["update", "apply", "--stage-only", file]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("already waiting to be applied"), "{}", text(&out));
    assert_eq!(update_dir_names(&data), ["apply", "pending.update", "status"]);
}

/// The card's script in a real browser (settings.js, shared with the
/// restore upload): nothing is sent when the admin does not confirm, the
/// parser's objection shows at the file field, a good file is staged and
/// the page comes back with the result and the new status; the restore
/// upload on the backup page still shows its refusal at its field.
#[test]
fn the_browser_uploads_an_update_from_the_settings_page() {
    use common::browser::Browser;
    let t = Duration::from_secs(15);
    let app = App::start(true);
    let dir = app.sb.dir().to_path_buf();
    let (good, bad, junk) = (dir.join("switchboard-9.8.7.update"), dir.join("bad.update"), dir.join("junk.tar.gz"));
    std::fs::write(&good, update_file("9.8.7").bytes).unwrap();
    std::fs::write(&bad, &bad_files()[2].1).unwrap();
    std::fs::write(&junk, b"not an archive").unwrap();
    let b = Browser::start().expect("browser");
    let base = format!("http://127.0.0.1:{}", app.sb.http_port);
    b.goto(&format!("{base}/login")).unwrap();
    b.fill("#username", "root").unwrap();
    b.fill("#password", PW).unwrap();
    b.click("#login").unwrap();
    b.wait_text("h1", "Dashboard", t).expect("logged in");
    b.goto(&format!("{base}/settings")).unwrap();
    b.wait_text("#update-last", "none yet", t).expect("the card");

    b.exec("window.confirm = function () { return false; };").unwrap();
    b.find("#update-file").unwrap().fill(&good.display().to_string()).unwrap();
    b.click("#upload-update").unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(update_dir_names(&app.data()), Vec::<String>::new(), "not confirmed: nothing sent");

    b.exec("window.confirm = function () { return true; };").unwrap();
    b.find("#update-file").unwrap().fill(&bad.display().to_string()).unwrap();
    b.click("#upload-update").unwrap();
    b.wait_text("#update-file-error", "Not staged: payload is not zstd", t).expect("the refusal at the field");
    b.exec("document.getElementById('system-update').scrollIntoView();").unwrap();
    b.screenshot("01-refused").unwrap();
    b.find("#update-file").unwrap().fill(&good.display().to_string()).unwrap();
    b.click("#upload-update").unwrap();
    b.wait_url("/settings?ok=", t).expect("back on the settings page");
    b.wait_text(".flash", "Version 9.8.7 staged", t).expect("the result");
    assert_eq!(b.text("#update-last").unwrap(), "staged: version 9.8.7");
    b.exec("document.getElementById('system-update').scrollIntoView();").unwrap();
    b.screenshot("02-staged").unwrap();
    assert!(std::fs::read(app.data().join("update/pending.update")).unwrap() == update_file("9.8.7").bytes);

    b.goto(&format!("{base}/backup")).unwrap();
    b.find("#file").unwrap().fill(&junk.display().to_string()).unwrap();
    b.click("#upload-restore").unwrap();
    b.wait_text("#file-error", "Not restored", t).expect("the restore's refusal at its field");
}
