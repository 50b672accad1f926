//! The public JSON shapes of the run resource: request bodies ([`CreateRunBody`],
//! [`BuildBody`], [`RunInputBody`], [`ForkRunBody`]), list parameters ([`ListRunsQuery`]) and what the API
//! answers ([`RunView`] with its [`RunSettingsView`] and [`RunErrorView`]; [`RunList`]);
//! status and usage are the engine's own [`RunStatus`] and [`UsageTotals`] schemas. The type names are the schema names
//! of `/openapi.json`, and so of the web UI's generated types: renaming one is an API
//! change.

use cadre_core::FailureCode;
use cadre_core::event::{RunStatus, UsageTotals};
use cadre_core::team::{SelectionMethod, SpeakerSelection, TeamSpec};
use cadre_store::RunRecord;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::run_request::StoredRunRequest;

/// Builder settings of a create request.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BuildBody {
    /// Most experts (1..=16, default 4).
    pub max_agents: Option<u32>,
    /// Force code execution on or off; absent lets the model decide.
    pub coding: Option<bool>,
    /// Model for the builder's calls.
    pub model: Option<String>,
}

/// `POST /api/v1/runs` body. Give at most one of `team_id` and `team`; with neither, a
/// team is built for the task (`build` tunes how).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRunBody {
    /// The task (non-empty, at most 20,000 characters).
    pub task: String,
    /// A saved team of the caller's, copied into the run.
    pub team_id: Option<Uuid>,
    /// A team given inline (Cadre team JSON).
    pub team: Option<TeamSpec>,
    /// Builder settings, when no team is given.
    pub build: Option<BuildBody>,
    /// `false` stops after building the team (default `true`).
    pub execute: Option<bool>,
    /// Model for the whole run (`demo` for the offline demo model).
    pub model: Option<String>,
    /// Most chat rounds (1..=1000).
    pub max_round: Option<u32>,
    /// Cost budget in USD (≥ 0).
    pub budget_usd: Option<f64>,
    /// Overrides the team's next-speaker strategy: `auto`, `round_robin`, `random` or
    /// `manual` (a human picks through `POST …/input`).
    pub speaker_selection: Option<SelectionMethod>,
}

/// The last error of a run.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunErrorView {
    /// Stable code (`llm_unreachable`, `worker_lost`, …).
    pub code: FailureCode,
    /// Human-readable message.
    pub message: String,
}

/// A run as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunView {
    /// Run id.
    pub id: Uuid,
    /// The task.
    pub task: String,
    /// Current status.
    pub status: RunStatus,
    /// The team (once given or built).
    pub team: Option<TeamSpec>,
    /// Summary of the outcome (once finished).
    pub summary: Option<String>,
    /// The last error, if any.
    pub error: Option<RunErrorView>,
    /// Usage totals (final once finished).
    pub usage: UsageTotals,
    /// Seq of the last durable event (resume point for event streams).
    pub last_seq: u64,
    /// Whether cancellation was requested.
    pub cancel_requested: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When execution first started.
    pub started_at: Option<DateTime<Utc>>,
    /// When the run reached a terminal status.
    pub finished_at: Option<DateTime<Utc>>,
    /// What the run was asked to do (model, limits, build only…).
    pub settings: RunSettingsView,
    /// The run this one was forked from (`POST /api/v1/runs/{id}/fork`), if any.
    pub forked_from: Option<ForkOriginView>,
}

/// Where a forked run's conversation came from.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ForkOriginView {
    /// The run forked.
    pub run_id: Uuid,
    /// Its last event the fork kept.
    pub after_seq: u64,
    /// Whether the message at `after_seq` was edited.
    pub edited: bool,
}

/// `POST /api/v1/runs/{id}/fork` body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForkRunBody {
    /// The fork keeps the run's conversation up to and including this event (a seq of
    /// the run's event log, at or after its task message) and continues from there.
    pub after_seq: u64,
    /// New content for the message at `after_seq` (which must then be a `message`
    /// event); the team continues from the edited message.
    pub edit: Option<String>,
}

/// A run's request settings, as given at creation.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct RunSettingsView {
    /// Model of the whole run (`demo` for the offline demo); absent: the default.
    pub model: Option<String>,
    /// `false` for a build-only run (it completes once its team is built).
    pub execute: bool,
    /// Most chat rounds, if limited by the request.
    pub max_round: Option<u32>,
    /// Cost budget in USD, if any.
    pub budget_usd: Option<f64>,
    /// The speaker selection override (`auto`, `round_robin`, `random`, `manual`), if any.
    pub speaker_selection: Option<SelectionMethod>,
    /// Most experts the builder could create, when the team was built.
    pub max_agents: Option<u32>,
    /// Whether code execution was forced on or off when building.
    pub coding: Option<bool>,
}

impl RunSettingsView {
    /// The settings of a stored request (`None`: one this version cannot read).
    fn from_request(request: Option<&StoredRunRequest>) -> Self {
        let Some(request) = request else {
            return Self {
                execute: true,
                ..Self::default()
            };
        };
        let speaker_selection = request
            .speaker_selection
            .as_ref()
            .and_then(SpeakerSelection::method);
        Self {
            model: request.model.clone(),
            execute: request.execute,
            max_round: request.max_round,
            budget_usd: request.budget_usd,
            speaker_selection,
            max_agents: request.build.max_agents.and_then(|n| u32::try_from(n).ok()),
            coding: request.build.coding,
        }
    }
}

impl From<RunRecord> for RunView {
    fn from(run: RunRecord) -> Self {
        // A request this version cannot read (written by a newer one) shows defaults
        // rather than failing the whole view.
        let request = serde_json::from_value::<StoredRunRequest>(run.request).ok();
        let error = run.error_code.map(|code| RunErrorView {
            code,
            message: run.error_message.unwrap_or_default(),
        });
        Self {
            id: run.id,
            task: run.task,
            status: run.status,
            team: run.team,
            summary: run.summary,
            error,
            usage: run.usage,
            last_seq: run.last_seq,
            cancel_requested: run.cancel_requested,
            created_at: run.created_at,
            started_at: run.started_at,
            finished_at: run.finished_at,
            settings: RunSettingsView::from_request(request.as_ref()),
            forked_from: request
                .as_ref()
                .and_then(|r| r.fork)
                .map(|fork| ForkOriginView {
                    run_id: fork.run_id,
                    after_seq: fork.after_seq,
                    edited: fork.edited,
                }),
        }
    }
}

/// `GET /api/v1/runs` parameters.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListRunsQuery {
    /// Only runs with this status.
    pub status: Option<RunStatus>,
    /// Page size (1..=500, default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page of runs, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunList {
    /// The runs.
    pub runs: Vec<RunView>,
    /// Pass as `cursor` for the next page; `null` when there is none.
    pub next_cursor: Option<String>,
}

/// A human's answer to a run's `input_request`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunInputBody {
    /// The answer (for manual speaker selection: a number from the menu or an agent's
    /// name). Not blank; at most 16 KiB.
    pub content: String,
}
