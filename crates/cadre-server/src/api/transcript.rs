//! Owns `GET /api/v1/runs/{id}/transcript`: a run rebuilt from its durable event log as a
//! downloadable document, either Markdown (for people) or JSON (for tools). Only stored
//! events are used, so a transcript of a finished run never changes.

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use cadre_core::artifact::ArtifactFile;
use cadre_core::event::{EventKind, RunEvent};
use cadre_core::team::TeamSpec;
use cadre_core::{FailureCode, RunStatus, StopReason, UsageTotals};
use cadre_store::MAX_EVENTS_PAGE;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::AppState;
use super::auth::AuthUser;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiPath, ApiQuery};
use super::runs::RunView;

/// Events read per store call while assembling a transcript.
const READ_PAGE: u32 = 1000;

/// Transcript formats.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TranscriptFormat {
    /// Markdown document (`text/markdown`).
    #[default]
    Md,
    /// JSON document ([`Transcript`]).
    Json,
}

/// `GET …/transcript` parameters.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TranscriptQuery {
    /// `md` (default) or `json`.
    pub format: Option<TranscriptFormat>,
}

/// One chat message (or human input) of a transcript.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TranscriptMessage {
    /// Seq of the event.
    pub seq: u64,
    /// The message's id (what its `code` entries and live deltas refer to); absent for
    /// human input.
    pub message_id: Option<String>,
    /// Speaking agent (the team's admin name for human input).
    pub agent: String,
    /// Full text.
    pub content: String,
    /// Completion tokens of the turn (0 for human input).
    pub tokens: u64,
    /// When it was said.
    pub at: DateTime<Utc>,
}

/// The outcome of running a code block.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TranscriptCodeResult {
    /// Exit code.
    pub exit_code: i32,
    /// Captured stdout.
    pub stdout: String,
    /// Captured stderr.
    pub stderr: String,
    /// Wall time.
    pub duration_ms: u64,
    /// Whether the time limit killed it.
    pub timed_out: bool,
    /// Files the block wrote (downloadable from `GET /api/v1/runs/{id}/files/{path}`
    /// when `stored`).
    pub files: Vec<ArtifactFile>,
}

/// A code block and, once it ran, its result.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TranscriptCode {
    /// Seq of the `code` event.
    pub seq: u64,
    /// The message the block came from.
    pub message_id: String,
    /// Language tag.
    pub language: String,
    /// Source.
    pub code: String,
    /// The result (absent if it never ran).
    pub result: Option<TranscriptCodeResult>,
}

/// A tool call an agent made and, once answered, its result.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TranscriptToolCall {
    /// Seq of the `tool_call` event.
    pub seq: u64,
    /// The model's id for the call.
    pub call_id: String,
    /// Calling agent.
    pub agent: String,
    /// Qualified tool name, `server.tool`.
    pub tool: String,
    /// The arguments (a JSON object, or the model's raw text).
    #[schema(value_type = Object)]
    pub arguments: serde_json::Value,
    /// The answer (absent if none came).
    pub result: Option<TranscriptToolResult>,
}

/// What a tool answered.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TranscriptToolResult {
    /// The result as text, or the error the model was shown.
    pub content: String,
    /// Whether the tool failed or the call was refused.
    pub is_error: bool,
    /// The call was never made (not allowed, unknown, or over the turn's limit).
    pub refused: bool,
    /// Wall time of the call.
    pub duration_ms: u64,
}

/// An error reported during the run.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TranscriptError {
    /// Seq of the event.
    pub seq: u64,
    /// Stable code.
    pub code: FailureCode,
    /// Human-readable message.
    pub message: String,
}

/// How the run ended, from its `finished` event.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TranscriptOutcome {
    /// Final status.
    pub status: RunStatus,
    /// Last meaningful message, or the failure reason.
    pub summary: String,
    /// Why it ended.
    pub reason: StopReason,
    /// Usage totals.
    pub usage: UsageTotals,
}

