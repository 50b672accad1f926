//! Owns Cadre's OpenAI-compatible face: a team served as a chat model, so that any OpenAI
//! client (the official SDKs, LangChain, an IDE plugin) can ask a whole team.
//!
//! - `POST /v1/chat/completions` with `model` `cadre/team/<id>` (one of the caller's
//!   saved teams) or `cadre/auto` (a team built for the prompt): the conversation's last
//!   user message is the task (earlier messages go with it as context), the run is an
//!   ordinary run (history, transcript, events, quotas), and the answer is the run's
//!   final summary, with the run's token usage. Streaming sends the team's messages as
//!   they are written, as `reasoning_content` deltas (the field OpenAI-compatible
//!   servers use for a model's thinking; clients that do not know it ignore it), then
//!   the answer as `content`, then usage when `stream_options.include_usage` asks.
//! - `GET /v1/models`: `cadre/auto` and the caller's saved teams.
//!
//! Cadre's own run options ride in an extension object, `"cadre": {"model", "max_round",
//! "budget_usd"}` (`extra_body` in the SDKs): `model` is the LLM the team's agents use.
//! Authentication is the API's (a personal token `cadre_pat_…`, or an access token) in
//! `Authorization: Bearer`. Every error, from authentication on, is in OpenAI's shape
//! (`{"error": {"message", "type", "param", "code"}}`), which is what the SDKs parse.
//!
//! These routes are not in `/openapi.json`: their contract is OpenAI's.

use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use cadre_core::event::{EventKind, RunStatus, UsageTotals};
use cadre_store::MAX_PAGE;
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::AppState;
use super::auth::AuthUser;
use super::error::{ApiError, ErrorCode};
use super::events::{StreamItem, Transport, open_event_source};
use super::runs::{MAX_ROUND, MAX_TASK_CHARS, admit_new_run, queue_run};
use crate::run_request::StoredRunRequest;

/// The model name of "build a team for this prompt".
pub const AUTO_MODEL: &str = "cadre/auto";
/// The prefix of a saved team's model name (`cadre/team/<id>`).
pub const TEAM_MODEL_PREFIX: &str = "cadre/team/";
/// Most saved teams `GET /v1/models` lists.
const MAX_LISTED_TEAMS: usize = 2_000;

/// The OpenAI-compatible routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/models", get(list_models))
}

/// An error in OpenAI's shape.
#[derive(Debug)]
pub struct OpenAiError {
    status: StatusCode,
    kind: &'static str,
    code: String,
    message: String,
    param: Option<&'static str>,
    retry_after: Option<std::time::Duration>,
}

impl OpenAiError {
    fn invalid(param: Option<&'static str>, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            kind: "invalid_request_error",
            code: "invalid_request".into(),
            message: message.into(),
            param,
            retry_after: None,
        }
    }

    fn model_not_found(model: &str) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            kind: "invalid_request_error",
            code: "model_not_found".into(),
            message: format!(
                "The model `{model}` does not exist or you do not have access to it: use \
                 `{AUTO_MODEL}` or `{TEAM_MODEL_PREFIX}<team id>` (see GET /v1/models)"
            ),
            param: Some("model"),
            retry_after: None,
        }
    }

    fn run_ended(status: RunStatus, code: String, message: String) -> Self {
        let status = match status {
            RunStatus::Cancelled => StatusCode::CONFLICT,
            _ => StatusCode::BAD_GATEWAY,
        };
        Self {
            status,
            kind: "server_error",
            code,
            message,
            param: None,
            retry_after: None,
        }
    }

    fn body(&self) -> Value {
        json!({"error": {
            "message": self.message,
            "type": self.kind,
            "param": self.param,
            "code": self.code,
        }})
    }
}

