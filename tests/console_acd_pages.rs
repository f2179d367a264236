//! The console's queue, agent and customer pages against the real binary
//! over HTTP: who may open them (admin, supervisor, agent), changes through
//! the forms with the CSRF token and their effect seen through the CLI or
//! the admin API, validation errors shown at the field, supervisor agent
//! control (pause, unpause, log out) seen in the ACD's live state, the CSV
//! import report by line, and the audit log; the agent panel's call
//! controls (consult, add to call) and its callback list, which shows the
//! web callbacks booked through `/contact` for the agent's own queues only.

mod common;

use common::http::{form, request, Resp};
use common::switchboard::Switchboard;

const PW: &str = "a long passphrase";

/// A logged-in console user: session cookie and CSRF token.
struct User {
    cookie: String,
    csrf: String,
}

fn get(sb: &Switchboard, path: &str, u: &User) -> Resp {
    request(sb.http_port, "GET", path, &[("Cookie", &u.cookie)], b"")
}

/// A plain form POST as the browser sends it (token in `_csrf`).
fn post(sb: &Switchboard, path: &str, u: &User, fields: &[(&str, &str)]) -> Resp {
    let mut all = fields.to_vec();
    all.push(("_csrf", &u.csrf));
    request(sb.http_port, "POST", path, &[("Cookie", &u.cookie), ("Content-Type", "application/x-www-form-urlencoded")], &form(&all))
}

/// The admin API with the console session (admins only).
fn api(sb: &Switchboard, method: &str, path: &str, u: &User) -> (u16, serde_json::Value) {
    let r = request(sb.http_port, method, path, &[("Cookie", &u.cookie), ("X-CSRF-Token", &u.csrf)], b"");
    (r.status, serde_json::from_str(&r.body).unwrap_or(serde_json::Value::Null))
}

fn login(sb: &Switchboard, name: &str) -> User {
    let r = request(
        sb.http_port,
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &form(&[("username", name), ("password", PW), ("next", "")]),
    );
    assert_eq!(r.status, 303, "login {name}: {r:?}");
    let cookie = format!("sb_session={}", r.set_cookie("sb_session").expect("session cookie").0);
    let page = request(sb.http_port, "GET", "/agent", &[("Cookie", &cookie)], b"");
    User { csrf: page.csrf_token(), cookie }
}

/// An appliance with users root (admin), sam (supervisor) and ann (agent).
fn start() -> (Switchboard, User, User, User) {
    start_with("")
}

/// `start` with that configuration.
fn start_with(config: &str) -> (Switchboard, User, User, User) {
    let sb = Switchboard::start_with(config).expect("start");
    let out = sb.admin_ok(&["setup-link"]);
    let link = out[out.find("/setup/").expect("link")..].trim().to_string();
    let made = request(
        sb.http_port,
        "POST",
        &link,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &form(&[("username", "root"), ("password", PW), ("confirm", PW)]),
    );
    assert_eq!(made.status, 303, "{made:?}");
    for args in [&["user", "add", "sam", "--role", "supervisor"][..], &["user", "add", "ann", "--role", "agent", "--agent", "ann"]] {
        let o = sb.admin_stdin(args, &format!("{PW}\n"));
        assert!(o.status.success(), "{o:?}");
    }
    let (root, sam, ann) = (login(&sb, "root"), login(&sb, "sam"), login(&sb, "ann"));
    (sb, root, sam, ann)
}

/// The inline error of `field` on a refused form.
fn field_error(r: &Resp, field: &str) -> String {
    let marker = format!("id=\"{field}-error\">");
    let at = r.body.find(&marker).unwrap_or_else(|| panic!("no error at {field} ({}): {}", r.status, r.body));
    let rest = &r.body[at + marker.len()..];
    rest[..rest.find('<').unwrap_or(rest.len())].to_string()
}

fn location(r: &Resp) -> String {
    assert_eq!(r.status, 303, "{r:?}");
    r.header("location").expect("location").to_string()
}

