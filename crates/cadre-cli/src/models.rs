//! Chooses the [`ChatModel`] of a CLI run: `--replay` cassette, `--script` file, the
//! offline `demo` model, or an OpenAI-compatible provider from flags and environment;
//! `--record` wraps whichever it is.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use cadre_core::ChatModel;
use cadre_llm::cassette::{RecordingModel, replay};
use cadre_llm::config::{LlmConfig, Overrides};
use cadre_llm::demo::{DEMO_MODEL, DemoModel};
use cadre_llm::openai::OpenAiClient;
use cadre_llm::scripted::ScriptedModel;

/// Where the model comes from.
pub struct ModelChoice {
    /// `--model`.
    pub model: Option<String>,
    /// `--base-url`.
    pub base_url: Option<String>,
    /// `--script`.
    pub script: Option<PathBuf>,
    /// `--replay`.
    pub replay: Option<PathBuf>,
    /// `--record`.
    pub record: Option<PathBuf>,
}

/// Builds the model, or says in one line what to configure.
pub fn resolve(choice: &ModelChoice) -> anyhow::Result<Arc<dyn ChatModel>> {
    let delay = scripted_delay()?;
    let model: Arc<dyn ChatModel> = if let Some(path) = &choice.replay {
        Arc::new(replay(path)?.with_delay(delay))
    } else if let Some(path) = &choice.script {
        Arc::new(ScriptedModel::from_file(path)?.with_delay(delay))
    } else if choice.model.as_deref() == Some(DEMO_MODEL) {
        Arc::new(DemoModel::new().with_delay(delay))
    } else {
        let overrides = Overrides {
            model: choice.model.clone(),
            base_url: choice.base_url.clone(),
        };
        Arc::new(OpenAiClient::new(LlmConfig::from_env(&overrides)?)?)
    };
    Ok(match &choice.record {
        Some(path) => Arc::new(RecordingModel::create(model, path)?),
        None => model,
    })
}

/// `CADRE_SCRIPTED_DELAY_MS`: a pause before each scripted answer, so tests can cancel
/// or kill runs mid-way.
fn scripted_delay() -> anyhow::Result<Duration> {
    match std::env::var("CADRE_SCRIPTED_DELAY_MS") {
        Ok(ms) => Ok(Duration::from_millis(ms.trim().parse().context(
            "CADRE_SCRIPTED_DELAY_MS must be a number of milliseconds",
        )?)),
        Err(_) => Ok(Duration::ZERO),
    }
}
