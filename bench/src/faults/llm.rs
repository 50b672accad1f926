//! The `llm` scenario: the deployment's workers talk to a local OpenAI-compatible server
//! (the `FakeOpenAi` of `cadre-llm`, a real HTTP server speaking the streaming protocol)
//! that misbehaves in phases while runs are going: it cuts streams mid-reply, then stalls
//! streams mid-reply, then answers with an HTML page instead of a completion (each
//! request the first time it is sent), then refuses everything with 429 for a minute.
//! Each run's team (two agents, round robin) must still finish with exactly the messages
//! a run against a well-behaved server has: the replies are a function of the
//! conversation, so a lost, repeated or garbled turn shows.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use cadre_llm::fake_server::{FakeOpenAi, FakeReply};
use serde_json::{Value, json};

use super::client::Client;
use super::{Deployment, FaultFigures, Load, drive_with, reference_run, verify};

const NORMAL: u8 = 0;
const CUT: u8 = 1;
const STALL: u8 = 2;
const GARBAGE: u8 = 3;
const RATE_LIMITED: u8 = 4;

/// How long each misbehaviour lasts; the rate limit lasts a minute.
const PHASE: Duration = Duration::from_secs(10);
const RATE_LIMIT: Duration = Duration::from_secs(60);

/// The reply to a conversation: who speaks (from the system message) and how far the
/// chat has come decide it, so it is the same however often it is asked.
fn reply_for(request: &Value) -> String {
    let messages = request["messages"].as_array().cloned().unwrap_or_default();
    let system = messages
        .first()
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default();
    let agent = if system.starts_with("You are Planner") {
        "Planner"
    } else {
        "Critic"
    };
    let turn = messages.len();
    let body = "the plan holds if each step is checked against the goal before the next \
                one starts and every assumption is written down where the team can see it";
    if turn >= 6 {
        format!("{agent} on turn {turn}: {body}. TERMINATE")
    } else {
        format!("{agent} on turn {turn}: {body}.")
    }
}

fn half(text: &str) -> String {
    let words: Vec<&str> = text.split(' ').collect();
    words[..words.len() / 2].join(" ")
}

fn team_run() -> Value {
    json!({
        "task": "Agree on a plan",
        "model": "fake-model",
        "max_round": 12,
        "team": {
            "agents": [
                {"name": "Planner", "system_message": "You are Planner."},
                {"name": "Critic", "system_message": "You are Critic."}
            ],
            "speaker_selection": {"method": "round_robin"},
            "code_execution": {"enabled": false}
        }
    })
}

pub async fn llm(binary: &std::path::PathBuf) -> anyhow::Result<FaultFigures> {
    let server = FakeOpenAi::start(vec![]).await?;
    let mode = Arc::new(AtomicU8::new(NORMAL));
    // Each distinct request misbehaves the first time it is sent and is answered when it
    // is asked again: every turn meets the fault once, and the figures show whether the
    // retries get every run through.
    let seen = Arc::new(Mutex::new(HashSet::<String>::new()));
    {
        let (mode, seen) = (mode.clone(), seen.clone());
        server.set_responder(move |request| {
            let text = reply_for(request);
            let first_time = seen
                .lock()
                .map(|mut seen| seen.insert(request["messages"].to_string()))
                .unwrap_or(false);
            let reply = FakeReply::text(text.clone()).chunk_delay(Duration::from_millis(30));
            match mode.load(Ordering::Relaxed) {
                CUT if first_time => FakeReply::text(half(&text))
                    .chunk_delay(Duration::from_millis(30))
                    .then_drop(),
                STALL if first_time => FakeReply::text(half(&text))
                    .chunk_delay(Duration::from_millis(30))
                    .then_hang(),
                GARBAGE if first_time => {
                    FakeReply::status(200, "<html><body><h1>502 Bad Gateway</h1></body></html>")
                }
                RATE_LIMITED => FakeReply::status(
                    429,
                    r#"{"error": {"message": "Rate limit reached for requests per minute", "type": "requests"}}"#,
                )
                .retry_after(5),
                _ => reply,
            }
        });
    }
    let mut deployment = Deployment::start_with(
        binary,
        &[
            ("CADRE_LLM_BASE_URL", server.base_url()),
            ("CADRE_LLM_API_KEY", "sk-fault-scenario-key".into()),
            ("CADRE_LLM_MODEL", "fake-model".into()),
            ("CADRE_LLM_IDLE_TIMEOUT_SECS", "2".into()),
            ("CADRE_LLM_RATE_LIMIT_BUDGET_SECS", "120".into()),
        ],
    )
    .await?;
    let bases = deployment.bases.clone();
    let client = Client::login(&bases[0]).await?;
    let mut figures = FaultFigures {
        scenario: "llm",
        ..FaultFigures::default()
    };
    let (reference, reference_pause) = reference_run(&client, &bases, team_run).await?;
    figures.reference_pause = reference_pause;

    let started = Instant::now();
    // Enough runs to span every phase (about 6 s each at this pace).
    let load = Load {
        runs: 80,
        in_flight: 8,
        followers: 1,
        until: None,
    };
    let driving = tokio::spawn(drive_with(client.clone(), bases.clone(), load, team_run));
    tokio::time::sleep(Duration::from_secs(2)).await;
    for (phase, length) in [
        (CUT, PHASE),
        (STALL, PHASE),
        (GARBAGE, PHASE),
        (RATE_LIMITED, RATE_LIMIT),
    ] {
        mode.store(phase, Ordering::Relaxed);
        figures.faults += 1;
        tokio::time::sleep(length).await;
    }
    mode.store(NORMAL, Ordering::Relaxed);
    let outcome = driving.await.context("load task")??;
    figures.wall = started.elapsed();
    figures.crashed = deployment.crashed();
    verify(&client, &bases, &reference, &outcome, &mut figures).await?;
    Ok(figures)
}