/// A run's transcript (`format=json`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Transcript {
    /// The run as `GET /api/v1/runs/{id}` shows it.
    pub run: RunView,
    /// The team that ran (last `team` event, else the run's team).
    pub team: Option<TeamSpec>,
    /// Chat messages and human input, in order.
    pub messages: Vec<TranscriptMessage>,
    /// Code blocks with their results, in order.
    pub code: Vec<TranscriptCode>,
    /// Tool calls with their results, in order.
    pub tools: Vec<TranscriptToolCall>,
    /// Errors reported during the run.
    pub errors: Vec<TranscriptError>,
    /// How it ended (absent while the run is still going).
    pub outcome: Option<TranscriptOutcome>,
}

/// The transcript route.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/runs/{id}/transcript", get(get_transcript))
}

/// A run's transcript, built from its stored events, as a download.
#[utoipa::path(get, path = "/api/v1/runs/{id}/transcript", tag = "runs",
    params(("id" = Uuid, Path, description = "Run id"), TranscriptQuery),
    responses(
        (status = 200, description = "The transcript (`Content-Disposition: attachment`)",
            content(
                (String = "text/markdown"),
                (Transcript = "application/json"),
            ),
            headers(("Content-Disposition" = String, description = "`attachment; filename=\"run-<id>.md\"` (or `.json`)"))),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 404, description = "No such run", body = ErrorBody),
        (status = 422, description = "Unknown format", body = ErrorBody),
    ))]
pub async fn get_transcript(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<TranscriptQuery>,
) -> Result<Response, ApiError> {
    let run = state.store.get_run(user.id, id).await?;
    let mut events = Vec::new();
    loop {
        let after = events.last().map_or(0, |event: &RunEvent| event.seq);
        let page = state
            .store
            .events_after(id, after, READ_PAGE.min(MAX_EVENTS_PAGE))
            .await?;
        let full = page.len() >= READ_PAGE as usize;
        events.extend(page);
        if !full {
            break;
        }
    }
    let transcript = build(RunView::from(run), &events);
    Ok(match query.format.unwrap_or_default() {
        TranscriptFormat::Json => (
            [(
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"run-{id}.json\""),
            )],
            Json(transcript),
        )
            .into_response(),
        TranscriptFormat::Md => (
            [
                (
                    header::CONTENT_TYPE,
                    "text/markdown; charset=utf-8".to_string(),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"run-{id}.md\""),
                ),
            ],
            markdown(&transcript),
        )
            .into_response(),
    })
}

/// Folds the event log into a transcript.
fn build(run: RunView, events: &[RunEvent]) -> Transcript {
    let mut transcript = Transcript {
        team: run.team.clone(),
        run,
        messages: Vec::new(),
        code: Vec::new(),
        tools: Vec::new(),
        errors: Vec::new(),
        outcome: None,
    };
    for event in events {
        match &event.kind {
            EventKind::Team { team } => transcript.team = Some(team.as_ref().clone()),
            EventKind::Message {
                message_id,
                agent,
                content,
                tokens,
            } => transcript.messages.push(TranscriptMessage {
                seq: event.seq,
                message_id: Some(message_id.to_string()),
                agent: agent.clone(),
                content: content.clone(),
                tokens: *tokens,
                at: event.at,
            }),
            EventKind::Input { content } => {
                let agent = transcript
                    .team
                    .as_ref()
                    .map_or_else(|| "human".to_string(), |team| team.admin_name.clone());
                transcript.messages.push(TranscriptMessage {
                    seq: event.seq,
                    message_id: None,
                    agent,
                    content: content.clone(),
                    tokens: 0,
                    at: event.at,
                });
            }
            EventKind::Code {
                message_id,
                language,
                code,
            } => transcript.code.push(TranscriptCode {
                seq: event.seq,
                message_id: message_id.clone(),
                language: language.clone(),
                code: code.clone(),
                result: None,
            }),
            EventKind::CodeResult {
                message_id,
                exit_code,
                stdout,
                stderr,
                duration_ms,
                timed_out,
                files,
            } => {
                let result = TranscriptCodeResult {
                    exit_code: *exit_code,
                    stdout: stdout.clone(),
                    stderr: stderr.clone(),
                    duration_ms: *duration_ms,
                    timed_out: *timed_out,
                    files: files.clone(),
                };
                // A message may hold several blocks: the result belongs to the first one
                // of that message still waiting for its result.
                match transcript
                    .code
                    .iter_mut()
                    .find(|code| code.message_id == *message_id && code.result.is_none())
                {
                    Some(code) => code.result = Some(result),
                    None => transcript.code.push(TranscriptCode {
                        seq: event.seq,
                        message_id: message_id.clone(),
                        language: String::new(),
                        code: String::new(),
                        result: Some(result),
                    }),
                }
            }
            EventKind::ToolCall {
                call_id,
                agent,
                tool,
                arguments,
                ..
            } => transcript.tools.push(TranscriptToolCall {
                seq: event.seq,
                call_id: call_id.clone(),
                agent: agent.clone(),
                tool: tool.clone(),
                arguments: arguments.clone(),
                result: None,
            }),
            EventKind::ToolResult {
                call_id,
                content,
                is_error,
                refused,
                duration_ms,
                ..
            } => {
                if let Some(call) = transcript
                    .tools
                    .iter_mut()
                    .rev()
                    .find(|call| call.call_id == *call_id && call.result.is_none())
                {
                    call.result = Some(TranscriptToolResult {
                        content: content.clone(),
                        is_error: *is_error,
                        refused: *refused,
                        duration_ms: *duration_ms,
                    });
                }
            }
            EventKind::Error { code, message, .. } => transcript.errors.push(TranscriptError {
                seq: event.seq,
                code: *code,
                message: message.clone(),
            }),
            EventKind::Finished {
                status,
                summary,
                reason,
                usage,
            } => {
                transcript.outcome = Some(TranscriptOutcome {
                    status: *status,
                    summary: summary.clone(),
                    reason: *reason,
                    usage: *usage,
                });
            }
            EventKind::Status { .. }
            | EventKind::Speaker { .. }
            | EventKind::MessageDelta { .. }
            | EventKind::Usage { .. }
            | EventKind::InputRequest { .. }
            | EventKind::Log { .. } => {}
        }
    }
    transcript
}

