//! # cadre-server
//!
//! Owns the service: the axum API (REST, SSE, WebSocket, OpenAPI) with the embedded web
//! UI, accounts and secrets, the worker loop, the event bus (in-process or Redis), and
//! start-up (settings to a running service), and its telemetry (metrics, spans). Only this crate
//! knows the public JSON shapes of the HTTP API. Dependencies point one way: core, llm,
//! sandbox, store <- server <- cli.
//!
//! # Layout
//!
//! - [`bus`]: the live event bus (`docs/DESIGN.md` §6): [`bus::EventBus`], its in-process
//!   ([`bus::MemoryBus`]) and Redis pub/sub ([`bus::RedisBus`]) backends, and the
//!   [`bus::Subscription`] stream that SSE/WebSocket handlers consume.
//! - [`config`]: [`config::ServiceConfig`], the `CADRE_*` settings with their defaults.
//! - [`startup`]: [`startup::Application`]: a `ServiceConfig` becomes an opened store and
//!   bus, an [`api::AppState`], a bound listener, the first admin and (for `cadre serve`)
//!   a worker; then it serves until its shutdown token fires. The `cadre` binary, the API
//!   tests and the benchmarks all start the server through it.
//! - [`run_request`]: [`run_request::StoredRunRequest`], a run's request as stored and as
//!   the worker turns it into an engine request.
//! - [`worker`]: the worker loop: claims jobs, runs the engine, persists and publishes
//!   events, keeps its lease, obeys cancellation, hands jobs back on shutdown.
//! - [`api`]: the axum HTTP API: [`api::AppState`] and [`api::router`], one module per
//!   resource (runs, events over SSE and WebSocket, teams, tokens, admin…), auth
//!   extractors and login, errors, OpenAPI, and the web UI as the fallback route.
//! - [`quota`]: per-user daily token and spend quotas.
//! - [`telemetry`]: Prometheus metrics (`/metrics`), the request span, and the GenAI
//!   spans and metrics around models and sandboxes.
//! - [`auth`]: password hashing (argon2id), access tokens (HS256 JWT), refresh and
//!   personal tokens, sealed provider keys, the first admin.

pub mod api;
pub mod auth;
pub mod bus;
pub mod config;
pub mod quota;
pub mod run_request;
pub mod startup;
pub mod telemetry;
pub mod worker;
