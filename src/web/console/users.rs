//! Console users and roles, and the audit log; admin only. What a user
//! needs and the changes are `crate::admin`'s (shared with
//! `/api/v1/users`); the rules (password length, the last admin stays) are
//! the store's.

use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::Form;
use maud::html;
use serde::Deserialize;

use super::extensions::FlashQuery;
use super::layout::{csrf, field, Flash};
use super::{render, see_other, urlencode, viewer, Peer, Viewer};
use crate::admin::AdminError;
use crate::store::Role;
use crate::web::CoreApi;

async fn admin<C: CoreApi>(core: &C, headers: &HeaderMap, uri: &Uri, peer: &std::net::SocketAddr) -> Result<Viewer, Response> {
    let v = viewer(core, headers, uri, peer).await?;
    v.require(Role::Admin)?;
    Ok(v)
}

fn back(ok: Result<String, AdminError>) -> Response {
    match ok {
        Ok(m) => see_other(&format!("/users?ok={}", urlencode(&m))),
        Err(e) => see_other(&format!("/users?err={}", urlencode(&e.to_string()))),
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct NewUser {
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    agent_id: String,
    #[serde(default)]
    password: String,
}

async fn page(v: &Viewer, flash: Option<Flash>, f: &NewUser, error: Option<(&str, String)>, status: StatusCode) -> Response {
    let users = v.store.list_users().await.unwrap_or_default();
    let err_for = |name: &str| error.as_ref().filter(|(n, _)| *n == name).map(|(_, m)| m.clone());
    let body = html! {
        div.card {
            h2 { "New user" }
            form.inline id="new-user" method="post" action="/users" { (csrf(v))
                (field("Username", "username", "text", &f.username, err_for("username").as_deref()))
                (field("Full name", "display_name", "text", &f.display_name, None))
                label { "Role" select name="role" id="role" {
                    @for r in ["agent", "supervisor", "admin"] { option value=(r) selected[f.role == r] { (r) } }
                } }
                (field("ACD agent id (agents)", "agent_id", "text", &f.agent_id, err_for("agent_id").as_deref()))
                (field("Password", "password", "password", "", err_for("password").as_deref()))
                button type="submit" id="create-user" { "Add user" }
            }
        }
        div.card {
            h2 { "Users" }
            table id="users-table" {
                thead { tr { th data-sort { "Username" } th data-sort { "Name" } th data-sort { "Role" } th data-sort { "Agent" } th data-sort { "Last login" } th { "" } } }
                tbody { @for u in &users {
                    tr data-user=(u.username) {
                        td { (u.username) @if u.disabled { " " span.badge.bad { "disabled" } } @if u.locked_until.is_some_and(|t| t > crate::store::unix_time()) { " " span.badge.warn { "locked" } } }
                        td { (u.display_name) }
                        td colspan="2" {
                            form.inline method="post" action={ "/users/" (u.id) } { (csrf(v))
                                input type="hidden" name="display_name" value=(u.display_name);
                                select name="role" aria-label="Role" { @for r in ["agent", "supervisor", "admin"] { option value=(r) selected[u.role.as_str() == r] { (r) } } }
                                input type="text" name="agent_id" value=(u.agent_id.as_deref().unwrap_or("")) placeholder="agent id" aria-label="Agent id";
                                label { input type="checkbox" name="disabled" value="1" checked[u.disabled]; "disabled" }
                                button.secondary type="submit" { "Save" }
                            }
                        }
                        td data-value=(u.last_login_at.unwrap_or(0)) { (u.last_login_at.map(|t| format!("{} ago", super::layout::duration(crate::store::unix_time() - t))).unwrap_or_else(|| "never".into())) }
                        td {
                            form.inline method="post" action={ "/users/" (u.id) "/password" } { (csrf(v))
                                input type="password" name="password" placeholder="new password" aria-label="New password";
                                button.secondary type="submit" { "Set" }
                            }
                            @if u.id != v.user.id { form method="post" action={ "/users/" (u.id) "/delete" } { (csrf(v)) button.danger type="submit" { "Delete" } } }
                        }
                    }
                } }
            }
        }
    };
    let mut r = render(v, "/users", "Users and roles", flash.as_ref(), body);
    *r.status_mut() = status;
    r
}

pub async fn list<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Query(q): Query<FlashQuery>) -> Response {
    let v = match admin(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let flash = super::extensions::flash_of(&q);
    page(&v, flash, &NewUser::default(), None, StatusCode::OK).await
}

pub async fn create<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Form(f): Form<NewUser>) -> Response {
    let v = match admin(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let input = crate::admin::UserInput {
        username: f.username.clone(),
        display_name: f.display_name.clone(),
        role: f.role.clone(),
        agent_id: Some(f.agent_id.clone()),
        password: f.password.clone(),
    };
    match crate::admin::create_user(&v.store, &input).await {
        Ok(u) => {
            v.audit("user.create", &u.username, &format!("role {}", u.role.as_str())).await;
            back(Ok(format!("User {} added.", u.username)))
        }
        Err(AdminError::Invalid { field, message }) if !field.is_empty() => page(&v, None, &f, Some((field, message)), StatusCode::UNPROCESSABLE_ENTITY).await,
        Err(e) => page(&v, None, &f, Some(("username", e.to_string())), StatusCode::UNPROCESSABLE_ENTITY).await,
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct EditUser {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    agent_id: String,
    #[serde(default)]
    disabled: Option<String>,
}

pub async fn update<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Path(id): Path<i64>, Form(f): Form<EditUser>) -> Response {
    let v = match admin(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let change = crate::admin::UserChange {
        display_name: Some(f.display_name.clone()),
        role: Some(f.role.clone()),
        agent_id: Some(Some(f.agent_id.clone())),
        disabled: Some(f.disabled.is_some()),
    };
    let r = async {
        let u = crate::admin::update_user(&v.store, id, &change).await?;
        v.audit("user.update", &u.username, &format!("role {}, agent '{}', disabled {}", u.role.as_str(), f.agent_id.trim(), u.disabled)).await;
        Ok(format!("User {} saved.", u.username))
    }
    .await;
    back(r)
}

#[derive(Debug, Deserialize, Default)]
pub struct NewPassword {
    #[serde(default)]
    password: String,
}

pub async fn password<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Path(id): Path<i64>, Form(f): Form<NewPassword>) -> Response {
    let v = match admin(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let r = async {
        let u = crate::admin::set_password(&v.store, id, &f.password).await?;
        v.audit("user.password", &u.username, "password set; sessions ended").await;
        Ok(format!("Password of {} set.", u.username))
    }
    .await;
    back(r)
}

pub async fn delete<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Path(id): Path<i64>) -> Response {
    let v = match admin(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let r = async {
        let u = crate::admin::delete_user(&v.store, id, Some(v.user.id)).await?;
        v.audit("user.delete", &u.username, "").await;
        Ok(format!("User {} deleted.", u.username))
    }
    .await;
    back(r)
}

#[derive(Debug, Deserialize, Default)]
pub struct Paging {
    #[serde(default)]
    offset: i64,
}

pub async fn audit<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Query(p): Query<Paging>) -> Response {
    let v = match admin(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let rows = v.store.list_audit(100, p.offset).await.unwrap_or_default();
    let body = html! {
        div.card {
            input.filter type="search" placeholder="Filter…" data-filter="audit-table" aria-label="Filter the audit log";
            table id="audit-table" {
                thead { tr { th data-sort { "When (UTC)" } th data-sort { "Who" } th data-sort { "Action" } th data-sort { "Target" } th { "Detail" } th data-sort { "From" } } }
                tbody { @for r in &rows {
                    tr { td data-value=(r.at) { (utc(r.at)) } td { (r.actor) } td.mono { (r.action) } td { (r.target) } td { (r.detail) } td.mono { (r.ip) } }
                } }
            }
            @if rows.len() == 100 { p { a href={ "/audit?offset=" (p.offset.max(0) + 100) } { "Older entries" } } }
        }
    };
    render(&v, "/audit", "Audit log", None, body)
}

/// Unix seconds as `2026-11-26 21:04:05`.
fn utc(t: i64) -> String {
    let c = crate::dialplan::Civil::from_unix(t, 0);
    format!("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", c.year, c.month, c.day, c.hour, c.minute, c.second)
}
