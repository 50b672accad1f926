//! The one OpenAI-compatible chat-completions client.
//!
//! This module owns the wire format (`POST {base_url}/chat/completions` with
//! `stream: true`), which never leaves it, and the rules for talking to real providers:
//!
//! - **Dialects.** OpenRouter, OpenAI, Ollama, vLLM and LM Studio differ in small ways:
//!   SSE comment lines, `finish_reason: ""`, `usage: {}`, usage only in a final chunk with
//!   no choices, missing `id`/`model`, tool-call arguments split over many chunks, errors
//!   inside the stream, content-filter chunks without `delta`, or a plain JSON body
//!   despite `stream: true`. Every optional field is optional here.
//! - **Retries.** 408, 429, 5xx, transport failures and timeouts are retried with
//!   exponential backoff and jitter (or the server's `Retry-After`), but never once text
//!   has been handed to the caller: a retry would repeat it.
//! - **Timeouts and cancellation.** One timeout for the response headers, one for silence
//!   between chunks; cancelling drops the in-flight request at once.
//! - **Secrets.** The key only travels in a sensitive `Authorization` header; errors name
//!   the endpoint without credentials.

use std::collections::BTreeMap;
use std::error::Error as _;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use cadre_core::model::{DeltaSink, ToolCall, ToolDefinition};
use cadre_core::{ChatMessage, ChatModel, ChatRequest, ChatResponse, ModelError, Role, Usage};
use eventsource_stream::{EventStreamError, Eventsource};
use futures::{Stream, StreamExt, stream};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Response, StatusCode};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::config::LlmConfig;

/// Longest wait a server's `Retry-After` may impose; longer values are capped rather than
/// obeyed so a run does not stall for minutes.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// Ceiling of the exponential backoff.
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// How much of a non-JSON error body goes into a message.
const MAX_BODY_IN_MESSAGE: usize = 300;

/// A [`ChatModel`] for any OpenAI-compatible chat-completions API (OpenRouter, OpenAI,
/// Ollama, vLLM, LM Studio…). Cheap to share: one connection pool serves all calls.
#[derive(Debug, Clone)]
pub struct OpenAiClient {
    http: reqwest::Client,
    config: LlmConfig,
    url: String,
    /// Base URL without credentials, for errors and logs.
    endpoint: String,
}

