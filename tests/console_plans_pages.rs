//! The console's dialplan, prompt and trunk pages (the list and one trunk's
//! edit page) against the real binary
//! over HTTP: admin only (403 for a supervisor), changes only with the
//! session's CSRF token, validation errors shown at the field (a dialplan
//! error at its line), the effect seen by the appliance (hot reload), the
//! CLI or the file system, names that cannot leave their folder, and an
//! audit entry for every change.

mod common;

use std::time::{Duration, Instant};

use common::http::{form, request, urlencode, Resp};
use common::switchboard::Switchboard;

const PW: &str = "a long passphrase";

struct Console {
    port: u16,
    cookie: String,
    csrf: String,
}

impl Console {
    fn get(&self, path: &str) -> Resp {
        request(self.port, "GET", path, &[("Cookie", &self.cookie)], b"")
    }

    /// A form POST with the CSRF token in the form, as the pages send it.
    fn post(&self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let mut f = fields.to_vec();
        f.push(("_csrf", &self.csrf));
        self.post_raw(path, &form(&f))
    }

    /// A form POST without a token.
    fn post_raw(&self, path: &str, body: &[u8]) -> Resp {
        request(self.port, "POST", path, &[("Cookie", &self.cookie), ("Content-Type", "application/x-www-form-urlencoded")], body)
    }

    /// The upload as `prompts.js` sends it: the file as the body, the token in a header.
    fn upload(&self, lang: &str, name: &str, file: &str, bytes: &[u8], token: bool) -> Resp {
        let path = format!("/prompts/upload?lang={}&name={}&file={}", urlencode(lang), urlencode(name), urlencode(file));
        let mut h = vec![("Cookie", self.cookie.as_str()), ("Content-Type", "application/octet-stream")];
        if token {
            h.push(("X-CSRF-Token", &self.csrf));
        }
        request(self.port, "POST", &path, &h, bytes)
    }

    fn audit(&self) -> String {
        self.get("/audit").body
    }
}

fn login(sb: &Switchboard, user: &str) -> Console {
    let r = request(
        sb.http_port,
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &form(&[("username", user), ("password", PW), ("next", "")]),
    );
    assert_eq!(r.status, 303, "login {user}: {r:?}");
    let cookie = format!("sb_session={}", r.set_cookie("sb_session").expect("cookie").0);
    let page = request(sb.http_port, "GET", "/", &[("Cookie", &cookie)], b"");
    Console { port: sb.http_port, csrf: page.csrf_token(), cookie }
}

/// An appliance with an admin `root` and a supervisor `sam`; prompts in a folder of the test's own.
fn appliance(extra: &str) -> (Switchboard, tempfile::TempDir) {
    let prompts = tempfile::tempdir().expect("prompts dir");
    let sb = Switchboard::start_with(&format!("[media]\nprompts_dir = \"{}\"\nlanguage = \"en\"\n{extra}", prompts.path().display())).expect("start");
    let out = sb.admin_ok(&["setup-link"]);
    let link = out[out.find("/setup/").expect("link")..].trim().to_string();
    let r = request(sb.http_port, "POST", &link, &[("Content-Type", "application/x-www-form-urlencoded")], &form(&[("username", "root"), ("password", PW), ("confirm", PW)]));
    assert_eq!(r.status, 303, "{r:?}");
    assert!(sb.admin_stdin(&["user", "add", "sam", "--role", "supervisor"], &format!("{PW}\n")).status.success());
    (sb, prompts)
}

/// Admin pages: 200 for the admin, in the navigation in the order; 403 for a supervisor.
fn admin_only(admin: &Console, sup: &Console, path: &str) {
    assert_eq!(admin.get(path).status, 200, "{path} for the admin");
    let refused = sup.get(path);
    assert_eq!(refused.status, 403, "{path} for a supervisor");
    assert!(!refused.body.contains(&format!("href=\"{path}\"")), "{path} is not in a supervisor's navigation");
}

