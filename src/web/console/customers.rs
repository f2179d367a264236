//! Customers (supervisors and admins): `/customers` searches the customer
//! table by name, account, phone, tags or notes, paged; creates a customer;
//! and holds the CSV import (`customer_import.rs`). One customer's page,
//! `/customers/{id}`, edits or deletes it. The same `crate::admin` calls as
//! `switchboard customer …` and `/api/v1/customers`: phone normalisation,
//! account syntax and field names are checked there and shown at the
//! field. Must not touch calls or the ACD.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;

use super::forms::{csrf, hinted, render_status, textarea, viewer_at_least, Errors};
use super::layout::{field, Flash};
use super::{see_other, urlencode, Peer, Viewer};
use crate::admin::{self, AdminError, CustomerInput, CustomerQuery, CustomerView, DEFAULT_LIMIT};
use crate::store::Role;
use crate::web::{assets, CoreApi};

/// Who may use the customer pages.
pub const LEAST: Role = Role::Supervisor;

/// The customer form as posted.
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(default)]
pub struct CustomerForm {
    pub name: String,
    pub account: String,
    /// One per line (or separated by commas or ';').
    pub phones: String,
    pub tags: String,
    pub notes: String,
    /// `name=value`, one per line.
    pub fields: String,
}

impl CustomerForm {
    pub fn of(c: &CustomerView) -> CustomerForm {
        CustomerForm {
            name: c.name.clone(),
            account: c.account.clone().unwrap_or_default(),
            phones: c.phones.join("\n"),
            tags: c.tags.clone(),
            notes: c.notes.clone(),
            fields: c.fields.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("\n"),
        }
    }

    /// The shared input: every field given (a blank account removes it).
    /// A field line without '=' is marked in `errors`.
    pub fn input(&self, errors: &mut Errors) -> CustomerInput {
        let phones = self.phones.split(['\n', ',', ';']).map(str::trim).filter(|p| !p.is_empty()).map(str::to_string).collect();
        let mut fields = BTreeMap::new();
        for (i, line) in self.fields.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            match line.split_once('=') {
                Some((k, v)) => {
                    fields.insert(k.trim().to_string(), v.trim().to_string());
                }
                None => errors.set("fields", format!("line {}: write name=value, got '{line}'", i + 1)),
            }
        }
        let account = self.account.trim();
        CustomerInput {
            name: Some(self.name.trim().to_string()),
            account: Some(Some(account.to_string()).filter(|a| !a.is_empty())),
            phones: Some(phones),
            tags: Some(self.tags.trim().to_string()),
            notes: Some(self.notes.trim().to_string()),
            fields: Some(fields),
        }
    }
}

/// Name, account, phones, tags, notes and extra fields with inline errors.
pub fn customer_fields(f: &CustomerForm, e: &Errors) -> Markup {
    html! {
        div.form-grid {
            (field("Name", "name", "text", &f.name, e.get("name")))
            (hinted("Account", "account", "text", &f.account, "letters, digits, '-'; unique; blank = none", e.get("account")))
            (hinted("Tags", "tags", "text", &f.tags, "e.g. vip, wholesale", e.get("tags")))
        }
        div.form-grid {
            (textarea("Phones (one per line, any notation)", "phones", &f.phones, 3, e.get("phones")))
            (textarea("Extra fields (name=value per line; ${customer_NAME} in the dialplan)", "fields", &f.fields, 3, e.get("fields")))
            (textarea("Notes", "notes", &f.notes, 3, e.get("notes")))
        }
    }
}

/// `/customers` query: search text, page and flash.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    q: String,
    /// Text, so a mangled link shows the first page rather than a 400.
    offset: String,
    ok: String,
    err: String,
}

/// What the list page shows besides the table.
#[derive(Default)]
pub struct Extra {
    pub flash: Option<Flash>,
    pub form: CustomerForm,
    pub errors: Errors,
    pub csv: String,
    pub csv_error: Option<String>,
    /// The report of an import just done.
    pub report: Option<Markup>,
}

