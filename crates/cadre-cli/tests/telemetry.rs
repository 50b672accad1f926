//! What operators see, from the real processes: `/metrics` after a real run (names,
//! labels and values that move with the run's LLM calls and code executions), the
//! OpenTelemetry GenAI spans a real OTLP/HTTP receiver gets, and the JSON log lines of
//! `cadre serve`, `cadre api` and `cadre worker` (ids on every line, secrets on none).
//! The last test checks that every metric `deploy/`'s Grafana dashboard and alert rules
//! use exists on the processes' `/metrics`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::routing::post;
use common::deployment::{
    Database, Processes, assert_gapless, post_demo_run, redis_url, stream_until_finished,
};
use common::{ADMIN_PASSWORD, admin_client, cadre, get_json, start_announcing, start_listening};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value;
use prost::Message;
use serde_json::Value;

const METRICS_TOKEN: &str = "the telemetry test's metrics token";
const SECRET_KEY: &str = "the telemetry test deployment's secret key";

// ---------------------------------------------------------------------------------------
// An OTLP/HTTP trace receiver (protobuf, as the exporter sends by default).

/// A span as the receiver decoded it; attribute values as text.
#[derive(Debug, Clone)]
struct ReceivedSpan {
    name: String,
    trace_id: Vec<u8>,
    span_id: Vec<u8>,
    parent_span_id: Vec<u8>,
    /// OTLP `SpanKind` (2 server, 3 client).
    kind: i32,
    attributes: BTreeMap<String, String>,
}

impl ReceivedSpan {
    fn attr(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }
}

#[derive(Clone, Default)]
struct Receiver {
    spans: Arc<Mutex<Vec<ReceivedSpan>>>,
    service_names: Arc<Mutex<BTreeSet<String>>>,
}

fn text(value: Option<&opentelemetry_proto::tonic::common::v1::AnyValue>) -> String {
    match value.and_then(|value| value.value.as_ref()) {
        Some(any_value::Value::StringValue(text)) => text.clone(),
        Some(any_value::Value::IntValue(n)) => n.to_string(),
        Some(any_value::Value::DoubleValue(n)) => n.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        other => format!("{other:?}"),
    }
}

impl Receiver {
    /// Serves `POST /v1/traces` on a free port; returns the endpoint base URL.
    async fn start(&self) -> String {
        let receiver = self.clone();
        let app = axum::Router::new().route(
            "/v1/traces",
            post(move |body: Bytes| {
                let receiver = receiver.clone();
                async move {
                    let request = ExportTraceServiceRequest::decode(body).expect("OTLP protobuf");
                    for resource in request.resource_spans {
                        if let Some(resource) = &resource.resource {
                            for attribute in &resource.attributes {
                                if attribute.key == "service.name" {
                                    receiver
                                        .service_names
                                        .lock()
                                        .unwrap()
                                        .insert(text(attribute.value.as_ref()));
                                }
                            }
                        }
                        for scope in resource.scope_spans {
                            for span in scope.spans {
                                let attributes = span
                                    .attributes
                                    .iter()
                                    .map(|kv| (kv.key.clone(), text(kv.value.as_ref())))
                                    .collect();
                                receiver.spans.lock().unwrap().push(ReceivedSpan {
                                    name: span.name,
                                    trace_id: span.trace_id,
                                    span_id: span.span_id,
                                    parent_span_id: span.parent_span_id,
                                    kind: span.kind,
                                    attributes,
                                });
                            }
                        }
                    }
                    // An empty ExportTraceServiceResponse.
                    Vec::<u8>::new()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{address}")
    }

    fn spans(&self) -> Vec<ReceivedSpan> {
        self.spans.lock().unwrap().clone()
    }

    /// Waits until `done` holds for the spans received so far.
    async fn wait_for(&self, what: &str, done: impl Fn(&[ReceivedSpan]) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !done(&self.spans()) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no {what} within 20 s; spans: {:?}",
                self.spans().iter().map(|s| &s.name).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

// ---------------------------------------------------------------------------------------
// The scrape.

/// One sample of the OpenMetrics text.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

fn parse_metrics(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("`series value`");
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').expect("closing brace");
                let mut labels = BTreeMap::new();
                // Label values here never contain `",` (they are names, routes, codes).
                for pair in body.split("\",").filter(|pair| !pair.is_empty()) {
                    let (key, value) = pair.split_once("=\"").expect("label=\"value\"");
                    labels.insert(key.to_string(), value.trim_end_matches('"').to_string());
                }
                (name.to_string(), labels)
            }
            None => (series.to_string(), BTreeMap::new()),
        };
        let value = match value {
            "+Inf" => f64::INFINITY,
            value => value
                .parse()
                .unwrap_or_else(|_| panic!("bad value in `{line}`")),
        };
        samples.push(Sample {
            name,
            labels,
            value,
        });
    }
    samples
}

/// The samples named `name` whose labels include `labels`.
fn matching<'a>(samples: &'a [Sample], name: &str, labels: &[(&str, &str)]) -> Vec<&'a Sample> {
    samples
        .iter()
        .filter(|sample| {
            sample.name == name
                && labels
                    .iter()
                    .all(|(key, value)| sample.labels.get(*key).map(String::as_str) == Some(value))
        })
        .collect()
}

/// The one sample named `name` whose labels include `labels`; panics if there is none.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    match matching(samples, name, labels).as_slice() {
        [one] => one.value,
        [] => panic!(
            "no sample {name}{labels:?}; samples named so: {:?}",
            samples
                .iter()
                .filter(|s| s.name == name)
                .map(|s| &s.labels)
                .collect::<Vec<_>>()
        ),
        many => panic!("{} samples {name}{labels:?}: {many:?}", many.len()),
    }
}

