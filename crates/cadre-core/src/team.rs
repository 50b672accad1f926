//! Team specifications: the agents of a team, how the next speaker is chosen, when the
//! chat ends, and whether code runs. [`TeamSpec`] is what the builder produces, what
//! users edit and save, and what a run executes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Default name of the human/admin participant that states the task.
pub const DEFAULT_ADMIN_NAME: &str = "User";
/// Default name of the code-executing agent (AutoGen's AgentBuilder name).
pub const DEFAULT_EXECUTOR_NAME: &str = "Computer_terminal";
/// Default termination keyword.
pub const DEFAULT_TERMINATION_TEXT: &str = "TERMINATE";

/// One expert of a team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct AgentSpec {
    /// Unique name within the team (`[A-Za-z0-9_-]`, as OpenAI's `name` field requires).
    pub name: String,
    /// System message that defines the agent's role.
    pub system_message: String,
    /// One-line description other participants (and speaker selection) see.
    #[serde(default)]
    pub description: String,
    /// Model override for this agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The tools the agent may call, from the deployment's MCP servers: `server.tool`,
    /// `server.*` or `*` (see [`crate::tool::ToolPattern`]). A tool not allowed here is
    /// never offered to the agent, and a call to it is refused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<String>,
    /// A human speaks as this agent (AutoGen's `human_input_mode="ALWAYS"` user proxy):
    /// on its turns the run asks the user and waits, up to a timeout, then uses a default
    /// reply. No model is called for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub human_input: Option<HumanInput>,
    /// Fields of an imported AutoGen agent config that Cadre does not interpret, kept so
    /// that export returns them unchanged.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    #[cfg_attr(feature = "schema", schema(value_type = Object, additional_properties))]
    pub autogen_extra: serde_json::Map<String, serde_json::Value>,
}

/// How a human-driven agent waits for its human.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct HumanInput {
    /// Seconds to wait for an answer (1..=86,400) before `default_reply` is used.
    #[serde(default = "default_human_timeout")]
    pub timeout_secs: u64,
    /// What the agent says when the human does not answer in time (or cannot be asked,
    /// as in a non-interactive run).
    #[serde(default = "default_human_reply")]
    pub default_reply: String,
}

/// Longest a human-driven agent may be set to wait.
pub const MAX_HUMAN_TIMEOUT_SECS: u64 = 86_400;

fn default_human_timeout() -> u64 {
    300
}

fn default_human_reply() -> String {
    "(no answer from the user: carry on as you see fit)".to_string()
}

impl Default for HumanInput {
    fn default() -> Self {
        Self {
            timeout_secs: default_human_timeout(),
            default_reply: default_human_reply(),
        }
    }
}

impl AgentSpec {
    /// An agent with a name, a system message and a description, and no overrides.
    pub fn new(
        name: impl Into<String>,
        system_message: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            system_message: system_message.into(),
            description: description.into(),
            model: None,
            tools: Vec::new(),
            human_input: None,
            autogen_extra: serde_json::Map::new(),
        }
    }
}

/// How the next speaker is chosen (AutoGen's `speaker_selection_method`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum SpeakerSelection {
    /// The model picks from the agents' descriptions and the conversation.
    #[default]
    Auto,
    /// Agents take turns in order.
    RoundRobin,
    /// A random agent; seedable for reproducible runs.
    Random {
        /// Seed; `None` seeds from the clock.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seed: Option<u64>,
    },
    /// A human picks (through the run's input source).
    Manual,
    /// Only the listed transitions are allowed; among several, the model picks.
    Graph {
        /// Speaker -> allowed next speakers. The admin name may appear as a key for the
        /// first turn; a speaker with no entry may pass to anyone.
        transitions: BTreeMap<String, Vec<String>>,
    },
}

impl SpeakerSelection {
    /// Parses the CLI / AutoGen names: `auto`, `round_robin`, `random`, `manual`.
    pub fn parse(name: &str) -> Option<Self> {
        SelectionMethod::parse(name).map(Self::from)
    }

    /// The method, when it needs no data beyond its name (not `graph`).
    pub fn method(&self) -> Option<SelectionMethod> {
        match self {
            Self::Auto => Some(SelectionMethod::Auto),
            Self::RoundRobin => Some(SelectionMethod::RoundRobin),
            Self::Random { .. } => Some(SelectionMethod::Random),
            Self::Manual => Some(SelectionMethod::Manual),
            Self::Graph { .. } => None,
        }
    }
}

/// A speaker selection chosen by name alone (AutoGen's `speaker_selection_method`
/// values), as a run request or the CLI overrides a team's: `auto`, `round_robin`,
/// `random` (unseeded) or `manual`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SelectionMethod {
    /// The model picks.
    Auto,
    /// Agents take turns in order.
    #[serde(alias = "roundrobin", alias = "round-robin")]
    RoundRobin,
    /// A random agent.
    Random,
    /// A human picks.
    Manual,
}

