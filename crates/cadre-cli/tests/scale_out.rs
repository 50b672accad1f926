//! Scale-out for real: `cadre api` and two `cadre worker` processes sharing PostgreSQL
//! and Redis. A run posted to the API is executed by a worker in another process and
//! streamed live over SSE through Redis; `kill -9` of the worker holding it hands it to
//! the other worker without a gap or a repeat; killing Redis mid-stream does not stop the
//! stream (it falls back to the database) and the run completes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{admin_client, cadre, start_listening};
use futures::StreamExt;
use serde_json::{Value, json};

const PG_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A database of its own on the shared PostgreSQL server, dropped at the end.
struct Database {
    name: String,
    url: String,
}

fn admin_url() -> String {
    std::env::var("CADRE_TEST_DATABASE_URL").unwrap_or_else(|_| PG_ADMIN.into())
}

fn psql(sql: &str) {
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
    fn create() -> Self {
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

    fn query(&self, sql: &str) -> String {
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
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn service(args: &[&str], database: &str, redis: &str, dir: &std::path::Path) -> Command {
    let mut command = cadre();
    command
        .args(args)
        .env("CADRE_DATA_DIR", dir)
        .env("CADRE_DATABASE_URL", database)
        .env("CADRE_REDIS_URL", redis)
        .env("CADRE_WORKER_LEASE_SECS", "2")
        .env("CADRE_SANDBOX", "none")
        // What every API replica of one deployment shares.
        .env(
            "CADRE_SECRET_KEY",
            "the scale-out test deployment's secret key",
        )
        .stderr(Stdio::null());
    command
}

fn start_api(database: &str, redis: &str, dir: &std::path::Path) -> (Child, String) {
    let mut command = service(&["api"], database, redis, dir);
    command.env("CADRE_BIND", "127.0.0.1:0");
    start_listening(command)
}

fn start_worker(database: &str, redis: &str, dir: &std::path::Path, delay_ms: u64) -> Child {
    service(&["worker"], database, redis, dir)
        .env("CADRE_SCRIPTED_DELAY_MS", delay_ms.to_string())
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

async fn post_demo_run(base: &str) -> String {
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
async fn stream_until_finished(
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

fn assert_gapless(seqs: &[u64]) {
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "every durable event once, in order"
    );
}

fn redis_url() -> String {
    std::env::var("CADRE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

#[tokio::test]
async fn api_and_two_workers_on_postgres_and_redis_survive_a_killed_worker() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::create();
    let redis = redis_url();
    let (api, base) = start_api(&db.url, &redis, dir.path());
    let mut processes = Processes(vec![api]);
    processes
        .0
        .push(start_worker(&db.url, &redis, dir.path(), 150));
    processes
        .0
        .push(start_worker(&db.url, &redis, dir.path(), 150));

    let run = post_demo_run(&base).await;
    let run_for_kill = run.clone();
    let db_url = db.url.clone();
    let killed = std::sync::Arc::new(std::sync::Mutex::new(None));
    let killed_pid = killed.clone();
    let (seqs, statuses) = stream_until_finished(&base, &run, 3, move || {
        // The holder's id is `worker-<pid>-<uuid>`: kill exactly that process.
        let holder = Command::new("psql")
            .arg(&db_url)
            .args([
                "-qAtc",
                &format!("SELECT worker FROM jobs WHERE run_id = '{run_for_kill}'"),
            ])
            .output()
            .unwrap();
        let holder = String::from_utf8_lossy(&holder.stdout).trim().to_string();
        let pid = holder
            .split('-')
            .nth(1)
            .unwrap_or_else(|| panic!("no worker holds the job: `{holder}`"))
            .to_string();
        assert!(
            Command::new("kill")
                .args(["-KILL", &pid])
                .status()
                .unwrap()
                .success()
        );
        *killed_pid.lock().unwrap() = Some(pid);
    })
    .await;
    assert!(
        killed.lock().unwrap().is_some(),
        "a worker was killed mid-run"
    );
    assert_gapless(&seqs);
    assert_eq!(statuses.last().map(String::as_str), Some("completed"));
    assert_eq!(
        db.query(&format!("SELECT status FROM runs WHERE id = '{run}'")),
        "completed"
    );
    assert_eq!(
        db.query(&format!("SELECT attempts FROM jobs WHERE run_id = '{run}'")),
        "2",
        "the second worker resumed it"
    );
    let messages = db.query(&format!("SELECT count(*) - count(DISTINCT data->>'message_id') FROM events WHERE run_id = '{run}' AND type = 'message'"));
    assert_eq!(messages, "0", "no message stored twice");
}

#[tokio::test]
async fn killing_redis_mid_stream_does_not_stop_the_stream() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let redis_server = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("redis-server is needed (make test installs it): {e}"));
    let redis_pid = redis_server.id();
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "private redis did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let redis = format!("redis://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let db = Database::create();
    let (api, base) = start_api(&db.url, &redis, dir.path());
    let mut processes = Processes(vec![redis_server, api]);
    processes
        .0
        .push(start_worker(&db.url, &redis, dir.path(), 150));

    let run = post_demo_run(&base).await;
    let (seqs, statuses) = stream_until_finished(&base, &run, 2, move || {
        assert!(
            Command::new("kill")
                .args(["-KILL", &redis_pid.to_string()])
                .status()
                .unwrap()
                .success()
        );
    })
    .await;
    assert_gapless(&seqs);
    assert_eq!(statuses.last().map(String::as_str), Some("completed"));
    let ready = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(ready.status(), 503, "readiness reports the lost bus");
}
