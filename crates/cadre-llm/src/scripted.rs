//! The scripted model: answers from a list of prepared replies instead of a provider.
//! Used for tests (a script file per scenario), for replaying recorded cassettes, and as
//! the streaming/usage core of the [`crate::demo`] model.
//!
//! A reply may name the purpose it answers (`build_agent_names`, `agent_reply:Coder`, or
//! just `agent_reply`), so that concurrent calls (the team builder asks for every agent's
//! system message at once) get the right reply whatever order they arrive in.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use cadre_core::model::{
    ChatModel, ChatRequest, ChatResponse, DeltaSink, ModelError, ToolCall, Usage,
};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

/// One prepared reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScriptedReply {
    /// Which calls it answers: a purpose label (`agent_reply:Coder`) or its kind
    /// (`agent_reply`). `None` answers any call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// Text of the reply.
    #[serde(default)]
    pub content: String,
    /// Function calls of the reply.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// Usage to report; estimated from the text when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Model name to report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Fail this call with a provider error carrying this message instead of answering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ScriptedReply {
    /// A reply with this text for any purpose.
    pub fn text(content: impl Into<String>) -> Self {
        Self {
            purpose: None,
            content: content.into(),
            tool_calls: vec![],
            usage: None,
            model: None,
            error: None,
        }
    }

    /// The same reply restricted to calls with this purpose label or kind.
    pub fn for_purpose(mut self, purpose: impl Into<String>) -> Self {
        self.purpose = Some(purpose.into());
        self
    }

    fn answers(&self, label: &str) -> bool {
        match &self.purpose {
            None => true,
            Some(wanted) => wanted == label || label.split(':').next() == Some(wanted.as_str()),
        }
    }
}

/// A script file: `{"model": "...", "replies": [...]}` or a bare list of replies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ScriptFile {
    /// Named script.
    Named {
        /// Model name to report.
        #[serde(default)]
        model: Option<String>,
        /// Replies, used in order.
        replies: Vec<ScriptedReply>,
    },
    /// Just the replies.
    Replies(Vec<ScriptedReply>),
}

/// A model that answers from a script, each reply once, in order per purpose.
pub struct ScriptedModel {
    name: String,
    replies: Mutex<Vec<Option<ScriptedReply>>>,
    delay: Duration,
}

impl ScriptedModel {
    /// A model named `name` with these replies.
    pub fn new(name: impl Into<String>, replies: Vec<ScriptedReply>) -> Self {
        Self {
            name: name.into(),
            replies: Mutex::new(replies.into_iter().map(Some).collect()),
            delay: Duration::ZERO,
        }
    }

    /// Loads a script file (see [`ScriptFile`]).
    pub fn from_file(path: &Path) -> Result<Self, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ModelError::Config(format!("cannot read script {}: {e}", path.display()))
        })?;
        let script: ScriptFile = serde_json::from_str(&text)
            .map_err(|e| ModelError::Config(format!("invalid script {}: {e}", path.display())))?;
        Ok(match script {
            ScriptFile::Named { model, replies } => {
                Self::new(model.unwrap_or_else(|| "scripted".into()), replies)
            }
            ScriptFile::Replies(replies) => Self::new("scripted", replies),
        })
    }

    /// Waits this long before each reply (lets tests cancel or kill runs mid-way).
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Replies not used yet.
    pub fn remaining(&self) -> usize {
        self.replies
            .lock()
            .map(|r| r.iter().flatten().count())
            .unwrap_or(0)
    }

    fn take(&self, label: &str) -> Option<ScriptedReply> {
        let mut replies = self.replies.lock().ok()?;
        replies
            .iter_mut()
            .find(|slot| slot.as_ref().is_some_and(|r| r.answers(label)))
            .and_then(Option::take)
    }
}

#[async_trait]
impl ChatModel for ScriptedModel {
    fn model_name(&self) -> &str {
        &self.name
    }

    fn provider_name(&self) -> &str {
        "scripted"
    }

    async fn chat(
        &self,
        request: ChatRequest,
        on_delta: DeltaSink<'_>,
        cancel: &CancellationToken,
    ) -> Result<ChatResponse, ModelError> {
        let label = request.purpose.label();
        let reply = self.take(&label).ok_or_else(|| {
            ModelError::InvalidResponse(format!(
                "scripted model `{}` has no reply left for `{label}`",
                self.name
            ))
        })?;
        wait(self.delay, cancel).await?;
        if let Some(message) = reply.error {
            return Err(ModelError::Provider {
                status: None,
                message,
                retryable: false,
            });
        }
        let model = reply
            .model
            .or(request.model.clone())
            .unwrap_or_else(|| self.name.clone());
        let usage = reply
            .usage
            .unwrap_or_else(|| estimate_usage(&request, &reply.content));
        stream_text(&reply.content, on_delta);
        Ok(ChatResponse {
            model,
            content: reply.content,
            tool_calls: reply.tool_calls,
            usage,
            finish_reason: Some("stop".into()),
        })
    }
}

