//! [`ModelFactory`]: which [`ChatModel`] a run uses. [`EnvModels`] is the service's:
//! `demo` plays the offline demo model; anything else goes to the owner's stored
//! provider key when they have one, else to the provider configured by the environment
//! (`docs/DESIGN.md` §8) if the server shares its key. [`FixedModel`] gives every run the
//! same model (tests, benchmarks).

use std::sync::Arc;
use std::time::Duration;

use cadre_core::model::{ChatModel, ModelError};
use cadre_llm::config::{LlmConfig, Overrides};
use cadre_llm::demo::{DEMO_MODEL, DemoModel};
use cadre_llm::openai::OpenAiClient;

use crate::auth::credentials::UserCredential;
use crate::run_request::StoredRunRequest;

/// Chooses the model of a run.
pub trait ModelFactory: Send + Sync {
    /// The model for this run, given the owner's provider credential if they stored one,
    /// or why there is none.
    fn model(
        &self,
        request: &StoredRunRequest,
        credential: Option<&UserCredential>,
    ) -> Result<Arc<dyn ChatModel>, ModelError>;
}

/// Why a run without its owner's key gets no model when the server keeps its own.
pub const NO_USER_KEY: &str = "no LLM provider key: store one with PUT /api/v1/me/providers/{provider} \
     (openrouter, openai or custom), or use the offline demo model (\"model\": \"demo\")";

/// Models from the owner's key or the environment, with the offline demo model under
/// the name `demo`.
#[derive(Debug, Clone)]
pub struct EnvModels {
    /// Pause before each demo answer (`CADRE_SCRIPTED_DELAY_MS`), so runs can be
    /// cancelled or their worker killed mid-way.
    pub demo_delay: Duration,
    /// Whether runs of users without a key of their own may use the server's
    /// (`CADRE_SHARE_SERVER_KEY`).
    pub share_server_key: bool,
}

impl Default for EnvModels {
    fn default() -> Self {
        Self {
            demo_delay: Duration::ZERO,
            share_server_key: true,
        }
    }
}

impl ModelFactory for EnvModels {
    fn model(
        &self,
        request: &StoredRunRequest,
        credential: Option<&UserCredential>,
    ) -> Result<Arc<dyn ChatModel>, ModelError> {
        if request.model.as_deref() == Some(DEMO_MODEL) {
            return Ok(Arc::new(DemoModel::new().with_delay(self.demo_delay)));
        }
        let config = provider_config(credential, self.share_server_key, request.model.clone())?;
        Ok(Arc::new(OpenAiClient::new(config)?))
    }
}

/// Where a run of a user with `credential` (their preferred stored key, if any) goes
/// for `model` (`None`: the key's or the server's default): the user's key through the
/// same resolution as the environment's (only the server's price table is taken from the
/// process environment), else the server's provider when `share_server_key`.
pub fn provider_config(
    credential: Option<&UserCredential>,
    share_server_key: bool,
    model: Option<String>,
) -> Result<LlmConfig, ModelError> {
    let overrides = Overrides {
        model,
        base_url: None,
    };
    match credential {
        Some(credential) => {
            let prices = std::env::var("CADRE_LLM_PRICES").ok();
            LlmConfig::resolve(
                |name| match name {
                    "CADRE_LLM_PROVIDER" => Some(credential.provider.clone()),
                    "CADRE_LLM_API_KEY" => Some(credential.api_key.expose().to_string()),
                    "CADRE_LLM_BASE_URL" => credential.base_url.clone(),
                    "CADRE_LLM_MODEL" => credential.default_model.clone(),
                    "CADRE_LLM_PRICES" => prices.clone(),
                    _ => None,
                },
                &overrides,
            )
        }
        None if share_server_key => LlmConfig::from_env(&overrides),
        None => Err(ModelError::Config(NO_USER_KEY.into())),
    }
}

/// The same model for every run.
#[derive(Clone)]
pub struct FixedModel(pub Arc<dyn ChatModel>);

impl ModelFactory for FixedModel {
    fn model(
        &self,
        _request: &StoredRunRequest,
        _credential: Option<&UserCredential>,
    ) -> Result<Arc<dyn ChatModel>, ModelError> {
        Ok(self.0.clone())
    }
}