/// Any API error (authentication, a missing team, a quota, the store) in OpenAI's shape.
/// Server errors are logged and answered generically, as everywhere in the API.
impl From<ApiError> for OpenAiError {
    fn from(error: ApiError) -> Self {
        let code = error.code();
        let status = code.status();
        let (kind, wire_code) = match code {
            ErrorCode::Unauthorized => ("invalid_request_error", "invalid_api_key"),
            ErrorCode::Forbidden => ("invalid_request_error", "permission_denied"),
            ErrorCode::RateLimited => ("rate_limit_error", "rate_limit_exceeded"),
            _ if status.is_server_error() => ("server_error", code.as_str()),
            _ => ("invalid_request_error", code.as_str()),
        };
        let message = if status.is_server_error() {
            tracing::error!(
                code = code.as_str(),
                cause = error.message(),
                "request failed"
            );
            "the server could not complete the request; retry later".to_string()
        } else {
            error.message().to_string()
        };
        Self {
            status,
            kind,
            code: wire_code.to_string(),
            message,
            param: None,
            retry_after: error.retry_after(),
        }
    }
}

impl IntoResponse for OpenAiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(after) = self.retry_after {
            let seconds = (after.as_secs() + u64::from(after.subsec_nanos() > 0)).max(1);
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

/// `POST /v1/chat/completions` body: OpenAI's, of which Cadre reads what a team can
/// honour; sampling parameters (`temperature`, `max_tokens`, …) belong to the team's
/// agents and are ignored.
#[derive(Debug, Deserialize)]
struct CompletionRequest {
    model: String,
    messages: Vec<InputMessage>,
    #[serde(default)]
    stream: bool,
    #[serde(default)]
    stream_options: Option<StreamOptions>,
    #[serde(default)]
    n: Option<u32>,
    #[serde(default)]
    cadre: CadreOptions,
}

#[derive(Debug, Default, Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: bool,
}

