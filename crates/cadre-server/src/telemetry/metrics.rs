//! [`Metrics`]: every metric family the service keeps, in one registry per process (so
//! tests can run several services side by side), and [`render`], the `/metrics` scrape.
//!
//! Names follow Prometheus conventions; the LLM families are OpenTelemetry's GenAI
//! client metrics under their Prometheus names (`gen_ai.client.token.usage` →
//! `gen_ai_client_token_usage`, `gen_ai.client.operation.duration` →
//! `gen_ai_client_operation_duration_seconds`), with the attribute names as labels.
//! `deploy/` (the Grafana dashboard, the alert rules) uses only these names; a test
//! checks that.

use std::collections::HashSet;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cadre_store::Store;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::process;

/// The most distinct model names the GenAI metrics label (then `other`).
pub const MAX_MODEL_LABELS: usize = 64;
const OTHER_MODEL: &str = "other";

/// The content type of [`render`]'s text (OpenMetrics, which Prometheus scrapes).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Which process the metrics describe (`cadre_build_info{role}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `cadre serve`: API and worker in one process.
    Serve,
    /// `cadre api`.
    Api,
    /// `cadre worker`.
    Worker,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::Serve => "serve",
            Role::Api => "api",
            Role::Worker => "worker",
        }
    }
}

/// Labels of `http_server_request_duration_seconds` (OpenTelemetry's HTTP names).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// `GET`, `POST`, …
    pub http_request_method: String,
    /// The route template (`/api/v1/runs/{id}`), never the raw path; `other` for paths
    /// no route matched.
    pub http_route: String,
    /// The response status.
    pub http_response_status_code: u16,
}

/// Labels of `cadre_runs_finished_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RunEndLabels {
    /// `completed`, `failed` or `cancelled`.
    pub status: String,
    /// The failure code of a failed run (`llm_timeout`, `worker_lost`, …); empty otherwise.
    pub failure_code: String,
}

/// The model a GenAI metric is about.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ModelLabels {
    /// `chat` (the only operation the engine performs).
    pub gen_ai_operation_name: String,
    /// `openai`, `openrouter`, `ollama`, `custom`, `demo`, …
    pub gen_ai_provider_name: String,
    /// The model requested.
    pub gen_ai_request_model: String,
}

/// Labels of `gen_ai_client_operation_duration_seconds`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    /// The model.
    #[prometheus(flatten)]
    pub model: ModelLabels,
    /// Empty on success, else the failure's code (`llm_timeout`, `llm_provider_error`, …).
    pub error_type: String,
}

/// Labels of `gen_ai_client_token_usage`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TokenLabels {
    /// The model.
    #[prometheus(flatten)]
    pub model: ModelLabels,
    /// `input` or `output`.
    pub gen_ai_token_type: String,
}

/// Labels of `cadre_llm_cost_usd_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CostLabels {
    /// `openai`, `openrouter`, …
    pub gen_ai_provider_name: String,
    /// The model requested.
    pub gen_ai_request_model: String,
}

/// Labels of `cadre_sandbox_execution_duration_seconds`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ExecutionLabels {
    /// The sandbox backend (`bwrap`, `docker`, …).
    pub backend: String,
    /// `ok` (exit 0), `error` (another exit code, or the sandbox failed), `timeout`, or
    /// `killed` (a limit or a cancellation).
    pub outcome: String,
}

/// Labels of `cadre_tool_call_duration_seconds`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ToolCallLabels {
    /// The MCP server's configured name.
    pub server: String,
    /// `ok`, `error` (the tool reported one), `timeout`, `unavailable` (the server could
    /// not be reached), `unknown` (no such tool) or `cancelled`.
    pub outcome: String,
}

/// Labels of `cadre_streams_open`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StreamLabels {
    /// `sse` or `ws`.
    pub transport: String,
}

/// Labels of the bus counters.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BusLabels {
    /// `memory` or `redis`.
    pub backend: String,
}

/// Labels of `cadre_db_pool_connections`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PoolLabels {
    /// `idle` or `in_use`.
    pub state: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: String,
    role: String,
}

/// Float gauges and counters: prometheus-client keeps f64s in an `AtomicU64`.
type FloatGauge = Gauge<f64, AtomicU64>;
type FloatCounter = Counter<f64, AtomicU64>;

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// OpenTelemetry's default HTTP duration buckets (seconds).
fn http_buckets() -> Histogram {
    Histogram::new([
        0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
    ])
}

