//! `POST /api/v1/runs/{id}/fork` end to end: a finished run, executed by an in-process
//! worker, is forked after one of its messages with that message edited; the fork
//! reproduces the parent's conversation up to the fork point, carries the edit, and the
//! team continues from it. Bad fork points are refused with the field named.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use cadre_llm::scripted::{ScriptedModel, ScriptedReply};
use cadre_server::worker::{FixedModel, WorkerConfig};
use common::{App, assert_error, spawn};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

fn start_worker(app: &App, model: ScriptedModel) -> CancellationToken {
    let config = WorkerConfig {
        poll_every: Duration::from_millis(20),
        ..WorkerConfig::default()
    };
    app.start_worker(FixedModel(Arc::new(model)), config).0
}

async fn fork(app: &App, id: &str, body: Value) -> (StatusCode, Value) {
    let response = app
        .http
        .post(app.url(&format!("/api/v1/runs/{id}/fork")))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

/// (type, agent, content) of the conversation events, in order.
fn conversation(events: &[Value]) -> Vec<(String, String, String)> {
    events
        .iter()
        .filter(|e| matches!(e["type"].as_str(), Some("message" | "speaker")))
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_string(),
                e["data"]["agent"].as_str().unwrap_or_default().to_string(),
                e["data"]["content"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

fn seq_of(events: &[Value], content: &str) -> u64 {
    events
        .iter()
        .find(|e| e["type"] == "message" && e["data"]["content"] == content)
        .unwrap_or_else(|| panic!("no message {content:?}: {events:#?}"))["seq"]
        .as_u64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_replays_the_conversation_to_its_point_and_continues_from_the_edit() {
    let app = spawn().await;
    let model = ScriptedModel::new(
        "scripted",
        vec![
            ScriptedReply::text("Alice: a first idea."),
            ScriptedReply::text("Bob: a weak objection."),
            ScriptedReply::text("Alice: the parent's last word."),
            ScriptedReply::text("Alice: answering the sharper objection."),
        ],
    );
    let shutdown = start_worker(&app, model);
    let id = app
        .create_run_with(json!({
            "task": "Debate the idea",
            "model": "scripted",
            "max_round": 4,
            "team": {
                "name": "pair",
                "agents": [
                    {"name": "Alice", "system_message": "You are Alice."},
                    {"name": "Bob", "system_message": "You are Bob."}
                ],
                "speaker_selection": {"method": "round_robin"}
            }
        }))
        .await;
    let parent = app.wait_for_events(&id, "finished", 1).await;
    let bob = seq_of(&parent, "Bob: a weak objection.");

    let (status, forked) = fork(
        &app,
        &id,
        json!({"after_seq": bob, "edit": "Bob: a sharper objection."}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{forked}");
    let fork_id = forked["id"].as_str().unwrap().to_string();
    assert_ne!(fork_id, id);
    assert_eq!(
        forked["forked_from"],
        json!({"run_id": id, "after_seq": bob, "edited": true})
    );
    assert_eq!(forked["task"], "Debate the idea");
    assert_eq!(forked["settings"]["model"], "scripted");
    assert_eq!(forked["settings"]["max_round"], 4);

    let events = app.wait_for_events(&fork_id, "finished", 1).await;
    // Numbered 1..n like any run's log.
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    assert_eq!(events[0]["type"], "team");
    assert_eq!(events[1]["type"], "log");
    assert_eq!(
        events[1]["data"]["message"],
        format!("Forked from run {id} after event {bob}, with Bob's message edited")
    );
    let to = |agent: &str, content: &str| {
        (
            "message".to_string(),
            agent.to_string(),
            content.to_string(),
        )
    };
    let speaker = |agent: &str| ("speaker".to_string(), agent.to_string(), String::new());
    assert_eq!(
        conversation(&events),
        vec![
            to("User", "Debate the idea"),
            speaker("Alice"),
            to("Alice", "Alice: a first idea."),
            speaker("Bob"),
            to("Bob", "Bob: a sharper objection."),
            // The team continues from the edit, not from the parent's course.
            speaker("Alice"),
            to("Alice", "Alice: answering the sharper objection."),
        ]
    );
    let (_, run) = app.get_json(&format!("/api/v1/runs/{fork_id}")).await;
    assert_eq!(run["status"], "completed");
    assert_eq!(run["summary"], "Alice: answering the sharper objection.");
    assert_eq!(run["usage"]["calls"], 1, "only the fork's own call: {run}");

    // The parent is untouched and is not a fork.
    let (_, parent_run) = app.get_json(&format!("/api/v1/runs/{id}")).await;
    assert_eq!(parent_run["forked_from"], Value::Null);
    assert_eq!(parent_run["summary"], "Alice: the parent's last word.");
    assert_eq!(
        app.wait_for_events(&id, "finished", 1).await.len(),
        parent.len()
    );
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_fork_points_are_refused_with_the_field_named() {
    let app = spawn().await;
    let shutdown = start_worker(
        &app,
        ScriptedModel::new("scripted", vec![ScriptedReply::text("Only Alice.")]),
    );
    let id = app
        .create_run_with(json!({
            "task": "Speak once",
            "model": "scripted",
            "max_round": 2,
            "team": {"name": "solo", "agents": [{"name": "Alice", "system_message": "You are Alice."}]}
        }))
        .await;
    let events = app.wait_for_events(&id, "finished", 1).await;
    let task = seq_of(&events, "Speak once");
    let speaker = events.iter().find(|e| e["type"] == "speaker").unwrap()["seq"]
        .as_u64()
        .unwrap();
    let last = events.last().unwrap()["seq"].as_u64().unwrap();

    for (body, field) in [
        (json!({"after_seq": task - 1}), "after_seq"),
        (json!({"after_seq": last + 1}), "after_seq"),
        (json!({"after_seq": speaker, "edit": "words"}), "edit"),
        (json!({"after_seq": task, "edit": "   "}), "edit"),
    ] {
        let (status, answer) = fork(&app, &id, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        assert_error(&answer, "validation_failed");
        assert_eq!(
            answer["error"]["details"]["fields"][0]["field"], field,
            "{answer}"
        );
    }
    let (status, answer) = fork(&app, &id, json!({"after_seq": task, "why": 1})).await;
    assert!(status.is_client_error(), "{answer}");
    // Another user's run is missing, not forbidden.
    let mallory = app.as_user("mallory@cadre.test").await;
    let (status, answer) = fork(&mallory, &id, json!({"after_seq": task})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    // Nothing was created by the refused requests.
    let (_, runs) = app.get_json("/api/v1/runs").await;
    assert_eq!(runs["runs"].as_array().unwrap().len(), 1, "{runs}");
    // Editing the task itself reruns the team on the new task.
    let (status, forked) = fork(&app, &id, json!({"after_seq": task, "edit": "Speak twice"})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{forked}");
    assert_eq!(forked["task"], "Speak twice");
    shutdown.cancel();
}
