//! Owns the run resource: create (validated and stored with its job), list, get, delete,
//! cancel, and [`RunView`], the public JSON shape of a run.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use cadre_core::event::{RunStatus, UsageTotals};
use cadre_core::team::{SpeakerSelection, TeamSpec};
use cadre_store::{MAX_PAGE, NewRun, RunRecord};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::AppState;
use super::auth::AuthUser;
use super::error::{ApiError, ErrorBody, FieldError};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::run_request::{BuildRequest, StoredRunRequest};

/// Longest task accepted, in characters.
pub const MAX_TASK_CHARS: usize = 20_000;
/// Most experts a built team may have.
pub const MAX_AGENTS: u32 = 16;
/// Most chat rounds a run may ask for.
pub const MAX_ROUND: u32 = 1000;
/// How many times a worker may claim a run's job before the run fails.
pub const MAX_ATTEMPTS: u32 = 3;
/// Longest model name accepted.
const MAX_MODEL_CHARS: usize = 200;
/// Page size of `GET /api/v1/runs` when none is given.
const DEFAULT_LIST_LIMIT: u32 = 50;

/// Builder settings of a create request.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BuildBody {
    /// Most experts (1..=16, default 4).
    pub max_agents: Option<u32>,
    /// Force code execution on or off; absent lets the model decide.
    pub coding: Option<bool>,
    /// Model for the builder's calls.
    pub model: Option<String>,
}

/// `POST /api/v1/runs` body. Give at most one of `team_id` and `team`; with neither, a
/// team is built for the task (`build` tunes how).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRunBody {
    /// The task (non-empty, at most 20,000 characters).
    pub task: String,
    /// A saved team of the caller's, copied into the run.
    pub team_id: Option<Uuid>,
    /// A team given inline (Cadre team JSON).
    #[schema(value_type = Option<Object>)]
    pub team: Option<TeamSpec>,
    /// Builder settings, when no team is given.
    pub build: Option<BuildBody>,
    /// `false` stops after building the team (default `true`).
    pub execute: Option<bool>,
    /// Model for the whole run (`demo` for the offline demo model).
    pub model: Option<String>,
    /// Most chat rounds (1..=1000).
    pub max_round: Option<u32>,
    /// Cost budget in USD (≥ 0).
    pub budget_usd: Option<f64>,
    /// Overrides the team's next-speaker strategy: `auto`, `round_robin`, `random` or
    /// `manual` (a human picks through `POST …/input`).
    pub speaker_selection: Option<String>,
}

/// Public run status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatusView {
    /// Waiting for a worker.
    Queued,
    /// The team is being built.
    Building,
    /// The group chat is running.
    Executing,
    /// Waiting for human input.
    WaitingInput,
    /// Ended normally.
    Completed,
    /// Ended with an error.
    Failed,
    /// Stopped by the user.
    Cancelled,
}

impl From<RunStatus> for RunStatusView {
    fn from(status: RunStatus) -> Self {
        match status {
            RunStatus::Queued => Self::Queued,
            RunStatus::Building => Self::Building,
            RunStatus::Executing => Self::Executing,
            RunStatus::WaitingInput => Self::WaitingInput,
            RunStatus::Completed => Self::Completed,
            RunStatus::Failed => Self::Failed,
            RunStatus::Cancelled => Self::Cancelled,
        }
    }
}

impl From<RunStatusView> for RunStatus {
    fn from(status: RunStatusView) -> Self {
        match status {
            RunStatusView::Queued => Self::Queued,
            RunStatusView::Building => Self::Building,
            RunStatusView::Executing => Self::Executing,
            RunStatusView::WaitingInput => Self::WaitingInput,
            RunStatusView::Completed => Self::Completed,
            RunStatusView::Failed => Self::Failed,
            RunStatusView::Cancelled => Self::Cancelled,
        }
    }
}

/// The last error of a run.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunErrorView {
    /// Stable code (`llm_unreachable`, `worker_lost`, …).
    pub code: String,
    /// Human-readable message.
    pub message: String,
}

/// Usage totals of a run.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct UsageView {
    /// Prompt tokens over all model calls.
    pub prompt_tokens: u64,
    /// Completion tokens over all model calls.
    pub completion_tokens: u64,
    /// Known cost in USD.
    pub cost_usd: f64,
    /// Number of model calls.
    pub calls: u64,
}

impl From<UsageTotals> for UsageView {
    fn from(usage: UsageTotals) -> Self {
        Self {
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
            cost_usd: usage.cost_usd,
            calls: usage.calls,
        }
    }
}

