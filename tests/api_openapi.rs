//! The OpenAPI document at `/api/v1/openapi.json` against the real binary:
//! it is public, cacheable OpenAPI 3.x JSON; the router and the document
//! agree both ways (every documented method of every documented path
//! reaches a handler, every other method of those paths is the router's
//! 405, no `/api/v1` route is registered outside the list the document is
//! made from, and the known routes are all there with their scope); every
//! answer the server gives, errors and rows alike, is a documented status
//! whose body fits the documented schema (a small JSON Schema checker
//! below); every operation carries its scope (the one its handler checks),
//! credentials and error body;
//! the words listed for path segments are exactly those the handlers take;
//! and the queue input's `strategy` lists exactly the strategies the API
//! accepts.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::http::{request, Resp};
use common::switchboard::Switchboard;
use serde_json::{json, Value};

/// Every `/api/v1` operation the console and integrations rely on: (method,
/// path, scope). The document may have more, never fewer.
const KNOWN: &[(&str, &str, &str)] = &[
    ("get", "/api/v1/events", "events"),
    ("get", "/api/v1/stats", "stats"),
    ("post", "/api/v1/calls/{call_id}/{action}", "calls"),
    ("post", "/api/v1/calls/{call_id}/consult/{step}", "calls"),
    ("post", "/api/v1/calls/{call_id}/recording/{action}", "calls"),
    ("post", "/api/v1/calls/{call_id}/disposition", "calls"),
    ("post", "/api/v1/agents/{agent}/{action}", "calls"),
    ("get", "/api/v1/queues", "admin"),
    ("post", "/api/v1/queues", "admin"),
    ("get", "/api/v1/queues/{queue}", "admin"),
    ("put", "/api/v1/queues/{queue}", "admin"),
    ("delete", "/api/v1/queues/{queue}", "admin"),
    ("post", "/api/v1/queues/{queue}/members/{agent}", "admin"),
    ("delete", "/api/v1/queues/{queue}/members/{agent}", "admin"),
    ("get", "/api/v1/agents", "admin"),
    ("post", "/api/v1/agents", "admin"),
    ("get", "/api/v1/agents/{agent}", "admin"),
    ("put", "/api/v1/agents/{agent}", "admin"),
    ("delete", "/api/v1/agents/{agent}", "admin"),
    ("put", "/api/v1/agents/{agent}/skills/{skill}", "admin"),
    ("delete", "/api/v1/agents/{agent}/skills/{skill}", "admin"),
    ("get", "/api/v1/skills", "admin"),
    ("get", "/api/v1/customers", "admin"),
    ("post", "/api/v1/customers", "admin"),
    ("post", "/api/v1/customers/import", "admin"),
    ("get", "/api/v1/customers/{id}", "admin"),
    ("put", "/api/v1/customers/{id}", "admin"),
    ("delete", "/api/v1/customers/{id}", "admin"),
    ("get", "/api/v1/extensions", "admin"),
    ("post", "/api/v1/extensions", "admin"),
    ("get", "/api/v1/extensions/{number}", "admin"),
    ("put", "/api/v1/extensions/{number}", "admin"),
    ("delete", "/api/v1/extensions/{number}", "admin"),
    ("post", "/api/v1/extensions/{number}/secret", "admin"),
    ("get", "/api/v1/trunks", "admin"),
    ("post", "/api/v1/trunks", "admin"),
    ("get", "/api/v1/trunks/{trunk}", "admin"),
    ("put", "/api/v1/trunks/{trunk}", "admin"),
    ("delete", "/api/v1/trunks/{trunk}", "admin"),
    ("get", "/api/v1/users", "admin"),
    ("post", "/api/v1/users", "admin"),
    ("get", "/api/v1/users/{id}", "admin"),
    ("put", "/api/v1/users/{id}", "admin"),
    ("delete", "/api/v1/users/{id}", "admin"),
    ("put", "/api/v1/users/{id}/password", "admin"),
    ("get", "/api/v1/audit", "admin"),
    ("get", "/api/v1/apikeys", "admin"),
    ("post", "/api/v1/apikeys", "admin"),
    ("delete", "/api/v1/apikeys/{name}", "admin"),
    ("get", "/api/v1/dialplans", "admin"),
    ("get", "/api/v1/dialplans/simulate", "admin"),
    ("get", "/api/v1/dialplans/{file}", "admin"),
    ("put", "/api/v1/dialplans/{file}", "admin"),
    ("delete", "/api/v1/dialplans/{file}", "admin"),
    ("post", "/api/v1/dialplans/{file}/validate", "admin"),
    ("get", "/api/v1/prompts", "admin"),
    ("get", "/api/v1/prompts/{lang}/{file}", "admin"),
    ("put", "/api/v1/prompts/{lang}/{file}", "admin"),
    ("delete", "/api/v1/prompts/{lang}/{file}", "admin"),
    ("get", "/api/v1/call-records", "stats"),
    ("get", "/api/v1/call-records/export", "stats"),
    ("get", "/api/v1/recordings/{id}/audio", "stats"),
    ("get", "/api/v1/mailboxes", "admin"),
    ("post", "/api/v1/mailboxes", "admin"),
    ("delete", "/api/v1/mailboxes/{mailbox}", "admin"),
    ("get", "/api/v1/mailboxes/{mailbox}/messages", "admin"),
    ("get", "/api/v1/voicemail/{id}/audio", "admin"),
    ("post", "/api/v1/voicemail/{id}/heard", "admin"),
    ("delete", "/api/v1/voicemail/{id}", "admin"),
    ("get", "/api/v1/settings", "admin"),
    ("put", "/api/v1/settings", "admin"),
    ("post", "/api/v1/restart", "admin"),
    ("get", "/api/v1/backup", "admin"),
    ("post", "/api/v1/backup/restore", "admin"),
    ("get", "/api/v1/backup/restore", "admin"),
    ("delete", "/api/v1/backup/restore", "admin"),
    ("get", "/api/v1/system/update", "admin"),
    ("post", "/api/v1/system/update", "admin"),
    ("get", "/api/v1/dashboard", "stats"),
    ("get", "/api/v1/tls/certificate", "admin"),
    ("put", "/api/v1/tls/certificate", "admin"),
    ("post", "/api/v1/tls/certificate/regenerate", "admin"),
    ("get", "/api/v1/security/bans", "admin"),
    ("delete", "/api/v1/security/bans/{address}", "admin"),
    ("get", "/api/v1/faxes", "fax"),
    ("post", "/api/v1/faxes", "fax"),
    ("get", "/api/v1/faxes/{id}", "fax"),
    ("delete", "/api/v1/faxes/{id}", "fax"),
    ("get", "/api/v1/faxes/{id}/pdf", "fax"),
    ("get", "/api/v1/faxes/{id}/tiff", "fax"),
];

