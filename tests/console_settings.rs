//! The console's settings and backup/restore pages against the real binary
//! over HTTP. The appliance is started as `make run` starts it: `--data`
//! only, no `--config`, so `<data>/switchboard.toml` is its configuration
//! file. Settings: admin only, a bad RTP range refused at its field with
//! nothing written, a good change written in place (comments kept),
//! audited, in force after "Restart now" (exit code 75) and a new start;
//! the SMTP password never in a page, the audit log or the log. Listen
//! addresses (started without --sip/--http, so the file's apply): a bad
//! port or a TLS port equal to the plain one refused at the field, a moved
//! console pointed out, the SIP port moved at the restart (SIP OPTIONS
//! answered on the new port only). Backup:
//! the archive holds the manifest (first), the database (which opens with
//! an extension made before), the config, prompts and dialplans (audio
//! only on request). Restore: hostile archives (`..`, absolute paths,
//! links, altered files, no manifest, a database that is not one, over
//! 2 GiB) refused with nothing staged; a real backup staged, cancelled,
//! staged again and applied at the next start, bringing the data back
//! and moving the replaced data aside.

mod common;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Output, Stdio};
use std::time::Duration;

use common::http::{form, request, Resp};
use common::ports;
use common::proc::{ChildGuard, SpawnOpts, TestDir};
use common::switchboard::bin;
use sha2::Digest;

const PW: &str = "a long passphrase";
const SMTP_PW: &str = "Sm7p-pa55word-never-shown";
const PLAN: &str = "[[entry]]\nmatch = { did = \"100\" }\ncontext = \"main\"\n\n[context.main]\nsteps = [{ app = \"hangup\", cause = 16 }]\n";

/// An appliance with its own data, prompt and dialplan folders, its
/// configuration in `<data>/switchboard.toml`.
struct Appliance {
    dir: TestDir,
    http: u16,
    sip: u16,
    child: Option<ChildGuard>,
    starts: u32,
    /// Started without --sip/--http (TLS listeners off in the file): the
    /// file's `[sip] listen` and `[http] listen` apply.
    listen_in_file: bool,
}

