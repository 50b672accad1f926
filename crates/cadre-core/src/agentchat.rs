//! Import of AutoGen AgentChat's declarative team JSON: what `team.dump_component()`
//! writes, what AutoGen Studio stores and exports (a team record `{"component": …}`) and
//! ships in its galleries (`{"components": {"teams": […], …}}`, or the older
//! `{"items": {"teams": […]}}`, also inside a gallery record `{"config": …}`), and AutoGen
//! Studio 0.4.0's own format (`team_type`, `agent_type`, `termination_type`).
//!
//! This module owns recognising those shapes ([`is_agentchat`], [`gallery_teams`]),
//! mapping a team onto a [`TeamSpec`] ([`import_agentchat`]), refusing what Cadre cannot
//! run with a one-line [`TeamError::Format`] that names the offending field path, and
//! removing secrets (API keys, tokens, authorization headers) before anything is kept.
//!
//! Nothing the file says is silently dropped. The team component (secrets removed) is
//! kept under `autogen_extra.agentchat_component` so a later export can write it back;
//! team and agent fields Cadre does not interpret stay in the `autogen_extra` maps under
//! their AgentChat names; and each of them is named in [`Imported::notes`]. Nothing in
//! the file is ever executed: AutoGen rebuilds a `FunctionTool` by running its
//! `source_code`; Cadre only reads the tool's name.
//!
//! Participants: an `AssistantAgent` becomes an agent that answers with a model; a
//! `CodeExecutorAgent` becomes the team's code executor; a `UserProxyAgent` becomes what it
//! is in AgentChat, a participant that takes turns (in its place in a round robin, as a
//! candidate of the selector) and asks the human: an agent with `human_input` (Cadre waits
//! up to [`HumanInput`]'s default 300 s where AgentChat waits without a limit, then uses the
//! default reply) and no model. The task is stated by Cadre's admin (`admin_name`), which
//! AgentChat does not have: it stays `User` unless a participant is called that, and is then
//! renamed (`Task`) and noted.
//!
//! Counting: AgentChat's `MaxMessageTermination(n)` counts the task message (the group
//! chat manager applies the termination condition to the start messages before any agent
//! speaks), exactly like Cadre's `max_round`, so `max_messages` maps unchanged. A team's
//! `max_turns` counts agent turns only (the manager increments the turn count on agent
//! responses, never on the task), so it maps to `max_turns + 1`.

use std::collections::BTreeMap;
use std::fmt::Display;

use serde_json::{Map, Value};

use crate::autogen::{Imported, TeamFormat};
use crate::executor::Language;
use crate::team::{
    AgentSpec, CodeExecution, DEFAULT_ADMIN_NAME, HumanInput, SpeakerSelection, TeamError,
    TeamSpec, Termination, is_valid_agent_name,
};

/// Key of the team's `autogen_extra` entry that keeps the original team component.
pub const COMPONENT_KEY: &str = "agentchat_component";
/// Key of the team's `autogen_extra` entry that keeps the CodeExecutorAgent's other fields.
pub const CODE_EXECUTOR_KEY: &str = "code_executor_agent";
/// AgentChat's `AssistantAgent` system message when none is given.
pub const DEFAULT_SYSTEM_MESSAGE: &str = "You are a helpful AI assistant. Solve tasks using \
     your tools. Reply with TERMINATE when the task has been completed.";
/// AgentChat's `AssistantAgent` description when none is given.
pub const DEFAULT_DESCRIPTION: &str =
    "An agent that provides assistance with ability to use tools.";
/// AgentChat's `UserProxyAgent` description when none is given (`UserProxyAgentConfig`).
pub const DEFAULT_USER_PROXY_DESCRIPTION: &str = "A human user";
/// What the admin (who states the task) is called when a participant already has Cadre's
/// default admin name: `Task`, then `Task_2`, `Task_3`, …
const RENAMED_ADMIN: &str = "Task";
/// The `timeout` of AgentChat's command-line code executors when none is given (their
/// default is 60 s, twice Cadre's), so an imported team keeps the limit it ran with.
const DEFAULT_EXECUTOR_TIMEOUT_SECS: u64 = 60;
/// Longest team name taken from a label, in characters.
const MAX_NAME_CHARS: usize = 80;
/// The keys that name a component's class in AutoGen Studio 0.4.0's format.
const LEGACY_TYPE_KEYS: [&str; 5] = [
    "team_type",
    "agent_type",
    "termination_type",
    "model_type",
    "tool_type",
];

/// One team of an AutoGen Studio gallery.
#[derive(Debug, Clone, PartialEq)]
pub struct GalleryTeam {
    /// Position in the gallery's team list (what a numeric choice names).
    pub index: usize,
    /// The team's label (or its config name, or `team <index>`).
    pub label: String,
    /// The team's description, if it has one.
    pub description: String,
    /// The team component, as [`import_agentchat`] takes it.
    pub component: Value,
}

/// Whether `value` is in one of the AgentChat shapes this module reads (a component of
/// any kind, a Studio record, a gallery, or Studio 0.4.0's team format).
pub fn is_agentchat(value: &Value) -> bool {
    shape(value).is_some()
}

/// The teams of an AutoGen Studio gallery (or of a gallery record), in order; empty when
/// `value` is not a gallery.
pub fn gallery_teams(value: &Value) -> Vec<GalleryTeam> {
    let Some(Shape::Gallery { gallery, .. }) = shape(value) else {
        return Vec::new();
    };
    let Some((teams, _)) = gallery_team_list(gallery) else {
        return Vec::new();
    };
    teams
        .iter()
        .enumerate()
        .map(|(index, component)| GalleryTeam {
            index,
            label: gallery_label(component, index),
            description: component
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            component: component.clone(),
        })
        .collect()
}

/// Imports an AgentChat team and validates it.
///
/// `value` is a team component, an AutoGen Studio team record, a gallery (the team named
/// by `choice`, a label compared case-insensitively or an index, else the first), or a
/// Studio 0.4.0 team. `choice` is ignored for anything but a gallery.
///
/// Every failure is a one-line [`TeamError::Format`] that starts with the path of the
/// offending field (`config.participants[1].provider: …`).
pub fn import_agentchat(value: &Value, choice: Option<&str>) -> Result<Imported, TeamError> {
    let mut importer = Importer::default();
    let (team_value, at, from_gallery) = match shape(value) {
        None => {
            return Err(TeamError::Format(
                "not an AutoGen AgentChat team: expected a component with `provider` and \
                 `config`, an AutoGen Studio team record or gallery, or a Studio 0.4 team \
                 with `team_type`"
                    .into(),
            ));
        }
        Some(Shape::Team { value, at, record }) => {
            if let Some(record) = record {
                let others: Vec<&str> = record
                    .keys()
                    .map(String::as_str)
                    .filter(|k| *k != at)
                    .collect();
                if !others.is_empty() {
                    importer.note(format!(
                        "read the team from an AutoGen Studio record's `{at}`; the record's \
                         own fields ({}) are not kept",
                        others.join(", ")
                    ));
                }
            }
            (value, at.to_string(), false)
        }
        Some(Shape::Gallery { gallery, at }) => {
            let (value, at) = pick_gallery_team(gallery, at, choice, &mut importer)?;
            (value, at, true)
        }
    };

    let mut kept = team_value.clone();
    let mut secrets = Vec::new();
    redact_secrets(&mut kept, &at, &mut secrets);
    for path in secrets {
        importer.note(format!(
            "removed the secret `{path}`: a team is stored and shown, so Cadre never keeps \
             keys or tokens in one (models use Cadre's own provider settings)"
        ));
    }
    let legacy = kept
        .as_object()
        .is_some_and(|o| o.contains_key("team_type"));
    let mut team = importer.team(&kept, &at)?;
    team.autogen_extra.insert(COMPONENT_KEY.into(), kept);
    importer.note(format!(
        "the original team component is kept in autogen_extra.{COMPONENT_KEY}, for export"
    ));
    team.validate()
        .map_err(|e| TeamError::Format(e.to_string()))?;
    let format = if legacy {
        TeamFormat::AutogenStudioLegacy
    } else if from_gallery {
        TeamFormat::AgentchatGallery
    } else {
        TeamFormat::Agentchat
    };
    Ok(Imported {
        team,
        notes: importer.notes,
        format,
    })
}

