//! Import and export of AutoGen AgentBuilder JSON. PLACEHOLDER: being implemented.

use crate::team::{TeamError, TeamSpec};

/// Parses a team file: Cadre's own [`TeamSpec`] JSON or AutoGen AgentBuilder `save()` JSON.
pub fn parse_team_file(text: &str) -> Result<TeamSpec, TeamError> {
    serde_json::from_str(text).map_err(|e| TeamError::Format(e.to_string()))
}

/// Converts an AutoGen AgentBuilder config to a team.
pub fn import_autogen(value: &serde_json::Value) -> Result<TeamSpec, TeamError> {
    serde_json::from_value(value.clone()).map_err(|e| TeamError::Format(e.to_string()))
}

/// Converts a team to AutoGen AgentBuilder JSON.
pub fn export_autogen(team: &TeamSpec) -> serde_json::Value {
    serde_json::to_value(team).unwrap_or_default()
}
