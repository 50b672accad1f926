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

use common::deployment::{
    Database, Processes, assert_gapless, post_demo_run, redis_url, stream_until_finished,
};
use common::{cadre, start_listening};

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
    let redis_server = start_redis(port);
    let redis_pid = redis_server.id();
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

    // Redis back on its port: the API reconnects, is ready again, and counts it.
    processes.0.push(start_redis(port));
    let deadline = Instant::now() + Duration::from_secs(20);
    while reqwest::get(format!("{base}/readyz"))
        .await
        .unwrap()
        .status()
        != 200
    {
        assert!(
            Instant::now() < deadline,
            "the API did not reconnect to Redis"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let reconnects: f64 = metrics
        .lines()
        .find_map(|line| line.strip_prefix("cadre_bus_reconnects_total{backend=\"redis\"} "))
        .unwrap_or_else(|| panic!("no Redis reconnect counter in:\n{metrics}"))
        .parse()
        .unwrap();
    assert!(reconnects >= 1.0, "reconnections counted: {reconnects}");
}

/// A private redis-server on `port`, answering when this returns.
fn start_redis(port: u16) -> Child {
    let server = Command::new("redis-server")
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
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "private redis did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    server
}
