//! Owns the team resource: the caller's saved teams (list, create, get, replace, delete),
//! import from a team file (AutoGen AgentBuilder, AgentChat / AutoGen Studio, Cadre),
//! the gallery of starter teams, export back to AgentBuilder's format, and
//! [`TeamView`], the public JSON shape of a saved team. Another owner's team answers 404,
//! exactly like a missing one, so ids cannot be probed.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use cadre_core::autogen::{TeamFormat, export_autogen, import_team_value};
use cadre_core::gallery::starter_teams;
use cadre_core::team::{TeamError, TeamSpec};
use cadre_store::{MAX_PAGE, TeamRecord};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::AppState;
use super::auth::AuthUser;
use super::error::{ApiError, ErrorBody, ErrorCode, FieldError};
use super::extract::{ApiJson, ApiPath, ApiQuery};

/// Page size of `GET /api/v1/teams` when none is given.
const DEFAULT_LIST_LIMIT: u32 = 50;
/// Longest team name accepted, in characters.
pub const MAX_TEAM_NAME_CHARS: usize = 200;

/// A saved team as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TeamView {
    /// Team id.
    pub id: Uuid,
    /// Name (mirrors `spec.name`).
    pub name: String,
    /// The team (Cadre team JSON).
    pub spec: TeamSpec,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update time.
    pub updated_at: DateTime<Utc>,
}

impl From<TeamRecord> for TeamView {
    fn from(team: TeamRecord) -> Self {
        Self {
            id: team.id,
            name: team.name,
            spec: team.spec,
            created_at: team.created_at,
            updated_at: team.updated_at,
        }
    }
}

/// A page of teams, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TeamList {
    /// The teams.
    pub teams: Vec<TeamView>,
    /// Pass as `cursor` for the next page; `null` when there is none.
    pub next_cursor: Option<String>,
}

/// `GET /api/v1/teams` parameters.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListTeamsQuery {
    /// Page size (1..=500, default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The team routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/teams", get(list_teams).post(create_team))
        .route("/api/v1/teams/import", post(import_team))
        .route("/api/v1/teams/gallery", get(starter_gallery))
        .route(
            "/api/v1/teams/{id}",
            get(get_team).put(update_team).delete(delete_team),
        )
        .route("/api/v1/teams/{id}/export", get(export_team))
}

/// Lists the caller's teams, newest first.
#[utoipa::path(get, path = "/api/v1/teams", tag = "teams", params(ListTeamsQuery),
    responses(
        (status = 200, description = "A page of teams", body = TeamList),
        (status = 400, description = "Malformed cursor", body = ErrorBody),
        (status = 422, description = "Invalid parameters", body = ErrorBody),
    ))]
pub async fn list_teams(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<ListTeamsQuery>,
) -> Result<Json<TeamList>, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_LIST_LIMIT);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::validation(vec![FieldError::new(
            "limit",
            format!("must be between 1 and {MAX_PAGE}"),
        )]));
    }
    let (teams, next_cursor) = state.store.list_teams(user.id, limit, query.cursor).await?;
    Ok(Json(TeamList {
        teams: teams.into_iter().map(TeamView::from).collect(),
        next_cursor,
    }))
}

/// Saves a team given as Cadre team JSON.
#[utoipa::path(post, path = "/api/v1/teams", tag = "teams",
    request_body(content = TeamSpec, description = "A Cadre team (`name`, `agents`, …)"),
    responses(
        (status = 201, description = "Saved", body = TeamView,
            headers(("Location" = String, description = "The team's URL"))),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid team", body = ErrorBody),
    ))]
pub async fn create_team(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(spec): ApiJson<TeamSpec>,
) -> Result<Response, ApiError> {
    validate_team(&spec)?;
    save_new(&state, &user, &spec).await
}

/// A team saved from an imported file, with what the importer could not interpret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportedTeamView {
    /// The saved team.
    #[serde(flatten)]
    pub team: TeamView,
    /// The format the file was read as.
    pub format: TeamFormat,
    /// Parts of the file kept (for export) but not used, and behaviour that differs from
    /// the source framework: one line each. Empty for Cadre and AgentBuilder files.
    pub notes: Vec<String>,
}

/// Saves a team read from a file: AutoGen AgentBuilder `save()` JSON (`agent_configs`),
/// an AutoGen AgentChat / AutoGen Studio team component (RoundRobinGroupChat,
/// SelectorGroupChat, bare or as a Studio record), an AutoGen Studio gallery (its first
/// team), AutoGen Studio 0.4.0's format, or Cadre team JSON.
#[utoipa::path(post, path = "/api/v1/teams/import", tag = "teams",
    request_body(content = Object, description = "A team file: AutoGen AgentBuilder, AgentChat component, AutoGen Studio team or gallery, or Cadre JSON"),
    responses(
        (status = 201, description = "Imported and saved", body = ImportedTeamView,
            headers(("Location" = String, description = "The team's URL"))),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Not a team Cadre can read or run", body = ErrorBody),
    ))]
pub async fn import_team(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(file): ApiJson<serde_json::Value>,
) -> Result<Response, ApiError> {
    // The importer's messages already name the offending field in one line: pass them on.
    let imported = import_team_value(&file)
        .map_err(|error| ApiError::new(ErrorCode::ValidationFailed, import_message(&error)))?;
    validate_team(&imported.team)?;
    let team = state.store.create_team(user.id, &imported.team).await?;
    tracing::info!(team_id = %team.id, format = imported.format.as_str(), "team imported");
    let location = format!("/api/v1/teams/{}", team.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(ImportedTeamView {
            team: TeamView::from(team),
            format: imported.format,
            notes: imported.notes,
        }),
    )
        .into_response())
}

