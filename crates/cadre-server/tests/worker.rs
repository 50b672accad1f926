//! The worker against a real SQLite store and the in-process bus: runs complete with
//! every event stored once, in order; cancel reaches a running run; a crashed worker's
//! run is resumed by another without gaps or repeats; shutdown hands runs back.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cadre_core::event::{EventKind, RunEvent, RunStatus};
use cadre_llm::demo::DemoModel;
use cadre_llm::scripted::{ScriptedModel, ScriptedReply};
use cadre_server::bus::{BusMessage, EventBus, MemoryBus};
use cadre_server::run_request::StoredRunRequest;
use cadre_server::worker::{FixedModel, Worker, WorkerConfig};
use cadre_store::{NewRun, Store};
use futures::StreamExt;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const TASK: &str = "Compare the first 20 Fibonacci numbers with the first 20 primes";

struct Fixture {
    _dir: tempfile::TempDir,
    store: Arc<dyn Store>,
    bus: Arc<MemoryBus>,
    owner: Uuid,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cadre.db").display());
    let store = cadre_store::connect(&url).await.unwrap();
    let owner = store.ensure_user("local@cadre").await.unwrap();
    Fixture {
        _dir: dir,
        store,
        bus: Arc::new(MemoryBus::new()),
        owner,
    }
}

fn worker(f: &Fixture, delay: Duration, lease: Duration) -> Worker {
    let config = WorkerConfig {
        lease,
        heartbeat_every: lease / 3,
        cancel_check_every: Duration::from_millis(100),
        poll_every: Duration::from_millis(50),
        ..WorkerConfig::default()
    };
    let model = FixedModel(Arc::new(DemoModel::new().with_delay(delay)));
    Worker::new(
        f.store.clone(),
        f.bus.clone(),
        Arc::new(model),
        None,
        config,
    )
}

/// A worker running in the background until [`Running::stop`].
struct Running {
    shutdown: CancellationToken,
    handle: tokio::task::JoinHandle<()>,
}

fn start(worker: Worker) -> Running {
    let shutdown = CancellationToken::new();
    let handle = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { worker.run(shutdown).await }
    });
    Running { shutdown, handle }
}

impl Running {
    /// Graceful shutdown: hands running runs back and waits for the worker to return.
    async fn stop(self) {
        self.shutdown.cancel();
        self.handle.await.unwrap();
    }
}

async fn create_run(f: &Fixture) -> Uuid {
    let request = StoredRunRequest {
        task: TASK.into(),
        team: None,
        build: Default::default(),
        execute: true,
        model: Some("demo".into()),
        max_round: None,
        budget_usd: None,
        speaker_selection: None,
        fork: None,
    };
    let run = f
        .store
        .create_run(NewRun {
            owner: f.owner,
            task: TASK.into(),
            request: serde_json::to_value(request).unwrap(),
            max_attempts: 3,
        })
        .await
        .unwrap();
    run.id
}

async fn wait_for(
    store: &Arc<dyn Store>,
    run: Uuid,
    within: Duration,
    done: impl Fn(RunStatus) -> bool,
) -> RunStatus {
    let started = Instant::now();
    loop {
        let status = store.get_run_any(run).await.unwrap().status;
        if done(status) || started.elapsed() > within {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn stored_events(store: &Arc<dyn Store>, run: Uuid) -> Vec<RunEvent> {
    store.events_after(run, 0, 10_000).await.unwrap()
}

/// Seqs 1..n, finished last, no message id or content stored twice.
fn assert_clean_log(events: &[RunEvent]) {
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (1..=events.len() as u64).collect::<Vec<_>>(),
        "seqs without gaps"
    );
    assert!(matches!(
        events.last().unwrap().kind,
        EventKind::Finished { .. }
    ));
    let mut ids = HashSet::new();
    let mut contents = HashSet::new();
    for event in events {
        if let EventKind::Message {
            message_id,
            content,
            ..
        } = &event.kind
        {
            assert!(
                ids.insert(message_id.clone()),
                "message {message_id} stored twice"
            );
            assert!(
                contents.insert(content.clone()),
                "message content repeated: {content}"
            );
        }
    }
}

#[tokio::test]
async fn a_queued_run_is_executed_persisted_and_published() {
    let f = fixture().await;
    let run = create_run(&f).await;
    let mut live = f.bus.subscribe(run).await.unwrap();
    let w = worker(&f, Duration::ZERO, Duration::from_secs(30));
    let running = start(w);
    let status = wait_for(
        &f.store,
        run,
        Duration::from_secs(20),
        RunStatus::is_terminal,
    )
    .await;
    assert_eq!(status, RunStatus::Completed);
    let events = stored_events(&f.store, run).await;
    assert_clean_log(&events);
    assert!(
        events
            .iter()
            .any(|e| matches!(e.kind, EventKind::Team { .. }))
    );
    let record = f.store.get_run_any(run).await.unwrap();
    assert!(record.summary.unwrap().contains("complete"));
    assert!(record.usage.calls > 0);

    // Live subscribers saw the same durable events, plus token deltas.
    let mut durable = Vec::new();
    let mut deltas = 0;
    while let Ok(Some(message)) =
        tokio::time::timeout(Duration::from_millis(200), live.next()).await
    {
        if let BusMessage::Event(event) = message {
            if event.kind.is_durable() {
                durable.push(event.seq);
            } else {
                deltas += 1;
            }
        }
    }
    assert_eq!(durable, (1..=events.len() as u64).collect::<Vec<_>>());
    assert!(deltas > 0);
    running.stop().await;
}

#[tokio::test]
async fn cancel_reaches_a_running_run_within_a_second() {
    let f = fixture().await;
    let run = create_run(&f).await;
    let w = worker(&f, Duration::from_secs(30), Duration::from_secs(30));
    let running = start(w);
    wait_for(&f.store, run, Duration::from_secs(5), |s| {
        s == RunStatus::Building
    })
    .await;
    let asked = Instant::now();
    f.store.request_cancel(f.owner, run).await.unwrap();
    let status = wait_for(
        &f.store,
        run,
        Duration::from_secs(5),
        RunStatus::is_terminal,
    )
    .await;
    assert_eq!(status, RunStatus::Cancelled);
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "took {:?}",
        asked.elapsed()
    );
    assert_clean_log(&stored_events(&f.store, run).await);
    running.stop().await;
}

#[tokio::test]
async fn a_crashed_workers_run_is_resumed_by_another_without_gaps_or_repeats() {
    let f = fixture().await;
    let run = create_run(&f).await;
    let lease = Duration::from_millis(600);
    let first = worker(&f, Duration::from_millis(60), lease);
    let crashed = tokio::spawn(async move { first.run(CancellationToken::new()).await });
    // Let it get into the chat, then kill it: no hand-back, no final events.
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        let messages = stored_events(&f.store, run)
            .await
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Message { .. }))
            .count();
        if messages >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    crashed.abort();
    let _ = crashed.await;
    let before = stored_events(&f.store, run).await;
    assert!(
        !matches!(before.last().unwrap().kind, EventKind::Finished { .. }),
        "killed mid-run"
    );

    let second = worker(&f, Duration::ZERO, lease);
    let running = start(second);
    let status = wait_for(
        &f.store,
        run,
        Duration::from_secs(20),
        RunStatus::is_terminal,
    )
    .await;
    assert_eq!(status, RunStatus::Completed);
    let after = stored_events(&f.store, run).await;
    assert_clean_log(&after);
    assert_eq!(
        &after[..before.len()],
        &before[..],
        "nothing stored before the crash changed"
    );
    running.stop().await;
}

