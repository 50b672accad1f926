//! `POST /api/v1/runs/{id}/input` end to end: a run with manual speaker selection,
//! executed by an in-process worker, waits for a human; answers posted over HTTP pick the
//! speakers; bad answers are refused with clear 4xx errors.

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

async fn post_input(app: &App, id: &str, body: Value) -> (StatusCode, Value) {
    let response = app
        .http
        .post(app.url(&format!("/api/v1/runs/{id}/input")))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

/// Alice and Bob, speakers chosen automatically.
fn pair_team() -> Value {
    json!({
        "name": "pair",
        "agents": [
            {"name": "Alice", "system_message": "You are Alice."},
            {"name": "Bob", "system_message": "You are Bob."}
        ]
    })
}

/// An in-process worker playing `model`; cancel the token to stop it.
fn start_worker(
    app: &App,
    model: ScriptedModel,
) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let config = WorkerConfig {
        poll_every: Duration::from_millis(20),
        input_poll_every: Duration::from_millis(50),
        ..WorkerConfig::default()
    };
    app.start_worker(FixedModel(Arc::new(model)), config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_can_override_the_teams_speaker_selection() {
    let app = spawn().await;
    let model = ScriptedModel::new("scripted", vec![ScriptedReply::text("Bob speaking.")]);
    let (shutdown, handle) = start_worker(&app, model);
    let team = pair_team();
    let refused = app
        .http
        .post(app.url("/api/v1/runs"))
        .json(&json!({"task": "Say hello", "team": team, "speaker_selection": "loudest"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = refused.json().await.unwrap();
    assert_error(&body, "validation_failed");
    assert!(body.to_string().contains("round_robin"), "{body}");

    let id = app
        .create_run_with(json!({
            "task": "Say hello", "team": team, "max_round": 2, "speaker_selection": "manual"
        }))
        .await;
    // The team says nothing of speakers (auto); the override makes a human pick.
    app.wait_for_events(&id, "input_request", 1).await;
    let (status, body) = post_input(&app, &id, json!({"content": "Bob"})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let all = app.wait_for_events(&id, "finished", 1).await;
    assert!(
        all.iter()
            .any(|e| e["type"] == "message" && e["data"]["content"] == "Bob speaking."),
        "{all:#?}"
    );
    shutdown.cancel();
    handle.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_human_picks_the_speakers_over_http() {
    let app = spawn().await;
    let model = ScriptedModel::new(
        "scripted",
        vec![
            ScriptedReply::text("Bob speaking."),
            ScriptedReply::text("Alice speaking."),
        ],
    );
    let (shutdown, handle) = start_worker(&app, model);

    let mut team = pair_team();
    team["speaker_selection"] = json!({"method": "manual"});
    let response = app
        .http
        .post(app.url("/api/v1/runs"))
        .json(&json!({"task": "Say hello", "team": team, "max_round": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let run: Value = response.json().await.unwrap();
    let id = run["id"].as_str().unwrap().to_string();

    let waiting = app.wait_for_events(&id, "input_request", 1).await;
    let request = waiting
        .iter()
        .find(|e| e["type"] == "input_request")
        .unwrap();
    let prompt = request["data"]["prompt"].as_str().unwrap();
    assert!(
        prompt.contains("1. Alice") && prompt.contains("2. Bob"),
        "{prompt}"
    );
    // The candidates, for a UI to offer as buttons.
    assert_eq!(request["data"]["options"], json!(["Alice", "Bob"]));
    let (_, run) = app.get_json(&format!("/api/v1/runs/{id}")).await;
    assert_eq!(run["status"], "waiting_input");

    // Bad answers: refused, and the run keeps waiting.
    let (status, body) = post_input(&app, &id, json!({"content": "   "})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "validation_failed");
    let (status, body) = post_input(&app, &id, json!({"content": "x".repeat(17 * 1024)})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = post_input(&app, &id, json!({"content": "1", "extra": 1})).await;
    assert!(status.is_client_error(), "{status} {body}");
    let (status, body) = post_input(
        &app,
        "00000000-0000-0000-0000-000000000000",
        json!({"content": "1"}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = post_input(&app, "not-a-uuid", json!({"content": "1"})).await;
    assert!(status.is_client_error());

    // By number, then by name.
    let (status, body) = post_input(&app, &id, json!({"content": "2"})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    app.wait_for_events(&id, "input_request", 2).await;
    let (status, body) = post_input(&app, &id, json!({"content": "alice"})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");

    let all = app.wait_for_events(&id, "finished", 1).await;
    let inputs: Vec<&str> = all
        .iter()
        .filter(|e| e["type"] == "input")
        .map(|e| e["data"]["content"].as_str().unwrap())
        .collect();
    assert_eq!(inputs, ["2", "alice"]);
    let speakers: Vec<(&str, &str)> = all
        .iter()
        .filter(|e| e["type"] == "speaker")
        .map(|e| {
            (
                e["data"]["agent"].as_str().unwrap(),
                e["data"]["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(speakers, [("Bob", "manual"), ("Alice", "manual")]);
    let messages: Vec<&str> = all
        .iter()
        .filter(|e| e["type"] == "message")
        .map(|e| e["data"]["agent"].as_str().unwrap())
        .collect();
    assert_eq!(messages[1..], ["Bob", "Alice"]);
    let seqs: Vec<u64> = all.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=all.len() as u64).collect::<Vec<_>>());

    // A finished run takes no answer.
    let (_, run) = app.get_json(&format!("/api/v1/runs/{id}")).await;
    assert_eq!(run["status"], "completed");
    let (status, body) = post_input(&app, &id, json!({"content": "1"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_error(&body, "conflict");

    shutdown.cancel();
    handle.await.unwrap();
}

/// Alice (the model) and Reviewer (a human), in turns.
fn human_team(timeout_secs: u64) -> Value {
    json!({
        "name": "reviewed",
        "agents": [
            {"name": "Alice", "system_message": "You are Alice."},
            {"name": "Reviewer", "system_message": "The user.", "description": "The human reviewer",
             "human_input": {"timeout_secs": timeout_secs, "default_reply": "No comment."}}
        ],
        "speaker_selection": {"method": "round_robin"}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_human_driven_agent_speaks_with_the_answer_posted_over_http() {
    let app = spawn().await;
    let model = ScriptedModel::new("scripted", vec![ScriptedReply::text("Alice drafts.")]);
    let (shutdown, handle) = start_worker(&app, model);
    let id = app
        .create_run_with(
            json!({"task": "Draft and review", "team": human_team(60), "max_round": 3}),
        )
        .await;
    let waiting = app.wait_for_events(&id, "input_request", 1).await;
    let request = waiting
        .iter()
        .find(|e| e["type"] == "input_request")
        .unwrap();
    assert_eq!(request["data"]["agent"], "Reviewer");
    assert_eq!(request["data"]["timeout_secs"], 60);
    assert_eq!(request["data"]["default"], "No comment.");
    let (_, run) = app.get_json(&format!("/api/v1/runs/{id}")).await;
    assert_eq!(run["status"], "waiting_input");
    let (status, body) = post_input(&app, &id, json!({"content": "Approved."})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let events = app.wait_for_events(&id, "finished", 1).await;
    let said: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e["type"] == "message")
        .map(|e| {
            (
                e["data"]["agent"].as_str().unwrap(),
                e["data"]["content"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        said,
        vec![
            ("User", "Draft and review"),
            ("Alice", "Alice drafts."),
            ("Reviewer", "Approved.")
        ]
    );
    shutdown.cancel();
    handle.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_human_driven_agent_without_an_answer_says_its_default_reply() {
    let app = spawn().await;
    let model = ScriptedModel::new("scripted", vec![ScriptedReply::text("Alice drafts.")]);
    let (shutdown, handle) = start_worker(&app, model);
    let id = app
        .create_run_with(json!({"task": "Draft and review", "team": human_team(1), "max_round": 3}))
        .await;
    let events = app.wait_for_events(&id, "finished", 1).await;
    let reviewer = events
        .iter()
        .find(|e| e["type"] == "message" && e["data"]["agent"] == "Reviewer")
        .unwrap();
    assert_eq!(reviewer["data"]["content"], "No comment.");
    // An answer that comes after the default was taken is refused, not kept for later.
    let (status, body) = post_input(&app, &id, json!({"content": "Too late"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    shutdown.cancel();
    handle.await.unwrap();
}
