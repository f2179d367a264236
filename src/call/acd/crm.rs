//! The screen pop's customer record for a caller about to join a queue: the
//! customers table first, then the optional CRM webhook (`[cti] crm_url`).
//! Runs in the caller's own task before it joins, so the ACD task never
//! waits on the network and the record is in the offer before any phone
//! rings. Owns only the lookup order; the HTTP exchange is the dialplan's
//! webhook client.

use std::collections::BTreeMap;

use crate::call::Ctx;
use crate::dialplan::{HttpMethod, HttpRequest};

/// The record shown for `number`, or `None` when nobody knows the caller
/// (or the lookup failed; a failure is logged, never fatal to the call).
pub async fn customer_for(ctx: &Ctx, number: &str, did: &str, queue: &str) -> Option<BTreeMap<String, String>> {
    match ctx.store.customer_by_phone(number).await {
        Ok(Some(c)) => return Some(c.vars()),
        Ok(None) => {}
        Err(e) => tracing::warn!("customer lookup failed: {e}"),
    }
    let cti = &ctx.config.cti;
    if cti.crm_url.is_empty() || number.is_empty() {
        return None;
    }
    let vars = BTreeMap::from([
        ("caller".to_string(), number.to_string()),
        ("did".to_string(), did.to_string()),
        ("queue".to_string(), queue.to_string()),
    ]);
    let req = HttpRequest { method: HttpMethod::Get, url: cti.crm_url.clone(), vars, timeout_ms: cti.crm_timeout_ms };
    match crate::dialplan::webhook::call(&req).await {
        Ok(fields) if fields.is_empty() => None,
        Ok(mut fields) => {
            // Lets a panel tell a CRM record from one kept here.
            fields.entry("source".into()).or_insert_with(|| "crm".into());
            Some(fields)
        }
        Err(e) => {
            tracing::warn!(url = %cti.crm_url, "CRM lookup failed: {e}");
            None
        }
    }
}
