//! Owns personal API tokens over HTTP (`/api/v1/me/tokens`): created for scripts and CI,
//! shown once, stored hashed, listed without the secret, revocable, optionally expiring.
//! They authenticate like access tokens (`Authorization: Bearer cadre_pat_…`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use cadre_store::{ApiTokenRecord, AuditEntry, AuditEvent, NewApiToken};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::auth::{AuthUser, audit};
use super::error::{ApiError, ErrorBody, FieldError};
use super::extract::{ApiJson, ApiPath};
use crate::auth::token::new_personal_token;

/// Longest token lifetime accepted, in days.
pub const MAX_TOKEN_DAYS: u32 = 3650;

/// The token routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/me/tokens", get(list_tokens).post(create_token))
        .route("/api/v1/me/tokens/{id}", delete(revoke_token))
}

/// `POST /api/v1/me/tokens` body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenBody {
    /// What it is for (1–100 characters).
    pub name: String,
    /// Days until it expires (1–3650); absent: never.
    pub expires_in_days: Option<u32>,
}

/// A personal API token, without its secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenView {
    /// Token id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// Its first characters, to recognise it.
    pub hint: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Expiry, if any.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiTokenRecord> for TokenView {
    fn from(token: ApiTokenRecord) -> Self {
        Self {
            id: token.id,
            name: token.name,
            hint: token.hint,
            created_at: token.created_at,
            expires_at: token.expires_at,
            revoked_at: token.revoked_at,
        }
    }
}

/// A new token: the only time its secret is shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedToken {
    /// The token (`cadre_pat_…`); store it now, it cannot be shown again.
    pub token: String,
    /// The token's record.
    #[serde(flatten)]
    pub record: TokenView,
}

/// Creates a personal API token; its secret is in this response only.
#[utoipa::path(post, path = "/api/v1/me/tokens", tag = "auth", request_body = CreateTokenBody,
    responses(
        (status = 201, description = "Created; `token` is shown only now", body = CreatedToken),
        (status = 422, description = "Invalid name or lifetime", body = ErrorBody),
    ))]
pub async fn create_token(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<CreateTokenBody>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let name = body.name.trim().to_string();
    let mut fields = Vec::new();
    if name.is_empty() || name.chars().count() > 100 {
        fields.push(FieldError::new("name", "must be 1 to 100 characters"));
    }
    if body
        .expires_in_days
        .is_some_and(|days| days == 0 || days > MAX_TOKEN_DAYS)
    {
        fields.push(FieldError::new(
            "expires_in_days",
            format!("must be between 1 and {MAX_TOKEN_DAYS}"),
        ));
    }
    if !fields.is_empty() {
        return Err(ApiError::validation(fields));
    }
    let (token, hash) = new_personal_token().map_err(ApiError::internal)?;
    let record = state
        .store
        .create_api_token(
            user.id,
            NewApiToken {
                name,
                token_hash: hash,
                hint: token.chars().take(14).collect(),
                expires_at: body
                    .expires_in_days
                    .map(|days| Utc::now() + chrono::Duration::days(i64::from(days))),
            },
        )
        .await?;
    audit(
        &state,
        AuditEntry {
            user_id: Some(user.id),
            detail: Some(format!("personal API token {:?}", record.name)),
            ..AuditEntry::new(AuditEvent::TokenIssued)
        },
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            token,
            record: record.into(),
        }),
    ))
}

/// The caller's personal API tokens (never their secrets).
#[utoipa::path(get, path = "/api/v1/me/tokens", tag = "auth",
    responses((status = 200, description = "The caller's tokens, oldest first", body = [TokenView])))]
pub async fn list_tokens(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<Vec<TokenView>>, ApiError> {
    let tokens = state.store.list_api_tokens(user.id).await?;
    Ok(Json(tokens.into_iter().map(TokenView::from).collect()))
}

/// Revokes one of the caller's tokens; it stops working at once.
#[utoipa::path(delete, path = "/api/v1/me/tokens/{id}", tag = "auth",
    params(("id" = Uuid, Path, description = "Token id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such token of the caller", body = ErrorBody),
    ))]
pub async fn revoke_token(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    state.store.revoke_api_token(user.id, id).await?;
    audit(
        &state,
        AuditEntry {
            user_id: Some(user.id),
            detail: Some(format!("personal API token {id}")),
            ..AuditEntry::new(AuditEvent::TokenRevoked)
        },
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
