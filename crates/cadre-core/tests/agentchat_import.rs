//! AutoGen AgentChat / AutoGen Studio team JSON: what each fixture maps to (agents,
//! selection, termination, notes), the errors for what Cadre cannot run, format detection
//! in `parse_team_file`, and imported teams running through the engine to the end their
//! file describes.

// Helpers outside #[test] fns are test code too; clippy only exempts the fns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use cadre_core::agentchat::{COMPONENT_KEY, gallery_teams, import_agentchat};
use cadre_core::autogen::{TeamFormat, import_team_value, parse_team_file, parse_team_text};
use cadre_core::event::{EventKind, MemorySink, RunEvent, RunStatus};
use cadre_core::executor::{
    CodeBlock, CodeExecutor, CodeWorkspace, ExecError, ExecutionResult, ExecutorInfo,
};
use cadre_core::groupchat::RunContext;
use cadre_core::input::{InputError, InputSource, NoInput};
use cadre_core::model::{
    ChatModel, ChatRequest, ChatResponse, DeltaSink, ModelError, Purpose, Usage,
};
use cadre_core::run::execute_run;
use cadre_core::team::{HumanInput, TeamError};
use cadre_core::{Imported, SpeakerSelection, StopReason, TeamSpec};
use common::{context, given, messages};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const ROUND_ROBIN: &str = include_str!("fixtures/agentchat/round_robin.json");
const SELECTOR: &str = include_str!("fixtures/agentchat/selector.json");
const GALLERY: &str = include_str!("fixtures/agentchat/gallery.json");
const LEGACY: &str = include_str!("fixtures/agentchat/studio_0_4_0.json");
const BUILDER: &str = include_str!("fixtures/autogen_research_team.json");
const CADRE: &str = include_str!("fixtures/cadre_team.json");

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn import(text: &str) -> Imported {
    import_team_value(&json(text)).unwrap()
}

fn names(team: &TeamSpec) -> Vec<&str> {
    team.agents.iter().map(|a| a.name.as_str()).collect()
}

/// The one note that contains `needle`.
fn note<'a>(imported: &'a Imported, needle: &str) -> &'a str {
    let found: Vec<&String> = imported
        .notes
        .iter()
        .filter(|n| n.contains(needle))
        .collect();
    match found.as_slice() {
        [one] => one,
        _ => panic!(
            "expected one note with `{needle}`, found {}:\n{}",
            found.len(),
            imported.notes.join("\n")
        ),
    }
}

#[test]
fn round_robin_fixture_maps_agents_order_and_termination() {
    let imported = import(ROUND_ROBIN);
    let team = &imported.team;
    assert_eq!(imported.format, TeamFormat::Agentchat);
    assert_eq!(team.name, "Blog pair");
    assert_eq!(names(team), ["writer", "editor"]);
    assert_eq!(team.speaker_selection, SpeakerSelection::RoundRobin);
    assert_eq!(team.termination.text_mention.as_deref(), Some("APPROVE"));
    assert_eq!(team.termination.max_round, Some(6));
    assert_eq!(team.termination.max_tokens, None);
    assert_eq!(team.admin_name, "User");
    assert!(!team.code_execution.enabled);
    assert_eq!(team.default_model.as_deref(), Some("gpt-4o"));
    assert!(team.agents.iter().all(|a| a.model.is_none()));
    assert_eq!(team.temperature, Some(0.3));
    let writer = &team.agents[0];
    assert_eq!(
        writer.system_message,
        "You write short, friendly blog posts. Revise after every round of feedback."
    );
    assert_eq!(writer.description, "Writes and revises the blog post.");
    assert!(writer.tools.is_empty(), "Python tools are not callable");
    assert!(writer.autogen_extra.contains_key("workbench"));
    assert!(writer.autogen_extra.contains_key("model_client"));

    // The Python tool, the removed key and the unused base_url are named.
    assert!(note(&imported, "`word_count`").contains("kept, not run"));
    note(
        &imported,
        "removed the secret `config.participants[1].config.model_client.config.api_key`",
    );
    assert!(note(&imported, "base_url").contains("`editor`"));
    note(&imported, COMPONENT_KEY);
    assert_eq!(imported.notes.len(), 4, "{:#?}", imported.notes);

    // The original is kept for export, without the key.
    let kept = &team.autogen_extra[COMPONENT_KEY];
    assert_eq!(kept["label"], "Blog pair");
    let saved = serde_json::to_string(team).unwrap();
    assert!(
        !saved.contains("sk-fixture"),
        "the key never reaches the team"
    );
    assert!(saved.contains("llm.example.invalid"));
}

