//! A real local HTTP server speaking the OpenAI chat-completions protocol, for tests and
//! benchmarks (feature `fake-server`).
//!
//! This module owns [`FakeOpenAi`] and the [`FakeReply`] scripts it plays. It listens on
//! `127.0.0.1` with an ephemeral port, answers `POST /v1/chat/completions` (and `GET
//! /v1/models` with the list set by [`FakeOpenAi::set_models`]) and records every request, so callers exercise the real client, the real HTTP stack and the real
//! SSE parser. Replies can reproduce the dialects of real providers (comment lines, empty
//! `finish_reason`, `usage: {}`, missing ids, tool calls split over chunks, errors inside
//! the stream…) and their failures (status codes with `Retry-After`, hangs, slow chunks,
//! connections dropped mid-stream).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use cadre_llm::fake_server::{FakeOpenAi, FakeReply};
//!
//! let server = FakeOpenAi::start(vec![
//!     FakeReply::status(429, r#"{"error": {"message": "slow down"}}"#).retry_after(1),
//!     FakeReply::text("Hello, world!").usage(12, 4),
//! ])
//! .await?;
//! // Point an `LlmConfig` at `server.base_url()`, call it, then inspect
//! // `server.requests()` and `server.reported_usage()`.
//! # Ok(()) }
//! ```
//!
//! Replies are taken from the queue in order; a reply made with
//! [`FakeReply::when_contains`] is only taken by a request whose messages contain its
//! text, which keeps tests deterministic when calls arrive concurrently in any order. When
//! no queued reply fits, the responder set with [`FakeOpenAi::set_responder`] or the
//! default reply ([`FakeOpenAi::set_default`]) answers.

use std::collections::VecDeque;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use cadre_core::Usage;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// Computes the reply to a request from its JSON body.
pub type Responder = Arc<dyn Fn(&Value) -> FakeReply + Send + Sync>;

/// A running fake OpenAI-compatible server. Stops when dropped.
pub struct FakeOpenAi {
    addr: SocketAddr,
    state: Arc<ServerState>,
}

impl fmt::Debug for FakeOpenAi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeOpenAi")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// One request the server received.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedRequest {
    /// The JSON body (`Value::Null` if it was not JSON).
    pub body: Value,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
}

impl ReceivedRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

struct ServerState {
    queue: Mutex<VecDeque<FakeReply>>,
    fallback: Mutex<Fallback>,
    requests: Mutex<Vec<ReceivedRequest>>,
    usage: Mutex<Usage>,
    latency: Mutex<Duration>,
    /// Ends hanging replies and the server itself when the handle is dropped.
    shutdown: CancellationToken,
    /// Numbers completion ids.
    counter: Mutex<u64>,
    /// What `GET /v1/models` lists.
    models: Mutex<Vec<String>>,
}

enum Fallback {
    Reply(FakeReply),
    Responder(Responder),
}

