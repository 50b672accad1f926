//! Reading team files in every format Cadre accepts, and import and export of the JSON
//! that AutoGen's AgentBuilder `save()` writes.
//!
//! [`import_team_value`] (and [`parse_team_file`] / [`parse_team_text`] for text)
//! recognises Cadre's own [`TeamSpec`] JSON, AgentBuilder JSON (`agent_configs`) and
//! AutoGen AgentChat's declarative components, AutoGen Studio records and galleries
//! ([`crate::agentchat`]), and returns the validated team with notes on what was kept but
//! not interpreted.
//!
//! The AgentBuilder mapping is lossless: every field Cadre does not interpret (per
//! agent and at the top level, including the original `default_llm_config` and
//! `code_execution_config` objects and list-valued `model`s) is kept in `autogen_extra`,
//! and export writes the original value back unless the team was edited in a way that
//! changes what it means. So `export_autogen(&import_autogen(&x)?) == x` for files that
//! AutoGen wrote.
//!
//! AutoGen has no place for Cadre's speaker selection, termination, admin name or agent
//! tools; export leaves them out.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::agentchat;
use crate::builder::team_name;
use crate::team::{AgentSpec, CodeExecution, TeamError, TeamSpec};

/// AutoGen's working directory for group-chat code, written for teams made in Cadre.
const DEFAULT_WORK_DIR: &str = "groupchat";

/// The format a team was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TeamFormat {
    /// Cadre's own [`TeamSpec`] JSON.
    Cadre,
    /// AutoGen AgentBuilder `save()` JSON (`agent_configs`).
    AutogenBuilder,
    /// An AutoGen AgentChat team component (`dump_component()`), bare or in an AutoGen
    /// Studio record.
    Agentchat,
    /// A team taken from an AutoGen Studio gallery.
    AgentchatGallery,
    /// AutoGen Studio 0.4.0's team format (`team_type`).
    AutogenStudioLegacy,
}

impl TeamFormat {
    /// Wire name (`cadre`, `autogen_builder`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cadre => "cadre",
            Self::AutogenBuilder => "autogen_builder",
            Self::Agentchat => "agentchat",
            Self::AgentchatGallery => "agentchat_gallery",
            Self::AutogenStudioLegacy => "autogen_studio_legacy",
        }
    }
}

impl std::fmt::Display for TeamFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A team read from a file, validated, with what the reader could not interpret.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// The team.
    pub team: TeamSpec,
    /// Human-readable notes: parts of the file that were kept (in `autogen_extra`) but
    /// are not used, and behaviour that differs from the source framework. Empty for
    /// Cadre and AgentBuilder files, which map fully.
    pub notes: Vec<String>,
    /// The format the team was read from.
    pub format: TeamFormat,
}

/// Parses a team file in any format [`import_team_value`] reads, and validates the team.
///
/// Every failure is a [`TeamError::Format`] with a one-line message that names the
/// offending field.
pub fn parse_team_file(text: &str) -> Result<TeamSpec, TeamError> {
    parse_team_text(text).map(|imported| imported.team)
}

/// [`parse_team_file`], keeping the notes and the format.
pub fn parse_team_text(text: &str) -> Result<Imported, TeamError> {
    let text = text.trim_start_matches('\u{feff}');
    let value: Value = serde_json::from_str(text)
        .map_err(|e| TeamError::Format(format!("the file is not valid JSON ({e})")))?;
    import_team_value(&value)
}

