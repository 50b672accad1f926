//! A deployment of real processes for the multi-process tests: a PostgreSQL database of
//! the test's own, the shared Redis, child processes killed on drop, and the demo run
//! posted and streamed through the API.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Child, Command};
use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};

use super::admin_client;

pub const PG_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A database of its own on the shared PostgreSQL server, dropped at the end.
pub struct Database {
    pub name: String,
    pub url: String,
}

pub fn admin_url() -> String {
    std::env::var("CADRE_TEST_DATABASE_URL").unwrap_or_else(|_| PG_ADMIN.into())
}

pub fn psql(sql: &str) {
    let out = Command::new("psql")
        .arg(admin_url())
        .args(["-v", "ON_ERROR_STOP=1", "-qAtc", sql])
        .output()
        .unwrap_or_else(|e| {
            panic!("psql is needed for this test (make test installs PostgreSQL): {e}")
        });
    assert!(
        out.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Database {
    pub fn create() -> Self {
        let name = format!("cadre_t_{}", uuid::Uuid::new_v4().simple());
        psql(&format!("CREATE DATABASE {name}"));
        let admin = admin_url();
        let base = admin
            .rsplit_once('/')
            .map(|(base, _)| base.to_string())
            .unwrap();
        Self {
            url: format!("{base}/{name}"),
            name,
        }
    }

    pub fn query(&self, sql: &str) -> String {
        let out = Command::new("psql")
            .arg(&self.url)
            .args(["-qAtc", sql])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .arg(admin_url())
            .args([
                "-qAtc",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .output();
    }
}

/// Child processes killed on drop, so a failing test leaves nothing running.
pub struct Processes(pub Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub async fn post_demo_run(base: &str) -> String {
    let response = admin_client(base)
        .await
        .post(format!("{base}/api/v1/runs"))
        .json(&json!({"task": "Compare the first 20 Fibonacci numbers with the first 20 primes", "model": "demo"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Streams SSE frames into `seen` (durable seqs, in arrival order) until `finished`,
/// calling `during` once after `after_messages` message events arrived.
pub async fn stream_until_finished(
    base: &str,
    run: &str,
    after_messages: usize,
    during: impl FnOnce(),
) -> (Vec<u64>, Vec<String>) {
    let response = admin_client(base)
        .await
        .get(format!("{base}/api/v1/runs/{run}/events/stream"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    let mut buffer = String::new();
    let mut seqs = Vec::new();
    let mut statuses = Vec::new();
    let mut messages = 0;
    let mut during = Some(during);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while let Ok(Some(chunk)) = tokio::time::timeout_at(deadline, body.next()).await {
        buffer.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        while let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            let Some(data) = frame.lines().find_map(|l| l.strip_prefix("data:")) else {
                continue;
            };
            let event: Value = serde_json::from_str(data.trim()).unwrap();
            if event["type"] == "message_delta" {
                continue;
            }
            seqs.push(event["seq"].as_u64().unwrap());
            match event["type"].as_str().unwrap() {
                "message" => {
                    messages += 1;
                    if messages == after_messages
                        && let Some(during) = during.take()
                    {
                        during();
                    }
                }
                "status" => statuses.push(event["data"]["status"].as_str().unwrap().to_string()),
                "finished" => return (seqs, statuses),
                _ => {}
            }
        }
    }
    panic!("no `finished` within the deadline; seqs so far: {seqs:?}");
}

pub fn assert_gapless(seqs: &[u64]) {
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "every durable event once, in order"
    );
}

pub fn redis_url() -> String {
    std::env::var("CADRE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}