/// Poisoning only means another test thread panicked; the data is still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FakeOpenAi {
    /// Starts a server on `127.0.0.1` (ephemeral port) that plays `replies` in order, then
    /// the default reply.
    pub async fn start(replies: Vec<FakeReply>) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(ServerState {
            queue: Mutex::new(replies.into()),
            fallback: Mutex::new(Fallback::Reply(FakeReply::default_reply())),
            requests: Mutex::new(Vec::new()),
            usage: Mutex::new(Usage::default()),
            latency: Mutex::new(Duration::ZERO),
            shutdown: CancellationToken::new(),
            counter: Mutex::new(0),
            models: Mutex::new(vec!["fake/model-a".to_owned(), "fake/model-b".to_owned()]),
        });
        let app = Router::new()
            .route("/v1/chat/completions", post(completions))
            .route("/v1/models", get(models))
            .with_state(Arc::clone(&state));
        let shutdown = state.shutdown.clone();
        tokio::spawn(async move {
            // Streams are many small writes: without TCP_NODELAY, Nagle's algorithm and the
            // client's delayed ACKs add ~40 ms to every reply and distort latency benchmarks.
            let listener = listener.tap_io(|tcp| {
                if let Err(error) = tcp.set_nodelay(true) {
                    tracing::debug!(%error, "cannot set TCP_NODELAY");
                }
            });
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown.cancelled_owned())
                .await;
            if let Err(error) = served {
                tracing::warn!(%error, "fake OpenAI server stopped");
            }
        });
        Ok(Self { addr, state })
    }

    /// Base URL for an `LlmConfig`: `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The socket address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Adds a delay before every response (before the headers are sent), to model the
    /// latency of a remote provider.
    pub fn with_latency(self, latency: Duration) -> Self {
        self.set_latency(latency);
        self
    }

    /// Changes the delay before every response.
    pub fn set_latency(&self, latency: Duration) {
        *lock(&self.state.latency) = latency;
    }

    /// Appends a reply to the queue.
    pub fn push(&self, reply: FakeReply) {
        lock(&self.state.queue).push_back(reply);
    }

    /// The reply used when no queued reply fits (replaces any responder).
    pub fn set_default(&self, reply: FakeReply) {
        *lock(&self.state.fallback) = Fallback::Reply(reply);
    }

    /// Computes the reply to every request no queued reply fits, from the request's JSON
    /// body (replaces the default reply).
    pub fn set_responder(&self, responder: impl Fn(&Value) -> FakeReply + Send + Sync + 'static) {
        *lock(&self.state.fallback) = Fallback::Responder(Arc::new(responder));
    }

    /// JSON bodies of the requests received so far, in arrival order.
    pub fn requests(&self) -> Vec<Value> {
        lock(&self.state.requests)
            .iter()
            .map(|r| r.body.clone())
            .collect()
    }

    /// The requests received so far, with their headers.
    pub fn received(&self) -> Vec<ReceivedRequest> {
        lock(&self.state.requests).clone()
    }

    /// How many requests were received.
    pub fn request_count(&self) -> usize {
        lock(&self.state.requests).len()
    }

    /// Sets the model ids `GET /v1/models` lists (default `fake/model-a`, `fake/model-b`).
    pub fn set_models(&self, models: Vec<String>) {
        *lock(&self.state.models) = models;
    }

    /// Replies still queued.
    pub fn pending_replies(&self) -> usize {
        lock(&self.state.queue).len()
    }

    /// Sum of the usage the server reported in its successful replies (tokens, and the
    /// cost when replies reported one).
    pub fn reported_usage(&self) -> Usage {
        *lock(&self.state.usage)
    }
}

impl Drop for FakeOpenAi {
    fn drop(&mut self) {
        self.state.shutdown.cancel();
    }
}

/// A scripted answer to one request. Built with [`FakeReply::text`],
/// [`FakeReply::tool_call`], [`FakeReply::status`] or [`FakeReply::hang`], then adjusted
/// with the builder methods.
#[derive(Debug, Clone)]
pub struct FakeReply {
    condition: Option<String>,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Completion(Box<Completion>),
    Status {
        code: u16,
        body: String,
        retry_after: Option<u64>,
    },
    Hang,
}

#[derive(Debug, Clone)]
struct Completion {
    content: String,
    tool_calls: Vec<(String, String, String)>,
    usage: Option<(u64, u64)>,
    cost: Option<f64>,
    model: Option<String>,
    finish_reason: Option<String>,
    streaming: bool,
    chunk_delay: Duration,
    comments: bool,
    empty_finish_reason: bool,
    empty_usage_objects: bool,
    usage_in_last_choice: bool,
    without_ids: bool,
    content_filter_chunks: bool,
    ending: Ending,
}

#[derive(Debug, Clone)]
enum Ending {
    Done,
    DataError { code: u16, message: String },
    ErrorEvent { message: String },
    Drop,
    Hang,
}

impl FakeReply {
    fn completion(content: impl Into<String>) -> Completion {
        Completion {
            content: content.into(),
            tool_calls: Vec::new(),
            usage: None,
            cost: None,
            model: None,
            finish_reason: None,
            streaming: true,
            chunk_delay: Duration::ZERO,
            comments: false,
            empty_finish_reason: false,
            empty_usage_objects: false,
            usage_in_last_choice: false,
            without_ids: false,
            content_filter_chunks: false,
            ending: Ending::Done,
        }
    }