/// Reads a team from JSON in any format Cadre accepts, and validates it: Cadre's own
/// [`TeamSpec`] (recognised by `agents`), AutoGen AgentBuilder `save()` JSON
/// (`agent_configs`), or AutoGen AgentChat JSON (a team component, an AutoGen Studio team
/// record, the first team of a Studio gallery, or Studio 0.4.0's `team_type` format; see
/// [`agentchat::import_agentchat`] to choose another gallery team).
///
/// Every failure is a [`TeamError::Format`] with a one-line message that names the
/// offending field.
pub fn import_team_value(value: &Value) -> Result<Imported, TeamError> {
    let Some(obj) = value.as_object() else {
        return Err(TeamError::Format(format!(
            "expected a JSON object with `agents` (Cadre team), `agent_configs` (AutoGen \
             AgentBuilder) or `provider` and `config` (AutoGen AgentChat team), found {}",
            type_name(value)
        )));
    };
    let (team, format) = if obj.contains_key("agent_configs") {
        (import_autogen(value)?, TeamFormat::AutogenBuilder)
    } else if obj.contains_key("agents") {
        (import_cadre(obj)?, TeamFormat::Cadre)
    } else if agentchat::is_agentchat(value) {
        return agentchat::import_agentchat(value, None);
    } else {
        return Err(TeamError::Format(
            "unknown team format: expected `agents` (Cadre team), `agent_configs` (AutoGen \
             AgentBuilder save file), or an AutoGen AgentChat team component (`provider` and \
             `config`, as `dump_component()` and AutoGen Studio write) or Studio gallery"
                .into(),
        ));
    };
    team.validate().map_err(|e| match e {
        TeamError::Format(message) => TeamError::Format(message),
        other => TeamError::Format(other.to_string()),
    })?;
    Ok(Imported {
        team,
        notes: Vec::new(),
        format,
    })
}

/// Cadre's own format, with the required fields checked first so the error names them.
fn import_cadre(obj: &Map<String, Value>) -> Result<TeamSpec, TeamError> {
    let agents = match obj.get("agents") {
        Some(Value::Array(agents)) => agents,
        Some(other) => {
            return Err(format_error(format!(
                "`agents` must be a list of agents, found {}",
                type_name(other)
            )));
        }
        None => return Err(format_error("missing field `agents`")),
    };
    if agents.is_empty() {
        return Err(format_error(
            "`agents` is empty: a team needs at least one agent",
        ));
    }
    for (i, agent) in agents.iter().enumerate() {
        let Some(agent) = agent.as_object() else {
            return Err(format_error(format!("agents[{i}] must be an object")));
        };
        let name = require_string(agent, "name", &format!("agents[{i}]"))?;
        require_string(agent, "system_message", &format!("agents[{i}] (`{name}`)"))?;
    }
    serde_json::from_value(Value::Object(obj.clone()))
        .map_err(|e| format_error(format!("invalid Cadre team: {e}")))
}

/// Converts an AutoGen AgentBuilder config to a team (not yet validated; see
/// [`parse_team_file`]).
pub fn import_autogen(value: &Value) -> Result<TeamSpec, TeamError> {
    let Some(obj) = value.as_object() else {
        return Err(format_error(format!(
            "an AutoGen AgentBuilder config must be a JSON object, found {}",
            type_name(value)
        )));
    };
    let configs = match obj.get("agent_configs") {
        Some(Value::Array(configs)) => configs,
        Some(other) => {
            return Err(format_error(format!(
                "`agent_configs` must be a list of agent objects, found {}",
                type_name(other)
            )));
        }
        None => return Err(format_error("missing field `agent_configs`")),
    };
    if configs.is_empty() {
        return Err(format_error(
            "`agent_configs` is empty: a team needs at least one agent",
        ));
    }
    let agents = configs
        .iter()
        .enumerate()
        .map(|(i, config)| import_agent(i, config))
        .collect::<Result<Vec<_>, _>>()?;

    let building_task = obj
        .get("building_task")
        .and_then(Value::as_str)
        .map(str::to_string);
    let coding = match obj.get("coding") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(format_error(format!(
                "`coding` must be true or false, found {}",
                type_name(other)
            )));
        }
    };
    let code_config = obj.get("code_execution_config");
    let llm_config = obj.get("default_llm_config");

    let mut extra = obj.clone();
    for key in ["agent_configs", "coding"] {
        extra.remove(key);
    }
    if building_task.is_some() {
        extra.remove("building_task");
    }

    let name = match obj.get("name") {
        Some(Value::String(name)) => name.clone(),
        _ => team_name(building_task.as_deref().unwrap_or_default()),
    };
    let mut team = TeamSpec::new(name, agents);
    team.building_task = building_task;
    team.code_execution = CodeExecution {
        enabled: coding,
        last_n_messages: mapped_last_n(code_config),
        timeout_secs: mapped_timeout(code_config),
        ..CodeExecution::default()
    };
    team.temperature = mapped_temperature(llm_config);
    team.autogen_extra = extra;
    Ok(team)
}