/// The sum of every sample named `name` whose labels include `labels`.
fn total(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    matching(samples, name, labels)
        .iter()
        .map(|sample| sample.value)
        .sum()
}

async fn scrape(url: &str) -> Vec<Sample> {
    let response = reqwest::Client::new()
        .get(url)
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{url}");
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    parse_metrics(&response.text().await.unwrap())
}

// ---------------------------------------------------------------------------------------
// Logs.

/// Every line a process wrote on stderr, each of which must be one JSON object.
fn json_lines(path: &Path) -> Vec<serde_json::Map<String, Value>> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(object)) => object,
            _ => panic!("a log line is not a JSON object: {line}"),
        })
        .collect()
}

/// Asserts none of `secrets` appears anywhere in the file.
fn assert_no_secrets(path: &Path, secrets: &[&str]) {
    let text = std::fs::read_to_string(path).unwrap();
    for secret in secrets {
        assert!(
            !text.contains(secret),
            "a secret reached the log {}: {secret}",
            path.display()
        );
    }
}

fn line_with<'a>(
    lines: &'a [serde_json::Map<String, Value>],
    message: &str,
) -> &'a serde_json::Map<String, Value> {
    lines
        .iter()
        .find(|line| line.get("message").and_then(Value::as_str) == Some(message))
        .unwrap_or_else(|| panic!("no log line `{message}`"))
}

// ---------------------------------------------------------------------------------------

/// The run's stored events (the JSON page).
async fn run_events(base: &str, run: &str) -> Vec<Value> {
    let url = format!("{base}/api/v1/runs/{run}/events?limit=1000");
    let page = get_json(&admin_client(base).await, url).await;
    page["events"].as_array().expect("events").clone()
}

async fn run_view(base: &str, run: &str) -> Value {
    get_json(
        &admin_client(base).await,
        format!("{base}/api/v1/runs/{run}"),
    )
    .await
}

fn with_telemetry(command: &mut Command, otlp: &str, stderr: &Path) {
    command
        .env("CADRE_LOG_FORMAT", "json")
        .env("CADRE_LOG", "info")
        .env("CADRE_METRICS_TOKEN", METRICS_TOKEN)
        .env("CADRE_SECRET_KEY", SECRET_KEY)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", otlp)
        .env("OTEL_BSP_SCHEDULE_DELAY", "200")
        .env_remove("OTEL_SERVICE_NAME")
        .env_remove("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT")
        .stderr(std::fs::File::create(stderr).unwrap());
}

