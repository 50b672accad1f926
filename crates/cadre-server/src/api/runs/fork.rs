//! Forking a run: `POST /api/v1/runs/{id}/fork` starts a new run from any point of an
//! existing run's conversation, optionally with the message at that point edited (the
//! "edit and rerun from an earlier message" of chat UIs, for a whole team).
//!
//! The fork is an ordinary run whose log starts with a copy of its parent's: the team
//! the parent ran, a note of where it came from, then the parent's conversation events
//! (speaker choices, messages, code and its results) up to the fork point. It is created
//! with that history in one transaction, so the worker that claims it resumes after it
//! exactly as after a crash: the chat continues from the (edited) message, with the
//! parent's settings (model, limits, speaker selection). Usage starts at zero; the
//! parent's spend stays the parent's.
//!
//! Not carried over: the code workspace's files (later code runs in a fresh workspace)
//! and the files the parent's code results kept (their downloads stay on the parent).

use axum::extract::State;
use axum::response::Response;
use cadre_core::event::{EventKind, LogLevel, RunEvent};
use cadre_core::team::TeamSpec;
use cadre_store::MAX_EVENTS_PAGE;
use uuid::Uuid;

use super::handlers::{accepted, admit_new_run, queue_run};
use super::validation::MAX_TASK_CHARS;
use super::views::ForkRunBody;
use crate::api::AppState;
use crate::api::auth::AuthUser;
use crate::api::error::{ApiError, ErrorBody, ErrorCode, FieldError};
use crate::api::extract::{ApiJson, ApiPath};
use crate::run_request::{BuildRequest, ForkOrigin, StoredRunRequest};

/// Starts a new run from a point of this run's conversation.
#[utoipa::path(post, path = "/api/v1/runs/{id}/fork", tag = "runs", request_body = ForkRunBody,
    params(("id" = Uuid, Path, description = "The run to fork")),
    responses(
        (status = 202, description = "The fork, queued", body = super::RunView,
            headers(("Location" = String, description = "The fork's URL"))),
        (status = 404, description = "No such run", body = ErrorBody),
        (status = 409, description = "The run's request cannot be read by this version", body = ErrorBody),
        (status = 422, description = "`after_seq` is not a point the run can be forked at, or `edit` is invalid", body = ErrorBody),
        (status = 429, description = "Too many runs created in the last minute, or a daily quota is used up (see `Retry-After`)", body = ErrorBody),
    ))]
pub async fn fork_run(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ForkRunBody>,
) -> Result<Response, ApiError> {
    if let Some(edit) = &body.edit
        && edit.chars().count() > MAX_TASK_CHARS
    {
        return Err(ApiError::validation(vec![FieldError::new(
            "edit",
            format!("must be at most {MAX_TASK_CHARS} characters"),
        )]));
    }
    let parent = state.store.get_run(user.id, id).await?;
    if body.after_seq > parent.last_seq {
        return Err(ApiError::validation(vec![FieldError::new(
            "after_seq",
            format!("the run has {} events so far", parent.last_seq),
        )]));
    }
    let events = events_up_to(&state, id, body.after_seq).await?;
    let fork = fork_history(&events, id, body.after_seq, body.edit.as_deref())
        .map_err(|message| ApiError::validation(vec![FieldError::new(message.0, message.1)]))?;
    let settings: StoredRunRequest = serde_json::from_value(parent.request).map_err(|_| {
        ApiError::new(
            ErrorCode::Conflict,
            "this run's request was written by a newer version and cannot be forked here",
        )
    })?;
    admit_new_run(&state, &user).await?;
    let stored = StoredRunRequest {
        task: fork.task.unwrap_or(parent.task),
        team: Some(fork.team),
        build: BuildRequest::default(),
        execute: true,
        model: settings.model,
        max_round: settings.max_round,
        budget_usd: settings.budget_usd,
        speaker_selection: settings.speaker_selection,
        fork: Some(ForkOrigin {
            run_id: id,
            after_seq: body.after_seq,
            edited: body.edit.is_some(),
        }),
    };
    let run = queue_run(&state, &user, &stored, fork.history).await?;
    Ok(accepted(run))
}

/// The run's durable events with seq ≤ `last`, in order.
async fn events_up_to(state: &AppState, run: Uuid, last: u64) -> Result<Vec<RunEvent>, ApiError> {
    let mut events = Vec::new();
    let mut after = 0;
    while after < last {
        let page = state
            .store
            .events_after(run, after, MAX_EVENTS_PAGE)
            .await?;
        let Some(end) = page.last().map(|event| event.seq) else {
            break;
        };
        events.extend(page.into_iter().take_while(|event| event.seq <= last));
        after = end;
    }
    Ok(events)
}