pub async fn page(v: &Viewer, q: &str, offset: i64, x: Extra, status: StatusCode) -> Response {
    let query = CustomerQuery { q: Some(q.trim().to_string()).filter(|q| !q.is_empty()), phone: None, limit: Some(DEFAULT_LIMIT), offset: Some(offset.max(0)) };
    let (found, load_error) = match admin::search_customers(&v.store, query).await {
        Ok(p) => (Some(p), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let e = &x.errors;
    let more = |off: i64| format!("/customers?q={}&offset={}", urlencode(q.trim()), off.max(0));
    let body = html! {
        @if let Some(m) = load_error { div.flash.error role="alert" { "The customers could not be read: " (m) } }
        div.grid.top {
            details.card open[!e.is_empty()] {
                summary { h2 { "New customer" } }
                form.settings id="new-customer" method="post" action="/customers" {
                    (csrf(v))
                    (customer_fields(&x.form, e))
                    button type="submit" id="create-customer" { "Add customer" }
                }
            }
            details.card open[x.report.is_some() || !x.csv.is_empty() || x.csv_error.is_some()] {
                summary { h2 { "Import CSV" } }
                (super::customer_import::import_form(v, &x.csv, x.csv_error.as_deref()))
                div id="import-report" role="status" { @if let Some(r) = &x.report { (r) } }
            }
        }
        div.card {
            h2 { "Customers" }
            form.inline id="search" method="get" action="/customers" role="search" {
                input type="search" name="q" id="q" value=(q) placeholder="Name, account, phone, tag…" aria-label="Search customers";
                button.secondary type="submit" { "Search" }
                @if !q.is_empty() { a href="/customers" { "Clear" } }
            }
            @if let Some(p) = &found {
                @if p.customers.is_empty() {
                    div.empty { @if q.is_empty() { "No customers yet. Add one or import a CSV file above." } @else { "No customer matches “" (q) "”." } }
                } @else {
                    p.muted id="count" { "Showing " (p.offset + 1) "–" (p.offset + p.customers.len() as i64) " of " (p.total) }
                    table id="customers-table" {
                        thead { tr { th data-sort { "Name" } th data-sort { "Account" } th data-sort { "Phones" } th data-sort { "Tags" } th { "Fields" } th { "" } } }
                        tbody { @for c in &p.customers {
                            tr data-customer=(c.id) {
                                td { a href={ "/customers/" (c.id) } { (c.name) } }
                                td.mono { (c.account.as_deref().unwrap_or("")) }
                                td.mono { (c.phones.join(", ")) }
                                td { (c.tags) }
                                td.muted { @for (k, v) in &c.fields { span.mono { (k) "=" (v) } " " } }
                                td { a.button.secondary href={ "/customers/" (c.id) } { "Edit" } }
                            }
                        } }
                    }
                    div.pager {
                        @if p.offset > 0 { a.button.secondary id="prev" href=(more(p.offset - p.limit)) { "← Previous" } }
                        @if p.offset + (p.customers.len() as i64) < p.total { a.button.secondary id="next" href=(more(p.offset + p.limit)) { "Next →" } }
                    }
                }
            }
        }
        script src=(assets::url("admin-forms.js")) defer {}
    };
    render_status(v, "/customers", "Customers", x.flash.as_ref(), body, status)
}

pub async fn list<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Query(q): Query<ListQuery>) -> Response {
    let v = match viewer_at_least(&*core, &headers, &uri, &peer, LEAST).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let flash = if !q.err.is_empty() {
        Some(Flash::error(q.err.clone()))
    } else if !q.ok.is_empty() {
        Some(Flash::ok(q.ok.clone()))
    } else {
        None
    };
    let offset = q.offset.trim().parse().unwrap_or(0);
    page(&v, &q.q, offset, Extra { flash, ..Extra::default() }, StatusCode::OK).await
}

pub async fn create<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Form(f): Form<CustomerForm>) -> Response {
    let v = match viewer_at_least(&*core, &headers, &uri, &peer, LEAST).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut errors = Errors::default();
    let input = f.input(&mut errors);
    if errors.is_empty() {
        match admin::create_customer(&v.store, input).await {
            Ok(c) => {
                v.audit("customer.create", &c.id.to_string(), &format!("'{}', account {}", c.name, c.account.as_deref().unwrap_or("none"))).await;
                let ok = format!("Customer {} added.", c.name);
                return see_other(&format!("/customers/{}?ok={}", c.id, urlencode(&ok)));
            }
            Err(e) => errors.admin(e, "account"),
        }
    }
    let flash = Some(Flash::error(errors.summary("The customer was not added")));
    page(&v, "", 0, Extra { flash, form: f, errors, ..Extra::default() }, StatusCode::UNPROCESSABLE_ENTITY).await
}

/// `/customers/{id}` flash query.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct Flashes {
    ok: String,
    err: String,
}

