//! What the admin API's handlers (`admin_acd`, `admin_customers`, and the
//! console-parity ones beside `caller`) share:
//! the `admin` scope check, bounded body reading, JSON parsing whose errors
//! name the field, and the mapping of `crate::admin` results to status
//! codes (201 created, 204 removed, 400 malformed, 404 unknown, 409
//! conflict, 413 too large, 415 wrong type, 422 invalid value). Owns no
//! validation of values: that is `crate::admin`'s, reached through
//! `CoreApi`.

use std::collections::HashMap;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::api::{authorize_request, json_error};
use super::CoreApi;
use crate::admin::{AdminError, Reply};

/// A JSON body bigger than this is refused (413): a queue, an agent or a
/// customer is a few hundred bytes.
const JSON_LIMIT: usize = 64 * 1024;
/// The largest CSV import (413 beyond): about 100 000 customers.
pub(super) const CSV_LIMIT: usize = 10 * 1024 * 1024;

/// An early answer (401, 400, 413, ...), so handlers can use `?`. Boxed:
/// a `Response` is too big to carry in every `Result`.
#[derive(Debug)]
pub(super) struct Refused(Box<Response>);

impl From<Response> for Refused {
    fn from(r: Response) -> Refused {
        Refused(Box::new(r))
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        *self.0
    }
}

/// A handler's answer.
pub(super) type Answer = Result<Response, Refused>;

/// Checks the key for the `admin` scope; the query string on success.
pub(super) async fn authorize<C: CoreApi>(core: &C, headers: &HeaderMap, uri: &Uri) -> Result<HashMap<String, String>, Refused> {
    Ok(authorize_request(core, headers, uri, "admin").await?)
}

/// `{"error": "...", "field": "..."}`; the field is left out when empty.
pub(super) fn field_error(status: StatusCode, field: &str, msg: &str) -> Response {
    if field.is_empty() {
        return json_error(status, msg);
    }
    let body = serde_json::json!({ "error": format!("{field}: {msg}"), "field": field }).to_string();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

pub(super) fn admin_error(e: AdminError) -> Response {
    match e {
        AdminError::Invalid { field, message } => field_error(StatusCode::UNPROCESSABLE_ENTITY, field, &message),
        AdminError::NotFound(_) => json_error(StatusCode::NOT_FOUND, &e.to_string()),
        AdminError::Conflict(m) => json_error(StatusCode::CONFLICT, &m),
        AdminError::Store(e) => {
            tracing::warn!("admin API: {e}");
            json_error(StatusCode::INTERNAL_SERVER_ERROR, "database error (see the log)")
        }
    }
}

pub(super) fn json(status: StatusCode, v: &impl serde::Serialize) -> Response {
    match serde_json::to_string(v) {
        Ok(body) => (status, [(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, &format!("response not serialisable: {e}")),
    }
}

/// 200 with the row(s), 204 after a removal, the error's status otherwise.
pub(super) fn answer(r: Result<Reply, AdminError>) -> Answer {
    match r {
        Ok(Reply::Done) => Ok(StatusCode::NO_CONTENT.into_response()),
        Ok(reply) => Ok(json(StatusCode::OK, &reply)),
        Err(e) => Err(admin_error(e).into()),
    }
}

/// 201 with the new row and its `Location`.
pub(super) fn created(r: Result<Reply, AdminError>) -> Answer {
    let reply = r.map_err(admin_error)?;
    let location = match &reply {
        Reply::Queue(q) => format!("/api/v1/queues/{}", q.name),
        Reply::Agent(a) => format!("/api/v1/agents/{}", a.id),
        Reply::Customer(c) => format!("/api/v1/customers/{}", c.id),
        _ => String::new(),
    };
    let mut resp = json(StatusCode::CREATED, &reply);
    // Names are letters, digits and `.-_` (checked by the store), so they
    // need no escaping in a path.
    if let Ok(v) = HeaderValue::from_str(&location) {
        if !location.is_empty() {
            resp.headers_mut().insert(header::LOCATION, v);
        }
    }
    Ok(resp)
}

/// The body, at most `limit` bytes (413 beyond, told by Content-Length
/// before anything is read when the client says so).
pub(super) async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, Refused> {
    let too_large = || json_error(StatusCode::PAYLOAD_TOO_LARGE, &format!("the body is limited to {limit} bytes"));
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large().into());
    }
    match axum::body::to_bytes(body, limit).await {
        Ok(b) => Ok(b),
        Err(e) if std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>()) => Err(too_large().into()),
        Err(e) => Err(json_error(StatusCode::BAD_REQUEST, &format!("reading the body: {e}")).into()),
    }
}