#[test]
fn selector_fixture_maps_executor_user_proxy_and_notes() {
    let imported = import(SELECTOR);
    let team = &imported.team;
    assert_eq!(team.name, "Data desk");
    assert_eq!(names(team), ["user_proxy", "coder", "reviewer"]);
    assert_eq!(team.speaker_selection, SpeakerSelection::Auto);
    assert_eq!(team.admin_name, "User");
    assert!(team.code_execution.enabled);
    assert_eq!(team.code_execution.executor_name, "executor");
    assert_eq!(team.code_execution.timeout_secs, 45);
    assert_eq!(team.code_execution.languages, ["python", "sh"]);
    assert_eq!(
        team.participants(),
        ["user_proxy", "coder", "reviewer", "executor"]
    );
    assert_eq!(team.termination.text_mention.as_deref(), Some("TERMINATE"));
    assert_eq!(team.termination.max_round, Some(15));
    assert_eq!(team.default_model.as_deref(), Some("gpt-4o"));
    assert_eq!(team.temperature, None);

    assert_eq!(
        note(&imported, "human-driven"),
        "config.participants[0] (`user_proxy`) is a human-driven agent: on its turns the run \
         asks you and waits up to 300 s (AgentChat waits without a limit), then says its \
         default reply"
    );
    assert!(note(&imported, "MCP server").contains("(stdio `uvx mcp-server-fetch`)"));
    note(&imported, "removed the secret");
    assert!(note(&imported, "LocalCommandLineCodeExecutor").contains("sandbox"));
    note(&imported, "selector_prompt");
    note(&imported, "allow_repeated_speaker = false");
    assert!(note(&imported, "selector's model").contains("`gpt-4o-mini`"));
    note(&imported, COMPONENT_KEY);
    assert_eq!(imported.notes.len(), 8, "{:#?}", imported.notes);

    // Uninterpreted team settings stay in extra under their AgentChat names.
    for key in ["selector_prompt", "allow_repeated_speaker", "model_client"] {
        assert!(team.autogen_extra.contains_key(key), "{key}");
    }
    assert_eq!(
        team.autogen_extra["code_executor_agent"]["code_executor"]["config"]["work_dir"],
        "coding"
    );
    // The UserProxyAgent is an agent a human speaks for, with no model.
    let human = &team.agents[0];
    assert_eq!(human.human_input, Some(HumanInput::default()));
    assert_eq!(
        human.description,
        "The person asking; consult only when stuck."
    );
    assert_eq!(human.system_message, "");
    assert_eq!(human.model, None);
    assert!(human.autogen_extra.is_empty(), "{:?}", human.autogen_extra);
    assert!(!team.autogen_extra.contains_key("user_proxy_agent"));
    assert!(team.agents[1..].iter().all(|a| a.human_input.is_none()));
    let coder = &team.agents[1];
    assert_eq!(
        coder.autogen_extra["workbench"][0]["config"]["server_params"]["command"],
        "uvx"
    );
    assert!(
        !serde_json::to_string(team)
            .unwrap()
            .contains("fixture-token")
    );
}

