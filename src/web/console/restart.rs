//! "Restart now", admin only: the button (on the settings and backup
//! pages, saying how many calls it would cut off) and `POST
//! /settings/restart`, which audits the request and asks the core to end
//! the process with `crate::app::RESTART_EXIT_CODE` for its supervisor
//! (systemd) to start it again, applying saved settings and a staged
//! restore. Must not stop anything itself.

use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use maud::{html, Markup};

use super::forms::{csrf, render_status, viewer_at_least};
use super::{see_other, urlencode, Peer, Viewer};
use crate::store::Role;
use crate::web::CoreApi;

/// "Restart now", with what it costs.
pub(super) fn form(v: &Viewer, live_calls: usize) -> Markup {
    let warn = match live_calls {
        0 => "Restart the appliance now?".to_string(),
        1 => "Restart now? The call in progress is cut off.".to_string(),
        n => format!("Restart now? The {n} calls in progress are cut off."),
    };
    html! {
        form.inline method="post" action="/settings/restart" data-confirm=(warn) {
            (csrf(v))
            button.danger type="submit" id="restart-now" { "Restart now" }
            @if live_calls > 0 { span.muted { (live_calls) " calls in progress would be cut off." } }
        }
    }
}

/// `POST /settings/restart`: ends the process for its supervisor to start it again.
pub async fn submit<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri) -> Response {
    let v = match viewer_at_least(&*core, &headers, &uri, &peer, Role::Admin).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let calls = core.live_calls().len();
    v.audit("appliance.restart", "", &format!("from the console; {calls} calls in progress")).await;
    if !core.restart() {
        return see_other(&format!("/settings?err={}", urlencode("This appliance cannot restart itself.")));
    }
    let body = html! {
        div.card id="restarting" {
            h2 { "Restarting" }
            p { "The appliance is stopping (exit code " (crate::app::RESTART_EXIT_CODE) "). Under systemd it starts again in a few seconds, applying saved settings and any staged restore; started by hand (make run), start it again." }
            p { a href="/settings" { "Back to the settings" } " (log in again after a restore)." }
        }
    };
    render_status(&v, "/settings", "Settings", None, body, StatusCode::OK)
}