const MAIN: &str = "[[entry]]\nmatch = { did = \"100\" }\ncontext = \"main\"\n\n[context.main]\nsteps = [\n  { app = \"answer\" },\n  { app = \"menu\", prompt = [\"main-menu\"], choices = { \"1\" = \"sales\" }, fallback = \"bye\" },\n]\n\n[context.sales]\nsteps = [{ app = \"dial\", targets = [\"1001\"], timeout_s = 20 }]\n\n[context.bye]\nsteps = [{ app = \"hangup\", cause = 16 }]\n";

#[test]
fn dialplans_are_edited_with_line_errors_hot_reloaded_and_simulated() {
    let (mut sb, _p) = appliance("");
    let (admin, sup) = (login(&sb, "root"), login(&sb, "sam"));
    admin_only(&admin, &sup, "/dialplans");
    let page = admin.get("/dialplans");
    let nav: Vec<usize> = ["\"/extensions\"", "\"/trunks\"", "\"/dialplans\"", "\"/prompts\"", "\"/users\""].iter().map(|h| page.body.find(h).unwrap_or(usize::MAX)).collect();
    assert!(nav.windows(2).all(|w| w[0] < w[1]), "navigation order: {nav:?}");
    assert!(page.body.contains("No dialplan files yet"), "empty state");
    let dir = sb.dialplan_dir();

    // Creating: CSRF checked, plain names only, then the editor.
    assert_eq!(admin.post_raw("/dialplans", &form(&[("name", "main")])).status, 403, "no token");
    let bad = admin.post("/dialplans", &[("name", "../evil")]);
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("id=\"name-error\"") && bad.body.contains("no folders"), "{}", bad.body);
    assert!(!dir.join("../evil.toml").exists() && !dir.join("evil.toml").exists());
    let made = admin.post("/dialplans", &[("name", "main")]);
    assert_eq!((made.status, made.header("location").map(|l| l.split('?').next().unwrap_or(""))), (303, Some("/dialplans/main.toml")), "{made:?}");
    assert!(dir.join("main.toml").is_file());
    assert_eq!(admin.post("/dialplans", &[("name", "main.toml")]).status, 422, "exists already");
    let editor = admin.get("/dialplans/main.toml");
    assert_eq!(editor.status, 200);
    assert!(editor.body.contains("<textarea") && editor.body.contains("# Entries route dialled numbers"), "{}", editor.body);
    let base = {
        let at = editor.body.find("name=\"base\" value=\"").expect("base") + 19;
        editor.body[at..at + 24].to_string()
    };

    // An error is shown at its line and nothing is written.
    let broken = MAIN.replace("fallback = \"bye\"", "fallback = \"nowhere\"");
    let r = admin.post("/dialplans/main.toml", &[("text", &broken), ("base", &base)]);
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("line 8, column") && r.body.contains("unknown context &quot;nowhere&quot;"), "{}", r.body);
    assert!(r.body.contains("data-line=\"8\""), "the error names its line for the editor");
    assert!(r.body.contains("fallback = &quot;nowhere&quot;"), "the submitted text is kept");
    assert!(std::fs::read_to_string(dir.join("main.toml")).unwrap().starts_with("# Entries"), "not saved");

    // A valid edit (browser line ends) is saved atomically and hot-reloaded.
    let r = admin.post("/dialplans/main.toml", &[("text", &MAIN.replace('\n', "\r\n")), ("base", &base)]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(std::fs::read_to_string(dir.join("main.toml")).unwrap(), MAIN);
    let leftovers: Vec<String> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).filter(|n| n != "main.toml").collect();
    assert!(leftovers.is_empty(), "no temporary files: {leftovers:?}");
    sb.wait_log("dialplan reloaded entries=1", Duration::from_secs(10)).expect("the running appliance loads the saved plan");
    let stale = admin.post("/dialplans/main.toml", &[("text", "# mine\n"), ("base", &base)]);
    assert_eq!(stale.status, 409, "saved over a newer version");
    assert_eq!(std::fs::read_to_string(dir.join("main.toml")).unwrap(), MAIN);

    // The simulator prints what `dialplan simulate` prints.
    let sim = admin.get("/dialplans/simulate?did=100&caller=555&digits=1");
    assert_eq!(sim.status, 200);
    let cli = sb.admin_ok(&["dialplan", "simulate", "--did", "100", "--caller", "555", "--digits", "1"]);
    let dial = cli.lines().find(|l| l.starts_with("=> dial")).expect("CLI dials");
    assert!(sim.body.contains(&dial.replace('>', "&gt;")) && sim.body.contains("id=\"simulation\""), "{dial} in {}", sim.body);
    assert!(admin.get("/dialplans/simulate?did=100&digits=").body.contains("=&gt; hangup cause 16"), "timeout takes the fallback");
    let bad_time = admin.get("/dialplans/simulate?did=100&at=yesterday");
    assert_eq!(bad_time.status, 422);
    assert!(bad_time.body.contains("id=\"at-error\"") && bad_time.body.contains("bad RFC 3339 time"), "{}", bad_time.body);

    // Names never leave the folder.
    std::fs::write(dir.parent().unwrap().join("secret.toml"), "x = 1\n").unwrap();
    assert_eq!(admin.get("/dialplans/..%2Fsecret.toml").status, 400);
    assert_eq!(admin.get("/dialplans/..%2Fswitchboard.toml").status, 400);
    assert_eq!(admin.post("/dialplans/..%2Fsecret.toml", &[("text", "# gone\n"), ("base", "")]).status, 400);
    assert_eq!(std::fs::read_to_string(dir.parent().unwrap().join("secret.toml")).unwrap(), "x = 1\n");
    assert_eq!(admin.post("/dialplans/..%2Fsecret.toml/delete", &[]).status, 400);
    assert!(dir.parent().unwrap().join("secret.toml").exists());

    // A file another one needs is not deleted; a free one is.
    let extra = "[[entry]]\nmatch = { did = \"200\" }\ncontext = \"sales\"\n";
    assert_eq!(admin.post("/dialplans", &[("name", "extra")]).status, 303);
    let ebase = {
        let e = admin.get("/dialplans/extra.toml");
        let at = e.body.find("name=\"base\" value=\"").expect("base") + 19;
        e.body[at..at + 24].to_string()
    };
    assert_eq!(admin.post("/dialplans/extra.toml", &[("text", extra), ("base", &ebase)]).status, 303);
    sb.wait_log("dialplan reloaded entries=2", Duration::from_secs(10)).expect("two files, two entries");
    let refused = admin.post("/dialplans/main.toml/delete", &[]);
    assert_eq!(refused.status, 303);
    assert!(refused.header("location").is_some_and(|l| l.contains("err=") && l.contains("extra.toml")), "{refused:?}");
    assert!(dir.join("main.toml").exists());
    assert_eq!(admin.post("/dialplans/extra.toml/delete", &[]).status, 303);
    assert!(!dir.join("extra.toml").exists());
    assert!(!admin.get("/dialplans").body.contains("extra.toml"));

    let audit = admin.audit();
    for a in ["dialplan.create", "dialplan.update", "dialplan.delete"] {
        assert!(audit.contains(a), "{a} audited: {audit}");
    }
    assert_eq!(audit.matches("dialplan.delete").count(), 1, "the refused delete is not audited");
}