#[test]
fn gallery_teams_are_listed_and_chosen() {
    let gallery = json(GALLERY);
    let teams = gallery_teams(&gallery);
    let labels: Vec<&str> = teams.iter().map(|t| t.label.as_str()).collect();
    assert_eq!(labels, ["Solo helper", "Writers room"]);
    assert_eq!(teams[1].index, 1);
    assert_eq!(teams[0].description, "One assistant with a calculator.");
    assert!(gallery_teams(&json(ROUND_ROBIN)).is_empty());

    // The first team by default.
    let first = import(GALLERY);
    assert_eq!(first.format, TeamFormat::AgentchatGallery);
    assert_eq!(names(&first.team), ["helper"]);
    assert_eq!(first.team.termination.text_mention.as_deref(), Some("DONE"));
    assert!(note(&first, "imported team 1 of 2").contains("`Fixture Gallery`"));
    note(&first, "`calculator`");

    // By label (any case) or index.
    for choice in ["writers ROOM", "1"] {
        let room = import_agentchat(&gallery, Some(choice)).unwrap();
        assert_eq!(names(&room.team), ["plotter", "stylist"], "{choice}");
        assert_eq!(room.team.speaker_selection, SpeakerSelection::Auto);
        assert_eq!(room.team.termination.text_mention, None);
        assert_eq!(room.team.termination.max_round, Some(10));
    }
    // A listed team imports on its own too.
    let alone = import_team_value(&teams[1].component).unwrap();
    assert_eq!(names(&alone.team), ["plotter", "stylist"]);

    let Err(TeamError::Format(message)) = import_agentchat(&gallery, Some("Nope")) else {
        panic!("expected an error")
    };
    assert!(
        message.starts_with("components.teams: no team `Nope`")
            && message.contains("1 `Writers room`"),
        "{message}"
    );

    // Studio's gallery record and the early-2025 `items` layout.
    let record = json!({"id": 1, "user_id": "guest", "config": gallery.clone()});
    assert_eq!(names(&import_team_value(&record).unwrap().team), ["helper"]);
    let items = json!({"id": "g", "name": "Old", "items": {
        "teams": gallery["components"]["teams"].clone(),
        "components": {"agents": [], "models": [], "tools": [], "terminations": []}}});
    let old = import_agentchat(&items, Some("Writers room")).unwrap();
    assert_eq!(names(&old.team), ["plotter", "stylist"]);
}

#[test]
fn studio_team_record_is_read_from_its_component() {
    let record = json!({
        "id": 7, "created_at": "2025-03-01T10:00:00", "updated_at": "2025-03-01T10:00:00",
        "user_id": "guestuser@gmail.com", "version": "0.0.1",
        "component": json(ROUND_ROBIN)
    });
    let imported = import_team_value(&record).unwrap();
    assert_eq!(
        imported.team.termination,
        import(ROUND_ROBIN).team.termination
    );
    assert_eq!(names(&imported.team), ["writer", "editor"]);
    let record_note = note(&imported, "AutoGen Studio record");
    assert!(
        record_note.contains("created_at") && record_note.contains("user_id"),
        "{record_note}"
    );
    // Paths inside the record start at `component`.
    note(
        &imported,
        "`component.config.participants[1].config.model_client.config.api_key`",
    );
}

#[test]
fn studio_0_4_0_format_is_read() {
    let imported = import(LEGACY);
    let team = &imported.team;
    assert_eq!(imported.format, TeamFormat::AutogenStudioLegacy);
    assert_eq!(team.name, "weather_pair");
    assert_eq!(names(team), ["forecaster", "user"]);
    // `user` takes turns; the admin that states the task is renamed so the transcript
    // does not show `User` and `user`.
    assert_eq!(team.admin_name, "Task");
    assert_eq!(team.agents[1].description, "The person asking.");
    assert_eq!(team.agents[1].human_input, Some(HumanInput::default()));
    assert_eq!(team.speaker_selection, SpeakerSelection::RoundRobin);
    assert_eq!(team.termination.max_round, Some(8));
    assert_eq!(team.termination.text_mention.as_deref(), Some("DONE"));
    assert_eq!(team.default_model.as_deref(), Some("gpt-4o-mini"));
    assert_eq!(team.agents[0].description, "Answers weather questions.");
    assert!(note(&imported, "`get_weather`").contains("Python"));
    note(
        &imported,
        "removed the secret `participants[0].model_client.api_key`",
    );
    note(&imported, "`user`) is a human-driven agent");
    assert!(note(&imported, "named like Cadre's admin").contains("the admin is `Task`"));
    let saved = serde_json::to_string(team).unwrap();
    assert!(!saved.contains("sk-legacy"));
    // Studio 0.4.0 kept teams in records under `config`.
    let record = json!({"id": 2, "user_id": "guest", "config": json(LEGACY)});
    assert_eq!(
        names(&import_team_value(&record).unwrap().team),
        ["forecaster", "user"]
    );
}

