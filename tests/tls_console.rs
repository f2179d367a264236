//! The console over HTTPS against the real binary, with a rustls client
//! that trusts exactly what each step says: the first start generates the
//! certificate (key 0600) and HTTPS serves it; a login over HTTPS gets a
//! `Secure` `__Host-` cookie that only HTTPS reads, and HSTS; an uploaded
//! chain (tests/tls) is served to new connections without a restart while
//! a mismatched key is refused with a clear error (settings page and JSON
//! API), audited; "regenerate" serves a new self-signed one.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::http::{form, request, Resp};
use common::switchboard::Switchboard;
use common::tls::{connect, https, pem_certs, presented};
use rustls::pki_types::CertificateDer;

const PW: &str = "a long passphrase";

fn tls_material(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tls").join(name)
}

fn generated(sb: &Switchboard) -> Vec<CertificateDer<'static>> {
    pem_certs(&sb.data_dir().join("tls/server.pem"))
}

/// An admin's HTTPS session: (cookie header value, CSRF token).
fn https_login(sb: &Switchboard, roots: &[CertificateDer<'static>]) -> (String, String) {
    let made = sb.admin_stdin(&["user", "add", "root", "--role", "admin"], &format!("{PW}\n"));
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let body = form(&[("username", "root"), ("password", PW), ("next", "")]);
    let (r, _) = https(sb.https_port, roots, "localhost", "POST", "/login", &[("Content-Type", "application/x-www-form-urlencoded")], &body).expect("https login");
    assert_eq!(r.status, 303, "{r:?}");
    let (token, whole) = r.set_cookie("__Host-sb_session").unwrap_or_else(|| panic!("a __Host- cookie over HTTPS: {:?}", r.headers));
    for part in ["; Secure", "; HttpOnly", "; SameSite=Strict", "; Path=/"] {
        assert!(whole.contains(part), "{part} in {whole}");
    }
    assert!(!whole.contains("Domain"), "__Host- cookies carry no Domain: {whole}");
    assert!(r.set_cookie("sb_session").is_none(), "not the plain-HTTP name: {:?}", r.headers);
    let cookie = format!("__Host-sb_session={token}");
    let (page, _) = https(sb.https_port, roots, "localhost", "GET", "/settings", &[("Cookie", &cookie)], b"").expect("settings over https");
    assert_eq!(page.status, 200, "the cookie set over HTTPS is read over HTTPS: {}", page.body);
    (cookie, page.csrf_token())
}

fn post_settings(sb: &Switchboard, roots: &[CertificateDer<'static>], session: &(String, String), path: &str, fields: &[(&str, &str)]) -> Resp {
    let mut all = vec![("_csrf", session.1.as_str())];
    all.extend_from_slice(fields);
    let headers = [("Cookie", session.0.as_str()), ("Content-Type", "application/x-www-form-urlencoded")];
    https(sb.https_port, roots, "localhost", "POST", path, &headers, &form(&all)).expect("https post").0
}

#[test]
fn first_start_generates_a_certificate_that_https_serves_with_secure_cookies() {
    let sb = Switchboard::start_with("").expect("start switchboard");
    let tls = sb.data_dir().join("tls");
    let mode = |p: &Path| std::fs::metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).permissions().mode() & 0o777;
    assert_eq!(mode(&tls.join("server.key")), 0o600, "the key is the owner's only");
    assert_eq!(mode(&tls), 0o700);
    let roots = generated(&sb);
    assert_eq!(roots.len(), 1, "one self-signed certificate");
    let log = sb.log();
    assert!(log.contains(&format!("HTTPS    https://127.0.0.1:{}/", sb.https_port)), "{log}");
    let fingerprint = switchboard::tls::fingerprint(&roots[0]);
    assert!(log.contains(&format!("TLS certificate generated, SHA-256 fingerprint {fingerprint}")), "fingerprint logged: {log}");

    // HTTPS answers with exactly that certificate, for its name and its address.
    let (r, chain) = https(sb.https_port, &roots, "localhost", "GET", "/healthz", &[], b"").expect("https /healthz");
    assert_eq!((r.status, r.body.as_str()), (200, "ok"), "{r:?}");
    assert_eq!(chain, roots);
    assert!(r.header("strict-transport-security").is_some_and(|h| h.starts_with("max-age=") && !h.contains("preload")), "{:?}", r.headers);
    let (r, _) = https(sb.https_port, &roots, "127.0.0.1", "GET", "/healthz", &[], b"").expect("the IP address is named too");
    assert_eq!(r.status, 200);
    let untrusted = connect(sb.https_port, &pem_certs(&tls_material("ca.pem")), "localhost");
    assert!(untrusted.as_ref().err().is_some_and(|e| e.contains("UnknownIssuer")), "another root does not verify it: {:?}", untrusted.err());
    // Plain HTTP goes on, without HSTS; a client cannot claim HTTPS with the internal mark.
    let plain = request(sb.http_port, "GET", "/healthz", &[("x-switchboard-listener", "https")], b"");
    assert_eq!(plain.status, 200);
    assert!(plain.header("strict-transport-security").is_none(), "{:?}", plain.headers);

    let session = https_login(&sb, &roots);
    // Each listener reads its own cookie name only (browsers never send a
    // Secure cookie over HTTP anyway): HTTP ignores the __Host- one...
    let token = session.0.trim_start_matches("__Host-sb_session=");
    let over_http = request(sb.http_port, "GET", "/settings", &[("Cookie", &session.0)], b"");
    assert_eq!(over_http.status, 303, "not logged in over HTTP: {:?}", over_http.headers);
    let (wrong_name, _) = https(sb.https_port, &roots, "localhost", "GET", "/settings", &[("Cookie", &format!("sb_session={token}"))], b"").unwrap();
    assert_eq!(wrong_name.status, 303, "...and HTTPS reads only the __Host- cookie");
    // Login over plain HTTP still works, with the plain cookie.
    let r = request(sb.http_port, "POST", "/login", &[("Content-Type", "application/x-www-form-urlencoded")], &form(&[("username", "root"), ("password", PW), ("next", "")]));
    let (_, whole) = r.set_cookie("sb_session").unwrap_or_else(|| panic!("plain cookie over HTTP: {r:?}"));
    assert!(!whole.contains("Secure"), "{whole}");

    // The settings page shows what is served.
    let (page, _) = https(sb.https_port, &roots, "localhost", "GET", "/settings", &[("Cookie", &session.0)], b"").unwrap();
    assert!(page.body.contains(&fingerprint) && page.body.contains("self-signed") && page.body.contains("DNS:localhost"), "{}", page.body);
}

#[test]
fn an_uploaded_certificate_is_served_to_new_connections_and_a_wrong_key_is_refused() {
    let sb = Switchboard::start_with("").expect("start switchboard");
    let roots = generated(&sb);
    let generated_key = std::fs::read_to_string(sb.data_dir().join("tls/server.key")).unwrap();
    let session = https_login(&sb, &roots);
    let leaf = std::fs::read_to_string(tls_material("localhost.pem")).unwrap();
    let ca_pem = std::fs::read_to_string(tls_material("ca.pem")).unwrap();
    let key = std::fs::read_to_string(tls_material("localhost.key")).unwrap();
    let ca = pem_certs(&tls_material("ca.pem"));

    // A key that is not the certificate's: refused, nothing changes.
    let r = post_settings(&sb, &roots, &session, "/settings/tls", &[("certificate", &leaf), ("key", &generated_key)]);
    assert_eq!(r.status, 303);
    let location = r.header("location").unwrap_or_default().to_string();
    assert!(location.starts_with("/settings?err=") && location.contains("does%20not%20belong%20to%20the%20certificate"), "{location}");
    assert!(connect(sb.https_port, &roots, "localhost").is_ok(), "still the generated certificate");
    // Out of order (the CA first): refused too.
    let r = post_settings(&sb, &roots, &session, "/settings/tls", &[("certificate", &format!("{ca_pem}{leaf}")), ("key", &key)]);
    assert!(r.header("location").is_some_and(|l| l.contains("out%20of%20order")), "{:?}", r.headers);

    // The leaf with its CA and key: new connections get it at once.
    let r = post_settings(&sb, &roots, &session, "/settings/tls", &[("certificate", &format!("{leaf}{ca_pem}")), ("key", &key)]);
    assert!(r.header("location").is_some_and(|l| l.starts_with("/settings?ok=")), "{:?}", r.headers);
    let s = connect(sb.https_port, &ca, "localhost").expect("verifies against the test CA");
    assert_eq!(presented(&s).len(), 2, "leaf and CA are served");
    assert_eq!(presented(&s)[0], pem_certs(&tls_material("localhost.pem"))[0]);
    assert!(connect(sb.https_port, &roots, "localhost").is_err(), "the generated certificate is gone");
    assert_eq!(std::fs::read_to_string(sb.data_dir().join("tls/server.key")).unwrap(), key, "stored");
    let mode = std::fs::metadata(sb.data_dir().join("tls/server.key")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let (page, _) = https(sb.https_port, &ca, "localhost", "GET", "/settings", &[("Cookie", &session.0)], b"").unwrap();
    assert!(page.body.contains("CN=switchboard test CA") && page.body.contains("CN=localhost"), "{}", page.body);
    let (audit, _) = https(sb.https_port, &ca, "localhost", "GET", "/audit", &[("Cookie", &session.0)], b"").unwrap();
    assert!(audit.body.contains("tls.replace"), "audited: {}", audit.body);

    // The JSON API: what is served, a wrong key refused at its field, regenerate.
    let key_header = format!("Bearer {}", sb.key());
    let auth = [("Authorization", key_header.as_str()), ("Content-Type", "application/json")];
    let got = request(sb.http_port, "GET", "/api/v1/tls/certificate", &auth, b"");
    let v: serde_json::Value = serde_json::from_str(&got.body).unwrap_or_else(|e| panic!("{e}: {}", got.body));
    assert_eq!((got.status, v["subject"].as_str(), v["self_signed"].as_bool(), v["chain_length"].as_u64()), (200, Some("CN=localhost"), Some(false), Some(2)), "{v}");
    assert_eq!(v["fingerprint_sha256"].as_str(), Some(switchboard::tls::fingerprint(&ca_leaf()).as_str()));
    let bad = serde_json::json!({ "certificate": leaf, "key": generated_key }).to_string();
    let r = request(sb.http_port, "PUT", "/api/v1/tls/certificate", &auth, bad.as_bytes());
    let e: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!((r.status, e["field"].as_str()), (422, Some("key")), "{}", r.body);
    assert!(e["error"].as_str().is_some_and(|m| m.contains("does not belong to the certificate")), "{}", r.body);
    let no_auth = request(sb.http_port, "POST", "/api/v1/tls/certificate/regenerate", &[], b"");
    assert_eq!(no_auth.status, 401);
    let r = request(sb.http_port, "POST", "/api/v1/tls/certificate/regenerate", &auth, b"");
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body));
    assert_eq!((r.status, v["self_signed"].as_bool()), (200, Some(true)), "{}", r.body);
    let fresh = generated(&sb);
    assert_ne!(fresh, roots, "a new certificate");
    assert_eq!(v["fingerprint_sha256"].as_str(), Some(switchboard::tls::fingerprint(&fresh[0]).as_str()));
    let s = connect(sb.https_port, &fresh, "localhost").expect("the regenerated one is served");
    assert_eq!(presented(&s), fresh);
    let (audit, _) = https(sb.https_port, &fresh, "localhost", "GET", "/audit", &[("Cookie", &session.0)], b"").unwrap();
    assert!(audit.body.contains("tls.regenerate"), "audited: {}", audit.body);
}

fn ca_leaf() -> CertificateDer<'static> {
    pem_certs(&tls_material("localhost.pem")).remove(0)
}