#[test]
fn prompts_are_uploaded_checked_played_and_deleted() {
    let (sb, prompts) = appliance("");
    let (admin, sup) = (login(&sb, "root"), login(&sb, "sam"));
    admin_only(&admin, &sup, "/prompts");
    assert!(admin.get("/prompts").body.contains("No prompts in this language yet"));

    let wav_path = prompts.path().join("tone-upload.wav");
    common::audio::write_tones(&wav_path, &[440.0], 1.5, 0.5).expect("wav");
    let wav = std::fs::read(&wav_path).unwrap();
    let ogg = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/prompts/en/and.ogg")).unwrap();

    assert_eq!(admin.upload("en", "welcome", "Welcome.wav", &wav, false).status, 403, "no CSRF header");
    let r = admin.upload("en", "welcome", "Welcome.wav", &wav, true);
    assert_eq!(r.status, 200, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    assert!(v["ok"].as_str().is_some_and(|t| t.contains("1.5 s at 8000 Hz")), "{v}");
    assert_eq!(std::fs::read(prompts.path().join("en/welcome.wav")).unwrap(), wav, "stored as uploaded");
    let r = admin.upload("de", "and", "und.ogg", &ogg, true);
    assert_eq!(r.status, 200, "{r:?}");
    assert!(prompts.path().join("de/and.ogg").is_file());

    // Refusals name the field; nothing is kept.
    let refusal = |r: &Resp, status: u16, field: &str| {
        assert_eq!(r.status, status, "{r:?}");
        let v: serde_json::Value = serde_json::from_str(&r.body).expect("json");
        assert_eq!(v["field"], field, "{v}");
        v["error"].as_str().unwrap_or_default().to_string()
    };
    let e = refusal(&admin.upload("en", "noise", "noise.mp3", b"this is not audio at all, just text", true), 422, "file");
    assert!(e.contains("not playable audio"), "{e}");
    refusal(&admin.upload("en", "clip", "clip.m4a", &wav, true), 422, "file");
    refusal(&admin.upload("en", "../../evil", "x.wav", &wav, true), 422, "name");
    refusal(&admin.upload("../..", "evil", "x.wav", &wav, true), 422, "lang");
    let left: Vec<String> = std::fs::read_dir(prompts.path().join("en")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(left, ["welcome.wav"], "refused uploads leave nothing");
    assert!(!prompts.path().join("../evil.wav").exists());
    {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", sb.http_port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let head = format!(
            "POST /prompts/upload?lang=en&name=big&file=big.wav HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nCookie: {}\r\nX-CSRF-Token: {}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            sb.http_port,
            admin.cookie,
            admin.csrf,
            21 * 1024 * 1024
        );
        s.write_all(head.as_bytes()).unwrap();
        let mut resp = String::new();
        let _ = s.read_to_string(&mut resp);
        assert!(resp.starts_with("HTTP/1.1 413"), "{resp}");
    }

    // Listed with a player; the file is served with its type, to admins only.
    let list = admin.get("/prompts?lang=en");
    assert!(list.body.contains("src=\"/prompts/en/welcome.wav\"") && list.body.contains("<audio"), "{}", list.body);
    assert!(list.body.contains("href=\"/prompts?lang=de\""), "languages are tabs");
    let f = admin.get("/prompts/en/welcome.wav");
    assert_eq!((f.status, f.header("content-type")), (200, Some("audio/wav")));
    assert_eq!(f.header("content-length"), Some(wav.len().to_string().as_str()));
    assert_eq!(admin.get("/prompts/de/and.ogg").header("content-type"), Some("audio/ogg"));
    assert_eq!(sup.get("/prompts/en/welcome.wav").status, 403);
    assert_eq!(request(sb.http_port, "GET", "/prompts/en/welcome.wav", &[], b"").status, 303, "no session: to the login");
    std::fs::write(prompts.path().join("secret.wav"), &wav).unwrap();
    assert_eq!(admin.get("/prompts/en/..%2Fsecret.wav").status, 400);
    assert_eq!(admin.get("/prompts/..%2F..%2F/secret.wav").status, 400);
    assert_eq!(admin.get("/prompts/en/nothere.wav").status, 404);

    // Another format replaces the prompt (the new one is what calls play).
    assert_eq!(admin.upload("en", "welcome", "welcome.ogg", &ogg, true).status, 200);
    assert!(prompts.path().join("en/welcome.ogg").is_file() && !prompts.path().join("en/welcome.wav").exists());

    assert_eq!(admin.post_raw("/prompts/en/welcome.ogg/delete", b"").status, 403, "no token");
    let d = admin.post("/prompts/en/welcome.ogg/delete", &[]);
    assert_eq!(d.status, 303, "{d:?}");
    assert!(!prompts.path().join("en/welcome.ogg").exists());
    assert_eq!(admin.post("/prompts/en/..%2Fsecret.wav/delete", &[]).status, 400);
    assert!(prompts.path().join("secret.wav").exists());

    let audit = admin.audit();
    assert!(audit.contains("prompt.upload") && audit.contains("en/welcome.wav") && audit.contains("prompt.delete"), "{audit}");
    assert_eq!(audit.matches("prompt.upload").count(), 3, "refused uploads are not audited");
}

/// A carrier that answers every request with 200 OK (OPTIONS, REGISTER).
fn fake_carrier() -> (u16, std::thread::JoinHandle<()>) {
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let port = sock.local_addr().unwrap().port();
    let h = std::thread::spawn(move || {
        let start = Instant::now();
        let mut buf = [0u8; 4096];
        while start.elapsed() < Duration::from_secs(25) {
            let Ok((n, from)) = sock.recv_from(&mut buf) else { continue };
            let req = String::from_utf8_lossy(&buf[..n]).into_owned();
            let keep: Vec<&str> = req
                .lines()
                .filter(|l| ["via:", "from:", "to:", "call-id:", "cseq:", "contact:"].iter().any(|p| l.to_ascii_lowercase().starts_with(p)))
                .collect();
            let resp = format!("SIP/2.0 200 OK\r\n{}\r\nExpires: 60\r\nContent-Length: 0\r\n\r\n", keep.join("\r\n"));
            let _ = sock.send_to(resp.as_bytes(), from);
        }
    });
    (port, h)
}

#[test]
fn trunks_share_the_cli_checks_and_show_their_state() {
    let (sb, _p) = appliance("[trunks]\noptions_interval_secs = 1\n");
    let (admin, sup) = (login(&sb, "root"), login(&sb, "sam"));
    admin_only(&admin, &sup, "/trunks");
    assert!(admin.get("/trunks").body.contains("No trunks yet"));
    let (carrier, _h) = fake_carrier();
    let host = format!("127.0.0.1:{carrier}");

    let bad = admin.post("/trunks", &[("name", "bad name"), ("host", "127.0.0.1:notaport"), ("transport", "udp"), ("register", "1"), ("dids", "55x")]);
    assert_eq!(bad.status, 422);
    for f in ["name", "host", "username", "dids"] {
        assert!(bad.body.contains(&format!("id=\"{f}-error\"")), "{f} marked: {}", bad.body);
    }
    assert!(bad.body.contains("registering needs a username and a secret"), "{}", bad.body);
    assert!(sb.admin_ok(&["trunk", "list"]).lines().count() == 1, "nothing added");
    // The CLI says the same (one shared check).
    let cli = sb.admin(&["trunk", "add", "x", "--host", "127.0.0.1:notaport", "--did", "55x"]);
    let err = String::from_utf8_lossy(&cli.stderr);
    assert!(!cli.status.success() && err.contains("--host: '127.0.0.1:notaport' is not a reachable HOST:PORT") && err.contains("--did: DID '55x'"), "{err}");

    let fields = [("name", "carrier"), ("host", host.as_str()), ("transport", "udp"), ("register", "1"), ("username", "acct-77"), ("secret", "s3cret-value"), ("dids", "5550100=1002, 5550101"), ("codecs", "PCMA,PCMU")];
    assert_eq!(admin.post_raw("/trunks", &form(&fields)).status, 403, "no token");
    let r = admin.post("/trunks", &fields);
    assert_eq!(r.status, 303, "{}", r.body);
    let list = sb.admin_ok(&["trunk", "list"]);
    let line = list.lines().find(|l| l.starts_with("carrier")).unwrap_or_else(|| panic!("{list}"));
    assert!(line.contains("5550100=1002,5550101") && line.contains(&host) && line.contains("yes"), "{line}");
    let clash = admin.post("/trunks", &[("name", "other"), ("host", host.as_str()), ("dids", "5550101")]);
    assert_eq!(clash.status, 422);
    assert!(clash.body.contains("id=\"dids-error\"") && clash.body.contains("DID 5550101 already exists"), "{}", clash.body);

    // The supervisor picks the trunk up; the page shows what it found.
    let deadline = Instant::now() + Duration::from_secs(15);
    let page = loop {
        let p = admin.get("/trunks");
        let row = p.body.split("data-trunk=\"carrier\"").nth(1).unwrap_or("").to_string();
        if (row.contains("badge ok\">up") && row.contains("badge ok\">registered")) || Instant::now() > deadline {
            break p.body;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    let row = page.split("data-trunk=\"carrier\"").nth(1).expect("listed");
    assert!(row.contains("badge ok\">up") && row.contains("badge ok\">registered"), "{row}");
    assert!(row.contains("5550100") && row.contains("1002") && row.contains("PCMA,PCMU") && row.contains("default"), "{row}");
    assert!(!page.contains("s3cret-value"), "the secret is never shown");
    assert!(row.contains("href=\"/trunks/carrier\""), "an edit link: {row}");

    // The trunk's page changes it in place: errors at the field, the secret kept unless given, DIDs kept.
    let edit = admin.get("/trunks/carrier");
    assert!(edit.status == 200 && edit.body.contains("id=\"trunk-form\"") && edit.body.contains("A secret is set"), "{}", edit.body);
    assert!(!edit.body.contains("s3cret-value") && edit.body.contains("value=\"acct-77\""), "{}", edit.body);
    admin_only(&admin, &sup, "/trunks/carrier");
    let bad = admin.post("/trunks/carrier", &[("host", "127.0.0.1:notaport"), ("transport", "udp"), ("username", ""), ("secret", "typed-secret"), ("register", "1"), ("codecs", "PCMU,NOPE")]);
    assert_eq!(bad.status, 422);
    for f in ["host", "username", "codecs"] {
        assert!(bad.body.contains(&format!("id=\"{f}-error\"")), "{f} marked: {}", bad.body);
    }
    assert!(!bad.body.contains("typed-secret"), "a refused form does not echo the secret");
    let changed = [("host", host.as_str()), ("transport", "tcp"), ("username", "acct-78"), ("secret", ""), ("register", "1"), ("default", "1"), ("codecs", "")];
    assert_eq!(admin.post_raw("/trunks/carrier", &form(&changed)).status, 403, "no token");
    let r = admin.post("/trunks/carrier", &changed);
    assert_eq!(r.status, 303, "{}", r.body);
    let back = admin.get(r.header("location").expect("redirect"));
    assert!(back.body.contains("Trunk carrier changed") && back.body.contains("transport udp → tcp") && back.body.contains("codecs PCMA,PCMU → default"), "{}", back.body);
    let list = sb.admin_ok(&["trunk", "list"]);
    let line = list.lines().find(|l| l.starts_with("carrier")).unwrap_or_else(|| panic!("{list}"));
    assert!(line.contains(" tcp ") && line.contains("acct-78") && line.contains("5550100=1002,5550101") && line.contains("yes"), "{line}");
    assert!(admin.get("/trunks/carrier").body.contains("A secret is set"), "the secret is kept");
    let same = admin.post("/trunks/carrier", &changed);
    assert!(same.header("location").is_some_and(|l| l.starts_with("/trunks/carrier?ok=Nothing")), "{same:?}");
    assert_eq!(admin.get("/trunks/nope").status, 404);

    let d = admin.post("/trunks/carrier/delete", &[]);
    assert_eq!(d.status, 303);
    assert!(!sb.admin_ok(&["trunk", "list"]).contains("carrier"));
    let audit = admin.audit();
    assert!(audit.contains("trunk.create") && audit.contains("trunk.delete") && audit.contains("dids [5550100=1002,5550101]"), "{audit}");
    assert!(audit.contains("trunk.update") && audit.contains("username acct-77 → acct-78"), "{audit}");
    assert_eq!(audit.matches("trunk.update").count(), 1, "refused and empty changes are not audited");
    assert!(!audit.contains("s3cret-value"));
}