/// The Content-Type's media type, lowercase, without parameters.
pub(super) fn media_type(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
}

/// A JSON body as `T`. An empty body reads as `{}` (so a member can be
/// added without one); a Content-Type other than JSON is a 415; a
/// malformed body or unknown field a 400 naming the field where it can.
pub(super) async fn json_body<T: DeserializeOwned>(headers: &HeaderMap, body: Body) -> Result<T, Refused> {
    if let Some(t) = media_type(headers) {
        if t != "application/json" && !t.ends_with("+json") {
            return Err(json_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, &format!("expected application/json, got {t}")).into());
        }
    }
    let bytes = read_body(headers, body, JSON_LIMIT).await?;
    let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { &bytes };
    parse_json(text)
}

fn parse_json<T: DeserializeOwned>(text: &[u8]) -> Result<T, Refused> {
    let mut de = serde_json::Deserializer::from_slice(text);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        // The path is "." for errors about the object itself (an unknown or
        // missing field, which serde names in the message).
        let path = e.path().to_string();
        let field = if path == "." { "" } else { path.as_str() };
        field_error(StatusCode::BAD_REQUEST, field, &e.into_inner().to_string())
    })?;
    de.end().map_err(|e| json_error(StatusCode::BAD_REQUEST, &format!("trailing data after the JSON value: {e}")))?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::QueueInput;

    fn status_and_body(r: Result<QueueInput, Refused>) -> (u16, String) {
        let resp = r.expect_err("refused").into_response();
        let status = resp.status().as_u16();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let bytes = rt.block_on(axum::body::to_bytes(resp.into_body(), 1 << 16)).unwrap();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    #[test]
    fn json_errors_name_the_field() {
        assert!(parse_json::<QueueInput>(br#"{"wrapup_secs": 5}"#).is_ok());
        let (status, body) = status_and_body(parse_json(br#"{"wrapup_secs": "soon"}"#));
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!((status, v["field"].as_str()), (400, Some("wrapup_secs")), "{body}");
        assert!(v["error"].as_str().is_some_and(|e| e.starts_with("wrapup_secs: invalid type")), "{body}");
        let (status, body) = status_and_body(parse_json(br#"{"wrapup": 5}"#));
        assert_eq!(status, 400);
        assert!(body.contains("unknown field `wrapup`"), "{body}");
        let (status, body) = status_and_body(parse_json(br#"{"wrapup_secs": 5} x"#));
        assert!(status == 400 && body.contains("trailing"), "{body}");
        let (status, _) = status_and_body(parse_json(b"[1"));
        assert_eq!(status, 400);
    }

    #[test]
    fn media_types() {
        let mut h = HeaderMap::new();
        assert_eq!(media_type(&h), None);
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("Text/CSV; charset=utf-8"));
        assert_eq!(media_type(&h).as_deref(), Some("text/csv"));
    }

    /// A server over a real temporary store; its port.
    async fn serve() -> (tempfile::TempDir, u16) {
        let (dir, store) = crate::store::test_store().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let fake = crate::web::tests::Fake { bus: crate::cti::EventBus::default(), store: Some(store) };
        tokio::spawn(crate::web::serve(listener, fake));
        (dir, port)
    }

    fn field_of(body: &str) -> String {
        let v: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
        v["field"].as_str().unwrap_or_default().to_string()
    }

    #[tokio::test]
    async fn acd_routes_status_codes_and_shapes() {
        use crate::web::tests::request;
        let (_dir, port) = serve().await;
        let k = Some("sb_adminkey");
        let json = "Content-Type: application/json\r\n";
        let req = |m: &'static str, p: &'static str, key: Option<&'static str>, body: &'static str| async move {
            let (status, _, body) = request(port, m, p, key, json, body.as_bytes()).await;
            (status, body)
        };
        assert_eq!(req("GET", "/api/v1/queues", None, "").await.0, 401);
        assert_eq!(req("GET", "/api/v1/queues", Some("sb_callskey"), "").await.0, 403, "calls scope is not admin");
        assert_eq!(req("GET", "/api/v1/queues", k, "").await, (200, r#"{"queues":[]}"#.to_string()));

        let (status, head, body) = request(port, "POST", "/api/v1/queues", k, json, br#"{"name":"sales","strategy":"ring_all","wrapup_secs":30}"#).await;
        assert_eq!(status, 201, "{body}");
        assert!(head.to_ascii_lowercase().contains("location: /api/v1/queues/sales"), "{head}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!((v["wrapup_secs"].as_i64(), v["ring_timeout_secs"].as_i64(), &v["max_wait_secs"]), (Some(30), Some(20), &serde_json::Value::Null));
        assert_eq!(req("POST", "/api/v1/queues", k, r#"{"name":"sales","strategy":"ring_all"}"#).await.0, 409);
        let (status, body) = req("PUT", "/api/v1/queues/sales", k, r#"{"ring_timeout_secs":0}"#).await;
        assert_eq!((status, field_of(&body).as_str()), (422, "ring_timeout_secs"), "{body}");
        let (status, body) = req("PUT", "/api/v1/queues/sales", k, r#"{"ring_timeout_secs":"x"}"#).await;
        assert_eq!((status, field_of(&body).as_str()), (400, "ring_timeout_secs"), "{body}");
        let (status, body) = req("PUT", "/api/v1/queues/sales", k, r#"{"wrapup":5}"#).await;
        assert!(status == 400 && body.contains("unknown field `wrapup`"), "{body}");
        assert_eq!(req("PUT", "/api/v1/queues/nope", k, "{}").await.0, 404);
        let (status, _, _) = request(port, "PUT", "/api/v1/queues/sales", k, "Content-Type: text/plain\r\n", b"{}").await;
        assert_eq!(status, 415);
        let (status, _, _) = request(port, "PUT", "/api/v1/queues/sales", k, "Content-Length: 70000\r\n", b"").await;
        assert_eq!(status, 413);

        // Agents beside the state routes of `control`.
        assert_eq!(req("GET", "/api/v1/agents/alice", k, "").await.0, 404);
        let (status, body) = req("POST", "/api/v1/agents", k, r#"{"id":"alice","extensions":[]}"#).await;
        assert_eq!((status, field_of(&body).as_str()), (422, "extensions"), "{body}");
        assert_eq!(req("POST", "/api/v1/agents", k, r#"{"id":"alice","name":"Alice","extensions":["1001"]}"#).await.0, 201);
        assert_eq!(req("POST", "/api/v1/agents/alice/login", k, "").await.0, 204, "control's route still answers");
        assert_eq!(req("POST", "/api/v1/agents/alice/skills", k, "").await.0, 404, "no such agent action");
        let (status, body) = req("PUT", "/api/v1/agents/alice/skills/spanish", k, r#"{"proficiency":8}"#).await;
        assert!(status == 200 && body.contains(r#""skills":{"spanish":8}"#), "{body}");
        let (status, body) = req("PUT", "/api/v1/agents/alice/skills/spanish", k, r#"{"proficiency":11}"#).await;
        assert_eq!((status, field_of(&body).as_str()), (422, "proficiency"), "{body}");
        assert_eq!(req("PUT", "/api/v1/agents/alice/skills/spanish", k, "").await.0, 400, "proficiency is required");
        let (status, body) = req("GET", "/api/v1/skills", k, "").await;
        assert_eq!((status, body.as_str()), (200, r#"{"skills":[{"skill":"spanish","agents":[{"agent":"alice","proficiency":8}]}]}"#));
        let (status, body) = req("POST", "/api/v1/queues/sales/members/alice", k, "").await;
        assert!(status == 200 && body.contains(r#""members":[{"agent":"alice","penalty":0}]"#), "{body}");
        assert_eq!(req("POST", "/api/v1/queues/sales/members/bob", k, "").await.0, 404);
        assert_eq!(req("DELETE", "/api/v1/queues/sales/members/alice", k, "").await.0, 204);
        assert_eq!(req("DELETE", "/api/v1/agents/alice/skills/spanish", k, "").await.0, 204);
        assert_eq!(req("DELETE", "/api/v1/agents/alice/skills/spanish", k, "").await.0, 404);
        assert_eq!(req("PATCH", "/api/v1/agents/alice", k, "{}").await.0, 405);
        assert_eq!(req("DELETE", "/api/v1/agents/alice", k, "").await.0, 204);
        assert_eq!(req("DELETE", "/api/v1/queues/sales", k, "").await.0, 204);
        assert_eq!(req("GET", "/api/v1/queues/sales", k, "").await.0, 404);
    }

    #[tokio::test]
    async fn customer_routes_and_csv_import() {
        use crate::web::tests::request;
        let (_dir, port) = serve().await;
        let k = Some("sb_adminkey");
        let csv = "Content-Type: text/csv; charset=utf-8\r\n";
        let (status, _, body) = request(port, "POST", "/api/v1/customers/import", k, csv, b"name,account,phones\nAnn,A-1,5551234\n,x,\nBob,,555 0100\n").await;
        assert_eq!(status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!((v["imported"].as_u64(), v["updated"].as_u64(), v["rejected"].as_u64()), (Some(2), Some(0), Some(1)), "{body}");
        assert_eq!(v["errors"][0]["line"].as_u64(), Some(3), "{body}");
        let (status, _, body) = request(port, "POST", "/api/v1/customers/import", k, csv, b"account\n1\n").await;
        assert!(status == 422 && body.contains("nothing imported") && body.contains("\"line\":1"), "{body}");
        let (status, _, _) = request(port, "POST", "/api/v1/customers/import", k, "Content-Type: application/json\r\n", b"{}").await;
        assert_eq!(status, 415);
        let (status, _, _) = request(port, "POST", "/api/v1/customers/import", k, "", b"name\nx\n").await;
        assert_eq!(status, 415, "no Content-Type");
        let big = format!("{csv}Content-Length: {}\r\n", CSV_LIMIT + 1);
        assert_eq!(request(port, "POST", "/api/v1/customers/import", k, &big, b"").await.0, 413);
        let (status, _, body) = request(port, "POST", "/api/v1/customers/import", k, csv, b"name\nok\n\xff\n").await;
        assert!(status == 400 && body.contains("line 3"), "{body}");
        assert_eq!(request(port, "POST", "/api/v1/customers/import", None, csv, b"name\nx\n").await.0, 401);

        let get = |p: &'static str| async move {
            let (status, _, body) = request(port, "GET", p, k, "", b"").await;
            (status, body)
        };
        let (status, body) = get("/api/v1/customers?q=ann").await;
        assert!(status == 200 && body.contains(r#""total":1"#) && body.contains(r#""account":"A-1""#), "{body}");
        let (status, body) = get("/api/v1/customers?phone=555-0100&key=ignored").await;
        assert!(status == 200 && body.contains(r#""name":"Bob""#), "{body}");
        let (status, body) = get("/api/v1/customers?limit=1&offset=1").await;
        assert!(status == 200 && body.contains(r#""total":2"#) && body.contains(r#""limit":1"#) && body.contains("Bob"), "{body}");
        let (status, body) = get("/api/v1/customers?limit=x").await;
        assert_eq!((status, field_of(&body).as_str()), (400, "limit"), "{body}");
        let (status, body) = get("/api/v1/customers?limit=0").await;
        assert_eq!((status, field_of(&body).as_str()), (422, "limit"), "{body}");
        assert_eq!(get("/api/v1/customers/abc").await.0, 404);
        assert_eq!(get("/api/v1/customers/999").await.0, 404);

        let json = "Content-Type: application/json\r\n";
        let (status, head, body) = request(port, "POST", "/api/v1/customers", k, json, br#"{"name":"Cy","phones":["+1 555 000 1111"],"fields":{"plan":"gold"}}"#).await;
        assert_eq!(status, 201, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let id = v["id"].as_i64().unwrap();
        assert!(head.contains(&format!("/api/v1/customers/{id}")), "{head}");
        assert_eq!(v["phones"][0], "+15550001111");
        let path = format!("/api/v1/customers/{id}");
        let (status, _, body) = request(port, "PUT", &path, k, json, br#"{"account":"A-1"}"#).await;
        assert_eq!(status, 409, "Ann has it: {body}");
        let (status, _, body) = request(port, "PUT", &path, k, json, br#"{"fields":{"bad key":"1"}}"#).await;
        assert_eq!((status, field_of(&body).as_str()), (422, "fields"), "{body}");
        let (status, _, body) = request(port, "PUT", &path, k, json, br#"{"notes":"call after 5"}"#).await;
        assert!(status == 200 && body.contains("gold") && body.contains("after 5"), "{body}");
        assert_eq!(request(port, "DELETE", &path, k, "", b"").await.0, 204);
        assert_eq!(request(port, "DELETE", &path, k, "", b"").await.0, 404);
    }
}