/// Where an import starts.
enum Shape<'a> {
    /// A component (or Studio 0.4.0 team), possibly inside a Studio record.
    Team {
        value: &'a Value,
        /// The record key it sits under (`component`, `config`), or "" at the top.
        at: &'static str,
        record: Option<&'a Map<String, Value>>,
    },
    /// A gallery, possibly inside a gallery record.
    Gallery {
        gallery: &'a Map<String, Value>,
        at: &'static str,
    },
}

fn shape(value: &Value) -> Option<Shape<'_>> {
    let obj = value.as_object()?;
    if is_component(obj) {
        return Some(Shape::Team {
            value,
            at: "",
            record: None,
        });
    }
    if is_gallery(obj) {
        return Some(Shape::Gallery {
            gallery: obj,
            at: "",
        });
    }
    // AutoGen Studio's database records: a team under `component` (0.4.1+), a team
    // (0.4.0) or a gallery under `config`.
    for key in ["component", "config"] {
        if let Some(inner @ Value::Object(inner_obj)) = obj.get(key) {
            if is_component(inner_obj) {
                return Some(Shape::Team {
                    value: inner,
                    at: key,
                    record: Some(obj),
                });
            }
            if is_gallery(inner_obj) {
                return Some(Shape::Gallery {
                    gallery: inner_obj,
                    at: key,
                });
            }
        }
    }
    None
}

fn is_component(obj: &Map<String, Value>) -> bool {
    obj.get("provider").is_some_and(Value::is_string)
        || obj.get("team_type").is_some_and(Value::is_string)
}

fn is_gallery(obj: &Map<String, Value>) -> bool {
    gallery_team_list(obj).is_some()
}

/// The gallery's team list and its path: `components.teams` (Studio 0.4.1+) or
/// `items.teams` (early 2025).
fn gallery_team_list(gallery: &Map<String, Value>) -> Option<(&Vec<Value>, &'static str)> {
    for (section, path) in [("components", "components.teams"), ("items", "items.teams")] {
        if let Some(Value::Array(teams)) = gallery.get(section).and_then(|s| s.get("teams")) {
            return Some((teams, path));
        }
    }
    None
}

fn gallery_label(component: &Value, index: usize) -> String {
    component
        .get("label")
        .and_then(Value::as_str)
        .or_else(|| {
            component
                .get("config")
                .and_then(|c| c.get("name"))
                .and_then(Value::as_str)
        })
        .or_else(|| component.get("name").and_then(Value::as_str))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map_or_else(|| format!("team {index}"), str::to_string)
}

