//! Owns the client (UAC) side of digest authentication: reading a
//! `WWW-Authenticate` / `Proxy-Authenticate` value, choosing among several
//! (RFC 8760 §2.4), and producing the `Authorization` /
//! `Proxy-Authorization` value (RFC 3261 §22.2–§22.3, RFC 7616 §3.4).
//! Used for outbound trunk REGISTER/INVITE and by test clients. Sans-IO: the
//! caller supplies `cnonce` (random) and `nc` (its own per-nonce counter).
//! Must not touch the server's nonce or replay logic.

use super::algorithm::{self, Algorithm, QopInput};
use super::error::AuthError;
use super::params::{parse_digest, quote, split_list};

/// A parsed digest challenge we are able to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// `realm`, unescaped. Also tells the caller which credentials to use.
    pub realm: String,
    /// `nonce`, echoed verbatim.
    pub nonce: String,
    /// `opaque`, echoed verbatim if present (RFC 7616 §3.3: MUST be returned).
    pub opaque: Option<String>,
    /// `algorithm`; MD5 when absent (RFC 3261 §22.4).
    pub algorithm: Algorithm,
    /// Whether the server offered `qop` containing `auth`. When false we
    /// answer in the RFC 2069 form, which older SIP servers still use.
    pub qop_auth: bool,
    /// `stale=true`: the previous credentials were right but the nonce had
    /// expired; retry with the same password without asking the user.
    pub stale: bool,
}

/// Parses one challenge header value. Errors if it is not Digest, lacks
/// realm or nonce, uses an algorithm we do not implement, or offers only
/// qops we cannot do (e.g. only `auth-int`).
///
/// # Errors
///
/// `NotDigest`, `Malformed`, `MissingParam`, `UnsupportedAlgorithm` or
/// `UnsupportedQop`, as described on [`AuthError`].
pub fn parse_challenge(value: &str) -> Result<Challenge, AuthError> {
    let params = parse_digest(value)?;
    let realm = params.require("realm")?.to_owned();
    let nonce = params.require("nonce")?.to_owned();
    let algorithm = match params.get("algorithm") {
        Some(token) => Algorithm::parse(token)?,
        None => Algorithm::Md5,
    };
    let qop_auth = match params.get("qop") {
        None => false,
        Some(list) => {
            if !split_list(list).any(|q| q.eq_ignore_ascii_case("auth")) {
                return Err(AuthError::UnsupportedQop(list.chars().take(32).collect()));
            }
            true
        }
    };
    Ok(Challenge {
        realm,
        nonce,
        opaque: params.get("opaque").map(str::to_owned),
        algorithm,
        qop_auth,
        stale: params
            .get("stale")
            .is_some_and(|s| s.eq_ignore_ascii_case("true")),
    })
}

/// Picks the challenge to answer from all `WWW-Authenticate` (or all
/// `Proxy-Authenticate`) values of a response: the first SHA-256 one, else
/// the first MD5 one (RFC 8760 §2.4 asks servers to list preferred first;
/// we additionally prefer the stronger hash regardless of order, so a
/// middlebox reordering headers cannot downgrade us). Values we cannot
/// parse or answer are skipped.
pub fn select_challenge(values: &[&str]) -> Option<Challenge> {
    let parsed: Vec<Challenge> = values
        .iter()
        .filter_map(|v| parse_challenge(v).ok())
        .collect();
    Algorithm::PREFERENCE
        .iter()
        .find_map(|alg| parsed.iter().find(|c| c.algorithm == *alg).cloned())
}

