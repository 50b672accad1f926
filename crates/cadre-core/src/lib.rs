//! # cadre-core
//!
//! The domain and the engine of Cadre: what a team is, how a team is designed from a task
//! (the AgentBuilder flow), how it talks (the group chat), and the event vocabulary every
//! client consumes. This crate does no I/O of its own: models, code executors, human input
//! and event storage come in through traits.
//!
//! # Layout
//! - [`message`]: chat messages and persisted transcript turns.
//! - [`model`]: the [`ChatModel`] trait, requests, responses, usage, model errors.
//! - [`executor`]: the [`CodeExecutor`] trait, code blocks, limits, results, workspace
//!   files.
//! - [`artifact`]: files code blocks write ([`ArtifactFile`] in `code_result` events) and
//!   the [`ArtifactSink`] that keeps them.
//! - [`tool`]: the [`ToolBox`] trait for tools agents call (MCP servers), the per-agent
//!   allowlist and tool names on the wire.
//! - [`input`]: the [`InputSource`] trait for human answers.
//! - [`event`]: [`RunEvent`] / [`EventKind`], run status, [`RunEmitter`], [`EventSink`].
//! - [`failure`]: [`FailureCode`], [`RunFailure`] and [`RunEnd`], the events that close a
//!   run's log (the engine, the worker and the store all end runs through it).
//! - [`team`]: [`TeamSpec`], [`AgentSpec`], speaker selection, termination, code execution.
//! - [`autogen`]: reading team files in every accepted format ([`import_team_value`],
//!   [`Imported`]); import/export of AutoGen AgentBuilder `save()` JSON.
//! - [`agentchat`]: import of AutoGen AgentChat / AutoGen Studio declarative team JSON
//!   (components, Studio records and galleries), with notes on what Cadre keeps but does
//!   not interpret.
//! - [`gallery`]: the starter teams Cadre ships, as AgentChat components.
//! - [`lenient`]: forgiving parsers for LLM output (JSON in prose, lists, trailing commas).
//! - [`builder`]: [`TeamBuilder`], designing a team from a task.
//! - [`codeblock`]: extracting fenced code blocks from messages.
//! - [`speaker`]: next-speaker strategies.
//! - [`termination`]: end conditions.
//! - [`groupchat`]: [`GroupChat`], running a team on a task, resumable.
//! - [`run`]: [`execute_run`], a whole run framed by status, team and finished events.
//!
//! # Features
//! - `schema`: OpenAPI schemas (utoipa) for the events and the team spec, for the
//!   server's generated document; without it the crate has no web dependency.

pub mod agentchat;
pub mod artifact;
pub mod autogen;
pub mod builder;
pub mod codeblock;
pub mod event;
pub mod executor;
pub mod failure;
pub mod gallery;
pub mod groupchat;
pub mod input;
pub mod lenient;
pub mod message;
pub mod model;
pub mod run;
pub mod speaker;
pub mod team;
pub mod termination;
pub mod tool;

pub use artifact::{Artifact, ArtifactError, ArtifactFile, ArtifactSink, ArtifactSkip, Kept};
pub use autogen::{Imported, TeamFormat, import_team_value, parse_team_file};
pub use builder::{BuildError, BuildOptions, TeamBuilder};
pub use event::{
    EventKind, EventSink, MemorySink, NullSink, RunEmitter, RunEvent, RunStatus, SinkError,
    UsageTotals,
};
pub use executor::{
    CodeBlock, CodeExecutor, CodeWorkspace, ExecError, ExecutionLimits, ExecutionResult, Language,
    WorkspaceFile,
};
pub use failure::{FailureCode, RunEnd, RunFailure};
pub use gallery::{StarterTeam, starter_teams};
pub use groupchat::{ChatOutcome, GroupChat, RunContext};
pub use input::{InputError, InputSource, NoInput};
pub use message::{ChatMessage, Role, TranscriptMessage};
pub use model::{ChatModel, ChatRequest, ChatResponse, ModelError, Purpose, Usage};
pub use run::{ResumeState, RunOutcome, RunOverrides, RunRequest, TeamSource, execute_run};
pub use team::{AgentSpec, HumanInput, SpeakerSelection, TeamSpec, Termination};
pub use termination::StopReason;
pub use tool::{ToolBox, ToolError, ToolInfo, ToolListing, ToolOutput};
