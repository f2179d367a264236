//! Static browser assets, embedded in the binary and served under
//! `/assets/{name}`: the stylesheet, the small helper script, the agent
//! panel's, the fax upload's and the public contact page's scripts, and the vendored htmx (see `assets/vendor/README.md` for versions and licenses).
//! Pages link them with `?v=<crate version>`, so a day of caching never
//! serves a stale file after an update.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

const FILES: &[(&str, &str, &[u8])] = &[
    ("app.css", "text/css; charset=utf-8", include_bytes!("assets/app.css")),
    ("app.js", "text/javascript; charset=utf-8", include_bytes!("assets/app.js")),
    ("panel.js", "text/javascript; charset=utf-8", include_bytes!("assets/panel.js")),
    ("records.js", "text/javascript; charset=utf-8", include_bytes!("assets/records.js")),
    ("admin-forms.js", "text/javascript; charset=utf-8", include_bytes!("assets/admin-forms.js")),
    ("dialplans.js", "text/javascript; charset=utf-8", include_bytes!("assets/dialplans.js")),
    ("prompts.js", "text/javascript; charset=utf-8", include_bytes!("assets/prompts.js")),
    ("contact.js", "text/javascript; charset=utf-8", include_bytes!("assets/contact.js")),
    ("settings.js", "text/javascript; charset=utf-8", include_bytes!("assets/settings.js")),
    ("fax.js", "text/javascript; charset=utf-8", include_bytes!("assets/fax.js")),
    ("htmx.min.js", "text/javascript; charset=utf-8", include_bytes!("assets/vendor/htmx.min.js")),
];

/// `/assets/{name}?v=…` as pages write it.
pub fn url(name: &str) -> String {
    format!("/assets/{name}?v={}", env!("CARGO_PKG_VERSION"))
}

pub async fn serve(Path(name): Path<String>) -> Response {
    match FILES.iter().find(|(n, _, _)| *n == name) {
        Some((_, mime, body)) => ([(header::CONTENT_TYPE, *mime), (header::CACHE_CONTROL, "public, max-age=86400")], *body).into_response(),
        None => (StatusCode::NOT_FOUND, "no such asset\n").into_response(),
    }
}