impl SelectionMethod {
    /// Parses a name leniently (case, `-` for `_`, `roundrobin`).
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "auto" => Some(Self::Auto),
            "round_robin" | "roundrobin" => Some(Self::RoundRobin),
            "random" => Some(Self::Random),
            "manual" => Some(Self::Manual),
            _ => None,
        }
    }
}

impl From<SelectionMethod> for SpeakerSelection {
    fn from(method: SelectionMethod) -> Self {
        match method {
            SelectionMethod::Auto => Self::Auto,
            SelectionMethod::RoundRobin => Self::RoundRobin,
            SelectionMethod::Random => Self::Random { seed: None },
            SelectionMethod::Manual => Self::Manual,
        }
    }
}

/// When the chat ends. Every condition that is set applies; the first one met wins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Termination {
    /// A message containing this text ends the chat (`None` disables).
    #[serde(default = "default_termination_text")]
    pub text_mention: Option<String>,
    /// Maximum number of turns, counting the task message (AutoGen's `max_round`).
    #[serde(default = "default_max_round")]
    pub max_round: Option<u32>,
    /// Stop when prompt + completion tokens reach this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    /// Stop when the cost in USD reaches this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cost_usd: Option<f64>,
    /// Stop (as failed) after this many seconds of wall time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
}

fn default_termination_text() -> Option<String> {
    Some(DEFAULT_TERMINATION_TEXT.to_string())
}

fn default_max_round() -> Option<u32> {
    Some(20)
}

impl Default for Termination {
    fn default() -> Self {
        Self {
            text_mention: default_termination_text(),
            max_round: default_max_round(),
            max_tokens: None,
            max_cost_usd: None,
            timeout_secs: None,
        }
    }
}

/// Whether and how the team executes code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct CodeExecution {
    /// Adds the executor agent to the chat.
    #[serde(default)]
    pub enabled: bool,
    /// Name of the executor agent.
    #[serde(default = "default_executor_name")]
    pub executor_name: String,
    /// Languages the executor accepts.
    #[serde(default = "default_languages")]
    pub languages: Vec<String>,
    /// How many recent messages the executor scans for code (AutoGen's `last_n_messages`);
    /// 0 is AutoGen's `"auto"`: every message since the executor last spoke.
    #[serde(default = "default_last_n")]
    pub last_n_messages: usize,
    /// Wall-clock limit per code block, seconds.
    #[serde(default = "default_code_timeout")]
    pub timeout_secs: u64,
}

fn default_executor_name() -> String {
    DEFAULT_EXECUTOR_NAME.to_string()
}
fn default_languages() -> Vec<String> {
    vec!["python".into(), "sh".into()]
}
fn default_last_n() -> usize {
    0
}
fn default_code_timeout() -> u64 {
    30
}

impl Default for CodeExecution {
    fn default() -> Self {
        Self {
            enabled: false,
            executor_name: default_executor_name(),
            languages: default_languages(),
            last_n_messages: default_last_n(),
            timeout_secs: default_code_timeout(),
        }
    }
}

/// A team: who is in it and how it talks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct TeamSpec {
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// The task the team was built for, if it was built.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub building_task: Option<String>,
    /// The experts, in speaking order for round robin.
    pub agents: Vec<AgentSpec>,
    /// Next-speaker strategy.
    #[serde(default)]
    pub speaker_selection: SpeakerSelection,
    /// End conditions.
    #[serde(default)]
    pub termination: Termination,
    /// Code execution.
    #[serde(default)]
    pub code_execution: CodeExecution,
    /// Name of the human/admin participant that states the task.
    #[serde(default = "default_admin_name")]
    pub admin_name: String,
    /// Model for agents without an override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_model: Option<String>,
    /// Sampling temperature for agent turns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// Top-level fields of an imported AutoGen file that Cadre does not interpret
    /// (`default_llm_config`, `code_execution_config`, `manager_system_message`, …), kept
    /// verbatim for a lossless export.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    #[cfg_attr(feature = "schema", schema(value_type = Object, additional_properties))]
    pub autogen_extra: serde_json::Map<String, serde_json::Value>,
}

fn default_admin_name() -> String {
    DEFAULT_ADMIN_NAME.to_string()
}

/// A team that cannot run, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TeamError {
    /// The team has no agents.
    #[error("team has no agents")]
    NoAgents,
    /// An agent name is empty or has characters providers reject.
    #[error("invalid agent name `{0}`: use letters, digits, `_` and `-` (at most 64)")]
    InvalidName(String),
    /// Two participants share a name.
    #[error("duplicate agent name `{0}`")]
    DuplicateName(String),
    /// The speaker graph names an unknown agent.
    #[error("speaker graph names unknown agent `{0}`")]
    UnknownGraphAgent(String),
    /// A human-driven agent's settings are out of range.
    #[error("agent `{0}`: human_input.timeout_secs must be between 1 and 86400")]
    InvalidHumanInput(String),
    /// A tool allowlist entry is not `server.tool`, `server.*` or `*`.
    #[error("agent `{0}`: tool `{1}` must be `server.tool`, `server.*` or `*`")]
    InvalidTool(String, String),
    /// The file is not a team in any format Cadre reads.
    #[error("not a team file: {0}")]
    Format(String),
}

