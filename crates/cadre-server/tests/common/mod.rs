//! Shared harness for the HTTP API integration tests (`api*.rs`): the server started the
//! way `cadre serve` starts it (`AppState::from_config` from a [`ServiceConfig`], served by
//! `startup::Application` on a `127.0.0.1:0` listener), with a SQLite store in a
//! temporary directory and an in-process [`MemoryBus`] (or a bus of the test's choosing). The worker is simulated by appending
//! events through the store and publishing them on the bus, as a worker does. Each app
//! acts as a user of its own: its HTTP client sends that user's access token (logging in
//! itself is tested in `api_auth.rs`); [`App::as_user`] gives another user's view.
//!
//! Each test binary uses a subset of these helpers, hence `dead_code` is allowed here.
//! File-specific helpers stay in their files, as extra `impl App` blocks where they need
//! the app.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;

use cadre_core::event::{EventKind, LogLevel, RunEvent, RunStatus, UsageTotals};
use cadre_core::termination::StopReason;
use cadre_server::api::AppState;
use cadre_server::auth::AuthConfig;
use cadre_server::bus::{EventBus, MemoryBus};
use cadre_server::config::ServiceConfig;
use cadre_server::startup::{Application, open_store};
use cadre_server::worker::{ModelFactory, Worker, WorkerConfig};
use cadre_store::{NewUser, Store};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use uuid::Uuid;

/// A running API server and the handles a test needs to play the worker's part.
pub struct App {
    /// `host:port` of the listener (for `ws://` URLs).
    pub addr: String,
    /// `http://host:port`.
    pub base: String,
    pub store: Arc<dyn Store>,
    pub bus: Arc<dyn EventBus>,
    /// Sends `Authorization: Bearer <token>` with every request.
    pub http: reqwest::Client,
    /// The user this app acts as.
    pub user: Uuid,
    /// Their access token.
    pub token: String,
    /// The settings the server was started from ([`test_config`]).
    pub config: ServiceConfig,
    /// Keeps the SQLite database alive; `None` for an app sharing another app's store.
    pub _dir: Option<tempfile::TempDir>,
}

/// The server secret of every test app.
pub const TEST_SECRET: &[u8] = b"the server secret of the API tests, 32+ bytes";

/// The auth settings of every test app.
pub fn test_auth() -> AuthConfig {
    AuthConfig::from_secret(TEST_SECRET)
}

/// The settings of every test app: the defaults, with its data (the SQLite database) in
/// `dir`, [`TEST_SECRET`] as the server secret and port 0.
pub fn test_config(dir: &Path) -> ServiceConfig {
    let dir = dir.display().to_string();
    let secret = std::str::from_utf8(TEST_SECRET).unwrap().to_string();
    ServiceConfig::resolve(|name| match name {
        "CADRE_DATA_DIR" => Some(dir.clone()),
        "CADRE_SECRET_KEY" => Some(secret.clone()),
        "CADRE_BIND" => Some("127.0.0.1:0".into()),
        _ => None,
    })
    .unwrap()
}

/// A client that sends `token` as its bearer token.
pub fn client_with(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap()
}

/// Creates a user (no password) and an access token for them.
pub async fn user_with_token(
    store: &Arc<dyn Store>,
    email: &str,
    is_admin: bool,
) -> (Uuid, String) {
    let user = store
        .create_user(NewUser {
            email: email.into(),
            password_hash: None,
            is_admin,
        })
        .await
        .unwrap();
    let token = test_auth().jwt.issue(user.id, is_admin).unwrap();
    (user.id, token)
}

/// Serves `state` as the binary does (`Application::run_until_stopped`) on a fresh
/// `127.0.0.1:0` listener; returns its `host:port`.
pub async fn serve_addr(state: AppState) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let application = Application::from_listener(state, listener).unwrap();
    let addr = application.address();
    tokio::spawn(application.run_until_stopped());
    addr.to_string()
}

/// [`serve_addr`], returning the base URL.
pub async fn serve(state: AppState) -> String {
    format!("http://{}", serve_addr(state).await)
}

/// A server with a SQLite store in a temporary directory and the given bus.
pub async fn spawn_with_bus(bus: Arc<dyn EventBus>) -> App {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(dir.path());
    let store = open_store(&config).await.unwrap();
    let (user, token) = user_with_token(&store, "ada@cadre.test", false).await;
    let state = AppState::from_config(&config, store.clone(), bus.clone()).unwrap();
    let addr = serve_addr(state).await;
    App {
        base: format!("http://{addr}"),
        addr,
        store,
        bus,
        http: client_with(&token),
        user,
        token,
        config,
        _dir: Some(dir),
    }
}

/// A server with a SQLite store in a temporary directory and a [`MemoryBus`].
pub async fn spawn() -> App {
    spawn_with_bus(Arc::new(MemoryBus::new())).await
}

impl App {
    /// Another user's view of the same server (created on the fly).
    pub async fn as_user(&self, email: &str) -> App {
        let (user, token) = user_with_token(&self.store, email, false).await;
        App {
            addr: self.addr.clone(),
            base: self.base.clone(),
            store: self.store.clone(),
            bus: self.bus.clone(),
            http: client_with(&token),
            user,
            token,
            config: self.config.clone(),
            _dir: None,
        }
    }