/// The gallery team `choice` names (or the first), and its path.
fn pick_gallery_team<'a>(
    gallery: &'a Map<String, Value>,
    at: &str,
    choice: Option<&str>,
    importer: &mut Importer,
) -> Result<(&'a Value, String), TeamError> {
    let Some((teams, list_path)) = gallery_team_list(gallery) else {
        return Err(TeamError::Format(
            "the gallery has no `components.teams` list".into(),
        ));
    };
    let list_at = field(at, list_path);
    if teams.is_empty() {
        return Err(fail(
            &list_at,
            "is empty: the gallery has no team to import",
        ));
    }
    let labels: Vec<String> = teams
        .iter()
        .enumerate()
        .map(|(i, t)| gallery_label(t, i))
        .collect();
    let index = match choice.map(str::trim) {
        None | Some("") => 0,
        Some(choice) => labels
            .iter()
            .position(|l| l.eq_ignore_ascii_case(choice))
            .or_else(|| choice.parse::<usize>().ok().filter(|i| *i < teams.len()))
            .ok_or_else(|| {
                fail(
                    &list_at,
                    format!(
                        "no team `{choice}` in the gallery (its teams: {})",
                        labels
                            .iter()
                            .enumerate()
                            .map(|(i, l)| format!("{i} `{l}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })?,
    };
    let gallery_name = gallery
        .get("name")
        .and_then(Value::as_str)
        .map(|n| format!(" `{n}`"))
        .unwrap_or_default();
    importer.note(format!(
        "imported team {} of {} (`{}`) from the gallery{gallery_name}; its other teams and \
         components were not imported",
        index + 1,
        teams.len(),
        labels[index]
    ));
    let team = teams
        .get(index)
        .ok_or_else(|| fail(&list_at, "the chosen team is missing"))?;
    Ok((team, format!("{list_at}[{index}]")))
}

/// A component seen through either format: the class, its settings and where they are.
struct View<'a> {
    /// The class: the last segment of `provider`, or the Studio 0.4.0 type.
    class: &'a str,
    /// Path of the field that names the class.
    class_at: String,
    /// The settings: `config`, or the object itself in Studio 0.4.0's format.
    config: &'a Map<String, Value>,
    /// Path of `config`.
    at: String,
    /// Path of the component itself.
    base: String,
    label: Option<&'a str>,
    component_type: Option<&'a str>,
    /// The Studio 0.4.0 type key, whose object holds metadata next to the settings.
    legacy_type_key: Option<&'static str>,
}

impl View<'_> {
    /// Whether `key` is component metadata rather than a setting.
    fn is_meta(&self, key: &str) -> bool {
        self.legacy_type_key.is_some()
            && (Some(key) == self.legacy_type_key || key == "component_type" || key == "version")
    }

    fn path(&self, key: &str) -> String {
        field(&self.at, key)
    }

    /// Where the settings are, for notes (`the team` at the top of a legacy file).
    fn at_or_root(&self) -> &str {
        if self.at.is_empty() {
            "the team"
        } else {
            &self.at
        }
    }

    /// The settings not in `interpreted` and not metadata.
    fn rest(&self, interpreted: &[&str]) -> Map<String, Value> {
        self.config
            .iter()
            .filter(|(k, _)| !interpreted.contains(&k.as_str()) && !self.is_meta(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

fn view<'a>(value: &'a Value, at: &str, what: &str) -> Result<View<'a>, TeamError> {
    let Some(obj) = value.as_object() else {
        return Err(fail(
            at,
            format!(
                "must be {what} (a component object), found {}",
                type_name(value)
            ),
        ));
    };
    let component_type = obj.get("component_type").and_then(Value::as_str);
    if let Some(provider) = obj.get("provider") {
        let Some(provider) = provider.as_str().map(str::trim).filter(|p| !p.is_empty()) else {
            return Err(fail(
                &field(at, "provider"),
                "must be a non-empty string naming the component's class",
            ));
        };
        let config = match obj.get("config") {
            Some(Value::Object(config)) => config,
            None | Some(Value::Null) => return Err(fail(&field(at, "config"), "is missing")),
            Some(other) => {
                return Err(fail(
                    &field(at, "config"),
                    format!("must be an object, found {}", type_name(other)),
                ));
            }
        };
        return Ok(View {
            class: provider.rsplit('.').next().unwrap_or(provider),
            class_at: field(at, "provider"),
            config,
            at: field(at, "config"),
            base: at.to_string(),
            label: obj.get("label").and_then(Value::as_str),
            component_type,
            legacy_type_key: None,
        });
    }
    for key in LEGACY_TYPE_KEYS {
        if let Some(class) = obj.get(key).and_then(Value::as_str) {
            return Ok(View {
                class,
                class_at: field(at, key),
                config: obj,
                at: at.to_string(),
                base: at.to_string(),
                label: None,
                component_type,
                legacy_type_key: Some(key),
            });
        }
    }
    Err(fail(
        &field(at, "provider"),
        format!("is missing: {what} needs a `provider` naming its class"),
    ))
}

/// An expert on its way to an [`AgentSpec`].
struct Expert {
    spec: AgentSpec,
    model: Option<String>,
    temperature: Option<f64>,
    /// The model client as kept (secrets removed), for grouping notes.
    client: Option<Client>,
}

/// The CodeExecutorAgent.
struct Executor {
    name: String,
    timeout_secs: u64,
    languages: Option<Vec<String>>,
    extra: Map<String, Value>,
}

/// A UserProxyAgent: a human-driven agent (no model, so it stays out of the model and
/// temperature choices the experts make).
struct Human {
    spec: AgentSpec,
}

enum Member {
    Expert(Box<Expert>),
    Executor(Executor),
    Human(Human),
}

impl Member {
    fn name(&self) -> &str {
        match self {
            Member::Expert(e) => &e.spec.name,
            Member::Executor(e) => &e.name,
            Member::Human(h) => &h.spec.name,
        }
    }
}

/// What a model client says that Cadre uses, and what it does not.
struct Client {
    class: String,
    model: Option<String>,
    temperature: Option<f64>,
    /// Settings kept but not used (`base_url`, `max_tokens`, …).
    unused: Vec<String>,
    /// The client as kept, to tell shared clients apart.
    key: String,
}

/// The end conditions gathered from a termination tree (all joined by OR).
#[derive(Default)]
struct Ending {
    text: Option<String>,
    max_messages: Option<u32>,
    max_tokens: Option<u64>,
    timeout_secs: Option<u64>,
    /// Conditions Cadre cannot check, by class.
    unchecked: Vec<String>,
}

impl Ending {
    fn checkable(&self) -> bool {
        self.text.is_some()
            || self.max_messages.is_some()
            || self.max_tokens.is_some()
            || self.timeout_secs.is_some()
    }
}

/// Collects notes while mapping one team.
#[derive(Default)]
struct Importer {
    notes: Vec<String>,
}

impl Importer {
    fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    fn team(&mut self, value: &Value, at: &str) -> Result<TeamSpec, TeamError> {
        let team = view(value, at, "a team")?;
        if let Some(kind) = team.component_type.filter(|k| *k != "team") {
            return Err(fail(
                &field(at, "component_type"),
                format!(
                    "`{kind}` is not a team: import a team component (component_type `team`), \
                     an AutoGen Studio team record or a gallery"
                ),
            ));
        }
        let selector = match team.class {
            "RoundRobinGroupChat" => false,
            "SelectorGroupChat" => true,
            other => {
                let why = match other {
                    "Swarm" => " (its agents hand the turn to each other, which Cadre cannot do)",
                    "MagenticOneGroupChat" => {
                        " (an orchestrator plans and re-plans the task, which Cadre cannot do)"
                    }
                    "GraphFlow" | "DiGraphGroupChat" => {
                        " (conditional and parallel graph flows do not map to Cadre's speaker graph)"
                    }
                    _ => "",
                };
                return Err(fail(
                    &team.class_at,
                    format!(
                        "`{other}` teams are not supported{why}: Cadre imports \
                         RoundRobinGroupChat and SelectorGroupChat"
                    ),
                ));
            }
        };

        let members = self.members(&team)?;

        // The selector's own model client: a fallback default model, otherwise noted.
        let selector_client = match team.config.get("model_client") {
            Some(client) if !client.is_null() => {
                Some(self.client(client, &team.path("model_client"))?)
            }
            _ => None,
        };
        // max_turns counts agent turns only; max_round also counts the task message.
        let max_turns_at = team.path("max_turns");
        let max_turns = positive_whole(team.config, "max_turns", &team.at)?
            .map(|turns| {
                u32::try_from(turns.saturating_add(1))
                    .map_err(|_| fail(&max_turns_at, "is too large"))
            })
            .transpose()?;
        let termination_at = team.path("termination_condition");
        let termination = match team.config.get("termination_condition") {
            Some(condition) if !condition.is_null() => Some(condition),
            _ => None,
        };
        let mut ending = Ending::default();
        if let Some(condition) = termination {
            self.termination(condition, &termination_at, &mut ending)?;
        }

        let name = team_name(&team);
        let mut spec_agents = Vec::new();
        let mut executor = None;
        let mut order = Vec::new();
        let mut experts = Vec::new();
        // The agents in the file's order: a human's spec, or `None` for the next expert.
        let mut talkers = Vec::new();
        let admin_name = admin_name(&members);
        for member in members {
            order.push(member.name().to_string());
            match member {
                Member::Expert(expert) => {
                    talkers.push(None);
                    experts.push(*expert);
                }
                Member::Executor(e) => executor = Some(e),
                Member::Human(h) => talkers.push(Some(h.spec)),
            }
        }

        let default_model = experts
            .iter()
            .find_map(|e| e.model.clone())
            .or_else(|| selector_client.as_ref().and_then(|c| c.model.clone()));
        let temperature = self.shared_temperature(&experts);
        self.client_notes(&experts);
        let mut expert_specs = experts.into_iter().map(|expert| {
            let mut spec = expert.spec;
            if expert.model != default_model {
                spec.model = expert.model;
            }
            spec
        });
        for talker in talkers {
            spec_agents.extend(talker.or_else(|| expert_specs.next()));
        }

        let mut spec = TeamSpec::new(name, spec_agents);
        spec.default_model = default_model.clone();
        spec.temperature = temperature;
        if admin_name != spec.admin_name {
            self.note(format!(
                "a participant is named like Cadre's admin (`{}`), which states the task; the \
                 admin is `{admin_name}` instead",
                spec.admin_name
            ));
            spec.admin_name = admin_name;
        }
        if let Some(executor) = executor {
            spec.code_execution = CodeExecution {
                enabled: true,
                executor_name: executor.name,
                timeout_secs: executor.timeout_secs,
                languages: executor
                    .languages
                    .unwrap_or_else(|| CodeExecution::default().languages),
                ..CodeExecution::default()
            };
            if !executor.extra.is_empty() {
                spec.autogen_extra
                    .insert(CODE_EXECUTOR_KEY.into(), Value::Object(executor.extra));
            }
        }

        spec.speaker_selection = if selector {
            SpeakerSelection::Auto
        } else {
            self.round_robin(&spec, &order)
        };

        let (termination, kept_condition) =
            self.ending(ending, max_turns, termination.is_some(), &termination_at)?;
        spec.termination = termination;

        let mut interpreted = vec!["participants", "max_turns", "name", "description"];
        if !kept_condition {
            interpreted.push("termination_condition");
        }
        let rest = team.rest(&interpreted);
        self.team_rest_notes(
            &team,
            &rest,
            selector_client.as_ref(),
            default_model.as_deref(),
        );
        spec.autogen_extra.extend(rest);
        Ok(spec)
    }

    /// The participants, each checked: names unique, at most one executor, at least one
    /// agent that answers with a model. Any number of UserProxyAgents: each is an agent.
    fn members(&mut self, team: &View<'_>) -> Result<Vec<Member>, TeamError> {
        let participants_at = team.path("participants");
        let participants = match team.config.get("participants") {
            Some(Value::Array(p)) if !p.is_empty() => p,
            Some(Value::Array(_)) => {
                return Err(fail(
                    &participants_at,
                    "is empty: a team needs at least one agent",
                ));
            }
            None | Some(Value::Null) => return Err(fail(&participants_at, "is missing")),
            Some(other) => {
                return Err(fail(
                    &participants_at,
                    format!("must be a list of agents, found {}", type_name(other)),
                ));
            }
        };
        let mut members = Vec::new();
        for (i, participant) in participants.iter().enumerate() {
            let at = format!("{participants_at}[{i}]");
            let member = self.participant(participant, &at)?;
            if let Some(earlier) = members
                .iter()
                .position(|m: &Member| m.name() == member.name())
            {
                return Err(fail(
                    &field(&at, name_key(participant)),
                    format!(
                        "duplicate agent name `{}` (also participants[{earlier}])",
                        member.name()
                    ),
                ));
            }
            if let Member::Executor(_) = member
                && let Some(first) = members.iter().find(|m| matches!(m, Member::Executor(_)))
            {
                return Err(fail(
                    &at,
                    format!(
                        "a second CodeExecutorAgent (`{}`): Cadre has one code executor (`{}`)",
                        member.name(),
                        first.name()
                    ),
                ));
            }
            members.push(member);
        }
        if !members.iter().any(|m| matches!(m, Member::Expert(_))) {
            return Err(fail(
                &participants_at,
                "has no AssistantAgent: Cadre needs at least one agent that answers with a model",
            ));
        }
        Ok(members)
    }

    /// Round robin, or a cycle in the file's order when the executor is not last (Cadre's
    /// round robin always puts the executor after the experts).
    fn round_robin(&mut self, spec: &TeamSpec, order: &[String]) -> SpeakerSelection {
        if spec.participants() == order {
            return SpeakerSelection::RoundRobin;
        }
        let mut transitions = BTreeMap::new();
        if let Some(first) = order.first() {
            transitions.insert(spec.admin_name.clone(), vec![first.clone()]);
        }
        for (i, name) in order.iter().enumerate() {
            let next = &order[(i + 1) % order.len()];
            transitions.insert(name.clone(), vec![next.clone()]);
        }
        self.note(format!(
            "the round-robin order ({}) puts the code executor before other agents; Cadre's \
             round robin runs the executor last, so the order is kept as a speaker graph (a \
             cycle)",
            order.join(" → ")
        ));
        SpeakerSelection::Graph { transitions }
    }

    fn participant(&mut self, value: &Value, at: &str) -> Result<Member, TeamError> {
        let agent = view(value, at, "an agent")?;
        if agent.component_type == Some("team") {
            return Err(fail(
                at,
                format!(
                    "a nested team (`{}`) is not supported: Cadre's participants are agents",
                    agent.class
                ),
            ));
        }
        if let Some(kind) = agent.component_type.filter(|k| *k != "agent") {
            return Err(fail(
                &field(at, "component_type"),
                format!("`{kind}` is not an agent"),
            ));
        }
        match agent.class {
            "AssistantAgent" => self.assistant(&agent).map(|e| Member::Expert(Box::new(e))),
            "UserProxyAgent" => self.user_proxy(&agent).map(Member::Human),
            "CodeExecutorAgent" => self.code_executor(&agent).map(Member::Executor),
            other => {
                let named = agent
                    .config
                    .get("name")
                    .and_then(Value::as_str)
                    .map(|n| format!(" (agent `{n}`)"))
                    .unwrap_or_default();
                Err(fail(
                    &agent.class_at,
                    format!(
                        "`{other}`{named} is not supported: Cadre imports AssistantAgent, \
                         UserProxyAgent and CodeExecutorAgent"
                    ),
                ))
            }
        }
    }

    fn assistant(&mut self, agent: &View<'_>) -> Result<Expert, TeamError> {
        let name = agent_name(agent)?;
        let who = format!("{} (`{name}`)", agent.base);
        let system_message = match agent.config.get("system_message") {
            None => DEFAULT_SYSTEM_MESSAGE.to_string(),
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) => {
                self.note(format!(
                    "{who}: system_message is null (no role prompt); the agent gets only \
                     Cadre's group-chat instructions"
                ));
                String::new()
            }
            Some(other) => {
                return Err(fail(
                    &agent.path("system_message"),
                    format!("must be a string, found {}", type_name(other)),
                ));
            }
        };
        let description = optional_string(agent.config, "description", &agent.at)?
            .unwrap_or_else(|| DEFAULT_DESCRIPTION.to_string());
        let client = match agent.config.get("model_client") {
            Some(client) if !client.is_null() => {
                Some(self.client(client, &agent.path("model_client"))?)
            }
            _ => None,
        };

        self.tools(agent, &who)?;
        self.agent_rest_notes(agent, &who);

        let mut interpreted = vec!["name", "description"];
        if !matches!(agent.config.get("system_message"), Some(Value::Null)) {
            interpreted.push("system_message");
        }
        let mut spec = AgentSpec::new(name, system_message, description);
        spec.autogen_extra = agent.rest(&interpreted);
        Ok(Expert {
            spec,
            model: client.as_ref().and_then(|c| c.model.clone()),
            temperature: client.as_ref().and_then(|c| c.temperature),
            client,
        })
    }

    /// Notes the agent's tools and workbenches: kept, not run.
    fn tools(&mut self, agent: &View<'_>, who: &str) -> Result<(), TeamError> {
        if let Some(tools) = agent.config.get("tools") {
            for (i, tool) in list_or_one(tools).into_iter().enumerate() {
                let at = format!("{}[{i}]", agent.path("tools"));
                self.tool(tool, &at, who)?;
            }
        }
        if let Some(workbenches) = agent.config.get("workbench") {
            for (i, workbench) in list_or_one(workbenches).into_iter().enumerate() {
                let at = match workbenches {
                    Value::Array(_) => format!("{}[{i}]", agent.path("workbench")),
                    _ => agent.path("workbench"),
                };
                let bench = view(workbench, &at, "a workbench")?;
                if bench.config.contains_key("server_params") {
                    self.mcp(&bench, who);
                } else if let Some(tools) = bench.config.get("tools") {
                    for (j, tool) in list_or_one(tools).into_iter().enumerate() {
                        let at = format!("{}[{j}]", bench.path("tools"));
                        self.tool(tool, &at, who)?;
                    }
                } else {
                    self.note(format!(
                        "{who}: workbench `{}` is kept, not used: Cadre cannot run it",
                        bench.class
                    ));
                }
            }
        }
        Ok(())
    }

    fn tool(&mut self, value: &Value, at: &str, who: &str) -> Result<(), TeamError> {
        let tool = view(value, at, "a tool")?;
        if tool.config.contains_key("server_params") {
            self.mcp(&tool, who);
            return Ok(());
        }
        let name = tool
            .config
            .get("name")
            .and_then(Value::as_str)
            .or(tool.label)
            .unwrap_or(tool.class);
        let note = match tool.class {
            "FunctionTool" | "PythonFunction" => format!(
                "{who}: Python function tool `{name}` is kept, not run: Cadre cannot run \
                 Python tools (have the agent write code for the executor instead)"
            ),
            class => format!(
                "{who}: tool `{name}` ({class}) is kept, not run: Cadre cannot run AgentChat \
                 tools"
            ),
        };
        self.note(note);
        Ok(())
    }

    fn mcp(&mut self, component: &View<'_>, who: &str) {
        let server = component
            .config
            .get("server_params")
            .map(describe_mcp_server)
            .unwrap_or_default();
        // A team file never starts a process or opens a connection: which MCP servers
        // run is the operator's choice (CADRE_MCP_CONFIG), and the team only names tools.
        self.note(format!(
            "{who}: MCP server ({server}) is kept, not started: Cadre runs only the MCP \
             servers its operator configures; once this one is among them, allow its tools \
             in the agent's `tools` (`server.*`)"
        ));
    }

    /// Notes an assistant's settings that change behaviour and Cadre does not follow.
    fn agent_rest_notes(&mut self, agent: &View<'_>, who: &str) {
        let mut unused = Vec::new();
        for (key, value) in agent.config {
            if agent.is_meta(key) {
                continue;
            }
            match key.as_str() {
                "name"
                | "system_message"
                | "description"
                | "model_client"
                | "tools"
                | "workbench"
                | "model_client_stream"
                | "reflect_on_tool_use"
                | "tool_call_summary_format"
                | "max_tool_iterations" => {}
                "handoffs" if !is_empty_value(value) => {
                    let targets: Vec<String> = list_or_one(value)
                        .into_iter()
                        .map(|h| {
                            h.as_str()
                                .or_else(|| h.get("target").and_then(Value::as_str))
                                .unwrap_or("?")
                                .to_string()
                        })
                        .collect();
                    self.note(format!(
                        "{who}: handoffs (to {}) are kept, not used: Cadre has no handoffs",
                        quoted(&targets)
                    ));
                }
                "memory" if !is_empty_value(value) => {
                    let kinds: Vec<String> = list_or_one(value)
                        .into_iter()
                        .map(|m| class_of(m).to_string())
                        .collect();
                    self.note(format!(
                        "{who}: memory ({}) is kept, not used: Cadre agents have no memory \
                         stores",
                        quoted(&kinds)
                    ));
                }
                "model_context" if !is_empty_value(value) => {
                    let class = class_of(value);
                    if class != "UnboundedChatCompletionContext" {
                        self.note(format!(
                            "{who}: model_context `{class}` is kept, not used: Cadre sends each \
                             agent the whole conversation"
                        ));
                    }
                }
                _ if is_empty_value(value) => {}
                _ => unused.push(key.clone()),
            }
        }
        if !unused.is_empty() {
            self.note(format!("{who}: kept, not used: {}", unused.join(", ")));
        }
    }

    /// A UserProxyAgent: an agent whose turns a human takes (`human_input`), as in
    /// AgentChat, where it takes turns like any participant and asks its `input_func`.
    fn user_proxy(&mut self, agent: &View<'_>) -> Result<Human, TeamError> {
        let name = agent_name(agent)?;
        let description = optional_string(agent.config, "description", &agent.at)?
            .unwrap_or_else(|| DEFAULT_USER_PROXY_DESCRIPTION.to_string());
        let human = HumanInput::default();
        let input = agent
            .config
            .get("input_func")
            .and_then(Value::as_str)
            .map(|f| format!("; its input_func `{f}` is kept, not used"))
            .unwrap_or_default();
        self.note(format!(
            "{} (`{name}`) is a human-driven agent: on its turns the run asks you and waits up \
             to {} s (AgentChat waits without a limit), then says its default reply{input}",
            agent.base, human.timeout_secs
        ));
        let unused: Vec<&str> = agent
            .config
            .iter()
            .filter(|(k, v)| {
                !agent.is_meta(k)
                    && !matches!(k.as_str(), "name" | "description" | "input_func")
                    && !is_empty_value(v)
            })
            .map(|(k, _)| k.as_str())
            .collect();
        if !unused.is_empty() {
            self.note(format!(
                "{} (`{name}`): kept, not used: {}",
                agent.base,
                unused.join(", ")
            ));
        }
        // The component's other fields stay on the agent itself, like an assistant's: the
        // agent is where they belong now that the UserProxyAgent is one (the whole team
        // component is also kept under `agentchat_component` for export).
        let mut spec = AgentSpec::new(name, String::new(), description);
        spec.human_input = Some(human);
        spec.autogen_extra = agent.rest(&["name", "description"]);
        Ok(Human { spec })
    }

    fn code_executor(&mut self, agent: &View<'_>) -> Result<Executor, TeamError> {
        let name = agent_name(agent)?;
        let who = format!("{} (`{name}`)", agent.base);
        let mut timeout_secs = DEFAULT_EXECUTOR_TIMEOUT_SECS;
        match agent.config.get("code_executor") {
            Some(value) if !value.is_null() => {
                let at = agent.path("code_executor");
                let executor = view(value, &at, "a code executor")?;
                if let Some(secs) = positive_seconds(executor.config, "timeout", &executor.at)? {
                    timeout_secs = secs;
                }
                let kept: Vec<&str> = executor
                    .config
                    .iter()
                    .filter(|(k, v)| *k != "timeout" && !is_empty_value(v) && !executor.is_meta(k))
                    .map(|(k, _)| k.as_str())
                    .collect();
                let kept = if kept.is_empty() {
                    String::new()
                } else {
                    format!(" (its settings are kept: {})", kept.join(", "))
                };
                self.note(format!(
                    "{who}: code runs in Cadre's sandbox, not in `{}`{kept}; its timeout \
                     ({timeout_secs} s) is the limit per code block",
                    executor.class
                ));
            }
            _ => {}
        }
        let languages = match agent.config.get("supported_languages") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => {
                let mut languages: Vec<String> = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let Some(tag) = item.as_str() else {
                        return Err(fail(
                            &format!("{}[{i}]", agent.path("supported_languages")),
                            format!("must be a string, found {}", type_name(item)),
                        ));
                    };
                    let language = Language::from_tag(tag).as_str().to_string();
                    if !languages.contains(&language) {
                        languages.push(language);
                    }
                }
                let foreign: Vec<String> = languages
                    .iter()
                    .filter(|l| matches!(Language::from_tag(l), Language::Other(_)))
                    .cloned()
                    .collect();
                if !foreign.is_empty() {
                    self.note(format!(
                        "{who}: supported_languages lists {}, which Cadre's sandbox refuses \
                         (it runs python and sh)",
                        quoted(&foreign)
                    ));
                }
                Some(languages)
            }
            Some(other) => {
                return Err(fail(
                    &agent.path("supported_languages"),
                    format!("must be a list of languages, found {}", type_name(other)),
                ));
            }
        };
        let generating: Vec<&str> = ["model_client", "system_message", "model_context"]
            .into_iter()
            .filter(|k| agent.config.get(*k).is_some_and(|v| !is_empty_value(v)))
            .collect();
        if !generating.is_empty() {
            self.note(format!(
                "{who}: {} kept, not used: Cadre's executor only runs code other agents write",
                generating.join(", ")
            ));
        }
        if let Some(sources) = agent.config.get("sources").filter(|v| !is_empty_value(v)) {
            let sources: Vec<String> = list_or_one(sources)
                .into_iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect();
            self.note(format!(
                "{who}: sources ({}) kept, not enforced: Cadre's executor runs code from any \
                 agent",
                quoted(&sources)
            ));
        }
        Ok(Executor {
            name,
            timeout_secs,
            languages,
            extra: agent.rest(&["name", "supported_languages"]),
        })
    }

    fn client(&mut self, value: &Value, at: &str) -> Result<Client, TeamError> {
        let client = view(value, at, "a model client")?;
        // ChatCompletionCache wraps the client that names the model.
        if !client.config.contains_key("model")
            && let Some(inner) = client.config.get("client").filter(|c| c.is_object())
        {
            let mut inner = self.client(inner, &client.path("client"))?;
            inner.unused.extend(
                client
                    .config
                    .keys()
                    .filter(|k| *k != "client")
                    .map(|k| format!("{} ({})", k, client.class)),
            );
            inner.key = value.to_string();
            return Ok(inner);
        }
        let model = optional_string(client.config, "model", &client.at)?;
        let temperature = match client.config.get("temperature") {
            None | Some(Value::Null) => None,
            Some(t) => Some(t.as_f64().ok_or_else(|| {
                fail(
                    &client.path("temperature"),
                    format!("must be a number, found {}", type_name(t)),
                )
            })?),
        };
        let unused = client
            .config
            .iter()
            .filter(|(k, v)| {
                *k != "model" && *k != "temperature" && !v.is_null() && !client.is_meta(k)
            })
            .map(|(k, _)| k.clone())
            .collect();
        Ok(Client {
            class: client.class.to_string(),
            model,
            temperature,
            unused,
            key: value.to_string(),
        })
    }

    /// One note per distinct model client whose settings Cadre does not use.
    fn client_notes(&mut self, experts: &[Expert]) {
        let mut groups: Vec<(&Client, Vec<String>)> = Vec::new();
        for expert in experts {
            let Some(client) = &expert.client else {
                continue;
            };
            match groups.iter_mut().find(|(c, _)| c.key == client.key) {
                Some((_, names)) => names.push(expert.spec.name.clone()),
                None => groups.push((client, vec![expert.spec.name.clone()])),
            }
        }
        let notes: Vec<String> = groups
            .into_iter()
            .filter(|(c, _)| c.class != "OpenAIChatCompletionClient" || !c.unused.is_empty())
            .map(|(client, names)| {
                let unused = if client.unused.is_empty() {
                    String::new()
                } else {
                    format!("; kept, not used: {}", client.unused.join(", "))
                };
                format!(
                    "model client `{}` of {}: Cadre sends model calls to its own configured \
                     provider, using only the model name and temperature{unused}",
                    client.class,
                    quoted(&names)
                )
            })
            .collect();
        self.notes.extend(notes);
    }

    /// The experts' temperature, when they all agree.
    fn shared_temperature(&mut self, experts: &[Expert]) -> Option<f32> {
        let first = experts.first()?.temperature;
        if experts.iter().all(|e| e.temperature == first) {
            return first.map(|t| t as f32);
        }
        let each: Vec<String> = experts
            .iter()
            .map(|e| {
                format!(
                    "`{}`: {}",
                    e.spec.name,
                    e.temperature.map_or("unset".into(), |t| t.to_string())
                )
            })
            .collect();
        self.note(format!(
            "the agents' temperatures differ ({}): Cadre uses one temperature per team, so \
             none is set",
            each.join(", ")
        ));
        None
    }

    /// Gathers a termination tree into `ending`. AgentChat's `|` (OR) is Cadre's own
    /// semantics: every condition that is set applies and the first one met wins.
    fn termination(
        &mut self,
        value: &Value,
        at: &str,
        ending: &mut Ending,
    ) -> Result<(), TeamError> {
        let condition = view(value, at, "a termination condition")?;
        let config = condition.config;
        let here = &condition.at;
        match condition.class {
            "OrTerminationCondition" | "OrTermination" => {
                self.conditions(&condition, ending)?;
            }
            "AndTerminationCondition" | "AndTermination" => {
                self.and(&condition, ending)?;
            }
            "CombinationTermination" => match config.get("operator").and_then(Value::as_str) {
                Some(op) if op.eq_ignore_ascii_case("or") => self.conditions(&condition, ending)?,
                Some(op) if op.eq_ignore_ascii_case("and") => self.and(&condition, ending)?,
                _ => {
                    return Err(fail(&condition.path("operator"), "must be `or` or `and`"));
                }
            },
            "TextMentionTermination" => {
                let text = optional_string(config, "text", here)?
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| fail(&condition.path("text"), "is missing or empty"))?;
                if let Some(earlier) = &ending.text
                    && *earlier != text
                {
                    return Err(fail(
                        &condition.path("text"),
                        format!(
                            "a second TextMentionTermination (`{text}`, besides `{earlier}`): \
                             Cadre watches for one termination text"
                        ),
                    ));
                }
                if let Some(sources) = config.get("sources").filter(|v| !is_empty_value(v)) {
                    let sources: Vec<String> = list_or_one(sources)
                        .into_iter()
                        .filter_map(|s| s.as_str().map(str::to_string))
                        .collect();
                    self.note(format!(
                        "{at}: TextMentionTermination's sources ({}) are kept, not enforced: \
                         Cadre ends the run when any agent but the executor says `{text}`",
                        quoted(&sources)
                    ));
                }
                ending.text = Some(text);
            }
            "MaxMessageTermination" => {
                let max = positive_whole(config, "max_messages", here)?
                    .ok_or_else(|| fail(&condition.path("max_messages"), "is missing"))?;
                let max = u32::try_from(max)
                    .map_err(|_| fail(&condition.path("max_messages"), "is too large"))?;
                // Both count the task message: see the module documentation.
                ending.max_messages = Some(ending.max_messages.map_or(max, |m| m.min(max)));
                if config.get("include_agent_event") == Some(&Value::Bool(true)) {
                    self.note(format!(
                        "{at}: include_agent_event is kept, not used: Cadre counts messages \
                         only (it has no tool-call events)"
                    ));
                }
            }
            "TokenUsageTermination" => {
                let total = positive_whole(config, "max_total_token", here)?;
                let prompt = positive_whole(config, "max_prompt_token", here)?;
                let completion = positive_whole(config, "max_completion_token", here)?;
                let Some(limit) = [total, prompt, completion].into_iter().flatten().min() else {
                    return Err(fail(
                        here,
                        "TokenUsageTermination needs max_total_token, max_prompt_token or \
                         max_completion_token",
                    ));
                };
                if prompt.is_some() || completion.is_some() {
                    self.note(format!(
                        "{at}: Cadre limits total tokens only, so the prompt or completion \
                         limit applies to prompt + completion ({limit}); the run may stop \
                         earlier than in AgentChat"
                    ));
                }
                ending.max_tokens = Some(ending.max_tokens.map_or(limit, |m| m.min(limit)));
            }
            "TimeoutTermination" => {
                let secs = positive_seconds(config, "timeout_seconds", here)?
                    .ok_or_else(|| fail(&condition.path("timeout_seconds"), "is missing"))?;
                ending.timeout_secs = Some(ending.timeout_secs.map_or(secs, |m| m.min(secs)));
                self.note(format!(
                    "{at}: TimeoutTermination ({secs} s) maps to timeout_secs, but a Cadre run \
                     that reaches it ends as failed (`timeout`), not completed"
                ));
            }
            "ExternalTermination" => {
                self.note(format!(
                    "{at}: ExternalTermination needs no counterpart: every Cadre run can be \
                     cancelled"
                ));
            }
            other => {
                let why = match other {
                    "StopMessageTermination" => "Cadre agents never send stop messages",
                    "HandoffTermination" => "Cadre has no handoffs",
                    "FunctionCallTermination" => "Cadre agents make no tool calls",
                    "SourceMatchTermination" => "Cadre cannot end a run after a given agent",
                    "TextMessageTermination" => {
                        "Cadre cannot end a run on the first text message of an agent"
                    }
                    _ => "Cadre does not know this condition",
                };
                self.note(format!("{at}: `{other}` is kept, not used: {why}"));
                ending.unchecked.push(other.to_string());
            }
        }
        Ok(())
    }

    fn conditions(&mut self, condition: &View<'_>, ending: &mut Ending) -> Result<(), TeamError> {
        for (i, part) in condition_list(condition)?.iter().enumerate() {
            let at = format!("{}[{i}]", condition.path("conditions"));
            self.termination(part, &at, ending)?;
        }
        Ok(())
    }

    /// AND is only expressible when it joins a single condition.
    fn and(&mut self, condition: &View<'_>, ending: &mut Ending) -> Result<(), TeamError> {
        match condition_list(condition)?.as_slice() {
            [only] => {
                let at = format!("{}[0]", condition.path("conditions"));
                self.termination(only, &at, ending)
            }
            many => Err(fail(
                &condition.class_at,
                format!(
                    "`{}` (stop when all {} conditions are met) cannot be expressed: a Cadre \
                     run stops when any one condition is met",
                    condition.class,
                    many.len()
                ),
            )),
        }
    }

    /// The team's [`Termination`], and whether the termination condition is kept in extra
    /// (some part of it was not interpreted).
    fn ending(
        &mut self,
        ending: Ending,
        from_turns: Option<u32>,
        has_condition: bool,
        at: &str,
    ) -> Result<(Termination, bool), TeamError> {
        let max_round = match (ending.max_messages, from_turns) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let kept = !ending.unchecked.is_empty();
        if !ending.checkable() && from_turns.is_none() {
            if kept {
                return Err(fail(
                    at,
                    format!(
                        "none of its conditions ({}) can be checked by Cadre, so the team would \
                         never end: add a MaxMessageTermination or a TextMentionTermination",
                        ending.unchecked.join(", ")
                    ),
                ));
            }
            let why = if has_condition {
                "the termination condition leaves nothing Cadre can check"
            } else {
                "no termination condition and no max_turns"
            };
            self.note(format!(
                "{why}: Cadre's defaults apply (stop when an agent says TERMINATE, or after 20 \
                 messages)"
            ));
            return Ok((Termination::default(), kept));
        }
        if ending.text.is_some()
            && max_round.is_none()
            && ending.max_tokens.is_none()
            && ending.timeout_secs.is_none()
        {
            self.note(format!(
                "no message, token or time limit: the run ends only when an agent says `{}` \
                 (or it is cancelled)",
                ending.text.as_deref().unwrap_or_default()
            ));
        }
        Ok((
            Termination {
                text_mention: ending.text,
                max_round,
                max_tokens: ending.max_tokens,
                max_cost_usd: None,
                timeout_secs: ending.timeout_secs,
            },
            kept,
        ))
    }

    /// Notes the team settings Cadre keeps but does not follow.
    fn team_rest_notes(
        &mut self,
        team: &View<'_>,
        rest: &Map<String, Value>,
        selector_client: Option<&Client>,
        default_model: Option<&str>,
    ) {
        let mut unused = Vec::new();
        for (key, value) in rest {
            match key.as_str() {
                "termination_condition" => {}
                "selector_prompt" if !is_empty_value(value) => self.note(format!(
                    "{}: selector_prompt is kept, not used: Cadre picks speakers with its own \
                     prompt from the agents' descriptions",
                    team.path(key)
                )),
                "allow_repeated_speaker" => {
                    if value == &Value::Bool(false) {
                        self.note(format!(
                            "{}: allow_repeated_speaker = false is kept, not enforced: Cadre's \
                             automatic selection may pick the previous speaker again",
                            team.path(key)
                        ));
                    }
                }
                "model_client" => {
                    if let Some(client) = selector_client
                        && client.model.is_some()
                        && client.model.as_deref() != default_model
                    {
                        self.note(format!(
                            "{}: the selector's model `{}` is kept, not used: Cadre picks \
                             speakers with the team's default model{}",
                            team.path(key),
                            client.model.as_deref().unwrap_or_default(),
                            default_model
                                .map(|m| format!(" (`{m}`)"))
                                .unwrap_or_default()
                        ));
                    }
                }
                "max_selector_attempts" if value.as_u64() == Some(3) => {}
                "emit_team_events" | "model_client_streaming" => {}
                _ if is_empty_value(value) => {}
                _ => unused.push(key.clone()),
            }
        }
        if !unused.is_empty() {
            self.note(format!(
                "{}: kept, not used: {}",
                team.at_or_root(),
                unused.join(", ")
            ));
        }
    }
}

/// The conditions of an OR/AND condition.
fn condition_list<'a>(condition: &View<'a>) -> Result<&'a Vec<Value>, TeamError> {
    match condition.config.get("conditions") {
        Some(Value::Array(items)) if !items.is_empty() => Ok(items),
        Some(Value::Array(_)) => Err(fail(&condition.path("conditions"), "is empty")),
        None | Some(Value::Null) => Err(fail(&condition.path("conditions"), "is missing")),
        Some(other) => Err(fail(
            &condition.path("conditions"),
            format!("must be a list of conditions, found {}", type_name(other)),
        )),
    }
}