#[test]
fn parse_team_file_detects_every_format() {
    let cases = [
        (CADRE, TeamFormat::Cadre),
        (BUILDER, TeamFormat::AutogenBuilder),
        (ROUND_ROBIN, TeamFormat::Agentchat),
        (SELECTOR, TeamFormat::Agentchat),
        (GALLERY, TeamFormat::AgentchatGallery),
        (LEGACY, TeamFormat::AutogenStudioLegacy),
    ];
    for (text, format) in cases {
        let team = parse_team_file(text).unwrap();
        team.validate().unwrap();
        let imported = parse_team_text(&format!("\u{feff}{text}")).unwrap();
        assert_eq!(imported.format, format);
        assert_eq!(imported.team, team);
        assert_eq!(
            imported.notes.is_empty(),
            matches!(format, TeamFormat::Cadre | TeamFormat::AutogenBuilder)
        );
    }
    // An imported team saved as Cadre JSON reads back the same.
    let team = parse_team_file(SELECTOR).unwrap();
    let saved = serde_json::to_string(&team).unwrap();
    assert_eq!(parse_team_file(&saved).unwrap(), team);
}

/// Applies `edit` to the round-robin fixture and returns the import error.
fn error_after(edit: impl FnOnce(&mut Value)) -> String {
    let mut value = json(ROUND_ROBIN);
    edit(&mut value);
    match import_team_value(&value) {
        Err(TeamError::Format(message)) => message,
        other => panic!("expected a format error, got {other:?}"),
    }
}

fn component(provider: &str, config: Value) -> Value {
    json!({"provider": provider, "component_type": "termination", "version": 1,
           "component_version": 1, "config": config})
}

#[test]
fn errors_name_the_offending_field() {
    let agent = |name: &str| {
        let mut agent = json(ROUND_ROBIN)["config"]["participants"][0].clone();
        agent["config"]["name"] = json!(name);
        agent
    };
    let user_proxy = |name: &str| {
        json!({"provider": "autogen_agentchat.agents.UserProxyAgent", "component_type": "agent",
               "config": {"name": name}})
    };
    let cases: Vec<(String, &str)> = vec![
        (
            error_after(|v| v["provider"] = json!("autogen_agentchat.teams.Swarm")),
            "provider: `Swarm` teams are not supported (its agents hand the turn",
        ),
        (
            error_after(|v| v["provider"] = json!("MagenticOneGroupChat")),
            "provider: `MagenticOneGroupChat` teams are not supported",
        ),
        (
            error_after(|v| {
                v["config"]["participants"][1] = json!({
                    "provider": "autogen_ext.agents.web_surfer.MultimodalWebSurfer",
                    "component_type": "agent", "config": {"name": "surfer"}});
            }),
            "config.participants[1].provider: `MultimodalWebSurfer` (agent `surfer`) is not \
             supported",
        ),
        (
            error_after(|v| {
                v["config"]["participants"][0]["provider"] =
                    json!("autogen_agentchat.agents.SocietyOfMindAgent");
            }),
            "config.participants[0].provider: `SocietyOfMindAgent` (agent `writer`)",
        ),
        (
            error_after(|v| {
                v["config"]["termination_condition"]["provider"] =
                    json!("autogen_agentchat.base.AndTerminationCondition");
            }),
            "config.termination_condition.provider: `AndTerminationCondition` (stop when all 2 \
             conditions are met) cannot be expressed",
        ),
        (
            error_after(|v| v["config"]["participants"][0]["config"]["name"] = json!("the writer")),
            "config.participants[0].config.name: invalid agent name `the writer`",
        ),
        (
            error_after(|v| v["config"]["participants"][1] = agent("writer")),
            "config.participants[1].config.name: duplicate agent name `writer`",
        ),
        (
            error_after(|v| v["config"]["participants"] = json!([])),
            "config.participants: is empty",
        ),
        (
            error_after(|v| {
                v["config"]["participants"][0]["config"]
                    .as_object_mut()
                    .unwrap()
                    .remove("name");
            }),
            "config.participants[0].config.name: is missing",
        ),
        (
            error_after(|v| {
                v["config"]["participants"][0]["config"]["system_message"] = json!(3);
            }),
            "config.participants[0].config.system_message: must be a string, found a number",
        ),
        (
            error_after(|v| {
                v["config"]["termination_condition"]["config"]["conditions"][1]["config"]["max_messages"] =
                    json!(0);
            }),
            "config.termination_condition.config.conditions[1].config.max_messages: must be a \
             positive whole number, found 0",
        ),
        (
            error_after(|v| {
                v["config"]["termination_condition"]["config"]["conditions"][1] = component(
                    "autogen_agentchat.conditions.TextMentionTermination",
                    json!({"text": "DONE"}),
                );
            }),
            "config.termination_condition.config.conditions[1].config.text: a second \
             TextMentionTermination (`DONE`, besides `APPROVE`)",
        ),
        (
            error_after(|v| {
                v["config"]["termination_condition"] = component(
                    "autogen_agentchat.conditions.SourceMatchTermination",
                    json!({"sources": ["editor"]}),
                );
            }),
            "config.termination_condition: none of its conditions (SourceMatchTermination) can \
             be checked by Cadre, so the team would never end",
        ),
        (
            error_after(|v| {
                v["config"]["participants"][0]["component_type"] = json!("team");
            }),
            "config.participants[0]: a nested team (`AssistantAgent`) is not supported",
        ),
        (
            error_after(|v| {
                let participants = v["config"]["participants"].as_array_mut().unwrap();
                participants.push(user_proxy("alice"));
                participants.push(user_proxy("alice"));
            }),
            "config.participants[3].config.name: duplicate agent name `alice` (also \
             participants[2])",
        ),
        (
            error_after(|v| {
                v["config"]["participants"][0]["config"]["description"] = json!(3);
                v["config"]["participants"][0]["provider"] = json!("UserProxyAgent");
            }),
            "config.participants[0].config.description: must be a string, found a number",
        ),
        (
            error_after(|v| v["config"]["participants"] = json!([user_proxy("alice")])),
            "config.participants: has no AssistantAgent",
        ),
        (
            error_after(|v| v["component_type"] = json!("agent")),
            "component_type: `agent` is not a team",
        ),
        (
            error_after(|v| {
                v.as_object_mut().unwrap().remove("config");
            }),
            "config: is missing",
        ),
        (
            error_after(|v| {
                v["config"]["participants"][1]["config"]["model_client"]["config"]["model"] =
                    json!(["gpt-4o"]);
            }),
            "config.participants[1].config.model_client.config.model: must be a string",
        ),
        (
            error_after(|v| *v = json!({"id": "g", "components": {"teams": []}})),
            "components.teams: is empty",
        ),
        (
            error_after(|v| {
                v["config"]["max_turns"] = json!(-2);
            }),
            "config.max_turns: must be a positive whole number",
        ),
    ];
    for (message, expected) in cases {
        assert!(
            message.starts_with(expected),
            "`{message}` does not start with `{expected}`"
        );
        assert!(!message.contains('\n'), "{message}");
    }
}