/// One entry of `agent_configs`.
fn import_agent(i: usize, config: &Value) -> Result<AgentSpec, TeamError> {
    let Some(config) = config.as_object() else {
        return Err(format_error(format!(
            "agent_configs[{i}] must be an object, found {}",
            type_name(config)
        )));
    };
    let name = require_string(config, "name", &format!("agent_configs[{i}]"))?;
    let at = format!("agent_configs[{i}] (`{name}`)");
    let system_message = require_string(config, "system_message", &at)?;
    let description = match config.get("description") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(d)) => d.clone(),
        Some(other) => {
            return Err(format_error(format!(
                "{at}: `description` must be a string, found {}",
                type_name(other)
            )));
        }
    };
    let mut extra = config.clone();
    for key in ["name", "system_message", "description"] {
        extra.remove(key);
    }
    // A plain string model is fully represented by `AgentSpec::model`; anything else
    // (AutoGen's usual list) is kept verbatim so export can restore it.
    if matches!(config.get("model"), Some(Value::String(_))) {
        extra.remove("model");
    }
    Ok(AgentSpec {
        name: name.to_string(),
        system_message: system_message.to_string(),
        description,
        model: mapped_model(config.get("model")),
        tools: Vec::new(),
        human_input: None,
        autogen_extra: extra,
    })
}

/// Converts a team to AutoGen AgentBuilder JSON. Imported values are written back
/// unchanged unless the team now means something different.
pub fn export_autogen(team: &TeamSpec) -> Value {
    let mut out = team.autogen_extra.clone();

    let task = team.building_task.clone().unwrap_or_default();
    match &team.building_task {
        Some(task) => {
            out.insert("building_task".into(), Value::String(task.clone()));
        }
        None => {
            out.entry("building_task")
                .or_insert_with(|| Value::String(String::new()));
        }
    }

    let kept_name = out.get("name").and_then(Value::as_str).map(str::to_string);
    let name_changed = match &kept_name {
        Some(kept) => *kept != team.name,
        None => team.name != team_name(&task),
    };
    if name_changed && !team.name.is_empty() {
        out.insert("name".into(), Value::String(team.name.clone()));
    }

    let agents = team
        .agents
        .iter()
        .map(|agent| Value::Object(export_agent(agent, team.default_model.as_deref())))
        .collect();
    out.insert("agent_configs".into(), Value::Array(agents));
    out.insert("coding".into(), Value::Bool(team.code_execution.enabled));

    let llm_config = export_llm_config(out.get("default_llm_config"), team.temperature);
    out.insert("default_llm_config".into(), llm_config);
    let code_config = export_code_config(out.get("code_execution_config"), &team.code_execution);
    out.insert("code_execution_config".into(), code_config);

    Value::Object(out)
}

