//! The web console. In this release only a status page; it talks to the core
//! through the `StatusSource` it is given and must never reach into SIP or
//! media directly.

use std::net::SocketAddr;

use axum::{extract::State, response::Html, routing::get, Router};

/// What the console may ask the core. Kept small on purpose.
pub trait StatusSource: Send + Sync + 'static {
    fn status_lines(&self) -> Vec<String>;
}

pub async fn serve<S: StatusSource>(listener: tokio::net::TcpListener, source: S) -> std::io::Result<()> {
    let app = Router::new()
        .route("/", get(index::<S>))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(std::sync::Arc::new(source));
    axum::serve(listener, app).await
}

async fn index<S: StatusSource>(State(src): State<std::sync::Arc<S>>) -> Html<String> {
    let mut body = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>switchboard</title></head><body>\
         <h1>switchboard</h1><p>The web console arrives in a later release. Status:</p><ul>",
    );
    for line in src.status_lines() {
        body.push_str("<li>");
        body.push_str(&html_escape(&line));
        body.push_str("</li>");
    }
    body.push_str("</ul></body></html>");
    Html(body)
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Binds the console listener early so a port clash is reported at start.
pub async fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await
}