async fn edit_page(v: &Viewer, c: &CustomerView, f: &CustomerForm, e: &Errors, flash: Option<Flash>, status: StatusCode) -> Response {
    let action = format!("/customers/{}", c.id);
    let body = html! {
        p { a href="/customers" { "← All customers" } }
        div.card {
            h2 { "Customer" }
            form.settings id="customer-form" method="post" action=(action) {
                (csrf(v))
                (customer_fields(f, e))
                button type="submit" id="save-customer" { "Save" }
            }
        }
        div.card {
            h2 { "Delete" }
            form method="post" action={ (action) "/delete" } data-confirm={ "Delete customer " (c.name) "?" } {
                (csrf(v))
                p.muted { "Calls from its numbers will no longer pop this record. Call records stay." }
                button.danger type="submit" id="delete-customer" { "Delete customer" }
            }
        }
        script src=(assets::url("admin-forms.js")) defer {}
    };
    render_status(v, "/customers", &format!("Customer {}", c.name), flash.as_ref(), body, status)
}

/// The customer, or a 404 page (an id that is not a number names nobody).
async fn load(v: &Viewer, raw: &str) -> Result<CustomerView, Response> {
    let found = match raw.parse::<i64>() {
        Ok(id) => admin::get_customer(&v.store, id).await,
        Err(_) => Err(AdminError::NotFound(format!("customer {raw}"))),
    };
    found.map_err(|e| {
        let status = if matches!(e, AdminError::NotFound(_)) { StatusCode::NOT_FOUND } else { StatusCode::INTERNAL_SERVER_ERROR };
        let body = html! { div.card { p { (e.to_string()) } p { a href="/customers" { "All customers" } } } };
        render_status(v, "/customers", "Customer", None, body, status)
    })
}

pub async fn show<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Path(raw): Path<String>, Query(q): Query<Flashes>) -> Response {
    let v = match viewer_at_least(&*core, &headers, &uri, &peer, LEAST).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let c = match load(&v, &raw).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let flash = if !q.err.is_empty() { Some(Flash::error(q.err)) } else if !q.ok.is_empty() { Some(Flash::ok(q.ok)) } else { None };
    edit_page(&v, &c, &CustomerForm::of(&c), &Errors::default(), flash, StatusCode::OK).await
}

pub async fn update<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Path(raw): Path<String>, Form(f): Form<CustomerForm>) -> Response {
    let v = match viewer_at_least(&*core, &headers, &uri, &peer, LEAST).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let c = match load(&v, &raw).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut errors = Errors::default();
    let input = f.input(&mut errors);
    if errors.is_empty() {
        match admin::update_customer(&v.store, c.id, input).await {
            Ok(n) => {
                v.audit("customer.update", &c.id.to_string(), &format!("'{}', account {}", n.name, n.account.as_deref().unwrap_or("none"))).await;
                return see_other(&format!("/customers/{}?ok={}", c.id, urlencode("Customer saved.")));
            }
            Err(e) => errors.admin(e, "account"),
        }
    }
    let flash = Some(Flash::error(errors.summary("The customer was not saved")));
    edit_page(&v, &c, &f, &errors, flash, StatusCode::UNPROCESSABLE_ENTITY).await
}

pub async fn delete<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Path(raw): Path<String>) -> Response {
    let v = match viewer_at_least(&*core, &headers, &uri, &peer, LEAST).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let c = match load(&v, &raw).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    match admin::delete_customer(&v.store, c.id).await {
        Ok(()) => {
            v.audit("customer.delete", &c.id.to_string(), &format!("'{}'", c.name)).await;
            see_other(&format!("/customers?ok={}", urlencode(&format!("Customer {} deleted.", c.name))))
        }
        Err(e) => see_other(&format!("/customers/{}?err={}", c.id, urlencode(&e.to_string()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_to_input() {
        let f = CustomerForm {
            name: " Ann ".into(),
            account: " ".into(),
            phones: "+1 555 0100\n\n555-0101, 555 0102".into(),
            tags: "vip".into(),
            notes: "n".into(),
            fields: "balance = 4.20\n\nplan=gold".into(),
        };
        let mut e = Errors::default();
        let i = f.input(&mut e);
        assert!(e.is_empty());
        assert_eq!((i.name.as_deref(), i.account.clone()), (Some("Ann"), Some(None)), "a blank account removes it");
        assert_eq!(i.phones.as_ref().map(Vec::len), Some(3));
        let fields = i.fields.unwrap();
        assert_eq!((fields["balance"].as_str(), fields["plan"].as_str()), ("4.20", "gold"));
        CustomerForm { fields: "a=1\noops".into(), ..f }.input(&mut e);
        assert_eq!(e.get("fields"), Some("line 2: write name=value, got 'oops'"));
    }
}
