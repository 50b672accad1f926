//! Users' provider keys: write-only over the API (only a mask ever comes back), sealed at
//! rest (the key is nowhere in the SQLite files), used by the worker for the owner's runs
//! only (the model server sees `Authorization: Bearer <key>`), absent from events and
//! logs, and still working after the server key is rotated.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use cadre_llm::fake_server::{FakeOpenAi, FakeReply};
use cadre_server::auth::credentials::rotate_all;
use cadre_server::auth::sealing::SecretBox;
use cadre_server::worker::{EnvModels, NO_USER_KEY, Worker, WorkerConfig};
use common::{App, spawn, test_auth};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const KEY: &str = "sk-test-S3CRET-provider-key-0123456789abcd";

async fn put(app: &App, provider: &str, body: Value) -> (StatusCode, Value) {
    let response = app
        .http
        .put(app.url(&format!("/api/v1/me/providers/{provider}")))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(!text.contains(KEY), "the key came back: {text}");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Everything the SQLite database holds on disk (file and WAL).
fn database_bytes(app: &App) -> Vec<u8> {
    let dir = app._dir.as_ref().unwrap().path();
    let mut bytes = Vec::new();
    for name in ["cadre.db", "cadre.db-wal"] {
        if let Ok(data) = std::fs::read(dir.join(name)) {
            bytes.extend(data);
        }
    }
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_write_only_and_sealed_at_rest() {
    let app = spawn().await;
    let (status, view) = put(
        &app,
        "openai",
        json!({"api_key": KEY, "default_model": "gpt-4o-mini"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(view["api_key"], "…abcd");
    assert_eq!(view["default_model"], "gpt-4o-mini");
    let (status, _) = put(&app, "openai", json!({"api_key": KEY})).await;
    assert_eq!(status, StatusCode::OK, "replaced");

    for path in ["/api/v1/me/providers", "/api/v1/me/providers/openai"] {
        let text = app
            .http
            .get(app.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!text.contains(KEY) && text.contains("…abcd"), "{text}");
    }
    let (status, _) = put(&app, "custom", json!({"api_key": KEY})).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "custom needs a base URL"
    );
    let (status, body) = put(
        &app,
        "custom",
        json!({"api_key": "has spaces in it", "base_url": "ftp://x"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body["error"]["details"]["fields"].as_array().unwrap().len(),
        2
    );
    let (status, _) = put(&app, "anthropic-direct", json!({"api_key": KEY})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Not another user's to see or delete.
    let bob = app.as_user("bob@cadre.test").await;
    let (_, list) = bob.get_json("/api/v1/me/providers").await;
    assert_eq!(list, json!([]));
    let response = bob
        .http
        .delete(bob.url("/api/v1/me/providers/openai"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    // Nowhere in clear on disk.
    let bytes = database_bytes(&app);
    assert!(!bytes.is_empty());
    assert!(
        !contains(&bytes, KEY),
        "the key is in the database file in clear"
    );
    assert!(!contains(&bytes, "S3CRET"));

    let response = app
        .http
        .delete(app.url("/api/v1/me/providers/openai"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (status, _) = app.get_json("/api/v1/me/providers/openai").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let events = app.audit_events(50).await;
    for expected in [
        "credential_created",
        "credential_changed",
        "credential_deleted",
    ] {
        assert!(
            events.iter().any(|e| e == expected),
            "{expected}: {events:?}"
        );
    }
}

// One thread, so that the log subscriber set for it sees the worker's and API's logs.
#[tokio::test(flavor = "current_thread")]
async fn the_worker_uses_the_owners_key_and_never_shows_it() {
    let logs = common::CapturedLogs::start();

    let app = spawn().await;
    let server = FakeOpenAi::start(vec![]).await.unwrap();
    server.set_default(FakeReply::text("Done. TERMINATE").usage(10, 2));
    let (status, _) = put(
        &app,
        "custom",
        json!({"api_key": KEY, "base_url": server.base_url(), "default_model": "local-model"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    // The server keeps no key of its own for others.
    let models = EnvModels {
        share_server_key: false,
        ..EnvModels::default()
    };
    let config = WorkerConfig {
        poll_every: Duration::from_millis(20),
        ..WorkerConfig::default()
    };
    let worker = Worker::new(
        app.store.clone(),
        app.bus.clone(),
        Arc::new(models),
        None,
        config,
    )
    .with_sealer(test_auth().sealer);
    let shutdown = CancellationToken::new();
    let handle = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { worker.run(shutdown).await }
    });

    let team = json!({"agents": [{"name": "Solo", "system_message": "You answer."}],
                      "speaker_selection": {"method": "round_robin"}});
    let run = app
        .create_run_with(json!({"task": "Say done", "team": team, "max_round": 2}))
        .await;
    let events = app.wait_for_events(&run, "finished", 1).await;
    let finished = events.iter().find(|e| e["type"] == "finished").unwrap();
    assert_eq!(finished["data"]["status"], "completed", "{events:#?}");
    let received = server.received();
    assert!(!received.is_empty());
    for request in &received {
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {KEY}").as_str())
        );
        assert_eq!(request.body["model"], "local-model");
    }
    let all_events = serde_json::to_string(&events).unwrap();
    assert!(!all_events.contains(KEY));

    // Bob has no key and the server shares none: his run fails, saying what to do.
    let bob = app.as_user("bob@cadre.test").await;
    let run = bob
        .create_run_with(json!({"task": "Say done", "team": team, "max_round": 2}))
        .await;
    let events = bob.wait_for_events(&run, "finished", 1).await;
    let error = events.iter().find(|e| e["type"] == "error").unwrap();
    assert_eq!(error["data"]["message"], NO_USER_KEY);
    assert_eq!(
        received.len(),
        server.received().len(),
        "bob's run never used Ada's key"
    );

    shutdown.cancel();
    handle.await.unwrap();
    let logs = logs.text();
    assert!(!logs.is_empty(), "the subscriber captured the run's logs");
    assert!(!logs.contains(KEY), "the key is in a log line");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_survive_a_rotation_of_the_server_secret() {
    let app = spawn().await;
    put(&app, "openrouter", json!({"api_key": KEY})).await;
    let old = test_auth().sealer;
    let new = SecretBox::from_secret(b"the rotated server secret, also 32+ bytes");
    let before = app.store.all_credentials().await.unwrap();
    assert_eq!(rotate_all(app.store.as_ref(), &old, &new).await.unwrap(), 1);
    let after = app.store.all_credentials().await.unwrap();
    assert_eq!(after[0].key_id, new.key_id());
    assert_ne!(after[0].ciphertext, before[0].ciphertext);
    let opened = cadre_server::auth::credentials::open(&new, &after[0]).unwrap();
    assert_eq!(opened.api_key.expose(), KEY);
    assert!(cadre_server::auth::credentials::open(&old, &after[0]).is_err());
    // Running it again changes nothing; a wrong "current" key changes nothing either.
    assert_eq!(rotate_all(app.store.as_ref(), &old, &new).await.unwrap(), 1);
    let stranger = SecretBox::from_secret(b"a key that never sealed anything here");
    assert!(
        rotate_all(app.store.as_ref(), &stranger, &old)
            .await
            .is_err()
    );
    assert_eq!(
        app.store.all_credentials().await.unwrap()[0].key_id,
        new.key_id()
    );
    assert!(!contains(&database_bytes(&app), KEY));
}