    fn default_reply() -> Self {
        Self::text("This is a reply from the fake LLM server.")
    }

    /// A streamed text completion: one chunk per word (whitespace kept), a finish chunk,
    /// a usage-only chunk with empty `choices` (as OpenAI sends with `include_usage`), and
    /// `data: [DONE]`. Tokens are about four characters each unless set with
    /// [`FakeReply::usage`].
    pub fn text(content: impl Into<String>) -> Self {
        Self::from_completion(Self::completion(content))
    }

    /// A streamed function call whose arguments arrive in many small chunks.
    pub fn tool_call(
        id: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> Self {
        Self::text("").and_tool_call(id, name, arguments)
    }

    /// A stream that sends no text and then `data: {"error": {"code": …, "message": …}}`
    /// (OpenRouter's form of an error after the headers).
    pub fn stream_error(code: u16, message: impl Into<String>) -> Self {
        Self::text("").then_error(code, message)
    }

    /// An HTTP error status with `body` (sent as JSON when it parses as JSON).
    pub fn status(code: u16, body: impl Into<String>) -> Self {
        Self {
            condition: None,
            kind: Kind::Status {
                code,
                body: body.into(),
                retry_after: None,
            },
        }
    }

    /// Never answers (until the server is dropped): for request timeouts.
    pub fn hang() -> Self {
        Self {
            condition: None,
            kind: Kind::Hang,
        }
    }

    /// Only answers requests whose message contents contain `needle`; other requests
    /// skip it in the queue.
    pub fn when_contains(needle: impl Into<String>, reply: FakeReply) -> Self {
        Self {
            condition: Some(needle.into()),
            ..reply
        }
    }

    fn from_completion(completion: Completion) -> Self {
        Self {
            condition: None,
            kind: Kind::Completion(Box::new(completion)),
        }
    }

    fn map(mut self, f: impl FnOnce(&mut Completion)) -> Self {
        if let Kind::Completion(c) = &mut self.kind {
            f(c);
        }
        self
    }

    /// Adds a function call (completions only).
    pub fn and_tool_call(
        self,
        id: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> Self {
        let call = (id.into(), name.into(), arguments.into());
        self.map(|c| c.tool_calls.push(call))
    }

    /// Reports these token counts instead of computed ones.
    pub fn usage(self, prompt_tokens: u64, completion_tokens: u64) -> Self {
        self.map(|c| c.usage = Some((prompt_tokens, completion_tokens)))
    }

    /// Reports `usage.cost` in USD, as OpenRouter does.
    pub fn cost(self, usd: f64) -> Self {
        self.map(|c| c.cost = Some(usd))
    }

    /// Reports this model name (default: the requested one).
    pub fn model(self, model: impl Into<String>) -> Self {
        let model = model.into();
        self.map(|c| c.model = Some(model))
    }

    /// The final `finish_reason` (default `stop`, or `tool_calls`).
    pub fn finish_reason(self, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        self.map(|c| c.finish_reason = Some(reason))
    }

    /// Answers with one `application/json` completion object despite `stream: true`.
    pub fn non_streaming(self) -> Self {
        self.map(|c| c.streaming = false)
    }

    /// Waits this long before each chunk after the first.
    pub fn chunk_delay(self, delay: Duration) -> Self {
        self.map(|c| c.chunk_delay = delay)
    }

    /// Interleaves SSE comment lines (`: OPENROUTER PROCESSING`).
    pub fn with_comments(self) -> Self {
        self.map(|c| c.comments = true)
    }

    /// Sends `finish_reason: ""` instead of `null` in the content chunks.
    pub fn empty_finish_reason(self) -> Self {
        self.map(|c| c.empty_finish_reason = true)
    }

    /// Sends `usage: {}` instead of `usage: null` in the content chunks.
    pub fn empty_usage_objects(self) -> Self {
        self.map(|c| c.empty_usage_objects = true)
    }

    /// Puts the usage in the finish chunk instead of a separate chunk with empty choices.
    pub fn usage_in_last_choice(self) -> Self {
        self.map(|c| c.usage_in_last_choice = true)
    }

    /// Omits `id`, `object`, `created` and `model` from every chunk.
    pub fn without_ids(self) -> Self {
        self.map(|c| c.without_ids = true)
    }

    /// Adds Azure-style content-filter chunks: one with empty `choices` and
    /// `prompt_filter_results`, one whose choice has no `delta`.
    pub fn with_content_filter_chunks(self) -> Self {
        self.map(|c| c.content_filter_chunks = true)
    }

    /// After the text, sends `data: {"error": {"code": code, "message": message}}` and ends
    /// the stream (no finish chunk, no usage).
    pub fn then_error(self, code: u16, message: impl Into<String>) -> Self {
        let message = message.into();
        self.map(|c| c.ending = Ending::DataError { code, message })
    }

    /// After the text, sends `event: error` with `data: {"error": {"message": …}}`.
    pub fn then_error_event(self, message: impl Into<String>) -> Self {
        let message = message.into();
        self.map(|c| c.ending = Ending::ErrorEvent { message })
    }

    /// After the text, drops the connection without ending the response.
    pub fn then_drop(self) -> Self {
        self.map(|c| c.ending = Ending::Drop)
    }

    /// After the text, stalls forever (until the server is dropped): for idle timeouts.
    pub fn then_hang(self) -> Self {
        self.map(|c| c.ending = Ending::Hang)
    }

    /// Sets `Retry-After` (seconds) on a status reply.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        if let Kind::Status { retry_after, .. } = &mut self.kind {
            *retry_after = Some(seconds);
        }
        self
    }