#[test]
fn several_user_proxy_agents_are_several_human_agents() {
    let user_proxy = |name: &str| {
        json!({"provider": "autogen_agentchat.agents.UserProxyAgent", "component_type": "agent",
               "config": {"name": name, "description": format!("{name} decides.")}})
    };
    let mut file = json(ROUND_ROBIN);
    let participants = file["config"]["participants"].as_array_mut().unwrap();
    participants.insert(1, user_proxy("alice"));
    participants.push(user_proxy("bob"));
    let imported = import_team_value(&file).unwrap();
    let team = &imported.team;
    assert_eq!(names(team), ["writer", "alice", "editor", "bob"]);
    assert_eq!(team.speaker_selection, SpeakerSelection::RoundRobin);
    assert_eq!(team.admin_name, "User");
    let humans: Vec<&str> = team
        .agents
        .iter()
        .filter(|a| a.human_input.is_some())
        .map(|a| a.description.as_str())
        .collect();
    assert_eq!(humans, ["alice decides.", "bob decides."]);
    note(&imported, "(`alice`) is a human-driven agent");
    note(&imported, "(`bob`) is a human-driven agent");
    // The experts still share the model they had.
    assert_eq!(team.default_model.as_deref(), Some("gpt-4o"));
    assert_eq!(team.temperature, Some(0.3));
}