fn audit_has(sb: &Switchboard, root: &User, actions: &[&str]) {
    let audit = get(sb, "/audit", root).body;
    for a in actions {
        assert!(audit.contains(&format!(">{a}<")), "audit entry {a} missing: {audit}");
    }
}

#[test]
fn queues_page_creates_edits_and_staffs_queues() {
    let (sb, root, sam, ann) = start();
    sb.admin_ok(&["agent", "add", "alice", "--name", "Alice", "--ext", "2001"]);

    assert_eq!(get(&sb, "/queues", &ann).status, 403, "agents may not see queues");
    let sup = get(&sb, "/queues", &sam);
    assert_eq!(sup.status, 200);
    assert!(!sup.body.contains("id=\"new-queue\""), "supervisors get no creation form");
    assert!(sup.body.contains("href=\"/queues\""), "nav entry");
    assert_eq!(post(&sb, "/queues", &sam, &[("name", "x"), ("strategy", "ring_all")]).status, 403, "supervisors may not create");
    let page = get(&sb, "/queues", &root);
    assert!(page.body.contains("id=\"new-queue\"") && page.body.contains("No queues yet"), "{}", page.body);

    // Creation with every option of the admin API.
    let all = [
        ("name", "sales"),
        ("strategy", "longest_idle"),
        ("ring_timeout_secs", "15"),
        ("retry_delay_secs", "4"),
        ("wrapup_secs", "30"),
        ("max_wait_secs", "300"),
        ("max_callers", "5"),
        ("join_empty", "1"),
        ("moh_class", "jazz"),
        ("announce_every_secs", "0"),
        ("service_level_secs", "25"),
        ("overflow", "voicemail:100"),
        ("skill_relax", "30:1,60:2"),
        ("callback_key", "*"),
        ("callback_attempts", "2"),
        ("callback_retry_secs", "60"),
    ];
    assert!(location(&post(&sb, "/queues", &root, &all)).starts_with("/queues/sales?ok="));
    let (status, q) = api(&sb, "GET", "/api/v1/queues/sales", &root);
    assert_eq!(status, 200, "{q}");
    assert_eq!((q["strategy"].as_str(), q["ring_timeout_secs"].as_i64(), q["retry_delay_secs"].as_i64(), q["wrapup_secs"].as_i64()), (Some("longest_idle"), Some(15), Some(4), Some(30)));
    assert_eq!((q["max_wait_secs"].as_i64(), q["max_callers"].as_i64(), q["join_empty"].as_bool(), q["leave_when_empty"].as_bool()), (Some(300), Some(5), Some(true), Some(false)));
    assert_eq!((q["moh_class"].as_str(), q["announce_every_secs"].as_i64(), q["service_level_secs"].as_i64()), (Some("jazz"), Some(0), Some(25)));
    assert_eq!((q["overflow"].as_str(), q["skill_relax"].as_str(), q["callback_key"].as_str()), (Some("voicemail:100"), Some("30:1,60:2"), Some("*")));
    assert_eq!((q["callback_attempts"].as_i64(), q["callback_retry_secs"].as_i64()), (Some(2), Some(60)));
    let list = get(&sb, "/queues", &sam).body;
    assert!(list.contains("data-queue=\"sales\"") && list.contains("longest_idle"), "{list}");

    // Refusals are shown at the field, and nothing is written.
    let mut bad = all.to_vec();
    bad[0] = ("name", "support");
    bad[2] = ("ring_timeout_secs", "0");
    let r = post(&sb, "/queues", &root, &bad);
    assert_eq!(r.status, 422);
    assert!(field_error(&r, "ring_timeout_secs").contains("ring timeout"), "{}", field_error(&r, "ring_timeout_secs"));
    assert!(r.body.contains("value=\"support\""), "the form keeps what was typed");
    bad[2] = ("ring_timeout_secs", "15");
    bad[4] = ("wrapup_secs", "ten");
    assert!(field_error(&post(&sb, "/queues", &root, &bad), "wrapup_secs").contains("'ten'"));
    assert!(field_error(&post(&sb, "/queues", &root, &all), "name").contains("already exists"));
    assert_eq!(api(&sb, "GET", "/api/v1/queues/support", &root).0, 404);

    // Editing on the queue's page: unchecked boxes and blank limits clear.
    let edit = [("strategy", "round_robin"), ("ring_timeout_secs", "15"), ("wrapup_secs", "30"), ("max_wait_secs", ""), ("leave_when_empty", "1"), ("moh_class", "jazz"), ("service_level_secs", "25"), ("callback_key", "")];
    assert!(location(&post(&sb, "/queues/sales", &root, &edit)).starts_with("/queues/sales?ok="));
    let q = api(&sb, "GET", "/api/v1/queues/sales", &root).1;
    assert_eq!((q["strategy"].as_str(), q["max_wait_secs"].is_null(), q["join_empty"].as_bool(), q["leave_when_empty"].as_bool()), (Some("round_robin"), true, Some(false), Some(true)));
    assert!(q["callback_key"].is_null() && q["overflow"].is_null(), "{q}");
    assert_eq!(q["retry_delay_secs"].as_i64(), Some(4), "a blank required number keeps its value");
    let mut self_overflow = edit.to_vec();
    self_overflow.push(("overflow", "queue:sales"));
    let r = post(&sb, "/queues/sales", &root, &self_overflow);
    assert_eq!(r.status, 422);
    assert!(field_error(&r, "overflow").contains("itself"));
    assert!(sb.admin_ok(&["queue", "list"]).contains("round_robin"), "the CLI sees the page's change");
    assert_eq!(post(&sb, "/queues/sales", &sam, &edit).status, 403);

    // Members with a penalty.
    let r = post(&sb, "/queues/sales/members", &root, &[("agent", "alice"), ("penalty", "2000")]);
    assert_eq!(r.status, 422);
    assert!(field_error(&r, "penalty").contains("penalty"));
    assert!(field_error(&post(&sb, "/queues/sales/members", &root, &[("agent", "zed"), ("penalty", "1")]), "agent").contains("agent zed not found"));
    location(&post(&sb, "/queues/sales/members", &root, &[("agent", "alice"), ("penalty", "3")]));
    let q = api(&sb, "GET", "/api/v1/queues/sales", &root).1;
    assert_eq!(q["members"], serde_json::json!([{"agent": "alice", "penalty": 3}]));
    assert!(sb.admin_ok(&["queue", "members", "sales"]).contains("alice"));
    let page = get(&sb, "/queues/sales", &sam);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("data-agent=\"alice\"") && page.body.contains("fieldset disabled"), "supervisors see members and settings read-only");
    let remove = "action=\"/queues/sales/members/alice/delete\"";
    assert!(!page.body.contains(remove) && !page.body.contains("id=\"add-member\""), "no member forms for supervisors");
    let page = get(&sb, "/queues/sales", &root).body;
    assert!(page.contains(remove) && page.contains("Every agent is a member already"), "{page}");
    assert_eq!(get(&sb, "/queues/nope", &root).status, 404);
    location(&post(&sb, "/queues/sales/members/alice/delete", &root, &[]));
    assert_eq!(api(&sb, "GET", "/api/v1/queues/sales", &root).1["members"], serde_json::json!([]));

    // Without the token nothing happens; then the real deletion.
    let forged = request(sb.http_port, "POST", "/queues/sales/delete", &[("Cookie", &root.cookie), ("Content-Type", "application/x-www-form-urlencoded")], b"");
    assert_eq!(forged.status, 403);
    assert_eq!(location(&post(&sb, "/queues/sales/delete", &root, &[])), "/queues?ok=Queue%20sales%20deleted.");
    assert_eq!(api(&sb, "GET", "/api/v1/queues/sales", &root).0, 404);
    assert!(!sb.admin_ok(&["queue", "list"]).contains("sales"));
    audit_has(&sb, &root, &["queue.create", "queue.update", "queue.member.set", "queue.member.remove", "queue.delete"]);
}