/// The methods probed on every documented path.
const METHODS: &[&str] = &["get", "post", "put", "delete", "patch"];

fn start() -> (Switchboard, String) {
    let sb = Switchboard::start_with("").expect("start switchboard");
    let key = sb.admin_api_key("openapi");
    (sb, key)
}

fn fetch_document(sb: &Switchboard) -> (Resp, Value) {
    let r = request(sb.http_port, "GET", "/api/v1/openapi.json", &[], b"");
    assert_eq!(r.status, 200, "{}", r.body);
    let doc: Value = serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", r.body));
    (r, doc)
}

/// (method, path) → operation, for every operation of the document.
fn operations(doc: &Value) -> BTreeMap<(String, String), Value> {
    let mut ops = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if METHODS.contains(&method.as_str()) || ["head", "options", "trace"].contains(&method.as_str()) {
                ops.insert((method.clone(), path.clone()), op.clone());
            }
        }
    }
    ops
}

/// A request with the admin key: the key goes in the header, so the
/// handlers get past authentication and answer for the path itself.
fn call(sb: &Switchboard, key: &str, method: &str, path: &str) -> Resp {
    let auth = format!("Bearer {key}");
    request(sb.http_port, &method.to_ascii_uppercase(), path, &[("Authorization", auth.as_str())], b"")
}

/// The router's own 404 has an empty body; every handler's is JSON with `error`.
fn handler_json_error(r: &Resp) -> Option<String> {
    serde_json::from_str::<Value>(&r.body).ok().and_then(|v| v["error"].as_str().map(String::from))
}

/// The path with each `{param}` replaced by `value` (or the given overrides).
fn fill(path: &str, value: &str, over: &[(&str, &str)]) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').expect("closing brace") + open;
        let name = &rest[open + 1..close];
        out.push_str(&rest[..open]);
        out.push_str(over.iter().find(|(n, _)| *n == name).map(|(_, v)| *v).unwrap_or(value));
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

