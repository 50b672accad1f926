//! What the service tells its operators: Prometheus metrics ([`Metrics`], rendered on
//! `/metrics`), and the tracing spans that become OpenTelemetry GenAI traces when the
//! binary installs an OTLP exporter (`docs/DESIGN.md` §10).
//!
//! - [`metrics`]: [`Metrics`], every metric family the service keeps, and [`render`]
//!   (the scrape: the families plus the values read at scrape time from the database,
//!   the pools and `/proc`).
//! - [`http`]: the request layer: the `request` span (request id, route, user, run) and
//!   the HTTP duration histogram.
//! - [`llm`]: [`ObservedModel`], the `chat {model}` span and the GenAI metrics around any
//!   [`cadre_core::model::ChatModel`].
//! - [`sandbox`]: [`ObservedExecutor`], the `execute_tool` span and the execution
//!   histogram around any [`cadre_core::executor::CodeExecutor`].
//! - [`tools`]: [`ObservedToolBox`], the MCP tool-call histogram around any
//!   [`cadre_core::tool::ToolBox`].
//! - [`process`]: the `process_*` metrics read from `/proc`.
//!
//! Spans carry OpenTelemetry's attribute names (`gen_ai.provider.name`, …) as tracing
//! fields, and `otel.name` / `otel.kind` for the exporter; with no exporter they are
//! ordinary tracing spans whose ids (`run_id`, `user_id`, `request_id`) label the logs.

pub mod http;
pub mod llm;
pub mod metrics;
pub mod process;
pub mod sandbox;
pub mod tools;

pub use llm::ObservedModel;
pub use metrics::{Metrics, Role, render};
pub use sandbox::ObservedExecutor;
pub use tools::ObservedToolBox;