impl Appliance {
    fn new() -> Appliance {
        let dir = TestDir::new("settings").expect("test dir");
        let root = dir.path();
        for d in ["var", "prompts/en", "dialplans"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        let config = format!(
            "# written by the test: kept by every save\n[dialplan]\ndir = \"{}\"\n\n[media]\nprompts_dir = \"{}\"\nmoh_dir = \"{}\"\ncodecs = \"PCMU,PCMA\" # preferred first\n",
            root.join("dialplans").display(),
            root.join("prompts").display(),
            root.join("prompts/moh").display()
        );
        std::fs::write(root.join("var/switchboard.toml"), config).unwrap();
        std::fs::write(root.join("dialplans/main.toml"), PLAN).unwrap();
        Appliance { dir, http: ports::alloc(), sip: ports::alloc(), child: None, starts: 0, listen_in_file: false }
    }

    /// An appliance whose listen addresses come from its file (commented).
    fn listening_from_file() -> Appliance {
        let mut a = Appliance::new();
        let mut text = std::fs::read_to_string(a.config_file()).unwrap();
        text.push_str(&format!(
            "\n[sip]\n# phones and carriers\nlisten = \"127.0.0.1:{}\" # UDP and TCP\ntls_listen = \"\"\n\n[http]\nlisten = \"127.0.0.1:{}\"\ntls_listen = \"\"\n",
            a.sip, a.http
        ));
        std::fs::write(a.config_file(), text).unwrap();
        a.listen_in_file = true;
        a
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("var")
    }

    fn config_file(&self) -> PathBuf {
        self.data().join("switchboard.toml")
    }

    fn start(&mut self) {
        let mut cmd = Command::new(bin());
        cmd.arg("--data").arg(self.data()).arg("run").env("SWITCHBOARD_LOG", "info,sqlx=warn");
        if !self.listen_in_file {
            cmd.arg("--sip")
                .arg(format!("127.0.0.1:{}", self.sip))
                .arg("--http")
                .arg(format!("127.0.0.1:{}", self.http))
                // Off: the defaults (0.0.0.0:5061, :8443) would clash between parallel tests.
                .arg("--sip-tls")
                .arg("")
                .arg("--https")
                .arg("");
        }
        self.starts += 1;
        let opts = SpawnOpts { die_with_parent: false, ..SpawnOpts::default() };
        let mut child = ChildGuard::spawn(&format!("switchboard-{}", self.starts), cmd, &self.dir.path().join("logs"), opts).expect("spawn");
        // The last line of the start banner (the lines above it are written by then).
        child.wait_for_line("  config   ", Duration::from_secs(20)).expect("the appliance starts");
        self.child = Some(child);
    }

    /// This start's standard output.
    fn log(&self) -> String {
        self.child.as_ref().map(|c| std::fs::read_to_string(c.stdout_path()).unwrap_or_default()).unwrap_or_default()
    }

    /// Waits for the process to end by itself.
    fn wait_exit(&mut self) -> ExitStatus {
        let mut c = self.child.take().expect("running");
        c.wait_or_kill(Duration::from_secs(10)).expect("the appliance exits by itself")
    }

    fn cli(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = Command::new(bin())
            .arg("--data")
            .arg(self.data())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run the CLI");
        let _ = child.stdin.take().expect("stdin").write_all(stdin.as_bytes());
        child.wait_with_output().expect("CLI output")
    }

    fn cli_ok(&self, args: &[&str]) -> String {
        let out = self.cli(args, "");
        assert!(out.status.success(), "switchboard {args:?}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The first admin `root`, made through the one-time setup link.
    fn setup_admin(&self) -> Console {
        let out = self.cli_ok(&["setup-link"]);
        let link = out[out.find("/setup/").expect("link")..].trim().to_string();
        let r = request(self.http, "POST", &link, &[("Content-Type", "application/x-www-form-urlencoded")], &form(&[("username", "root"), ("password", PW), ("confirm", PW)]));
        assert_eq!(r.status, 303, "{r:?}");
        self.login("root")
    }

    fn login(&self, user: &str) -> Console {
        let r = request(self.http, "POST", "/login", &[("Content-Type", "application/x-www-form-urlencoded")], &form(&[("username", user), ("password", PW), ("next", "")]));
        assert_eq!(r.status, 303, "login {user}: {r:?}");
        let cookie = format!("sb_session={}", r.set_cookie("sb_session").expect("cookie").0);
        let page = request(self.http, "GET", "/agent", &[("Cookie", &cookie)], b"");
        let at = page.body.find("name=\"csrf-token\" content=\"").unwrap_or_else(|| panic!("no csrf meta: {}", page.body)) + 27;
        let csrf = page.body[at..at + page.body[at..].find('"').unwrap()].to_string();
        Console { port: self.http, cookie, csrf }
    }
}

impl Drop for Appliance {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill();
        }
    }
}

struct Console {
    port: u16,
    cookie: String,
    csrf: String,
}

impl Console {
    fn get(&self, path: &str) -> Resp {
        request(self.port, "GET", path, &[("Cookie", &self.cookie)], b"")
    }

    fn post(&self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let mut f = fields.to_vec();
        f.push(("_csrf", &self.csrf));
        request(self.port, "POST", path, &[("Cookie", &self.cookie), ("Content-Type", "application/x-www-form-urlencoded")], &form(&f))
    }

    /// The restore upload as `settings.js` sends it.
    fn upload(&self, archive: &[u8], token: bool) -> Resp {
        let mut h = vec![("Cookie", self.cookie.as_str()), ("Content-Type", "application/gzip")];
        if token {
            h.push(("X-CSRF-Token", &self.csrf));
        }
        request(self.port, "POST", "/backup/restore", &h, archive)
    }