/// The GenAI conventions' buckets for `gen_ai.client.operation.duration`.
fn operation_buckets() -> Histogram {
    Histogram::new([
        0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
    ])
}

/// The GenAI conventions' buckets for time to first chunk.
fn first_chunk_buckets() -> Histogram {
    Histogram::new([
        0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
    ])
}

/// The GenAI conventions' buckets for `gen_ai.client.token.usage` (powers of 4).
fn token_buckets() -> Histogram {
    Histogram::new((0..14).map(|power| 4f64.powi(power)))
}

/// Seconds to hours: queue waits, code executions.
fn long_buckets() -> Histogram {
    Histogram::new([
        0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0,
    ])
}

/// Milliseconds to seconds: event delivery.
fn lag_buckets() -> Histogram {
    Histogram::new([
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    ])
}

/// Every metric family of one process. Cheap to clone handles out of (they are `Arc`s
/// inside); shared as `Arc<Metrics>` by the API, the worker and the wrappers.
pub struct Metrics {
    registry: Registry,
    /// HTTP requests by route and status, with their duration.
    pub http_requests: HistogramFamily<HttpLabels>,
    /// Runs created through the API.
    pub runs_created: Counter,
    /// Runs ended, by final status and failure code.
    pub runs_finished: Family<RunEndLabels, Counter>,
    /// Runs this process executes now.
    pub runs_active: Gauge,
    /// Time from a run's creation to its first claim.
    pub queue_wait: Histogram,
    /// Claims of jobs (every attempt).
    pub job_attempts: Counter,
    /// Claims of jobs an earlier worker held (lost or handed back).
    pub job_leases_reclaimed: Counter,
    /// Runs given up after their last attempt's worker was lost.
    pub jobs_abandoned: Counter,
    /// LLM calls by model and outcome, with their duration.
    pub llm_duration: HistogramFamily<OperationLabels>,
    /// Time to the first streamed chunk of successful LLM calls.
    pub llm_first_chunk: HistogramFamily<ModelLabels>,
    /// Tokens per LLM call, input and output.
    pub llm_tokens: HistogramFamily<TokenLabels>,
    /// Spend on LLM calls, in US dollars.
    pub llm_cost: Family<CostLabels, FloatCounter>,
    /// Code executions by backend and outcome, with their duration.
    pub sandbox_executions: HistogramFamily<ExecutionLabels>,
    /// MCP tool calls by server and outcome, with their duration.
    pub tool_calls: HistogramFamily<ToolCallLabels>,
    /// Event streams open now.
    pub streams_open: Family<StreamLabels, Gauge>,
    /// Stored event → written to a live stream.
    pub event_delivery_lag: Histogram,
    /// Subscriptions that fell behind the bus and caught up from the database.
    pub bus_lagged: Family<BusLabels, Counter>,
    /// Reconnections of the bus to its server.
    pub bus_reconnects: Family<BusLabels, Counter>,
    /// The model names labels have used: runs choose their model, so the label set is
    /// bounded here, not by the clients.
    models_seen: Mutex<HashSet<String>>,
    queue_depth: Gauge,
    queue_oldest_age: FloatGauge,
    pool_connections: Family<PoolLabels, Gauge>,
    pool_max: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// A fresh registry with every family registered, labelled with this process's role.
    pub fn new(role: Role) -> Arc<Self> {
        let mut registry = Registry::default();
        let metrics = Self {
            http_requests: Family::new_with_constructor(http_buckets),
            runs_created: Counter::default(),
            runs_finished: Family::default(),
            runs_active: Gauge::default(),
            queue_wait: long_buckets(),
            job_attempts: Counter::default(),
            job_leases_reclaimed: Counter::default(),
            jobs_abandoned: Counter::default(),
            llm_duration: Family::new_with_constructor(operation_buckets),
            llm_first_chunk: Family::new_with_constructor(first_chunk_buckets),
            llm_tokens: Family::new_with_constructor(token_buckets),
            llm_cost: Family::default(),
            sandbox_executions: Family::new_with_constructor(long_buckets),
            tool_calls: Family::new_with_constructor(long_buckets),
            streams_open: Family::default(),
            event_delivery_lag: lag_buckets(),
            bus_lagged: Family::default(),
            bus_reconnects: Family::default(),
            models_seen: Mutex::new(HashSet::new()),
            queue_depth: Gauge::default(),
            queue_oldest_age: FloatGauge::default(),
            pool_connections: Family::default(),
            pool_max: Gauge::default(),
            registry: Registry::default(),
        };
        let m = &metrics;
        registry.register(
            "http_server_request_duration_seconds",
            "Duration of HTTP server requests (to the response head for streams)",
            m.http_requests.clone(),
        );
        registry.register(
            "cadre_runs_created",
            "Runs created through the API",
            m.runs_created.clone(),
        );
        registry.register(
            "cadre_runs_finished",
            "Runs ended, by final status and failure code",
            m.runs_finished.clone(),
        );
        registry.register(
            "cadre_runs_active",
            "Runs this process executes now",
            m.runs_active.clone(),
        );
        registry.register(
            "cadre_queue_depth",
            "Jobs waiting to be claimed (read from the database at scrape)",
            m.queue_depth.clone(),
        );
        registry.register(
            "cadre_queue_oldest_age_seconds",
            "Age of the oldest job waiting to be claimed (0: none waits)",
            m.queue_oldest_age.clone(),
        );
        registry.register(
            "cadre_queue_wait_seconds",
            "Time from a run's creation to its first claim",
            m.queue_wait.clone(),
        );
        registry.register(
            "cadre_job_attempts",
            "Job claims (every attempt)",
            m.job_attempts.clone(),
        );
        registry.register(
            "cadre_job_leases_reclaimed",
            "Claims of jobs an earlier worker held (lost or handed back)",
            m.job_leases_reclaimed.clone(),
        );
        registry.register(
            "cadre_jobs_abandoned",
            "Runs given up after the worker of their last attempt was lost",
            m.jobs_abandoned.clone(),
        );
        registry.register(
            "gen_ai_client_operation_duration_seconds",
            "GenAI operation duration",
            m.llm_duration.clone(),
        );
        registry.register(
            "gen_ai_client_operation_time_to_first_chunk_seconds",
            "Time from the request to the first chunk of the response stream",
            m.llm_first_chunk.clone(),
        );
        registry.register(
            "gen_ai_client_token_usage",
            "Input and output tokens per GenAI operation",
            m.llm_tokens.clone(),
        );
        registry.register(
            "cadre_llm_cost_usd",
            "Spend on LLM calls in US dollars (the provider's figure, else the price table)",
            m.llm_cost.clone(),
        );
        registry.register(
            "cadre_sandbox_execution_duration_seconds",
            "Code executions in the sandbox, by backend and outcome",
            m.sandbox_executions.clone(),
        );
        registry.register(
            "cadre_tool_call_duration_seconds",
            "Calls of MCP tools, by server and outcome (refused calls are never made)",
            m.tool_calls.clone(),
        );
        registry.register(
            "cadre_streams_open",
            "Event streams (SSE, WebSocket) open now",
            m.streams_open.clone(),
        );
        registry.register(
            "cadre_event_delivery_lag_seconds",
            "Time from an event's creation to its write to a live stream",
            m.event_delivery_lag.clone(),
        );
        registry.register(
            "cadre_bus_lagged",
            "Stream subscriptions that fell behind the bus and caught up from the database",
            m.bus_lagged.clone(),
        );
        registry.register(
            "cadre_bus_reconnects",
            "Reconnections of the event bus to its server",
            m.bus_reconnects.clone(),
        );
        registry.register(
            "cadre_db_pool_connections",
            "Database connections, idle or in use",
            m.pool_connections.clone(),
        );
        registry.register(
            "cadre_db_pool_max_connections",
            "The most database connections the pools may open",
            m.pool_max.clone(),
        );
        let build: Family<BuildLabels, Gauge> = Family::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION").to_string(),
                role: role.as_str().to_string(),
            })
            .set(1);
        registry.register("cadre_build_info", "The running build (always 1)", build);
        for transport in ["sse", "ws"] {
            let _ = m.streams_open.get_or_create(&StreamLabels {
                transport: transport.to_string(),
            });
        }
        registry.register_collector(Box::new(process::ProcessCollector));
        Arc::new(Self {
            registry,
            ..metrics
        })
    }

    /// The `gen_ai_request_model` label of `model`: itself while fewer than
    /// [`MAX_MODEL_LABELS`] names have been seen, else `other`.
    pub fn model_label(&self, model: &str) -> String {
        let Ok(mut seen) = self.models_seen.lock() else {
            return OTHER_MODEL.to_string();
        };
        if seen.contains(model) {
            return model.to_string();
        }
        if seen.len() < MAX_MODEL_LABELS {
            seen.insert(model.to_string());
            return model.to_string();
        }
        OTHER_MODEL.to_string()
    }

    /// Counts a run that ended with `status` (and `failure_code` when it failed).
    pub fn run_finished(&self, status: &str, failure_code: Option<&str>) {
        self.runs_finished
            .get_or_create(&RunEndLabels {
                status: status.to_string(),
                failure_code: failure_code.unwrap_or_default().to_string(),
            })
            .inc();
    }

    /// A guard counting one open stream of `transport` until it is dropped.
    pub fn stream_opened(&self, transport: &'static str) -> GaugeGuard {
        GaugeGuard::hold(&self.streams_open.get_or_create(&StreamLabels {
            transport: transport.to_string(),
        }))
    }

    /// Records how long a live event took from its creation to a stream.
    pub fn event_delivered(&self, lag: Duration) {
        self.event_delivery_lag.observe(lag.as_secs_f64());
    }

    /// Starts the bus series of `backend` at 0 (so they exist, and `rate()` works, before
    /// the first lag or reconnection).
    pub fn bus_opened(&self, backend: &str) {
        let labels = BusLabels {
            backend: backend.to_string(),
        };
        let _ = self.bus_lagged.get_or_create(&labels);
        let _ = self.bus_reconnects.get_or_create(&labels);
    }

    /// The reconnection counter of a bus `backend`, for the bus to increment.
    pub fn bus_reconnects_of(&self, backend: &str) -> Counter {
        self.bus_reconnects
            .get_or_create(&BusLabels {
                backend: backend.to_string(),
            })
            .clone()
    }

    /// Counts a subscription of `backend` that fell behind.
    pub fn bus_lagged(&self, backend: &str) {
        self.bus_lagged
            .get_or_create(&BusLabels {
                backend: backend.to_string(),
            })
            .inc();
    }
}

