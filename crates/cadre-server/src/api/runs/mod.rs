//! Owns the run resource: create (validated and stored with its job), list, get, delete,
//! cancel and answer (human input), and [`RunView`], the public JSON shape of a run.
//!
//! # Layout
//! - `views`: the public JSON shapes (bodies, parameters, [`RunView`] and its parts).
//! - `validation`: the limits ([`MAX_TASK_CHARS`], …) and the checks that turn a body
//!   into a validated request, reporting every bad field at once.
//! - `handlers`: the axum handlers ([`create_run`], [`list_runs`], [`get_run`],
//!   [`delete_run`], [`cancel_run`], [`submit_input`]) with their OpenAPI annotations, and
//!   the admission and queueing every way of starting a run shares.
//! - `fork`: [`fork_run`], a new run from any point of a run's conversation.
//!
//! Everything public is re-exported here, so the rest of the crate (and `openapi::ApiDoc`,
//! which names each operation as `runs::<handler>`) sees one flat module.

mod fork;
mod handlers;
mod validation;
mod views;

use axum::Router;
use axum::routing::{get, post};

use super::AppState;

// The glob also re-exports the hidden `__path_<handler>` items that `#[utoipa::path]`
// generates beside each handler: `openapi::ApiDoc` finds `runs::create_run`'s operation
// through them.
pub use fork::*;
pub use handlers::*;
pub(crate) use validation::page_limit;
pub use validation::{MAX_AGENTS, MAX_INPUT_BYTES, MAX_ROUND, MAX_TASK_CHARS};
pub use views::{
    BuildBody, CreateRunBody, ForkOriginView, ForkRunBody, ListRunsQuery, RunErrorView,
    RunInputBody, RunList, RunSettingsView, RunView,
};

/// The run routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/runs", post(create_run).get(list_runs))
        .route("/api/v1/runs/{id}", get(get_run).delete(delete_run))
        .route("/api/v1/runs/{id}/cancel", post(cancel_run))
        .route("/api/v1/runs/{id}/input", post(submit_input))
        .route("/api/v1/runs/{id}/fork", post(fork_run))
}