/// The name of Cadre's admin, who states the task: the default (`User`) unless a
/// participant is already called that (compared case-insensitively, as `user` and `User`
/// in one transcript would read as the same speaker), else `Task`, `Task_2`, …
fn admin_name(members: &[Member]) -> String {
    let taken = |name: &str| members.iter().any(|m| m.name().eq_ignore_ascii_case(name));
    std::iter::once(DEFAULT_ADMIN_NAME.to_string())
        .chain(std::iter::once(RENAMED_ADMIN.to_string()))
        .chain((2..).map(|n| format!("{RENAMED_ADMIN}_{n}")))
        .find(|name| !taken(name))
        .unwrap_or_else(|| RENAMED_ADMIN.to_string())
}

/// Where a participant's name is: `config.name`, or `name` in Studio 0.4.0's format.
fn name_key(participant: &Value) -> &'static str {
    if participant.get("provider").is_some() {
        "config.name"
    } else {
        "name"
    }
}

/// An agent's name, checked as Cadre (and OpenAI's `name` field) requires.
fn agent_name(agent: &View<'_>) -> Result<String, TeamError> {
    let at = agent.path("name");
    let name = match agent.config.get("name") {
        Some(Value::String(name)) => name.clone(),
        None | Some(Value::Null) => return Err(fail(&at, "is missing")),
        Some(other) => {
            return Err(fail(
                &at,
                format!("must be a string, found {}", type_name(other)),
            ));
        }
    };
    if !is_valid_agent_name(&name) {
        return Err(fail(&at, TeamError::InvalidName(name).to_string()));
    }
    Ok(name)
}

