//! The call simulator on the dialplans page, admin only: a call (DID,
//! caller, trunk, time) and scripted answers (DTMF for menus and
//! collections, a customer lookup, a webhook) run through the plan on disk
//! with `dialplan::simulate_with`, the code behind `switchboard dialplan
//! simulate`; the steps are printed as the CLI prints them. A GET form: it
//! changes nothing and a result can be linked. The checks and the run
//! (`SimForm::prepare`, `simulate`) are shared with
//! `GET /api/v1/dialplans/simulate`. Must not place calls.

use std::sync::Arc;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use maud::{html, Markup};
use serde::Deserialize;

use super::dialplan_files::read_all;
use super::dialplans::{admin, list_page, plan_dir};
use super::layout::field;
use super::Peer;
use crate::dialplan::simulate::{parse_kv_list, SimAnswers};
use crate::web::CoreApi;

/// The simulator's inputs, as `dialplan simulate` takes them.
#[derive(Debug, Deserialize, Default)]
pub struct SimForm {
    #[serde(default)]
    did: String,
    #[serde(default)]
    caller: String,
    #[serde(default)]
    trunk: String,
    /// RFC 3339; empty: now.
    #[serde(default)]
    at: String,
    /// Answers to successive menus and collections, comma separated; an
    /// empty item is a timeout.
    #[serde(default)]
    digits: String,
    /// `k=v,...`: every lookup finds a customer with these fields.
    #[serde(default)]
    lookup: String,
    /// `k=v,...`: every webhook answers these fields.
    #[serde(default)]
    http: String,
}

#[derive(Debug, Default)]
pub struct SimErrors {
    did: Option<String>,
    at: Option<String>,
    lookup: Option<String>,
    http: Option<String>,
}

impl SimErrors {
    /// The first field at fault and why.
    pub(in crate::web) fn first(&self) -> Option<(&'static str, &str)> {
        [("did", &self.did), ("at", &self.at), ("lookup", &self.lookup), ("http", &self.http)]
            .into_iter()
            .find_map(|(f, e)| e.as_deref().map(|m| (f, m)))
    }
}

/// A checked simulation request: the call, the DTMF answers (an empty one
/// is a timeout) and the scripted lookup and webhook answers.
pub(in crate::web) struct SimCall {
    call: crate::dialplan::CallInfo,
    digits: String,
    answers: SimAnswers,
}

impl SimForm {
    /// Checks the inputs (a dialled number, an RFC 3339 time or none, `k=v`
    /// lists), each problem at its field.
    pub(in crate::web) fn prepare(&self) -> Result<SimCall, SimErrors> {
        let mut e = SimErrors::default();
        let did = self.did.trim();
        if did.is_empty() {
            e.did = Some("the dialled number is required".into());
        }
        let now = match self.at.trim() {
            "" => Some(crate::store::unix_time()),
            t => crate::dialplan::parse_rfc3339(t).map_err(|m| e.at = Some(m)).ok(),
        };
        let mut answers = SimAnswers::default();
        if !self.lookup.trim().is_empty() {
            match parse_kv_list(&self.lookup) {
                Ok(m) => answers.lookup = Some(m),
                Err(m) => e.lookup = Some(m),
            }
        }
        if !self.http.trim().is_empty() {
            match parse_kv_list(&self.http) {
                Ok(m) => answers.http = Ok(m),
                Err(m) => e.http = Some(m),
            }
        }
        match now {
            Some(now) if e.first().is_none() => {
                let caller = Some(self.caller.trim()).filter(|c| !c.is_empty()).unwrap_or("anonymous").to_string();
                let call = crate::dialplan::CallInfo { did: did.to_string(), caller, trunk: self.trunk.trim().to_string(), now };
                Ok(SimCall { call, digits: self.digits.clone(), answers })
            }
            _ => Err(e),
        }
    }
}

/// Runs a checked call through the files of `dir` as saved: the steps as
/// the CLI prints them, or the loader's errors when the plan does not
/// load; `None` when the run itself failed.
pub(in crate::web) async fn simulate(dir: &std::path::Path, sim: SimCall) -> Option<Result<Vec<String>, Vec<String>>> {
    let d = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let files = read_all(&d).map_err(|err| vec![format!("{}: {err}", d.display())])?;
        let plan = crate::dialplan::load_files(&files)?;
        let inputs: Vec<&str> = if sim.digits.is_empty() { Vec::new() } else { sim.digits.split(',').collect() };
        Ok(crate::dialplan::simulate_with(&plan, sim.call, &inputs, &sim.answers))
    })
    .await
    .ok()
}

/// The simulator card, with the steps of a run when there is one.
pub fn form(f: &SimForm, e: &SimErrors, steps: Option<Result<Vec<String>, Vec<String>>>) -> Markup {
    html! {
        div.card id="simulate" {
            h2 { "Simulate a call" }
            p.muted { "Runs a call through the files as saved, without placing it: what " code { "switchboard dialplan simulate" } " prints. Menus and digit collections take the DTMF answers in order (an empty answer is a timeout)." }
            form.inline id="simulate-form" method="get" action="/dialplans/simulate#simulate" {
                (field("Dialled number (DID)", "did", "text", &f.did, e.did.as_deref()))
                (field("Caller", "caller", "text", &f.caller, None))
                (field("Trunk", "trunk", "text", &f.trunk, None))
                (field("Time (RFC 3339; empty: now)", "at", "text", &f.at, e.at.as_deref()))
                (field("DTMF answers (e.g. 1,,2345#)", "digits", "text", &f.digits, None))
                (field("Lookup finds (k=v,…)", "lookup", "text", &f.lookup, e.lookup.as_deref()))
                (field("Webhook answers (k=v,…)", "http", "text", &f.http, e.http.as_deref()))
                button type="submit" id="run-simulation" { "Simulate" }
            }
            @match steps {
                Some(Ok(lines)) => pre.steps id="simulation" { @for l in &lines { (l) "\n" } },
                Some(Err(errors)) => div.flash.error id="simulation" { "The files do not load, so there is nothing to simulate: " (errors.join("; ")) },
                None => {},
            }
        }
    }
}

pub async fn run<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Query(f): Query<SimForm>) -> Response {
    let v = match admin(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(dir) = plan_dir(&*core) else { return super::see_other("/dialplans") };
    match f.prepare() {
        Ok(call) => {
            let steps = simulate(&dir, call).await;
            list_page(&v, &dir, None, ("", None), form(&f, &SimErrors::default(), steps), StatusCode::OK).await
        }
        Err(e) => list_page(&v, &dir, None, ("", None), form(&f, &e, None), StatusCode::UNPROCESSABLE_ENTITY).await,
    }
}
