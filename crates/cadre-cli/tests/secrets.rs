//! `cadre secrets rotate` on a real data directory: a provider key stored through the API
//! of a real `cadre serve` keeps working after the rotation (the worker still opens it for
//! the owner's run), the key file holds a new key (mode 0600), and the stored key was
//! never in the database in clear.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use cadre_llm::fake_server::{FakeOpenAi, FakeReply};
use common::{admin_client, cadre, get_json, start_listening};
use serde_json::{Value, json};

const KEY: &str = "sk-rotation-test-key-SECRET-0123456789wxyz";

fn serve(dir: &Path) -> (Child, String) {
    let mut command = cadre();
    command
        .arg("serve")
        .env("CADRE_DATA_DIR", dir)
        .env("CADRE_BIND", "127.0.0.1:0")
        .env("CADRE_SANDBOX", "none")
        .env("CADRE_SHARE_SERVER_KEY", "false")
        .env_remove("CADRE_DATABASE_URL")
        .env_remove("CADRE_REDIS_URL")
        .stderr(Stdio::null());
    start_listening(command)
}

/// Runs a one-agent team to its end; returns the `finished` event.
async fn run_once(base: &str) -> Value {
    let http = admin_client(base).await;
    let team = json!({"agents": [{"name": "Solo", "system_message": "You answer."}],
                      "speaker_selection": {"method": "round_robin"}});
    let run: Value = http
        .post(format!("{base}/api/v1/runs"))
        .json(&json!({"task": "Say done", "team": team, "max_round": 2}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = run["id"].as_str().unwrap();
    let started = Instant::now();
    loop {
        let page = get_json(&http, format!("{base}/api/v1/runs/{id}/events?after=0")).await;
        if let Some(finished) = page["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["type"] == "finished")
        {
            return finished.clone();
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_key_works_before_and_after_a_rotation() {
    let model = FakeOpenAi::start(vec![]).await.unwrap();
    model.set_default(FakeReply::text("Done. TERMINATE").usage(5, 2));
    let dir = tempfile::tempdir().unwrap();

    let (server, base) = serve(dir.path());
    let http = admin_client(&base).await;
    let response = http
        .put(format!("{base}/api/v1/me/providers/custom"))
        .json(&json!({"api_key": KEY, "base_url": model.base_url(), "default_model": "m"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(run_once(&base).await["data"]["status"], "completed");
    stop(server);
    let key_file = dir.path().join("secret.key");
    let old_key = std::fs::read_to_string(&key_file).unwrap();

    let output = cadre()
        .args(["secrets", "rotate"])
        .env("CADRE_DATA_DIR", dir.path())
        .env_remove("CADRE_DATABASE_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("re-sealed 1 stored provider key"),
        "{stdout}"
    );
    let new_key = std::fs::read_to_string(&key_file).unwrap();
    assert_ne!(new_key, old_key);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let (server, base) = serve(dir.path());
    assert_eq!(run_once(&base).await["data"]["status"], "completed");
    stop(server);
    let requests = model.received();
    assert!(requests.len() >= 2);
    assert!(
        requests
            .iter()
            .all(|r| r.header("authorization") == Some(format!("Bearer {KEY}").as_str()))
    );
    for name in ["cadre.db", "cadre.db-wal"] {
        if let Ok(bytes) = std::fs::read(dir.path().join(name)) {
            assert!(
                !bytes.windows(KEY.len()).any(|w| w == KEY.as_bytes()),
                "{name}"
            );
        }
    }
}