/// One agent config; `default_model` stands in for agents without an override.
fn export_agent(agent: &AgentSpec, default_model: Option<&str>) -> Map<String, Value> {
    let mut out = agent.autogen_extra.clone();
    out.insert("name".into(), Value::String(agent.name.clone()));
    out.insert(
        "system_message".into(),
        Value::String(agent.system_message.clone()),
    );
    out.insert(
        "description".into(),
        Value::String(agent.description.clone()),
    );
    let kept_matches = out
        .get("model")
        .is_some_and(|kept| mapped_model(Some(kept)) == agent.model);
    if !kept_matches {
        match agent.model.as_deref().or(default_model) {
            Some(model) => {
                out.insert("model".into(), Value::String(model.to_string()));
            }
            None => {
                out.remove("model");
            }
        }
    }
    out
}

/// `default_llm_config`: the original object with the temperature updated if it changed.
fn export_llm_config(kept: Option<&Value>, temperature: Option<f32>) -> Value {
    if let Some(kept) = kept
        && mapped_temperature(Some(kept)) == temperature
    {
        return kept.clone();
    }
    let mut config = match kept {
        Some(Value::Object(config)) => config.clone(),
        _ => Map::new(),
    };
    match temperature {
        Some(t) => {
            config.insert("temperature".into(), f32_to_json(t));
        }
        None => {
            config.remove("temperature");
        }
    }
    Value::Object(config)
}

/// `code_execution_config`: the original object with the limits updated if they
/// changed, or AutoGen's usual shape for teams made in Cadre.
fn export_code_config(kept: Option<&Value>, code: &CodeExecution) -> Value {
    let (mut config, fresh) = match kept {
        Some(Value::Object(config)) => (config.clone(), false),
        // AutoGen also accepts `false` here; keep it unless the limits were edited.
        Some(other)
            if mapped_last_n(Some(other)) == code.last_n_messages
                && mapped_timeout(Some(other)) == code.timeout_secs =>
        {
            return other.clone();
        }
        _ => {
            let mut config = Map::new();
            config.insert("work_dir".into(), Value::String(DEFAULT_WORK_DIR.into()));
            config.insert("use_docker".into(), Value::Bool(false));
            (config, true)
        }
    };
    let current = Value::Object(config.clone());
    if fresh || mapped_last_n(Some(&current)) != code.last_n_messages {
        config.insert(
            "last_n_messages".into(),
            exported_last_n(code.last_n_messages),
        );
    }
    if fresh || mapped_timeout(Some(&current)) != code.timeout_secs {
        config.insert("timeout".into(), code.timeout_secs.into());
    }
    Value::Object(config)
}

/// The model an agent config names: the string, or the first string of a list.
fn mapped_model(model: Option<&Value>) -> Option<String> {
    match model? {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => items.first().and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
}

/// `default_llm_config.temperature`, if it is a number.
fn mapped_temperature(config: Option<&Value>) -> Option<f32> {
    config?
        .get("temperature")
        .and_then(Value::as_f64)
        .map(|t| t as f32)
}

/// `code_execution_config.last_n_messages`: a positive count, `"auto"` (0 in Cadre), or
/// Cadre's default when it is absent or anything else.
fn mapped_last_n(config: Option<&Value>) -> usize {
    match config.and_then(|c| c.get("last_n_messages")) {
        Some(Value::String(s)) if s == "auto" => 0,
        Some(value) => value
            .as_u64()
            .filter(|&n| n > 0)
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(CodeExecution::default().last_n_messages),
        None => CodeExecution::default().last_n_messages,
    }
}

/// Cadre's `last_n_messages` as AutoGen writes it (0 is `"auto"`).
fn exported_last_n(last_n: usize) -> Value {
    if last_n == 0 {
        Value::String("auto".into())
    } else {
        last_n.into()
    }
}

/// `code_execution_config.timeout` in whole seconds (rounded up), or Cadre's default when
/// it is absent or not positive.
fn mapped_timeout(config: Option<&Value>) -> u64 {
    let timeout = config.and_then(|c| c.get("timeout"));
    if let Some(secs) = timeout.and_then(Value::as_u64).filter(|&s| s > 0) {
        return secs;
    }
    timeout
        .and_then(Value::as_f64)
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(|s| s.ceil().min(u64::MAX as f64) as u64)
        .unwrap_or(CodeExecution::default().timeout_secs)
}

/// A temperature as JSON without f32 noise (`0.7`, not `0.699999988079071`).
fn f32_to_json(t: f32) -> Value {
    t.to_string()
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

/// A required string field, or a message naming it.
fn require_string<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    at: &str,
) -> Result<&'a str, TeamError> {
    match obj.get(key) {
        Some(Value::String(s)) => Ok(s),
        None | Some(Value::Null) => Err(format_error(format!("{at} is missing `{key}`"))),
        Some(other) => Err(format_error(format!(
            "{at}: `{key}` must be a string, found {}",
            type_name(other)
        ))),
    }
}