#[test]
fn unchecked_conditions_are_kept_and_defaults_apply_without_an_ending() {
    // OR with a condition Cadre cannot check: the rest applies, the whole is kept.
    let mut value = json(ROUND_ROBIN);
    value["config"]["termination_condition"]["config"]["conditions"]
        .as_array_mut()
        .unwrap()
        .push(component(
            "autogen_agentchat.conditions.HandoffTermination",
            json!({"target": "user"}),
        ));
    let imported = import_team_value(&value).unwrap();
    assert_eq!(imported.team.termination.max_round, Some(6));
    assert!(
        imported
            .team
            .autogen_extra
            .contains_key("termination_condition")
    );
    assert!(note(&imported, "`HandoffTermination` is kept, not used").contains("handoffs"));

    // No termination and no max_turns: Cadre's defaults, noted.
    let mut value = json(ROUND_ROBIN);
    value["config"]
        .as_object_mut()
        .unwrap()
        .remove("termination_condition");
    let imported = import_team_value(&value).unwrap();
    assert_eq!(
        imported.team.termination,
        cadre_core::team::Termination::default()
    );
    note(&imported, "Cadre's defaults apply");

    // max_turns alone: agent turns plus the task message; no text ends it.
    value["config"]["max_turns"] = json!(4);
    let team = import_team_value(&value).unwrap().team;
    assert_eq!(team.termination.max_round, Some(5));
    assert_eq!(team.termination.text_mention, None);

    // Token, timeout and external conditions.
    let mut value = json(ROUND_ROBIN);
    value["config"]["termination_condition"] = component(
        "autogen_agentchat.base.OrTerminationCondition",
        json!({"conditions": [
            component("autogen_agentchat.conditions.TokenUsageTermination",
                      json!({"max_total_token": 9000, "max_prompt_token": null,
                             "max_completion_token": null})),
            component("autogen_agentchat.conditions.TimeoutTermination",
                      json!({"timeout_seconds": 90.5})),
            component("autogen_agentchat.conditions.ExternalTermination", json!({}))
        ]}),
    );
    let imported = import_team_value(&value).unwrap();
    let termination = &imported.team.termination;
    assert_eq!(termination.max_tokens, Some(9000));
    assert_eq!(termination.timeout_secs, Some(91));
    assert_eq!(termination.text_mention, None);
    assert_eq!(termination.max_round, None);
    assert!(note(&imported, "TimeoutTermination").contains("failed"));
    note(&imported, "ExternalTermination");
}

// ---- Running imported teams -------------------------------------------------------

type Answer = Box<dyn Fn(&ChatRequest, usize) -> String + Send + Sync>;

/// A scripted model: answers through a closure given the request and the call index.
struct ScriptedModel {
    answer: Answer,
    calls: Mutex<Vec<ChatRequest>>,
}

impl ScriptedModel {
    fn new(answer: impl Fn(&ChatRequest, usize) -> String + Send + Sync + 'static) -> Arc<Self> {
        Arc::new(Self {
            answer: Box::new(answer),
            calls: Mutex::new(Vec::new()),
        })
    }
}

#[async_trait]
impl ChatModel for ScriptedModel {
    fn model_name(&self) -> &str {
        "scripted"
    }
    async fn chat(
        &self,
        request: ChatRequest,
        on_delta: DeltaSink<'_>,
        _cancel: &CancellationToken,
    ) -> Result<ChatResponse, ModelError> {
        let index = {
            let mut calls = self.calls.lock().unwrap();
            calls.push(request.clone());
            calls.len() - 1
        };
        let content = (self.answer)(&request, index);
        on_delta(&content);
        Ok(ChatResponse {
            model: request.model.clone().unwrap_or_else(|| "scripted".into()),
            content,
            tool_calls: vec![],
            usage: Usage {
                prompt_tokens: 10,
                completion_tokens: 5,
                cost_usd: None,
            },
            finish_reason: None,
        })
    }
}

/// Runs nothing; answers every block with its code, and remembers the blocks.
#[derive(Default)]
struct EchoExecutor {
    blocks: Arc<Mutex<Vec<CodeBlock>>>,
}

struct EchoWorkspace {
    blocks: Arc<Mutex<Vec<CodeBlock>>>,
}

#[async_trait]
impl CodeExecutor for EchoExecutor {
    fn info(&self) -> ExecutorInfo {
        ExecutorInfo {
            backend: "echo".into(),
            enforced: vec![],
        }
    }
    async fn open_workspace(&self, _run_id: &str) -> Result<Box<dyn CodeWorkspace>, ExecError> {
        Ok(Box::new(EchoWorkspace {
            blocks: self.blocks.clone(),
        }))
    }
}

#[async_trait]
impl CodeWorkspace for EchoWorkspace {
    async fn execute(
        &self,
        block: &CodeBlock,
        _cancel: &CancellationToken,
    ) -> Result<ExecutionResult, ExecError> {
        self.blocks.lock().unwrap().push(block.clone());
        Ok(ExecutionResult {
            exit_code: 0,
            stdout: "42\n".into(),
            stderr: String::new(),
            duration_ms: 1,
            timed_out: false,
            killed: false,
            truncated: false,
        })
    }
    async fn close(self: Box<Self>) -> Result<(), ExecError> {
        Ok(())
    }
}