fn resolve<'a>(doc: &'a Value, reference: &str) -> &'a Value {
    let name = reference.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("unexpected $ref {reference}"));
    &doc["components"]["schemas"][name]
}

/// The ways `value` breaks `schema`, for the part of JSON Schema the
/// document uses ($ref, allOf, oneOf, type, enum, minimum, required,
/// properties, additionalProperties, items).
fn violations(doc: &Value, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        return violations(doc, resolve(doc, r), value, at, out);
    }
    for s in schema.get("allOf").and_then(Value::as_array).into_iter().flatten() {
        violations(doc, s, value, at, out);
    }
    if let Some(one) = schema.get("oneOf").and_then(Value::as_array) {
        let fits = one
            .iter()
            .filter(|s| {
                let mut v = Vec::new();
                violations(doc, s, value, at, &mut v);
                v.is_empty()
            })
            .count();
        if fits != 1 {
            out.push(format!("{at}: {value} matches {fits} of the oneOf"));
        }
    }
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let fits = types.iter().any(|t| match *t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            _ => false,
        });
        if !fits {
            out.push(format!("{at}: {value} is not {t}"));
            return;
        }
    }
    if let Some(words) = schema.get("enum").and_then(Value::as_array) {
        if !words.contains(value) {
            out.push(format!("{at}: {value} is not one of {words:?}"));
        }
    }
    if let (Some(min), Some(v)) = (schema.get("minimum").and_then(Value::as_f64), value.as_f64()) {
        if v < min {
            out.push(format!("{at}: {v} < {min}"));
        }
    }
    if let Some(obj) = value.as_object() {
        for name in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
            if !obj.contains_key(name.as_str().unwrap()) {
                out.push(format!("{at}: no {name}"));
            }
        }
        let props = schema.get("properties").and_then(Value::as_object);
        for (k, v) in obj {
            match (props.and_then(|p| p.get(k)), schema.get("additionalProperties")) {
                (Some(s), _) => violations(doc, s, v, &format!("{at}.{k}"), out),
                (None, Some(Value::Bool(false))) => out.push(format!("{at}: {k} is not in the schema")),
                (None, Some(s)) if s.is_object() => violations(doc, s, v, &format!("{at}.{k}"), out),
                _ => {}
            }
        }
    }
    if let (Some(items), Some(list)) = (schema.get("items"), value.as_array()) {
        for (i, v) in list.iter().enumerate() {
            violations(doc, items, v, &format!("{at}[{i}]"), out);
        }
    }
}

/// The problems of answer `r` to `method path` against the document: an
/// undocumented status, or a JSON body that does not fit its schema.
fn check_answer(doc: &Value, method: &str, path: &str, r: &Resp) -> Vec<String> {
    let what = format!("{method} {path} {}", r.status);
    let response = &doc["paths"][path][method]["responses"][r.status.to_string()];
    if !response.is_object() {
        return vec![format!("{what}: status not documented ({})", r.body)];
    }
    let Some(schema) = response["content"]["application/json"].get("schema") else { return Vec::new() };
    let body: Value = match serde_json::from_str(&r.body) {
        Ok(v) => v,
        Err(e) => return vec![format!("{what}: documented as JSON, got ({e}) {}", r.body)],
    };
    let mut out = Vec::new();
    violations(doc, schema, &body, &what, &mut out);
    out
}