    fn matches(&self, haystack: &str) -> bool {
        self.condition
            .as_deref()
            .is_none_or(|needle| haystack.contains(needle))
    }
}

/// The text a [`FakeReply::when_contains`] condition is matched against: all message
/// contents, one per line.
fn message_text(body: &Value) -> String {
    body.get("messages")
        .and_then(Value::as_array)
        .map(|messages| {
            messages
                .iter()
                .filter_map(|m| m.get("content").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

/// About four characters per token: deterministic and close enough for accounting tests.
fn estimate_tokens(chars: usize) -> u64 {
    chars.div_ceil(4) as u64
}

fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// `GET /v1/models`, in OpenAI's list shape; recorded like completions (body `null`).
async fn models(State(state): State<Arc<ServerState>>, headers: HeaderMap) -> Response {
    lock(&state.requests).push(ReceivedRequest {
        body: Value::Null,
        headers: header_pairs(&headers),
    });
    let data: Vec<Value> = lock(&state.models)
        .iter()
        .map(|id| json!({"id": id, "object": "model", "owned_by": "fake"}))
        .collect();
    axum::Json(json!({"object": "list", "data": data})).into_response()
}

async fn completions(
    State(state): State<Arc<ServerState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    lock(&state.requests).push(ReceivedRequest {
        body: json.clone(),
        headers: header_pairs(&headers),
    });
    if json.is_null() {
        return error_response(StatusCode::BAD_REQUEST, "request body is not JSON");
    }
    let reply = pick_reply(&state, &json);

    let latency = *lock(&state.latency);
    if !latency.is_zero() {
        tokio::select! {
            () = state.shutdown.cancelled() => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
            () = tokio::time::sleep(latency) => {}
        }
    }

    match reply.kind {
        Kind::Hang => {
            state.shutdown.cancelled().await;
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
        Kind::Status {
            code,
            body,
            retry_after,
        } => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let content_type = if serde_json::from_str::<Value>(&body).is_ok() {
                "application/json"
            } else {
                "text/plain; charset=utf-8"
            };
            let mut response =
                (status, [(header::CONTENT_TYPE, content_type)], body).into_response();
            if let Some(secs) = retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            response
        }
        Kind::Completion(completion) => {
            let id = {
                let mut counter = lock(&state.counter);
                *counter += 1;
                format!("chatcmpl-fake-{counter}")
            };
            let model = completion
                .model
                .clone()
                .or_else(|| json.get("model").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_else(|| "fake-model".to_owned());
            let usage = completion.usage.unwrap_or_else(|| {
                let completion_chars = completion.content.chars().count()
                    + completion
                        .tool_calls
                        .iter()
                        .map(|(_, name, args)| name.len() + args.len())
                        .sum::<usize>();
                (
                    estimate_tokens(message_text(&json).chars().count()).max(1),
                    estimate_tokens(completion_chars).max(1),
                )
            });
            if matches!(completion.ending, Ending::Done) {
                lock(&state.usage).add(&Usage {
                    prompt_tokens: usage.0,
                    completion_tokens: usage.1,
                    cost_usd: completion.cost,
                });
            }
            if completion.streaming {
                stream_response(&completion, &id, &model, usage, state.shutdown.clone())
            } else {
                json_response(&completion, &id, &model, usage)
            }
        }
    }
}

fn pick_reply(state: &ServerState, request: &Value) -> FakeReply {
    let text = message_text(request);
    {
        let mut queue = lock(&state.queue);
        if let Some(pos) = queue.iter().position(|r| r.matches(&text))
            && let Some(reply) = queue.remove(pos)
        {
            return reply;
        }
    }
    match &*lock(&state.fallback) {
        Fallback::Reply(reply) => reply.clone(),
        Fallback::Responder(responder) => {
            let responder = Arc::clone(responder);
            responder(request)
        }
    }
}

fn error_response(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"message": message, "code": status.as_u16()}})),
    )
        .into_response()
}

