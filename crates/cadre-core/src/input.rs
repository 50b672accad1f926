//! The [`InputSource`] capability: where a run gets human answers (manual speaker
//! selection, human-in-the-loop turns). The CLI reads the terminal; the service waits for
//! `POST /runs/{id}/input`.

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

/// Failure to get human input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// Nobody can answer (no terminal, input closed).
    #[error("no human input available: {0}")]
    Unavailable(String),
    /// The run was cancelled while waiting.
    #[error("cancelled while waiting for input")]
    Cancelled,
}

/// Asks a human a question and waits for the answer.
#[async_trait]
pub trait InputSource: Send + Sync {
    /// Returns the human's answer to `prompt`.
    async fn ask(&self, prompt: &str, cancel: &CancellationToken) -> Result<String, InputError>;
}

/// An input source that never has an answer (non-interactive runs).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoInput;

#[async_trait]
impl InputSource for NoInput {
    async fn ask(&self, _prompt: &str, _cancel: &CancellationToken) -> Result<String, InputError> {
        Err(InputError::Unavailable(
            "this run is not interactive".into(),
        ))
    }
}
