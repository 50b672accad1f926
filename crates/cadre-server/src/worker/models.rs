//! [`ModelFactory`]: which [`ChatModel`] a run uses. [`EnvModels`] is the service's:
//! `demo` plays the offline demo model, anything else goes to the OpenAI-compatible
//! provider configured by the environment (DESIGN §8). [`FixedModel`] gives every run
//! the same model (tests, benchmarks).

use std::sync::Arc;
use std::time::Duration;

use cadre_core::model::{ChatModel, ModelError};
use cadre_llm::config::{LlmConfig, Overrides};
use cadre_llm::demo::DemoModel;
use cadre_llm::openai::OpenAiClient;

use crate::run_request::StoredRunRequest;

/// Chooses the model of a run.
pub trait ModelFactory: Send + Sync {
    /// The model for this run, or why there is none.
    fn model(&self, request: &StoredRunRequest) -> Result<Arc<dyn ChatModel>, ModelError>;
}

/// Models from the environment, with the offline demo model under the name `demo`.
#[derive(Debug, Clone, Default)]
pub struct EnvModels {
    /// Pause before each demo answer (`CADRE_SCRIPTED_DELAY_MS`), so runs can be
    /// cancelled or their worker killed mid-way.
    pub demo_delay: Duration,
}

impl ModelFactory for EnvModels {
    fn model(&self, request: &StoredRunRequest) -> Result<Arc<dyn ChatModel>, ModelError> {
        if request.model.as_deref() == Some("demo") {
            return Ok(Arc::new(DemoModel::new().with_delay(self.demo_delay)));
        }
        let overrides = Overrides {
            model: request.model.clone(),
            base_url: None,
        };
        Ok(Arc::new(OpenAiClient::new(LlmConfig::from_env(
            &overrides,
        )?)?))
    }
}

/// The same model for every run.
#[derive(Clone)]
pub struct FixedModel(pub Arc<dyn ChatModel>);

impl ModelFactory for FixedModel {
    fn model(&self, _request: &StoredRunRequest) -> Result<Arc<dyn ChatModel>, ModelError> {
        Ok(self.0.clone())
    }
}
