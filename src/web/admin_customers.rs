//! The customer table over HTTP, scope `admin`: `/api/v1/customers`
//! (search with `?q=`, lookup with `?phone=`, `limit`/`offset`),
//! `/api/v1/customers/{id}` and `POST /api/v1/customers/import` (a
//! `text/csv` body, the same import as `switchboard customer import`).
//! Owns query and body parsing; the work is `crate::admin`'s.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};

use super::admin::{answer, authorize, created, field_error, json, json_body, media_type, read_body, Answer, Refused, CSV_LIMIT};
use super::api::json_error;
use super::CoreApi;
use crate::admin::{CustomerQuery, CustomerRequest, Reply};

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

pub(super) async fn create<C: CoreApi>(State(core): State<Arc<C>>, headers: HeaderMap, uri: Uri, body: Body) -> Answer {
    authorize(&*core, &headers, &uri).await?;
    let input = json_body(&headers, body).await?;
    created(core.customer_admin(CustomerRequest::Create(input)).await)
}

pub(super) async fn get<C: CoreApi>(State(core): State<Arc<C>>, Path(raw): Path<String>, headers: HeaderMap, uri: Uri) -> Answer {
    authorize(&*core, &headers, &uri).await?;
    answer(core.customer_admin(CustomerRequest::Get(id(&raw)?)).await)
}

/// `PUT /api/v1/customers/{id}`: fields not given keep their values.
pub(super) async fn update<C: CoreApi>(State(core): State<Arc<C>>, Path(raw): Path<String>, headers: HeaderMap, uri: Uri, body: Body) -> Answer {
    authorize(&*core, &headers, &uri).await?;
    let id = id(&raw)?;
    let input = json_body(&headers, body).await?;
    answer(core.customer_admin(CustomerRequest::Update(id, input)).await)
}

pub(super) async fn delete<C: CoreApi>(State(core): State<Arc<C>>, Path(raw): Path<String>, headers: HeaderMap, uri: Uri) -> Answer {
    authorize(&*core, &headers, &uri).await?;
    answer(core.customer_admin(CustomerRequest::Delete(id(&raw)?)).await)
}

/// `POST /api/v1/customers/import`: 200 with the counts and the errors by
/// line; 422 (same body plus `error`) when rows were refused and none
/// written, as the CLI then exits 1.
pub(super) async fn import<C: CoreApi>(State(core): State<Arc<C>>, headers: HeaderMap, uri: Uri, body: Body) -> Answer {
    authorize(&*core, &headers, &uri).await?;
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
    match core.customer_admin(CustomerRequest::Import(text)).await {
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
