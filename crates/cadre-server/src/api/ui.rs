//! Owns the web UI's delivery: the built app (`web/dist`, embedded into release binaries
//! at compile time; read from disk by debug builds, so a rebuilt UI needs no Rust
//! rebuild in development) served at `/`, with every unknown non-API path answered by
//! `index.html` so the app's client-side routes survive a reload. Without a built UI the
//! same paths answer a page that says how to build it. API paths never fall through to
//! the UI: an unknown `/api/…` path is a JSON `not_found`.

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use rust_embed::Embed;

use super::error::{ApiError, ErrorCode};

/// The UI's build output.
#[derive(Embed)]
#[folder = "../../web/dist/"]
#[allow_missing = true]
struct Assets;

/// Paths that belong to the server, never to the UI's router.
const SERVER_PREFIXES: [&str; 5] = ["/api/", "/docs", "/openapi.json", "/healthz", "/readyz"];

/// What `index.html` and the placeholder send: always revalidated, so a new deployment's
/// asset names are picked up at once.
const NO_CACHE: &str = "no-cache";
/// Vite's file names under `assets/` carry a content hash: they never change.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Whether this binary carries a built UI.
pub fn ui_built() -> bool {
    Assets::get("index.html").is_some()
}

/// The router's fallback: UI files and client-side routes for `GET`/`HEAD` outside the
/// API, JSON errors for everything else.
pub async fn fallback(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    if SERVER_PREFIXES
        .iter()
        .any(|prefix| path.starts_with(prefix))
    {
        return ApiError::new(ErrorCode::NotFound, "no such endpoint").into_response();
    }
    if method != Method::GET && method != Method::HEAD {
        return ApiError::new(
            ErrorCode::MethodNotAllowed,
            "method not allowed on this path",
        )
        .into_response();
    }
    let relative = path.trim_start_matches('/');
    if !relative.is_empty()
        && let Some(file) = Assets::get(relative)
    {
        let cache = if relative.starts_with("assets/") {
            IMMUTABLE
        } else {
            NO_CACHE
        };
        return asset(file.data.into_owned(), file.metadata.mimetype(), cache);
    }
    // A missing file with an extension is a broken link, not a page of the app.
    if relative.starts_with("assets/") || has_extension(relative) {
        return ApiError::new(ErrorCode::NotFound, "no such file").into_response();
    }
    match Assets::get("index.html") {
        Some(index) => asset(
            index.data.into_owned(),
            "text/html; charset=utf-8",
            NO_CACHE,
        ),
        None => (
            [(header::CACHE_CONTROL, HeaderValue::from_static(NO_CACHE))],
            Html(PLACEHOLDER),
        )
            .into_response(),
    }
}

fn has_extension(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .is_some_and(|name| name.contains('.') && !name.ends_with('.'))
}

fn asset(bytes: Vec<u8>, mime: &str, cache: &'static str) -> Response {
    let content_type = HeaderValue::from_str(mime)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        Body::from(bytes),
    )
        .into_response()
}

/// Served at `/` by a binary built without the UI.
const PLACEHOLDER: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Cadre: web UI not built</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; padding: 0 1rem; line-height: 1.5; }
code { background: rgba(127,127,127,.15); padding: .1rem .3rem; border-radius: .25rem; }
</style>
</head>
<body>
<main>
<h1>Cadre is running, but its web UI was not built into this binary</h1>
<p>Build it with <code>make build</code> (or <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>, then rebuild <code>cadre</code>), and restart.</p>
<p>Meanwhile the API works: its reference is at <a href="/docs">/docs</a>, the OpenAPI document at <a href="/openapi.json">/openapi.json</a>, and <code>cadre run "your task"</code> runs a team in the terminal.</p>
</main>
</body>
</html>
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_have_extensions_and_routes_do_not() {
        assert!(has_extension("favicon.svg"));
        assert!(has_extension("assets/index-abc.js"));
        assert!(!has_extension("runs/0b6c-4e"));
        assert!(!has_extension("history"));
    }
}