/// A human who answers from a script, in order, and remembers the prompts.
struct ScriptedHuman {
    answers: Mutex<Vec<String>>,
    prompts: Mutex<Vec<String>>,
}

impl ScriptedHuman {
    fn new(answers: &[&str]) -> Arc<Self> {
        Arc::new(Self {
            answers: Mutex::new(answers.iter().rev().map(|a| a.to_string()).collect()),
            prompts: Mutex::new(Vec::new()),
        })
    }
}

#[async_trait]
impl InputSource for ScriptedHuman {
    async fn ask(&self, prompt: &str, _cancel: &CancellationToken) -> Result<String, InputError> {
        self.prompts.lock().unwrap().push(prompt.to_string());
        self.answers
            .lock()
            .unwrap()
            .pop()
            .ok_or_else(|| InputError::Unavailable("the script is over".into()))
    }
}

async fn run(
    team: TeamSpec,
    model: Arc<ScriptedModel>,
    executor: Option<Arc<dyn CodeExecutor>>,
) -> (cadre_core::RunOutcome, Vec<RunEvent>) {
    run_with_input(team, model, executor, Arc::new(NoInput)).await
}

async fn run_with_input(
    team: TeamSpec,
    model: Arc<ScriptedModel>,
    executor: Option<Arc<dyn CodeExecutor>>,
    input: Arc<dyn InputSource>,
) -> (cadre_core::RunOutcome, Vec<RunEvent>) {
    let sink = MemorySink::new();
    let ctx = RunContext {
        executor,
        input,
        ..context(model, &sink)
    };
    let outcome = execute_run(given(team, "Write about tide pools."), ctx, None)
        .await
        .unwrap();
    (outcome, sink.events())
}

fn speakers(events: &[RunEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Message { agent, .. } => Some(agent.clone()),
            _ => None,
        })
        .collect()
}

fn replying_agent(request: &ChatRequest) -> String {
    match &request.purpose {
        Purpose::AgentReply { agent } => agent.clone(),
        other => panic!("unexpected call {other:?}"),
    }
}

#[tokio::test]
async fn imported_round_robin_runs_in_order_until_the_editor_approves() {
    let team = import(ROUND_ROBIN).team;
    let model = ScriptedModel::new(|request, i| {
        let agent = replying_agent(request);
        if agent == "editor" && i == 3 {
            "Good now. APPROVE".into()
        } else {
            format!("{agent} turn {i}")
        }
    });
    let (outcome, events) = run(team, model.clone(), None).await;
    assert_eq!(outcome.status, RunStatus::Completed);
    assert_eq!(outcome.reason, StopReason::TextMention);
    assert_eq!(
        speakers(&events),
        ["User", "writer", "editor", "writer", "editor"]
    );
    // Each turn asks for the imported model, temperature and system message.
    let calls = model.calls.lock().unwrap().clone();
    assert!(calls.iter().all(|c| c.model.as_deref() == Some("gpt-4o")));
    assert!(calls.iter().all(|c| c.temperature == Some(0.3)));
    assert!(
        calls[1].messages[0]
            .content
            .starts_with("You edit blog posts.")
    );
}

#[tokio::test]
async fn imported_round_robin_stops_at_max_messages_counting_the_task() {
    let team = import(ROUND_ROBIN).team;
    let model = ScriptedModel::new(|request, i| format!("{} turn {i}", replying_agent(request)));
    let (outcome, events) = run(team, model, None).await;
    assert_eq!(outcome.reason, StopReason::MaxRound);
    // MaxMessageTermination(6) in AgentChat: the task and five agent messages.
    assert_eq!(
        speakers(&events),
        ["User", "writer", "editor", "writer", "editor", "writer"]
    );
}