/// Cadre's run options (`extra_body={"cadre": {...}}` in the SDKs).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CadreOptions {
    /// The LLM the team's agents use (`demo` for the offline demo model).
    model: Option<String>,
    max_round: Option<u32>,
    budget_usd: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct InputMessage {
    role: String,
    #[serde(default)]
    content: Option<Content>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Content {
    Text(String),
    Parts(Vec<ContentPart>),
}

#[derive(Debug, Deserialize)]
struct ContentPart {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
}

impl InputMessage {
    fn text(&self) -> Result<String, OpenAiError> {
        match &self.content {
            None => Ok(String::new()),
            Some(Content::Text(text)) => Ok(text.clone()),
            Some(Content::Parts(parts)) => {
                let mut text = String::new();
                for part in parts {
                    match (part.kind.as_str(), &part.text) {
                        ("text", Some(part)) => {
                            if !text.is_empty() {
                                text.push('\n');
                            }
                            text.push_str(part);
                        }
                        (other, _) => {
                            return Err(OpenAiError::invalid(
                                Some("messages"),
                                format!(
                                    "content parts of type `{other}` are not supported: send text"
                                ),
                            ));
                        }
                    }
                }
                Ok(text)
            }
        }
    }
}

/// The run's task: the last user message, with the conversation before it as context.
fn task_of(messages: &[InputMessage]) -> Result<String, OpenAiError> {
    let last_user = messages
        .iter()
        .rposition(|message| message.role == "user")
        .ok_or_else(|| {
            OpenAiError::invalid(Some("messages"), "no `user` message: nothing to do")
        })?;
    let request = messages[last_user].text()?;
    if request.trim().is_empty() {
        return Err(OpenAiError::invalid(
            Some("messages"),
            "the last `user` message is empty",
        ));
    }
    let mut context = String::new();
    for message in messages.iter().take(last_user) {
        let text = message.text()?;
        if !text.trim().is_empty() {
            context.push_str(&format!("{}: {}\n", message.role, text.trim()));
        }
    }
    let task = if context.is_empty() {
        request
    } else {
        format!("{request}\n\nThe conversation so far:\n{context}")
    };
    if task.chars().count() > MAX_TASK_CHARS {
        return Err(OpenAiError {
            code: "context_length_exceeded".into(),
            ..OpenAiError::invalid(
                Some("messages"),
                format!("the conversation is longer than {MAX_TASK_CHARS} characters"),
            )
        });
    }
    Ok(task)
}

/// Asks a team. See the module documentation.
async fn chat_completions(
    State(state): State<AppState>,
    user: Result<AuthUser, ApiError>,
    body: Bytes,
) -> Result<Response, OpenAiError> {
    let user = user?;
    let request: CompletionRequest = serde_json::from_slice(&body)
        .map_err(|error| OpenAiError::invalid(None, format!("invalid request body: {error}")))?;
    if request.n.is_some_and(|n| n != 1) {
        return Err(OpenAiError::invalid(
            Some("n"),
            "a team gives one answer: `n` must be 1",
        ));
    }
    if let Some(max_round) = request.cadre.max_round
        && !(1..=MAX_ROUND).contains(&max_round)
    {
        return Err(OpenAiError::invalid(
            Some("cadre.max_round"),
            format!("must be between 1 and {MAX_ROUND}"),
        ));
    }
    if request
        .cadre
        .budget_usd
        .is_some_and(|budget| !(budget >= 0.0 && budget.is_finite()))
    {
        return Err(OpenAiError::invalid(
            Some("cadre.budget_usd"),
            "must be a finite number ≥ 0",
        ));
    }
    let task = task_of(&request.messages)?;
    let team = if request.model == AUTO_MODEL {
        None
    } else {
        let id = request
            .model
            .strip_prefix(TEAM_MODEL_PREFIX)
            .and_then(|id| Uuid::parse_str(id).ok())
            .ok_or_else(|| OpenAiError::model_not_found(&request.model))?;
        match state.store.get_team(user.id, id).await {
            Ok(team) => Some(team.spec),
            Err(cadre_store::StoreError::NotFound { .. }) => {
                return Err(OpenAiError::model_not_found(&request.model));
            }
            Err(error) => return Err(ApiError::from(error).into()),
        }
    };
    admit_new_run(&state, &user).await?;
    let stored = StoredRunRequest {
        task: task.clone(),
        team,
        build: Default::default(),
        execute: true,
        model: request.cadre.model.clone(),
        max_round: request.cadre.max_round,
        budget_usd: request.cadre.budget_usd,
        speaker_selection: None,
        fork: None,
    };
    let run = queue_run(&state, &user, &stored, Vec::new()).await?;
    let events = open_event_source(state, &user, run.id, 0, Transport::OpenAi).await?;
    let completion = Completion {
        id: format!("chatcmpl-{}", run.id),
        created: run.created_at.timestamp(),
        model: request.model,
        admin: None,
    };
    let mut response = if request.stream {
        let include_usage = request
            .stream_options
            .is_some_and(|options| options.include_usage);
        stream_completion(events, completion, include_usage)
    } else {
        answer(events, completion).await?
    };
    if let Ok(value) = HeaderValue::from_str(&run.id.to_string()) {
        response.headers_mut().insert("x-cadre-run-id", value);
    }
    Ok(response)
}

/// The fixed parts of every chunk or answer of one completion.
#[derive(Debug, Clone)]
struct Completion {
    id: String,
    created: i64,
    model: String,
    /// The team's admin (the participant that states the task), once the team is known:
    /// its messages are the prompt, not the team's work.
    admin: Option<String>,
}

impl Completion {
    fn chunk(&self, delta: Value, finish_reason: Option<&str>) -> Value {
        json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": null,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason}],
        })
    }

    fn usage_chunk(&self, usage: &UsageTotals) -> Value {
        json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": null,
            "choices": [],
            "usage": usage_of(usage),
        })
    }
}

fn usage_of(usage: &UsageTotals) -> Value {
    json!({
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens(),
    })
}

/// What the run's log says, one event at a time, as the completion needs it.
enum Step {
    /// A team member's finished message.
    Message {
        agent: String,
        content: String,
    },
    /// The run ended.
    Ended {
        status: RunStatus,
        summary: String,
        usage: UsageTotals,
        failure: Option<(String, String)>,
    },
    Nothing,
}

