//! REGISTER handling (RFC 3261 §10.3): authenticate, apply the registrar's
//! plan to the store, answer 200 with every current binding.

use super::auth::{authenticate, AuthOutcome};
use super::{build, Ctx};
use crate::sip::message::{HeaderName, Request};
use crate::sip::registrar::{is_query, plan_register, BindingOp, BindingView, ExpiresPolicy, RegisterError};
use crate::sip::transaction::{Peer, TransactionKey, Transport};
use crate::store::{unix_time, Binding};

pub async fn handle(ctx: &Ctx, key: TransactionKey, req: Request, source: Peer) {
    let respond = |status: u16, reason: &str| {
        let mut resp = build::response(ctx, &req, status, reason);
        build::ensure_to_tag(&mut resp);
        ctx.endpoint.respond(&key, resp);
    };
    // §10.3 step 5: the address of record comes from To.
    let aor = match req.headers.to_addr() {
        Ok(to) => match to.uri.user() {
            Some(u) if !u.is_empty() => u.to_string(),
            _ => return respond(404, "Not Found"),
        },
        Err(e) => return respond(400, &e.reason),
    };
    let user = match authenticate(ctx, &req, &source, &aor, false).await {
        AuthOutcome::Ok(user) => user,
        AuthOutcome::Reject(resp) => return ctx.endpoint.respond(&key, resp),
    };
    // §10.3 step 6: an authenticated user may only bind its own AOR.
    if user != aor {
        tracing::warn!(src = %source.addr, user, aor, "REGISTER for another address of record");
        return respond(403, "Forbidden - Not your address of record");
    }
    let now = unix_time();
    let existing = match ctx.store.bindings(&aor, now).await {
        Ok(b) => b,
        Err(e) => {
            tracing::error!("registrar store: {e}");
            return respond(500, "Server Internal Error");
        }
    };
    if !is_query(&req) {
        let views: Vec<BindingView> = existing
            .iter()
            .map(|b| BindingView {
                contact: b.contact.clone(),
                call_id: b.call_id.clone(),
                cseq: b.cseq as u32,
                expires_at: b.expires_at,
                q: b.q,
            })
            .collect();
        let policy = ExpiresPolicy {
            min: ctx.config.sip.min_expires,
            max: ctx.config.sip.max_expires,
            default: ctx.config.sip.default_expires,
        };
        let ops = match plan_register(&req, &views, now, policy) {
            Ok(ops) => ops,
            Err(RegisterError::IntervalTooBrief { min }) => {
                let mut resp = build::response(ctx, &req, 423, "Interval Too Brief");
                resp.headers.push(HeaderName::MinExpires, min.to_string());
                build::ensure_to_tag(&mut resp);
                return ctx.endpoint.respond(&key, resp);
            }
            Err(e) => return respond(e.status(), &e.to_string()),
        };
        let user_agent = req.headers.get(&HeaderName::UserAgent).unwrap_or("").to_string();
        let transport = match source.transport {
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
            _ => "udp",
        };
        for op in ops {
            let result = match op {
                BindingOp::RemoveAll => ctx.store.remove_all_bindings(&aor).await,
                BindingOp::Remove(contact) => ctx.store.remove_binding(&aor, &contact).await,
                BindingOp::Upsert(v) => {
                    ctx.store
                        .upsert_binding(&Binding {
                            aor: aor.clone(),
                            contact: v.contact,
                            source: source.addr.to_string(),
                            transport: transport.to_string(),
                            call_id: v.call_id,
                            cseq: i64::from(v.cseq),
                            expires_at: v.expires_at,
                            q: v.q,
                            user_agent: user_agent.clone(),
                        })
                        .await
                }
            };
            if let Err(e) = result {
                tracing::error!("registrar store: {e}");
                return respond(500, "Server Internal Error");
            }
        }
    }
    let current = ctx.store.bindings(&aor, now).await.unwrap_or_default();
    tracing::info!(src = %source.addr, aor, contacts = current.len(), "registered");
    let mut resp = build::response(ctx, &req, 200, "OK");
    for b in &current {
        resp.headers.push(HeaderName::Contact, format!("<{}>;expires={}", b.contact, (b.expires_at - now).max(0)));
    }
    resp.headers.push(HeaderName::Extension("Date".into()), httpdate_now());
    build::ensure_to_tag(&mut resp);
    ctx.endpoint.respond(&key, resp);
}

/// RFC 1123 date for the Date header (§20.17), which phones use to set clocks.
fn httpdate_now() -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let secs = unix_time().max(0);
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil-from-days (proleptic Gregorian), valid for all post-1970 dates.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        d,
        MONTHS[(m - 1) as usize],
        y,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
