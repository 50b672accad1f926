//! `cadre migrate` and `cadre worker` as real processes on a real SQLite database: a
//! worker executes a queued run; a worker killed with SIGKILL mid-run loses nothing (a
//! second worker resumes the run: seqs 1..N without gaps, no message twice); SIGTERM
//! hands a running run back and exits cleanly.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cadre_core::event::{EventKind, RunEvent, RunStatus};
use cadre_server::run_request::StoredRunRequest;
use cadre_store::{NewRun, Store};
use common::cadre;
use uuid::Uuid;

fn service(data_dir: &Path, args: &[&str]) -> Command {
    let mut command = cadre();
    command
        .args(args)
        .env("CADRE_DATA_DIR", data_dir)
        .env_remove("CADRE_DATABASE_URL")
        .env_remove("CADRE_REDIS_URL");
    command
}

fn spawn_worker(data_dir: &Path, delay_ms: u64) -> Child {
    service(data_dir, &["worker"])
        .env("CADRE_WORKER_LEASE_SECS", "2")
        .env("CADRE_SCRIPTED_DELAY_MS", delay_ms.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn open(data_dir: &Path) -> Arc<dyn Store> {
    let migrated = service(data_dir, &["migrate"]).output().unwrap();
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    assert!(
        String::from_utf8_lossy(&migrated.stdout).contains("migrations applied (sqlite database)")
    );
    cadre_store::connect(&format!("sqlite://{}", data_dir.join("cadre.db").display()))
        .await
        .unwrap()
}

async fn queue_demo_run(store: &Arc<dyn Store>) -> Uuid {
    let owner = store.ensure_user("local@cadre").await.unwrap();
    let request: StoredRunRequest =
        serde_json::from_value(serde_json::json!({"task": "Compare the first 20 Fibonacci numbers with the first 20 primes", "model": "demo"}))
            .unwrap();
    let new = NewRun {
        owner,
        task: request.task.clone(),
        request: serde_json::to_value(&request).unwrap(),
        max_attempts: 3,
    };
    store.create_run(new).await.unwrap().id
}

async fn events(store: &Arc<dyn Store>, run: Uuid) -> Vec<RunEvent> {
    store.events_after(run, 0, 10_000).await.unwrap()
}

async fn wait_until(within: Duration, mut check: impl AsyncFnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < within {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

fn assert_clean_log(events: &[RunEvent]) {
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (1..=events.len() as u64).collect::<Vec<_>>(),
        "seqs 1..N without gaps"
    );
    let mut ids = HashSet::new();
    for event in events {
        if let EventKind::Message { message_id, .. } = &event.kind {
            assert!(
                ids.insert(message_id.clone()),
                "message {message_id} stored twice"
            );
        }
    }
    assert!(matches!(
        events.last().unwrap().kind,
        EventKind::Finished { .. }
    ));
}

fn signal(child: &Child, name: &str) {
    assert!(
        Command::new("kill")
            .args([name, &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
}

#[tokio::test]
async fn a_worker_killed_mid_run_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let run = queue_demo_run(&store).await;

    let mut first = spawn_worker(dir.path(), 150);
    let midway = wait_until(Duration::from_secs(30), async || {
        events(&store, run)
            .await
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Message { .. }))
            .count()
            >= 3
    })
    .await;
    assert!(midway, "the first worker got into the chat");
    signal(&first, "-KILL");
    first.wait().unwrap();
    let before = events(&store, run).await;
    assert!(
        !matches!(before.last().unwrap().kind, EventKind::Finished { .. }),
        "killed mid-run"
    );

    let mut second = spawn_worker(dir.path(), 0);
    let finished = wait_until(Duration::from_secs(30), async || {
        store.get_run_any(run).await.unwrap().status.is_terminal()
    })
    .await;
    assert!(
        finished,
        "the second worker finished the run after the lease expired"
    );
    assert_eq!(
        store.get_run_any(run).await.unwrap().status,
        RunStatus::Completed
    );
    let after = events(&store, run).await;
    assert_clean_log(&after);
    assert_eq!(&after[..before.len()], &before[..]);

    signal(&second, "-TERM");
    assert!(second.wait().unwrap().success(), "SIGTERM exits cleanly");
}

#[tokio::test]
async fn sigterm_hands_a_running_run_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let run = queue_demo_run(&store).await;
    let mut worker = spawn_worker(dir.path(), 20_000);
    let started = wait_until(Duration::from_secs(20), async || {
        store.get_run_any(run).await.unwrap().status == RunStatus::Building
    })
    .await;
    assert!(started);
    signal(&worker, "-TERM");
    let stopped = Instant::now();
    assert!(worker.wait().unwrap().success());
    assert!(
        stopped.elapsed() < Duration::from_secs(5),
        "shutdown is prompt"
    );
    assert!(
        !store.get_run_any(run).await.unwrap().status.is_terminal(),
        "the run was handed back, not ended"
    );
    // Handed back, not left to a lease: the next worker starts it at once.
    let mut next = spawn_worker(dir.path(), 0);
    let finished = wait_until(Duration::from_secs(30), async || {
        store.get_run_any(run).await.unwrap().status.is_terminal()
    })
    .await;
    assert!(finished);
    assert_clean_log(&events(&store, run).await);
    signal(&next, "-TERM");
    next.wait().unwrap();
}
