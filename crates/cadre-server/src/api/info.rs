//! Owns what clients learn about the server before and after signing in: `GET
//! /api/v1/info` (public: version, whether registration is open, the code sandbox) and `GET /api/v1/models`
//! (the models the caller's runs can use: the offline demo, the presets of their
//! provider and the provider's own list).

use std::time::Duration;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use cadre_llm::config::LlmConfig;
use cadre_llm::openai::OpenAiClient;
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::auth::AuthUser;
use super::error::{ApiError, ErrorBody};
use super::sandbox_view::SandboxView;
use crate::auth::credentials::{self, PreferredError};
use crate::worker::provider_config;

/// How long the provider may take to list its models before the list goes without them.
const PROVIDER_LIST_TIMEOUT: Duration = Duration::from_secs(5);
pub use cadre_llm::demo::DEMO_MODEL;

/// The info and model routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/info", get(info))
        .route("/api/v1/models", get(models))
}

/// Public facts about the server.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServerInfo {
    /// The server's version.
    pub version: String,
    /// Whether anyone may create an account (`POST /api/v1/auth/register`).
    pub registration: bool,
    /// The sandbox generated code runs in.
    pub sandbox: SandboxView,
}

/// The server's version and whether registration is open.
#[utoipa::path(get, path = "/api/v1/info", tag = "auth", security(()),
    responses((status = 200, description = "Server facts", body = ServerInfo)))]
pub async fn info(State(state): State<AppState>) -> Json<ServerInfo> {
    Json(ServerInfo {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        registration: state.auth.allow_registration,
        sandbox: state.sandbox.as_ref().clone(),
    })
}

/// Where a model in the list comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ModelSource {
    /// The offline demo model: no key, no network, a scripted team.
    Demo,
    /// A well-known model of the provider.
    Preset,
    /// Listed by the provider for this key.
    Provider,
}

/// One model a run may name.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModelOption {
    /// What to pass as `model` (or `build.model`).
    pub id: String,
    /// What to show.
    pub label: String,
    /// Where it comes from.
    pub source: ModelSource,
}

/// The models the caller's runs can use.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModelCatalog {
    /// What a run without `model` uses (`demo` when no provider is configured).
    pub default_model: String,
    /// Whether a provider is configured for the caller: their own key, or the server's
    /// when it shares it. When false only the demo model works.
    pub provider_configured: bool,
    /// The provider runs go to (`openrouter`, `openai`, `ollama`, `custom`), if any.
    pub provider: Option<String>,
    /// Whose key: `user` (stored in settings) or `server`; absent without a provider.
    pub key_owner: Option<String>,
    /// The demo first, then presets, then the provider's list.
    pub models: Vec<ModelOption>,
    /// Why the provider's list is missing (unreachable, key refused…), if it is.
    pub provider_error: Option<String>,
}

/// The models the caller can run: the offline demo, their provider's presets and the
/// models the provider lists for their key (asked live, at most 5 s).
#[utoipa::path(get, path = "/api/v1/models", tag = "runs",
    responses(
        (status = 200, description = "Models the caller can use", body = ModelCatalog),
        (status = 401, description = "No valid access token", body = ErrorBody),
    ))]
pub async fn models(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<ModelCatalog>, ApiError> {
    let credential =
        match credentials::preferred(state.store.as_ref(), &state.auth.sealer, user.id).await {
            Ok(credential) => Ok(credential),
            Err(PreferredError::Store(error)) => return Err(error.into()),
            Err(unreadable @ PreferredError::Unreadable { .. }) => Err(unreadable.to_string()),
        };
    let demo = ModelOption {
        id: DEMO_MODEL.to_owned(),
        label: "Offline demo (scripted team, no key needed)".to_owned(),
        source: ModelSource::Demo,
    };
    let (credential, key_owner) = match credential {
        Ok(Some(credential)) => (Some(credential), "user"),
        Ok(None) => (None, "server"),
        Err(message) => {
            return Ok(Json(unconfigured(demo, Some(message))));
        }
    };
    let config = match provider_config(credential.as_ref(), state.share_server_key, None) {
        Ok(config) => config,
        Err(_) => return Ok(Json(unconfigured(demo, None))),
    };
    let (listed, provider_error) = provider_models(&config).await;
    let mut models = vec![demo];
    let mut seen = std::collections::HashSet::from([DEMO_MODEL.to_owned()]);
    let presets = std::iter::once(config.model.as_str())
        .chain(config.provider.presets().iter().copied())
        .map(|id| (id.to_owned(), ModelSource::Preset));
    let listed = listed.into_iter().map(|id| (id, ModelSource::Provider));
    for (id, source) in presets.chain(listed) {
        if seen.insert(id.clone()) {
            models.push(ModelOption {
                label: id.clone(),
                id,
                source,
            });
        }
    }
    Ok(Json(ModelCatalog {
        default_model: config.model.clone(),
        provider_configured: true,
        provider: Some(config.provider.name().to_owned()),
        key_owner: Some(key_owner.to_owned()),
        models,
        provider_error,
    }))
}

fn unconfigured(demo: ModelOption, provider_error: Option<String>) -> ModelCatalog {
    ModelCatalog {
        default_model: DEMO_MODEL.to_owned(),
        provider_configured: false,
        provider: None,
        key_owner: None,
        models: vec![demo],
        provider_error,
    }
}

/// The provider's own list, or why there is none.
async fn provider_models(config: &LlmConfig) -> (Vec<String>, Option<String>) {
    let mut config = config.clone();
    config.request_timeout = PROVIDER_LIST_TIMEOUT;
    config.idle_timeout = PROVIDER_LIST_TIMEOUT;
    let listed = match OpenAiClient::new(config) {
        Ok(client) => client.list_models().await,
        Err(error) => Err(error),
    };
    match listed {
        Ok(models) => (models, None),
        Err(error) => (
            Vec::new(),
            Some(format!("the provider's model list is unavailable: {error}")),
        ),
    }
}