/// A run as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunView {
    /// Run id.
    pub id: Uuid,
    /// The task.
    pub task: String,
    /// Current status.
    pub status: RunStatusView,
    /// The team (once given or built).
    #[schema(value_type = Option<Object>)]
    pub team: Option<TeamSpec>,
    /// Summary of the outcome (once finished).
    pub summary: Option<String>,
    /// The last error, if any.
    pub error: Option<RunErrorView>,
    /// Usage totals (final once finished).
    pub usage: UsageView,
    /// Seq of the last durable event (resume point for event streams).
    pub last_seq: u64,
    /// Whether cancellation was requested.
    pub cancel_requested: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When execution first started.
    pub started_at: Option<DateTime<Utc>>,
    /// When the run reached a terminal status.
    pub finished_at: Option<DateTime<Utc>>,
    /// What the run was asked to do (model, limits, build only…).
    pub settings: RunSettingsView,
}

/// A run's request settings, as given at creation.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct RunSettingsView {
    /// Model of the whole run (`demo` for the offline demo); absent: the default.
    pub model: Option<String>,
    /// `false` for a build-only run (it completes once its team is built).
    pub execute: bool,
    /// Most chat rounds, if limited by the request.
    pub max_round: Option<u32>,
    /// Cost budget in USD, if any.
    pub budget_usd: Option<f64>,
    /// The speaker selection override (`auto`, `round_robin`, `random`, `manual`), if any.
    pub speaker_selection: Option<String>,
    /// Most experts the builder could create, when the team was built.
    pub max_agents: Option<u32>,
    /// Whether code execution was forced on or off when building.
    pub coding: Option<bool>,
}

impl RunSettingsView {
    /// The settings of a stored request; a request this version cannot read (written by
    /// a newer one) shows defaults rather than failing the whole view.
    fn from_request(request: serde_json::Value) -> Self {
        let Ok(request) = serde_json::from_value::<StoredRunRequest>(request) else {
            return Self {
                execute: true,
                ..Self::default()
            };
        };
        let speaker_selection = request.speaker_selection.as_ref().and_then(|selection| {
            serde_json::to_value(selection)
                .ok()
                .and_then(|value| value.get("method")?.as_str().map(str::to_owned))
        });
        Self {
            model: request.model,
            execute: request.execute,
            max_round: request.max_round,
            budget_usd: request.budget_usd,
            speaker_selection,
            max_agents: request.build.max_agents.and_then(|n| u32::try_from(n).ok()),
            coding: request.build.coding,
        }
    }
}

impl From<RunRecord> for RunView {
    fn from(run: RunRecord) -> Self {
        let error = run.error_code.map(|code| RunErrorView {
            code,
            message: run.error_message.unwrap_or_default(),
        });
        Self {
            id: run.id,
            task: run.task,
            status: run.status.into(),
            team: run.team,
            summary: run.summary,
            error,
            usage: run.usage.into(),
            last_seq: run.last_seq,
            cancel_requested: run.cancel_requested,
            created_at: run.created_at,
            started_at: run.started_at,
            finished_at: run.finished_at,
            settings: RunSettingsView::from_request(run.request),
        }
    }
}

/// `GET /api/v1/runs` parameters.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListRunsQuery {
    /// Only runs with this status.
    pub status: Option<RunStatusView>,
    /// Page size (1..=500, default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page of runs, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunList {
    /// The runs.
    pub runs: Vec<RunView>,
    /// Pass as `cursor` for the next page; `null` when there is none.
    pub next_cursor: Option<String>,
}

/// The run routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/runs", post(create_run).get(list_runs))
        .route("/api/v1/runs/{id}", get(get_run).delete(delete_run))
        .route("/api/v1/runs/{id}/cancel", post(cancel_run))
        .route("/api/v1/runs/{id}/input", post(submit_input))
}

/// A list's page size: `limit` or the default, which must be within 1..=[`MAX_PAGE`].
pub(crate) fn page_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIST_LIMIT);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::validation(vec![FieldError::new(
            "limit",
            format!("must be between 1 and {MAX_PAGE}"),
        )]));
    }
    Ok(limit)
}

/// Queues a run.
#[utoipa::path(post, path = "/api/v1/runs", tag = "runs", request_body = CreateRunBody,
    responses(
        (status = 202, description = "Queued", body = RunView,
            headers(("Location" = String, description = "The run's URL"))),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 404, description = "`team_id` not found", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        (status = 429, description = "Too many runs created in the last minute, or a daily quota is used up (see `Retry-After`)", body = ErrorBody),
    ))]
