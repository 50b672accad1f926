//! The run resource's axum handlers with their `#[utoipa::path]` annotations: each checks
//! its input ([`super::validation`]), scopes every store call to the caller, and answers
//! with the shapes of [`super::views`].

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use cadre_core::RunStatus;
use cadre_core::event::RunEvent;
use cadre_store::{NewRun, RunRecord};
use uuid::Uuid;

use super::validation::{page_limit, validate, validate_input};
use super::views::{CreateRunBody, ListRunsQuery, RunInputBody, RunList, RunView};
use crate::api::AppState;
use crate::api::auth::AuthUser;
use crate::api::error::{ApiError, ErrorBody};
use crate::api::extract::{ApiJson, ApiPath, ApiQuery};
use crate::bus::BusSink;
use crate::quota::Allowance;
use crate::run_request::StoredRunRequest;

/// How many times a worker may claim a run's job before the run fails.
pub const MAX_ATTEMPTS: u32 = 3;

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
    admit_new_run(&state, &user).await?;
    if let Some(team_id) = request.1 {
        // Inlined now so that editing or deleting the saved team cannot change this run.
        let team = state.store.get_team(user.id, team_id).await?;
        request.0.team = Some(team.spec);
    }
    let run = queue_run(&state, &user, &request.0, Vec::new()).await?;
    Ok(accepted(run))
}

/// Refuses a new run when the caller created too many in the last minute or used up a
/// daily quota (429 with `Retry-After`); every way of starting a run passes here.
pub(crate) async fn admit_new_run(state: &AppState, user: &AuthUser) -> Result<(), ApiError> {
    if let Err(retry_after) = state.limits.runs_per_user.hit(&user.id.to_string()) {
        return Err(ApiError::rate_limited(
            "too many runs created in the last minute",
            retry_after,
        ));
    }
    let quotas = state.limits.quotas;
    let now = chrono::Utc::now();
    if let Allowance::Exhausted { used } =
        quotas.allowance(state.store.as_ref(), user.id, now).await?
    {
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
    Ok(())
}

/// Stores an admitted run with its job (and, for a fork, the history it starts from).
pub(crate) async fn queue_run(
    state: &AppState,
    user: &AuthUser,
    stored: &StoredRunRequest,
    history: Vec<RunEvent>,
) -> Result<RunRecord, ApiError> {
    let new = NewRun {
        owner: user.id,
        task: stored.task.clone(),
        request: serde_json::to_value(stored).map_err(ApiError::internal)?,
        max_attempts: MAX_ATTEMPTS,
    };
    let run = if history.is_empty() {
        state.store.create_run(new).await?
    } else {
        state.store.create_run_with_history(new, history).await?
    };
    state.metrics.runs_created.inc();
    tracing::info!(run_id = %run.id, "run queued");
    Ok(run)
}

/// `202 Accepted` with the run's URL and view.
pub(crate) fn accepted(run: RunRecord) -> Response {
    let location = format!("/api/v1/runs/{}", run.id);
    (
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(RunView::from(run)),
    )
        .into_response()
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
        .list_runs(user.id, query.status, limit, query.cursor)
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
    let cancellation = state.store.request_cancel(user.id, id).await?;
    // A run no worker held was ended by the store itself: its closing events go live
    // here, as a worker's would.
    BusSink::new(state.bus.clone())
        .publish_stored(&cancellation.ended)
        .await;
    if !cancellation.ended.is_empty() {
        state
            .metrics
            .run_finished(RunStatus::Cancelled.as_str(), None);
    }
    Ok((StatusCode::ACCEPTED, Json(cancellation.run.into())))
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
    validate_input(&body)?;
    let run = state.store.submit_input(user.id, id, &body.content).await?;
    Ok((StatusCode::ACCEPTED, Json(run.into())))
}