    /// A binary GET: status, headers, body bytes.
    fn fetch(&self, path: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {}\r\nConnection: close\r\n\r\n", self.cookie).unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).unwrap();
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("head") + 4;
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let mut lines = head.lines();
        let status = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|c| c.parse().ok()).unwrap_or(0);
        let headers: Vec<(String, String)> = lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string())).collect();
        (status, headers, raw[split..].to_vec())
    }
}

/// The settings form with every field, as the page submits it.
fn settings_form<'a>(changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("codecs", "PCMU,PCMA"),
        ("rtp_port_min", "10000"),
        ("rtp_port_max", "20000"),
        ("smtp_host", ""),
        ("smtp_port", "25"),
        ("smtp_tls", "none"),
        ("smtp_from", "switchboard@localhost"),
        ("smtp_username", ""),
        ("smtp_password", ""),
        ("timezone", "UTC"),
        ("sip_listen", "0.0.0.0:5060"),
        ("sip_tls_listen", "0.0.0.0:5061"),
        ("http_listen", "0.0.0.0:8080"),
        ("http_tls_listen", "0.0.0.0:8443"),
    ];
    for (k, v) in changes {
        f.iter_mut().find(|(n, _)| n == k).expect("a form field").1 = v;
    }
    f
}

#[test]
fn settings_are_validated_saved_in_place_and_in_force_after_a_restart() {
    let mut a = Appliance::new();
    a.start();
    let file = a.config_file();
    assert!(a.log().contains(&format!("config   {}", file.display())), "without --config the data directory's file is read: {}", a.log());
    let admin = a.setup_admin();
    assert!(a.cli(&["user", "add", "sam", "--role", "supervisor"], &format!("{PW}\n")).status.success());
    let sup = a.login("sam");

    // Admin only, last in the navigation.
    let page = admin.get("/settings");
    assert_eq!(page.status, 200);
    let (audit_at, settings_at) = (page.body.find("href=\"/audit\"").unwrap(), page.body.find("href=\"/settings\"").unwrap());
    assert!(audit_at < settings_at, "Settings comes after the audit log");
    assert!(page.body.contains(&file.display().to_string()) && page.body.contains("PCMU,PCMA"), "{}", page.body);
    // The certificate made at first start, shown with its fingerprint (the file's own).
    assert!(page.body.contains("TLS certificate") && page.body.contains("id=\"tls-state\">self-signed"), "{}", page.body);
    let pem = std::fs::read_to_string(a.data().join("tls/server.pem")).expect("generated at first start");
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----") && page.body.contains("id=\"tls-fingerprint\""));
    for path in ["/settings", "/backup", "/backup/download"] {
        let r = sup.get(path);
        assert_eq!(r.status, 403, "{path} for a supervisor");
        assert!(!r.body.contains("href=\"/settings\""), "not in a supervisor's navigation");
    }
    assert_eq!(sup.post("/settings", &settings_form(&[("codecs", "PCMA")])).status, 403);
    assert_eq!(sup.post("/settings/restart", &[]).status, 403);
    assert_eq!(sup.upload(b"x", true).status, 403);

    // Refused at the field, nothing written, the password not echoed.
    let before = std::fs::read_to_string(&file).unwrap();
    let bad = admin.post("/settings", &settings_form(&[("rtp_port_min", "20000"), ("rtp_port_max", "10000"), ("smtp_password", SMTP_PW)]));
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("id=\"rtp_port_max-error\"") && bad.body.contains("must be greater than rtp.port_min (20000)"), "{}", bad.body);
    assert!(!bad.body.contains(SMTP_PW), "a refused form does not echo the password");
    let bad = admin.post("/settings", &settings_form(&[("timezone", "Mars/Olympus"), ("codecs", "PCMU,G729")]));
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("id=\"codecs-error\""), "the first error found is shown at its field: {}", bad.body);
    let bad = admin.post("/settings", &settings_form(&[("timezone", "Mars/Olympus")]));
    assert!(bad.status == 422 && bad.body.contains("id=\"timezone-error\""), "{}", bad.body);
    let no_token = request(a.http, "POST", "/settings", &[("Cookie", &admin.cookie), ("Content-Type", "application/x-www-form-urlencoded")], &form(&settings_form(&[])));
    assert_eq!(no_token.status, 403, "CSRF");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before, "nothing refused was written");

    // A good change: written in place, audited without the password.
    let good = settings_form(&[
        ("codecs", "G722,PCMU"),
        ("rtp_port_min", "30000"),
        ("rtp_port_max", "30100"),
        ("smtp_host", "mail.example.org"),
        ("smtp_port", "587"),
        ("smtp_tls", "starttls"),
        ("smtp_from", "PBX <pbx@example.org>"),
        ("smtp_username", "pbx"),
        ("smtp_password", SMTP_PW),
        ("timezone", "Europe/Berlin"),
    ]);
    let r = admin.post("/settings", &good);
    assert_eq!(r.status, 303, "{}", r.body);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("# written by the test: kept by every save\n"), "{text}");
    assert!(text.contains("codecs = \"G722,PCMU\" # preferred first"), "the value's comment is kept: {text}");
    assert!(text.contains("port_min = 30000") && text.contains("timezone = \"Europe/Berlin\"") && text.contains("tls = \"starttls\""), "{text}");
    let page = admin.get(r.header("location").expect("back to the page"));
    assert!(page.body.contains("These apply at the next start") && page.body.contains("id=\"pending-changes\""), "{}", page.body);
    assert!(page.body.contains("media.codecs") && page.body.contains("G722,PCMU") && page.body.contains("A password is set"), "{}", page.body);
    let audit = admin.get("/audit").body;
    assert!(audit.contains("settings.save") && audit.contains("media.codecs: PCMU,PCMA → G722,PCMU"), "{audit}");
    assert!(audit.contains("smtp.password: not set → set (changed)"), "{audit}");
    for (what, text) in [("settings page", &page.body), ("audit log", &audit), ("appliance log", &a.log())] {
        assert!(!text.contains(SMTP_PW), "the SMTP password is in the {what}");
    }
    // Saving again without a password keeps the stored one.
    let again = admin.post("/settings", &settings_form(&[("codecs", "G722,PCMU"), ("rtp_port_min", "30000"), ("rtp_port_max", "30100"), ("smtp_host", "mail.example.org"), ("smtp_port", "587"), ("smtp_tls", "starttls"), ("smtp_from", "PBX <pbx@example.org>"), ("smtp_username", "pbx"), ("timezone", "Europe/Berlin")]));
    assert_eq!(again.status, 303);
    assert!(std::fs::read_to_string(&file).unwrap().contains(&format!("password = \"{SMTP_PW}\"")), "kept");
    let check = a.cli_ok(&["check-config"]);
    assert!(check.contains(&format!("{}: ok", file.display())), "the CLI reads the same file: {check}");

    // Restart now: exit code 75, then the new values are in force.
    let r = admin.post("/settings/restart", &[]);
    assert!(r.status == 200 && r.body.contains("Restarting"), "{r:?}");
    assert_eq!(a.wait_exit().code(), Some(75), "the distinct restart status");
    a.start();
    assert!(a.log().contains("RTP      30000-30100"), "{}", a.log());
    let admin = a.login("root");
    let page = admin.get("/settings");
    assert!(!page.body.contains("id=\"pending-changes\""), "nothing waits any more");
    assert!(page.body.contains("30000–30100") && page.body.contains("mail.example.org:587 (starttls)") && page.body.contains("Europe/Berlin"), "{}", page.body);
    assert!(!page.body.contains(SMTP_PW));
    assert!(admin.get("/audit").body.contains("appliance.restart"));
}

