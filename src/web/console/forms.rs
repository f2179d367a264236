//! Form pieces shared by the queue, agent and customer pages: the CSRF
//! field, checkboxes, selects and text areas with inline errors, the
//! per-field error map, and turning a `crate::admin::AdminError` into a
//! field error or a page-level message. Owns markup and error placement
//! only; validation is `crate::admin`'s and the store's.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use maud::{html, Markup};

use super::{render, Viewer};
use crate::admin::AdminError;
use crate::store::Role;
use crate::web::CoreApi;

/// The viewer of a page that needs role `least` (or the login page / 403).
pub async fn viewer_at_least<C: CoreApi>(core: &C, headers: &HeaderMap, uri: &Uri, peer: &std::net::SocketAddr, least: Role) -> Result<Viewer, Response> {
    let v = super::viewer(core, headers, uri, peer).await?;
    v.require(least)?;
    Ok(v)
}

/// A full page with a status other than 200 (422 for a refused form, 404).
pub fn render_status(v: &Viewer, active: &str, title: &str, flash: Option<&super::layout::Flash>, body: Markup, status: StatusCode) -> Response {
    let mut r = render(v, active, title, flash, body);
    *r.status_mut() = status;
    r
}

/// The hidden CSRF field every plain form carries.
pub fn csrf(v: &Viewer) -> Markup {
    html! { input type="hidden" name="_csrf" value=(v.csrf); }
}

/// Errors by form field name, plus one for the form as a whole.
#[derive(Debug, Default)]
pub struct Errors {
    fields: BTreeMap<String, String>,
    /// An error no single field is at fault for (shown as the flash).
    pub form: Option<String>,
}

impl Errors {
    pub fn set(&mut self, field: &str, message: impl Into<String>) {
        self.fields.entry(field.to_string()).or_insert_with(|| message.into());
    }
    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(String::as_str)
    }
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.form.is_none()
    }
    /// Places a refusal of the admin functions: a field error at its
    /// field (or at `conflict_field` for a duplicate), anything else on
    /// the form.
    pub fn admin(&mut self, e: AdminError, conflict_field: &str) {
        match e {
            AdminError::Invalid { field, message } if !field.is_empty() => self.set(field, message),
            AdminError::Conflict(m) if !conflict_field.is_empty() => self.set(conflict_field, m),
            other => self.form = Some(other.to_string()),
        }
    }
    /// The flash above a refused form.
    pub fn summary(&self, what: &str) -> String {
        match &self.form {
            Some(m) if self.fields.is_empty() => format!("{what}: {m}"),
            _ => format!("{what}: see the marked fields."),
        }
    }
}

/// A whole number from a form field: `None` when blank, an error naming
/// the field when not a number.
pub fn number(errors: &mut Errors, field: &str, raw: &str) -> Option<i64> {
    let t = raw.trim();
    if t.is_empty() {
        return None;
    }
    match t.parse::<i64>() {
        Ok(n) => Some(n),
        Err(_) => {
            errors.set(field, format!("'{t}' is not a whole number"));
            None
        }
    }
}

/// A labelled checkbox (a form without it checked sends nothing).
pub fn checkbox(label: &str, name: &str, checked: bool, disabled: bool) -> Markup {
    html! {
        label.check { input type="checkbox" name=(name) id=(name) value="1" checked[checked] disabled[disabled]; (label) }
    }
}

/// A labelled select with its inline error.
pub fn select(label: &str, name: &str, options: &[(&str, &str)], selected: &str, error: Option<&str>) -> Markup {
    html! {
        label {
            (label)
            select name=(name) id=(name) aria-invalid=[error.map(|_| "true")] {
                @for (value, text) in options { option value=(value) selected[*value == selected] { (text) } }
            }
            @if let Some(e) = error { span.field-error id={(name) "-error"} { (e) } }
        }
    }
}

/// A labelled text area with its inline error.
pub fn textarea(label: &str, name: &str, value: &str, rows: u32, error: Option<&str>) -> Markup {
    html! {
        label {
            (label)
            textarea name=(name) id=(name) rows=(rows) aria-invalid=[error.map(|_| "true")] { (value) }
            @if let Some(e) = error { span.field-error id={(name) "-error"} { (e) } }
        }
    }
}

/// A labelled input with a hint under it and its inline error.
pub fn hinted(label: &str, name: &str, kind: &str, value: &str, hint: &str, error: Option<&str>) -> Markup {
    html! {
        label {
            (label)
            input type=(kind) name=(name) id=(name) value=(value) aria-invalid=[error.map(|_| "true")];
            @if let Some(e) = error { span.field-error id={(name) "-error"} { (e) } } @else { span.hint { (hint) } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_errors_land_at_their_field() {
        let mut e = Errors::default();
        e.admin(AdminError::invalid("wrapup_secs", "wrap-up time must be 0 to 3600"), "name");
        e.admin(AdminError::Conflict("queue q already exists".into()), "name");
        assert_eq!(e.get("wrapup_secs"), Some("wrap-up time must be 0 to 3600"));
        assert_eq!(e.get("name"), Some("queue q already exists"));
        assert!(e.form.is_none());
        let mut e = Errors::default();
        e.admin(AdminError::NotFound("agent zed".into()), "");
        assert_eq!(e.summary("Not saved"), "Not saved: agent zed not found");
        assert_eq!(number(&mut e, "penalty", " 7 "), Some(7));
        assert_eq!(number(&mut e, "penalty", ""), None);
        assert_eq!(number(&mut e, "penalty", "x1"), None);
        assert!(e.get("penalty").is_some_and(|m| m.contains("'x1'")));
        let s = select("S", "s", &[("a", "<A>")], "a", Some("bad")).into_string();
        assert!(s.contains("&lt;A&gt;") && s.contains("selected") && s.contains("s-error"), "{s}");
    }
}