impl Metrics {
    /// The registry's text without the scrape-time reads (unit tests).
    #[cfg(test)]
    pub(crate) fn encode_for_tests(&self) -> String {
        let mut text = String::new();
        let _ = encode(&mut text, &self.registry);
        text
    }
}

/// One of what a gauge counts (an open stream, an active run), counted while the guard
/// lives: a stream or run whose future is dropped midway still leaves the count.
#[derive(Debug)]
pub struct GaugeGuard(Gauge);

impl GaugeGuard {
    /// Increments `gauge` until the guard is dropped.
    pub fn hold(gauge: &Gauge) -> Self {
        gauge.inc();
        Self(gauge.clone())
    }
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The scrape: reads what lives elsewhere (the queue from the database, the pools, the
/// process from `/proc`) into its gauges, then encodes every family. A database that
/// does not answer leaves the queue gauges at their last values (the scrape still
/// succeeds, and `/readyz` reports the database).
pub async fn render(metrics: &Metrics, store: &dyn Store) -> String {
    match store.queue_stats().await {
        Ok(queue) => {
            metrics
                .queue_depth
                .set(i64::try_from(queue.queued).unwrap_or(i64::MAX));
            let oldest = queue.oldest_queued_at.map_or(0.0, |at| {
                (chrono::Utc::now() - at).num_milliseconds().max(0) as f64 / 1000.0
            });
            metrics.queue_oldest_age.set(oldest);
        }
        Err(error) => tracing::warn!(%error, "metrics: cannot read the queue"),
    }
    let pool = store.pool_stats();
    metrics
        .pool_connections
        .get_or_create(&PoolLabels {
            state: "idle".into(),
        })
        .set(i64::from(pool.idle));
    metrics
        .pool_connections
        .get_or_create(&PoolLabels {
            state: "in_use".into(),
        })
        .set(i64::from(pool.open.saturating_sub(pool.idle)));
    metrics.pool_max.set(i64::from(pool.max));
    let mut text = String::new();
    // Writing to a String cannot fail.
    let _ = encode(&mut text, &metrics.registry);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_labels_are_bounded() {
        let metrics = Metrics::new(Role::Worker);
        for n in 0..MAX_MODEL_LABELS {
            assert_eq!(metrics.model_label(&format!("m{n}")), format!("m{n}"));
        }
        assert_eq!(metrics.model_label("one too many"), "other");
        assert_eq!(
            metrics.model_label("m3"),
            "m3",
            "seen names keep their label"
        );
    }
}
