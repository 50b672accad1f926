//! # cadre-server
//!
//! Owns the service: the axum API (REST, SSE, WebSocket, OpenAPI), accounts and secrets,
//! the worker loop, the event bus (in-process or Redis) and the embedded web UI; metrics
//! are still to come. Only this crate knows the public JSON shapes of the HTTP API.
//! Dependencies point one way: core, llm, sandbox, store <- server <- cli.
//!
//! # Layout
//!
//! - [`bus`]: the live event bus (`docs/DESIGN.md` §6): [`bus::EventBus`], its in-process
//!   ([`bus::MemoryBus`]) and Redis pub/sub ([`bus::RedisBus`]) backends, and the
//!   [`bus::Subscription`] stream that SSE/WebSocket handlers consume.
//! - [`config`]: [`config::ServiceConfig`], the `CADRE_*` settings with their defaults.
//! - [`run_request`]: [`run_request::StoredRunRequest`], a run's request as stored and as
//!   the worker turns it into an engine request.
//! - [`worker`]: the worker loop: claims jobs, runs the engine, persists and publishes
//!   events, keeps its lease, obeys cancellation, hands jobs back on shutdown.
//! - [`api`]: the axum HTTP API (errors, health, OpenAPI, runs, events, SSE).
//! - [`quota`]: per-user daily token and spend quotas.
//! - [`auth`]: password hashing (argon2id), access tokens (HS256 JWT) and refresh tokens.

pub mod api;
pub mod auth;
pub mod bus;
pub mod config;
pub mod quota;
pub mod run_request;
pub mod worker;
