//! The customer table over HTTP, scope `admin`: `/api/v1/customers`
//! (search with `?q=`, lookup with `?phone=`, `limit`/`offset`),
//! `/api/v1/customers/{id}` and `POST /api/v1/customers/import` (a
//! `text/csv` body, the same import as `switchboard customer import`).
//! Owns query and body parsing; the work is `crate::admin`'s. Changes are
//! audited like the console's (actor: the key's `apikey:NAME` or the user).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};

use super::admin::{answer, authorize, created, field_error, json, json_body, media_type, read_body, Answer, Refused, CSV_LIMIT};
use super::api::json_error;
use super::caller::{audited, AdminCaller};
use super::CoreApi;
use crate::admin::{CustomerInput, CustomerQuery, CustomerRequest, Reply};

/// The audit log's words for a customer (as the console's).
fn summary(name: &str, account: Option<&str>) -> String {
    format!("'{name}', account {}", account.unwrap_or("none"))
}

/// An id in the path; anything else names no customer (404).
fn id(raw: &str) -> Result<i64, Refused> {
    raw.parse().map_err(|_| json_error(StatusCode::NOT_FOUND, &format!("customer {raw} not found")).into())
}

/// `limit` or `offset` from the query string, when given.
fn number(q: &HashMap<String, String>, name: &'static str) -> Result<Option<i64>, Refused> {
    match q.get(name) {
        None => Ok(None),
        Some(v) => v.trim().parse().map(Some).map_err(|_| field_error(StatusCode::BAD_REQUEST, name, &format!("'{v}' is not a whole number")).into()),
    }
}

