//! # cadre-server
//!
//! Owns the service: the axum API (REST, SSE, WebSocket, OpenAPI, auth), the worker
//! loop, the event bus (in-process or Redis), metrics and the embedded static UI.
//! Only this crate knows the public JSON shapes of the HTTP API.
//!
//! The crate is a placeholder until the service issue lands: the boundary exists so the
//! dependency direction (core, llm, sandbox, store <- server <- cli) is fixed from the start.