#[tokio::test]
async fn imported_selector_team_runs_code_and_ends_on_terminate() {
    let team = import(SELECTOR).team;
    let default_reply = HumanInput::default().default_reply;
    let selections = Arc::new(Mutex::new(Vec::new()));
    let seen = selections.clone();
    // The model picks the human first, then the coder, then the reviewer; it is never
    // asked to speak for the human (any other call panics).
    let model = ScriptedModel::new(move |request, _| match &request.purpose {
        Purpose::SelectSpeaker { candidates } => {
            let mut seen = seen.lock().unwrap();
            seen.push(candidates.clone());
            match seen.len() {
                1 => "user_proxy",
                2 => "coder",
                _ => "reviewer",
            }
            .into()
        }
        Purpose::AgentReply { agent } if agent == "coder" => "```python\nprint(6 * 7)\n```".into(),
        Purpose::AgentReply { agent } if agent == "reviewer" => {
            "The answer is 42. TERMINATE".into()
        }
        other => panic!("unexpected call {other:?}"),
    });
    let executor = Arc::new(EchoExecutor::default());
    let (outcome, events) = run(team, model, Some(executor.clone())).await;
    assert_eq!(outcome.status, RunStatus::Completed, "{outcome:?}");
    assert_eq!(outcome.reason, StopReason::TextMention);
    assert_eq!(
        speakers(&events),
        ["User", "user_proxy", "coder", "executor", "reviewer"]
    );
    // A non-interactive run cannot ask: the human agent says its default reply at once,
    // and the run says why.
    assert_eq!(messages(&events)[1].1, default_reply);
    assert!(events.iter().any(|e| matches!(
        &e.kind,
        EventKind::Log { message, .. } if message.contains("user_proxy cannot ask a human")
    )));
    // The model chose among the talking agents, the human included; the executor was
    // handed the code.
    let selections = selections.lock().unwrap().clone();
    assert_eq!(selections, vec![vec!["user_proxy", "coder", "reviewer"]; 3]);
    let blocks = executor.blocks.lock().unwrap().clone();
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].code.trim(), "print(6 * 7)");
}

#[tokio::test]
async fn imported_round_robin_alternates_the_assistant_and_the_human() {
    // RoundRobinGroupChat([writer, UserProxyAgent("User")]), MaxMessageTermination(6).
    let mut file = json(ROUND_ROBIN);
    let writer = file["config"]["participants"][0].clone();
    file["config"]["participants"] = json!([
        writer,
        {"provider": "autogen_agentchat.agents.UserProxyAgent", "component_type": "agent",
         "version": 1, "component_version": 1, "label": "UserProxyAgent",
         "config": {"name": "User", "input_func": "input"}}
    ]);
    let imported = import_team_value(&file).unwrap();
    let team = imported.team.clone();
    assert_eq!(names(&team), ["writer", "User"]);
    assert_eq!(team.speaker_selection, SpeakerSelection::RoundRobin);
    // The human agent took the default admin name, so the task is stated by `Task`.
    assert_eq!(team.admin_name, "Task");
    assert_eq!(
        note(&imported, "named like Cadre's admin"),
        "a participant is named like Cadre's admin (`User`), which states the task; the \
         admin is `Task` instead"
    );
    assert!(
        note(&imported, "human-driven").ends_with("; its input_func `input` is kept, not used")
    );
    let human = &team.agents[1];
    assert_eq!(human.description, "A human user");
    assert_eq!(human.autogen_extra["input_func"], "input");
    assert_eq!(human.human_input, Some(HumanInput::default()));

    let model = ScriptedModel::new(|request, i| format!("{} turn {i}", replying_agent(request)));
    let input = ScriptedHuman::new(&["Shorter, please.", "Now add a title."]);
    let (outcome, events) = run_with_input(team, model.clone(), None, input.clone()).await;
    assert_eq!(outcome.reason, StopReason::MaxRound);
    let expected = [
        ("Task", "Write about tide pools."),
        ("writer", "writer turn 0"),
        ("User", "Shorter, please."),
        ("writer", "writer turn 1"),
        ("User", "Now add a title."),
        ("writer", "writer turn 2"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(a, c)| (a.to_string(), c.to_string()))
        .collect();
    assert_eq!(messages(&events), expected);
    // The human was asked on each of its turns; the model only ever spoke as the writer,
    // and saw the human's answers.
    let prompts = input.prompts.lock().unwrap().clone();
    assert_eq!(prompts.len(), 2);
    assert!(
        prompts[0].starts_with("Your turn as User"),
        "{}",
        prompts[0]
    );
    let calls = model.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 3);
    assert!(
        calls[1]
            .messages
            .iter()
            .any(|m| m.content.contains("Shorter, please."))
    );
}