/// The team's display name: its label or config name unless that is just the class name.
fn team_name(team: &View<'_>) -> String {
    let candidates = [team.label, team.config.get("name").and_then(Value::as_str)];
    let chosen = candidates
        .iter()
        .flatten()
        .map(|c| c.split_whitespace().collect::<Vec<_>>().join(" "))
        .find(|c| !c.is_empty() && c != team.class)
        .or_else(|| team.label.map(str::to_string))
        .unwrap_or_else(|| team.class.to_string());
    chosen
        .chars()
        .take(MAX_NAME_CHARS)
        .collect::<String>()
        .trim()
        .to_string()
}

/// A readable summary of MCP server parameters (never their environment or headers).
fn describe_mcp_server(params: &Value) -> String {
    let kind = match params.get("type").and_then(Value::as_str) {
        Some("StdioServerParams") => "stdio",
        Some("SseServerParams") => "SSE",
        Some("StreamableHttpServerParams") => "streamable HTTP",
        Some(other) => other,
        None => "server",
    };
    if let Some(command) = params.get("command").and_then(Value::as_str) {
        let args: Vec<&str> = params
            .get("args")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let line = std::iter::once(command)
            .chain(args)
            .collect::<Vec<_>>()
            .join(" ");
        return format!("{kind} `{line}`");
    }
    match params.get("url").and_then(Value::as_str) {
        Some(url) => format!("{kind} `{url}`"),
        None => kind.to_string(),
    }
}

