//! The HTTP API end to end: the real router on a port-0 listener, a SQLite store in a
//! temporary directory and an in-process bus. The worker is simulated by appending events
//! through the store and publishing them on the bus, as a worker does.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use cadre_core::event::RunEvent;
use cadre_server::bus::{BusError, BusHealth, EventBus, MemoryBus, Subscription};
use common::{App, assert_error, delta, event, finished, log, run_id, spawn, spawn_with_bus};
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::time::timeout;
use uuid::Uuid;

impl App {
    /// Emits `log` events `from..=to`.
    async fn emit_logs(&self, run_id: Uuid, from: u64, to: u64) {
        for seq in from..=to {
            self.emit(run_id, seq, log(seq)).await;
        }
    }
}

/// One SSE frame.
#[derive(Debug, Clone, PartialEq)]
struct Frame {
    id: Option<u64>,
    event: String,
    data: Value,
}

/// `POST /api/v1/runs/{id}/cancel` as the app's user.
async fn cancel(app: &App, id: Uuid) -> reqwest::Response {
    app.http
        .post(app.url(&format!("/api/v1/runs/{id}/cancel")))
        .send()
        .await
        .unwrap()
}

/// A minimal SSE reader (frames separated by a blank line; comments skipped).
struct SseClient {
    stream: futures::stream::BoxStream<'static, reqwest::Result<Vec<u8>>>,
    buffer: String,
}

impl SseClient {
    async fn open(app: &App, path: &str, last_event_id: Option<u64>) -> Self {
        let mut request = app.http.get(app.url(path));
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id.to_string());
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        Self {
            stream: response
                .bytes_stream()
                .map(|chunk| chunk.map(|b| b.to_vec()))
                .boxed(),
            buffer: String::new(),
        }
    }

    /// The next frame; `None` when the server ended the stream.
    async fn next(&mut self) -> Option<Frame> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let raw: String = self.buffer.drain(..end + 2).collect();
                let mut frame = Frame {
                    id: None,
                    event: String::new(),
                    data: Value::Null,
                };
                let mut data = String::new();
                for line in raw.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        frame.id = Some(v.trim().parse().unwrap());
                    } else if let Some(v) = line.strip_prefix("event:") {
                        frame.event = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if data.is_empty() {
                    continue; // keep-alive comment
                }
                frame.data = serde_json::from_str(&data).unwrap();
                return Some(frame);
            }
            let chunk = timeout(Duration::from_secs(10), self.stream.next())
                .await
                .expect("SSE frame within 10 s")?;
            self.buffer
                .push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        }
    }

    async fn expect_end(&mut self) {
        assert_eq!(self.next().await, None, "stream should end");
    }
}

