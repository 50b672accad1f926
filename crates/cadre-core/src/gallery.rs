//! The starter teams Cadre ships: a small gallery of ready teams a user can run or copy.
//!
//! Each is stored as AutoGen AgentChat component JSON under `crates/cadre-core/gallery/`,
//! embedded in the binary, and read through [`crate::agentchat`] when asked for, so the
//! starters are plain AgentChat files (they load in AutoGen Studio too) and exercise the
//! same importer users' files go through.

use serde_json::Value;

use crate::agentchat::import_agentchat;
use crate::team::{TeamError, TeamSpec};

/// The embedded starter files: id and AgentChat component JSON.
const STARTERS: [(&str, &str); 4] = [
    (
        "research-and-write",
        include_str!("../gallery/research-and-write.json"),
    ),
    (
        "data-analysis",
        include_str!("../gallery/data-analysis.json"),
    ),
    (
        "plan-and-review",
        include_str!("../gallery/plan-and-review.json"),
    ),
    ("debate", include_str!("../gallery/debate.json")),
];

/// One starter team.
#[derive(Debug, Clone, PartialEq)]
pub struct StarterTeam {
    /// Stable identifier (`research-and-write`), for URLs and the CLI.
    pub id: &'static str,
    /// Display label.
    pub label: String,
    /// What the team does.
    pub description: String,
    /// The team, ready to run.
    pub spec: TeamSpec,
    /// The AgentChat component it was read from (what an AgentChat export writes).
    pub component: &'static str,
}

/// Every starter team, in gallery order.
///
/// A starter that fails to import is left out with an error in the log; the crate's tests
/// import every one, so that only happens if the embedded files are broken.
pub fn starter_teams() -> Vec<StarterTeam> {
    STARTERS
        .iter()
        .filter_map(|(id, json)| match starter(id, json) {
            Ok(team) => Some(team),
            Err(error) => {
                tracing::error!(starter = id, %error, "embedded starter team does not import");
                None
            }
        })
        .collect()
}

/// The starter team with this id.
pub fn starter_team(id: &str) -> Option<StarterTeam> {
    let (id, json) = STARTERS.iter().find(|(known, _)| *known == id)?;
    starter(id, json).ok()
}

fn starter(id: &'static str, json: &'static str) -> Result<StarterTeam, TeamError> {
    let component: Value = serde_json::from_str(json)
        .map_err(|e| TeamError::Format(format!("starter `{id}` is not valid JSON ({e})")))?;
    let mut spec = import_agentchat(&component, None)?.team;
    // The files name a model because AgentChat requires one; a starter runs on whatever
    // model the deployment is configured for instead.
    spec.default_model = None;
    for agent in &mut spec.agents {
        agent.model = None;
    }
    let text = |key: &str| {
        component
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    Ok(StarterTeam {
        id,
        label: spec.name.clone(),
        description: text("description"),
        spec,
        component: json,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::team::SpeakerSelection;

    #[test]
    fn every_starter_imports_and_validates() {
        let teams = starter_teams();
        assert_eq!(teams.len(), STARTERS.len());
        for team in &teams {
            team.spec.validate().unwrap();
            assert!(
                !team.label.is_empty() && !team.description.is_empty(),
                "{}",
                team.id
            );
            assert!(team.spec.default_model.is_none(), "{}", team.id);
            assert!(
                team.spec.agents.iter().all(|a| a.model.is_none()),
                "{}",
                team.id
            );
            assert!(
                team.spec.termination.max_round.is_some(),
                "{} must end on its own",
                team.id
            );
            // No starter uses anything Cadre would only keep: the notes name the kept
            // component, the sandbox, the selector prompt, and nothing else.
            let notes = import_agentchat(&serde_json::from_str(team.component).unwrap(), None)
                .unwrap()
                .notes;
            for note in &notes {
                assert!(
                    note.contains("agentchat_component")
                        || note.contains("sandbox")
                        || note.contains("selector_prompt"),
                    "{}: unexpected note {note}",
                    team.id
                );
            }
        }
        let ids: Vec<&str> = teams.iter().map(|t| t.id).collect();
        assert_eq!(
            ids,
            [
                "research-and-write",
                "data-analysis",
                "plan-and-review",
                "debate"
            ]
        );
    }

    #[test]
    fn starters_map_to_the_expected_teams() {
        let research = starter_team("research-and-write").unwrap();
        assert_eq!(research.label, "Research and write");
        assert_eq!(
            research.spec.speaker_selection,
            SpeakerSelection::RoundRobin
        );
        assert_eq!(
            research.spec.termination.text_mention.as_deref(),
            Some("APPROVE")
        );
        assert_eq!(research.spec.termination.max_round, Some(12));

        let data = starter_team("data-analysis").unwrap();
        assert_eq!(data.spec.speaker_selection, SpeakerSelection::Auto);
        assert!(data.spec.code_execution.enabled);
        assert_eq!(data.spec.code_execution.executor_name, "executor");
        assert_eq!(data.spec.code_execution.timeout_secs, 60);
        assert_eq!(
            data.spec.participants(),
            ["analyst", "reviewer", "executor"]
        );

        // max_turns 8 (agent turns) + the task message.
        let plan = starter_team("plan-and-review").unwrap();
        assert_eq!(plan.spec.termination.max_round, Some(9));

        let debate = starter_team("debate").unwrap();
        assert_eq!(debate.spec.agents.len(), 3);
        assert!(starter_team("nope").is_none());
    }
}
