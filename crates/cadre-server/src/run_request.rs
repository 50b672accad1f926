//! What the service stores as a run's request: the API's create body, resolved (a
//! `team_id` is replaced by the team itself at creation, so a later edit or delete of the
//! saved team cannot change a queued run) and turned into the engine's
//! [`cadre_core::run::RunRequest`] by the worker.

use cadre_core::builder::BuildOptions;
use cadre_core::run::{RunOverrides, RunRequest, TeamSource};
use cadre_core::team::{SpeakerSelection, TeamSpec};
use cadre_llm::demo::DEMO_MODEL;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// How the team builder is asked, when no team is given.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildRequest {
    /// Most experts (default 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_agents: Option<usize>,
    /// Force code execution on or off; absent lets the model decide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coding: Option<bool>,
    /// Model for the builder's calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// A run as stored in the database and executed by a worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredRunRequest {
    /// The task.
    pub task: String,
    /// The team to run; absent means "build one".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<TeamSpec>,
    /// Builder settings when `team` is absent.
    #[serde(default)]
    pub build: BuildRequest,
    /// `false` stops after building the team.
    #[serde(default = "yes")]
    pub execute: bool,
    /// Model for the whole run (`demo` for the offline demo model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Maximum chat turns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_round: Option<u32>,
    /// Cost budget in USD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_usd: Option<f64>,
    /// Speaker selection override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speaker_selection: Option<SpeakerSelection>,
    /// The run this one was forked from, when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fork: Option<ForkOrigin>,
}

/// Where a forked run's conversation came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForkOrigin {
    /// The run forked.
    pub run_id: Uuid,
    /// Its last event the fork kept.
    pub after_seq: u64,
    /// Whether the fork edited the message at `after_seq`.
    pub edited: bool,
}

fn yes() -> bool {
    true
}

impl StoredRunRequest {
    /// The engine's request for this run.
    pub fn to_engine(&self) -> RunRequest {
        let team = match &self.team {
            Some(team) => TeamSource::Given(Box::new(team.clone())),
            None => {
                let defaults = BuildOptions::default();
                TeamSource::Build(BuildOptions {
                    max_agents: self.build.max_agents.unwrap_or(defaults.max_agents),
                    coding: self.build.coding,
                    model: self
                        .build
                        .model
                        .clone()
                        .or_else(|| self.model.clone())
                        .filter(|m| m != DEMO_MODEL),
                    ..defaults
                })
            }
        };
        RunRequest {
            task: self.task.clone(),
            team,
            overrides: RunOverrides {
                max_round: self.max_round,
                speaker_selection: self.speaker_selection.clone(),
                max_cost_usd: self.budget_usd,
                ..RunOverrides::default()
            },
            build_only: !self.execute,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_request_builds_and_executes() {
        let request: StoredRunRequest =
            serde_json::from_str(r#"{"task": "t", "model": "demo"}"#).unwrap();
        let engine = request.to_engine();
        assert!(!engine.build_only);
        assert!(
            matches!(engine.team, TeamSource::Build(ref o) if o.max_agents == 4 && o.model.is_none())
        );
    }

    #[test]
    fn options_reach_the_engine() {
        let request: StoredRunRequest = serde_json::from_str(
            r#"{"task": "t", "execute": false, "max_round": 7, "budget_usd": 0.5,
                "build": {"max_agents": 2, "coding": false, "model": "m"}}"#,
        )
        .unwrap();
        let engine = request.to_engine();
        assert!(engine.build_only);
        assert_eq!(engine.overrides.max_round, Some(7));
        assert_eq!(engine.overrides.max_cost_usd, Some(0.5));
        assert!(
            matches!(engine.team, TeamSource::Build(ref o) if o.max_agents == 2 && o.coding == Some(false) && o.model.as_deref() == Some("m"))
        );
    }
}
