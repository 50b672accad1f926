//! The run event vocabulary (`docs/DESIGN.md` §4): the one stream that the UI, the CLI,
//! the API and the database all consume. [`RunEmitter`] numbers durable events per run;
//! [`EventSink`] is where they go.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use uuid::Uuid;

use crate::artifact::ArtifactFile;
use crate::failure::FailureCode;
use crate::model::Usage;
use crate::team::TeamSpec;
use crate::termination::StopReason;

/// Lifecycle of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Waiting for a worker.
    Queued,
    /// The team builder is designing the team.
    Building,
    /// The group chat is running.
    Executing,
    /// Paused until a human answers an `input_request`.
    WaitingInput,
    /// Ended normally.
    Completed,
    /// Ended with an error.
    Failed,
    /// Stopped by the user.
    Cancelled,
}

impl RunStatus {
    /// Whether no further events will follow.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            RunStatus::Completed | RunStatus::Failed | RunStatus::Cancelled
        )
    }

    /// Lower-case name as used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Building => "building",
            RunStatus::Executing => "executing",
            RunStatus::WaitingInput => "waiting_input",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
        }
    }
}

/// Usage totals of a run, per run and as reported in `finished`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct UsageTotals {
    /// Prompt tokens over all calls.
    pub prompt_tokens: u64,
    /// Completion tokens over all calls.
    pub completion_tokens: u64,
    /// Cost over all calls whose cost is known.
    pub cost_usd: f64,
    /// Number of model calls.
    pub calls: u64,
}

impl UsageTotals {
    /// Adds one call's usage. Token sums saturate, as [`Usage`]'s do.
    pub fn add(&mut self, usage: &Usage) {
        self.add_totals(&UsageTotals {
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
            cost_usd: usage.cost_usd.unwrap_or(0.0),
            calls: 1,
        });
    }

    /// Adds other totals into these (a resumed run's, a builder step's).
    pub fn add_totals(&mut self, other: &UsageTotals) {
        self.prompt_tokens = self.prompt_tokens.saturating_add(other.prompt_tokens);
        self.completion_tokens = self
            .completion_tokens
            .saturating_add(other.completion_tokens);
        self.cost_usd += other.cost_usd;
        self.calls = self.calls.saturating_add(other.calls);
    }

    /// Prompt plus completion tokens.
    pub fn total_tokens(&self) -> u64 {
        self.prompt_tokens.saturating_add(self.completion_tokens)
    }
}

/// Severity of a `log` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    /// Informational.
    Info,
    /// Something degraded but the run goes on.
    Warn,
}

/// The payload of an event: `{"type": "...", "data": {...}}` on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum EventKind {
    /// The run changed status.
    Status {
        /// New status.
        status: RunStatus,
    },
    /// The team that will run (after building, or as given).
    Team {
        /// The team (boxed: it dwarfs every other event).
        team: Box<TeamSpec>,
    },
    /// The next speaker was chosen.
    Speaker {
        /// Chosen agent.
        agent: String,
        /// Why (strategy, fallback, …).
        reason: String,
    },
    /// A streamed fragment of a message (live only; never stored or replayed).
    MessageDelta {
        /// Message being streamed.
        message_id: String,
        /// Speaking agent.
        agent: String,
        /// Text fragment.
        delta: String,
    },
    /// A complete chat message.
    Message {
        /// Message id.
        message_id: String,
        /// Speaking agent.
        agent: String,
        /// Full text.
        content: String,
        /// Completion tokens of the turn.
        tokens: u64,
    },
    /// A code block about to run.
    Code {
        /// The message the block came from.
        message_id: String,
        /// Language tag.
        language: String,
        /// Source.
        code: String,
    },
    /// The result of running a code block.
    CodeResult {
        /// The message the block came from.
        message_id: String,
        /// Exit code.
        exit_code: i32,
        /// Captured stdout (capped).
        stdout: String,
        /// Captured stderr (capped).
        stderr: String,
        /// Wall time.
        duration_ms: u64,
        /// Whether the time limit killed it.
        timed_out: bool,
        /// Files the block wrote or changed in the workspace (absent in events stored
        /// before artifacts existed).
        #[serde(default)]
        files: Vec<ArtifactFile>,
    },
    /// An agent called a tool (before the call is made, or refused).
    ToolCall {
        /// The turn's message.
        message_id: String,
        /// The model's id for the call (what `tool_result` answers).
        call_id: String,
        /// Calling agent.
        agent: String,
        /// Qualified tool name, `server.tool` (as the model asked for it when it names no
        /// tool the agent was offered).
        tool: String,
        /// The arguments: a JSON object, or the model's raw text when it was not JSON.
        #[cfg_attr(feature = "schema", schema(value_type = Object))]
        arguments: serde_json::Value,
    },
    /// What a tool answered, or why the call was refused or failed.
    ToolResult {
        /// The turn's message.
        message_id: String,
        /// The call answered.
        call_id: String,
        /// Calling agent.
        agent: String,
        /// Qualified tool name.
        tool: String,
        /// The result as text (capped), or the error the model was shown.
        content: String,
        /// Whether the tool failed or the call was refused.
        is_error: bool,
        /// The call was never made: the tool is not on the agent's allowlist, does not
        /// exist, or the turn's tool-call limit was reached.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        refused: bool,
        /// Wall time of the call (0 when refused).
        duration_ms: u64,
    },
    /// One model call's usage.
    Usage {
        /// Model that answered.
        model: String,
        /// Prompt tokens.
        prompt_tokens: u64,
        /// Completion tokens.
        completion_tokens: u64,
        /// Cost, when known.
        cost_usd: Option<f64>,
    },
    /// The run needs human input.
    InputRequest {
        /// What is asked.
        prompt: String,
        /// The answers a UI can offer as buttons (manual speaker selection: the
        /// candidates); any other answer is allowed where the prompt says so.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        options: Vec<String>,
        /// The human-driven agent whose turn this is, when the human speaks as one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agent: Option<String>,
        /// How long the run waits before it takes `default`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout_secs: Option<u64>,
        /// The answer used when none comes within `timeout_secs`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        default: Option<String>,
    },
    /// Human input received.
    Input {
        /// The answer.
        content: String,
    },
    /// A diagnostic for the user.
    Log {
        /// Severity.
        level: LogLevel,
        /// Text.
        message: String,
    },
    /// An error; the run may continue if `retryable` handling succeeds.
    Error {
        /// Stable code (`llm_unreachable`, `team_build_failed`, …).
        code: FailureCode,
        /// Human-readable message (never contains secrets).
        message: String,
        /// Whether retrying the run may help.
        retryable: bool,
    },
    /// The run ended. Always the last event.
    Finished {
        /// Final status.
        status: RunStatus,
        /// Last meaningful message, or the failure reason.
        summary: String,
        /// Why it ended (`text_mention`, `max_round`, `cancelled`, …).
        reason: StopReason,
        /// Usage totals.
        usage: UsageTotals,
    },
}

