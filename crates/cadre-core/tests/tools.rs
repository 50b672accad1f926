//! Agents calling tools through the group chat, with a fake model (the LLM boundary)
//! and a fake toolbox (the MCP boundary; `cadre-mcp` has the tests against real
//! servers): allowed calls made and fed back, calls outside the allowlist refused and
//! never made, malformed arguments, the per-turn round limit, and what the other agents
//! see.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use cadre_core::event::{EventKind, LogLevel, MemorySink, RunEvent};
use cadre_core::groupchat::RunContext;
use cadre_core::model::{
    ChatModel, ChatRequest, ChatResponse, DeltaSink, ModelError, ToolCall, Usage,
};
use cadre_core::run::execute_run;
use cadre_core::team::{AgentSpec, SpeakerSelection, TeamSpec};
use cadre_core::tool::{MAX_TOOL_ROUNDS, ToolBox, ToolError, ToolInfo, ToolListing, ToolOutput};
use cadre_core::{Role, RunStatus};
use common::{context, given, messages};
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

type Respond = Box<dyn Fn(&ChatRequest, usize) -> ChatResponse + Send + Sync>;

/// Answers each call through a closure given the request and the call's index.
struct Model {
    respond: Respond,
    calls: Mutex<Vec<ChatRequest>>,
}

impl Model {
    fn new(
        respond: impl Fn(&ChatRequest, usize) -> ChatResponse + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(Self {
            respond: Box::new(respond),
            calls: Mutex::new(Vec::new()),
        })
    }
    fn calls(&self) -> Vec<ChatRequest> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait]
impl ChatModel for Model {
    fn model_name(&self) -> &str {
        "fake"
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
        let response = (self.respond)(&request, index);
        if !response.content.is_empty() {
            on_delta(&response.content);
        }
        Ok(response)
    }
}

fn text(content: &str) -> ChatResponse {
    ChatResponse {
        model: "fake".into(),
        content: content.into(),
        tool_calls: Vec::new(),
        usage: Usage {
            prompt_tokens: 10,
            completion_tokens: 5,
            cost_usd: None,
        },
        finish_reason: Some("stop".into()),
    }
}

fn calls(content: &str, calls: &[(&str, &str, &str)]) -> ChatResponse {
    let mut response = text(content);
    response.tool_calls = calls
        .iter()
        .map(|(id, name, arguments)| ToolCall {
            id: (*id).into(),
            name: (*name).into(),
            arguments: (*arguments).into(),
        })
        .collect();
    response.finish_reason = Some("tool_calls".into());
    response
}

/// A calculator server with a dangerous tool; records every call it executes.
#[derive(Default)]
struct Calc {
    executed: Mutex<Vec<(String, Map<String, Value>)>>,
}