/// Removes secret-looking settings (API keys, tokens, passwords, authorization headers)
/// anywhere in `value`, recording their paths. Teams are stored, shown and sent in `team`
/// events, where a key must never appear.
fn redact_secrets(value: &mut Value, at: &str, removed: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            let secrets: Vec<String> = map
                .iter()
                .filter(|(k, v)| is_secret_key(k) && v.as_str().is_some_and(|s| !s.is_empty()))
                .map(|(k, _)| k.clone())
                .collect();
            for key in secrets {
                map.remove(&key);
                removed.push(field(at, &key));
            }
            for (key, child) in map.iter_mut() {
                redact_secrets(child, &field(at, key), removed);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                redact_secrets(item, &format!("{at}[{i}]"), removed);
            }
        }
        _ => {}
    }
}

fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase().replace('-', "_");
    if key.starts_with("max_") {
        // Token limits (`max_tokens`, `max_total_token`) are not secrets.
        return false;
    }
    key == "authorization"
        || key.contains("api_key")
        || key.contains("apikey")
        || key.contains("secret")
        || key.contains("password")
        || key.ends_with("token")
}

/// An optional string setting.
fn optional_string(
    config: &Map<String, Value>,
    key: &str,
    at: &str,
) -> Result<Option<String>, TeamError> {
    match config.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(fail(
            &field(at, key),
            format!("must be a string, found {}", type_name(other)),
        )),
    }
}