/// `GET /api/v1/customers?q=&phone=&limit=&offset=`. Other query
/// parameters (such as `key`) are ignored.
#[utoipa::path(
    get,
    path = "/api/v1/customers",
    operation_id = "search_customers",
    tag = "customers",
    summary = "Search customers",
    description = "`q` searches name, account, tags, notes and (when it looks like a number) phone numbers; `phone` finds the customer a call from that number is matched to (at most one). Without either: every customer. Paged, by id.",
    params(
        ("q" = Option<String>, Query, description = "Search text."),
        ("phone" = Option<String>, Query, description = "A phone number in any notation; not with `q`."),
        ("limit" = Option<i64>, Query, description = "Customers per page, 1 to 1000 (default 50)."),
        ("offset" = Option<i64>, Query, description = "Matches to skip (default 0)."),
    ),
    responses(
        (status = 200, description = "One page of matches.", body = crate::admin::CustomerPage),
        (status = 400, description = "`limit` or `offset` is not a whole number, or a malformed query string.", body = super::openapi::ErrorBody),
        (status = 422, description = "`limit` or `offset` out of range, or both `q` and `phone` given.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn search<C: CoreApi>(State(core): State<Arc<C>>, headers: HeaderMap, uri: Uri) -> Answer {
    let q = authorize(&*core, &headers, &uri).await?;
    let query = CustomerQuery {
        q: q.get("q").cloned(),
        phone: q.get("phone").cloned(),
        limit: number(&q, "limit")?,
        offset: number(&q, "offset")?,
    };
    answer(core.customer_admin(CustomerRequest::Search(query)).await)
}

#[utoipa::path(
    post,
    path = "/api/v1/customers",
    operation_id = "create_customer",
    tag = "customers",
    summary = "Create a customer",
    description = "Like `switchboard customer add`: `name` is required. The `Location` header names the new customer.",
    request_body = crate::admin::CustomerInput,
    responses(
        (status = 201, description = "Created.", body = crate::admin::CustomerView),
        (status = 409, description = "Another customer has that account number.", body = super::openapi::ErrorBody),
        (status = 422, description = "A value is invalid (`field` names it).", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn create<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(who): AdminCaller, headers: HeaderMap, body: Body) -> Answer {
    let input: CustomerInput = json_body(&headers, body).await?;
    let r = core.customer_admin(CustomerRequest::Create(input)).await;
    let target = match &r {
        Ok(Reply::Customer(c)) => (c.id.to_string(), summary(&c.name, c.account.as_deref())),
        _ => (String::new(), String::new()),
    };
    audited(&*core, &who, created(r), "customer.create", &target.0, &target.1).await
}

#[utoipa::path(
    get,
    path = "/api/v1/customers/{id}",
    operation_id = "get_customer",
    tag = "customers",
    summary = "Get a customer",
    params(
        ("id" = i64, Path, description = "Customer id."),
    ),
    responses(
        (status = 200, description = "The customer.", body = crate::admin::CustomerView),
        (status = 404, description = "No such customer.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn get<C: CoreApi>(State(core): State<Arc<C>>, Path(raw): Path<String>, headers: HeaderMap, uri: Uri) -> Answer {
    authorize(&*core, &headers, &uri).await?;
    answer(core.customer_admin(CustomerRequest::Get(id(&raw)?)).await)
}

/// `PUT /api/v1/customers/{id}`: fields not given keep their values.
#[utoipa::path(
    put,
    path = "/api/v1/customers/{id}",
    operation_id = "update_customer",
    tag = "customers",
    summary = "Change a customer",
    description = "The fields given change (`phones` and `fields` are replaced whole; `account: null` removes the account number), the others keep their values.",
    params(
        ("id" = i64, Path, description = "Customer id."),
    ),
    request_body = crate::admin::CustomerInput,
    responses(
        (status = 200, description = "The customer as changed.", body = crate::admin::CustomerView),
        (status = 404, description = "No such customer.", body = super::openapi::ErrorBody),
        (status = 409, description = "Another customer has that account number.", body = super::openapi::ErrorBody),
        (status = 422, description = "A value is invalid (`field` names it).", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn update<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(who): AdminCaller, Path(raw): Path<String>, headers: HeaderMap, body: Body) -> Answer {
    let id = id(&raw)?;
    let input: CustomerInput = json_body(&headers, body).await?;
    let r = core.customer_admin(CustomerRequest::Update(id, input)).await;
    let detail = match &r {
        Ok(Reply::Customer(c)) => summary(&c.name, c.account.as_deref()),
        _ => String::new(),
    };
    audited(&*core, &who, answer(r), "customer.update", &id.to_string(), &detail).await
}

#[utoipa::path(
    delete,
    path = "/api/v1/customers/{id}",
    operation_id = "delete_customer",
    tag = "customers",
    summary = "Remove a customer",
    params(
        ("id" = i64, Path, description = "Customer id."),
    ),
    responses(
        (status = 204, description = "Removed."),
        (status = 404, description = "No such customer.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn delete<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(who): AdminCaller, Path(raw): Path<String>) -> Answer {
    let id = id(&raw)?;
    audited(&*core, &who, answer(core.customer_admin(CustomerRequest::Delete(id)).await), "customer.delete", &id.to_string(), "").await
}

/// `POST /api/v1/customers/import`: 200 with the counts and the errors by
/// line; 422 (same body plus `error`) when rows were refused and none
/// written, as the CLI then exits 1.
#[utoipa::path(
    post,
    path = "/api/v1/customers/import",
    operation_id = "import_customers",
    tag = "customers",
    summary = "Import customers from CSV",
    description = "The same import as `switchboard customer import`. Good rows are kept and bad ones reported by line; a row whose account exists replaces that customer.",
    request_body(content = String, content_type = "text/csv", description = "UTF-8 CSV, at most 10 MiB, with a header row `name,account,phones,tags,notes` (any order, case-insensitive; only `name` is required). `phones` is `;`-separated; every other column becomes a data field (`${customer_<name>}` in the dialplan).", example = "name,account,phones,balance\nAnn Smith,A-1001,+15551234;5550100,42.10\n"),
    responses(
        (status = 200, description = "The import report (rows refused are listed in `errors`).", body = crate::admin::ImportResult),
        (status = 400, description = "The body is not UTF-8 text.", body = super::openapi::ErrorBody),
        (status = 422, description = "Rows were refused and nothing was written (or the header is unusable).", body = super::openapi::ImportRefused),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn import<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(who): AdminCaller, headers: HeaderMap, body: Body) -> Answer {
    match media_type(&headers).as_deref() {
        Some("text/csv") => {}
        other => {
            let got = other.unwrap_or("no Content-Type");
            return Err(json_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, &format!("expected a text/csv body, got {got}")).into());
        }
    }
    let bytes = read_body(&headers, body, CSV_LIMIT).await?;
    let text = String::from_utf8(bytes.to_vec()).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = 1 + bytes[..at].iter().filter(|b| **b == b'\n').count();
        Refused::from(json_error(StatusCode::BAD_REQUEST, &format!("line {line}: the CSV is not UTF-8 text")))
    })?;
    let result = core.customer_admin(CustomerRequest::Import(text)).await;
    if let (Ok(Reply::Import(r)), Some(store)) = (&result, core.console_store()) {
        if !r.nothing_imported() {
            who.audit(&store, "customer.import", "csv", &format!("{} new, {} updated, {} rejected", r.imported, r.updated, r.rejected)).await;
        }
    }
    match result {
        Ok(Reply::Import(r)) if r.nothing_imported() => {
            let mut body = serde_json::to_value(&r).unwrap_or_default();
            if let Some(o) = body.as_object_mut() {
                o.insert("error".into(), "nothing imported".into());
            }
            Ok(json(StatusCode::UNPROCESSABLE_ENTITY, &body))
        }
        other => answer(other),
    }
}