impl OpenAiClient {
    /// Builds the client. Fails with [`ModelError::Config`] when the key or an extra
    /// header cannot be sent as an HTTP header, or the base URL is malformed.
    pub fn new(config: LlmConfig) -> Result<Self, ModelError> {
        let mut headers = HeaderMap::new();
        if let Some(key) = &config.api_key {
            let mut value =
                HeaderValue::from_str(&format!("Bearer {}", key.expose())).map_err(|_| {
                    ModelError::Config(
                        "the API key contains characters that cannot be sent in an HTTP header"
                            .into(),
                    )
                })?;
            // Keeps the value out of reqwest's and hyper's debug output.
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        for (name, value) in &config.extra_headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| ModelError::Config(format!("invalid HTTP header name `{name}`")))?;
            let value = HeaderValue::from_str(value).map_err(|_| {
                ModelError::Config(format!("invalid value for HTTP header `{name}`"))
            })?;
            headers.insert(name, value);
        }
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .map_err(|e| ModelError::Config(format!("cannot build the HTTP client: {e}")))?;
        let endpoint = config.endpoint();
        let url = reqwest::Url::parse(&format!(
            "{}/chat/completions",
            config.base_url.trim_end_matches('/')
        ))
        .map_err(|e| ModelError::Config(format!("invalid LLM base URL `{endpoint}`: {e}")))?;
        Ok(Self {
            http,
            url: url.to_string(),
            endpoint,
            config,
        })
    }

    /// The configuration this client was built with.
    pub fn config(&self) -> &LlmConfig {
        &self.config
    }

    /// The ids of the models the server offers (`GET {base_url}/models`, OpenAI's list
    /// shape), sorted, without retries: a model picker can do without. Errors never
    /// contain the key.
    pub async fn list_models(&self) -> Result<Vec<String>, ModelError> {
        #[derive(Deserialize)]
        struct ModelList {
            data: Vec<ModelEntry>,
        }
        #[derive(Deserialize)]
        struct ModelEntry {
            id: String,
        }
        let url = format!("{}/models", self.config.base_url.trim_end_matches('/'));
        let send = self.http.get(&url).send();
        let response = match tokio::time::timeout(self.config.request_timeout, send).await {
            Err(_) => {
                return Err(ModelError::Timeout(format!(
                    "no model list from {} within {:?}",
                    self.endpoint, self.config.request_timeout
                )));
            }
            Ok(Err(error)) => return Err(self.redact(self.transport_error(error))),
            Ok(Ok(response)) => response,
        };
        if !response.status().is_success() {
            let failure = self.status_error(response, "(model list)").await;
            return Err(self.redact(failure.error));
        }
        let body = self
            .read_body(response)
            .await
            .map_err(|failure| self.redact(failure.error))?;
        let list: ModelList = serde_json::from_str(&body).map_err(|error| {
            ModelError::InvalidResponse(format!(
                "the model list from {} is not OpenAI's shape: {error}",
                self.endpoint
            ))
        })?;
        let mut ids: Vec<String> = list.data.into_iter().map(|entry| entry.id).collect();
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    /// Exponential backoff with jitter before retry number `retry` (1-based): about
    /// `retry_backoff * 2^(retry-1)`, between half and all of it, capped.
    fn backoff(&self, retry: u32) -> Duration {
        let exp = self
            .config
            .retry_backoff
            .saturating_mul(1u32 << (retry.saturating_sub(1)).min(16))
            .min(MAX_BACKOFF);
        // Jitter spreads the retries of concurrent calls hit by the same rate limit.
        exp.mul_f64(0.5 + fastrand::f64() * 0.5)
    }

    /// One HTTP exchange. `emitted` is set as soon as a delta reached the caller.
    async fn attempt(
        &self,
        body: &[u8],
        model: &str,
        on_delta: DeltaSink<'_>,
        emitted: &mut bool,
    ) -> Result<ChatResponse, Failure> {
        let send = self
            .http
            .post(&self.url)
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_vec())
            .send();
        let response = match tokio::time::timeout(self.config.request_timeout, send).await {
            Err(_) => {
                return Err(Failure::from(ModelError::Timeout(format!(
                    "no response from {} within {:?}",
                    self.endpoint, self.config.request_timeout
                ))));
            }
            Ok(Err(e)) => return Err(self.transport_error(e).into()),
            Ok(Ok(response)) => response,
        };

        let status = response.status();
        if !status.is_success() {
            return Err(self.status_error(response, model).await);
        }
        let is_json = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.contains("json"));
        let mut assembly = Assembly::new(&self.config, model);
        if is_json {
            // Some servers ignore `stream: true` and answer with one completion object.
            let text = self.read_body(response).await?;
            let chunk: Chunk = serde_json::from_str(&text).map_err(|e| {
                Failure::from(ModelError::InvalidResponse(format!(
                    "cannot parse the JSON response: {e}: {}",
                    truncate(&text)
                )))
            })?;
            assembly.apply(chunk, on_delta, emitted)?;
            return assembly.finish().map_err(Failure::from);
        }

        read_events(
            response.bytes_stream(),
            assembly,
            &self.endpoint,
            |e| self.transport_error(e),
            on_delta,
            emitted,
        )
        .await
    }

    /// Turns an unsuccessful status into an error carrying the provider's own message.
    async fn status_error(&self, response: Response, model: &str) -> Failure {
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|secs| secs.is_finite() && *secs >= 0.0)
            .map(|secs| Duration::from_secs_f64(secs).min(MAX_RETRY_AFTER));
        let body = match self.read_body(response).await {
            Ok(body) => body,
            Err(failure) => return failure,
        };
        let provider_message = error_message(&body)
            .map(|(message, _)| message)
            .or_else(|| (!body.trim().is_empty()).then(|| truncate(&body)))
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
        let lower = provider_message.to_ascii_lowercase();
        let about_model = lower.contains("model")
            && [
                "not found",
                "not exist",
                "invalid model",
                "not a valid model",
                "unknown model",
            ]
            .iter()
            .any(|p| lower.contains(p));
        let message = if about_model {
            format!(
                "model `{model}` is not available at {}: {provider_message}",
                self.endpoint
            )
        } else if status == StatusCode::NOT_FOUND {
            format!(
                "not found: model `{model}` at {}/chat/completions (check the model name, and \
                 that the base URL ends with /v1): {provider_message}",
                self.endpoint
            )
        } else if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            let var = self
                .config
                .provider
                .key_var()
                .unwrap_or("CADRE_LLM_API_KEY");
            format!("{provider_message} (check the API key in {var})")
        } else {
            provider_message
        };
        let retryable = status == StatusCode::REQUEST_TIMEOUT
            || status == StatusCode::TOO_MANY_REQUESTS
            || status.is_server_error();
        Failure {
            error: ModelError::Provider {
                status: Some(status.as_u16()),
                message,
                retryable,
            },
            retry_after,
        }
    }

    async fn read_body(&self, response: Response) -> Result<String, Failure> {
        match tokio::time::timeout(self.config.idle_timeout, response.text()).await {
            Err(_) => Err(ModelError::Timeout(format!(
                "the response body from {} was idle for {:?}",
                self.endpoint, self.config.idle_timeout
            ))
            .into()),
            Ok(Err(e)) => Err(self.transport_error(e).into()),
            Ok(Ok(text)) => Ok(text),
        }
    }

    /// Some providers echo the key they rejected; it must not reach users or logs.
    fn redact(&self, error: ModelError) -> ModelError {
        let Some(key) = self.config.api_key.as_ref().map(|k| k.expose()) else {
            return error;
        };
        if key.len() < 4 {
            return error;
        }
        let scrub = |text: String| text.replace(key, "[redacted]");
        match error {
            ModelError::Provider {
                status,
                message,
                retryable,
            } => ModelError::Provider {
                status,
                message: scrub(message),
                retryable,
            },
            ModelError::InvalidResponse(message) => ModelError::InvalidResponse(scrub(message)),
            ModelError::Unreachable { endpoint, message } => ModelError::Unreachable {
                endpoint,
                message: scrub(message),
            },
            other => other,
        }
    }

    fn transport_error(&self, error: reqwest::Error) -> ModelError {
        if error.is_timeout() {
            return ModelError::Timeout(format!("{} did not answer in time", self.endpoint));
        }
        // reqwest's top-level message is generic; the cause ("connection refused") is in
        // the source chain. The URL is dropped: it may hold credentials, and the
        // endpoint is already part of the error.
        let error = error.without_url();
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            let text = cause.to_string();
            if !message.contains(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            source = cause.source();
        }
        ModelError::Unreachable {
            endpoint: self.endpoint.clone(),
            message,
        }
    }
}