#[test]
fn agents_page_manages_agents_skills_and_state() {
    let (sb, root, sam, ann) = start();
    assert_eq!(get(&sb, "/agents", &ann).status, 403);
    let sup = get(&sb, "/agents", &sam);
    assert_eq!(sup.status, 200);
    assert!(!sup.body.contains("id=\"new-agent\"") && sup.body.contains("No agents yet"), "{}", sup.body);
    assert_eq!(post(&sb, "/agents", &sam, &[("id", "x"), ("extensions", "1")]).status, 403);

    let new = [("id", "bob"), ("name", "Bob"), ("extensions", "2002, 2003"), ("no_answer_limit", "2")];
    assert!(location(&post(&sb, "/agents", &root, &new)).starts_with("/agents?ok="));
    let cli = sb.admin_ok(&["agent", "list"]);
    assert!(cli.contains("bob") && cli.contains("2003"), "{cli}");
    let r = post(&sb, "/agents", &root, &[("id", "carol"), ("extensions", "")]);
    assert_eq!(r.status, 422);
    assert!(field_error(&r, "extensions").contains("at least one extension"));
    assert!(field_error(&post(&sb, "/agents", &root, &[("id", "c d"), ("extensions", "2009")]), "id").contains("c d"));
    assert!(field_error(&post(&sb, "/agents", &root, &[("id", "carol"), ("extensions", "2002")]), "extensions").contains("already belongs to agent bob"));
    assert!(field_error(&post(&sb, "/agents", &root, &[("id", "bob"), ("extensions", "2009")]), "id").contains("already exists"));
    assert!(!sb.admin_ok(&["agent", "list"]).contains("carol"));

    // The agent's page: edit, skills.
    assert_eq!(get(&sb, "/agents/bob", &sam).status, 403, "editing is for admins");
    assert_eq!(get(&sb, "/agents/zed", &root).status, 404);
    location(&post(&sb, "/agents/bob", &root, &[("name", "Robert"), ("extensions", "2002"), ("no_answer_limit", "0")]));
    let a = api(&sb, "GET", "/api/v1/agents/bob", &root).1;
    assert_eq!((a["name"].as_str(), a["extensions"].clone(), a["no_answer_limit"].as_i64()), (Some("Robert"), serde_json::json!(["2002"]), Some(0)));
    let r = post(&sb, "/agents/bob", &root, &[("name", "Robert"), ("extensions", "2002"), ("no_answer_limit", "-1")]);
    assert_eq!(r.status, 422);
    assert!(field_error(&r, "no_answer_limit").contains("-1"));
    location(&post(&sb, "/agents/bob/skills", &root, &[("skill", "spanish"), ("proficiency", "8")]));
    assert_eq!(api(&sb, "GET", "/api/v1/agents/bob", &root).1["skills"], serde_json::json!({"spanish": 8}));
    assert!(field_error(&post(&sb, "/agents/bob/skills", &root, &[("skill", "spanish"), ("proficiency", "11")]), "proficiency").contains("11"));
    assert!(field_error(&post(&sb, "/agents/bob/skills", &root, &[("skill", "bad skill"), ("proficiency", "3")]), "skill").contains("bad skill"));
    let list = get(&sb, "/agents", &sam).body;
    assert!(list.contains("data-skill=\"spanish\">spanish 8<"), "skills with proficiency on the list: {list}");
    location(&post(&sb, "/agents/bob/skills/spanish/delete", &root, &[]));
    assert_eq!(api(&sb, "GET", "/api/v1/agents/bob", &root).1["skills"], serde_json::json!({}));

    // Supervisors pause, unpause and log out through the running ACD (bob
    // logs in from his phone's extension: the ACD may not know his id yet).
    let logged_in = request(sb.http_port, "POST", "/api/v1/agents/2002/login", &[("Cookie", &sam.cookie), ("X-CSRF-Token", &sam.csrf)], b"");
    assert_eq!(logged_in.status, 204, "{logged_in:?}");
    let state = |sb: &Switchboard| {
        let r = request(sb.http_port, "GET", "/api/v1/stats", &[("Cookie", &sam.cookie)], b"");
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap_or_default();
        let a = v["agents"].as_array().and_then(|a| a.iter().find(|a| a["id"] == "bob").cloned()).unwrap_or_default();
        (a["state"]["state"].as_str().unwrap_or("?").to_string(), a["state"]["reason"].as_str().map(str::to_string))
    };
    // No phone is registered for 2002, so a logged-in bob waits in the
    // "unregistered" pause; a supervisor's pause replaces that reason and
    // unpausing goes back to it.
    assert_eq!(state(&sb), ("paused".into(), Some("unregistered".into())));
    let list = get(&sb, "/agents", &sam).body;
    assert!(list.contains("data-state=\"paused\">paused · unregistered<"), "{list}");
    assert!(list.contains(">Pause<") && list.contains("name=\"op\" value=\"logout\"") && !list.contains(">Unpause<"), "the ACD ends that pause itself");
    assert_eq!(post(&sb, "/agents/bob/state", &ann, &[("op", "pause")]).status, 403, "agents may not");
    assert!(location(&post(&sb, "/agents/bob/state", &sam, &[("op", "pause"), ("reason", "lunch")])).starts_with("/agents?ok="));
    assert_eq!(state(&sb), ("paused".into(), Some("lunch".into())));
    let list = get(&sb, "/agents", &sam).body;
    assert!(list.contains("paused · lunch") && list.contains(">Unpause<"), "{list}");
    location(&post(&sb, "/agents/bob/state", &sam, &[("op", "unpause")]));
    assert_eq!(state(&sb), ("paused".into(), Some("unregistered".into())));
    assert!(location(&post(&sb, "/agents/bob/state", &sam, &[("op", "logout"), ("back", "agent")])).starts_with("/agents/bob?ok="));
    assert_eq!(state(&sb).0, "logged-out");
    assert!(location(&post(&sb, "/agents/zed/state", &sam, &[("op", "pause")])).contains("err=agent%20zed%20not%20found"));

    location(&post(&sb, "/agents/bob/delete", &root, &[]));
    assert!(!sb.admin_ok(&["agent", "list"]).contains("bob"));
    audit_has(&sb, &root, &["agent.create", "agent.update", "agent.skill.set", "agent.skill.remove", "agent.pause", "agent.unpause", "agent.logout", "agent.delete"]);
}