impl EventKind {
    /// Whether the event is stored and replayed (everything but `message_delta`).
    pub fn is_durable(&self) -> bool {
        !matches!(self, EventKind::MessageDelta { .. })
    }

    /// The wire name of the event type.
    pub fn type_name(&self) -> &'static str {
        match self {
            EventKind::Status { .. } => "status",
            EventKind::Team { .. } => "team",
            EventKind::Speaker { .. } => "speaker",
            EventKind::MessageDelta { .. } => "message_delta",
            EventKind::Message { .. } => "message",
            EventKind::Code { .. } => "code",
            EventKind::CodeResult { .. } => "code_result",
            EventKind::ToolCall { .. } => "tool_call",
            EventKind::ToolResult { .. } => "tool_result",
            EventKind::Usage { .. } => "usage",
            EventKind::InputRequest { .. } => "input_request",
            EventKind::Input { .. } => "input",
            EventKind::Log { .. } => "log",
            EventKind::Error { .. } => "error",
            EventKind::Finished { .. } => "finished",
        }
    }
}

/// One event of a run's log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct RunEvent {
    /// Position in the run's durable log (1, 2, 3…). A `message_delta` carries the seq of
    /// the last durable event before it.
    pub seq: u64,
    /// The run.
    pub run_id: Uuid,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Type and data.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// Failure to deliver an event (e.g. the database is gone). Fails the run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("event sink failed: {0}")]
pub struct SinkError(pub String);

/// Where a run's events go: a terminal printer, a database, a broadcast channel…
#[async_trait]
pub trait EventSink: Send + Sync {
    /// Delivers one event. Durable events arrive in seq order, each once.
    async fn publish(&self, event: &RunEvent) -> Result<(), SinkError>;
}