#[async_trait]
impl ChatModel for OpenAiClient {
    fn model_name(&self) -> &str {
        &self.config.model
    }

    fn provider_name(&self) -> &str {
        self.config.provider.name()
    }

    async fn chat(
        &self,
        request: ChatRequest,
        on_delta: DeltaSink<'_>,
        cancel: &CancellationToken,
    ) -> Result<ChatResponse, ModelError> {
        let model = request
            .model
            .clone()
            .unwrap_or_else(|| self.config.model.clone());
        let encode = |include_usage: bool| {
            serde_json::to_vec(&WireRequest::new(&request, &model, include_usage))
                .map_err(|e| ModelError::InvalidResponse(format!("cannot encode the request: {e}")))
        };
        let mut body = encode(true)?;
        let mut include_usage = true;
        let purpose = request.purpose.label();
        let mut attempt: u32 = 0;
        let started = tokio::time::Instant::now();
        loop {
            attempt += 1;
            debug!(attempt, %model, %purpose, endpoint = %self.endpoint, "chat completion attempt");
            let mut emitted = false;
            let outcome = tokio::select! {
                biased;
                () = cancel.cancelled() => return Err(ModelError::Cancelled),
                outcome = self.attempt(&body, &model, &mut *on_delta, &mut emitted) => outcome,
            };
            let failure = match outcome {
                Ok(response) => return Ok(response),
                Err(failure) => failure,
            };
            let failure = Failure {
                error: self.redact(failure.error),
                ..failure
            };
            // Some servers (older vLLM, some Azure API versions) reject `stream_options`;
            // without it they still answer, only without usage.
            if include_usage
                && !emitted
                && matches!(&failure.error, ModelError::Provider { status: Some(400 | 422), message, .. }
                    if message.contains("stream_options"))
            {
                debug!(%model, %purpose, "server rejects stream_options; retrying without it");
                include_usage = false;
                body = encode(false)?;
                attempt -= 1;
                continue;
            }
            let delay = failure.retry_after.unwrap_or_else(|| self.backoff(attempt));
            // Rate limits get a time budget, not just a count: waiting out a provider's
            // minute costs less than failing a run that has come far.
            let within_budget = failure.error.is_rate_limit()
                && started.elapsed() + delay <= self.config.rate_limit_budget;
            // A response that is not a completion at all (an HTML page from a gateway, a
            // truncated body) is asked again too while nothing has streamed: a flaky
            // proxy is far more common than an endpoint that only ever answers garbage,
            // which still fails, after the retries, with the same message.
            let worth_retrying = failure.error.retryable()
                || matches!(failure.error, ModelError::InvalidResponse(_));
            if emitted || !worth_retrying || (attempt > self.config.max_retries && !within_budget) {
                debug!(attempt, %model, %purpose, error = %failure.error, emitted, "chat completion failed");
                return Err(failure.error);
            }
            debug!(
                attempt,
                %model,
                %purpose,
                error = %failure.error,
                delay_ms = delay.as_millis() as u64,
                "retrying chat completion"
            );
            tokio::select! {
                biased;
                () = cancel.cancelled() => return Err(ModelError::Cancelled),
                () = tokio::time::sleep(delay) => {}
            }
        }
    }
}