#[async_trait]
impl ToolBox for Calc {
    async fn tools(&self) -> ToolListing {
        let tool = |name: &str, description: &str| ToolInfo {
            name: name.into(),
            description: description.into(),
            parameters: json!({"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}}),
        };
        ToolListing {
            tools: vec![
                tool("calc.add", "Adds a and b"),
                tool("calc.wipe_disk", "Erases the disk"),
            ],
            unavailable: vec![ToolError::Unavailable {
                server: "weather".into(),
                message: "connection refused".into(),
            }],
        }
    }
    async fn call(
        &self,
        name: &str,
        arguments: Map<String, Value>,
        _cancel: &CancellationToken,
    ) -> Result<ToolOutput, ToolError> {
        self.executed
            .lock()
            .unwrap()
            .push((name.to_string(), arguments.clone()));
        match name {
            "calc.add" => Ok(ToolOutput {
                content: (arguments["a"].as_i64().unwrap() + arguments["b"].as_i64().unwrap())
                    .to_string(),
                is_error: false,
            }),
            other => Ok(ToolOutput {
                content: format!("{other} ran"),
                is_error: false,
            }),
        }
    }
}

fn team(tools: &[&str]) -> TeamSpec {
    let mut analyst = AgentSpec::new("Analyst", "You compute.", "Computes");
    analyst.tools = tools.iter().map(|t| (*t).to_string()).collect();
    let critic = AgentSpec::new("Critic", "You check.", "Checks");
    let mut team = TeamSpec::new("calc team", vec![analyst, critic]);
    team.speaker_selection = SpeakerSelection::RoundRobin;
    team.termination.max_round = Some(3);
    team
}

async fn run(
    team: TeamSpec,
    model: Arc<Model>,
    tools: Option<Arc<dyn ToolBox>>,
) -> (RunStatus, Vec<RunEvent>) {
    let sink = MemorySink::new();
    let ctx = RunContext {
        tools,
        ..context(model, &sink)
    };
    let outcome = execute_run(given(team, "What is 2 + 3?"), ctx, None)
        .await
        .unwrap();
    (outcome.status, sink.events())
}

fn warnings(events: &[RunEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Log {
                level: LogLevel::Warn,
                message,
            } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn an_allowed_tool_is_called_and_a_tool_off_the_allowlist_is_refused() {
    let model = Model::new(|request, index| match index {
        0 => calls(
            "Let me compute.",
            &[
                ("c1", "calc__add", r#"{"a": 2, "b": 3}"#),
                ("c2", "calc__wipe_disk", "{}"),
            ],
        ),
        1 => {
            // The results came back, answering the calls by id.
            let tool_messages: Vec<_> = request
                .messages
                .iter()
                .filter(|m| m.role == Role::Tool)
                .collect();
            assert_eq!(tool_messages.len(), 2);
            assert_eq!(tool_messages[0].tool_call_id.as_deref(), Some("c1"));
            assert_eq!(tool_messages[0].content, "5");
            assert!(tool_messages[1].content.starts_with("Refused"));
            text("The sum is 5. TERMINATE")
        }
        _ => text("unexpected"),
    });
    let calc = Arc::new(Calc::default());
    let (status, events) = run(team(&["calc.add"]), model.clone(), Some(calc.clone())).await;
    assert_eq!(status, RunStatus::Completed);

    // Only the allowed tool was offered, under its wire name, with its schema.
    let first = &model.calls()[0];
    let offered: Vec<&str> = first.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(offered, vec!["calc__add"]);
    assert_eq!(
        first.tools[0].parameters["properties"]["a"]["type"],
        "integer"
    );

    // The refused tool never ran.
    let executed = calc.executed.lock().unwrap().clone();
    assert_eq!(executed.len(), 1);
    assert_eq!(executed[0].0, "calc.add");

    let tool_events: Vec<Value> = events
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                EventKind::ToolCall { .. } | EventKind::ToolResult { .. }
            )
        })
        .map(|e| serde_json::to_value(e).unwrap())
        .collect();
    assert_eq!(tool_events.len(), 4);
    assert_eq!(tool_events[0]["type"], "tool_call");
    assert_eq!(tool_events[0]["data"]["tool"], "calc.add");
    assert_eq!(tool_events[0]["data"]["arguments"], json!({"a": 2, "b": 3}));
    assert_eq!(tool_events[1]["type"], "tool_result");
    assert_eq!(tool_events[1]["data"]["content"], "5");
    assert_eq!(tool_events[1]["data"]["is_error"], false);
    assert!(tool_events[1]["data"].get("refused").is_none());
    assert_eq!(tool_events[2]["data"]["tool"], "calc__wipe_disk");
    assert_eq!(tool_events[3]["data"]["refused"], true);
    assert_eq!(tool_events[3]["data"]["is_error"], true);
    assert!(
        tool_events[3]["data"]["content"]
            .as_str()
            .unwrap()
            .contains("Tools you may call: calc.add."),
        "{}",
        tool_events[3]
    );
    // Tool events belong to the turn's message.
    let message_id = events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::Message {
                agent, message_id, ..
            } if agent == "Analyst" => Some(message_id.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(tool_events[0]["data"]["message_id"], message_id.as_str());

    // The turn's text is what both rounds said; the other agents see that.
    assert_eq!(
        messages(&events)[1],
        (
            "Analyst".to_string(),
            "Let me compute.\n\nThe sum is 5. TERMINATE".to_string()
        )
    );
    // The unreachable server is not one the Analyst may use: no warning about it.
    assert!(warnings(&events).is_empty(), "{:?}", warnings(&events));
    // Both model calls are accounted.
    let usage_events = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Usage { .. }))
        .count();
    assert_eq!(usage_events, 2);
}

#[tokio::test]
async fn agents_without_tools_are_offered_none_and_missing_servers_are_said_once() {
    let model = Model::new(|_, index| match index {
        0..=2 => text("thinking"),
        _ => text("TERMINATE"),
    });
    let mut team = team(&["calc.add", "weather.*"]);
    team.termination.max_round = Some(4);
    let (status, events) = run(team.clone(), model.clone(), None).await;
    assert_eq!(status, RunStatus::Completed);
    assert!(model.calls().iter().all(|call| call.tools.is_empty()));
    let said = warnings(&events);
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(said[0].contains("no MCP servers configured"), "{said:?}");

    // With the toolbox, a server the agent relies on being down is said.
    let model = Model::new(|_, _| text("TERMINATE"));
    let (_, events) = run(team, model, Some(Arc::new(Calc::default()))).await;
    let said = warnings(&events);
    assert!(
        said.iter()
            .any(|w| w.contains("tool server weather is unavailable: connection refused")),
        "{said:?}"
    );
}

#[tokio::test]
async fn malformed_arguments_are_returned_to_the_model_without_a_call() {
    let model = Model::new(|request, index| match index {
        0 => calls("", &[("", "calc__add", "{\"a\": 2,")]),
        1 => {
            let last = request.messages.last().unwrap();
            assert_eq!(last.role, Role::Tool);
            // Providers that omit ids get one, so the result still matches its call.
            assert_eq!(last.tool_call_id.as_deref(), Some("call_1_0"));
            assert!(
                last.content.contains("must be a JSON object"),
                "{}",
                last.content
            );
            calls("", &[("c2", "calc__add", r#"{"a": 1, "b": 1}"#)])
        }
        // No text at all after the tools: the others still learn the result.
        _ => text(""),
    });
    let calc = Arc::new(Calc::default());
    let mut team = team(&["calc.*"]);
    team.termination.max_round = Some(2);
    let (_, events) = run(team, model, Some(calc.clone())).await;
    assert_eq!(calc.executed.lock().unwrap().len(), 1);
    let results: Vec<(bool, bool)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ToolResult {
                is_error, refused, ..
            } => Some((*is_error, *refused)),
            _ => None,
        })
        .collect();
    assert_eq!(results, vec![(true, false), (false, false)]);
    let raw = events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::ToolCall { arguments, .. } => Some(arguments.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(raw, Value::String("{\"a\": 2,".into()));
    let said = messages(&events);
    assert_eq!(said[1].0, "Analyst");
    assert!(said[1].1.contains("must be a JSON object"), "{said:?}");
    assert!(said[1].1.ends_with("\n2"), "{said:?}");
}

#[tokio::test]
async fn a_model_that_never_stops_calling_tools_is_cut_off() {
    let model = Model::new(|_, _| calls("", &[("c", "calc__add", r#"{"a": 1, "b": 2}"#)]));
    let calc = Arc::new(Calc::default());
    let mut team = team(&["calc.add"]);
    team.termination.max_round = Some(2);
    let (status, events) = run(team, model.clone(), Some(calc.clone())).await;
    assert_eq!(status, RunStatus::Completed);
    assert_eq!(calc.executed.lock().unwrap().len(), MAX_TOOL_ROUNDS);
    // The rounds made, one refused round, one more model call, then the turn ends.
    assert_eq!(model.calls().len(), MAX_TOOL_ROUNDS + 2);
    let refused = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::ToolResult { refused: true, .. }))
        .count();
    assert_eq!(refused, 1);
    assert!(
        warnings(&events)
            .iter()
            .any(|w| w.contains("kept calling tools")),
        "{:?}",
        warnings(&events)
    );
}

#[tokio::test]
async fn an_agent_sees_its_own_earlier_tool_calls_and_the_others_only_its_text() {
    // Analyst, Critic, Analyst: the Analyst's second turn carries its first turn's
    // call and result; the Critic's request has no tool messages.
    let model = Model::new(|request, index| match index {
        0 => calls("", &[("c1", "calc__add", r#"{"a": 2, "b": 3}"#)]),
        1 => text("The sum is 5."),
        2 => {
            assert!(
                request
                    .messages
                    .iter()
                    .all(|m| m.role != Role::Tool && m.tool_calls.is_empty())
            );
            text("Looks right.")
        }
        _ => {
            let roles: Vec<Role> = request.messages.iter().map(|m| m.role).collect();
            assert_eq!(
                roles,
                vec![
                    Role::System,
                    Role::User,
                    Role::Assistant,
                    Role::Tool,
                    Role::Assistant,
                    Role::User
                ],
                "{:?}",
                request.messages
            );
            assert_eq!(request.messages[2].tool_calls[0].id, "c1");
            assert_eq!(request.messages[3].content, "5");
            assert_eq!(request.messages[4].content, "The sum is 5.");
            text("Agreed. TERMINATE")
        }
    });
    let mut team = team(&["calc.add"]);
    team.termination.max_round = Some(5);
    let (status, _) = run(team, model.clone(), Some(Arc::new(Calc::default()))).await;
    assert_eq!(status, RunStatus::Completed);
    assert_eq!(model.calls().len(), 4);
}

#[test]
fn teams_with_malformed_allowlists_are_rejected() {
    let mut bad = team(&["add"]);
    assert!(bad.validate().unwrap_err().to_string().contains("`add`"));
    bad.agents[0].tools = vec!["calc.*".into(), "*".into(), "files.read_file".into()];
    bad.validate().unwrap();
}