#[tokio::test]
async fn shutdown_hands_running_runs_back() {
    let f = fixture().await;
    let run = create_run(&f).await;
    let slow = worker(&f, Duration::from_secs(30), Duration::from_secs(30));
    let running = start(slow);
    wait_for(&f.store, run, Duration::from_secs(5), |s| {
        s == RunStatus::Building
    })
    .await;
    tokio::time::timeout(Duration::from_secs(5), running.stop())
        .await
        .unwrap();
    let record = f.store.get_run_any(run).await.unwrap();
    assert!(
        !record.status.is_terminal(),
        "a handed-back run is not ended: {:?}",
        record.status
    );

    // With the 30 s lease released, another worker picks it up at once.
    let next = worker(&f, Duration::ZERO, Duration::from_secs(30));
    let running = start(next);
    let status = wait_for(
        &f.store,
        run,
        Duration::from_secs(20),
        RunStatus::is_terminal,
    )
    .await;
    assert_eq!(status, RunStatus::Completed);
    assert_clean_log(&stored_events(&f.store, run).await);
    running.stop().await;
}

/// Every process whose command line mentions `needle` (the sandbox binds the run's
/// workspace, whose name starts with the run id).
fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if cmdline.contains(needle) {
                found.push(format!(
                    "{}: {cmdline}",
                    entry.file_name().to_string_lossy()
                ));
            }
        }
    }
    found
}

#[tokio::test]
async fn cancel_during_sandboxed_code_leaves_no_process_behind() {
    let f = fixture().await;
    let team = serde_json::json!({
        "agents": [{"name": "Coder", "system_message": "You write code."}],
        "speaker_selection": {"method": "round_robin"},
        "code_execution": {"enabled": true}
    });
    let request = serde_json::json!({"task": "sleep", "team": team});
    let run = f
        .store
        .create_run(NewRun {
            owner: f.owner,
            task: "sleep".into(),
            request,
            max_attempts: 3,
        })
        .await
        .unwrap()
        .id;
    let model = ScriptedModel::new(
        "scripted",
        vec![ScriptedReply::text(
            "```python\nimport time\nprint('sleeping', flush=True)\ntime.sleep(60)\n```",
        )],
    );
    let executor = cadre_sandbox::from_name("bwrap", cadre_sandbox::SandboxConfig::default())
        .await
        .expect("bubblewrap is installed by `make test`")
        .unwrap();
    let config = WorkerConfig {
        cancel_check_every: Duration::from_millis(100),
        poll_every: Duration::from_millis(50),
        ..WorkerConfig::default()
    };
    let w = Worker::new(
        f.store.clone(),
        f.bus.clone(),
        Arc::new(FixedModel(Arc::new(model))),
        Some(executor),
        config,
    );
    let running = start(w);
    // Wait until the code is running in the sandbox.
    let started = Instant::now();
    while !stored_events(&f.store, run)
        .await
        .iter()
        .any(|e| matches!(e.kind, EventKind::Code { .. }))
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "code never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let run_marker = run.to_string();
    let deadline = Instant::now() + Duration::from_secs(5);
    while processes_mentioning(&run_marker).is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !processes_mentioning(&run_marker).is_empty(),
        "the sandbox is running"
    );

    let asked = Instant::now();
    f.store.request_cancel(f.owner, run).await.unwrap();
    let status = wait_for(
        &f.store,
        run,
        Duration::from_secs(5),
        RunStatus::is_terminal,
    )
    .await;
    assert_eq!(status, RunStatus::Cancelled);
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "took {:?}",
        asked.elapsed()
    );
    let deadline = Instant::now() + Duration::from_secs(2);
    while !processes_mentioning(&run_marker).is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        processes_mentioning(&run_marker),
        Vec::<String>::new(),
        "no sandbox process left"
    );
    assert_clean_log(&stored_events(&f.store, run).await);
    running.stop().await;
}