/// Folds one event into the completion's state.
fn step(
    completion: &mut Completion,
    failure: &mut Option<(String, String)>,
    kind: &EventKind,
) -> Step {
    match kind {
        EventKind::Team { team } => {
            completion.admin = Some(team.admin_name.clone());
            Step::Nothing
        }
        EventKind::Message { agent, content, .. }
            if completion.admin.as_deref() != Some(agent.as_str()) =>
        {
            Step::Message {
                agent: agent.clone(),
                content: content.clone(),
            }
        }
        EventKind::Error { code, message, .. } => {
            *failure = Some((code.to_string(), message.clone()));
            Step::Nothing
        }
        EventKind::Finished {
            status,
            summary,
            usage,
            ..
        } => Step::Ended {
            status: *status,
            summary: summary.clone(),
            usage: *usage,
            failure: failure.clone(),
        },
        _ => Step::Nothing,
    }
}

/// Why a run that did not complete gives no answer.
fn ended_badly(
    status: RunStatus,
    summary: String,
    failure: Option<(String, String)>,
) -> OpenAiError {
    let (code, message) = match (status, failure) {
        (RunStatus::Cancelled, _) => (
            "run_cancelled".to_string(),
            "the run was cancelled".to_string(),
        ),
        (_, Some(failure)) => failure,
        (_, None) => ("run_failed".to_string(), summary),
    };
    OpenAiError::run_ended(status, code, message)
}

/// Waits for the run to end and answers with its summary.
async fn answer(
    mut events: super::events::EventSource,
    mut completion: Completion,
) -> Result<Response, OpenAiError> {
    let mut failure = None;
    while let Some(event) = events.next().await {
        if let Step::Ended {
            status,
            summary,
            usage,
            failure,
        } = step(&mut completion, &mut failure, &event.kind)
        {
            if status != RunStatus::Completed {
                return Err(ended_badly(status, summary, failure));
            }
            return Ok(Json(json!({
                "id": completion.id,
                "object": "chat.completion",
                "created": completion.created,
                "model": completion.model,
                "system_fingerprint": null,
                "choices": [{
                    "index": 0,
                    "message": {"role": "assistant", "content": summary, "refusal": null},
                    "logprobs": null,
                    "finish_reason": "stop",
                }],
                "usage": usage_of(&usage),
            }))
            .into_response());
        }
    }
    Err(stream_lost())
}

fn stream_lost() -> OpenAiError {
    OpenAiError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        kind: "server_error",
        code: "unavailable".into(),
        message: "the run's events could not be read to its end; it goes on: see GET \
                  /api/v1/runs/{id} (the id is in the x-cadre-run-id header)"
            .into(),
        param: None,
        retry_after: None,
    }
}

fn sse(data: &Value) -> Bytes {
    Bytes::from(format!("data: {data}\n\n"))
}