#[tokio::test]
async fn serve_reports_a_real_run_in_metrics_traces_and_json_logs() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::default();
    let otlp = receiver.start().await;
    let stderr = dir.path().join("serve.log");
    let mut command = cadre();
    command
        .arg("serve")
        .env("CADRE_DATA_DIR", dir.path())
        .env("CADRE_BIND", "127.0.0.1:0")
        .env("CADRE_SANDBOX", "bwrap");
    with_telemetry(&mut command, &otlp, &stderr);
    let (child, base) = start_listening(command);
    let _processes = Processes(vec![child]);

    // /metrics is behind the token.
    let anonymous = reqwest::get(format!("{base}/metrics")).await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let body: Value = anonymous.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
    let wrong = reqwest::Client::new()
        .get(format!("{base}/metrics"))
        .bearer_auth("not the token")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    let run = post_demo_run(&base).await;
    let (seqs, statuses) = stream_until_finished(&base, &run, usize::MAX, || {}).await;
    assert_gapless(&seqs);
    assert_eq!(statuses.last().map(String::as_str), Some("completed"));
    let events = run_events(&base, &run).await;
    let view = run_view(&base, &run).await;
    let of_type = |kind: &str| events.iter().filter(|e| e["type"] == kind).count() as f64;
    let code_ok = events
        .iter()
        .filter(|e| e["type"] == "code_result" && e["data"]["exit_code"] == 0)
        .count() as f64;
    assert!(code_ok >= 1.0, "the demo team's code ran: {events:?}");

    // The stream's count drops back once the stream is closed.
    let mut samples = scrape(&format!("{base}/metrics")).await;
    for _ in 0..50 {
        if value(&samples, "cadre_streams_open", &[("transport", "sse")]) == 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        samples = scrape(&format!("{base}/metrics")).await;
    }
    let s = &samples;
    assert_eq!(value(s, "cadre_streams_open", &[("transport", "sse")]), 0.0);
    assert_eq!(value(s, "cadre_streams_open", &[("transport", "ws")]), 0.0);
    assert_eq!(value(s, "cadre_build_info", &[("role", "serve")]), 1.0);
    assert_eq!(value(s, "cadre_runs_created_total", &[]), 1.0);
    assert_eq!(
        value(
            s,
            "cadre_runs_finished_total",
            &[("status", "completed"), ("failure_code", "")]
        ),
        1.0
    );
    assert_eq!(value(s, "cadre_runs_active", &[]), 0.0);
    assert_eq!(value(s, "cadre_job_attempts_total", &[]), 1.0);
    assert_eq!(value(s, "cadre_job_leases_reclaimed_total", &[]), 0.0);
    assert_eq!(value(s, "cadre_jobs_abandoned_total", &[]), 0.0);
    assert_eq!(value(s, "cadre_queue_wait_seconds_count", &[]), 1.0);
    assert_eq!(value(s, "cadre_queue_depth", &[]), 0.0);
    assert_eq!(value(s, "cadre_queue_oldest_age_seconds", &[]), 0.0);

    // One LLM call per usage event, its tokens summing to the run's.
    let demo = [
        ("gen_ai_operation_name", "chat"),
        ("gen_ai_provider_name", "demo"),
        ("gen_ai_request_model", "demo"),
    ];
    let ok = [demo.as_slice(), &[("error_type", "")]].concat();
    assert_eq!(
        value(s, "gen_ai_client_operation_duration_seconds_count", &ok),
        of_type("usage"),
        "one gen_ai operation per LLM call"
    );
    assert!(value(s, "gen_ai_client_operation_duration_seconds_sum", &ok) > 0.0);
    let input = [demo.as_slice(), &[("gen_ai_token_type", "input")]].concat();
    let output = [demo.as_slice(), &[("gen_ai_token_type", "output")]].concat();
    assert_eq!(
        value(s, "gen_ai_client_token_usage_sum", &input),
        view["usage"]["prompt_tokens"].as_f64().unwrap()
    );
    assert_eq!(
        value(s, "gen_ai_client_token_usage_sum", &output),
        view["usage"]["completion_tokens"].as_f64().unwrap()
    );
    assert_eq!(
        value(s, "gen_ai_client_token_usage_count", &input),
        of_type("usage")
    );
    assert_eq!(
        value(
            s,
            "cadre_llm_cost_usd_total",
            &[
                ("gen_ai_provider_name", "demo"),
                ("gen_ai_request_model", "demo")
            ]
        ),
        view["usage"]["cost_usd"].as_f64().unwrap_or(0.0),
        "spend as the run accounts it"
    );
    assert!(
        value(
            s,
            "gen_ai_client_operation_time_to_first_chunk_seconds_count",
            &demo
        ) >= 1.0,
        "streamed replies report their first chunk"
    );
    // Code: one execution per code result, all fine.
    assert_eq!(
        value(
            s,
            "cadre_sandbox_execution_duration_seconds_count",
            &[("backend", "bwrap"), ("outcome", "ok")]
        ),
        code_ok
    );
    assert_eq!(
        total(s, "cadre_sandbox_execution_duration_seconds_count", &[]),
        of_type("code_result")
    );
    // HTTP by route template and status.
    assert_eq!(
        value(
            s,
            "http_server_request_duration_seconds_count",
            &[
                ("http_request_method", "POST"),
                ("http_route", "/api/v1/runs"),
                ("http_response_status_code", "202"),
            ]
        ),
        1.0
    );
    assert_eq!(
        value(
            s,
            "http_server_request_duration_seconds_count",
            &[
                ("http_request_method", "GET"),
                ("http_route", "/metrics"),
                ("http_response_status_code", "401"),
            ]
        ),
        2.0
    );
    assert!(
        value(s, "cadre_event_delivery_lag_seconds_count", &[]) >= 1.0,
        "live events were timed"
    );
    assert_eq!(
        value(s, "cadre_bus_lagged_total", &[("backend", "memory")]),
        0.0
    );
    assert!(value(s, "cadre_db_pool_max_connections", &[]) >= 1.0);
    assert!(value(s, "cadre_db_pool_connections", &[("state", "idle")]) >= 0.0);
    assert!(value(s, "process_resident_memory_bytes", &[]) > 1e6);
    assert!(value(s, "process_cpu_seconds_total", &[]) > 0.0);
    assert!(value(s, "process_open_fds", &[]) >= 3.0);
    assert!(value(s, "process_threads", &[]) >= 1.0);
    let started = value(s, "process_start_time_seconds", &[]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        started <= now && now - started < 600.0,
        "{started} vs {now}"
    );

    // Traces: run → turns → LLM calls and code executions.
    receiver
        .wait_for("execute_tool span of the run", |spans| {
            spans.iter().any(|s| s.name == "invoke_workflow")
                && spans.iter().any(|s| s.name.starts_with("execute_tool"))
        })
        .await;
    let spans = receiver.spans();
    let workflow = spans
        .iter()
        .find(|s| s.name == "invoke_workflow" && s.attr("run_id") == Some(run.as_str()))
        .expect("the run's invoke_workflow span");
    assert_eq!(
        workflow.attr("gen_ai.operation.name"),
        Some("invoke_workflow")
    );
    assert_eq!(workflow.attr("gen_ai.conversation.id"), Some(run.as_str()));
    let in_run: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|s| s.trace_id == workflow.trace_id)
        .collect();
    let agents: Vec<&&ReceivedSpan> = in_run
        .iter()
        .filter(|s| s.name.starts_with("invoke_agent "))
        .collect();
    assert!(!agents.is_empty(), "turn spans");
    for agent in &agents {
        assert_eq!(
            agent.parent_span_id, workflow.span_id,
            "turns are the run's children"
        );
        let name = agent.attr("gen_ai.agent.name").unwrap();
        assert_eq!(agent.name, format!("invoke_agent {name}"));
    }
    let chats: Vec<&&ReceivedSpan> = in_run.iter().filter(|s| s.name == "chat demo").collect();
    assert_eq!(
        chats.len() as f64,
        of_type("usage"),
        "one chat span per LLM call"
    );
    for chat in &chats {
        assert_eq!(chat.kind, 3, "chat spans are client spans");
        assert_eq!(chat.attr("gen_ai.operation.name"), Some("chat"));
        assert_eq!(chat.attr("gen_ai.provider.name"), Some("demo"));
        assert_eq!(chat.attr("gen_ai.request.model"), Some("demo"));
        assert!(
            chat.attr("gen_ai.usage.input_tokens")
                .unwrap()
                .parse::<u64>()
                .unwrap()
                > 0
        );
        assert!(chat.attr("gen_ai.usage.output_tokens").is_some());
        assert!(
            chat.attr("gen_ai.input.messages").is_none(),
            "no message content unless opted in"
        );
    }
    let input_tokens: u64 = chats
        .iter()
        .map(|c| {
            c.attr("gen_ai.usage.input_tokens")
                .unwrap()
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    assert_eq!(
        input_tokens,
        view["usage"]["prompt_tokens"].as_u64().unwrap()
    );
    assert!(
        chats
            .iter()
            .any(|chat| agents.iter().any(|a| a.span_id == chat.parent_span_id)),
        "agent replies are calls inside their turn"
    );
    let tools: Vec<&&ReceivedSpan> = in_run
        .iter()
        .filter(|s| s.name == "execute_tool code_execution")
        .collect();
    assert_eq!(tools.len() as f64, of_type("code_result"));
    for tool in &tools {
        assert_eq!(tool.attr("gen_ai.operation.name"), Some("execute_tool"));
        assert_eq!(tool.attr("cadre.sandbox.backend"), Some("bwrap"));
        assert!(agents.iter().any(|a| a.span_id == tool.parent_span_id));
        assert!(tool.attr("gen_ai.tool.call.arguments").is_none());
    }
    let create = spans
        .iter()
        .find(|s| s.name == "POST /api/v1/runs")
        .expect("the request span");
    assert_eq!(create.kind, 2, "request spans are server spans");
    assert_eq!(create.attr("http.response.status_code"), Some("202"));
    assert!(
        receiver
            .service_names
            .lock()
            .unwrap()
            .contains("cadre-serve")
    );

    // Logs: one JSON object per line, the ids of the request or run on each.
    let lines = json_lines(&stderr);
    let queued = line_with(&lines, "run queued");
    assert_eq!(queued["run_id"], run.as_str());
    assert!(
        queued["request_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
    assert_eq!(queued["path"], "/api/v1/runs");
    let user_id = queued["user_id"]
        .as_str()
        .expect("the request's user")
        .to_string();
    let ended = line_with(&lines, "run ended");
    assert_eq!(ended["run_id"], run.as_str());
    assert_eq!(ended["user_id"], user_id.as_str());
    assert_eq!(ended["status"], "completed");
    for line in &lines {
        assert!(
            line.contains_key("timestamp") && line.contains_key("level"),
            "{line:?}"
        );
        assert!(!line.keys().any(|key| key.starts_with("otel.")), "{line:?}");
    }
    assert_no_secrets(&stderr, &[ADMIN_PASSWORD, METRICS_TOKEN, SECRET_KEY]);
}

/// A worker started with `CADRE_METRICS_BIND=127.0.0.1:0`: the process and the base URL
/// of its probe listener (the line it prints on stdout).
fn start_worker(command: Command) -> (Child, String) {
    let (child, metrics) = start_announcing(command, "cadre worker metrics on ");
    let base = metrics
        .strip_suffix("/metrics")
        .unwrap_or_else(|| panic!("not a metrics URL: {metrics}"))
        .to_string();
    (child, base)
}

/// The metric names a PromQL expression reads (functions, keywords, label names, label
/// values, durations and grouping clauses left out).
fn promql_metrics(expr: &str) -> BTreeSet<String> {
    let strings = regex::Regex::new(r#""(?:[^"\\]|\\.)*""#).unwrap();
    let matchers = regex::Regex::new(r"\{[^}]*\}").unwrap();
    let ranges = regex::Regex::new(r"\[[^\]]*\]").unwrap();
    let grouping =
        regex::Regex::new(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
            .unwrap();
    let identifier = regex::Regex::new(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b").unwrap();
    let keywords = [
        "and", "or", "unless", "bool", "offset", "by", "without", "inf", "nan",
    ];
    let mut bare = strings.replace_all(expr, "\"\"").into_owned();
    bare = matchers.replace_all(&bare, " ").into_owned();
    bare = ranges.replace_all(&bare, " ").into_owned();
    bare = grouping.replace_all(&bare, " ").into_owned();
    identifier
        .find_iter(&bare)
        .filter(|m| !bare[m.end()..].trim_start().starts_with('('))
        .filter(|m| !bare[..m.start()].ends_with('$'))
        .map(|m| m.as_str().to_string())
        .filter(|name| !keywords.contains(&name.to_ascii_lowercase().as_str()))
        .collect()
}

/// Every `expr` string anywhere in a Grafana dashboard.
fn dashboard_exprs(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            for (key, value) in object {
                match (key.as_str(), value) {
                    ("expr", Value::String(expr)) => into.push(expr.clone()),
                    _ => dashboard_exprs(value, into),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| dashboard_exprs(item, into)),
        _ => {}
    }
}

#[test]
fn promql_metric_names_are_read_without_functions_labels_or_ranges() {
    assert_eq!(
        promql_metrics(
            r#"histogram_quantile(0.95, sum by (le, http_route) (rate(http_server_request_duration_seconds_bucket{http_route!="/metrics", job=~"$job"}[$__rate_interval])))"#
        ),
        BTreeSet::from(["http_server_request_duration_seconds_bucket".to_string()])
    );
    assert_eq!(
        promql_metrics(
            "sum(rate(cadre_runs_finished_total{status=\"failed\"}[15m])) / clamp_min(sum(rate(cadre_runs_finished_total[15m])), 1) > 0.2 or absent(up{job=\"cadre-worker\"}) == 1"
        ),
        BTreeSet::from(["cadre_runs_finished_total".to_string(), "up".to_string()])
    );
}

#[tokio::test]
async fn api_and_worker_processes_expose_what_the_dashboard_and_alerts_use() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::create();
    let redis = redis_url();
    let receiver = Receiver::default();
    let otlp = receiver.start().await;
    let service = |role: &str, log: &Path| {
        let mut command = cadre();
        command
            .arg(role)
            .env("CADRE_DATA_DIR", dir.path())
            .env("CADRE_DATABASE_URL", &db.url)
            .env("CADRE_REDIS_URL", &redis)
            .env("CADRE_SANDBOX", "bwrap");
        with_telemetry(&mut command, &otlp, log);
        command
    };
    let api_log = dir.path().join("api.log");
    let worker_log = dir.path().join("worker.log");
    let mut api = service("api", &api_log);
    api.env("CADRE_BIND", "127.0.0.1:0");
    let (api, base) = start_listening(api);
    let mut processes = Processes(vec![api]);
    let mut worker = service("worker", &worker_log);
    worker
        .env("CADRE_METRICS_BIND", "127.0.0.1:0")
        .env("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true");
    let (worker, probes) = start_worker(worker);
    processes.0.push(worker);

    // The worker's probes answer without an API.
    for probe in ["healthz", "readyz"] {
        let response = reqwest::get(format!("{probes}/{probe}")).await.unwrap();
        assert_eq!(response.status(), 200, "worker /{probe}");
    }
    let response = reqwest::get(format!("{probes}/readyz")).await.unwrap();
    let readiness: Value = response.json().await.unwrap();
    assert_eq!(readiness["checks"]["database"]["backend"], "postgres");
    assert_eq!(readiness["checks"]["bus"]["backend"], "redis");
    assert_eq!(
        reqwest::get(format!("{probes}/metrics"))
            .await
            .unwrap()
            .status(),
        401
    );
    let healthcheck = cadre()
        .args(["healthcheck", &format!("{probes}/readyz")])
        .status()
        .unwrap();
    assert!(healthcheck.success());
    let refused = cadre()
        .args([
            "healthcheck",
            &format!("{probes}/no-such-probe"),
            "--timeout",
            "2",
        ])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("404"));

    let task = "Compare the first 20 Fibonacci numbers with the first 20 primes";
    let run = post_demo_run(&base).await;
    let (seqs, statuses) = stream_until_finished(&base, &run, usize::MAX, || {}).await;
    assert_gapless(&seqs);
    assert_eq!(statuses.last().map(String::as_str), Some("completed"));

    let api_samples = scrape(&format!("{base}/metrics")).await;
    let worker_samples = scrape(&format!("{probes}/metrics")).await;
    assert_eq!(
        value(&api_samples, "cadre_build_info", &[("role", "api")]),
        1.0
    );
    assert_eq!(
        value(&worker_samples, "cadre_build_info", &[("role", "worker")]),
        1.0
    );
    assert_eq!(value(&api_samples, "cadre_runs_created_total", &[]), 1.0);
    assert_eq!(
        value(
            &worker_samples,
            "cadre_runs_finished_total",
            &[("status", "completed")]
        ),
        1.0
    );
    assert!(
        total(
            &worker_samples,
            "gen_ai_client_operation_duration_seconds_count",
            &[]
        ) >= 1.0
    );
    assert_eq!(
        total(
            &api_samples,
            "gen_ai_client_operation_duration_seconds_count",
            &[]
        ),
        0.0,
        "the API makes no LLM calls"
    );
    for samples in [&api_samples, &worker_samples] {
        assert_eq!(
            value(
                samples,
                "cadre_bus_reconnects_total",
                &[("backend", "redis")]
            ),
            0.0
        );
        assert_eq!(value(samples, "cadre_queue_depth", &[]), 0.0);
    }

    // The worker opted in to message content: its chat spans carry the conversation.
    receiver
        .wait_for("a chat span with content", |spans| {
            spans
                .iter()
                .any(|s| s.name == "chat demo" && s.attr("gen_ai.input.messages").is_some())
        })
        .await;
    let spans = receiver.spans();
    let with_content = spans
        .iter()
        .find(|s| s.name == "chat demo" && s.attr("gen_ai.input.messages").is_some())
        .unwrap();
    assert!(
        with_content
            .attr("gen_ai.input.messages")
            .unwrap()
            .contains("Fibonacci")
    );
    assert!(with_content.attr("gen_ai.output.messages").is_some());
    let names = receiver.service_names.lock().unwrap().clone();
    assert!(
        names.contains("cadre-api") && names.contains("cadre-worker"),
        "{names:?}"
    );

    // Both processes log JSON lines carrying the run's ids.
    let worker_lines = json_lines(&worker_log);
    let ended = line_with(&worker_lines, "run ended");
    assert_eq!(ended["run_id"], run.as_str());
    assert!(ended["user_id"].as_str().is_some());
    let api_lines = json_lines(&api_log);
    assert_eq!(line_with(&api_lines, "run queued")["run_id"], run.as_str());
    assert_no_secrets(&api_log, &[ADMIN_PASSWORD, METRICS_TOKEN, SECRET_KEY, task]);
    assert_no_secrets(&worker_log, &[ADMIN_PASSWORD, METRICS_TOKEN, SECRET_KEY]);

    // Everything deploy/'s dashboard and alert rules read exists on a process's /metrics
    // (histograms by their _bucket/_sum/_count series; `up` is Prometheus's own).
    let exposed: BTreeSet<String> = api_samples
        .iter()
        .chain(&worker_samples)
        .map(|sample| sample.name.clone())
        .chain(["up".to_string()])
        .collect();
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(deploy.join("grafana/dashboards/cadre.json")).unwrap(),
    )
    .unwrap();
    let mut exprs = Vec::new();
    dashboard_exprs(&dashboard, &mut exprs);
    assert!(
        exprs.len() >= 10,
        "the dashboard has panels: {}",
        exprs.len()
    );
    let rules: serde_yaml_ng::Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(deploy.join("prometheus/alerts.yml")).unwrap(),
    )
    .unwrap();
    let mut alerts = 0;
    for group in rules["groups"].as_sequence().expect("rule groups") {
        for rule in group["rules"].as_sequence().expect("rules") {
            exprs.push(rule["expr"].as_str().expect("expr").to_string());
            alerts += usize::from(rule.get("alert").is_some());
        }
    }
    assert!(
        alerts >= 4,
        "queue backlog, failed runs, LLM errors, worker down"
    );
    let mut missing = BTreeSet::new();
    for expr in &exprs {
        for name in promql_metrics(expr) {
            if !exposed.contains(&name) {
                missing.insert(format!("{name} (in `{expr}`)"));
            }
        }
    }
    assert!(missing.is_empty(), "not on /metrics: {missing:#?}");
}
