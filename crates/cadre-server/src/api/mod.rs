//! The axum HTTP API (`docs/DESIGN.md` §5). This module owns the shared [`AppState`], the
//! assembly of every module's routes into one [`router`], and the cross-cutting layers:
//! the body size limit, the request span and HTTP metrics
//! ([`crate::telemetry::http`]), and the JSON answers for unknown paths and methods.
//!
//! # Layout
//! - [`admin`]: everyone's users, runs and the audit log, for admins.
//! - [`tokens`]: personal API tokens (`/api/v1/me/tokens`).
//! - [`providers`]: users' provider keys (`/api/v1/me/providers/{provider}`), write-only.
//! - [`auth`]: the [`auth::AuthUser`] extractor (every protected handler takes it) and the
//!   token, logout, register and `me` routes.
//! - [`edge`]: security headers on every response; CORS (closed by default).
//! - [`limits`]: failed-login and run-creation rate limits.
//! - [`error`]: [`ApiError`], the code → status registry, rejection mapping.
//! - [`extract`]: `Json`/`Query`/`Path` wrappers that reject in our error shape.
//! - [`health`]: `/healthz`, `/readyz`, and `/metrics` (optionally behind
//!   `CADRE_METRICS_TOKEN`).
//! - [`runs`]: create, list, get, delete, cancel and fork runs; the public run view.
//! - [`events`]: the JSON event page, the SSE stream, and the one event source (DB
//!   catch-up + live bus) behind every streaming transport.
//! - [`ws`]: the same events over a WebSocket.
//! - [`files`]: the files a run's code wrote (list and download, served so they cannot
//!   run script in this origin).
//! - [`teams`]: saved teams, AutoGen import/export.
//! - [`transcript`]: a run's transcript as Markdown or JSON.
//! - [`openai_compat`]: a team as an OpenAI-compatible model (`/v1/chat/completions`,
//!   `/v1/models`), errors in OpenAI's shape.
//! - [`openapi`]: the OpenAPI 3.1 document (`/openapi.json`) and Swagger UI (`/docs`).
//! - [`session`]: browser sign-in with the refresh token in an `HttpOnly` cookie.
//! - [`info`]: public server facts (`/api/v1/info`) and the caller's models.
//! - [`ui`]: the embedded web UI at `/` (and the fallback for every unknown path).

pub mod admin;
pub mod auth;
pub mod edge;
pub mod error;
pub mod events;
pub mod extract;
pub mod files;
pub mod health;
pub mod info;
pub mod limits;
pub mod openai_compat;
pub mod openapi;
pub mod providers;
pub mod runs;
pub mod sandbox_view;
pub mod session;
pub mod teams;
pub mod tokens;
pub mod tools;
pub mod transcript;
pub mod ui;
pub mod ws;

use std::sync::Arc;
use tokio_util::sync::CancellationToken;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use cadre_store::Store;

use crate::auth::AuthConfig;
use crate::bus::EventBus;
use crate::config::Secret;
use crate::telemetry::{Metrics, Role};
use limits::Limits;

pub use error::{ApiError, ErrorCode};

/// Largest request body accepted (larger: `413 payload_too_large`).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The source of truth for runs and events.
    pub store: Arc<dyn Store>,
    /// Live events (an accelerator: streams fall back to the store).
    pub bus: Arc<dyn EventBus>,
    /// Token keys and login settings.
    pub auth: Arc<AuthConfig>,
    /// Rate limits (this process's share).
    pub limits: Arc<Limits>,
    /// Origins allowed to call the API from a browser (`CADRE_CORS_ORIGINS`).
    pub cors_origins: Arc<Vec<String>>,
    /// Whether runs of users without a key of their own may use the server's
    /// (`CADRE_SHARE_SERVER_KEY`): decides which models they are offered.
    pub share_server_key: bool,
    /// The sandbox generated code runs in, as `/readyz` and `/api/v1/info` report it.
    pub sandbox: Arc<sandbox_view::SandboxView>,
    /// Fires when the server shuts down: open event streams end (clients resume with
    /// `Last-Event-ID`/`after`, possibly on another replica) so the server can exit.
    pub shutdown: CancellationToken,
    /// This process's metrics (`/metrics`), shared with its worker under `cadre serve`.
    pub metrics: Arc<Metrics>,
    /// `CADRE_METRICS_TOKEN`: the bearer token `/metrics` requires, if any.
    pub metrics_token: Option<Secret>,
    /// The operator's MCP servers (`CADRE_MCP_CONFIG`), listed by `GET /api/v1/tools`.
    pub tools: Option<Arc<dyn cadre_core::ToolBox>>,
}

impl AppState {
    /// State over a store and a bus, authenticating with `auth`.
    pub fn new(store: Arc<dyn Store>, bus: Arc<dyn EventBus>, auth: AuthConfig) -> Self {
        Self {
            store,
            bus,
            auth: Arc::new(auth),
            limits: Arc::new(Limits::default()),
            cors_origins: Arc::new(Vec::new()),
            share_server_key: true,
            sandbox: Arc::new(sandbox_view::SandboxView::on_workers(
                cadre_sandbox::DEFAULT_BACKEND,
            )),
            shutdown: CancellationToken::new(),
            metrics: Metrics::new(Role::Api),
            metrics_token: None,
            tools: None,
        }
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.store.backend())
            .field("bus", &self.bus.backend())
            .finish_non_exhaustive()
    }
}

/// The whole HTTP API.
pub fn router(state: AppState) -> Router {
    let cors = edge::cors(&state.cors_origins);
    let router = Router::new()
        .merge(health::router())
        .merge(auth::router())
        .merge(session::router())
        .merge(info::router())
        .merge(tokens::router())
        .merge(providers::router())
        .merge(admin::router())
        .merge(runs::router())
        .merge(events::router())
        .merge(ws::router())
        .merge(teams::router())
        .merge(tools::router())
        .merge(transcript::router())
        .merge(files::router())
        .merge(openapi::router())
        .merge(openai_compat::router())
        .fallback(ui::fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(edge::security_headers))
        .layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            crate::telemetry::http::observe_request,
        ))
        .with_state(state);
    match cors {
        Some(cors) => router.layer(cors),
        None => router,
    }
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "method not allowed on this endpoint",
    )
}
