//! A whole run, start to finish: build the team (or take the given one), run the group
//! chat, and frame it with the `status`, `team`, `error` and `finished` events every client
//! relies on. The CLI and the service's worker both call [`execute_run`].

use crate::builder::{BuildOptions, TeamBuilder};
use crate::event::{EventKind, LogLevel, RunStatus, SinkError, UsageTotals};
use crate::failure::{FailureCode, RunEnd, RunFailure};
use crate::groupchat::{GroupChat, RunContext};
use crate::message::TranscriptMessage;
use crate::team::{SpeakerSelection, TeamSpec};
use crate::termination::StopReason;

/// Where the team of a run comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum TeamSource {
    /// A ready team.
    Given(Box<TeamSpec>),
    /// Built for the task by the team builder.
    Build(BuildOptions),
}

/// Per-run settings that override the team's own.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunOverrides {
    /// Maximum turns.
    pub max_round: Option<u32>,
    /// Speaker selection strategy.
    pub speaker_selection: Option<SpeakerSelection>,
    /// Turn code execution off.
    pub no_code: bool,
    /// Cost budget in USD.
    pub max_cost_usd: Option<f64>,
    /// Token budget.
    pub max_tokens: Option<u64>,
    /// Wall-clock limit of the chat, seconds.
    pub timeout_secs: Option<u64>,
}

/// What to run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRequest {
    /// The task.
    pub task: String,
    /// The team.
    pub team: TeamSource,
    /// Overrides applied to the team.
    pub overrides: RunOverrides,
    /// Stop after the team is built.
    pub build_only: bool,
}

/// State persisted by an earlier attempt of the same run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResumeState {
    /// The team the earlier attempt ran.
    pub team: Option<TeamSpec>,
    /// Turns already persisted.
    pub transcript: Vec<TranscriptMessage>,
    /// Usage already spent.
    pub usage: UsageTotals,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    /// Final status.
    pub status: RunStatus,
    /// Why.
    pub reason: StopReason,
    /// Summary (last meaningful message, or the error).
    pub summary: String,
    /// The team that ran, if one was built or given.
    pub team: Option<TeamSpec>,
    /// Usage totals.
    pub usage: UsageTotals,
    /// The failure, if it failed.
    pub error: Option<RunFailure>,
}

/// Runs `request` to the end, emitting the full event sequence. Never returns with a
/// run in a non-terminal state: the last event is always `finished`, unless the event
/// sink itself fails.
pub async fn execute_run(
    request: RunRequest,
    ctx: RunContext,
    resume: Option<ResumeState>,
) -> Result<RunOutcome, SinkError> {
    let resume = resume.unwrap_or_default();
    let mut usage = resume.usage;
    let emitter = ctx.emitter.clone();

    let team = match (resume.team, &request.team) {
        (Some(team), _) => Ok(team),
        (None, TeamSource::Given(team)) => Ok(team.as_ref().clone()),
        (None, TeamSource::Build(options)) => {
            emitter
                .emit(EventKind::Status {
                    status: RunStatus::Building,
                })
                .await?;
            let builder = TeamBuilder::new(ctx.model.clone(), options.clone());
            let built = builder.build(&request.task, &emitter, &ctx.cancel).await;
            // Counted from the emitted usage events, so a build that fails half-way still
            // reports what its calls cost.
            usage.add_totals(&emitter.usage().await);
            built.map(|outcome| outcome.team)
        }
    };
    let mut team = match team {
        Ok(team) => team,
        Err(crate::builder::BuildError::Sink(error)) => return Err(error),
        Err(crate::builder::BuildError::Model(model)) => {
            let end = match RunFailure::from_model(&model) {
                Some(failure) => RunEnd::failed(failure, usage),
                None => RunEnd::new(
                    StopReason::Cancelled,
                    "cancelled while building the team",
                    usage,
                ),
            };
            return finish(&ctx, None, end).await;
        }
        Err(error) => {
            let failure = RunFailure::new(FailureCode::TeamBuildFailed, error.to_string());
            return finish(&ctx, None, RunEnd::failed(failure, usage)).await;
        }
    };
    apply_overrides(&mut team, &request.overrides);
    if let Err(error) = team.validate() {
        let failure = RunFailure::new(FailureCode::InvalidTeam, error.to_string());
        return finish(&ctx, Some(team), RunEnd::failed(failure, usage)).await;
    }
    if team.code_execution.enabled && ctx.executor.is_none() && !request.build_only {
        team.code_execution.enabled = false;
        emitter
            .emit(EventKind::Log {
                level: LogLevel::Warn,
                message: "code execution is off: no sandbox is available for this run".into(),
            })
            .await?;
    }
    if resume.transcript.is_empty() {
        emitter
            .emit(EventKind::Team {
                team: Box::new(team.clone()),
            })
            .await?;
    }
    if request.build_only {
        let end = RunEnd::new(StopReason::BuildOnly, "team built", usage);
        return finish(&ctx, Some(team), end).await;
    }

    emitter
        .emit(EventKind::Status {
            status: RunStatus::Executing,
        })
        .await?;
    let chat = GroupChat::new(team.clone(), ctx.clone()).with_usage(usage);
    let outcome = chat.run(&request.task, resume.transcript).await?;
    let end = match outcome.error {
        Some(failure) => RunEnd::failed(failure, outcome.usage),
        None => RunEnd::new(outcome.reason, outcome.summary, outcome.usage),
    };
    finish(&ctx, Some(team), end).await
}

fn apply_overrides(team: &mut TeamSpec, overrides: &RunOverrides) {
    if let Some(max_round) = overrides.max_round {
        team.termination.max_round = Some(max_round);
    }
    if let Some(selection) = &overrides.speaker_selection {
        team.speaker_selection = selection.clone();
    }
    if overrides.no_code {
        team.code_execution.enabled = false;
    }
    if overrides.max_cost_usd.is_some() {
        team.termination.max_cost_usd = overrides.max_cost_usd;
    }
    if overrides.max_tokens.is_some() {
        team.termination.max_tokens = overrides.max_tokens;
    }
    if overrides.timeout_secs.is_some() {
        team.termination.timeout_secs = overrides.timeout_secs;
    }
}

/// Emits the run's closing events and reports how it ended.
async fn finish(
    ctx: &RunContext,
    team: Option<TeamSpec>,
    end: RunEnd,
) -> Result<RunOutcome, SinkError> {
    for kind in end.events() {
        ctx.emitter.emit(kind).await?;
    }
    Ok(RunOutcome {
        status: end.reason.status(),
        reason: end.reason,
        summary: end.summary,
        team,
        usage: end.usage,
        error: end.failure,
    })
}