/// An optional positive whole number (`10` or `10.0`).
fn positive_whole(
    config: &Map<String, Value>,
    key: &str,
    at: &str,
) -> Result<Option<u64>, TeamError> {
    match config.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_u64()
            .or_else(|| {
                value
                    .as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < u64::MAX as f64)
                    .map(|f| f as u64)
            })
            .filter(|n| *n > 0)
            .map(Some)
            .ok_or_else(|| {
                fail(
                    &field(at, key),
                    format!("must be a positive whole number, found {value}"),
                )
            }),
    }
}

/// An optional positive number of seconds, rounded up to whole seconds.
fn positive_seconds(
    config: &Map<String, Value>,
    key: &str,
    at: &str,
) -> Result<Option<u64>, TeamError> {
    match config.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_f64()
            .filter(|s| s.is_finite() && *s > 0.0)
            .map(|s| Some(s.ceil().min(u64::MAX as f64) as u64))
            .ok_or_else(|| {
                fail(
                    &field(at, key),
                    format!("must be a positive number of seconds, found {value}"),
                )
            }),
    }
}

/// A list's items, or a single value as a one-item list (older AgentChat wrote one
/// workbench, newer a list).
fn list_or_one(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        one => vec![one],
    }
}

/// The class of a component value, for notes.
fn class_of(value: &Value) -> &str {
    value
        .get("provider")
        .and_then(Value::as_str)
        .map(|p| p.rsplit('.').next().unwrap_or(p))
        .unwrap_or("component")
}

