//! Owns the probes: `/healthz` (the process answers), `/readyz` (its dependencies do:
//! the database and the event bus), with a per-dependency report and the code sandbox in
//! use, and `/metrics` (the Prometheus scrape, behind `CADRE_METRICS_TOKEN` when set).
//! They need only [`Probes`], so `cadre worker`'s metrics listener serves the same
//! routes without an API.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use cadre_store::Store;
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::AppState;
use super::error::{ApiError, ErrorCode};
use super::sandbox_view::SandboxView;
use crate::bus::{BusHealth, EventBus};
use crate::config::Secret;
use crate::telemetry::{self, Metrics};

/// What the probes look at.
#[derive(Clone)]
pub struct Probes {
    /// The database.
    pub store: Arc<dyn Store>,
    /// The event bus.
    pub bus: Arc<dyn EventBus>,
    /// The sandbox in use.
    pub sandbox: Arc<SandboxView>,
    /// This process's metrics.
    pub metrics: Arc<Metrics>,
    /// The bearer token `/metrics` requires, if any.
    pub metrics_token: Option<Secret>,
}

impl FromRef<AppState> for Probes {
    fn from_ref(state: &AppState) -> Self {
        Self {
            store: state.store.clone(),
            bus: state.bus.clone(),
            sandbox: state.sandbox.clone(),
            metrics: state.metrics.clone(),
            metrics_token: state.metrics_token.clone(),
        }
    }
}

/// How long the database may take to answer the readiness check.
const DB_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// `/healthz` answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: String,
}

/// One dependency's state in `/readyz`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DependencyCheck {
    /// `up` or `down`.
    pub status: String,
    /// Which backend (`sqlite`, `postgres`, `memory`, `redis`).
    pub backend: String,
    /// Why it is down (never contains credentials).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The dependencies checked by `/readyz`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReadinessChecks {
    /// The database.
    pub database: DependencyCheck,
    /// The live event bus.
    pub bus: DependencyCheck,
    /// The code sandbox (informational: code execution being off does not make the
    /// service unready, since runs without code still work).
    pub sandbox: SandboxView,
}

/// `/readyz` answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` or `unavailable`.
    pub status: String,
    /// Per dependency.
    pub checks: ReadinessChecks,
}

/// The probes' routes, for any state they can take [`Probes`] from.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Probes: FromRef<S>,
{
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// Whether `headers` bear `token` as `Authorization: Bearer …`. The digests are compared
/// rather than the strings, so the time taken says nothing about the token.
fn bears(headers: &HeaderMap, token: &Secret) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .is_some_and(|given| {
            Sha256::digest(given.trim().as_bytes()) == Sha256::digest(token.0.as_bytes())
        })
}

/// The Prometheus scrape (OpenMetrics text).
#[utoipa::path(get, path = "/metrics", tag = "health", security(()),
    responses(
        (status = 200, description = "Every metric of this process (OpenMetrics text)",
            body = String, content_type = "application/openmetrics-text"),
        (status = 401, description = "`CADRE_METRICS_TOKEN` is set and the request does not bear it",
            body = super::error::ErrorBody),
    ))]
pub async fn metrics(State(probes): State<Probes>, headers: HeaderMap) -> Response {
    if let Some(token) = &probes.metrics_token
        && !bears(&headers, token)
    {
        return ApiError::new(
            ErrorCode::Unauthorized,
            "/metrics needs the metrics token: Authorization: Bearer <CADRE_METRICS_TOKEN>",
        )
        .into_response();
    }
    let text = telemetry::render(&probes.metrics, probes.store.as_ref()).await;
    (
        [(header::CONTENT_TYPE, telemetry::metrics::CONTENT_TYPE)],
        text,
    )
        .into_response()
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "health", security(()),
    responses((status = 200, description = "The process is alive", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// Readiness: the database and the bus are usable.
#[utoipa::path(get, path = "/readyz", tag = "health", security(()),
    responses(
        (status = 200, description = "Every dependency is up", body = Readiness),
        (status = 503, description = "A dependency is down", body = Readiness),
    ))]
pub async fn readyz(State(state): State<Probes>) -> (StatusCode, Json<Readiness>) {
    let db_error = match tokio::time::timeout(DB_CHECK_TIMEOUT, state.store.health()).await {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(error.to_string()),
        Err(_) => Some(format!("no answer within {DB_CHECK_TIMEOUT:?}")),
    };
    if let Some(error) = &db_error {
        tracing::warn!(%error, "readiness: database down");
    }
    let database = check(state.store.backend(), db_error);
    let bus_error = match state.bus.health() {
        BusHealth::Up => None,
        BusHealth::Down { reason } => Some(reason),
    };
    let bus = check(state.bus.backend(), bus_error);
    let ready = database.error.is_none() && bus.error.is_none();
    let (status, word) = if ready {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
    };
    let body = Readiness {
        status: word.into(),
        checks: ReadinessChecks {
            database,
            bus,
            sandbox: state.sandbox.as_ref().clone(),
        },
    };
    (status, Json(body))
}

fn check(backend: &str, error: Option<String>) -> DependencyCheck {
    DependencyCheck {
        status: if error.is_none() { "up" } else { "down" }.into(),
        backend: backend.into(),
        error,
    }
}
