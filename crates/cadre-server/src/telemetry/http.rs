//! The request layer every API route runs in: a `request` span with the request id (the
//! client's `x-request-id` when it is sane, else a new one, echoed back), the route
//! template, the run the path names and, once authenticated, the user
//! ([`record_user`]); and `http_server_request_duration_seconds` by route and status.
//! Paths are logged without their query: `?access_token=` never reaches a log.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;
use uuid::Uuid;

use super::metrics::{HttpLabels, Metrics};

/// The request id header, read and echoed.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The `http_route` of a path no route matched (the UI fallback, unknown paths).
const UNMATCHED_ROUTE: &str = "other";

/// A client's request id, if it is one we can log and echo: short, printable ASCII.
fn client_request_id(request: &Request) -> Option<String> {
    let id = request.headers().get(&REQUEST_ID)?.to_str().ok()?;
    let sane = !id.is_empty() && id.len() <= 128 && id.bytes().all(|byte| byte.is_ascii_graphic());
    sane.then(|| id.to_owned())
}

/// The run a `/api/v1/runs/{id}/…` path names.
fn run_in_path(path: &str) -> Option<Uuid> {
    let rest = path.strip_prefix("/api/v1/runs/")?;
    rest.split('/').next()?.parse().ok()
}

/// Records the authenticated user on the current request's span (and so on every log
/// line of the request). Called by the auth extractors.
pub fn record_user(user_id: Uuid) {
    tracing::Span::current().record("user_id", tracing::field::display(user_id));
}

/// The layer: span, request id, duration histogram.
pub async fn observe_request(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let request_id = client_request_id(&request).unwrap_or_else(|| Uuid::new_v4().to_string());
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED_ROUTE, MatchedPath::as_str)
        .to_owned();
    let span = tracing::info_span!(
        "request",
        otel.name = %format_args!("{method} {route}"),
        otel.kind = "server",
        request_id = %request_id,
        method = %method,
        path = %request.uri().path(),
        http.route = %route,
        http.response.status_code = tracing::field::Empty,
        run_id = tracing::field::Empty,
        user_id = tracing::field::Empty,
    );
    if let Some(run_id) = run_in_path(request.uri().path()) {
        span.record("run_id", tracing::field::display(run_id));
    }
    let mut response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    span.record("http.response.status_code", status);
    metrics
        .http_requests
        .get_or_create(&HttpLabels {
            http_request_method: method,
            http_route: route,
            http_response_status_code: status,
        })
        .observe(started.elapsed().as_secs_f64());
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_come_from_run_paths_only() {
        let id = Uuid::new_v4();
        assert_eq!(run_in_path(&format!("/api/v1/runs/{id}/events")), Some(id));
        assert_eq!(run_in_path(&format!("/api/v1/runs/{id}")), Some(id));
        assert_eq!(run_in_path("/api/v1/runs/not-a-uuid"), None);
        assert_eq!(run_in_path(&format!("/api/v1/teams/{id}")), None);
    }

    #[test]
    fn client_request_ids_must_be_printable_and_short() {
        let with = |value: &str| {
            let request = Request::builder()
                .header(REQUEST_ID, value)
                .body(axum::body::Body::empty())
                .unwrap();
            client_request_id(&request)
        };
        assert_eq!(with("abc-123").as_deref(), Some("abc-123"));
        assert_eq!(with(""), None);
        assert_eq!(with("has space"), None);
        assert_eq!(with(&"x".repeat(129)), None);
    }
}