/// Whether `name` is acceptable as an agent name.
pub fn is_valid_agent_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl TeamSpec {
    /// A team of the given agents with default settings.
    pub fn new(name: impl Into<String>, agents: Vec<AgentSpec>) -> Self {
        Self {
            name: name.into(),
            building_task: None,
            agents,
            speaker_selection: SpeakerSelection::default(),
            termination: Termination::default(),
            code_execution: CodeExecution::default(),
            admin_name: default_admin_name(),
            default_model: None,
            temperature: None,
            autogen_extra: serde_json::Map::new(),
        }
    }

    /// Every participant that can be chosen to speak: the experts, then the executor when
    /// code execution is on.
    pub fn participants(&self) -> Vec<String> {
        let mut names: Vec<String> = self.agents.iter().map(|a| a.name.clone()).collect();
        if self.code_execution.enabled {
            names.push(self.code_execution.executor_name.clone());
        }
        names
    }

    /// The expert with this name.
    pub fn agent(&self, name: &str) -> Option<&AgentSpec> {
        self.agents.iter().find(|a| a.name == name)
    }

    /// Checks that the team can run.
    pub fn validate(&self) -> Result<(), TeamError> {
        if self.agents.is_empty() {
            return Err(TeamError::NoAgents);
        }
        let mut seen = std::collections::HashSet::new();
        let mut names = self.participants();
        names.push(self.admin_name.clone());
        for name in &names {
            if !is_valid_agent_name(name) {
                return Err(TeamError::InvalidName(name.clone()));
            }
            if !seen.insert(name.as_str()) {
                return Err(TeamError::DuplicateName(name.clone()));
            }
        }
        for agent in &self.agents {
            if let Some(human) = &agent.human_input
                && !(1..=MAX_HUMAN_TIMEOUT_SECS).contains(&human.timeout_secs)
            {
                return Err(TeamError::InvalidHumanInput(agent.name.clone()));
            }
        }
        for agent in &self.agents {
            if let Some(bad) = agent
                .tools
                .iter()
                .find(|entry| crate::tool::ToolPattern::parse(entry).is_none())
            {
                return Err(TeamError::InvalidTool(agent.name.clone(), bad.clone()));
            }
        }
        if let SpeakerSelection::Graph { transitions } = &self.speaker_selection {
            for (from, tos) in transitions {
                for name in std::iter::once(from).chain(tos) {
                    if !seen.contains(name.as_str()) {
                        return Err(TeamError::UnknownGraphAgent(name.clone()));
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(name: &str) -> AgentSpec {
        AgentSpec::new(name, format!("You are {name}."), "")
    }

    #[test]
    fn participants_include_executor_only_when_coding() {
        let mut team = TeamSpec::new("t", vec![agent("A"), agent("B")]);
        assert_eq!(team.participants(), vec!["A", "B"]);
        team.code_execution.enabled = true;
        assert_eq!(team.participants(), vec!["A", "B", DEFAULT_EXECUTOR_NAME]);
    }

    #[test]
    fn validate_rejects_bad_teams() {
        assert_eq!(
            TeamSpec::new("t", vec![]).validate(),
            Err(TeamError::NoAgents)
        );
        let dup = TeamSpec::new("t", vec![agent("A"), agent("A")]);
        assert_eq!(dup.validate(), Err(TeamError::DuplicateName("A".into())));
        let bad = TeamSpec::new("t", vec![agent("has space")]);
        assert!(matches!(bad.validate(), Err(TeamError::InvalidName(_))));
        let mut graph = TeamSpec::new("t", vec![agent("A")]);
        graph.speaker_selection = SpeakerSelection::Graph {
            transitions: [("A".to_string(), vec!["Z".to_string()])].into(),
        };
        assert_eq!(
            graph.validate(),
            Err(TeamError::UnknownGraphAgent("Z".into()))
        );
    }

    #[test]
    fn minimal_json_gets_safe_defaults() {
        let team: TeamSpec = serde_json::from_str(
            r#"{"agents":[{"name":"A","system_message":"hi"}],"speaker_selection":{"method":"random","seed":7}}"#,
        )
        .unwrap();
        assert_eq!(team.termination.text_mention.as_deref(), Some("TERMINATE"));
        assert_eq!(team.termination.max_round, Some(20));
        assert_eq!(
            team.speaker_selection,
            SpeakerSelection::Random { seed: Some(7) }
        );
        assert!(!team.code_execution.enabled);
        team.validate().unwrap();
    }
}