/// Streams the run as chat completion chunks.
fn stream_completion(
    events: super::events::EventSource,
    completion: Completion,
    include_usage: bool,
) -> Response {
    let first = sse(&completion.chunk(json!({"role": "assistant", "content": ""}), None));
    let state = (
        events,
        completion,
        None::<(String, String)>,
        include_usage,
        false,
    );
    let rest = futures::stream::unfold(state, |mut state| async move {
        let (events, completion, failure, include_usage, done) = &mut state;
        if *done {
            return None;
        }
        loop {
            let Some(item) = events.next_item().await else {
                *done = true;
                let frame = sse(&stream_lost().body());
                return Some((Ok::<_, std::convert::Infallible>(frame), state));
            };
            let event = match item {
                StreamItem::KeepAlive => {
                    return Some((Ok(Bytes::from_static(b": keep-alive\n\n")), state));
                }
                StreamItem::Event(event) => event,
            };
            match step(completion, failure, &event.kind) {
                Step::Nothing => {}
                Step::Message { agent, content } => {
                    let thought = format!("**{agent}**: {content}\n\n");
                    let frame = sse(&completion.chunk(json!({"reasoning_content": thought}), None));
                    return Some((Ok(frame), state));
                }
                Step::Ended {
                    status,
                    summary,
                    usage,
                    failure,
                } => {
                    *done = true;
                    let mut frames = Vec::new();
                    if status == RunStatus::Completed {
                        frames.extend_from_slice(&sse(
                            &completion.chunk(json!({"content": summary}), None)
                        ));
                        frames.extend_from_slice(&sse(&completion.chunk(json!({}), Some("stop"))));
                        if *include_usage {
                            frames.extend_from_slice(&sse(&completion.usage_chunk(&usage)));
                        }
                        frames.extend_from_slice(b"data: [DONE]\n\n");
                    } else {
                        // The SDKs raise an error for a chunk that carries one.
                        frames
                            .extend_from_slice(&sse(&ended_badly(status, summary, failure).body()));
                    }
                    return Some((Ok(Bytes::from(frames)), state));
                }
            }
        }
    });
    let body = futures::stream::once(async move { Ok(first) }).chain(rest);
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

/// Lists `cadre/auto` and the caller's saved teams as models.
async fn list_models(
    State(state): State<AppState>,
    user: Result<AuthUser, ApiError>,
) -> Result<Json<Value>, OpenAiError> {
    let user = user?;
    let mut data = vec![json!({
        "id": AUTO_MODEL,
        "object": "model",
        "created": 0,
        "owned_by": "cadre",
    })];
    let mut cursor = None;
    loop {
        let (teams, next) = state
            .store
            .list_teams(user.id, MAX_PAGE, cursor)
            .await
            .map_err(ApiError::from)?;
        for team in teams {
            data.push(json!({
                "id": format!("{TEAM_MODEL_PREFIX}{}", team.id),
                "object": "model",
                "created": team.created_at.timestamp(),
                "owned_by": "cadre",
                "name": team.name,
            }));
        }
        match next {
            Some(next) if data.len() < MAX_LISTED_TEAMS => cursor = Some(next),
            _ => break,
        }
    }
    Ok(Json(json!({"object": "list", "data": data})))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn messages(value: Value) -> Vec<InputMessage> {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn the_last_user_message_is_the_task_and_the_rest_its_context() {
        let task = task_of(&messages(json!([
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Name a prime."},
            {"role": "assistant", "content": "7"},
            {"role": "user", "content": [{"type": "text", "text": "Another one?"}]},
        ])))
        .unwrap();
        assert_eq!(
            task,
            "Another one?\n\nThe conversation so far:\nsystem: Be brief.\nuser: Name a prime.\nassistant: 7\n"
        );
        assert_eq!(
            task_of(&messages(json!([{"role": "user", "content": "Just this"}]))).unwrap(),
            "Just this"
        );
    }

    #[test]
    fn prompts_cadre_cannot_take_are_refused_in_openai_shape() {
        let none = task_of(&messages(json!([{"role": "system", "content": "x"}]))).unwrap_err();
        assert_eq!(none.status, StatusCode::BAD_REQUEST);
        assert_eq!(none.body()["error"]["type"], "invalid_request_error");
        assert_eq!(none.body()["error"]["param"], "messages");
        let image = task_of(&messages(json!([{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "data:,"}}
        ]}])))
        .unwrap_err();
        assert!(image.message.contains("image_url"), "{}", image.message);
        let long = "x".repeat(MAX_TASK_CHARS + 1);
        let too_long = task_of(&messages(json!([{"role": "user", "content": long}]))).unwrap_err();
        assert_eq!(too_long.code, "context_length_exceeded");
    }

    #[test]
    fn api_errors_keep_their_status_in_openai_shape() {
        let error = OpenAiError::from(ApiError::new(ErrorCode::Unauthorized, "bad token"));
        assert_eq!(error.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            error.body(),
            json!({"error": {"message": "bad token", "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}})
        );
        let error = OpenAiError::from(ApiError::new(ErrorCode::Internal, "db password=x"));
        assert_eq!(error.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!error.message.contains("password"), "{}", error.message);
    }
}