/// A starter team of the gallery.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StarterTeamView {
    /// Stable identifier (`research-and-write`).
    pub id: String,
    /// Display name.
    pub label: String,
    /// What the team is for.
    pub description: String,
    /// The team, ready to save (`POST /api/v1/teams`) or run (`team` of a new run).
    pub spec: TeamSpec,
}

/// The starter teams Cadre ships.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StarterGallery {
    /// The teams, in gallery order.
    pub teams: Vec<StarterTeamView>,
}

/// The gallery of starter teams (AgentChat components shipped with Cadre).
#[utoipa::path(get, path = "/api/v1/teams/gallery", tag = "teams",
    responses((status = 200, description = "The starter teams", body = StarterGallery)))]
pub async fn starter_gallery(_user: AuthUser) -> Json<StarterGallery> {
    let teams = starter_teams()
        .into_iter()
        .map(|starter| StarterTeamView {
            id: starter.id.to_string(),
            label: starter.label,
            description: starter.description,
            spec: starter.spec,
        })
        .collect();
    Json(StarterGallery { teams })
}

/// One of the caller's teams.
#[utoipa::path(get, path = "/api/v1/teams/{id}", tag = "teams",
    params(("id" = Uuid, Path, description = "Team id")),
    responses(
        (status = 200, description = "The team", body = TeamView),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 404, description = "No such team", body = ErrorBody),
    ))]
pub async fn get_team(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<TeamView>, ApiError> {
    Ok(Json(state.store.get_team(user.id, id).await?.into()))
}

/// Replaces a team (its name follows `spec.name`). Runs already started keep their copy.
#[utoipa::path(put, path = "/api/v1/teams/{id}", tag = "teams",
    params(("id" = Uuid, Path, description = "Team id")),
    request_body(content = TeamSpec, description = "A Cadre team (`name`, `agents`, …)"),
    responses(
        (status = 200, description = "Replaced", body = TeamView),
        (status = 400, description = "Malformed id or body", body = ErrorBody),
        (status = 404, description = "No such team", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid team", body = ErrorBody),
    ))]
pub async fn update_team(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(spec): ApiJson<TeamSpec>,
) -> Result<Json<TeamView>, ApiError> {
    validate_team(&spec)?;
    let team = state.store.update_team(user.id, id, &spec).await?;
    Ok(Json(team.into()))
}

/// Deletes a team. Runs that used it keep their copy.
#[utoipa::path(delete, path = "/api/v1/teams/{id}", tag = "teams",
    params(("id" = Uuid, Path, description = "Team id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 404, description = "No such team", body = ErrorBody),
    ))]
pub async fn delete_team(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    state.store.delete_team(user.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A team as an AutoGen AgentBuilder save file (loadable with `AgentBuilder.load`).
#[utoipa::path(get, path = "/api/v1/teams/{id}/export", tag = "teams",
    params(("id" = Uuid, Path, description = "Team id")),
    responses(
        (status = 200, description = "AutoGen AgentBuilder JSON", body = Object,
            headers(("Content-Disposition" = String, description = "`attachment; filename=\"team-<id>.json\"`"))),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 404, description = "No such team", body = ErrorBody),
    ))]
pub async fn export_team(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, ApiError> {
    let team = state.store.get_team(user.id, id).await?;
    let disposition = format!("attachment; filename=\"team-{id}.json\"");
    Ok((
        [(header::CONTENT_DISPOSITION, disposition)],
        Json(export_autogen(&team.spec)),
    )
        .into_response())
}

async fn save_new(
    state: &AppState,
    user: &AuthUser,
    spec: &TeamSpec,
) -> Result<Response, ApiError> {
    let team = state.store.create_team(user.id, spec).await?;
    tracing::info!(team_id = %team.id, "team saved");
    let location = format!("/api/v1/teams/{}", team.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(TeamView::from(team)),
    )
        .into_response())
}

/// Checks that a team can be saved and run, naming the offending fields.
fn validate_team(spec: &TeamSpec) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    if spec.name.trim().is_empty() {
        errors.push(FieldError::new("name", "must not be empty"));
    } else if spec.name.chars().count() > MAX_TEAM_NAME_CHARS {
        errors.push(FieldError::new(
            "name",
            format!("must be at most {MAX_TEAM_NAME_CHARS} characters"),
        ));
    }
    if let Err(error) = spec.validate() {
        errors.push(FieldError::new(team_error_field(&error), error.to_string()));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(errors))
    }
}

/// The field a [`TeamError`] is about.
fn team_error_field(error: &TeamError) -> &'static str {
    match error {
        TeamError::NoAgents
        | TeamError::InvalidName(_)
        | TeamError::DuplicateName(_)
        | TeamError::InvalidHumanInput(_)
        | TeamError::InvalidTool(..) => "agents",
        TeamError::UnknownGraphAgent(_) => "speaker_selection",
        TeamError::Format(_) => "team",
    }
}

/// The importer's message without the generic "not a team file" prefix (the endpoint
/// already says what it expects).
fn import_message(error: &TeamError) -> String {
    match error {
        TeamError::Format(message) => format!("invalid team file: {message}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cadre_core::team::AgentSpec;

    #[test]
    fn validation_names_fields() {
        let team = TeamSpec::new(" ", vec![]);
        let error = validate_team(&team).err().map(|e| e.message().to_string());
        assert_eq!(error.as_deref(), Some("2 fields are invalid"));
        let team = TeamSpec::new("t", vec![AgentSpec::new("bad name", "x", "")]);
        let error = validate_team(&team).err().map(|e| e.message().to_string());
        assert!(error.is_some_and(|m| m.starts_with("agents: invalid agent name")));
    }
}
