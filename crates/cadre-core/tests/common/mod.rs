//! What the engine's integration tests share: a run's context with the quiet defaults
//! (no executor, artifacts, human or tools: set the fields a test needs), a request for
//! a given team, and the messages of a run's events.

#![allow(dead_code)]

use std::sync::Arc;

use cadre_core::TeamSpec;
use cadre_core::event::{EventKind, MemorySink, RunEmitter, RunEvent};
use cadre_core::groupchat::RunContext;
use cadre_core::input::NoInput;
use cadre_core::model::ChatModel;
use cadre_core::run::{RunOverrides, RunRequest, TeamSource};
use tokio_util::sync::CancellationToken;

/// The run id of every test run.
pub const RUN_ID: uuid::Uuid = uuid::Uuid::from_u128(1);

/// A context whose events go to `sink`, with no executor, artifacts, human or tools.
pub fn context(model: Arc<dyn ChatModel>, sink: &MemorySink) -> RunContext {
    RunContext {
        emitter: RunEmitter::new(RUN_ID, Arc::new(sink.clone()), 0),
        model,
        executor: None,
        artifacts: None,
        input: Arc::new(NoInput),
        tools: None,
        cancel: CancellationToken::new(),
    }
}

/// A request to run `team` on `task`, without overrides.
pub fn given(team: TeamSpec, task: &str) -> RunRequest {
    RunRequest {
        task: task.into(),
        team: TeamSource::Given(Box::new(team)),
        overrides: RunOverrides::default(),
        build_only: false,
    }
}

/// Each message as (agent, content).
pub fn messages(events: &[RunEvent]) -> Vec<(String, String)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Message { agent, content, .. } => Some((agent.clone(), content.clone())),
            _ => None,
        })
        .collect()
}
