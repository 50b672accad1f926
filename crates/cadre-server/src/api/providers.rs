//! Owns users' provider credentials over HTTP (`/api/v1/me/providers/{provider}`):
//! write-only keys. A key is sealed on arrival (XChaCha20-Poly1305, see
//! `auth::sealing`); every answer shows a mask (`…abcd`), never the key; only the
//! worker opens it, to call the model.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use cadre_store::{AuditEntry, AuditEvent, StoredCredential};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::auth::{AuthUser, audit};
use super::error::{ApiError, ErrorBody, FieldError};
use super::extract::{ApiJson, ApiPath};
use crate::auth::credentials::{PROVIDERS, seal};

/// The provider routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/me/providers", get(list_providers))
        .route(
            "/api/v1/me/providers/{provider}",
            get(get_provider).put(put_provider).delete(delete_provider),
        )
}

/// A stored credential as shown: never the key.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProviderView {
    /// `openrouter`, `openai` or `custom`.
    pub provider: String,
    /// The key, masked (`…abcd`).
    pub api_key: String,
    /// Base URL (custom endpoints).
    pub base_url: Option<String>,
    /// Model used when a run names none.
    pub default_model: Option<String>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<StoredCredential> for ProviderView {
    fn from(c: StoredCredential) -> Self {
        Self {
            provider: c.provider,
            api_key: c.hint,
            base_url: c.base_url,
            default_model: c.default_model,
            updated_at: c.updated_at,
        }
    }
}

/// `PUT /api/v1/me/providers/{provider}` body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutProviderBody {
    /// The provider's API key (stored sealed, never shown again).
    pub api_key: String,
    /// Base URL of the OpenAI-compatible API (required for `custom`).
    pub base_url: Option<String>,
    /// Model used when a run names none.
    pub default_model: Option<String>,
}

fn check_provider(provider: &str) -> Result<(), ApiError> {
    if PROVIDERS.contains(&provider) {
        return Ok(());
    }
    Err(
        ApiError::not_found("provider").with_details(serde_json::json!({
            "providers": PROVIDERS,
        })),
    )
}

/// The caller's stored credentials, masked.
#[utoipa::path(get, path = "/api/v1/me/providers", tag = "providers",
    responses((status = 200, description = "Stored credentials, masked", body = [ProviderView])))]
pub async fn list_providers(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<Vec<ProviderView>>, ApiError> {
    let stored = state.store.list_credentials(user.id).await?;
    Ok(Json(stored.into_iter().map(ProviderView::from).collect()))
}

/// One stored credential, masked.
#[utoipa::path(get, path = "/api/v1/me/providers/{provider}", tag = "providers",
    params(("provider" = String, Path, description = "`openrouter`, `openai` or `custom`")),
    responses(
        (status = 200, description = "The credential, masked", body = ProviderView),
        (status = 404, description = "None stored, or an unknown provider", body = ErrorBody),
    ))]
pub async fn get_provider(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(provider): ApiPath<String>,
) -> Result<Json<ProviderView>, ApiError> {
    check_provider(&provider)?;
    match state.store.get_credential(user.id, &provider).await? {
        Some(stored) => Ok(Json(stored.into())),
        None => Err(ApiError::not_found("credential")),
    }
}

/// Stores (or replaces) the caller's key for a provider. The answer shows only a mask.
#[utoipa::path(put, path = "/api/v1/me/providers/{provider}", tag = "providers",
    params(("provider" = String, Path, description = "`openrouter`, `openai` or `custom`")),
    request_body = PutProviderBody,
    responses(
        (status = 200, description = "Replaced", body = ProviderView),
        (status = 201, description = "Stored", body = ProviderView),
        (status = 404, description = "Unknown provider", body = ErrorBody),
        (status = 422, description = "Invalid key, URL or model", body = ErrorBody),
    ))]
pub async fn put_provider(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(provider): ApiPath<String>,
    ApiJson(body): ApiJson<PutProviderBody>,
) -> Result<(StatusCode, Json<ProviderView>), ApiError> {
    check_provider(&provider)?;
    let api_key = body.api_key.trim();
    let base_url = body
        .base_url
        .map(|url| url.trim().to_string())
        .filter(|url| !url.is_empty());
    let default_model = body
        .default_model
        .map(|model| model.trim().to_string())
        .filter(|model| !model.is_empty());
    let mut fields = Vec::new();
    if api_key.is_empty() || api_key.len() > 1024 || api_key.chars().any(char::is_whitespace) {
        // The message never repeats the key.
        fields.push(FieldError::new(
            "api_key",
            "must be 1 to 1024 characters without spaces",
        ));
    }
    match &base_url {
        Some(url)
            if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() > 2048 =>
        {
            fields.push(FieldError::new(
                "base_url",
                "must be an http:// or https:// URL",
            ));
        }
        None if provider == "custom" => {
            fields.push(FieldError::new(
                "base_url",
                "required for the custom provider",
            ));
        }
        _ => {}
    }
    if default_model
        .as_ref()
        .is_some_and(|model| model.len() > 200)
    {
        fields.push(FieldError::new(
            "default_model",
            "must be at most 200 characters",
        ));
    }
    if !fields.is_empty() {
        return Err(ApiError::validation(fields));
    }
    let stored = seal(
        &state.auth.sealer,
        user.id,
        &provider,
        api_key,
        base_url,
        default_model,
    )
    .map_err(ApiError::internal)?;
    let created = state.store.put_credential(stored.clone()).await?;
    audit(
        &state,
        AuditEntry {
            user_id: Some(user.id),
            detail: Some(provider.clone()),
            ..AuditEntry::new(if created {
                AuditEvent::CredentialCreated
            } else {
                AuditEvent::CredentialChanged
            })
        },
    )
    .await;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(stored.into())))
}

/// Deletes the caller's key for a provider.
#[utoipa::path(delete, path = "/api/v1/me/providers/{provider}", tag = "providers",
    params(("provider" = String, Path, description = "`openrouter`, `openai` or `custom`")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "None stored, or an unknown provider", body = ErrorBody),
    ))]
pub async fn delete_provider(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(provider): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    check_provider(&provider)?;
    state.store.delete_credential(user.id, &provider).await?;
    audit(
        &state,
        AuditEntry {
            user_id: Some(user.id),
            detail: Some(provider),
            ..AuditEntry::new(AuditEvent::CredentialDeleted)
        },
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
