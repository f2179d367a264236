//! Where a new call comes from and where it goes: trunk or extension on the
//! way in, registered contacts or the default trunk on the way out. The
//! dialplan engine replaces the DID map later; this stays the fallback.

use std::borrow::Cow;
use std::net::SocketAddr;

use super::Ctx;
use crate::config::DialClass;
use crate::sip::message::Request;
use crate::sip::resolve_host_port;
use crate::store::{unix_time, Binding, Trunk};

pub enum Target {
    /// Ring every live contact of the extension in parallel.
    Extension { number: String, bindings: Vec<Binding> },
    /// Out through a carrier trunk.
    Trunk { trunk: Trunk, addr: SocketAddr, number: String },
    /// Answered by the appliance itself.
    App(super::apps::AppKind),
}

/// An application number (IVR test, conference room), if `dialed` is one.
fn app_target(ctx: &Ctx, dialed: &str) -> Option<Target> {
    super::apps::AppKind::for_number(&ctx.config.apps, dialed).map(Target::App)
}

/// A routing failure with the status and reason phrase the caller gets.
pub struct Refusal(pub u16, pub Cow<'static, str>);

impl Refusal {
    pub fn new(status: u16, reason: impl Into<Cow<'static, str>>) -> Self {
        Refusal(status, reason.into())
    }
    /// The caller was already answered (e.g. a 407 challenge): nothing more to send.
    pub fn already_answered() -> Self {
        Refusal(0, Cow::Borrowed(""))
    }
}

/// The trunk a request came from, if any: the source must be the trunk's
/// address, or its IP when the request is addressed to one of the trunk's
/// DIDs or its registration user (carriers often send from other ports).
pub async fn trunk_of(ctx: &Ctx, source: SocketAddr, req: &Request) -> Option<Trunk> {
    let trunks = ctx.store.list_trunks().await.ok()?;
    let dialed = req.uri.user().unwrap_or_default();
    let mut ip_match = None;
    for t in trunks {
        let Ok(addr) = resolve_host_port(&t.host) else { continue };
        if addr == source {
            return Some(t);
        }
        if addr.ip() == source.ip() && ip_match.is_none() {
            let is_did = ctx.store.did(dialed).await.ok().flatten().map(|d| d.trunk == t.name).unwrap_or(false);
            if is_did || t.username.as_deref() == Some(dialed) {
                ip_match = Some(t);
            }
        }
    }
    ip_match
}

/// The dialplan, if one of its entries matches `dialed`.
fn dialplan_target(ctx: &Ctx, dialed: &str, trunk: Option<&str>) -> Option<Target> {
    ctx.dialplan.get().find_entry(dialed, trunk).map(|_| Target::App(super::apps::AppKind::Dialplan))
}

/// Routes a call from a trunk: the dialplan, the DID map, then an
/// extension of that number.
pub async fn from_trunk(ctx: &Ctx, trunk: &str, dialed: &str) -> Result<Target, Refusal> {
    if let Some(t) = dialplan_target(ctx, dialed, Some(trunk)) {
        return Ok(t);
    }
    let number = match ctx.store.did(dialed).await {
        Ok(Some(d)) if app_target(ctx, &d.extension).is_some() => {
            return app_target(ctx, &d.extension).ok_or(Refusal::new(404, "Not Found"));
        }
        Ok(Some(d)) => d.extension,
        Ok(None) => dialed.to_string(),
        Err(_) => return Err(Refusal::new(500, "Server Internal Error")),
    };
    extension_target(ctx, &number).await?.ok_or(Refusal::new(404, "Not Found"))
}

/// Routes a call from an extension: an application, another extension,
/// the dialplan (feature codes, patterns), else the default trunk, if the
/// caller's class of service (`[dialing]`) reaches the number.
pub async fn from_extension(ctx: &Ctx, caller: &str, dialed: &str) -> Result<Target, Refusal> {
    if let Some(app) = app_target(ctx, dialed) {
        return Ok(app);
    }
    if let Some(t) = extension_target(ctx, dialed).await? {
        return Ok(t);
    }
    if let Some(t) = dialplan_target(ctx, dialed, None) {
        return Ok(t);
    }
    if dialed.is_empty() || !dialed.bytes().all(|b| b.is_ascii_digit() || b == b'+' || b == b'*' || b == b'#') {
        return Err(Refusal::new(404, "Not Found"));
    }
    let class = match ctx.store.extension(caller).await {
        Ok(Some(x)) => DialClass::parse(&x.dial_class).unwrap_or(DialClass::Internal),
        Ok(None) => DialClass::Internal,
        Err(_) => return Err(Refusal::new(500, "Server Internal Error")),
    };
    if let Err(need) = ctx.config.dialing.allows(class, dialed) {
        tracing::warn!(caller, dialed, %class, %need, "call refused: the class of service does not reach this number");
        return Err(Refusal::new(403, format!("Forbidden - Class of service {class} does not allow {need} numbers")));
    }
    let trunk = match ctx.store.default_trunk().await {
        Ok(Some(t)) => t,
        Ok(None) => return Err(Refusal::new(404, "Not Found - No trunk for external numbers")),
        Err(_) => return Err(Refusal::new(500, "Server Internal Error")),
    };
    let addr = resolve_host_port(&trunk.host).map_err(|_| Refusal::new(503, "Service Unavailable - Trunk unresolvable"))?;
    Ok(Target::Trunk { trunk, addr, number: dialed.to_string() })
}

async fn extension_target(ctx: &Ctx, number: &str) -> Result<Option<Target>, Refusal> {
    match ctx.store.extension(number).await {
        Ok(Some(_)) => {}
        Ok(None) => return Ok(None),
        Err(_) => return Err(Refusal::new(500, "Server Internal Error")),
    }
    let bindings = ctx.store.bindings(number, unix_time()).await.map_err(|_| Refusal::new(500, "Server Internal Error"))?;
    if bindings.is_empty() {
        return Err(Refusal::new(480, "Temporarily Unavailable"));
    }
    Ok(Some(Target::Extension { number: number.to_string(), bindings }))
}