#[test]
fn customers_page_searches_edits_and_imports() {
    let (sb, root, sam, ann) = start();
    assert_eq!(get(&sb, "/customers", &ann).status, 403);
    let page = get(&sb, "/customers", &sam);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("No customers yet") && page.body.contains("id=\"import-form\""), "{}", page.body);
    assert!(page.body.contains("admin-forms.js"), "the import script is linked");
    assert_eq!(request(sb.http_port, "GET", "/assets/admin-forms.js", &[], b"").status, 200);

    let ann_lee = [("name", "Ann Lee"), ("account", "A-1"), ("phones", "+1 (555) 010-0100"), ("tags", "vip"), ("fields", "balance=42.17")];
    let at = location(&post(&sb, "/customers", &sam, &ann_lee));
    assert!(at.starts_with("/customers/"), "{at}");
    let id: i64 = at["/customers/".len()..at.find('?').unwrap()].parse().expect("id");
    let cli = sb.admin_ok(&["customer", "list"]);
    assert!(cli.contains("Ann Lee") && cli.contains("+15550100100"), "{cli}");
    assert!(field_error(&post(&sb, "/customers", &sam, &ann_lee), "account").contains("already exists"));
    assert!(field_error(&post(&sb, "/customers", &sam, &[("name", "X"), ("fields", "a b=1")]), "fields").contains("a b"));
    assert!(field_error(&post(&sb, "/customers", &sam, &[("name", "X"), ("fields", "novalue")]), "fields").contains("line 1"));
    assert!(field_error(&post(&sb, "/customers", &sam, &[("name", "X"), ("account", "a b")]), "account").contains("a b"));
    let r = post(&sb, "/customers", &sam, &[("name", " "), ("phones", "555")]);
    assert_eq!(r.status, 422);
    assert!(field_error(&r, "name").contains("name"));

    // Search by name, phone (any notation) and account.
    for q in ["ann", "555-010-0100", "A-1"] {
        let r = get(&sb, &format!("/customers?q={}", common::http::urlencode(q)), &sam);
        assert!(r.body.contains(&format!("data-customer=\"{id}\"")), "search {q}: {}", r.body);
    }
    assert!(get(&sb, "/customers?q=zzz", &sam).body.contains("No customer matches"));

    // Edit: a blank account removes it.
    assert_eq!(get(&sb, &format!("/customers/{id}"), &sam).status, 200);
    assert_eq!(get(&sb, "/customers/999", &sam).status, 404);
    let edit = [("name", "Ann Lee-Smith"), ("account", ""), ("phones", "5550100100\n+44 20 7946 0000"), ("tags", "vip"), ("notes", "prefers email"), ("fields", "balance=0\nplan=gold")];
    location(&post(&sb, &format!("/customers/{id}"), &sam, &edit));
    let c = api(&sb, "GET", &format!("/api/v1/customers/{id}"), &root).1;
    assert_eq!((c["name"].as_str(), c["account"].is_null(), c["phones"].as_array().map(Vec::len)), (Some("Ann Lee-Smith"), true, Some(2)));
    assert_eq!(c["fields"], serde_json::json!({"balance": "0", "plan": "gold"}));
    let r = post(&sb, &format!("/customers/{id}"), &sam, &[("name", "Ann"), ("phones", "no digits")]);
    assert_eq!(r.status, 422);
    assert!(field_error(&r, "phones").contains("no digits"));

    // CSV import of a file: the script's request, report by line.
    let csv = b"name,account,phones,plan\nBob,B-2,555 0101;555 0102,gold\n,x,\nCarl,bad acct,\n";
    let upload = |body: &[u8], token: &str| {
        request(sb.http_port, "POST", "/customers/import", &[("Cookie", &sam.cookie), ("Content-Type", "text/csv"), ("X-CSRF-Token", token)], body)
    };
    assert_eq!(upload(csv, "forged").status, 403);
    let r = upload(csv, &sam.csrf);
    assert_eq!(r.status, 200, "{r:?}");
    assert!(!r.body.contains("<html"), "a fragment, not a page");
    assert!(r.body.contains("data-imported=\"1\"") && r.body.contains("data-rejected=\"2\""), "{}", r.body);
    assert!(r.body.contains("data-line=\"3\"") && r.body.contains("data-line=\"4\"") && !r.body.contains("data-line=\"2\""), "{}", r.body);
    assert!(sb.admin_ok(&["customer", "list"]).contains("Bob"));
    let none = upload(b"nome\nx\n", &sam.csrf);
    assert_eq!(none.status, 422);
    assert!(none.body.contains("Nothing was imported"));
    let latin1 = upload(b"name\nok\n\xe9t\xe9\n", &sam.csrf);
    assert_eq!(latin1.status, 400);
    assert!(latin1.body.contains("Line 3"), "{}", latin1.body);
    // Pasted text through the plain form: the page with the report.
    let r = post(&sb, "/customers/import", &sam, &[("csv", "name,account\nDora,D-4\n")]);
    assert_eq!(r.status, 200);
    assert!(r.body.contains("<html") && r.body.contains("data-imported=\"1\"") && r.body.contains("Dora"), "{}", r.body);
    assert!(field_error(&post(&sb, "/customers/import", &sam, &[("csv", "")]), "csv").contains("choose a file"));

    // Paging, 50 to a page.
    let mut many = String::from("name,account\n");
    for i in 0..55 {
        many.push_str(&format!("Bulk {i:02},BULK-{i}\n"));
    }
    assert_eq!(upload(many.as_bytes(), &sam.csrf).status, 200);
    let p1 = get(&sb, "/customers?q=bulk", &sam).body;
    assert!(p1.contains("Showing 1–50 of 55") && p1.contains("id=\"next\"") && !p1.contains("id=\"prev\""), "{p1}");
    let p2 = get(&sb, "/customers?q=bulk&offset=50", &sam).body;
    assert!(get(&sb, "/customers?q=bulk&offset=x", &sam).body.contains("Showing 1–50 of 55"), "a bad offset shows the first page");
    assert!(p2.contains("Showing 51–55 of 55") && p2.contains("Bulk 54") && p2.contains("id=\"prev\"") && !p2.contains("id=\"next\""), "{p2}");

    location(&post(&sb, &format!("/customers/{id}/delete"), &sam, &[]));
    assert_eq!(api(&sb, "GET", &format!("/api/v1/customers/{id}"), &root).0, 404);
    audit_has(&sb, &root, &["customer.create", "customer.update", "customer.import", "customer.delete"]);
}