/// The first line of the answer to a SIP OPTIONS sent over UDP to
/// 127.0.0.1:`port`; `None` when nothing answers within a second.
fn sip_options(port: u16) -> Option<String> {
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let me = sock.local_addr().unwrap();
    let msg = format!(
        "OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK-moved-{port}\r\nMax-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=probe\r\nTo: <sip:127.0.0.1:{port}>\r\nCall-ID: moved-{port}@test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    );
    sock.send_to(msg.as_bytes(), ("127.0.0.1", port)).unwrap();
    let mut buf = [0u8; 4096];
    let n = sock.recv(&mut buf).ok()?;
    String::from_utf8_lossy(&buf[..n]).lines().next().map(str::to_string)
}

#[test]
fn listen_addresses_are_checked_saved_in_place_and_the_sip_port_moves_at_the_restart() {
    let mut a = Appliance::listening_from_file();
    a.start();
    let (file, sip, http) = (a.config_file(), format!("127.0.0.1:{}", a.sip), format!("127.0.0.1:{}", a.http));
    assert!(sip_options(a.sip).is_some_and(|l| l.starts_with("SIP/2.0 ")), "the file's port answers: {}", a.log());
    let admin = a.setup_admin();
    let page = admin.get("/settings");
    assert!(page.body.contains(&format!("name=\"sip_listen\" id=\"sip_listen\" value=\"{sip}\"")), "{}", page.body);
    let form_with = |changes: &[(&'static str, &str)]| -> Vec<(String, String)> {
        let base = [("sip_listen", sip.as_str()), ("sip_tls_listen", ""), ("http_listen", http.as_str()), ("http_tls_listen", "")];
        let mut all: Vec<(&str, &str)> = settings_form(&base);
        for (k, v) in changes {
            all.iter_mut().find(|(n, _)| n == k).expect("a form field").1 = v;
        }
        all.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    };
    let post = |changes: &[(&'static str, &str)]| {
        let f = form_with(changes);
        let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        admin.post("/settings", &f)
    };

    // Refused at the field, nothing written.
    let before = std::fs::read_to_string(&file).unwrap();
    let bad = post(&[("sip_listen", "127.0.0.1:0")]);
    assert!(bad.status == 422 && bad.body.contains("id=\"sip_listen-error\"") && bad.body.contains("must be 1 to 65535"), "{}", bad.body);
    let bad = post(&[("sip_listen", "127.0.0.1:99999")]);
    assert!(bad.status == 422 && bad.body.contains("id=\"sip_listen-error\""), "{}", bad.body);
    let bad = post(&[("sip_tls_listen", sip.as_str())]);
    assert!(bad.status == 422 && bad.body.contains("id=\"sip_tls_listen-error\"") && bad.body.contains("must not take the port of sip.listen"), "{}", bad.body);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before, "nothing refused was written");

    // Moving the console itself is pointed out (and can be taken back).
    let elsewhere = format!("127.0.0.1:{}", ports::alloc());
    assert_eq!(post(&[("http_listen", elsewhere.as_str())]).status, 303);
    let page = admin.get("/settings");
    let warning = page.body.split("id=\"console-moves\"").nth(1).unwrap_or_else(|| panic!("a warning: {}", page.body));
    assert!(warning.contains(&format!("({http})")) && warning.contains(&format!("listens on {elsewhere}")), "{warning}");
    assert_eq!(post(&[]).status, 303);
    assert!(!admin.get("/settings").body.contains("id=\"console-moves\""), "back where it is");

    // The SIP port: written in place (comments kept), applied at the restart.
    let moved = format!("127.0.0.1:{}", ports::alloc());
    let r = post(&[("sip_listen", moved.as_str())]);
    assert_eq!(r.status, 303, "{}", r.body);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains(&format!("# phones and carriers\nlisten = \"{moved}\" # UDP and TCP\n")), "{text}");
    assert!(text.starts_with("# written by the test: kept by every save\n"), "{text}");
    let page = admin.get(r.header("location").expect("back to the page"));
    assert!(page.body.contains("sip.listen") && page.body.contains(&moved) && !page.body.contains("id=\"console-moves\""), "{}", page.body);
    assert!(admin.get("/audit").body.contains(&format!("sip.listen: {sip} → {moved}")));
    assert!(a.cli_ok(&["check-config"]).contains(&format!("{}: ok", file.display())));
    assert_eq!(admin.post("/settings/restart", &[]).status, 200);
    assert_eq!(a.wait_exit().code(), Some(75));
    a.start();
    assert!(a.log().contains(&format!("SIP      {moved} (UDP and TCP)")), "{}", a.log());
    let port: u16 = moved.rsplit(':').next().unwrap().parse().unwrap();
    assert!(sip_options(port).is_some_and(|l| l.starts_with("SIP/2.0 ")), "OPTIONS answered on the new port: {}", a.log());
    assert_eq!(sip_options(a.sip), None, "nothing on the old port");
}

/// (path, bytes) of every entry of a `.tar.gz`.
fn entries(gz: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = tar::Archive::new(flate2::read::MultiGzDecoder::new(gz));
    archive
        .entries()
        .expect("a tar archive")
        .map(|e| {
            let mut e = e.expect("an entry");
            let path = String::from_utf8_lossy(&e.path_bytes()).into_owned();
            let mut bytes = Vec::new();
            e.read_to_end(&mut bytes).unwrap();
            (path, bytes)
        })
        .collect()
}

/// One ustar entry written by hand (hostile names and types included).
fn entry(name: &str, kind: u8, link: &str, data: &[u8]) -> Vec<u8> {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{:011o}\0", data.len()).as_bytes());
    h[136..148].copy_from_slice(b"00000000000\0");
    h[156] = kind;
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut out = h.to_vec();
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

/// A `.tar.gz` of raw entries.
fn targz(parts: &[Vec<u8>]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    for p in parts {
        gz.write_all(p).unwrap();
    }
    gz.write_all(&[0u8; 1024]).unwrap();
    gz.finish().unwrap()
}

/// An archive of `files` (manifest first, as given), with `inject` after the manifest.
fn rebuild(files: &[(String, Vec<u8>)], inject: Option<Vec<u8>>) -> Vec<u8> {
    let mut parts: Vec<Vec<u8>> = files.iter().map(|(p, b)| entry(p, b'0', "", b)).collect();
    if let Some(i) = inject {
        parts.insert(1, i);
    }
    targz(&parts)
}

fn sha256(b: &[u8]) -> String {
    sha2::Sha256::digest(b).iter().map(|x| format!("{x:02x}")).collect()
}

fn wav() -> Vec<u8> {
    let mut out = Vec::new();
    let spec = hound::WavSpec { channels: 1, sample_rate: 8000, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::new(std::io::Cursor::new(&mut out), spec).unwrap();
    for i in 0..800 {
        w.write_sample(((i % 20) as i16 - 10) * 300).unwrap();
    }
    w.finalize().unwrap();
    out
}

#[test]
fn a_backup_holds_the_data_and_restoring_it_brings_it_back() {
    let mut a = Appliance::new();
    let root = a.dir.path().to_path_buf();
    std::fs::write(root.join("prompts/en/hello.wav"), wav()).unwrap();
    std::fs::create_dir_all(a.data().join("recordings")).unwrap();
    std::fs::write(a.data().join("recordings/call-1.wav"), wav()).unwrap();
    a.start();
    let admin = a.setup_admin();
    a.cli_ok(&["extension", "add", "1001", "--secret", "secret-1001", "--name", "Front desk"]);

    let page = admin.get("/backup");
    assert!(page.status == 200 && page.body.contains("Download a backup") && page.body.contains("None: no backup has been restored here"), "{}", page.body);

    // The download: manifest first, the expected entries, checksums, no audio unless asked.
    let (status, headers, gz) = admin.fetch("/backup/download");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&gz));
    let header = |k: &str| headers.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    assert_eq!(header("content-type"), "application/gzip");
    assert!(header("content-disposition").starts_with("attachment; filename=\"switchboard-backup-"), "{headers:?}");
    assert_eq!(header("content-length"), gz.len().to_string());
    let files = entries(&gz);
    let names: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(names, ["manifest.json", "db/switchboard.db", "config/switchboard.toml", "prompts/en/hello.wav", "dialplans/main.toml"]);
    let manifest: serde_json::Value = serde_json::from_slice(&files[0].1).expect("manifest JSON");
    assert_eq!(manifest["format"], "switchboard-backup");
    assert_eq!(manifest["app_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(manifest["includes"], serde_json::json!(["db", "config", "prompts", "dialplans"]));
    assert!(manifest["created_at"].as_str().is_some_and(|t| t.ends_with('Z')));
    for (path, bytes) in &files[1..] {
        let listed = manifest["files"].as_array().unwrap().iter().find(|f| f["path"] == path.as_str()).unwrap_or_else(|| panic!("{path} listed"));
        assert_eq!((listed["sha256"].as_str().unwrap(), listed["size"].as_u64().unwrap()), (sha256(bytes).as_str(), bytes.len() as u64), "{path}");
    }
    assert_eq!(files[4].1, PLAN.as_bytes());
    // The database opens elsewhere with the extension made before.
    let check = root.join("check");
    std::fs::create_dir_all(&check).unwrap();
    std::fs::write(check.join("switchboard.db"), &files[1].1).unwrap();
    let out = Command::new(bin()).arg("--data").arg(&check).args(["extension", "list"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("Front desk"), "{out:?}");
    let (_, _, with_audio) = admin.fetch("/backup/download?audio=1");
    assert!(entries(&with_audio).iter().any(|(p, _)| p == "recordings/call-1.wav"), "recordings on request");
    assert!(admin.get("/audit").body.contains("backup.download"));
    // The server removes its work folder right after the last byte.
    let hidden = || -> Vec<String> { std::fs::read_dir(a.data()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).filter(|n| n.starts_with('.')).collect() };
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !hidden().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(hidden().is_empty(), "work folders are removed after the download: {:?}", hidden());

    // Hostile or broken archives: refused, nothing staged, nothing written outside.
    let pending = a.data().join("restore-pending");
    let escape = format!("../../escaped-{}.txt", std::process::id());
    let absolute = root.join("absolute.txt");
    let mut altered = files.clone();
    altered[4].1[0] = b'#';
    let junk_db = vec![0x5au8; 4096];
    let mut fake = manifest.clone();
    fake["files"] = serde_json::json!([{ "path": "db/switchboard.db", "size": junk_db.len(), "sha256": sha256(&junk_db) }]);
    fake["includes"] = serde_json::json!(["db"]);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("not gzip", b"PK\x03\x04 a zip, say".to_vec(), "not a readable .tar.gz archive"),
        ("no manifest", targz(&[entry("db/switchboard.db", b'0', "", &files[1].1)]), "manifest.json is not its first entry"),
        ("dot-dot", rebuild(&files, Some(entry(&escape, b'0', "", b"x"))), "leaves its folder"),
        ("absolute", rebuild(&files, Some(entry(&absolute.display().to_string(), b'0', "", b"x"))), "is not a relative path"),
        ("symlink", rebuild(&files, Some(entry("prompts/en/link.wav", b'2', "/etc/passwd", b""))), "is a link"),
        ("hard link", rebuild(&files, Some(entry("prompts/en/hard.wav", b'1', "db/switchboard.db", b""))), "is a link"),
        ("device", rebuild(&files, Some(entry("prompts/en/dev", b'3', "", b""))), "is not a plain file"),
        ("unlisted", rebuild(&files, Some(entry("prompts/en/extra.wav", b'0', "", b"x"))), "is not listed in manifest.json"),
        ("altered", rebuild(&altered, None), "does not match its checksum"),
        ("missing", rebuild(&files[..4], None), "missing from the archive"),
        ("not a database", rebuild(&[("manifest.json".into(), serde_json::to_vec(&fake).unwrap()), ("db/switchboard.db".into(), junk_db.clone())], None), "database"),
    ];
    for (what, archive, why) in &cases {
        let r = admin.upload(archive, true);
        assert_eq!(r.status, 422, "{what}: {r:?}");
        assert!(r.body.contains(why), "{what}: {}", r.body);
        assert!(!pending.exists(), "{what}: nothing staged");
    }
    assert!(!a.data().join(&escape).exists() && !absolute.exists(), "nothing written outside");
    assert_eq!(admin.upload(&gz, false).status, 403, "the upload needs the CSRF header");
    let too_big = {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", a.http)).unwrap();
        write!(s, "POST /backup/restore HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {}\r\nX-CSRF-Token: {}\r\nContent-Length: 3000000000\r\nConnection: close\r\n\r\n", admin.cookie, admin.csrf).unwrap();
        let mut resp = String::new();
        let _ = s.read_to_string(&mut resp);
        resp
    };
    assert!(too_big.starts_with("HTTP/1.1 413"), "{too_big}");
    assert!(admin.get("/audit").body.contains("backup.restore_refused"));

    // The data changes; the backup is staged (cancelled once), then applied at the next start.
    a.cli_ok(&["extension", "rm", "1001"]);
    a.cli_ok(&["extension", "add", "1002", "--secret", "secret-1002", "--name", "Made later"]);
    std::fs::remove_file(root.join("dialplans/main.toml")).unwrap();
    std::fs::write(root.join("dialplans/later.toml"), PLAN).unwrap();
    let r = admin.upload(&gz, true);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Checked and staged") && r.body.contains("1 extension,"), "{}", r.body);
    assert!(admin.get("/backup").body.contains("id=\"pending-restore\""));
    let r = admin.post("/backup/restore/cancel", &[]);
    assert_eq!(r.status, 303);
    assert!(!pending.exists() && !admin.get("/backup").body.contains("id=\"pending-restore\""), "cancelled");
    assert_eq!(admin.upload(&gz, true).status, 200);
    assert!(pending.join("manifest.json").is_file());
    let audit = admin.get("/audit").body;
    assert!(audit.contains("backup.restore_cancel") && audit.contains("staged for the next start"), "{audit}");

    assert_eq!(admin.post("/settings/restart", &[]).status, 200);
    assert_eq!(a.wait_exit().code(), Some(75));
    a.start();
    assert!(a.log().contains("restored the backup of"), "{}", a.log());
    let list = a.cli_ok(&["extension", "list"]);
    assert!(list.contains("Front desk") && !list.contains("Made later"), "the backup's extensions: {list}");
    assert!(root.join("dialplans/main.toml").is_file() && !root.join("dialplans/later.toml").exists());
    assert!(!pending.exists());
    let aside: Vec<PathBuf> = std::fs::read_dir(a.data()).unwrap().map(|e| e.unwrap().path()).filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("pre-restore-")).collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert!(aside[0].join("db/switchboard.db").is_file() && aside[0].join("dialplans/later.toml").is_file(), "the replaced data is kept");
    assert_eq!(admin.get("/settings").status, 303, "sessions ended by the restore");
    let admin = a.login("root");
    let audit = admin.get("/audit").body;
    assert!(audit.contains("backup.restored"), "{audit}");
    assert!(admin.get("/backup").body.contains("pre-restore-"));
}