fn usage_json(usage: (u64, u64), cost: Option<f64>) -> Value {
    let mut value = json!({
        "prompt_tokens": usage.0,
        "completion_tokens": usage.1,
        "total_tokens": usage.0 + usage.1,
    });
    if let (Some(cost), Some(map)) = (cost, value.as_object_mut()) {
        map.insert("cost".into(), json!(cost));
    }
    value
}

fn finish_reason(completion: &Completion) -> String {
    completion.finish_reason.clone().unwrap_or_else(|| {
        if completion.tool_calls.is_empty() {
            "stop".to_owned()
        } else {
            "tool_calls".to_owned()
        }
    })
}

fn json_response(completion: &Completion, id: &str, model: &str, usage: (u64, u64)) -> Response {
    let mut message = json!({"role": "assistant", "content": completion.content});
    if !completion.tool_calls.is_empty() {
        message["tool_calls"] = completion
            .tool_calls
            .iter()
            .map(|(id, name, args)| {
                json!({"id": id, "type": "function", "function": {"name": name, "arguments": args}})
            })
            .collect();
    }
    let body = json!({
        "id": id,
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason(completion)}],
        "usage": usage_json(usage, completion.cost),
    });
    axum::Json(body).into_response()
}

/// One piece of a streamed body.
enum Frame {
    Bytes(String),
    Drop,
    Hang,
}