/// `[site] timezone` of the panel test: a fixed offset, so the expected
/// local time is plain arithmetic.
const PANEL_ZONE: &str = "+05:30";

/// Books a web callback through the public form; its request id.
fn book_callback(sb: &Switchboard, name: &str, phone: &str, queue: &str, note: &str) -> i64 {
    let r = request(
        sb.http_port,
        "POST",
        "/contact/callback",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &form(&[("cb_name", name), ("cb_phone", phone), ("cb_queue", queue), ("cb_note", note)]),
    );
    assert_eq!(r.status, 303, "booking for {queue}: {r:?}\n{}", sb.log());
    let at = r.header("location").expect("location").to_string();
    at.strip_prefix("/contact?booked=").and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{at}"))
}

/// The `<tr>` of callback `id` in a list, or None.
fn callback_row(body: &str, id: i64) -> Option<String> {
    let at = body.find(&format!("data-callback=\"{id}\""))?;
    let rest = &body[at..];
    Some(rest[..rest.find("</tr>").unwrap_or(rest.len())].to_string())
}

#[test]
fn agent_panel_has_call_controls_and_lists_own_queue_callbacks() {
    let cfg = format!("[site]\ntimezone = \"{PANEL_ZONE}\"\n[contact]\ncallbacks_per_window = 20\n");
    let (sb, root, sam, ann) = start_with(&cfg);
    sb.admin_ok(&["agent", "add", "ann", "--name", "Ann", "--ext", "2001"]);
    sb.admin_ok(&["agent", "add", "bob", "--name", "Bob", "--ext", "2002"]);
    sb.admin_ok(&["queue", "add", "sales", "--strategy", "ring_all", "--callback-key", "5"]);
    sb.admin_ok(&["queue", "add", "billing", "--strategy", "ring_all", "--callback-key", "6"]);
    sb.admin_ok(&["queue", "member", "add", "sales", "ann"]);
    sb.admin_ok(&["queue", "member", "add", "billing", "bob"]);
    let o = sb.admin_stdin(&["user", "add", "bert", "--role", "agent", "--agent", "bob"], &format!("{PW}\n"));
    assert!(o.status.success(), "{o:?}");
    let bert = login(&sb, "bert");

    // The panel: the new call controls, disabled where the call is not in
    // that step yet (the script enables them), and the callbacks card.
    let page = get(&sb, "/agent", &ann);
    assert_eq!(page.status, 200);
    for part in [
        "data-party=\"consult\"",
        "data-party=\"add\"",
        "id=\"party-state\"",
        "data-party=\"complete\" disabled",
        "data-party=\"merge\" disabled",
        "data-party=\"cancel\" disabled",
        "id=\"transfer-to\"",
        "id=\"callbacks-card\"",
        "hx-get=\"/agent/callbacks\"",
        "hx-trigger=\"every 5s\"",
    ] {
        assert!(page.body.contains(part), "{part} missing from the panel: {}", page.body);
    }
    assert!(page.body.contains("No callbacks waiting in your queues"), "nothing booked yet");
    let js = request(sb.http_port, "GET", "/assets/panel.js", &[], b"").body;
    for url in ["/consult?to=", "/conference?add=", "/consult/complete", "/consult/cancel", "X-CSRF-Token"] {
        assert!(js.contains(url), "the panel script does not use {url}");
    }

    // Web callbacks booked on the public page: one per queue.
    let before = jiff::Timestamp::now();
    let ada = book_callback(&sb, "Ada Lovelace", "+1 (555) 010-0200", "sales", "about my <b>invoice</b>");
    let zed = book_callback(&sb, "Zed Zero", "555 0300", "billing", "refund");
    let ada2 = book_callback(&sb, "Ada Again", "5550201", "sales", "");

    // ann (sales) sees the sales requests in order, not billing's.
    let r = request(sb.http_port, "GET", "/agent/callbacks", &[("Cookie", &ann.cookie), ("HX-Request", "true")], b"");
    assert_eq!(r.status, 200, "{r:?}");
    assert!(!r.body.contains("<html"), "a fragment, not a page");
    let row = callback_row(&r.body, ada).unwrap_or_else(|| panic!("ann does not see request {ada}: {}", r.body));
    for part in ["data-queue=\"sales\"", "+15550100200", "Ada Lovelace", "about my &lt;b&gt;invoice&lt;/b&gt;", "waiting", "web form"] {
        assert!(row.contains(part), "{part} missing: {row}");
    }
    assert!(!row.contains("<b>"), "the note is text");
    assert!(row.contains("data-field=\"position\">1<"), "first in line: {row}");
    let second = callback_row(&r.body, ada2).expect("the second sales request");
    assert!(second.contains("data-field=\"position\">2<") && second.contains("Ada Again"), "{second}");
    assert!(r.body.find(&format!("data-callback=\"{ada}\"")) < r.body.find(&format!("data-callback=\"{ada2}\"")), "in serving order");
    assert!(callback_row(&r.body, zed).is_none() && !r.body.contains("Zed Zero") && !r.body.contains("5550300") && !r.body.contains("billing"), "billing is not ann's queue: {}", r.body);
    // Requested at, in the site's zone (+05:30), to the minute.
    assert!(r.body.contains(&format!("Requested ({PANEL_ZONE})")), "{}", r.body);
    let local = |t: jiff::Timestamp| jiff::Timestamp::from_second(t.as_second() + 5 * 3600 + 30 * 60).expect("time").strftime("%Y-%m-%d %H:%M").to_string();
    let shown = [local(before), local(jiff::Timestamp::now())];
    assert!(shown.iter().any(|t| row.contains(&format!("data-field=\"requested\">{t}:"))), "requested time not in +05:30 ({shown:?}): {row}");
    // The panel page carries the same list from the start.
    let page = get(&sb, "/agent", &ann).body;
    assert!(callback_row(&page, ada).is_some() && callback_row(&page, zed).is_none(), "{page}");

    // bert (agent bob, billing) sees only billing's.
    let r = get(&sb, "/agent/callbacks", &bert);
    assert_eq!(r.status, 200);
    assert!(callback_row(&r.body, zed).is_some_and(|row| row.contains("Zed Zero") && row.contains("refund")), "{}", r.body);
    assert!(callback_row(&r.body, ada).is_none() && !r.body.contains("Ada Lovelace"), "{}", r.body);

    // Users without an agent, and nobody logged in, get no list.
    for u in [&sam, &root] {
        let r = get(&sb, "/agent/callbacks", u);
        assert_eq!(r.status, 403, "{r:?}");
        assert!(!r.body.contains("Ada Lovelace") && !r.body.contains("Zed Zero"));
    }
    let anon = request(sb.http_port, "GET", "/agent/callbacks", &[], b"");
    assert_eq!(anon.status, 303);
    assert!(anon.header("location").is_some_and(|l| l.starts_with("/login?next=")), "{anon:?}");
    let polled = request(sb.http_port, "GET", "/agent/callbacks", &[("HX-Request", "true")], b"");
    assert_eq!((polled.status, polled.header("hx-redirect")), (401, Some("/login")), "a poll after the session ended reloads into the login");

    // Leaving the queue takes its callbacks off the list.
    sb.admin_ok(&["queue", "member", "rm", "sales", "ann"]);
    let r = get(&sb, "/agent/callbacks", &ann);
    assert!(r.body.contains("No callbacks waiting in your queues") && callback_row(&r.body, ada).is_none(), "{}", r.body);
}
