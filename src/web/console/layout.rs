//! The page shell every console page renders into: head (assets, CSRF
//! meta for htmx), the role-dependent navigation, title bar and flash
//! message. Owns look and navigation only; pages bring their own content.

use maud::{html, Markup, DOCTYPE};

use crate::store::Role;
use crate::web::assets;

use super::Viewer;

/// Navigation: (path, label, least role that sees it).
const NAV: &[(&str, &str, Role)] = &[
    ("/", "Dashboard", Role::Supervisor),
    ("/agent", "Agent panel", Role::Agent),
    ("/extensions", "Extensions", Role::Admin),
    ("/trunks", "Trunks", Role::Admin),
    ("/queues", "Queues", Role::Supervisor),
    ("/agents", "Agents", Role::Supervisor),
    ("/customers", "Customers", Role::Supervisor),
    ("/calls", "Call records", Role::Supervisor),
    ("/voicemail", "Voicemail", Role::Admin),
    ("/fax", "Fax", Role::Agent),
    ("/dialplans", "Dialplans", Role::Admin),
    ("/prompts", "Prompts", Role::Admin),
    ("/apikeys", "API keys", Role::Admin),
    ("/users", "Users and roles", Role::Admin),
    ("/audit", "Audit log", Role::Admin),
    ("/settings", "Settings", Role::Admin),
];

fn head(title: &str, csrf: Option<&str>) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            @if let Some(t) = csrf { meta name="csrf-token" content=(t); }
            // htmx must not inject a <style> (the CSP allows none) nor evaluate strings.
            meta name="htmx-config" content=r#"{"includeIndicatorStyles":false,"allowEval":false}"#;
            title { (title) " · switchboard" }
            link rel="stylesheet" href=(assets::url("app.css"));
            script src=(assets::url("htmx.min.js")) defer {}
            script src=(assets::url("app.js")) defer {}
        }
    }
}

/// A full page for a logged-in user.
pub fn page(viewer: &Viewer, active: &str, title: &str, flash: Option<&Flash>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title, Some(&viewer.csrf)))
            body {
                div.shell {
                    nav.nav {
                        a.brand href="/" { "switchboard" }
                        @for (path, label, least) in NAV {
                            @if viewer.user.role >= *least {
                                a.active[*path == active] href=(path) { (label) }
                            }
                        }
                    }
                    main.main {
                        div.topbar {
                            h1 { (title) }
                            div.who {
                                span { (viewer.user.username) " · " (viewer.user.role.as_str()) }
                                form method="post" action="/logout" {
                                    (csrf(viewer))
                                    button.secondary type="submit" id="logout" { "Log out" }
                                }
                            }
                        }
                        @if let Some(f) = flash { (f.render()) }
                        (body)
                    }
                }
            }
        }
    }
}

/// A page for nobody logged in yet (login, setup).
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title, None))
            body { div.login { div.brand { "switchboard" } div.card { (body) } } }
        }
    }
}

/// A one-line notice at the top of a page.
pub struct Flash {
    pub text: String,
    pub error: bool,
}

impl Flash {
    pub fn ok(text: impl Into<String>) -> Flash {
        Flash { text: text.into(), error: false }
    }
    pub fn error(text: impl Into<String>) -> Flash {
        Flash { text: text.into(), error: true }
    }
    fn render(&self) -> Markup {
        html! { div.flash.error[self.error] role="status" { (self.text) } }
    }
}

/// The hidden CSRF field every POST form carries (the guard checks it).
pub fn csrf(viewer: &Viewer) -> Markup {
    html! { input type="hidden" name="_csrf" value=(viewer.csrf); }
}

/// A labelled input with its inline error.
pub fn field(label: &str, name: &str, kind: &str, value: &str, error: Option<&str>) -> Markup {
    html! {
        label {
            (label)
            input type=(kind) name=(name) id=(name) value=(value) aria-invalid=[error.map(|_| "true")];
            @if let Some(e) = error { span.field-error id={(name) "-error"} { (e) } }
        }
    }
}

/// Seconds as "1h 02m", "3m 05s", "12s".
pub fn duration(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_and_durations_read_well() {
        let f = field("Name", "name", "text", "<script>alert(1)</script>", Some("bad \"x\"")).into_string();
        assert!(!f.contains("<script>"), "{f}");
        assert!(f.contains("&lt;script&gt;"), "{f}");
        assert!(f.contains("aria-invalid=\"true\""), "{f}");
        assert_eq!((duration(5), duration(185), duration(3720)), ("5s".into(), "3m 05s".into(), "1h 02m".into()));
    }
}
