//! Budgets and quotas with a real model server: a run over its `budget_usd` stops with
//! reason `cost_budget`; a user's daily spend quota caps their runs the same way and, once
//! used up, new runs are refused with 429 until midnight UTC.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use cadre_llm::config::{LlmConfig, Provider};
use cadre_llm::fake_server::{FakeOpenAi, FakeReply};
use cadre_llm::openai::OpenAiClient;
use cadre_server::quota::Quotas;
use cadre_server::worker::{FixedModel, WorkerConfig};
use common::{App, assert_error, serve, spawn};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// A model server whose every answer costs 0.002 USD and never says TERMINATE.
async fn pricey_model() -> (FakeOpenAi, FixedModel) {
    let server = FakeOpenAi::start(vec![]).await.unwrap();
    server.set_default(FakeReply::text("One more point.").usage(50, 5).cost(0.002));
    let config = LlmConfig::new(Provider::Custom, &server.base_url(), None, "m").unwrap();
    let model = FixedModel(Arc::new(OpenAiClient::new(config).unwrap()));
    (server, model)
}

fn start_worker(
    app: &App,
    model: FixedModel,
    quotas: Quotas,
) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let config = WorkerConfig {
        poll_every: Duration::from_millis(20),
        quotas,
        ..WorkerConfig::default()
    };
    app.start_worker(model, config)
}

fn body(budget: Option<f64>) -> Value {
    let team = json!({"agents": [
        {"name": "A", "system_message": "You are A."},
        {"name": "B", "system_message": "You are B."}
    ], "speaker_selection": {"method": "round_robin"}});
    let mut body = json!({"task": "Discuss", "team": team, "max_round": 12});
    if let Some(budget) = budget {
        body["budget_usd"] = json!(budget);
    }
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_over_its_budget_stops_with_that_reason() {
    let app = spawn().await;
    let (server, model) = pricey_model().await;
    let (shutdown, handle) = start_worker(&app, model, Quotas::default());
    let run = app.create_run_with(body(Some(0.005))).await;
    let event = app.finished_event(&run).await;
    assert_eq!(event["data"]["reason"], "cost_budget", "{event}");
    assert_eq!(event["data"]["status"], "completed");
    let spent = event["data"]["usage"]["cost_usd"].as_f64().unwrap();
    assert!(
        (0.005..0.0071).contains(&spent),
        "stopped at the first turn over: {spent}"
    );
    assert_eq!(server.request_count(), 3, "0.002 × 3 ≥ 0.005");
    shutdown.cancel();
    handle.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daily_spend_quota_caps_runs_then_refuses_new_ones() {
    let app = spawn().await;
    let quotas = Quotas {
        daily_tokens: None,
        daily_usd: Some(0.004),
    };
    let base = serve(app.state_with(|config| config.quotas = quotas)).await;
    let (_server, model) = pricey_model().await;
    let (shutdown, handle) = start_worker(&app, model, quotas);

    // No budget of its own: the quota's 0.004 USD is its budget.
    let response = app
        .http
        .post(format!("{base}/api/v1/runs"))
        .json(&body(None))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let run: Value = response.json().await.unwrap();
    let event = app.finished_event(run["id"].as_str().unwrap()).await;
    assert_eq!(event["data"]["reason"], "cost_budget", "{event}");

    // Used up: refused until midnight UTC.
    let response = app
        .http
        .post(format!("{base}/api/v1/runs"))
        .json(&body(None))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=86_400).contains(&retry));
    let error: Value = response.json().await.unwrap();
    assert_error(&error, "rate_limited");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("daily")
    );
    // Another user has their own quota.
    let bob = app.as_user("bob@cadre.test").await;
    let response = bob
        .http
        .post(format!("{base}/api/v1/runs"))
        .json(&body(None))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);

    shutdown.cancel();
    handle.await.unwrap();
}