fn stream_response(
    completion: &Completion,
    id: &str,
    model: &str,
    usage: (u64, u64),
    shutdown: CancellationToken,
) -> Response {
    let frames = stream_frames(completion, id, model, usage);
    let delay = completion.chunk_delay;
    let body = futures::stream::unfold((frames.into_iter(), true), move |(mut frames, first)| {
        let shutdown = shutdown.clone();
        async move {
            let frame = frames.next()?;
            if !first && !delay.is_zero() {
                tokio::select! {
                    () = shutdown.cancelled() => return None,
                    () = tokio::time::sleep(delay) => {}
                }
            }
            match frame {
                Frame::Bytes(text) => Some((Ok(Bytes::from(text)), (frames, false))),
                // An error from the body stream makes hyper abort the connection
                // without the terminating chunk: what a crashed upstream looks like.
                Frame::Drop => {
                    // The pause lets hyper flush the frames before it, which it would
                    // otherwise discard with the connection.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Some((
                        Err(std::io::Error::new(
                            std::io::ErrorKind::ConnectionAborted,
                            "fake server dropped the connection",
                        )),
                        (frames, false),
                    ))
                }
                Frame::Hang => {
                    shutdown.cancelled().await;
                    None
                }
            }
        }
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(body))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn stream_frames(completion: &Completion, id: &str, model: &str, usage: (u64, u64)) -> Vec<Frame> {
    let c = completion;
    let chunk = |choices: Value, extra: Option<(&str, Value)>| {
        let mut value = if c.without_ids {
            json!({"choices": choices})
        } else {
            json!({
                "id": id,
                "object": "chat.completion.chunk",
                "created": 1_700_000_000,
                "model": model,
                "choices": choices,
            })
        };
        if let (Some((key, extra)), Some(map)) = (extra, value.as_object_mut()) {
            map.insert(key.to_owned(), extra);
        }
        Frame::Bytes(format!("data: {value}\n\n"))
    };
    let in_progress_usage = || {
        Some((
            "usage",
            if c.empty_usage_objects {
                json!({})
            } else {
                Value::Null
            },
        ))
    };
    let pending_reason = if c.empty_finish_reason {
        json!("")
    } else {
        Value::Null
    };
    let comment = || Frame::Bytes(": OPENROUTER PROCESSING\n\n".to_owned());

    let mut frames = Vec::new();
    if c.comments {
        frames.push(comment());
    }
    if c.content_filter_chunks {
        frames.push(Frame::Bytes(format!(
            "data: {}\n\n",
            json!({"id": "", "object": "", "created": 0, "model": "", "choices": [],
                   "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}]})
        )));
    }
    frames.push(chunk(
        json!([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": pending_reason}]),
        in_progress_usage(),
    ));
    for (i, piece) in c.content.split_inclusive(char::is_whitespace).enumerate() {
        if c.comments && i % 2 == 1 {
            frames.push(comment());
        }
        frames.push(chunk(
            json!([{"index": 0, "delta": {"content": piece}, "finish_reason": pending_reason}]),
            in_progress_usage(),
        ));
    }
    for (index, (call_id, name, arguments)) in c.tool_calls.iter().enumerate() {
        frames.push(chunk(
            json!([{"index": 0, "delta": {"tool_calls": [{"index": index, "id": call_id, "type": "function",
                    "function": {"name": name, "arguments": ""}}]}, "finish_reason": pending_reason}]),
            in_progress_usage(),
        ));
        let chars: Vec<char> = arguments.chars().collect();
        for piece in chars.chunks(7) {
            let piece: String = piece.iter().collect();
            frames.push(chunk(
                json!([{"index": 0, "delta": {"tool_calls": [{"index": index, "function": {"arguments": piece}}]},
                        "finish_reason": pending_reason}]),
                in_progress_usage(),
            ));
        }
    }
    if c.content_filter_chunks {
        frames.push(chunk(
            json!([{"index": 0, "finish_reason": null,
                    "content_filter_results": {"hate": {"filtered": false, "severity": "safe"}}}]),
            None,
        ));
    }

    match &c.ending {
        Ending::Done => {
            let finish = json!([{"index": 0, "delta": {}, "finish_reason": finish_reason(c)}]);
            let usage = usage_json(usage, c.cost);
            if c.usage_in_last_choice {
                frames.push(chunk(finish, Some(("usage", usage))));
            } else {
                frames.push(chunk(finish, None));
                if c.comments {
                    frames.push(comment());
                }
                frames.push(chunk(json!([]), Some(("usage", usage))));
            }
            frames.push(Frame::Bytes("data: [DONE]\n\n".to_owned()));
        }
        Ending::DataError { code, message } => {
            let error = json!({"error": {"code": code, "message": message}});
            frames.push(Frame::Bytes(format!("data: {error}\n\n")));
        }
        Ending::ErrorEvent { message } => {
            let error = json!({"error": {"message": message}});
            frames.push(Frame::Bytes(format!("event: error\ndata: {error}\n\n")));
        }
        Ending::Drop => frames.push(Frame::Drop),
        Ending::Hang => frames.push(Frame::Hang),
    }
    frames
}