/// A failed attempt, with the server's requested delay before the next one.
#[derive(Debug)]
struct Failure {
    error: ModelError,
    retry_after: Option<Duration>,
}

impl From<ModelError> for Failure {
    fn from(error: ModelError) -> Self {
        Self {
            error,
            retry_after: None,
        }
    }
}

/// Reads the body of a streamed completion (server-sent events, each `data:` a [`Chunk`])
/// into `assembly`, handing text deltas to `on_delta` as they arrive.
///
/// Independent of HTTP so the fuzz target can drive it with arbitrary bytes split at
/// arbitrary points: `transport_error` maps the byte stream's own errors. The idle timeout
/// is the one of `assembly`'s configuration and applies between events.
async fn read_events<S, E>(
    bytes: S,
    mut assembly: Assembly<'_>,
    endpoint: &str,
    transport_error: impl Fn(E) -> ModelError,
    on_delta: DeltaSink<'_>,
    emitted: &mut bool,
) -> Result<ChatResponse, Failure>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: std::fmt::Display,
{
    let idle_timeout = assembly.config.idle_timeout;
    let mut events = std::pin::pin!(without_leading_bom(bytes).eventsource());
    loop {
        let next = tokio::time::timeout(idle_timeout, events.next()).await;
        let event = match next {
            Err(_) => {
                return Err(ModelError::Timeout(format!(
                    "the stream from {endpoint} was idle for {idle_timeout:?}"
                ))
                .into());
            }
            Ok(None) => break,
            Ok(Some(Err(EventStreamError::Transport(e)))) => {
                let error = match transport_error(e) {
                    ModelError::Unreachable { endpoint, message } => ModelError::Unreachable {
                        endpoint,
                        message: format!("connection lost mid-response ({message})"),
                    },
                    other => other,
                };
                return Err(error.into());
            }
            Ok(Some(Err(e))) => {
                return Err(ModelError::InvalidResponse(format!("malformed stream: {e}")).into());
            }
            Ok(Some(Ok(event))) => event,
        };
        let data = event.data.trim();
        if event.event == "error" {
            return Err(stream_error(data));
        }
        if data.is_empty() {
            continue;
        }
        if data == "[DONE]" {
            assembly.done = true;
            break;
        }
        match serde_json::from_str::<Chunk>(data) {
            Ok(chunk) => assembly.apply(chunk, on_delta, emitted)?,
            Err(e) => warn!(error = %e, "skipping an unparseable stream chunk"),
        }
    }
    assembly.finish().map_err(Failure::from)
}

/// The UTF-8 byte-order mark, which the SSE format allows before the first event.
const BOM: &[u8] = "\u{feff}".as_bytes();