pub async fn create_run(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<CreateRunBody>,
) -> Result<Response, ApiError> {
    let mut request = validate(body)?;
    if let Err(retry_after) = state.limits.runs_per_user.hit(&user.id.to_string()) {
        return Err(ApiError::rate_limited(
            "too many runs created in the last minute",
            retry_after,
        ));
    }
    let quotas = state.limits.quotas;
    if quotas.any() {
        let now = chrono::Utc::now();
        let used = state
            .store
            .owner_usage_since(user.id, crate::quota::start_of_day(now))
            .await?;
        if quotas.remaining(&used).exhausted() {
            return Err(ApiError::rate_limited(
                "your daily token or spend quota is used up; it resets at 00:00 UTC",
                crate::quota::until_reset(now),
            )
            .with_details(serde_json::json!({
                "used_tokens": used.total_tokens(),
                "used_usd": used.cost_usd,
                "daily_tokens": quotas.daily_tokens,
                "daily_usd": quotas.daily_usd,
            })));
        }
    }
    if let Some(team_id) = request.1 {
        // Inlined now so that editing or deleting the saved team cannot change this run.
        let team = state.store.get_team(user.id, team_id).await?;
        request.0.team = Some(team.spec);
    }
    let stored = request.0;
    let run = state
        .store
        .create_run(NewRun {
            owner: user.id,
            task: stored.task.clone(),
            request: serde_json::to_value(&stored).map_err(ApiError::internal)?,
            max_attempts: MAX_ATTEMPTS,
        })
        .await?;
    tracing::info!(run_id = %run.id, "run queued");
    let location = format!("/api/v1/runs/{}", run.id);
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(RunView::from(run)),
    )
        .into_response())
}

/// Checks a create body and turns it into the stored request (plus the team to resolve).
fn validate(body: CreateRunBody) -> Result<(StoredRunRequest, Option<Uuid>), ApiError> {
    let mut errors = Vec::new();
    let task = body.task.trim();
    if task.is_empty() {
        errors.push(FieldError::new("task", "must not be empty"));
    } else if body.task.chars().count() > MAX_TASK_CHARS {
        errors.push(FieldError::new(
            "task",
            format!("must be at most {MAX_TASK_CHARS} characters"),
        ));
    }
    if body.team.is_some() && body.team_id.is_some() {
        errors.push(FieldError::new(
            "team",
            "give either `team` or `team_id`, not both",
        ));
    }
    if let Some(team) = &body.team
        && let Err(error) = team.validate()
    {
        errors.push(FieldError::new("team", error.to_string()));
    }
    let has_team = body.team.is_some() || body.team_id.is_some();
    if has_team && body.build.is_some() {
        errors.push(FieldError::new(
            "build",
            "only applies when no team is given",
        ));
    }
    let build = body.build.unwrap_or_default();
    if let Some(n) = build.max_agents
        && !(1..=MAX_AGENTS).contains(&n)
    {
        errors.push(FieldError::new(
            "build.max_agents",
            format!("must be between 1 and {MAX_AGENTS}"),
        ));
    }
    check_model(&mut errors, "build.model", build.model.as_deref());
    check_model(&mut errors, "model", body.model.as_deref());
    if let Some(n) = body.max_round
        && !(1..=MAX_ROUND).contains(&n)
    {
        errors.push(FieldError::new(
            "max_round",
            format!("must be between 1 and {MAX_ROUND}"),
        ));
    }
    if let Some(budget) = body.budget_usd
        && (!budget.is_finite() || budget < 0.0)
    {
        errors.push(FieldError::new("budget_usd", "must be a number ≥ 0"));
    }
    let speaker_selection = match body.speaker_selection.as_deref() {
        None => None,
        Some(name) => {
            let parsed = SpeakerSelection::parse(name);
            if parsed.is_none() {
                errors.push(FieldError::new(
                    "speaker_selection",
                    "must be one of auto, round_robin, random, manual",
                ));
            }
            parsed
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let request = StoredRunRequest {
        task: task.to_string(),
        team: body.team,
        build: BuildRequest {
            max_agents: build.max_agents.map(|n| n as usize),
            coding: build.coding,
            model: build.model,
        },
        execute: body.execute.unwrap_or(true),
        model: body.model,
        max_round: body.max_round,
        budget_usd: body.budget_usd,
        speaker_selection,
    };
    Ok((request, body.team_id))
}

fn check_model(errors: &mut Vec<FieldError>, field: &str, model: Option<&str>) {
    if let Some(model) = model
        && (model.trim().is_empty() || model.chars().count() > MAX_MODEL_CHARS)
    {
        errors.push(FieldError::new(
            field,
            format!("must be 1 to {MAX_MODEL_CHARS} characters"),
        ));
    }
}

/// Lists the caller's runs, newest first.
#[utoipa::path(get, path = "/api/v1/runs", tag = "runs", params(ListRunsQuery),
    responses(
        (status = 200, description = "A page of runs", body = RunList),
        (status = 400, description = "Malformed cursor", body = ErrorBody),
        (status = 422, description = "Invalid parameters", body = ErrorBody),
    ))]