#[tokio::test]
async fn create_get_and_list_runs() {
    let app = spawn().await;
    let response = app
        .http
        .post(app.url("/api/v1/runs"))
        .json(&json!({"task": "write a haiku", "build": {"max_agents": 2}, "max_round": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let run: Value = response.json().await.unwrap();
    assert_eq!(run["status"], "queued");
    assert_eq!(run["task"], "write a haiku");
    assert_eq!(run["last_seq"], 0);
    assert_eq!(
        location,
        format!("/api/v1/runs/{}", run["id"].as_str().unwrap())
    );

    let (status, fetched) = app.get_json(&location).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetched["id"], run["id"]);
    // What was asked shows on the run (the UI reruns with it, and tells build-only runs).
    assert_eq!(
        fetched["settings"],
        json!({"model": null, "execute": true, "max_round": 5, "budget_usd": null,
               "speaker_selection": null, "max_agents": 2, "coding": null})
    );
    let build_only = app
        .create_run_with(json!({"task": "t", "model": "demo", "execute": false,
                                "speaker_selection": "round_robin", "budget_usd": 0.5}))
        .await;
    let (_, build_only) = app.get_json(&format!("/api/v1/runs/{build_only}")).await;
    assert_eq!(build_only["settings"]["execute"], false);
    assert_eq!(build_only["settings"]["model"], "demo");
    assert_eq!(build_only["settings"]["speaker_selection"], "round_robin");
    assert_eq!(build_only["settings"]["budget_usd"], 0.5);
    app.http
        .delete(app.url(&format!(
            "/api/v1/runs/{}",
            build_only["id"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap();
    let stored = app.store.get_run_any(run_id(&run)).await.unwrap();
    assert_eq!(stored.request["build"]["max_agents"], 2);
    assert_eq!(stored.request["max_round"], 5);

    app.create_run("second").await;
    app.create_run("third").await;
    let (status, page) = app.get_json("/api/v1/runs?limit=2").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["runs"].as_array().unwrap().len(), 2);
    assert_eq!(page["runs"][0]["task"], "third");
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, rest) = app
        .get_json(&format!("/api/v1/runs?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(rest["runs"].as_array().unwrap().len(), 1);
    assert_eq!(rest["runs"][0]["task"], "write a haiku");
    assert_eq!(rest["next_cursor"], Value::Null);
    let (_, queued) = app.get_json("/api/v1/runs?status=queued").await;
    assert_eq!(queued["runs"].as_array().unwrap().len(), 3);
    let (_, done) = app.get_json("/api/v1/runs?status=completed").await;
    assert_eq!(done["runs"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn inline_team_and_team_id_are_resolved() {
    let app = spawn().await;
    let team = json!({"name": "duo", "agents": [
        {"name": "writer", "system_message": "You write.", "description": "Writes."},
        {"name": "critic", "system_message": "You critique.", "description": "Critiques."}]});
    let spec: cadre_core::TeamSpec = serde_json::from_value(team.clone()).unwrap();
    let response = app
        .http
        .post(app.url("/api/v1/runs"))
        .json(&json!({"task": "t", "team": team}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let saved = app
        .store
        .create_team(app_owner(&app).await, &spec)
        .await
        .unwrap();
    let response = app
        .http
        .post(app.url("/api/v1/runs"))
        .json(&json!({"task": "t", "team_id": saved.id}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let run: Value = response.json().await.unwrap();
    let stored = app.store.get_run_any(run_id(&run)).await.unwrap();
    assert_eq!(stored.request["team"]["name"], "duo");
    let response = app
        .http
        .post(app.url("/api/v1/runs"))
        .json(&json!({"task": "t", "team_id": Uuid::new_v4()}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_error(&response.json().await.unwrap(), "not_found");
}

async fn app_owner(app: &App) -> Uuid {
    app.user
}

#[tokio::test]
async fn cancel_and_delete() {
    let app = spawn().await;
    let run = app.create_run("t").await;
    let id = run_id(&run);
    let response = cancel(&app, id).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let cancelled: Value = response.json().await.unwrap();
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["cancel_requested"], true);
    // The store wrote the closing events: a stream from 0 ends at `finished`.
    let mut sse = SseClient::open(&app, &format!("/api/v1/runs/{id}/events/stream"), None).await;
    let mut last = None;
    while let Some(frame) = sse.next().await {
        last = Some(frame);
    }
    assert_eq!(last.unwrap().event, "finished");

    let response = app
        .http
        .delete(app.url(&format!("/api/v1/runs/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (status, body) = app.get_json(&format!("/api/v1/runs/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, "not_found");
}

#[tokio::test]
async fn events_page_after_3() {
    let app = spawn().await;
    let id = run_id(&app.create_run("t").await);
    app.emit_logs(id, 1, 8).await;
    let (status, page) = app
        .get_json(&format!("/api/v1/runs/{id}/events?after=3"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let seqs: Vec<u64> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (4..=8).collect::<Vec<_>>());
    assert_eq!(page["next_after"], 8);
    assert_eq!(page["events"][0]["type"], "log");
    assert_eq!(page["events"][0]["run_id"], id.to_string());
    let (_, page) = app
        .get_json(&format!("/api/v1/runs/{id}/events?after=3&limit=2"))
        .await;
    assert_eq!(page["events"].as_array().unwrap().len(), 2);
    assert_eq!(page["next_after"], 5);
}

#[tokio::test]
async fn sse_replays_then_goes_live_in_order() {
    let app = spawn().await;
    let id = run_id(&app.create_run("t").await);
    app.emit_logs(id, 1, 6).await;
    let mut sse = SseClient::open(
        &app,
        &format!("/api/v1/runs/{id}/events/stream?after=3"),
        None,
    )
    .await;
    for seq in 4..=6 {
        let frame = sse.next().await.unwrap();
        assert_eq!(frame.id, Some(seq));
        assert_eq!(frame.event, "log");
        assert_eq!(frame.data["seq"], seq);
    }
    // Live: a durable event, a delta after it, a duplicate, a stale delta, then an event
    // whose predecessor was persisted but never published (a gap the stream must fill).
    let seven = app.emit(id, 7, log(7)).await;
    app.bus.publish(&event(id, 7, delta("hel"))).await.unwrap();
    app.bus.publish(&seven).await.unwrap();
    app.bus
        .publish(&event(id, 6, delta("stale")))
        .await
        .unwrap();
    app.store
        .append_events(id, &[event(id, 8, log(8))])
        .await
        .unwrap();
    app.emit(id, 9, finished()).await;

    let frame = sse.next().await.unwrap();
    assert_eq!((frame.id, frame.event.as_str()), (Some(7), "log"));
    let frame = sse.next().await.unwrap();
    assert_eq!((frame.id, frame.event.as_str()), (None, "message_delta"));
    assert_eq!(frame.data["data"]["delta"], "hel");
    let frame = sse.next().await.unwrap();
    assert_eq!(frame.id, Some(8));
    let frame = sse.next().await.unwrap();
    assert_eq!((frame.id, frame.event.as_str()), (Some(9), "finished"));
    sse.expect_end().await;
}

#[tokio::test]
async fn sse_last_event_id_resumes_a_finished_run() {
    let app = spawn().await;
    let id = run_id(&app.create_run("t").await);
    app.emit_logs(id, 1, 5).await;
    app.emit(id, 6, finished()).await;
    let path = format!("/api/v1/runs/{id}/events/stream?after=1");
    // The header wins over `?after=` (a browser's EventSource keeps the original URL).
    let mut sse = SseClient::open(&app, &path, Some(4)).await;
    assert_eq!(sse.next().await.unwrap().id, Some(5));
    assert_eq!(sse.next().await.unwrap().id, Some(6));
    sse.expect_end().await;
    // Resuming after the end: nothing left, the stream ends at once.
    let mut sse = SseClient::open(&app, &path, Some(6)).await;
    sse.expect_end().await;
}

#[tokio::test]
async fn sse_reconnect_mid_run_has_no_gaps_or_duplicates() {
    let app = spawn().await;
    let id = run_id(&app.create_run("t").await);
    let path = format!("/api/v1/runs/{id}/events/stream");
    let mut seen = Vec::new();
    let mut sse = SseClient::open(&app, &path, None).await;
    app.emit_logs(id, 1, 4).await;
    for _ in 0..4 {
        seen.push(sse.next().await.unwrap().id.unwrap());
    }
    drop(sse);
    // Published while nobody listens.
    app.emit_logs(id, 5, 7).await;
    let mut sse = SseClient::open(&app, &path, Some(*seen.last().unwrap())).await;
    app.emit_logs(id, 8, 10).await;
    app.emit(id, 11, finished()).await;
    while let Some(frame) = sse.next().await {
        seen.push(frame.id.unwrap());
    }
    assert_eq!(seen, (1..=11).collect::<Vec<_>>());
}

#[tokio::test]
async fn slow_subscriber_catches_up_from_the_database() {
    let app = spawn_with_bus(Arc::new(MemoryBus::with_capacity(4))).await;
    let id = run_id(&app.create_run("t").await);
    let mut sse = SseClient::open(&app, &format!("/api/v1/runs/{id}/events/stream"), None).await;
    // Far more than the bus buffer and the stream buffer, published without reading.
    app.emit_logs(id, 1, 300).await;
    app.emit(id, 301, finished()).await;
    let mut seen = Vec::new();
    while let Some(frame) = sse.next().await {
        seen.push(frame.id.unwrap());
    }
    assert_eq!(seen, (1..=301).collect::<Vec<_>>());
}

/// A bus that is down: subscribing fails and health says so.
struct DownBus;

#[async_trait]
impl EventBus for DownBus {
    async fn publish(&self, _event: &RunEvent) -> Result<(), BusError> {
        Err(BusError::Unavailable("down for the test".into()))
    }
    async fn subscribe(&self, _run_id: uuid::Uuid) -> Result<Subscription, BusError> {
        Err(BusError::Unavailable("down for the test".into()))
    }
    fn health(&self) -> BusHealth {
        BusHealth::Down {
            reason: "down for the test".into(),
        }
    }
    fn backend(&self) -> &'static str {
        "down"
    }
}

#[tokio::test]
async fn sse_without_a_bus_polls_the_database() {
    let app = spawn_with_bus(Arc::new(DownBus)).await;
    let id = run_id(&app.create_run("t").await);
    let mut sse = SseClient::open(&app, &format!("/api/v1/runs/{id}/events/stream"), None).await;
    for seq in 1..=3 {
        app.store
            .append_events(id, &[event(id, seq, log(seq))])
            .await
            .unwrap();
    }
    app.store
        .append_events(id, &[event(id, 4, finished())])
        .await
        .unwrap();
    let mut seen = Vec::new();
    while let Some(frame) = sse.next().await {
        seen.push(frame.id.unwrap());
    }
    assert_eq!(seen, vec![1, 2, 3, 4]);
}

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn().await;
    let (status, body) = app.get_json("/healthz").await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "ok"})));
    let (status, body) = app.get_json("/readyz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ready");
    assert_eq!(body["checks"]["database"]["status"], "up");
    assert_eq!(body["checks"]["database"]["backend"], "sqlite");
    assert_eq!(body["checks"]["bus"]["status"], "up");
    // An API without a worker runs no code: it names the workers' configured sandbox.
    assert_eq!(body["checks"]["sandbox"]["state"], "on_workers");
    assert_eq!(body["checks"]["sandbox"]["backend"], "bwrap");

    let down = spawn_with_bus(Arc::new(DownBus)).await;
    let (status, body) = down.get_json("/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["checks"]["database"]["status"], "up");
    assert_eq!(body["checks"]["bus"]["status"], "down");
}

#[tokio::test]
async fn client_mistakes_get_our_error_shape() {
    let app = spawn().await;
    let id = run_id(&app.create_run("t").await);
    let post = |body: String, content_type: Option<&'static str>| {
        let mut request = app.http.post(app.url("/api/v1/runs")).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        request.send()
    };
    let json_type = Some("application/json");
    let cases: Vec<(reqwest::Response, StatusCode, &str)> = vec![
        (
            post("{\"task\": ".into(), json_type).await.unwrap(),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            post(r#"{"task": "t", "bogus": 1}"#.into(), json_type)
                .await
                .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            post(r#"{"task": 5}"#.into(), json_type).await.unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            post(r#"{"task": "  "}"#.into(), json_type).await.unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            post(
                r#"{"task": "t", "build": {"max_agents": 17}}"#.into(),
                json_type,
            )
            .await
            .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            post(
                r#"{"task": "t", "max_round": 0, "budget_usd": -1}"#.into(),
                json_type,
            )
            .await
            .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            post(r#"{"task": "t", "team": {"agents": []}}"#.into(), json_type)
                .await
                .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            post(r#"{"task": "t"}"#.into(), None).await.unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            post(
                format!(r#"{{"task": "{}"}}"#, "x".repeat(2 * 1024 * 1024)),
                json_type,
            )
            .await
            .unwrap(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            post(
                format!(r#"{{"task": "{}"}}"#, "x".repeat(20_001)),
                json_type,
            )
            .await
            .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            app.http
                .get(app.url("/api/v1/runs/not-a-uuid"))
                .send()
                .await
                .unwrap(),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            app.http
                .get(app.url(&format!("/api/v1/runs/{}", Uuid::new_v4())))
                .send()
                .await
                .unwrap(),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            app.http
                .get(app.url(&format!("/api/v1/runs/{}/events", Uuid::new_v4())))
                .send()
                .await
                .unwrap(),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            app.http
                .get(app.url(&format!("/api/v1/runs/{}/events/stream", Uuid::new_v4())))
                .send()
                .await
                .unwrap(),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            app.http
                .get(app.url(&format!("/api/v1/runs/{id}/events?after=-1")))
                .send()
                .await
                .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            app.http
                .get(app.url(&format!("/api/v1/runs/{id}/events?limit=0")))
                .send()
                .await
                .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            app.http
                .get(app.url(&format!("/api/v1/runs/{id}/events/stream?after=-1")))
                .send()
                .await
                .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            app.http
                .get(app.url(&format!("/api/v1/runs/{id}/events/stream")))
                .header("Last-Event-ID", "x")
                .send()
                .await
                .unwrap(),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            app.http
                .get(app.url("/api/v1/runs?status=bogus"))
                .send()
                .await
                .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            app.http
                .get(app.url("/api/v1/runs?cursor=garbage"))
                .send()
                .await
                .unwrap(),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            app.http.get(app.url("/api/v1/nope")).send().await.unwrap(),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            app.http.put(app.url("/api/v1/runs")).send().await.unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
    ];
    for (index, (response, status, code)) in cases.into_iter().enumerate() {
        assert_eq!(response.status(), status, "case {index}");
        let body: Value = response.json().await.unwrap();
        assert_error(&body, code);
    }
    // A rejected field list names the fields.
    let response = post(
        r#"{"task": "t", "max_round": 0, "budget_usd": -1}"#.into(),
        json_type,
    )
    .await
    .unwrap();
    let body: Value = response.json().await.unwrap();
    let fields: Vec<&str> = body["error"]["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["max_round", "budget_usd"]);
}

#[tokio::test]
async fn openapi_and_docs() {
    let app = spawn().await;
    let (status, doc) = app.get_json("/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    for path in [
        "/healthz",
        "/readyz",
        "/api/v1/runs",
        "/api/v1/runs/{id}",
        "/api/v1/runs/{id}/cancel",
        "/api/v1/runs/{id}/events",
        "/api/v1/runs/{id}/events/stream",
    ] {
        assert!(doc["paths"].get(path).is_some(), "missing {path}");
    }
    for schema in [
        "RunView",
        "CreateRunBody",
        "ErrorBody",
        "RunEvent",
        "EventPage",
    ] {
        assert!(
            doc["components"]["schemas"].get(schema).is_some(),
            "missing {schema}"
        );
    }
    let response = app.http.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.to_lowercase().contains("<html"), "{html}");
    assert!(html.contains("swagger"));
}

#[tokio::test]
async fn request_id_is_echoed() {
    let app = spawn().await;
    let response = app
        .http
        .get(app.url("/healthz"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "abc-123");
    let response = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert!(!response.headers()["x-request-id"].is_empty());
}

/// The next durable frames until `finished`, each within `within` of the previous one.
async fn frames_until_finished(sse: &mut SseClient, within: Duration) -> Vec<Frame> {
    let mut frames = Vec::new();
    loop {
        let frame = timeout(within, sse.next())
            .await
            .unwrap_or_else(|_| panic!("no frame within {within:?} after {frames:?}"))
            .expect("the stream ended before `finished`");
        let done = frame.event == "finished";
        frames.push(frame);
        if done {
            return frames;
        }
    }
}

#[tokio::test]
async fn a_run_the_store_gives_up_reaches_open_streams_within_a_second() {
    use cadre_server::worker::{FixedModel, Worker, WorkerConfig};

    let app = spawn().await;
    // A run with one attempt, claimed by a worker that then vanishes (its lease expires).
    let run = app
        .store
        .create_run(cadre_store::NewRun {
            owner: app.user,
            task: "t".into(),
            request: json!({"task": "t", "model": "demo"}),
            max_attempts: 1,
        })
        .await
        .unwrap();
    let lease = Duration::from_millis(200);
    let gone = app.store.claim_job("gone", lease, None).await.unwrap();
    assert_eq!(gone.map(|job| job.run_id), Some(run.id));
    let mut sse = SseClient::open(
        &app,
        &format!("/api/v1/runs/{}/events/stream", run.id),
        None,
    )
    .await;
    tokio::time::sleep(lease + Duration::from_millis(100)).await;

    // The next worker's claim gives the run up; the store writes its ending, the worker
    // publishes it: the open stream sees it at once, not at a database poll.
    let config = WorkerConfig {
        poll_every: Duration::from_millis(50),
        ..WorkerConfig::default()
    };
    let model = FixedModel(Arc::new(cadre_llm::demo::DemoModel::new()));
    let worker = Worker::new(
        app.store.clone(),
        app.bus.clone(),
        Arc::new(model),
        None,
        config,
    );
    let shutdown = tokio_util::sync::CancellationToken::new();
    let started = std::time::Instant::now();
    let running = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { worker.run(shutdown).await }
    });
    let frames = frames_until_finished(&mut sse, Duration::from_secs(1)).await;
    let elapsed = started.elapsed();
    shutdown.cancel();
    running.await.unwrap();

    assert!(elapsed < Duration::from_secs(1), "took {elapsed:?}");
    let kinds: Vec<&str> = frames.iter().map(|f| f.event.as_str()).collect();
    assert_eq!(kinds, ["error", "status", "finished"]);
    assert_eq!(frames[0].data["data"]["code"], "worker_lost");
    assert_eq!(frames[2].data["data"]["status"], "failed");
    assert_eq!(frames[2].id, Some(3));
}

#[tokio::test]
async fn cancelling_a_queued_run_reaches_open_streams_within_a_second() {
    let app = spawn().await;
    let id = app.create_run_id("never claimed").await;
    let mut sse = SseClient::open(&app, &format!("/api/v1/runs/{id}/events/stream"), None).await;
    let started = std::time::Instant::now();
    let response = cancel(&app, id).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let frames = frames_until_finished(&mut sse, Duration::from_secs(1)).await;
    assert!(started.elapsed() < Duration::from_secs(1));
    let kinds: Vec<&str> = frames.iter().map(|f| f.event.as_str()).collect();
    assert_eq!(kinds, ["status", "finished"]);
    assert_eq!(frames[1].data["data"]["status"], "cancelled");
}