/// What a fork starts from.
#[derive(Debug)]
pub(super) struct Fork {
    /// The team the parent ran at the fork point.
    team: TeamSpec,
    /// The fork's task when the task message itself was edited.
    task: Option<String>,
    /// The fork's first events (the store numbers them).
    history: Vec<RunEvent>,
}

/// Why a fork point was refused: the field and the message.
#[derive(Debug, PartialEq)]
pub(super) struct Refusal(&'static str, String);

/// The fork of `events` (a run's log up to `after_seq`): the last team, a note, then the
/// conversation, with the message at `after_seq` replaced by `edit` if given.
pub(super) fn fork_history(
    events: &[RunEvent],
    parent: Uuid,
    after_seq: u64,
    edit: Option<&str>,
) -> Result<Fork, Refusal> {
    let team = events.iter().rev().find_map(|event| match &event.kind {
        EventKind::Team { team } => Some(team.as_ref().clone()),
        _ => None,
    });
    let Some(team) = team else {
        return Err(Refusal(
            "after_seq",
            "the run had no team yet at that point: fork at or after its task message".into(),
        ));
    };
    let first_message = events
        .iter()
        .find(|event| matches!(event.kind, EventKind::Message { .. }))
        .map(|event| event.seq);
    let task_seq = match first_message {
        Some(task) if after_seq >= task => task,
        Some(task) => {
            return Err(Refusal(
                "after_seq",
                format!("fork at or after the task message (event {task})"),
            ));
        }
        None => {
            return Err(Refusal(
                "after_seq",
                "the conversation had not started at that point: fork at or after its task \
                 message"
                    .into(),
            ));
        }
    };
    let target = events.iter().find(|event| event.seq == after_seq);
    let edited_agent = match (edit, target.map(|event| &event.kind)) {
        (None, _) => None,
        (Some(edit), _) if edit.trim().is_empty() => {
            return Err(Refusal("edit", "must not be empty".into()));
        }
        (Some(_), Some(EventKind::Message { agent, .. })) => Some(agent.clone()),
        (Some(_), Some(other)) => {
            return Err(Refusal(
                "edit",
                format!(
                    "only a message can be edited; event {after_seq} is a `{}` event",
                    other.type_name()
                ),
            ));
        }
        (Some(_), None) => {
            return Err(Refusal("after_seq", format!("no event {after_seq}")));
        }
    };
    let note = match &edited_agent {
        Some(agent) => format!(
            "Forked from run {parent} after event {after_seq}, with {agent}'s message edited"
        ),
        None => format!("Forked from run {parent} after event {after_seq}"),
    };
    let at = chrono::Utc::now();
    let placeholder = |kind: EventKind| RunEvent {
        seq: 0,
        run_id: parent,
        at,
        kind,
    };
    let mut history = vec![
        placeholder(EventKind::Team {
            team: Box::new(team.clone()),
        }),
        placeholder(EventKind::Log {
            level: LogLevel::Info,
            message: note,
        }),
    ];
    for event in events {
        let kind = match &event.kind {
            EventKind::Message {
                message_id,
                agent,
                tokens,
                ..
            } if event.seq == after_seq && edit.is_some() => EventKind::Message {
                message_id: message_id.clone(),
                agent: agent.clone(),
                content: edit.unwrap_or_default().to_string(),
                tokens: *tokens,
            },
            // The conversation; not the parent's statuses, usage, logs, human-input
            // exchanges or ending, which belong to the parent's own course.
            EventKind::Speaker { .. }
            | EventKind::Message { .. }
            | EventKind::Code { .. }
            | EventKind::CodeResult { .. }
            | EventKind::ToolCall { .. }
            | EventKind::ToolResult { .. } => event.kind.clone(),
            _ => continue,
        };
        history.push(RunEvent {
            seq: 0,
            run_id: parent,
            at: event.at,
            kind,
        });
    }
    let task = edit.filter(|_| after_seq == task_seq).map(str::to_string);
    Ok(Fork {
        team,
        task,
        history,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use cadre_core::event::RunStatus;
    use cadre_core::team::AgentSpec;

    fn log(events: &mut Vec<RunEvent>, kind: EventKind) -> u64 {
        let seq = events.len() as u64 + 1;
        events.push(RunEvent {
            seq,
            run_id: Uuid::nil(),
            at: chrono::Utc::now(),
            kind,
        });
        seq
    }

    fn message(agent: &str, content: &str) -> EventKind {
        EventKind::Message {
            message_id: format!("id-{content}"),
            agent: agent.into(),
            content: content.into(),
            tokens: 5,
        }
    }

    /// A parent run: building, a team, the task, two turns, a status and usage between.
    fn parent() -> (Vec<RunEvent>, [u64; 3]) {
        let mut events = Vec::new();
        log(
            &mut events,
            EventKind::Status {
                status: RunStatus::Building,
            },
        );
        let team = TeamSpec::new("t", vec![AgentSpec::new("writer", "w", "d")]);
        log(
            &mut events,
            EventKind::Team {
                team: Box::new(team),
            },
        );
        log(
            &mut events,
            EventKind::Status {
                status: RunStatus::Executing,
            },
        );
        let task = log(&mut events, message("User", "task"));
        log(
            &mut events,
            EventKind::Speaker {
                agent: "writer".into(),
                reason: "round_robin".into(),
            },
        );
        let first = log(&mut events, message("writer", "draft"));
        log(
            &mut events,
            EventKind::Usage {
                model: "m".into(),
                prompt_tokens: 1,
                completion_tokens: 1,
                cost_usd: None,
            },
        );
        let second = log(&mut events, message("writer", "final"));
        (events, [task, first, second])
    }

    fn kinds(fork: &Fork) -> Vec<(&'static str, String)> {
        fork.history
            .iter()
            .map(|event| {
                let text = match &event.kind {
                    EventKind::Message { content, .. } => content.clone(),
                    EventKind::Speaker { agent, .. } => agent.clone(),
                    EventKind::Log { message, .. } => message.clone(),
                    _ => String::new(),
                };
                (event.kind.type_name(), text)
            })
            .collect()
    }

    #[test]
    fn a_fork_keeps_the_conversation_up_to_its_point_and_applies_the_edit() {
        let (events, [_, first, _]) = parent();
        let upto: Vec<RunEvent> = events.into_iter().filter(|e| e.seq <= first).collect();
        let parent_id = Uuid::new_v4();
        let fork = fork_history(&upto, parent_id, first, Some("a better draft")).unwrap();
        assert_eq!(
            kinds(&fork),
            vec![
                ("team", String::new()),
                (
                    "log",
                    format!(
                        "Forked from run {parent_id} after event {first}, with writer's message edited"
                    )
                ),
                ("message", "task".into()),
                ("speaker", "writer".into()),
                ("message", "a better draft".into()),
            ]
        );
        assert_eq!(fork.team.agents[0].name, "writer");
        assert_eq!(fork.task, None, "the task message was not edited");
    }

    #[test]
    fn editing_the_task_message_gives_the_fork_a_new_task() {
        let (events, [task, _, _]) = parent();
        let upto: Vec<RunEvent> = events.into_iter().filter(|e| e.seq <= task).collect();
        let fork = fork_history(&upto, Uuid::nil(), task, Some("a new task")).unwrap();
        assert_eq!(fork.task.as_deref(), Some("a new task"));
        assert_eq!(
            kinds(&fork).last().unwrap(),
            &("message", "a new task".to_string())
        );
    }

    #[test]
    fn fork_points_before_the_task_or_edits_of_non_messages_are_refused() {
        let (events, [task, _, _]) = parent();
        let before: Vec<RunEvent> = events.iter().filter(|e| e.seq < task).cloned().collect();
        let refused = fork_history(&before, Uuid::nil(), task - 1, None).unwrap_err();
        assert_eq!(refused.0, "after_seq");
        let speaker = task + 1;
        let upto: Vec<RunEvent> = events
            .iter()
            .filter(|e| e.seq <= speaker)
            .cloned()
            .collect();
        let refused = fork_history(&upto, Uuid::nil(), speaker, Some("x")).unwrap_err();
        assert_eq!(
            refused,
            Refusal(
                "edit",
                format!("only a message can be edited; event {speaker} is a `speaker` event")
            )
        );
        let refused = fork_history(&upto, Uuid::nil(), task, Some("  ")).unwrap_err();
        assert_eq!(refused.0, "edit");
        // Without an edit, any point at or after the task will do.
        assert!(fork_history(&upto, Uuid::nil(), speaker, None).is_ok());
    }
}
