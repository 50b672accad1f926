//! Turning the run resource's request bodies and parameters into validated requests:
//! the limits a request must stay within, and a [`FieldError`] for every field that does
//! not (all of them at once, as one `422 validation_failed`).

use cadre_core::team::SpeakerSelection;
use cadre_store::MAX_PAGE;
use uuid::Uuid;

use super::views::{CreateRunBody, RunInputBody};
use crate::api::error::{ApiError, FieldError};
use crate::run_request::{BuildRequest, StoredRunRequest};

/// Longest task accepted, in characters.
pub const MAX_TASK_CHARS: usize = 20_000;
/// Most experts a built team may have.
pub const MAX_AGENTS: u32 = 16;
/// Most chat rounds a run may ask for.
pub const MAX_ROUND: u32 = 1000;
/// Longest model name accepted.
const MAX_MODEL_CHARS: usize = 200;
/// Page size of `GET /api/v1/runs` when none is given.
const DEFAULT_LIST_LIMIT: u32 = 50;
/// Longest human answer accepted, in bytes.
pub const MAX_INPUT_BYTES: usize = 16 * 1024;

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

/// Checks a create body and turns it into the stored request (plus the team to resolve).
pub(super) fn validate(body: CreateRunBody) -> Result<(StoredRunRequest, Option<Uuid>), ApiError> {
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
    let speaker_selection = body.speaker_selection.map(SpeakerSelection::from);
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
        fork: None,
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

/// Checks a human's answer: not blank, at most [`MAX_INPUT_BYTES`].
pub(super) fn validate_input(body: &RunInputBody) -> Result<(), ApiError> {
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
    Ok(())
}
