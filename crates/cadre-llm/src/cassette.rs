//! Record/replay of real model exchanges. [`RecordingModel`] wraps any model and appends
//! each exchange to a JSON-lines cassette; [`replay`] turns a cassette into a
//! [`ScriptedModel`] that answers the same calls offline, matched by purpose.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use cadre_core::model::{ChatModel, ChatRequest, ChatResponse, DeltaSink, ModelError};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::scripted::{ScriptedModel, ScriptedReply};

/// One recorded exchange: a line of a cassette.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    /// Purpose label of the call (`agent_reply:Coder`).
    pub purpose: String,
    /// The request as the engine made it.
    pub request: ChatRequest,
    /// The response, when the call succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<ChatResponse>,
    /// The error, when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A model that records every exchange of an inner model to a cassette file.
pub struct RecordingModel {
    inner: Arc<dyn ChatModel>,
    file: Mutex<std::fs::File>,
}

impl RecordingModel {
    /// Records `inner`'s exchanges to `path` (created or truncated).
    pub fn create(inner: Arc<dyn ChatModel>, path: &Path) -> Result<Self, ModelError> {
        let file = std::fs::File::create(path).map_err(|e| {
            ModelError::Config(format!("cannot create cassette {}: {e}", path.display()))
        })?;
        Ok(Self {
            inner,
            file: Mutex::new(file),
        })
    }

    fn append(&self, exchange: &Exchange) {
        let written = serde_json::to_string(exchange)
            .map_err(|e| e.to_string())
            .and_then(|line| match self.file.lock() {
                Ok(mut file) => writeln!(file, "{line}").map_err(|e| e.to_string()),
                Err(_) => Err("cassette lock poisoned".to_string()),
            });
        if let Err(error) = written {
            tracing::warn!(%error, "could not record exchange");
        }
    }
}

#[async_trait]
impl ChatModel for RecordingModel {
    fn model_name(&self) -> &str {
        self.inner.model_name()
    }

    fn provider_name(&self) -> &str {
        self.inner.provider_name()
    }

    async fn chat(
        &self,
        request: ChatRequest,
        on_delta: DeltaSink<'_>,
        cancel: &CancellationToken,
    ) -> Result<ChatResponse, ModelError> {
        let result = self.inner.chat(request.clone(), on_delta, cancel).await;
        if !matches!(result, Err(ModelError::Cancelled)) {
            let (response, error) = match &result {
                Ok(response) => (Some(response.clone()), None),
                Err(error) => (None, Some(error.to_string())),
            };
            self.append(&Exchange {
                purpose: request.purpose.label(),
                request,
                response,
                error,
            });
        }
        result
    }
}

/// A scripted model answering each call with the recorded reply to the call of the same
/// purpose, in recorded order.
pub fn replay(path: &Path) -> Result<ScriptedModel, ModelError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ModelError::Config(format!("cannot read cassette {}: {e}", path.display())))?;
    let mut replies = Vec::new();
    let mut model_name = None;
    for (number, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let exchange: Exchange = serde_json::from_str(line).map_err(|e| {
            ModelError::Config(format!(
                "invalid cassette {} line {}: {e}",
                path.display(),
                number + 1
            ))
        })?;
        let reply = match exchange.response {
            Some(response) => {
                model_name.get_or_insert_with(|| response.model.clone());
                ScriptedReply {
                    purpose: Some(exchange.purpose),
                    content: response.content,
                    tool_calls: response.tool_calls,
                    usage: Some(response.usage),
                    model: Some(response.model),
                    error: None,
                }
            }
            None => ScriptedReply {
                error: Some(exchange.error.unwrap_or_else(|| "recorded failure".into())),
                ..ScriptedReply::text("").for_purpose(exchange.purpose)
            },
        };
        replies.push(reply);
    }
    Ok(ScriptedModel::new(
        model_name.unwrap_or_else(|| "replay".into()),
        replies,
    ))
}

#[cfg(test)]
mod tests {
    use cadre_core::message::ChatMessage;
    use cadre_core::model::Purpose;

    use super::*;
    use crate::demo::DemoModel;

    #[tokio::test]
    async fn recorded_exchanges_replay_identically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.cassette.jsonl");
        let recorder = RecordingModel::create(Arc::new(DemoModel::new()), &path).unwrap();
        let cancel = CancellationToken::new();
        let names = ChatRequest::new(Purpose::BuildAgentNames, vec![ChatMessage::user("primes")]);
        let coding = ChatRequest::new(Purpose::BuildCoding, vec![ChatMessage::user("primes")]);
        let live_names = recorder
            .chat(names.clone(), &mut |_| {}, &cancel)
            .await
            .unwrap();
        let live_coding = recorder
            .chat(coding.clone(), &mut |_| {}, &cancel)
            .await
            .unwrap();

        let replayed = replay(&path).unwrap();
        // Out of order on purpose: replies are matched by purpose, not position.
        assert_eq!(
            replayed.chat(coding, &mut |_| {}, &cancel).await.unwrap(),
            live_coding
        );
        assert_eq!(
            replayed.chat(names, &mut |_| {}, &cancel).await.unwrap(),
            live_names
        );
        assert_eq!(replayed.remaining(), 0);
    }

    #[test]
    fn broken_cassette_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.jsonl");
        std::fs::write(&path, "\n{not json}\n").unwrap();
        let err = replay(&path).err().unwrap();
        assert!(err.to_string().contains("line 2"), "{err}");
    }
}
