//! [`TeamBuilder`]: designs a team for a task, following AutoGen's AgentBuilder flow.
//! PLACEHOLDER: being implemented.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::event::{RunEmitter, UsageTotals};
use crate::model::{ChatModel, ModelError};
use crate::team::TeamSpec;

/// Options of one build.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildOptions {
    /// Most experts the team may have (the executor is not counted).
    pub max_agents: usize,
    /// Force code execution on or off; `None` lets the model decide.
    pub coding: Option<bool>,
    /// Model for the builder's calls (and the team's default model).
    pub model: Option<String>,
    /// How many times malformed output is re-asked before the build fails.
    pub max_parse_retries: u32,
}

impl Default for BuildOptions {
    fn default() -> Self {
        Self {
            max_agents: 4,
            coding: None,
            model: None,
            max_parse_retries: 2,
        }
    }
}

/// Why a team could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BuildError {
    /// The model call failed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The model's output stayed unusable after the retries.
    #[error("team builder could not parse the model's {step} after {attempts} attempts: {detail}")]
    Malformed {
        /// Which step (`agent names`, `system message for X`, …).
        step: String,
        /// Attempts made.
        attempts: u32,
        /// Last parse error.
        detail: String,
    },
    /// Events could not be delivered.
    #[error(transparent)]
    Sink(#[from] crate::event::SinkError),
}

/// A built team and what building it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildOutcome {
    /// The team.
    pub team: TeamSpec,
    /// Usage of the builder's calls.
    pub usage: UsageTotals,
}

/// Designs teams with a model.
pub struct TeamBuilder {
    model: Arc<dyn ChatModel>,
    options: BuildOptions,
}

impl TeamBuilder {
    /// A builder that asks `model`.
    pub fn new(model: Arc<dyn ChatModel>, options: BuildOptions) -> Self {
        Self { model, options }
    }

    /// Builds a team for `task`, emitting a `usage` event per model call (and `log` events
    /// for retried output) through `emitter`.
    pub async fn build(
        &self,
        task: &str,
        emitter: &RunEmitter,
        cancel: &CancellationToken,
    ) -> Result<BuildOutcome, BuildError> {
        let _ = (task, emitter, cancel, &self.model, &self.options);
        Err(BuildError::Malformed {
            step: "placeholder".into(),
            attempts: 0,
            detail: String::new(),
        })
    }
}