impl Challenge {
    /// The credentials value answering this challenge for a request with
    /// `method` and Request-URI `uri` (RFC 3261 §22.4: `uri` must equal the
    /// Request-URI as sent).
    ///
    /// With qop=auth, `cnonce` should be fresh random text and `nc` the
    /// count of requests this client has sent with this nonce (starting at
    /// 1). Without qop (RFC 2069 form) both are ignored.
    ///
    /// Control characters in any argument are dropped from the header (they
    /// can never appear in valid credentials); the hash uses the arguments
    /// as given, so such input simply fails to authenticate.
    pub fn authorization(
        &self,
        method: &str,
        uri: &str,
        username: &str,
        password: &str,
        cnonce: &str,
        nc: u32,
    ) -> String {
        let alg = self.algorithm;
        let ha1 = algorithm::ha1(alg, username, &self.realm, password);
        let mut out = format!(
            "Digest username={}, realm={}, nonce={}, uri={}",
            quote(username),
            quote(&self.realm),
            quote(&self.nonce),
            quote(uri)
        );
        if self.qop_auth {
            let nc = format!("{nc:08x}");
            let response = algorithm::response(
                alg,
                &ha1,
                &self.nonce,
                method,
                uri,
                QopInput::Auth { nc: &nc, cnonce },
            );
            // RFC 7616 §3.4: algorithm, qop and nc are tokens, not quoted.
            out.push_str(&format!(
                ", response=\"{response}\", algorithm={alg}, cnonce={}, qop=auth, nc={nc}",
                quote(cnonce)
            ));
        } else {
            let response = algorithm::response(alg, &ha1, &self.nonce, method, uri, QopInput::None);
            out.push_str(&format!(", response=\"{response}\", algorithm={alg}"));
        }
        if let Some(opaque) = &self.opaque {
            out.push_str(&format!(", opaque={}", quote(opaque)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7616 §3.9.1 challenge, both algorithms, SHA-256 first.
    const RFC_SHA256: &str = "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm=SHA-256, \
        nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";
    const RFC_MD5: &str = "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm=MD5, \
        nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";
    const CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

    fn response_of(auth: &str) -> String {
        parse_digest(auth)
            .unwrap()
            .get("response")
            .unwrap()
            .to_owned()
    }

    #[test]
    fn rfc7616_3_9_1_via_client() {
        let md5 = parse_challenge(RFC_MD5).unwrap();
        let auth = md5.authorization(
            "GET",
            "/dir/index.html",
            "Mufasa",
            "Circle of Life",
            CNONCE,
            1,
        );
        assert_eq!(response_of(&auth), "8ca523f5e9506fed4657c9700eebdbec");
        assert!(
            auth.contains("nc=00000001")
                && auth.contains("qop=auth,")
                && auth.contains("algorithm=MD5")
        );
        assert!(auth.contains("opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""));

        let sha = parse_challenge(RFC_SHA256).unwrap();
        let auth = sha.authorization(
            "GET",
            "/dir/index.html",
            "Mufasa",
            "Circle of Life",
            CNONCE,
            1,
        );
        assert_eq!(
            response_of(&auth),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
    }

    #[test]
    fn selection_prefers_sha256_whatever_the_order() {
        assert_eq!(
            select_challenge(&[RFC_MD5, RFC_SHA256]).unwrap().algorithm,
            Algorithm::Sha256
        );
        assert_eq!(
            select_challenge(&[RFC_SHA256, RFC_MD5]).unwrap().algorithm,
            Algorithm::Sha256
        );
        let sess = "Digest realm=\"r\", nonce=\"n\", algorithm=SHA-256-sess, qop=\"auth\"";
        assert_eq!(
            select_challenge(&[sess, RFC_MD5]).unwrap().algorithm,
            Algorithm::Md5
        );
        assert_eq!(select_challenge(&["Basic realm=\"x\"", sess]), None);
        assert_eq!(select_challenge(&[]), None);
    }

    #[test]
    fn rfc2069_form_without_qop() {
        // RFC 2617 §3.5 example values, answered without qop (RFC 2069 form).
        let c = parse_challenge(
            "Digest realm=\"testrealm@host.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\"",
        )
        .unwrap();
        assert!(!c.qop_auth);
        assert_eq!(c.algorithm, Algorithm::Md5);
        let auth = c.authorization(
            "GET",
            "/dir/index.html",
            "Mufasa",
            "Circle Of Life",
            "ignored",
            1,
        );
        assert!(!auth.contains("qop") && !auth.contains("nc=") && !auth.contains("cnonce"));
        let ha1 = algorithm::ha1(
            Algorithm::Md5,
            "Mufasa",
            "testrealm@host.com",
            "Circle Of Life",
        );
        let expected = algorithm::response(
            Algorithm::Md5,
            &ha1,
            "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            "GET",
            "/dir/index.html",
            QopInput::None,
        );
        assert_eq!(response_of(&auth), expected);
    }

    #[test]
    fn challenge_errors() {
        assert_eq!(
            parse_challenge("Basic realm=\"x\""),
            Err(AuthError::NotDigest)
        );
        assert_eq!(
            parse_challenge("Digest nonce=\"n\""),
            Err(AuthError::MissingParam("realm"))
        );
        assert_eq!(
            parse_challenge("Digest realm=\"r\""),
            Err(AuthError::MissingParam("nonce"))
        );
        assert!(matches!(
            parse_challenge("Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\""),
            Err(AuthError::UnsupportedQop(_))
        ));
        assert!(
            parse_challenge("Digest realm=\"r\", nonce=\"n\", stale=TRUE")
                .unwrap()
                .stale
        );
        assert!(
            !parse_challenge("Digest realm=\"r\", nonce=\"n\", stale=false")
                .unwrap()
                .stale
        );
    }

    #[test]
    fn hostile_arguments_cannot_inject_headers() {
        let c = parse_challenge(RFC_MD5).unwrap();
        let auth = c.authorization("REGISTER", "sip:pbx\r\nVia: x", "a\"b\\", "pw", "c\"n", 1);
        assert!(!auth.contains('\r') && !auth.contains('\n'));
        let p = parse_digest(&auth).unwrap();
        assert_eq!(p.get("username"), Some("a\"b\\"));
        assert_eq!(p.get("cnonce"), Some("c\"n"));
    }
}