    /// The state of another server over the same store, with a bus of its own, started
    /// from this app's settings as changed by `change`.
    pub fn state_with(&self, change: impl FnOnce(&mut ServiceConfig)) -> AppState {
        let mut config = self.config.clone();
        change(&mut config);
        AppState::from_config(&config, self.store.clone(), Arc::new(MemoryBus::new())).unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// An in-process worker on this app's store and bus, choosing models with `models`;
    /// cancel the token to stop it, then await the handle.
    pub fn start_worker(
        &self,
        models: impl ModelFactory + 'static,
        config: WorkerConfig,
    ) -> (
        tokio_util::sync::CancellationToken,
        tokio::task::JoinHandle<()>,
    ) {
        let worker = Worker::new(
            self.store.clone(),
            self.bus.clone(),
            Arc::new(models),
            None,
            config,
        );
        let shutdown = tokio_util::sync::CancellationToken::new();
        let handle = tokio::spawn({
            let shutdown = shutdown.clone();
            async move { worker.run(shutdown).await }
        });
        (shutdown, handle)
    }

    /// `POST /api/v1/runs` with the `demo` model; asserts 202 and returns the run.
    pub async fn create_run(&self, task: &str) -> Value {
        let response = self
            .http
            .post(self.url("/api/v1/runs"))
            .json(&json!({"task": task, "model": "demo"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        response.json().await.unwrap()
    }

    /// Creates a run from a whole request body; returns its id.
    pub async fn create_run_with(&self, body: Value) -> String {
        let response = self
            .http
            .post(self.url("/api/v1/runs"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let run: Value = response.json().await.unwrap();
        run["id"].as_str().unwrap().to_string()
    }

    /// [`App::create_run`], returning only the run's id.
    pub async fn create_run_id(&self, task: &str) -> Uuid {
        run_id(&self.create_run(task).await)
    }

    /// `GET path`, expecting a JSON body.
    pub async fn get_json(&self, path: &str) -> (StatusCode, Value) {
        let response = self.http.get(self.url(path)).send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    /// Waits (up to 15 s) until run `id` has `count` events of type `kind`, as a worker
    /// writes them; returns all the run's events.
    pub async fn wait_for_events(&self, id: &str, kind: &str, count: usize) -> Vec<Value> {
        let started = std::time::Instant::now();
        loop {
            let (status, page) = self
                .get_json(&format!("/api/v1/runs/{id}/events?after=0&limit=1000"))
                .await;
            assert_eq!(status, StatusCode::OK, "{page}");
            let events = page["events"].as_array().unwrap().clone();
            if events.iter().filter(|e| e["type"] == kind).count() >= count {
                return events;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(15),
                "no {count} {kind} events: {events:#?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        }
    }

    /// Run `id`'s `finished` event, once a worker wrote it.
    pub async fn finished_event(&self, id: &str) -> Value {
        let events = self.wait_for_events(id, "finished", 1).await;
        events
            .into_iter()
            .find(|e| e["type"] == "finished")
            .unwrap()
    }

    /// The audit log's event names, newest first (at most `limit`).
    pub async fn audit_events(&self, limit: u32) -> Vec<String> {
        self.store
            .list_audit(limit, None)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.event)
            .collect()
    }

    /// Appends one event through the store (without publishing it).
    pub async fn persist(&self, run_id: Uuid, seq: u64, kind: EventKind) -> RunEvent {
        let event = event(run_id, seq, kind);
        self.store
            .append_events(run_id, std::slice::from_ref(&event))
            .await
            .unwrap();
        event
    }

    /// What a worker does with a durable event: persist, then publish.
    pub async fn emit(&self, run_id: Uuid, seq: u64, kind: EventKind) -> RunEvent {
        let event = self.persist(run_id, seq, kind).await;
        self.bus.publish(&event).await.unwrap();
        event
    }
}

/// The id of a run as returned by the API.
pub fn run_id(run: &Value) -> Uuid {
    run["id"].as_str().unwrap().parse().unwrap()
}

pub fn event(run_id: Uuid, seq: u64, kind: EventKind) -> RunEvent {
    RunEvent {
        seq,
        run_id,
        at: chrono::Utc::now(),
        kind,
    }
}

/// An info `log` event saying `event {seq}`.
pub fn log(seq: u64) -> EventKind {
    EventKind::Log {
        level: LogLevel::Info,
        message: format!("event {seq}"),
    }
}

/// A completed `finished` event.
pub fn finished() -> EventKind {
    EventKind::Finished {
        status: RunStatus::Completed,
        summary: "done".into(),
        reason: StopReason::TextMention,
        usage: UsageTotals::default(),
    }
}

/// A `message_delta` of message `m1` by agent `a`.
pub fn delta(text: &str) -> EventKind {
    EventKind::MessageDelta {
        message_id: "m1".into(),
        agent: "a".into(),
        delta: text.into(),
    }
}

/// Asserts our error shape: `{"error": {"code": code, "message": <non-empty>}}`.
pub fn assert_error(body: &Value, code: &str) {
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

/// Captures the log lines of the current thread at debug level until dropped. Use it in
/// `current_thread` tests, so that the server and worker tasks log on that thread too.
pub struct CapturedLogs {
    buffer: Arc<std::sync::Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

#[derive(Clone)]
struct LogBuffer(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLogs {
    /// Starts capturing.
    pub fn start() -> Self {
        let buffer = Arc::new(std::sync::Mutex::new(Vec::new()));
        let writer = LogBuffer(buffer.clone());
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || writer.clone())
            .finish();
        Self {
            buffer,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }

    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buffer.lock().unwrap()).into_owned()
    }
}