#[test]
fn the_document_is_public_cacheable_openapi_3_json() {
    let (sb, _key) = start();
    let (r, doc) = fetch_document(&sb);
    assert!(r.header("content-type").is_some_and(|t| t.starts_with("application/json")), "{:?}", r.headers);
    let cache = r.header("cache-control").unwrap_or_default();
    assert!(cache.contains("public") && cache.contains("max-age="), "cached briefly: {cache}");
    let age: u64 = cache.split("max-age=").nth(1).and_then(|a| a.split(',').next()).and_then(|a| a.trim().parse().ok()).expect("max-age");
    assert!((1..=3600).contains(&age), "briefly: {age}");
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "openapi: {}", doc["openapi"]);
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(doc["info"]["title"].as_str().is_some_and(|t| !t.is_empty()));
    // Public: a wrong key or a cookie changes nothing, and it needs no CSRF.
    let with_bad_key = request(sb.http_port, "GET", "/api/v1/openapi.json", &[("Authorization", "Bearer sb_wrong")], b"");
    assert_eq!((with_bad_key.status, with_bad_key.body.len()), (200, r.body.len()));
    // The document describes itself as public.
    let own = &doc["paths"]["/api/v1/openapi.json"]["get"];
    assert!(own.is_object(), "the document's own route is documented");
    assert!(own.get("security").is_none() && doc.get("security").is_none(), "no credential required: {own}");
    // Every $ref resolves (schemas used only in parameters included).
    let text = doc.to_string();
    let refs: BTreeSet<&str> = text.split("\"$ref\":\"").skip(1).map(|s| &s[..s.find('"').unwrap()]).collect();
    assert!(refs.len() > 10, "{refs:?}");
    for r in refs {
        assert!(resolve(&doc, r).is_object(), "dangling {r}");
    }
    // Operation ids are unique (clients generate method names from them).
    let ops = operations(&doc);
    let ids: Vec<&str> = ops.values().map(|op| op["operationId"].as_str().expect("operationId")).collect();
    let unique: BTreeSet<&&str> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");
}

#[test]
fn security_schemes_scopes_and_error_bodies() {
    let (sb, _key) = start();
    let (_, doc) = fetch_document(&sb);
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!((schemes["bearer"]["type"].as_str(), schemes["bearer"]["scheme"].as_str()), (Some("http"), Some("bearer")));
    assert_eq!((schemes["query_key"]["in"].as_str(), schemes["query_key"]["name"].as_str()), (Some("query"), Some("key")));
    assert_eq!((schemes["session"]["in"].as_str(), schemes["session"]["name"].as_str()), (Some("cookie"), Some("sb_session")));
    assert_eq!((schemes["csrf"]["in"].as_str(), schemes["csrf"]["name"].as_str()), (Some("header"), Some("X-CSRF-Token")));

    let error = &doc["components"]["schemas"]["ErrorBody"];
    assert_eq!(error["required"], json!(["error"]), "{error}");
    assert!(error["properties"]["error"]["type"] == "string" && error["properties"]["field"].is_object(), "{error}");

    let scopes = ["events", "stats", "calls", "fax", "admin"];
    for ((method, path), op) in operations(&doc) {
        if path == "/api/v1/openapi.json" {
            continue;
        }
        let what = format!("{method} {path}");
        let scope = op["x-scope"].as_str().unwrap_or_else(|| panic!("{what}: no x-scope"));
        assert!(scopes.contains(&scope), "{what}: {scope}");
        assert!(op["description"].as_str().is_some_and(|d| d.contains(&format!("Scope: `{scope}`"))), "{what}: {}", op["description"]);
        let security: Vec<BTreeSet<String>> = op["security"]
            .as_array()
            .unwrap_or_else(|| panic!("{what}: no security"))
            .iter()
            .map(|alt| alt.as_object().unwrap().keys().cloned().collect())
            .collect();
        let set = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<BTreeSet<String>>();
        let session = if method == "get" { set(&["session"]) } else { set(&["session", "csrf"]) };
        assert_eq!(security, vec![set(&["bearer"]), set(&["query_key"]), session], "{what}");
        for status in ["401", "403"] {
            let schema = &op["responses"][status]["content"]["application/json"]["schema"]["$ref"];
            assert_eq!(schema, "#/components/schemas/ErrorBody", "{what} {status}");
        }
        for (status, response) in op["responses"].as_object().unwrap() {
            if status.starts_with('4') && !(path == "/api/v1/events" && status == "400") {
                assert!(response["content"]["application/json"]["schema"].is_object(), "{what} {status}: an error body");
            }
        }
    }
}