/// Renders a transcript as Markdown. Messages and code appear in log order.
fn markdown(transcript: &Transcript) -> String {
    let run = &transcript.run;
    let mut out = String::new();
    let title = run.task.lines().next().unwrap_or_default().trim();
    let _ = writeln!(out, "# {}\n", if title.is_empty() { "Run" } else { title });
    let _ = writeln!(out, "- Run: `{}`", run.id);
    let _ = writeln!(out, "- Status: {}", run.status.as_str());
    let _ = writeln!(out, "- Created: {}", run.created_at.to_rfc3339());
    if run.task.lines().count() > 1 {
        let _ = writeln!(out, "\n## Task\n\n{}", run.task.trim_end());
    }
    if let Some(team) = &transcript.team {
        let _ = writeln!(out, "\n## Team: {}\n", team.name);
        for agent in &team.agents {
            if agent.description.trim().is_empty() {
                let _ = writeln!(out, "- **{}**", agent.name);
            } else {
                let _ = writeln!(out, "- **{}**: {}", agent.name, agent.description.trim());
            }
        }
        if team.code_execution.enabled {
            let _ = writeln!(
                out,
                "- **{}**: runs code blocks",
                team.code_execution.executor_name
            );
        }
    }
    let _ = writeln!(out, "\n## Conversation");
    // Messages, code and tool calls in log order.
    let mut entries: Vec<(u64, Entry<'_>)> = transcript
        .messages
        .iter()
        .map(|m| (m.seq, Entry::Message(m)))
        .chain(transcript.code.iter().map(|c| (c.seq, Entry::Code(c))))
        .chain(transcript.tools.iter().map(|t| (t.seq, Entry::Tool(t))))
        .collect();
    entries.sort_by_key(|(seq, _)| *seq);
    for (_, entry) in entries {
        match entry {
            Entry::Message(message) => write_message(&mut out, message),
            Entry::Code(code) => write_code(&mut out, code),
            Entry::Tool(call) => write_tool_call(&mut out, call),
        }
    }
    for error in &transcript.errors {
        let _ = writeln!(out, "\n> **Error** `{}`: {}", error.code, error.message);
    }
    let _ = writeln!(out, "\n## Result\n");
    match &transcript.outcome {
        Some(outcome) => {
            let _ = writeln!(
                out,
                "- Status: {} ({})",
                outcome.status.as_str(),
                outcome.reason.as_str()
            );
            write_usage(&mut out, &outcome.usage);
            if !outcome.summary.trim().is_empty() {
                let _ = writeln!(out, "\n{}", outcome.summary.trim_end());
            }
        }
        None => {
            let _ = writeln!(out, "- Status: {} (not finished)", run.status.as_str());
            write_usage(&mut out, &run.usage);
        }
    }
    out
}

enum Entry<'a> {
    Message(&'a TranscriptMessage),
    Code(&'a TranscriptCode),
    Tool(&'a TranscriptToolCall),
}

fn write_message(out: &mut String, message: &TranscriptMessage) {
    let _ = writeln!(
        out,
        "\n### {}\n\n{}",
        message.agent,
        message.content.trim_end()
    );
}

fn write_tool_call(out: &mut String, call: &TranscriptToolCall) {
    let _ = writeln!(out, "\n{} calls `{}`:\n", call.agent, call.tool);
    let _ = writeln!(out, "{}", fenced("json", &call.arguments.to_string()));
    if let Some(result) = &call.result {
        let verdict = if result.refused {
            "Refused".to_string()
        } else if result.is_error {
            format!("Failed ({} ms)", result.duration_ms)
        } else {
            format!("Answered ({} ms)", result.duration_ms)
        };
        let _ = writeln!(out, "\n{verdict}\n\n{}", fenced("text", &result.content));
    }
}

fn write_code(out: &mut String, code: &TranscriptCode) {
    if !code.code.is_empty() {
        let _ = writeln!(out, "\n{}", fenced(&code.language, &code.code));
    }
    if let Some(result) = &code.result {
        let timed_out = if result.timed_out { ", timed out" } else { "" };
        let _ = writeln!(
            out,
            "\nExit code {} ({} ms{timed_out})\n",
            result.exit_code, result.duration_ms
        );
        let mut output = result.stdout.clone();
        if !result.stderr.is_empty() {
            if !output.is_empty() && !output.ends_with('\n') {
                output.push('\n');
            }
            output.push_str(&result.stderr);
        }
        let _ = writeln!(out, "{}", fenced("text", &output));
        if !result.files.is_empty() {
            let _ = writeln!(out, "\nFiles written:\n");
            for file in &result.files {
                let kept = match file.skipped {
                    Some(skipped) if !file.stored => format!(", not kept: {}", skipped.as_str()),
                    _ => String::new(),
                };
                let _ = writeln!(
                    out,
                    "- {} ({} bytes, {}{kept})",
                    inline_code(&file.path),
                    file.size_bytes,
                    file.content_type
                );
            }
        }
    }
}

/// `text` as Markdown inline code, delimited by more backticks than any run inside it.
fn inline_code(text: &str) -> String {
    let mut longest = 0;
    let mut current = 0;
    for c in text.chars() {
        if c == '`' {
            current += 1;
            longest = longest.max(current);
        } else {
            current = 0;
        }
    }
    let ticks = "`".repeat(longest + 1);
    format!("{ticks} {text} {ticks}")
}

fn write_usage(out: &mut String, usage: &UsageTotals) {
    let _ = writeln!(
        out,
        "- Usage: {} prompt + {} completion tokens in {} calls, ${:.4}",
        usage.prompt_tokens, usage.completion_tokens, usage.calls, usage.cost_usd
    );
}

/// A fenced block whose fence is longer than any backtick run inside, so code that itself
/// contains fences cannot end the block early.
fn fenced(language: &str, body: &str) -> String {
    let mut longest = 0;
    let mut current = 0;
    for c in body.chars() {
        if c == '`' {
            current += 1;
            longest = longest.max(current);
        } else {
            current = 0;
        }
    }
    let fence = "`".repeat(longest.max(2) + 1);
    format!(
        "{fence}{language}\n{}\n{fence}",
        body.trim_end_matches('\n')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences_outgrow_the_content() {
        assert_eq!(fenced("py", "print(1)\n"), "```py\nprint(1)\n```");
        assert_eq!(fenced("md", "a ```` b"), "`````md\na ```` b\n`````");
    }
}
