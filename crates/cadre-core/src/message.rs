//! Chat messages: the wire-neutral shape the engine sends to a [`crate::ChatModel`], and the
//! transcript entries a run persists and can resume from.

use serde::{Deserialize, Serialize};

/// Who authored a chat message, in the OpenAI chat-completions sense.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Instructions that frame the model's behaviour.
    System,
    /// Input to the model (the task, and other agents' turns as seen by this agent).
    User,
    /// The model's own earlier turns.
    Assistant,
}

/// One message of a model request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Author role.
    pub role: Role,
    /// Text content.
    pub content: String,
    /// Optional author name (agent name), forwarded to providers that accept it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl ChatMessage {
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self {
            role: Role::System,
            content: content.into(),
            name: None,
        }
    }
    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: content.into(),
            name: None,
        }
    }
    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self {
            role: Role::Assistant,
            content: content.into(),
            name: None,
        }
    }
    /// The same message attributed to a named agent.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
}

/// One turn of a group chat as it is persisted: the unit a run resumes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscriptMessage {
    /// Stable id, shared by the `message_delta`, `message` and `code` events of this turn.
    pub message_id: String,
    /// Speaking agent (or the admin/user name for the task and human input).
    pub agent: String,
    /// Full text of the turn.
    pub content: String,
    /// Completion tokens the turn cost (0 for human and executor turns).
    #[serde(default)]
    pub tokens: u64,
}
