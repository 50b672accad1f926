//! Owns the probes: `/healthz` (the process answers) and `/readyz` (its dependencies do:
//! the database and the event bus), with a per-dependency report and the code sandbox in
//! use.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::sandbox_view::SandboxView;
use crate::bus::BusHealth;

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

/// The probes' routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
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
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
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