#[test]
fn known_routes_are_documented_with_their_scope_and_bodies() {
    let (sb, _key) = start();
    let (_, doc) = fetch_document(&sb);
    let ops = operations(&doc);
    for (method, path, scope) in KNOWN {
        let op = ops.get(&(method.to_string(), path.to_string())).unwrap_or_else(|| panic!("{method} {path} is not documented"));
        assert_eq!(op["x-scope"], *scope, "{method} {path}");
    }
    // JSON request bodies name their schema; the CSV import takes text/csv.
    for (method, path, schema) in [
        ("post", "/api/v1/queues", "QueueInput"),
        ("put", "/api/v1/queues/{queue}", "QueueInput"),
        ("post", "/api/v1/queues/{queue}/members/{agent}", "MemberInput"),
        ("post", "/api/v1/agents", "AgentInput"),
        ("put", "/api/v1/agents/{agent}", "AgentInput"),
        ("put", "/api/v1/agents/{agent}/skills/{skill}", "SkillInput"),
        ("post", "/api/v1/customers", "CustomerInput"),
        ("put", "/api/v1/customers/{id}", "CustomerInput"),
        ("put", "/api/v1/tls/certificate", "CertificateInput"),
    ] {
        let body = &ops[&(method.to_string(), path.to_string())]["requestBody"]["content"];
        assert_eq!(body["application/json"]["schema"]["$ref"], format!("#/components/schemas/{schema}"), "{method} {path}: {body}");
        let responses = &ops[&(method.to_string(), path.to_string())]["responses"];
        for status in ["400", "413", "415", "422"] {
            assert!(responses[status].is_object(), "{method} {path}: {status} documented");
        }
    }
    let import = &ops[&("post".to_string(), "/api/v1/customers/import".to_string())];
    assert_eq!(import["requestBody"]["content"]["text/csv"]["schema"]["type"], "string", "{import}");
    assert_eq!(import["responses"]["200"]["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/ImportResult");
    assert_eq!(import["responses"]["422"]["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/ImportRefused");
    // Answers with a row point at their schema.
    let get_queue = &ops[&("get".to_string(), "/api/v1/queues/{queue}".to_string())];
    assert_eq!(get_queue["responses"]["200"]["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/QueueView");
}

/// Both directions at the HTTP level: every documented method of every
/// documented path reaches a handler and answers one of its documented
/// statuses; every other method there is the router's 405.
#[test]
fn every_documented_route_is_served_and_nothing_else_on_its_paths() {
    let (sb, key) = start();
    let (_, doc) = fetch_document(&sb);
    let ops = operations(&doc);
    let paths: BTreeSet<&String> = ops.keys().map(|(_, p)| p).collect();
    assert!(paths.len() >= 18, "{paths:?}");
    // Every disagreement, not just the first.
    let mut problems = Vec::new();
    let mut probed = 0;
    for path in paths {
        // Ids that exist nowhere: handlers answer for them, the router does not care.
        let url = fill(path, "zz", &[]);
        for method in METHODS {
            let r = call(&sb, &key, method, &url);
            let what = format!("{method} {url}: {} {}", r.status, r.body);
            match ops.get(&(method.to_string(), path.clone())) {
                Some(op) => {
                    probed += 1;
                    if r.status == 405 {
                        problems.push(format!("documented but not routed: {what}"));
                    } else if r.status == 404 && handler_json_error(&r).is_none() {
                        problems.push(format!("documented, but the router's 404: {what}"));
                    } else if !op["responses"][r.status.to_string()].is_object() {
                        problems.push(format!("answer not documented: {what}"));
                    } else {
                        problems.extend(check_answer(&doc, method, path, &r));
                    }
                }
                None if r.status != 405 => problems.push(format!("routed but not documented: {what}")),
                None => {}
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(probed, ops.len());

    // The WebSocket's 101 is real, with the key in the query as documented.
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", sb.http_port)).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET /api/v1/events?key={key} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    )
    .unwrap();
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).unwrap_or(0);
    let status = String::from_utf8_lossy(&buf[..n]).split_whitespace().nth(1).unwrap_or("").to_string();
    assert_eq!(status, "101");
    assert!(doc["paths"]["/api/v1/events"]["get"]["responses"]["101"].is_object());
}

/// No `/api/v1` route may be registered outside `web::api_v1` (the list
/// the document is made from): no `.route("/api/v1...")` or `.nest(...)`
/// anywhere in the web module, and every `#[utoipa::path]` handler is in
/// that list.
#[test]
fn no_api_route_is_registered_outside_the_documented_list() {
    let web = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/web");
    let route = regex::Regex::new(r#"\.(route|nest|route_service|nest_service)\(\s*(&?format!\(\s*)?"/api/v1"#).unwrap();
    let annotated = regex::Regex::new(r"#\[utoipa::path\((?s:.*?)\)\]\s*(?:///[^\n]*\s*)*pub(?:\([a-z]+\))? async fn ([a-z_]+)").unwrap();
    let mut files = vec![web.clone()];
    let mut handlers = Vec::new();
    let mut mod_rs = String::new();
    while let Some(p) = files.pop() {
        if p.is_dir() {
            files.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if p.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap();
        if let Some(m) = route.find(&text) {
            let line = text[..m.start()].lines().count() + 1;
            panic!("{}:{line}: an /api/v1 route outside `api_v1`'s `routes!` list (so not in the OpenAPI document)", p.display());
        }
        let module = p.file_stem().unwrap().to_string_lossy().to_string();
        for c in annotated.captures_iter(&text) {
            handlers.push(format!("{module}::{}", &c[1]));
        }
        if p.ends_with("web/mod.rs") {
            mod_rs = text;
        }
    }
    assert!(handlers.len() >= 29, "{handlers:?}");
    let list = &mod_rs[mod_rs.find("fn api_v1<").expect("api_v1 in web/mod.rs")..];
    let list = &list[..list.find(".split_for_parts()").expect("split_for_parts")];
    for h in handlers {
        assert!(list.contains(&h), "{h} has #[utoipa::path] but is not registered in api_v1");
    }
}

/// The words the document lists for `{action}` / `{step}` segments are the
/// ones the handlers take: a word not listed is refused as unknown, and
/// each listed word gets past that check (the call or agent is unknown, so
/// the answer is about that). Routes that refuse before looking at the word
/// (nothing to check with made-up ids) are skipped, but not the known ones.
#[test]
fn listed_path_words_are_the_accepted_ones() {
    let (sb, key) = start();
    let (_, doc) = fetch_document(&sb);
    let mut checked = BTreeSet::new();
    let mut words_checked = 0;
    for ((method, path), op) in operations(&doc) {
        for p in op["parameters"].as_array().into_iter().flatten() {
            if p["in"] != "path" {
                continue;
            }
            let name = p["name"].as_str().unwrap();
            let schema = match p["schema"].get("$ref") {
                Some(r) => resolve(&doc, r.as_str().unwrap()).clone(),
                None => p["schema"].clone(),
            };
            let Some(words) = schema["enum"].as_array() else { continue };
            // `agent`: routes that act for a named agent want one.
            let url = format!("{}?agent=nobody", fill(&path, "nobody", &[(name, "frobnicate")]));
            let r = call(&sb, &key, &method, &url);
            if !(r.status == 404 && handler_json_error(&r).is_some_and(|e| e.contains("unknown"))) {
                continue;
            }
            for w in words {
                let w = w.as_str().unwrap();
                let url = format!("{}?agent=nobody", fill(&path, "nobody", &[(name, w)]));
                let r = call(&sb, &key, &method, &url);
                let e = handler_json_error(&r).unwrap_or_default();
                assert!(!e.contains("unknown"), "{method} {url}: {} {}", r.status, r.body);
                assert_ne!(r.status, 405, "{method} {url}");
                words_checked += 1;
            }
            checked.insert(format!("{method} {path}"));
        }
    }
    for known in [
        "post /api/v1/calls/{call_id}/{action}",
        "post /api/v1/calls/{call_id}/consult/{step}",
        "post /api/v1/calls/{call_id}/recording/{action}",
        "post /api/v1/agents/{agent}/{action}",
    ] {
        assert!(checked.contains(known), "{known}: its words were not checked ({checked:?})");
    }
    assert!(words_checked >= 17, "{words_checked} words");
}

/// The queue input's `strategy` lists exactly what the API accepts.
#[test]
fn queue_strategy_enum_is_what_the_api_accepts() {
    let (sb, key) = start();
    let (_, doc) = fetch_document(&sb);
    let input = &doc["components"]["schemas"]["QueueInput"];
    assert_eq!(input["additionalProperties"], false, "unknown fields are refused: {input}");
    let strategy = &input["properties"]["strategy"];
    let words: Vec<&str> = strategy["enum"].as_array().expect("strategy enum").iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(words, ["ring_all", "longest_idle", "round_robin", "fewest_calls", "random", "linear", "skills"]);
    assert_eq!(doc["components"]["schemas"]["QueueView"]["properties"]["strategy"]["enum"], strategy["enum"]);
    assert!(input["properties"]["max_wait_secs"]["type"].as_array().is_some_and(|t| t.contains(&json!("null"))), "null lifts the limit");
    let auth = format!("Bearer {key}");
    let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/json")];
    for (i, w) in words.iter().enumerate() {
        let body = json!({ "name": format!("q{i}"), "strategy": w }).to_string();
        let r = request(sb.http_port, "POST", "/api/v1/queues", &headers, body.as_bytes());
        assert_eq!(r.status, 201, "{w}: {}", r.body);
    }
    let r = request(sb.http_port, "POST", "/api/v1/queues", &headers, br#"{"name":"qx","strategy":"fifo"}"#);
    let v: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!((r.status, v["field"].as_str()), (422, Some("strategy")), "{}", r.body);
    // And the 422 body is the documented error shape.
    assert!(v["error"].as_str().is_some_and(|e| e.starts_with("strategy")), "{}", r.body);
}

/// Real answers with data fit the documented schemas: rows created through
/// the API, lists, the CSV import's report and refusal, field errors, the
/// statistics with a queue and an agent, and an event off the WebSocket.
#[test]
fn answers_with_data_fit_their_schemas() {
    let (sb, key) = start();
    let (_, doc) = fetch_document(&sb);
    let auth = format!("Bearer {key}");
    let send = |method: &str, path: &str, ctype: &str, body: &str| {
        let headers = [("Authorization", auth.as_str()), ("Content-Type", ctype)];
        request(sb.http_port, method, path, &headers, body.as_bytes())
    };
    let mut problems = Vec::new();
    let mut expect = |method: &str, template: &str, r: &Resp, status: u16| {
        assert_eq!(r.status, status, "{method} {template}: {}", r.body);
        problems.extend(check_answer(&doc, method, template, r));
    };
    let json = "application/json";
    let csv = "text/csv";
    let r = send("POST", "/api/v1/agents", json, r#"{"id":"alice","name":"Alice","extensions":["1001"],"no_answer_limit":2}"#);
    expect("post", "/api/v1/agents", &r, 201);
    let r = send("POST", "/api/v1/queues", json, r#"{"name":"sales","strategy":"skills","max_wait_secs":120,"overflow":"voicemail:100","skill_relax":"30:1","callback_key":"*"}"#);
    expect("post", "/api/v1/queues", &r, 201);
    let r = send("POST", "/api/v1/queues/sales/members/alice", json, r#"{"penalty":2}"#);
    expect("post", "/api/v1/queues/{queue}/members/{agent}", &r, 200);
    let r = send("PUT", "/api/v1/agents/alice/skills/spanish", json, r#"{"proficiency":7}"#);
    expect("put", "/api/v1/agents/{agent}/skills/{skill}", &r, 200);
    let r = send("PUT", "/api/v1/queues/sales", json, r#"{"ring_timeout_secs":0}"#);
    expect("put", "/api/v1/queues/{queue}", &r, 422);
    let r = send("PUT", "/api/v1/queues/sales", json, r#"{"ring_timeout_secs":"soon"}"#);
    expect("put", "/api/v1/queues/{queue}", &r, 400);
    for (template, path) in [("/api/v1/queues", "/api/v1/queues"), ("/api/v1/agents", "/api/v1/agents"), ("/api/v1/skills", "/api/v1/skills")] {
        let r = send("GET", path, json, "");
        expect("get", template, &r, 200);
        assert!(r.body.contains("alice"), "{path}: {}", r.body);
    }
    let r = send("GET", "/api/v1/queues/sales", json, "");
    expect("get", "/api/v1/queues/{queue}", &r, 200);
    // The checker itself can fail: a wrong word, a missing and an unknown field.
    let mut queue: Value = serde_json::from_str(&r.body).unwrap();
    queue["strategy"] = json!("fifo");
    queue.as_object_mut().unwrap().remove("members");
    queue["extra"] = json!(1);
    let mut wrong = Vec::new();
    violations(&doc, &json!({"$ref": "#/components/schemas/QueueView"}), &queue, "queue", &mut wrong);
    assert_eq!(wrong.len(), 3, "{wrong:?}");
    let r = send("GET", "/api/v1/agents/alice", json, "");
    expect("get", "/api/v1/agents/{agent}", &r, 200);

    let r = send("POST", "/api/v1/customers", json, r#"{"name":"Ann","account":"A-1","phones":["+1 555 0100"],"fields":{"tier":"gold"}}"#);
    expect("post", "/api/v1/customers", &r, 201);
    let r = send("POST", "/api/v1/customers/import", csv, "name,account,phones,balance\nBob,B-2,5550101;5550102,42\n,x,\n");
    expect("post", "/api/v1/customers/import", &r, 200);
    let r = send("POST", "/api/v1/customers/import", csv, "account\n1\n");
    expect("post", "/api/v1/customers/import", &r, 422);
    let r = send("GET", "/api/v1/customers?q=555&limit=10", json, "");
    expect("get", "/api/v1/customers", &r, 200);
    assert!(r.body.contains("Bob") && r.body.contains("gold"), "{}", r.body);
    let r = send("GET", "/api/v1/customers?limit=0", json, "");
    expect("get", "/api/v1/customers", &r, 422);

    // A fax job (a TIFF to a number no trunk reaches), the list and the record.
    let tiff = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/fax/two-pages.tif")).unwrap();
    let r = request(sb.http_port, "POST", "/api/v1/faxes?to=5550199&name=t.tif", &[("Authorization", auth.as_str()), ("Content-Type", "image/tiff")], &tiff);
    expect("post", "/api/v1/faxes", &r, 202);
    let fax = serde_json::from_str::<Value>(&r.body).unwrap()["id"].as_i64().unwrap();
    let r = send("GET", "/api/v1/faxes?direction=out", json, "");
    expect("get", "/api/v1/faxes", &r, 200);
    assert!(r.body.contains("t.tif"), "{}", r.body);
    let r = send("GET", &format!("/api/v1/faxes/{fax}"), json, "");
    expect("get", "/api/v1/faxes/{id}", &r, 200);
    let r = send("POST", "/api/v1/faxes?to=x", "image/png", "");
    expect("post", "/api/v1/faxes", &r, 422);

    // The ACD picks the queue up from the store within a few seconds.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let stats = loop {
        let r = send("GET", "/api/v1/stats", json, "");
        if r.status == 200 && r.body.contains("sales") && r.body.contains("alice") {
            break r;
        }
        assert!(std::time::Instant::now() < deadline, "the ACD never showed the queue: {} {}", r.status, r.body);
        std::thread::sleep(std::time::Duration::from_millis(250));
    };
    expect("get", "/api/v1/stats", &stats, 200);

    // An event: subscribed before alice logs in, so it cannot be missed.
    let stream = std::net::TcpStream::connect(("127.0.0.1", sb.http_port)).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    let (mut ws, _) = tungstenite::client(format!("ws://127.0.0.1:{}/api/v1/events?key={key}&agent=alice", sb.http_port), stream).expect("WebSocket");
    let r = send("POST", "/api/v1/agents/alice/login", json, "");
    expect("post", "/api/v1/agents/{agent}/{action}", &r, 204);
    let text = loop {
        if let tungstenite::Message::Text(t) = ws.read().expect("an event") {
            break t.to_string();
        }
    };
    let event: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(event["type"], "agent_state", "{text}");
    violations(&doc, &json!({"$ref": "#/components/schemas/CtiEvent"}), &event, "event", &mut problems);
    let _ = ws.close(None);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Each operation's `x-scope` is the scope its handler checks: a key with
/// just that scope gets past the scope check, a key with another (not
/// `admin`) is refused for lacking it.
#[test]
fn documented_scopes_are_the_checked_ones() {
    let (sb, _admin) = start();
    let (_, doc) = fetch_document(&sb);
    let key_for = |scope: &str| {
        let out = sb.admin_ok(&["apikey", "add", &format!("only-{scope}"), "--scope", scope]);
        out.split_whitespace().find(|w| w.starts_with("sb_")).expect("API key printed").to_string()
    };
    let keys: BTreeMap<&str, String> = ["events", "stats", "calls", "fax"].into_iter().map(|s| (s, key_for(s))).collect();
    let lacks = |r: &Resp| r.status == 403 && handler_json_error(r).is_some_and(|e| e.contains("lacks the"));
    let mut checked = 0;
    for ((method, path), op) in operations(&doc) {
        let Some(scope) = op["x-scope"].as_str() else { continue };
        let url = format!("{}?agent=nobody", fill(&path, "zz", &[]));
        for (have, key) in &keys {
            let r = call(&sb, key, &method, &url);
            if *have == scope {
                assert!(!lacks(&r), "{method} {path} is documented as `{scope}` but refuses such a key: {} {}", r.status, r.body);
            } else {
                assert!(lacks(&r), "{method} {path} is documented as `{scope}` but lets a `{have}` key through: {} {}", r.status, r.body);
            }
        }
        checked += 1;
    }
    assert!(checked >= 28, "{checked}");
}