/// `bytes` without the byte-order mark(s) at its start, even when split over chunks.
///
/// eventsource-stream 0.2.3 strips a leading BOM itself but slices it off as one byte (it
/// is three), which panics, so it must never see one. A second BOM right after the first
/// goes too, as it would reach the same slice (the format makes it part of the first
/// field's name instead, which drops that line; no server sends two).
fn without_leading_bom<S, E>(bytes: S) -> impl Stream<Item = Result<Bytes, E>>
where
    S: Stream<Item = Result<Bytes, E>>,
{
    // `Some(bytes held back)` while they may still be (the start of) a BOM.
    let start = (Box::pin(bytes.fuse()), Some(Vec::new()));
    stream::unfold(start, |(mut bytes, head)| async move {
        let Some(mut head) = head else {
            let item = bytes.next().await?;
            return Some((item, (bytes, None)));
        };
        loop {
            match bytes.next().await {
                Some(Ok(chunk)) => {
                    head.extend_from_slice(&chunk);
                    while head.starts_with(BOM) {
                        head.drain(..BOM.len());
                    }
                    if BOM.starts_with(&head) {
                        continue;
                    }
                    return Some((Ok(Bytes::from(head)), (bytes, None)));
                }
                // Held-back bytes are at most an incomplete BOM: the error ends the stream
                // either way.
                Some(Err(e)) => return Some((Err(e), (bytes, None))),
                None if head.is_empty() => return None,
                // An incomplete BOM at the very end: passed on, for the UTF-8 error.
                None => return Some((Ok(Bytes::from(head)), (bytes, None))),
            }
        }
    })
}

/// An error reported inside the stream, as `data: {"error": …}` or `event: error`.
fn stream_error(data: &str) -> Failure {
    let (message, code) = error_message(data).unwrap_or_else(|| {
        let text = if data.is_empty() {
            "error event without details".to_owned()
        } else {
            truncate(data)
        };
        (text, None)
    });
    ModelError::Provider {
        status: None,
        message,
        retryable: code.is_some_and(|c| c == 408 || c == 429 || c >= 500),
    }
    .into()
}

/// The provider's message (and numeric code, if any) from an error body:
/// `{"error": {"message": …, "code": …}}`, `{"error": "…"}` or `{"message": …}`.
fn error_message(body: &str) -> Option<(String, Option<u64>)> {
    let value: serde_json::Value = serde_json::from_str(body.trim()).ok()?;
    let error = value.get("error").unwrap_or(&value);
    let message = match error {
        serde_json::Value::String(s) => s.clone(),
        _ => error
            .get("message")
            .or_else(|| error.get("detail"))
            .and_then(|m| m.as_str())?
            .to_owned(),
    };
    let code = error.get("code").and_then(|c| {
        c.as_u64()
            .or_else(|| c.as_str().and_then(|s| s.parse().ok()))
    });
    // OpenRouter puts the upstream provider's own words in metadata.raw.
    let raw = error
        .get("metadata")
        .and_then(|m| m.get("raw"))
        .and_then(|r| r.as_str())
        .filter(|raw| !raw.is_empty() && !message.contains(*raw));
    let message = match raw {
        Some(raw) => format!("{message} ({})", truncate(raw)),
        None => message,
    };
    Some((message, code))
}

fn truncate(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(MAX_BODY_IN_MESSAGE) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// The response being assembled from chunks.
struct Assembly<'a> {
    config: &'a LlmConfig,
    requested_model: &'a str,
    reported_model: Option<String>,
    content: String,
    tool_calls: BTreeMap<usize, ToolCall>,
    finish_reason: Option<String>,
    usage: Option<WireUsage>,
    done: bool,
}

impl<'a> Assembly<'a> {
    fn new(config: &'a LlmConfig, requested_model: &'a str) -> Self {
        Self {
            config,
            requested_model,
            reported_model: None,
            content: String::new(),
            tool_calls: BTreeMap::new(),
            finish_reason: None,
            usage: None,
            done: false,
        }
    }

    fn apply(
        &mut self,
        chunk: Chunk,
        on_delta: &mut (dyn FnMut(&str) + Send),
        emitted: &mut bool,
    ) -> Result<(), Failure> {
        if let Some(error) = chunk.error {
            return Err(stream_error(&error.to_string()));
        }
        if let Some(model) = chunk.model.filter(|m| !m.is_empty()) {
            self.reported_model = Some(model);
        }
        // `usage: {}` and all-null usage objects carry nothing; a later chunk has the real one.
        if let Some(usage) = chunk
            .usage
            .filter(|u| u.prompt_tokens.is_some() || u.completion_tokens.is_some())
        {
            self.usage = Some(usage);
        }
        for choice in chunk.choices.unwrap_or_default() {
            if let Some(reason) = choice.finish_reason.filter(|r| !r.is_empty()) {
                self.finish_reason = Some(reason);
            }
            // Streams carry `delta`; non-streamed bodies carry `message`.
            let Some(delta) = choice.delta.or(choice.message) else {
                continue;
            };
            if let Some(text) = delta.content.filter(|t| !t.is_empty()) {
                self.content.push_str(&text);
                *emitted = true;
                on_delta(&text);
            }
            for call in delta.tool_calls.unwrap_or_default() {
                self.apply_tool_call(call);
            }
        }
        Ok(())
    }

