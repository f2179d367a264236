//! Registrar and digest authentication over the wire, against the real
//! binary: SIPp for MD5 (what SIPp 3.6.1 can do) and a small hand-written
//! UDP client for everything else (SHA-256, registrar semantics, stale
//! nonces, nonce-count replay, persistence across a restart).
//!
//! The client builds REGISTER text by hand and parses answers with the
//! crate's own parser; the digest `response` for SHA-256 is computed here
//! with `sha2` directly, independently of `switchboard::sip::auth`.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use common::ports;
use common::sipp::Sipp;
use common::switchboard::{Switchboard, MD5_FIRST, SHA256_FIRST};
use sha2::{Digest, Sha256};
use switchboard::sip::auth::{parse_challenge, Algorithm, Challenge};
use switchboard::sip::message::{parse_message, HeaderName, Message, Response};

const WAIT: Duration = Duration::from_secs(2);

// ---------------------------------------------------------------------------
// A minimal UDP user agent.

struct Ua {
    sock: UdpSocket,
    server: SocketAddr,
    port: u16,
    call_id: String,
    tag: String,
    cseq: u32,
    branch: u32,
}

/// What was sent with credentials, so tests can replay it.
struct Sent {
    authorization: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_hex(s: &str) -> String {
    hex(&Sha256::digest(s.as_bytes()))
}

/// The value of parameter `name` in a digest header value (quoted or not).
fn digest_param(value: &str, name: &str) -> Option<String> {
    let re = regex::Regex::new(&format!(r#"(?i)(?:^|[\s,]){name}\s*=\s*(?:"([^"]*)"|([^\s,]+))"#)).unwrap();
    re.captures(value).map(|c| c.get(1).or(c.get(2)).unwrap().as_str().to_string())
}

impl Ua {
    fn new(sb: &Switchboard) -> Ua {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind client socket");
        let port = sock.local_addr().unwrap().port();
        let n: u64 = rand::random();
        Ua {
            sock,
            server: sb.sip_addr().parse().unwrap(),
            port,
            call_id: format!("reg-{n:x}@127.0.0.1"),
            tag: format!("t{n:x}"),
            cseq: 0,
            branch: 0,
        }
    }

    fn ruri(&self) -> String {
        format!("sip:{}", self.server)
    }

    /// This UA's own contact URI with a distinguishing user part.
    fn contact(&self, user: &str) -> String {
        format!("sip:{user}@127.0.0.1:{}", self.port)
    }

    /// A REGISTER for `aor_user` with `extra` header lines (each ending CRLF).
    fn register_text(&mut self, aor_user: &str, extra: &str) -> String {
        self.cseq += 1;
        self.branch += 1;
        let n: u32 = rand::random();
        format!(
            "REGISTER {ruri} SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-{n:x}-{b};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:{aor_user}@{srv}>;tag={tag}\r\n\
             To: <sip:{aor_user}@{srv}>\r\n\
             Call-ID: {cid}\r\n\
             CSeq: {cseq} REGISTER\r\n\
             User-Agent: registrar-test\r\n\
             {extra}\
             Content-Length: 0\r\n\r\n",
            ruri = self.ruri(),
            port = self.port,
            b = self.branch,
            srv = self.server,
            tag = self.tag,
            cid = self.call_id,
            cseq = self.cseq,
        )
    }

    fn send(&self, text: &str) {
        self.sock.send_to(text.as_bytes(), self.server).expect("send");
    }

    /// The final response to our request with CSeq `cseq`, within `WAIT`.
    fn final_response(&self, cseq: u32) -> Response {
        self.try_final(cseq, WAIT).unwrap_or_else(|| panic!("no final response to CSeq {cseq} within {WAIT:?}"))
    }

    fn try_final(&self, cseq: u32, wait: Duration) -> Option<Response> {
        let deadline = Instant::now() + wait;
        let mut buf = vec![0u8; 65_535];
        for _ in 0..50 {
            let left = deadline.checked_duration_since(Instant::now())?;
            self.sock.set_read_timeout(Some(left.max(Duration::from_millis(1)))).unwrap();
            let Ok((n, _)) = self.sock.recv_from(&mut buf) else { return None };
            let Ok(Message::Response(r)) = parse_message(&buf[..n]) else { continue };
            let ours = r.headers.call_id() == Some(self.call_id.as_str()) && r.headers.cseq().map(|c| c.seq).ok() == Some(cseq);
            if ours && r.status >= 200 {
                return Some(r);
            }
        }
        None
    }

    /// Sends a REGISTER and returns its final response.
    fn request(&mut self, aor_user: &str, extra: &str) -> Response {
        let text = self.register_text(aor_user, extra);
        self.send(&text);
        self.final_response(self.cseq)
    }

    /// REGISTER without credentials, expecting 401; returns the challenges
    /// in header order.
    fn challenge(&mut self, aor_user: &str, extra: &str) -> (Vec<String>, Vec<Challenge>) {
        let r = self.request(aor_user, extra);
        assert_eq!(r.status, 401, "expected a challenge, got {} {}", r.status, r.reason);
        let raw: Vec<String> = r.headers.get_all(&HeaderName::WwwAuthenticate).map(str::to_string).collect();
        assert!(!raw.is_empty(), "401 without WWW-Authenticate");
        let parsed = raw.iter().map(|v| parse_challenge(v).expect("challenge parses")).collect();
        (raw, parsed)
    }

    /// Answers `ch` for `auth_user`/`pass` (nc given) with `extra` headers.
    fn answer(&mut self, aor_user: &str, ch: &Challenge, auth_user: &str, pass: &str, nc: u32, extra: &str) -> (Response, Sent) {
        let authorization = ch.authorization("REGISTER", &self.ruri(), auth_user, pass, "cn0nce-test", nc);
        let r = self.request(aor_user, &format!("Authorization: {authorization}\r\n{extra}"));
        (r, Sent { authorization })
    }

    /// Full challenge/answer round with the challenge of algorithm `alg`.
    fn register(&mut self, aor_user: &str, pass: &str, alg: Algorithm, extra: &str) -> Response {
        let (_, chs) = self.challenge(aor_user, extra);
        let ch = chs.iter().find(|c| c.algorithm == alg).expect("challenge for the algorithm").clone();
        self.answer(aor_user, &ch, aor_user, pass, 1, extra).0
    }
}

/// `(contact URI, expires)` of every Contact in a 200 to REGISTER.
fn bindings(r: &Response) -> Vec<(String, i64)> {
    let re = regex::Regex::new(r"^<([^>]*)>;expires=(\d+)$").unwrap();
    r.headers
        .get_all(&HeaderName::Contact)
        .map(|v| {
            let c = re.captures(v).unwrap_or_else(|| panic!("unexpected Contact form: {v}"));
            (c[1].to_string(), c[2].parse().unwrap())
        })
        .collect()
}

fn status_line(r: &Response) -> String {
    format!("{} {}", r.status, r.reason)
}

// ---------------------------------------------------------------------------
// SIPp (MD5).

#[test]
fn sipp_md5_register_shows_in_extension_list() {
    let sb = Switchboard::start_with(MD5_FIRST).expect("start switchboard");
    sb.add_extension("1001", "sipp-secret-1001");
    let p = ports::alloc_sipp();
    let run = Sipp::scenario("register_auth.xml")
        .remote(&sb.sip_addr())
        .ports(p)
        .service("1001")
        .auth("1001", "sipp-secret-1001")
        .calls(1)
        .run()
        .expect("run sipp");
    run.expect_success(1).expect("REGISTER with MD5 digest accepted");
    let msgs = run.messages();
    assert!(msgs.contains("algorithm=MD5"), "MD5 challenge offered first: {msgs}");
    let list = sb.admin_ok(&["extension", "list"]);
    let contact = format!("sip:1001@127.0.0.1:{}", p.sip);
    let line = list.lines().find(|l| l.starts_with("1001")).unwrap_or_else(|| panic!("1001 listed: {list}"));
    assert!(line.contains(&contact), "binding {contact} listed: {list}");
}

#[test]
fn sipp_wrong_password_is_challenged_then_forbidden_and_logged() {
    let mut sb = Switchboard::start_with(MD5_FIRST).expect("start switchboard");
    sb.add_extension("1001", "right-secret-1001");

    // A legitimate UA from the same address fetches a challenge before the
    // attack; answering it correctly afterwards must not bypass the block.
    let mut ua = Ua::new(&sb);
    let (_, chs) = ua.challenge("1001", "");
    let md5 = chs.iter().find(|c| c.algorithm == Algorithm::Md5).unwrap().clone();

    let p = ports::alloc_sipp();
    let run = Sipp::scenario("reg_wrong_until_403.xml")
        .remote(&sb.sip_addr())
        .ports(p)
        .service("1001")
        .auth("1001", "wrong-password")
        .calls(1)
        .run()
        .expect("run sipp");
    run.expect_success(1).expect("401, 401, 401, then 403");

    // The failure is logged with the offender's address.
    let line = sb
        .wait_log(&format!("src=127.0.0.1:{}", p.sip), WAIT)
        .expect("failure logged with source address");
    assert!(line.contains("authentication failed"), "{line}");
    let failures = sb.log().lines().filter(|l| l.contains("authentication failed") && l.contains(&format!("127.0.0.1:{}", p.sip))).count();
    assert_eq!(failures, 3, "three failures logged:\n{}", sb.log());

    // Blocked: correct credentials from the same address are refused too,
    // otherwise the block would not slow a password guesser down at all.
    let (r, _) = ua.answer("1001", &md5, "1001", "right-secret-1001", 1, &format!("Contact: <{}>\r\n", ua.contact("1001")));
    assert_eq!(r.status, 403, "blocked source: {}", status_line(&r));
    let list = sb.admin_ok(&["extension", "list"]);
    assert!(!list.contains("sip:1001@"), "no binding: {list}");
}

// ---------------------------------------------------------------------------
// SHA-256 (configured first, RFC 8760 order) and MD5.

#[test]
fn sha256_first_and_both_algorithms_register() {
    let sb = Switchboard::start_with(SHA256_FIRST).expect("start switchboard");
    sb.add_extension("1001", "sha-secret-1001");
    let mut ua = Ua::new(&sb);
    let contact = ua.contact("1001");
    let extra = format!("Contact: <{contact}>\r\nExpires: 600\r\n");
    let (raw, chs) = ua.challenge("1001", &extra);
    assert!(raw[0].contains("algorithm=SHA-256"), "first challenge is SHA-256: {raw:?}");
    assert!(raw.iter().skip(1).any(|v| v.contains("algorithm=MD5")), "MD5 offered too: {raw:?}");
    assert_eq!(chs[0].algorithm, Algorithm::Sha256);
    assert!(chs[0].qop_auth && chs[0].realm == "switchboard", "{:?}", chs[0]);

    // Independent SHA-256 computation (RFC 7616 §3.4.1, qop=auth).
    let ch = &chs[0];
    let (cnonce, nc) = ("0a1b2c3d4e5f", "00000001");
    let uri = ua.ruri();
    let ha1 = sha256_hex(&format!("1001:{}:sha-secret-1001", ch.realm));
    let ha2 = sha256_hex(&format!("REGISTER:{uri}"));
    let response = sha256_hex(&format!("{ha1}:{}:{nc}:{cnonce}:auth:{ha2}", ch.nonce));
    // The library client agrees with the hand computation.
    let lib = ch.authorization("REGISTER", &uri, "1001", "sha-secret-1001", cnonce, 1);
    assert_eq!(digest_param(&lib, "response").as_deref(), Some(response.as_str()), "{lib}");
    // Send the hand-built header, not the library's.
    let opaque = digest_param(&raw[0], "opaque").expect("opaque offered");
    let authorization = format!(
        "Digest username=\"1001\", realm=\"{}\", nonce=\"{}\", uri=\"{uri}\", response=\"{response}\", \
         algorithm=SHA-256, cnonce=\"{cnonce}\", qop=auth, nc={nc}, opaque=\"{opaque}\"",
        ch.realm, ch.nonce
    );
    let r = ua.request("1001", &format!("Authorization: {authorization}\r\n{extra}"));
    assert_eq!(r.status, 200, "SHA-256 registration: {}", status_line(&r));
    let b = bindings(&r);
    assert_eq!(b.len(), 1, "{b:?}");
    assert_eq!(b[0].0, contact);
    assert!((599..=600).contains(&b[0].1), "Expires: 600 honoured: {b:?}");

    // A wrong SHA-256 response is not accepted.
    let (_, chs) = ua.challenge("1001", &extra);
    let (r, _) = ua.answer("1001", &chs[0], "1001", "not-the-secret", 1, &extra);
    assert_eq!(r.status, 401, "{}", status_line(&r));

    // MD5 still works when the client picks the second challenge.
    let mut ua2 = Ua::new(&sb);
    let contact2 = ua2.contact("1001");
    let r = ua2.register("1001", "sha-secret-1001", Algorithm::Md5, &format!("Contact: <{contact2}>\r\n"));
    assert_eq!(r.status, 200, "MD5 registration: {}", status_line(&r));
    let got: Vec<String> = bindings(&r).into_iter().map(|(c, _)| c).collect();
    assert!(got.contains(&contact) && got.contains(&contact2), "both phones bound: {got:?}");
}

// ---------------------------------------------------------------------------
// Registrar semantics (RFC 3261 §10.3).

#[test]
fn registrar_semantics_over_the_wire() {
    let sb = Switchboard::start_with("").expect("start switchboard");
    sb.add_extension("1001", "sem-secret-1001");
    let pass = "sem-secret-1001";
    let mut ua = Ua::new(&sb);
    let (a, b) = ("sip:1001@127.0.0.1:5071".to_string(), "sip:1001@127.0.0.1:5072".to_string());

    // The default configuration challenges with MD5 only (ADR-003).
    let (raw, chs) = ua.challenge("1001", "");
    assert_eq!(chs.len(), 1, "one challenge by default: {raw:?}");
    assert_eq!(chs[0].algorithm, Algorithm::Md5, "{raw:?}");

    // Two contacts in one REGISTER: the expires param beats the header.
    let extra = format!("Contact: <{a}>;expires=120, <{b}>\r\nExpires: 300\r\n");
    let r = ua.register("1001", pass, Algorithm::Md5, &extra);
    assert_eq!(r.status, 200, "{}", status_line(&r));
    let mut got = bindings(&r);
    got.sort();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].0, a);
    assert!((119..=120).contains(&got[0].1), "param expires=120: {got:?}");
    assert_eq!(got[1].0, b);
    assert!((299..=300).contains(&got[1].1), "header Expires: 300: {got:?}");
    assert!(r.headers.get(&HeaderName::Extension("Date".into())).is_some(), "200 carries Date");

    // Longer than max_expires is cut to 3600.
    let r = ua.register("1001", pass, Algorithm::Md5, &format!("Contact: <{b}>;expires=99999\r\n"));
    assert_eq!(r.status, 200, "{}", status_line(&r));
    let exp_b = bindings(&r).into_iter().find(|(c, _)| *c == b).unwrap().1;
    assert!((3599..=3600).contains(&exp_b), "capped at max_expires: {exp_b}");

    // Too brief: 423 with Min-Expires, nothing changes.
    let r = ua.register("1001", pass, Algorithm::Md5, "Contact: <sip:1001@127.0.0.1:5073>\r\nExpires: 10\r\n");
    assert_eq!(r.status, 423, "{}", status_line(&r));
    assert_eq!(r.headers.get(&HeaderName::MinExpires), Some("60"));

    // Query: no Contact, returns the bindings.
    let r = ua.register("1001", pass, Algorithm::Md5, "");
    assert_eq!(r.status, 200, "{}", status_line(&r));
    let mut contacts: Vec<String> = bindings(&r).into_iter().map(|(c, _)| c).collect();
    contacts.sort();
    assert_eq!(contacts, vec![a.clone(), b.clone()], "query lists both, not the 423'd one");

    // One contact removed with expires=0.
    let r = ua.register("1001", pass, Algorithm::Md5, &format!("Contact: <{a}>;expires=0\r\n"));
    assert_eq!(r.status, 200, "{}", status_line(&r));
    let contacts: Vec<String> = bindings(&r).into_iter().map(|(c, _)| c).collect();
    assert_eq!(contacts, vec![b.clone()]);

    // `Contact: *` without `Expires: 0` is refused.
    let r = ua.request("1001", "Contact: *\r\n");
    assert_eq!(r.status, 400, "{}", status_line(&r));
    assert!(r.reason.contains("Contact"), "reason names the problem: {}", r.reason);

    // `Contact: *` + `Expires: 0` removes all.
    let r = ua.register("1001", pass, Algorithm::Md5, "Contact: *\r\nExpires: 0\r\n");
    assert_eq!(r.status, 200, "{}", status_line(&r));
    assert!(bindings(&r).is_empty(), "all removed: {:?}", bindings(&r));
    let r = ua.register("1001", pass, Algorithm::Md5, "");
    assert_eq!(r.status, 200);
    assert!(bindings(&r).is_empty(), "query after unregister: {:?}", bindings(&r));
    let list = sb.admin_ok(&["extension", "list"]);
    assert!(!list.contains("sip:1001@"), "{list}");
}

#[test]
fn register_for_another_users_aor_is_forbidden() {
    let sb = Switchboard::start_with("").expect("start switchboard");
    sb.add_extension("1001", "victim-secret-1001");
    sb.add_extension("1002", "mallory-secret-1002");
    let mut ua = Ua::new(&sb);
    let extra = format!("Contact: <{}>\r\n", ua.contact("1002"));
    let (_, chs) = ua.challenge("1001", &extra);
    // Valid credentials of 1002, To: 1001.
    let (r, _) = ua.answer("1001", &chs[0], "1002", "mallory-secret-1002", 1, &extra);
    assert_eq!(r.status, 403, "authenticated but not authorized: {}", status_line(&r));
    let list = sb.admin_ok(&["extension", "list"]);
    assert!(!list.contains(&ua.contact("1002")), "no binding created: {list}");
    // 1002 may still register its own AOR from here.
    let r = ua.register("1002", "mallory-secret-1002", Algorithm::Md5, &extra);
    assert_eq!(r.status, 200, "{}", status_line(&r));
}

#[test]
fn nonce_count_replay_is_refused() {
    let sb = Switchboard::start_with("").expect("start switchboard");
    sb.add_extension("1001", "replay-secret-1001");
    let mut ua = Ua::new(&sb);
    let extra = format!("Contact: <{}>\r\n", ua.contact("1001"));
    let (_, chs) = ua.challenge("1001", &extra);
    let (r, sent) = ua.answer("1001", &chs[0], "1001", "replay-secret-1001", 1, &extra);
    assert_eq!(r.status, 200, "{}", status_line(&r));
    // The same Authorization (same nonce, same nc) in a new request.
    let r = ua.request("1001", &format!("Authorization: {}\r\n{extra}", sent.authorization));
    assert_eq!(r.status, 401, "replayed nc: {}", status_line(&r));
    // The nonce stays usable with a higher nc.
    let (r, _) = ua.answer("1001", &chs[0], "1001", "replay-secret-1001", 2, &extra);
    assert_eq!(r.status, 200, "nc=2 on the same nonce: {}", status_line(&r));
}

#[test]
fn expired_nonce_gets_stale_challenge() {
    // A nonce minted with the appliance's own key (read from its data dir)
    // but dated 1000 s ago: authentic, correct password, too old.
    let sb = Switchboard::start_with("").expect("start switchboard");
    sb.add_extension("1001", "stale-secret-1001");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let key = rt.block_on(async {
        let store = switchboard::store::Store::open(&sb.data_dir()).await.expect("open store");
        switchboard::store::server_key(&store).await.expect("server key")
    });
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let mut forger = switchboard::sip::auth::DigestServer::new("switchboard".into(), key, 300);
    let old = forger.challenge_headers(now - 1000, false);
    let ch = old.iter().map(|v| parse_challenge(v).unwrap()).find(|c| c.algorithm == Algorithm::Md5).expect("MD5 challenge");

    let mut ua = Ua::new(&sb);
    let extra = format!("Contact: <{}>\r\n", ua.contact("1001"));
    let (r, _) = ua.answer("1001", &ch, "1001", "stale-secret-1001", 1, &extra);
    assert_eq!(r.status, 401, "{}", status_line(&r));
    let www: Vec<&str> = r.headers.get_all(&HeaderName::WwwAuthenticate).collect();
    assert!(!www.is_empty() && www.iter().all(|v| v.contains("stale=true")), "stale=true: {www:?}");
    // A fresh challenge from that 401 works right away.
    let fresh = parse_challenge(www[0]).unwrap();
    assert!(fresh.stale);
    let (r, _) = ua.answer("1001", &fresh, "1001", "stale-secret-1001", 1, &extra);
    assert_eq!(r.status, 200, "{}", status_line(&r));
    // A wrong password with an old nonce is not called stale.
    let (r, _) = ua.answer("1001", &ch, "1001", "wrong-password", 1, &extra);
    assert_eq!(r.status, 401);
    assert!(r.headers.get_all(&HeaderName::WwwAuthenticate).all(|v| !v.contains("stale")), "no stale for a wrong password");
}

#[test]
fn bindings_survive_a_restart() {
    let mut sb = Switchboard::start_with("").expect("start switchboard");
    sb.add_extension("1001", "persist-secret-1001");
    let mut ua = Ua::new(&sb);
    let contact = ua.contact("1001");
    let r = ua.register("1001", "persist-secret-1001", Algorithm::Md5, &format!("Contact: <{contact}>\r\n"));
    assert_eq!(r.status, 200, "{}", status_line(&r));

    sb.stop();
    let list = sb.admin_ok(&["extension", "list"]);
    assert!(list.contains(&contact), "listed while stopped: {list}");
    sb.start().expect("restart");
    let list = sb.admin_ok(&["extension", "list"]);
    assert!(list.contains(&contact), "listed after restart: {list}");
    let r = ua.register("1001", "persist-secret-1001", Algorithm::Md5, "");
    assert_eq!(r.status, 200, "{}", status_line(&r));
    let got = bindings(&r);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, contact);
    assert!(got[0].1 > 3000, "expiry kept: {got:?}");
}