fn format_error(message: impl Into<String>) -> TeamError {
    TeamError::Format(message.into())
}

/// JSON type name for messages.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Value {
        json!({
            "building_task": "Plot the stock prices of two companies.",
            "agent_configs": [
                {"name": "Analyst", "model": ["gpt-4o", "gpt-4o-mini"], "tags": ["finance"],
                 "system_message": "You analyse.", "description": "Analyses data."},
                {"name": "Coder", "model": "gpt-4o", "system_message": "You code.",
                 "description": "Writes code.", "temperature_hint": 0.2}
            ],
            "coding": true,
            "default_llm_config": {"temperature": 0.5, "cache_seed": 42},
            "code_execution_config": {"last_n_messages": 2, "work_dir": "groupchat",
                                      "use_docker": false, "timeout": 90},
            "manager_system_message": "Pick the next speaker."
        })
    }

    #[test]
    fn import_maps_fields_and_keeps_extras() {
        let team = import_autogen(&sample()).unwrap();
        assert_eq!(team.name, "Plot the stock prices of two");
        assert_eq!(
            team.building_task.as_deref(),
            Some("Plot the stock prices of two companies.")
        );
        assert!(team.code_execution.enabled);
        assert_eq!(team.code_execution.last_n_messages, 2);
        assert_eq!(team.code_execution.timeout_secs, 90);
        assert_eq!(team.temperature, Some(0.5));
        assert_eq!(
            team.autogen_extra["manager_system_message"],
            "Pick the next speaker."
        );
        let analyst = &team.agents[0];
        assert_eq!(analyst.model.as_deref(), Some("gpt-4o"));
        assert_eq!(
            analyst.autogen_extra["model"],
            json!(["gpt-4o", "gpt-4o-mini"])
        );
        assert_eq!(analyst.autogen_extra["tags"], json!(["finance"]));
        let coder = &team.agents[1];
        assert_eq!(coder.model.as_deref(), Some("gpt-4o"));
        assert!(!coder.autogen_extra.contains_key("model"));
        assert_eq!(coder.autogen_extra["temperature_hint"], json!(0.2));
    }

    #[test]
    fn round_trip_is_exact() {
        let original = sample();
        assert_eq!(
            export_autogen(&import_autogen(&original).unwrap()),
            original
        );
    }

    #[test]
    fn edits_are_exported() {
        let mut team = import_autogen(&sample()).unwrap();
        team.agents[0].model = Some("claude".into());
        team.temperature = None;
        team.code_execution.timeout_secs = 10;
        team.code_execution.enabled = false;
        team.name = "Stocks".into();
        let out = export_autogen(&team);
        assert_eq!(out["agent_configs"][0]["model"], "claude");
        assert_eq!(out["default_llm_config"], json!({"cache_seed": 42}));
        assert_eq!(out["code_execution_config"]["timeout"], 10);
        assert_eq!(out["code_execution_config"]["last_n_messages"], 2);
        assert_eq!(out["coding"], false);
        assert_eq!(out["name"], "Stocks");
    }

    #[test]
    fn temperature_is_written_without_float_noise() {
        assert_eq!(f32_to_json(0.7), json!(0.7));
    }
}
