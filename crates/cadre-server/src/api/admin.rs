//! Owns the admin routes (`/api/v1/admin/…`): every user, everyone's runs and the audit
//! log of security events. Non-admins get 403.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use cadre_store::{AuditRecord, RunQuery};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::AppState;
use super::auth::{AdminUser, UserView};
use super::error::{ApiError, ErrorBody};
use super::extract::ApiQuery;
use super::runs::{ListRunsQuery, RunList, RunView};

/// The admin routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/admin/users", get(list_users))
        .route("/api/v1/admin/runs", get(list_all_runs))
        .route("/api/v1/admin/audit", get(list_audit))
}

/// Every account, oldest first.
#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin",
    responses(
        (status = 200, description = "All users", body = [UserView]),
        (status = 403, description = "Not an admin", body = ErrorBody),
    ))]
pub async fn list_users(
    State(state): State<AppState>,
    _admin: AdminUser,
) -> Result<Json<Vec<UserView>>, ApiError> {
    let users = state.store.list_users().await?;
    Ok(Json(users.into_iter().map(UserView::from).collect()))
}

/// Everyone's runs, newest first (same parameters as `GET /api/v1/runs`).
#[utoipa::path(get, path = "/api/v1/admin/runs", tag = "admin", params(ListRunsQuery),
    responses(
        (status = 200, description = "A page of runs of all users", body = RunList),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 422, description = "Invalid parameters", body = ErrorBody),
    ))]
pub async fn list_all_runs(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiQuery(query): ApiQuery<ListRunsQuery>,
) -> Result<Json<RunList>, ApiError> {
    let limit = super::runs::page_limit(query.limit)?;
    let (runs, next_cursor) = state
        .store
        .list_runs_of(RunQuery {
            owner: None,
            status: query.status,
            limit,
            cursor: query.cursor,
        })
        .await?;
    Ok(Json(RunList {
        runs: runs.into_iter().map(RunView::from).collect(),
        next_cursor,
    }))
}

/// `GET /api/v1/admin/audit` parameters.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Page size (1..=500, default 100).
    pub limit: Option<u32>,
    /// Only events older than this id (the last `id` of the previous page).
    pub before: Option<i64>,
}

/// One security event.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditView {
    /// Increasing id.
    pub id: i64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The account concerned, if known.
    pub user_id: Option<Uuid>,
    /// The login name given.
    pub email: Option<String>,
    /// `login_ok`, `login_failed`, `login_throttled`, `token_issued`, `token_refreshed`,
    /// `refresh_token_reused`, `token_revoked`, `user_created`, `user_registered`,
    /// `user_disabled`, `user_enabled`, `password_changed`, …
    pub event: String,
    /// Detail.
    pub detail: Option<String>,
    /// Client address.
    pub ip: Option<String>,
}

impl From<AuditRecord> for AuditView {
    fn from(record: AuditRecord) -> Self {
        Self {
            id: record.id,
            at: record.at,
            user_id: record.user_id,
            email: record.email,
            event: record.event,
            detail: record.detail,
            ip: record.ip,
        }
    }
}

/// The audit log, newest first.
#[utoipa::path(get, path = "/api/v1/admin/audit", tag = "admin", params(AuditQuery),
    responses(
        (status = 200, description = "Security events, newest first", body = [AuditView]),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 422, description = "Invalid parameters", body = ErrorBody),
    ))]
pub async fn list_audit(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<Vec<AuditView>>, ApiError> {
    let limit = super::runs::page_limit(Some(query.limit.unwrap_or(100)))?;
    let records = state.store.list_audit(limit, query.before).await?;
    Ok(Json(records.into_iter().map(AuditView::from).collect()))
}