    fn apply_tool_call(&mut self, call: ToolCallDelta) {
        let last = self.tool_calls.keys().next_back().copied();
        // Without an index (some servers send each call whole), a new id starts a new call.
        let index = call.index.unwrap_or_else(|| match (last, &call.id) {
            (None, _) => 0,
            (Some(last), Some(id))
                if !id.is_empty()
                    && self
                        .tool_calls
                        .get(&last)
                        .is_some_and(|c| !c.id.is_empty() && c.id != *id) =>
            {
                last + 1
            }
            (Some(last), _) => last,
        });
        let entry = self.tool_calls.entry(index).or_insert_with(|| ToolCall {
            id: String::new(),
            name: String::new(),
            arguments: String::new(),
        });
        if let Some(id) = call.id.filter(|id| !id.is_empty()) {
            entry.id = id;
        }
        if let Some(function) = call.function {
            if let Some(name) = function.name.filter(|n| !n.is_empty()) {
                // Most providers send the name once; a few repeat it on every chunk.
                if entry.name != name {
                    entry.name.push_str(&name);
                }
            }
            if let Some(arguments) = function.arguments {
                entry.arguments.push_str(&arguments);
            }
        }
    }

    fn finish(self) -> Result<ChatResponse, ModelError> {
        let received = self.done
            || self.finish_reason.is_some()
            || !self.content.is_empty()
            || !self.tool_calls.is_empty();
        if !received {
            return Err(ModelError::InvalidResponse(
                "the response ended without any completion".into(),
            ));
        }
        let model = self
            .reported_model
            .unwrap_or_else(|| self.requested_model.to_owned());
        let mut usage = Usage::default();
        let mut reported_cost = None;
        if let Some(wire) = self.usage {
            usage.prompt_tokens = wire.prompt_tokens.unwrap_or(0);
            usage.completion_tokens = wire.completion_tokens.unwrap_or(0);
            reported_cost = wire.cost.filter(|c| c.is_finite() && *c >= 0.0);
        }
        // The price table is keyed by the name the user configured; fall back to the
        // provider's (often more specific) name.
        usage.cost_usd = reported_cost.or_else(|| {
            self.config
                .prices
                .cost(self.requested_model, &usage)
                .or_else(|| self.config.prices.cost(&model, &usage))
        });
        Ok(ChatResponse {
            model,
            content: self.content,
            tool_calls: self.tool_calls.into_values().collect(),
            usage,
            finish_reason: self.finish_reason,
        })
    }
}

// ----- Wire types: private to this module. -----

#[derive(Serialize)]
struct WireRequest<'a> {
    model: &'a str,
    messages: Vec<WireMessage<'a>>,
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<WireTool<'a>>,
}

impl<'a> WireRequest<'a> {
    fn new(request: &'a ChatRequest, model: &'a str, include_usage: bool) -> Self {
        Self {
            model,
            messages: request.messages.iter().map(WireMessage::new).collect(),
            stream: true,
            stream_options: include_usage.then_some(StreamOptions {
                include_usage: true,
            }),
            temperature: request.temperature,
            max_tokens: request.max_tokens,
            tools: request
                .tools
                .iter()
                .map(|function| WireTool {
                    kind: "function",
                    function,
                })
                .collect(),
        }
    }
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

#[derive(Serialize)]
struct WireMessage<'a> {
    role: Role,
    /// `null` on an assistant message that only calls tools (some providers reject `""`
    /// there).
    content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<WireToolCall<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_call_id: Option<&'a str>,
}

impl<'a> WireMessage<'a> {
    fn new(message: &'a ChatMessage) -> Self {
        let calls_only = message.content.is_empty() && !message.tool_calls.is_empty();
        Self {
            role: message.role,
            content: (!calls_only).then_some(message.content.as_str()),
            // A tool message's name is not the agent's; OpenAI ignores it, others reject it.
            name: match message.role {
                Role::Tool => None,
                _ => message.name.as_deref().and_then(wire_name),
            },
            tool_calls: message
                .tool_calls
                .iter()
                .map(|call| WireToolCall {
                    id: &call.id,
                    kind: "function",
                    function: WireFunctionCall {
                        name: &call.name,
                        arguments: &call.arguments,
                    },
                })
                .collect(),
            tool_call_id: message.tool_call_id.as_deref(),
        }
    }
}

