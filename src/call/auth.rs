//! Digest authentication of extensions (REGISTER with 401, INVITE with 407)
//! on top of `sip::auth`: fetches the HA1 from the store, keeps the failure
//! count per source and user, reports every failure of a source address to
//! the attack guard (`sip::guard`, which bans the address across all
//! usernames), and turns every outcome into a response.

use super::{build, Ctx};
use crate::sip::auth::{credentials_username, Algorithm, AuthError};
use crate::sip::message::{HeaderName, Request, Response};
use crate::sip::transaction::Peer;

pub enum AuthOutcome {
    /// Authenticated as this extension.
    Ok(String),
    /// Answer with this (challenge, 403 or 400).
    Reject(Response),
}

fn unix_now() -> u64 {
    crate::store::unix_time().max(0) as u64
}

/// Authenticates `req` as extension `user`. `proxy` selects 407 and the
/// Proxy-* headers (INVITE) instead of 401 (REGISTER).
pub async fn authenticate(ctx: &Ctx, req: &Request, source: &Peer, user: &str, proxy: bool) -> AuthOutcome {
    let (challenge_status, challenge_reason, challenge_hdr, cred_hdr) = if proxy {
        (407, "Proxy Authentication Required", HeaderName::ProxyAuthenticate, HeaderName::ProxyAuthorization)
    } else {
        (401, "Unauthorized", HeaderName::WwwAuthenticate, HeaderName::Authorization)
    };
    let now = unix_now();
    let challenge = |stale: bool| {
        let mut resp = build::response(ctx, req, challenge_status, challenge_reason);
        let values = ctx.digest.lock().map(|mut d| d.challenge_headers(now, stale)).unwrap_or_default();
        for v in values {
            resp.headers.push(challenge_hdr.clone(), v);
        }
        build::ensure_to_tag(&mut resp);
        AuthOutcome::Reject(resp)
    };
    let forbidden = |reason: &str| {
        let mut resp = build::response(ctx, req, 403, reason);
        build::ensure_to_tag(&mut resp);
        AuthOutcome::Reject(resp)
    };

    // Pick the credentials for our realm if several are present.
    let realm = ctx.config.sip.realm.clone();
    let creds: Vec<&str> = req.headers.get_all(&cred_hdr).collect();
    let cred = creds.iter().find(|c| c.contains(&format!("\"{realm}\""))).or(creds.first()).copied();
    // The account whose password is being tried: the credentials' username
    // (which may differ from the user the request is for), else that user.
    let cred_user = cred.and_then(credentials_username);
    let account = cred_user.as_deref().unwrap_or(user);
    let failure_key = format!("{}/{}", source.addr.ip(), account);
    // A blocked source gets 403 whatever it sends, correct credentials
    // included: otherwise a guesser keeps trying answers to one nonce and
    // the block slows it down not at all.
    let blocked = ctx.failures.lock().map(|f| f.is_blocked(now, &failure_key)).unwrap_or(false);
    if blocked {
        tracing::warn!(src = %source.addr, user = account, "authentication refused: too many failures");
        if cred.is_some() {
            // Another guess at a blocked account still counts towards
            // banning the address.
            ctx.guard.auth_failure(source.addr.ip());
        }
        return forbidden("Forbidden");
    }
    let Some(cred) = cred else {
        return challenge(false);
    };
    let ext = match ctx.store.extension(account).await {
        Ok(e) => e,
        Err(e) => {
            tracing::error!("auth lookup failed: {e}");
            let mut resp = build::response(ctx, req, 500, "Server Internal Error");
            build::ensure_to_tag(&mut resp);
            return AuthOutcome::Reject(resp);
        }
    };
    let result = ctx.digest.lock().map(|mut d| {
        d.verify(now, req.method.as_str(), cred, |name, alg| {
            let e = ext.as_ref().filter(|e| e.number == name)?;
            Some(match alg {
                Algorithm::Md5 => e.ha1_md5.clone(),
                Algorithm::Sha256 => e.ha1_sha256.clone(),
            })
        })
    });
    match result {
        Ok(Ok(verified)) => {
            if let Ok(mut f) = ctx.failures.lock() {
                f.record_success(&failure_key);
            }
            if verified.username != user {
                // RFC 3261 §10.3 step 6 / §22.3: authenticated, but as
                // someone else than the request is for.
                tracing::warn!(src = %source.addr, user, authenticated = verified.username, "credentials of another user");
                return forbidden("Forbidden - Credentials are for another user");
            }
            AuthOutcome::Ok(verified.username)
        }
        Ok(Err(e)) if e.is_stale() => challenge(true),
        Ok(Err(e)) if e.counts_as_failure() => {
            let count = ctx.failures.lock().map(|mut f| f.record_failure(now, &failure_key)).unwrap_or(0);
            ctx.guard.auth_failure(source.addr.ip());
            tracing::warn!(src = %source.addr, user = account, count, "authentication failed: {e}");
            let blocked = ctx.failures.lock().map(|f| f.is_blocked(now, &failure_key)).unwrap_or(false);
            if blocked {
                forbidden("Forbidden")
            } else {
                challenge(false)
            }
        }
        Ok(Err(e)) => {
            tracing::warn!(src = %source.addr, user = account, "bad credentials: {e}");
            match e {
                AuthError::Malformed(_) | AuthError::MissingParam(_) => {
                    let mut resp = build::response(ctx, req, 400, &format!("Bad Request - {e}"));
                    build::ensure_to_tag(&mut resp);
                    AuthOutcome::Reject(resp)
                }
                _ => challenge(false),
            }
        }
        Err(_) => forbidden("Forbidden"),
    }
}

/// Our INVITE again with credentials for a carrier's 401/407 challenge (a
/// trunk's username and secret), next CSeq and a new branch; `None` when the
/// trunk has no credentials or the challenge is unusable.
pub fn invite_with_credentials(ctx: &Ctx, invite: &Request, dest: &Peer, resp: &Response, trunk: &crate::store::Trunk) -> Option<Request> {
    use crate::sip::message::{CSeq, Method};
    let (user, secret) = (trunk.username.as_deref()?, trunk.secret.as_deref()?);
    let (challenge_hdr, cred_hdr) = if resp.status == 407 {
        (HeaderName::ProxyAuthenticate, HeaderName::ProxyAuthorization)
    } else {
        (HeaderName::WwwAuthenticate, HeaderName::Authorization)
    };
    let values: Vec<&str> = resp.headers.get_all(&challenge_hdr).collect();
    let challenge = crate::sip::auth::select_challenge(&values)?;
    let mut req = invite.clone();
    let cseq = req.headers.cseq().ok()?;
    req.headers.set(HeaderName::CSeq, CSeq { seq: cseq.seq + 1, method: Method::Invite }.to_string());
    req.headers.set(HeaderName::Via, build::via(ctx, dest));
    let cnonce = crate::sip::transaction::new_tag();
    req.headers.push(cred_hdr, challenge.authorization("INVITE", &req.uri.to_string(), user, secret, &cnonce, 1));
    Some(req)
}