pub async fn list_runs(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<ListRunsQuery>,
) -> Result<Json<RunList>, ApiError> {
    let limit = page_limit(query.limit)?;
    let (runs, next_cursor) = state
        .store
        .list_runs(
            user.id,
            query.status.map(RunStatus::from),
            limit,
            query.cursor,
        )
        .await?;
    Ok(Json(RunList {
        runs: runs.into_iter().map(RunView::from).collect(),
        next_cursor,
    }))
}

/// One run.
#[utoipa::path(get, path = "/api/v1/runs/{id}", tag = "runs",
    params(("id" = Uuid, Path, description = "Run id")),
    responses(
        (status = 200, description = "The run", body = RunView),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 404, description = "No such run", body = ErrorBody),
    ))]
pub async fn get_run(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<RunView>, ApiError> {
    Ok(Json(state.store.get_run(user.id, id).await?.into()))
}

/// Deletes a run with its events (not while a worker executes it: cancel first).
#[utoipa::path(delete, path = "/api/v1/runs/{id}", tag = "runs",
    params(("id" = Uuid, Path, description = "Run id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such run", body = ErrorBody),
        (status = 409, description = "The run is executing", body = ErrorBody),
    ))]
pub async fn delete_run(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    state.store.delete_run(user.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Asks to cancel a run. A queued run is cancelled at once; a running one within about a
/// second; a finished one is left as it is.
#[utoipa::path(post, path = "/api/v1/runs/{id}/cancel", tag = "runs",
    params(("id" = Uuid, Path, description = "Run id")),
    responses(
        (status = 202, description = "Cancellation requested", body = RunView),
        (status = 404, description = "No such run", body = ErrorBody),
    ))]
pub async fn cancel_run(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<(StatusCode, Json<RunView>), ApiError> {
    let before = state.store.get_run(user.id, id).await?;
    let run = state.store.request_cancel(user.id, id).await?;
    if run.last_seq > before.last_seq {
        // The store ended a run no worker held, writing its last events itself: nobody
        // else will publish them, and live streams should not have to wait for a poll.
        publish_stored(&state, id, before.last_seq).await;
    }
    Ok((StatusCode::ACCEPTED, Json(run.into())))
}

/// Longest human answer accepted, in bytes.
pub const MAX_INPUT_BYTES: usize = 16 * 1024;

/// A human's answer to a run's `input_request`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunInputBody {
    /// The answer (for manual speaker selection: a number from the menu or an agent's
    /// name). Not blank; at most 16 KiB.
    pub content: String,
}

/// Answers a run waiting for human input (status `waiting_input`, after an
/// `input_request` event). The run's worker takes the answer within about a quarter of a
/// second and records it as an `input` event.
#[utoipa::path(post, path = "/api/v1/runs/{id}/input", tag = "runs",
    params(("id" = Uuid, Path, description = "Run id")),
    request_body = RunInputBody,
    responses(
        (status = 202, description = "Answer handed to the run", body = RunView),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 404, description = "No such run", body = ErrorBody),
        (status = 409, description = "The run is not waiting for input, or already has an answer pending", body = ErrorBody),
        (status = 422, description = "Blank or oversized answer", body = ErrorBody),
    ))]
pub async fn submit_input(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<RunInputBody>,
) -> Result<(StatusCode, Json<RunView>), ApiError> {
    if body.content.trim().is_empty() {
        return Err(ApiError::validation(vec![FieldError::new(
            "content",
            "must not be blank",
        )]));
    }
    if body.content.len() > MAX_INPUT_BYTES {
        return Err(ApiError::validation(vec![FieldError::new(
            "content",
            format!("must be at most {MAX_INPUT_BYTES} bytes"),
        )]));
    }
    let run = state.store.submit_input(user.id, id, &body.content).await?;
    Ok((StatusCode::ACCEPTED, Json(run.into())))
}

async fn publish_stored(state: &AppState, run_id: Uuid, after: u64) {
    let events = match state.store.events_after(run_id, after, 100).await {
        Ok(events) => events,
        Err(error) => {
            tracing::warn!(%run_id, %error, "cannot read events to publish");
            return;
        }
    };
    for event in &events {
        if let Err(error) = state.bus.publish(event).await {
            // Streams catch up from the database; the bus only accelerates.
            tracing::debug!(%run_id, %error, "publish failed");
            return;
        }
    }
}