#[derive(Serialize)]
struct WireToolCall<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    function: WireFunctionCall<'a>,
}

#[derive(Serialize)]
struct WireFunctionCall<'a> {
    name: &'a str,
    arguments: &'a str,
}

/// OpenAI rejects names outside `^[a-zA-Z0-9_-]{1,64}$`; agent names may be freer.
fn wire_name(name: &str) -> Option<String> {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    (!cleaned.trim_matches('_').is_empty()).then_some(cleaned)
}

#[derive(Serialize)]
struct WireTool<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    function: &'a ToolDefinition,
}

/// A stream chunk, or a whole non-streamed completion. Everything is optional.
#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Option<Vec<Choice>>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    delta: Option<Delta>,
    #[serde(default)]
    message: Option<Delta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<ToolCallDelta>>,
}

#[derive(Deserialize)]
struct ToolCallDelta {
    #[serde(default)]
    index: Option<usize>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<FunctionDelta>,
}

#[derive(Deserialize)]
struct FunctionDelta {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<String>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
    /// OpenRouter's cost of the call in USD (credits).
    #[serde(default)]
    cost: Option<f64>,
}

/// What the fuzz targets drive without HTTP; not part of the API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    use bytes::Bytes;
    use cadre_core::model::DeltaSink;
    use cadre_core::{ChatResponse, ModelError};
    use futures::Stream;

    use super::{Assembly, read_events};
    use crate::config::{LlmConfig, Provider};

    /// The model a fuzzed stream answers for, when it names none.
    pub const MODEL: &str = "fuzz-model";

    /// Reads `bytes` as the body of a streamed completion, exactly as the client reads a
    /// response, with its errors as transport failures. Needs a Tokio runtime with
    /// timers (the idle timeout).
    pub async fn read_sse<S, E>(
        bytes: S,
        on_delta: DeltaSink<'_>,
    ) -> Result<ChatResponse, ModelError>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: std::fmt::Display,
    {
        let config = LlmConfig::new(Provider::Custom, "http://localhost:9/v1", None, MODEL)?;
        let endpoint = config.endpoint();
        let transport_error = |e: E| ModelError::Unreachable {
            endpoint: endpoint.clone(),
            message: e.to_string(),
        };
        let mut emitted = false;
        let assembly = Assembly::new(&config, MODEL);
        read_events(
            bytes,
            assembly,
            &endpoint,
            transport_error,
            on_delta,
            &mut emitted,
        )
        .await
        .map_err(|failure| failure.error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Provider;

    /// Reads `chunks` as the body of a streamed completion, as the client does.
    async fn read_body(chunks: &[&[u8]]) -> Result<ChatResponse, ModelError> {
        let config = LlmConfig::new(Provider::Custom, "http://localhost:9/v1", None, "m").unwrap();
        let chunks: Vec<Result<Bytes, std::io::Error>> = chunks
            .iter()
            .map(|chunk| Ok(Bytes::copy_from_slice(chunk)))
            .collect();
        let unreachable = |e: std::io::Error| ModelError::Unreachable {
            endpoint: "test".into(),
            message: e.to_string(),
        };
        let mut emitted = false;
        read_events(
            futures::stream::iter(chunks),
            Assembly::new(&config, "m"),
            "test",
            unreachable,
            &mut |_: &str| {},
            &mut emitted,
        )
        .await
        .map_err(|failure| failure.error)
    }

    #[tokio::test]
    async fn a_byte_order_mark_before_the_stream_is_skipped() {
        // eventsource-stream 0.2.3 slices a leading BOM off as one byte and panicked
        // ("byte index 1 is not a char boundary"). Every split of the BOM over chunks too.
        let body =
            "\u{feff}data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\ndata: [DONE]\n\n";
        let body = body.as_bytes();
        for at in 0..=4 {
            let (head, tail) = body.split_at(at);
            let response = read_body(&[head, tail]).await.unwrap();
            assert_eq!(response.content, "hi", "split at {at}");
        }
        let two = read_body(&[
            b"\xEF\xBB\xBF\xEF\xBB",
            b"\xBFdata: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n",
        ]);
        assert_eq!(two.await.unwrap().content, "hi");
        // An incomplete BOM is still malformed UTF-8, not silence.
        let cut = read_body(&[b"\xEF\xBB"]).await.unwrap_err();
        assert!(cut.to_string().contains("malformed stream"), "{cut}");
    }

    #[tokio::test]
    async fn absurd_token_counts_are_read_without_overflow() {
        let body = br#"data: {"choices":[{"delta":{"content":"x"}}],"usage":{"prompt_tokens":18446744073709551615,"completion_tokens":1}}

"#;
        let response = read_body(&[body]).await.unwrap();
        assert_eq!(response.usage.total_tokens(), u64::MAX);
    }

    #[tokio::test]
    async fn chunk_boundaries_inside_lines_and_characters_do_not_matter() {
        let body = "data: {\"choices\":[{\"delta\":{\"content\":\"Caf\u{e9} \u{2615}\"}}]}\r\n\r\ndata: [DONE]\r\n\r\n";
        let body = body.as_bytes();
        for at in 0..=body.len() {
            let (head, tail) = body.split_at(at);
            let response = read_body(&[head, b"", tail]).await.unwrap();
            assert_eq!(response.content, "Caf\u{e9} \u{2615}", "split at {at}");
        }
    }

    #[test]
    fn error_message_forms() {
        assert_eq!(
            error_message(r#"{"error": {"message": "Rate limited", "code": 429}}"#),
            Some(("Rate limited".to_owned(), Some(429)))
        );
        assert_eq!(
            error_message(r#"{"error": "model 'x' not found"}"#),
            Some(("model 'x' not found".to_owned(), None))
        );
        assert_eq!(
            error_message(
                r#"{"error": {"message": "Provider returned error", "code": "502", "metadata": {"raw": "upstream overloaded"}}}"#
            ),
            Some((
                "Provider returned error (upstream overloaded)".to_owned(),
                Some(502)
            ))
        );
        assert_eq!(error_message("<html>bad gateway</html>"), None);
    }

    #[test]
    fn wire_names_are_sanitized() {
        assert_eq!(
            wire_name("data scientist").as_deref(),
            Some("data_scientist")
        );
        assert_eq!(wire_name("???"), None);
        assert_eq!(wire_name(&"a".repeat(80)).map(|n| n.len()), Some(64));
    }

    #[test]
    fn request_never_carries_purpose() {
        let request = ChatRequest::new(
            cadre_core::Purpose::Other,
            vec![ChatMessage::user("hi").named("Data Scientist")],
        );
        let json = serde_json::to_value(WireRequest::new(&request, "m", true)).unwrap();
        assert!(json.get("purpose").is_none());
        assert_eq!(json["stream"], true);
        assert_eq!(json["stream_options"]["include_usage"], true);
        assert_eq!(json["messages"][0]["name"], "Data_Scientist");
        assert!(json.get("tools").is_none());
        assert!(json.get("temperature").is_none());
    }

    #[test]
    fn tool_calls_and_results_go_out_in_openai_shape() {
        let call = cadre_core::model::ToolCall {
            id: "call_1".into(),
            name: "math__add".into(),
            arguments: r#"{"a":2,"b":3}"#.into(),
        };
        let mut request = ChatRequest::new(
            cadre_core::Purpose::Other,
            vec![
                ChatMessage::assistant_with_tool_calls("", vec![call]).named("Analyst"),
                ChatMessage::tool_result("call_1", "5").named("Analyst"),
            ],
        );
        request.tools.push(ToolDefinition {
            name: "math__add".into(),
            description: "Adds".into(),
            parameters: serde_json::json!({"type": "object"}),
        });
        let json = serde_json::to_value(WireRequest::new(&request, "m", true)).unwrap();
        assert_eq!(
            json["messages"][0],
            serde_json::json!({"role": "assistant", "content": null, "name": "Analyst",
                "tool_calls": [{"id": "call_1", "type": "function",
                    "function": {"name": "math__add", "arguments": "{\"a\":2,\"b\":3}"}}]})
        );
        assert_eq!(
            json["messages"][1],
            serde_json::json!({"role": "tool", "content": "5", "tool_call_id": "call_1"})
        );
        assert_eq!(json["tools"][0]["type"], "function");
        assert_eq!(json["tools"][0]["function"]["name"], "math__add");
    }
}