/// Whether a setting is absent in effect (null, false, empty).
fn is_empty_value(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

fn quoted(items: &[String]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `at.key`, or `key` at the top.
fn field(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_string()
    } else {
        format!("{at}.{key}")
    }
}

/// A format error that starts with the path of the offending field.
fn fail(at: &str, message: impl Display) -> TeamError {
    if at.is_empty() {
        TeamError::Format(message.to_string())
    } else {
        TeamError::Format(format!("{at}: {message}"))
    }
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

    fn component(provider: &str, config: Value) -> Value {
        json!({"provider": provider, "component_type": "x", "version": 1,
               "component_version": 1, "config": config})
    }

    fn assistant(name: &str) -> Value {
        json!({"provider": "autogen_agentchat.agents.AssistantAgent", "component_type": "agent",
               "config": {"name": name, "description": format!("{name} helps"),
                          "model_client": {"provider": "OpenAIChatCompletionClient",
                                           "config": {"model": "gpt-4o-mini"}}}})
    }

    fn round_robin(participants: Value, termination: Value) -> Value {
        json!({"provider": "autogen_agentchat.teams.RoundRobinGroupChat",
               "component_type": "team", "label": "Pair",
               "config": {"participants": participants, "termination_condition": termination}})
    }

    fn max_messages(n: u64) -> Value {
        json!({"provider": "autogen_agentchat.conditions.MaxMessageTermination",
               "component_type": "termination", "config": {"max_messages": n}})
    }

    #[test]
    fn secret_keys_are_recognised_but_token_limits_are_not() {
        for key in [
            "api_key",
            "OPENAI_API_KEY",
            "Authorization",
            "GITHUB_TOKEN",
            "password",
            "client_secret",
            "azure_ad_token",
            "x-api-key",
        ] {
            assert!(is_secret_key(key), "{key}");
        }
        for key in [
            "max_tokens",
            "max_total_token",
            "model",
            "base_url",
            "tool_call_summary_format",
            "include_agent_event",
            "token_limit",
        ] {
            assert!(!is_secret_key(key), "{key}");
        }
    }

    #[test]
    fn redaction_removes_keys_and_names_their_paths() {
        let mut value = json!({"config": {"model_client": {"config": {"api_key": "sk-1", "model": "m"}},
                               "workbench": [{"config": {"server_params": {"env": {"GH_TOKEN": "t"}, "headers": {"Authorization": ""}}}}]}});
        let mut removed = Vec::new();
        redact_secrets(&mut value, "", &mut removed);
        assert_eq!(
            removed,
            vec![
                "config.model_client.config.api_key",
                "config.workbench[0].config.server_params.env.GH_TOKEN"
            ]
        );
        assert!(!value.to_string().contains("sk-1"));
        assert_eq!(value["config"]["model_client"]["config"]["model"], "m");
    }

    #[test]
    fn max_turns_counts_agent_turns_and_max_messages_the_task_too() {
        let mut team = round_robin(json!([assistant("a")]), max_messages(6));
        team["config"]["max_turns"] = json!(3);
        let imported = import_agentchat(&team, None).unwrap();
        // max_turns 3 + the task message = 4 < 6.
        assert_eq!(imported.team.termination.max_round, Some(4));
        assert_eq!(imported.team.termination.text_mention, None);
    }

    #[test]
    fn short_providers_and_or_nesting_are_read() {
        let termination = component(
            "OrTerminationCondition",
            json!({"conditions": [
                max_messages(9),
                component("OrTerminationCondition", json!({"conditions": [
                    component("TextMentionTermination", json!({"text": "DONE"})),
                    max_messages(7),
                    component("TokenUsageTermination", json!({"max_total_token": 5000,
                        "max_prompt_token": null, "max_completion_token": null}))
                ]}))
            ]}),
        );
        let mut team = round_robin(json!([assistant("a"), assistant("b")]), termination);
        team["provider"] = json!("RoundRobinGroupChat");
        let t = import_agentchat(&team, None).unwrap().team.termination;
        assert_eq!(t.max_round, Some(7));
        assert_eq!(t.text_mention.as_deref(), Some("DONE"));
        assert_eq!(t.max_tokens, Some(5000));
    }

    #[test]
    fn and_of_one_condition_is_that_condition() {
        let termination = component(
            "AndTerminationCondition",
            json!({"conditions": [max_messages(4)]}),
        );
        let team = round_robin(json!([assistant("a")]), termination);
        assert_eq!(
            import_agentchat(&team, None)
                .unwrap()
                .team
                .termination
                .max_round,
            Some(4)
        );
    }

    #[test]
    fn executor_before_others_in_round_robin_becomes_a_cycle() {
        let executor = json!({"provider": "autogen_agentchat.agents.CodeExecutorAgent",
            "component_type": "agent",
            "config": {"name": "runner", "code_executor": {
                "provider": "autogen_ext.code_executors.local.LocalCommandLineCodeExecutor",
                "config": {"timeout": 12.5, "work_dir": "coding"}}}});
        let team = round_robin(
            json!([assistant("coder"), executor, assistant("checker")]),
            max_messages(10),
        );
        let imported = import_agentchat(&team, None).unwrap();
        let spec = imported.team;
        assert_eq!(spec.code_execution.timeout_secs, 13);
        assert_eq!(spec.code_execution.executor_name, "runner");
        let SpeakerSelection::Graph { transitions } = &spec.speaker_selection else {
            panic!("{:?}", spec.speaker_selection)
        };
        assert_eq!(transitions["User"], vec!["coder"]);
        assert_eq!(transitions["coder"], vec!["runner"]);
        assert_eq!(transitions["runner"], vec!["checker"]);
        assert_eq!(transitions["checker"], vec!["coder"]);
        assert!(imported.notes.iter().any(|n| n.contains("speaker graph")));
    }

    #[test]
    fn temperatures_that_differ_are_not_set() {
        let mut a = assistant("a");
        a["config"]["model_client"]["config"]["temperature"] = json!(0.2);
        let mut b = assistant("b");
        b["config"]["model_client"]["config"]["temperature"] = json!(0.9);
        let imported =
            import_agentchat(&round_robin(json!([a, b]), max_messages(5)), None).unwrap();
        assert_eq!(imported.team.temperature, None);
        assert!(
            imported
                .notes
                .iter()
                .any(|n| n.contains("temperatures differ"))
        );
    }
}