/// A sink that keeps every event in memory (tests, benchmarks, short CLI runs).
#[derive(Debug, Default, Clone)]
pub struct MemorySink {
    events: Arc<std::sync::Mutex<Vec<RunEvent>>>,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of the events received so far.
    pub fn events(&self) -> Vec<RunEvent> {
        match self.events.lock() {
            Ok(events) => events.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

#[async_trait]
impl EventSink for MemorySink {
    async fn publish(&self, event: &RunEvent) -> Result<(), SinkError> {
        match self.events.lock() {
            Ok(mut events) => events.push(event.clone()),
            Err(poisoned) => poisoned.into_inner().push(event.clone()),
        }
        Ok(())
    }
}

/// A sink that drops everything (benchmarks of the bare engine).
#[derive(Debug, Default, Clone, Copy)]
pub struct NullSink;

#[async_trait]
impl EventSink for NullSink {
    async fn publish(&self, _event: &RunEvent) -> Result<(), SinkError> {
        Ok(())
    }
}

/// Numbers and timestamps a run's events and hands them to a sink.
///
/// Cloning shares the counter, so concurrent tasks of one run (builder calls) still
/// produce one gap-free sequence.
#[derive(Clone)]
pub struct RunEmitter {
    run_id: Uuid,
    sink: Arc<dyn EventSink>,
    state: Arc<Mutex<EmitterState>>,
}

struct EmitterState {
    last_seq: u64,
    /// Sum of the `usage` events emitted: every model call is reported through here, so
    /// totals stay equal to the events even when a step fails half-way.
    usage: UsageTotals,
}

impl RunEmitter {
    /// An emitter whose first durable event gets `last_seq + 1` (0 for a new run; the
    /// stored last seq when resuming).
    pub fn new(run_id: Uuid, sink: Arc<dyn EventSink>, last_seq: u64) -> Self {
        Self {
            run_id,
            sink,
            state: Arc::new(Mutex::new(EmitterState {
                last_seq,
                usage: UsageTotals::default(),
            })),
        }
    }

    /// The run id.
    pub fn run_id(&self) -> Uuid {
        self.run_id
    }

    /// Seq of the last durable event emitted.
    pub async fn last_seq(&self) -> u64 {
        self.state.lock().await.last_seq
    }

    /// Totals of the `usage` events emitted through this emitter.
    pub async fn usage(&self) -> UsageTotals {
        self.state.lock().await.usage
    }

    /// Emits one event. The counter lock is held across publishing so that durable
    /// events reach the sink in seq order even from concurrent tasks.
    pub async fn emit(&self, kind: EventKind) -> Result<RunEvent, SinkError> {
        let mut state = self.state.lock().await;
        if kind.is_durable() {
            state.last_seq += 1;
        }
        if let EventKind::Usage {
            prompt_tokens,
            completion_tokens,
            cost_usd,
            ..
        } = &kind
        {
            let usage = Usage {
                prompt_tokens: *prompt_tokens,
                completion_tokens: *completion_tokens,
                cost_usd: *cost_usd,
            };
            state.usage.add(&usage);
        }
        let event = RunEvent {
            seq: state.last_seq,
            run_id: self.run_id,
            at: Utc::now(),
            kind,
        };
        self.sink.publish(&event).await?;
        Ok(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_sums_saturate_instead_of_overflowing() {
        // A provider's `usage` is model output: one reporting u64::MAX prompt tokens
        // overflowed (a panic in debug builds, a wrapped budget check in release).
        let absurd = Usage {
            prompt_tokens: u64::MAX,
            completion_tokens: 1,
            cost_usd: None,
        };
        assert_eq!(absurd.total_tokens(), u64::MAX);
        let mut sum = absurd;
        sum.add(&absurd);
        assert_eq!((sum.prompt_tokens, sum.completion_tokens), (u64::MAX, 2));
        let mut totals = UsageTotals::default();
        totals.add(&absurd);
        totals.add(&absurd);
        assert_eq!(totals.total_tokens(), u64::MAX);
        let mut resumed = totals;
        resumed.add_totals(&totals);
        assert_eq!((resumed.prompt_tokens, resumed.calls), (u64::MAX, 4));
    }

    #[tokio::test]
    async fn durable_events_are_numbered_and_deltas_carry_last_seq() {
        let sink = MemorySink::new();
        let emitter = RunEmitter::new(Uuid::new_v4(), Arc::new(sink.clone()), 0);
        emitter
            .emit(EventKind::Status {
                status: RunStatus::Building,
            })
            .await
            .unwrap();
        emitter
            .emit(EventKind::MessageDelta {
                message_id: "m".into(),
                agent: "A".into(),
                delta: "he".into(),
            })
            .await
            .unwrap();
        emitter
            .emit(EventKind::Message {
                message_id: "m".into(),
                agent: "A".into(),
                content: "hello".into(),
                tokens: 1,
            })
            .await
            .unwrap();
        let seqs: Vec<(u64, &str)> = sink
            .events()
            .iter()
            .map(|e| (e.seq, e.kind.type_name()))
            .collect::<Vec<_>>()
            .into_iter()
            .collect();
        assert_eq!(
            seqs,
            vec![(1, "status"), (1, "message_delta"), (2, "message")]
        );
    }

    #[test]
    fn wire_shape_matches_design() {
        let event = RunEvent {
            seq: 7,
            run_id: Uuid::new_v4(),
            at: Utc::now(),
            kind: EventKind::Message {
                message_id: "m".into(),
                agent: "data_scientist".into(),
                content: "hi".into(),
                tokens: 182,
            },
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["type"], "message");
        assert_eq!(json["seq"], 7);
        assert_eq!(json["data"]["agent"], "data_scientist");
        assert_eq!(json["data"]["tokens"], 182);
        let back: RunEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
    }
}
