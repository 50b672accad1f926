//! Chat messages: the wire-neutral shape the engine sends to a [`crate::ChatModel`], and the
//! transcript entries a run persists and can resume from.

use serde::{Deserialize, Serialize};

use crate::model::ToolCall;

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
    /// The result of a tool the model called (answers the assistant message's
    /// `tool_calls`, by `tool_call_id`).
    Tool,
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
    /// The tools an assistant message called (its `content` may then be empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For a [`Role::Tool`] message: the call it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl ChatMessage {
    fn with_role(role: Role, content: String) -> Self {
        Self {
            role,
            content,
            name: None,
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self::with_role(Role::System, content.into())
    }
    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self::with_role(Role::User, content.into())
    }
    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::with_role(Role::Assistant, content.into())
    }
    /// An assistant message that called tools (with whatever text came with the calls).
    pub fn assistant_with_tool_calls(content: impl Into<String>, calls: Vec<ToolCall>) -> Self {
        let mut message = Self::with_role(Role::Assistant, content.into());
        message.tool_calls = calls;
        message
    }
    /// A tool's result, answering the call `call_id`.
    pub fn tool_result(call_id: impl Into<String>, content: impl Into<String>) -> Self {
        let mut message = Self::with_role(Role::Tool, content.into());
        message.tool_call_id = Some(call_id.into());
        message
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