/// Sleeps `delay` unless cancelled first.
pub(crate) async fn wait(delay: Duration, cancel: &CancellationToken) -> Result<(), ModelError> {
    if cancel.is_cancelled() {
        return Err(ModelError::Cancelled);
    }
    if delay.is_zero() {
        return Ok(());
    }
    tokio::select! {
        () = cancel.cancelled() => Err(ModelError::Cancelled),
        () = tokio::time::sleep(delay) => Ok(()),
    }
}

/// Streams `content` in word-sized pieces, as a provider would.
pub(crate) fn stream_text(content: &str, on_delta: DeltaSink<'_>) {
    for piece in pieces(content) {
        on_delta(piece);
    }
}

/// Streams `content` in word-sized pieces spread evenly over `over`, so a watcher sees the
/// text arrive as from a real provider.
pub(crate) async fn stream_text_paced(
    content: &str,
    over: Duration,
    on_delta: DeltaSink<'_>,
    cancel: &CancellationToken,
) -> Result<(), ModelError> {
    let pieces = pieces(content);
    let count = u32::try_from(pieces.len()).unwrap_or(u32::MAX).max(1);
    let gap = over / count;
    for piece in pieces {
        on_delta(piece);
        wait(gap, cancel).await?;
    }
    Ok(())
}

/// `content` cut after spaces into pieces of at least 16 bytes (the last may be shorter).
fn pieces(content: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    for (at, _) in content.match_indices(' ') {
        if at + 1 - start >= 16 {
            pieces.push(&content[start..at + 1]);
            start = at + 1;
        }
    }
    if start < content.len() {
        pieces.push(&content[start..]);
    }
    pieces
}

/// Token counts estimated at four characters a token, the usual rule of thumb.
pub(crate) fn estimate_usage(request: &ChatRequest, content: &str) -> Usage {
    let prompt_chars: usize = request.messages.iter().map(|m| m.content.len() + 4).sum();
    Usage {
        prompt_tokens: prompt_chars.div_ceil(4) as u64,
        completion_tokens: content.len().div_ceil(4) as u64,
        cost_usd: Some(0.0),
    }
}

#[cfg(test)]
mod tests {
    use cadre_core::message::ChatMessage;
    use cadre_core::model::Purpose;

    use super::*;

    fn request(purpose: Purpose) -> ChatRequest {
        ChatRequest::new(purpose, vec![ChatMessage::user("hello there")])
    }

    #[tokio::test]
    async fn replies_match_purpose_whatever_the_order() {
        let model = ScriptedModel::new(
            "s",
            vec![
                ScriptedReply::text("for B").for_purpose("agent_reply:B"),
                ScriptedReply::text("for A").for_purpose("agent_reply:A"),
                ScriptedReply::text("any reply").for_purpose("agent_reply"),
            ],
        );
        let cancel = CancellationToken::new();
        let mut deltas = String::new();
        let a = model
            .chat(
                request(Purpose::AgentReply { agent: "A".into() }),
                &mut |d| deltas.push_str(d),
                &cancel,
            )
            .await
            .unwrap();
        assert_eq!(a.content, "for A");
        assert_eq!(deltas, "for A");
        let c = model
            .chat(
                request(Purpose::AgentReply { agent: "C".into() }),
                &mut |_| {},
                &cancel,
            )
            .await
            .unwrap();
        assert_eq!(c.content, "any reply");
        let b = model
            .chat(
                request(Purpose::AgentReply { agent: "B".into() }),
                &mut |_| {},
                &cancel,
            )
            .await
            .unwrap();
        assert_eq!(b.content, "for B");
        let err = model
            .chat(request(Purpose::BuildCoding), &mut |_| {}, &cancel)
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("no reply left for `build_coding`"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn delay_is_cancellable_and_errors_are_scripted() {
        let model = ScriptedModel::new(
            "s",
            vec![ScriptedReply {
                error: Some("quota exceeded".into()),
                ..ScriptedReply::text("")
            }],
        )
        .with_delay(Duration::from_secs(30));
        let cancel = CancellationToken::new();
        cancel.cancel();
        let err = model
            .chat(request(Purpose::Other), &mut |_| {}, &cancel)
            .await
            .unwrap_err();
        assert_eq!(err, ModelError::Cancelled);
        let model = ScriptedModel::new(
            "s",
            vec![ScriptedReply {
                error: Some("quota exceeded".into()),
                ..ScriptedReply::text("")
            }],
        );
        let err = model
            .chat(
                request(Purpose::Other),
                &mut |_| {},
                &CancellationToken::new(),
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("quota exceeded"));
    }

    #[test]
    fn streaming_reassembles_exactly() {
        let text = "The quick brown fox jumps over the lazy dog, again and again and again.";
        let mut out = String::new();
        let mut pieces = 0;
        stream_text(text, &mut |d| {
            out.push_str(d);
            pieces += 1;
        });
        assert_eq!(out, text);
        assert!(pieces > 1);
    }
}
