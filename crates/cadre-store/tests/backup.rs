#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! SQLite backup taken while the store is being written to: every copy is a consistent
//! snapshot (each run's stored events are exactly 1..last_seq), and a restore brings the
//! copy back in place of the live database.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use cadre_core::{EventKind, RunEvent};
use cadre_store::sqlite::backup::{backup, restore};
use cadre_store::{NewRun, Store, connect};
use chrono::Utc;
use uuid::Uuid;

fn message(run_id: Uuid, seq: u64) -> RunEvent {
    RunEvent {
        seq,
        run_id,
        at: Utc::now(),
        kind: EventKind::Message {
            message_id: format!("m{seq}"),
            agent: "writer".into(),
            content: "an event written while a backup is being taken".into(),
            tokens: 8,
        },
    }
}

/// Every run in the database at `url` has its events 1..=last_seq, no more, no fewer.
async fn assert_consistent(url: &str) -> (usize, u64) {
    let store = connect(url).await.unwrap();
    let owner = store.ensure_user("writer@cadre.test").await.unwrap();
    let mut runs = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) = store.list_runs(owner, None, 100, cursor).await.unwrap();
        runs.extend(page);
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let mut events = 0;
    for run in &runs {
        let stored = store.events_after(run.id, 0, 10_000).await.unwrap();
        let seqs: Vec<u64> = stored.iter().map(|e| e.seq).collect();
        assert_eq!(
            seqs,
            (1..=run.last_seq).collect::<Vec<_>>(),
            "run {} in {url}",
            run.id
        );
        events += stored.len() as u64;
    }
    (runs.len(), events)
}

#[tokio::test]
async fn backups_taken_during_writes_are_consistent_and_restore_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let live = format!("sqlite://{}", dir.path().join("cadre.db").display());
    let store = connect(&live).await.unwrap();
    let owner = store.ensure_user("writer@cadre.test").await.unwrap();

    // A writer that keeps creating runs and appending batches of events to them.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let store: Arc<dyn Store> = store.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut written = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let run = store
                    .create_run(NewRun {
                        owner,
                        task: "backup test".into(),
                        request: serde_json::json!({"task": "backup test"}),
                        max_attempts: 3,
                    })
                    .await
                    .unwrap();
                for batch in 0..5u64 {
                    let events: Vec<RunEvent> = (batch * 10 + 1..=batch * 10 + 10)
                        .map(|seq| message(run.id, seq))
                        .collect();
                    store.append_events(run.id, &events).await.unwrap();
                    written += 10;
                }
            }
            written
        })
    };

    let mut copies = Vec::new();
    for i in 0..4 {
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        let path = dir.path().join(format!("backup-{i}.db"));
        let summary = backup(&live, &path).await.unwrap();
        assert_eq!(summary.path, path);
        assert!(summary.bytes > 0);
        copies.push((path, summary));
    }
    stop.store(true, Ordering::Relaxed);
    let written = writer.await.unwrap();

    // Taken mid-write, yet each copy is whole: runs with all their batches up to
    // last_seq, never half a batch, and later copies hold more.
    let mut previous = 0;
    for (path, summary) in &copies {
        let url = format!("sqlite://{}", path.display());
        let (runs, events) = assert_consistent(&url).await;
        assert_eq!(runs as u64, summary.runs);
        assert_eq!(events, summary.events);
        assert!(
            events >= previous,
            "backups grow: {events} after {previous}"
        );
        previous = events;
    }
    assert!(
        previous > 0 && previous < written,
        "{previous} of {written}"
    );
    assert!(!dir.path().join("backup-0.db.partial").exists());

    // A backup never overwrites a file.
    let again = backup(&live, &copies[0].0).await.unwrap_err();
    assert!(again.to_string().contains("exists already"), "{again}");

    // Restore the first copy over the live database (closed first, as the CLI insists).
    drop(store);
    let (first, first_summary) = &copies[0];
    let restored = restore(first, &live).await.unwrap();
    assert_eq!(restored.events, first_summary.events);
    let (_, events) = assert_consistent(&live).await;
    assert_eq!(events, first_summary.events);
    // The database it replaced is kept beside it, whole.
    let kept = format!(
        "sqlite://{}",
        dir.path().join("cadre.db.before-restore").display()
    );
    let (_, kept_events) = assert_consistent(&kept).await;
    assert_eq!(kept_events, written);
}
