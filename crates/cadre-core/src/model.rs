//! The [`ChatModel`] capability: a streaming chat completion. Implementations live in
//! `cadre-llm`; the engine only sees this trait.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::message::ChatMessage;

/// Why the engine is calling the model. Never sent over the wire: it labels logs and
/// metrics, and lets the scripted model answer each kind of call deterministically even
/// when calls run concurrently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Purpose {
    /// Team builder: which experts does the task need.
    BuildAgentNames,
    /// Team builder: the system message of one agent.
    BuildSystemMessage {
        /// Agent being described.
        agent: String,
    },
    /// Team builder: the one-line description of one agent.
    BuildDescription {
        /// Agent being described.
        agent: String,
    },
    /// Team builder: does the task need code execution.
    BuildCoding,
    /// Group chat: pick the next speaker.
    SelectSpeaker {
        /// The names the answer must come from.
        candidates: Vec<String>,
    },
    /// Group chat: an agent's turn.
    AgentReply {
        /// Speaking agent.
        agent: String,
    },
    /// Anything else (ad-hoc calls, tests).
    Other,
}

impl Purpose {
    /// Short label for logs and cassette matching (`build_system_message:Planner`).
    pub fn label(&self) -> String {
        match self {
            Purpose::BuildAgentNames => "build_agent_names".into(),
            Purpose::BuildSystemMessage { agent } => format!("build_system_message:{agent}"),
            Purpose::BuildDescription { agent } => format!("build_description:{agent}"),
            Purpose::BuildCoding => "build_coding".into(),
            Purpose::SelectSpeaker { .. } => "select_speaker".into(),
            Purpose::AgentReply { agent } => format!("agent_reply:{agent}"),
            Purpose::Other => "other".into(),
        }
    }
}

/// A function the model may call (OpenAI `tools`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolDefinition {
    /// Function name.
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// JSON Schema of the arguments.
    pub parameters: serde_json::Value,
}

/// A function call the model made; `arguments` is the raw JSON text it produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// Provider's call id (may be empty for providers that omit it).
    pub id: String,
    /// Function name.
    pub name: String,
    /// Arguments as the model wrote them (JSON text, possibly malformed).
    pub arguments: String,
}

/// One chat-completion request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// Conversation so far, system message first.
    pub messages: Vec<ChatMessage>,
    /// Model override for this call; `None` uses the client's default model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// Cap on completion tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Functions the model may call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolDefinition>,
    /// Why the call is made (not sent to providers).
    pub purpose: Purpose,
}

impl ChatRequest {
    /// A request with the given purpose and messages and default parameters.
    pub fn new(purpose: Purpose, messages: Vec<ChatMessage>) -> Self {
        Self {
            messages,
            model: None,
            temperature: None,
            max_tokens: None,
            tools: Vec::new(),
            purpose,
        }
    }
}

/// Token usage and cost of one call (or a sum of calls).
///
/// Token counts come from the provider; sums saturate, so an absurd count stops at
/// `u64::MAX` (which trips any token budget) instead of overflowing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// Completion tokens.
    pub completion_tokens: u64,
    /// Cost in USD, when the provider reports it or a price is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
}

impl Usage {
    /// Prompt plus completion tokens.
    pub fn total_tokens(&self) -> u64 {
        self.prompt_tokens.saturating_add(self.completion_tokens)
    }

    /// Adds another usage into this one. Cost stays `None` only if both are unknown.
    pub fn add(&mut self, other: &Usage) {
        self.prompt_tokens = self.prompt_tokens.saturating_add(other.prompt_tokens);
        self.completion_tokens = self
            .completion_tokens
            .saturating_add(other.completion_tokens);
        self.cost_usd = match (self.cost_usd, other.cost_usd) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
        };
    }
}

/// The final result of one chat completion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    /// The model that answered (as reported by the provider, else the requested one).
    pub model: String,
    /// Full text content (the concatenation of all streamed deltas).
    pub content: String,
    /// Function calls, with arguments reassembled from their chunks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// Usage of this call.
    pub usage: Usage,
    /// Provider's finish reason, if it gave a non-empty one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
}

/// Receives text deltas as they stream in.
pub type DeltaSink<'a> = &'a mut (dyn FnMut(&str) + Send);

/// What went wrong talking to a model. Messages are safe to show users: they never
/// contain credentials.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// No model is configured, or the configuration is invalid.
    #[error("{0}")]
    Config(String),
    /// The provider could not be reached (DNS, connect, TLS, connection reset).
    #[error("cannot reach the LLM at {endpoint}: {message}")]
    Unreachable {
        /// Base URL (never with credentials).
        endpoint: String,
        /// Transport error.
        message: String,
    },
    /// The provider answered with an error (HTTP status or an error inside the stream).
    #[error("LLM provider error{}: {message}", status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
    Provider {
        /// HTTP status, when the error came as a status.
        status: Option<u16>,
        /// The provider's own message.
        message: String,
        /// Whether retrying may help (429, 5xx, overloaded).
        retryable: bool,
    },
    /// No response, or the stream went idle, within the configured time.
    #[error("LLM request timed out: {0}")]
    Timeout(String),
    /// The response could not be understood.
    #[error("invalid LLM response: {0}")]
    InvalidResponse(String),
    /// The caller cancelled the request.
    #[error("LLM request cancelled")]
    Cancelled,
}

impl ModelError {
    /// Whether the provider said "too many requests" or "overloaded" (429, 503, 529):
    /// worth waiting for longer than other retryable errors.
    pub fn is_rate_limit(&self) -> bool {
        matches!(
            self,
            ModelError::Provider {
                status: Some(429 | 503 | 529),
                ..
            }
        )
    }

    /// Whether a later attempt may succeed.
    pub fn retryable(&self) -> bool {
        match self {
            ModelError::Unreachable { .. } | ModelError::Timeout(_) => true,
            ModelError::Provider { retryable, .. } => *retryable,
            ModelError::Config(_) | ModelError::InvalidResponse(_) | ModelError::Cancelled => false,
        }
    }
}

/// A streaming chat-completion model.
///
/// Implementations call `on_delta` with each text fragment as it arrives and return the
/// assembled response. They must stop promptly (and drop any in-flight request) when
/// `cancel` fires, returning [`ModelError::Cancelled`].
#[async_trait]
pub trait ChatModel: Send + Sync {
    /// The default model name, used for usage accounting and logs.
    fn model_name(&self) -> &str;

    /// Who serves the model, as OpenTelemetry's `gen_ai.provider.name` names it
    /// (`openai`, `openrouter`, …; `demo` and `scripted` for the offline models): labels
    /// metrics and traces.
    fn provider_name(&self) -> &str {
        "unknown"
    }

    /// Runs one chat completion.
    async fn chat(
        &self,
        request: ChatRequest,
        on_delta: DeltaSink<'_>,
        cancel: &CancellationToken,
    ) -> Result<ChatResponse, ModelError>;
}
