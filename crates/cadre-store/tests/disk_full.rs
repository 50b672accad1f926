#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! SQLite on a full disk (a 2 MiB tmpfs, so the test needs root to mount it): writes fail
//! with a clear `Unavailable` ("disk full") and nothing half-written; once there is room
//! again, writes are committed for real: another connection sees them, and they survive
//! a restart. (A transaction rolled back by SQLite itself used to leave sqlx's
//! transaction count off by one, after which every write went into a transaction that
//! was never committed.)

use std::io::Write;
use std::path::Path;
use std::process::Command;

use cadre_core::{EventKind, RunEvent};
use cadre_store::{EventBatch, NewRun, StoreError, connect};
use chrono::Utc;
use uuid::Uuid;

struct Tmpfs(std::path::PathBuf);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn fill(path: &Path) {
    let mut file = std::fs::File::create(path).unwrap();
    let block = vec![7u8; 4096];
    while file.write_all(&block).is_ok() {}
    while file.write_all(&block[..1]).is_ok() {}
}

fn message(run_id: Uuid, seq: u64) -> RunEvent {
    RunEvent {
        seq,
        run_id,
        at: Utc::now(),
        kind: EventKind::Message {
            message_id: format!("m{seq}"),
            agent: "writer".into(),
            content: "x".repeat(2_000),
            tokens: 500,
        },
    }
}

fn new_run(owner: Uuid) -> NewRun {
    NewRun {
        owner,
        task: "disk full".into(),
        request: serde_json::json!({"task": "disk full"}),
        max_attempts: 3,
    }
}

#[tokio::test]
async fn after_a_full_disk_writes_are_committed_again() {
    if !is_root() {
        // Mounting a filesystem of a fixed size needs root; CI runs as root.
        eprintln!("skipped: needs root to mount a small tmpfs");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mount = dir.path().join("small");
    std::fs::create_dir(&mount).unwrap();
    let status = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
        .arg(&mount)
        .status()
        .unwrap();
    assert!(status.success(), "mount a tmpfs");
    let _tmpfs = Tmpfs(mount.clone());
    let url = format!("sqlite://{}", mount.join("cadre.db").display());
    let store = connect(&url).await.unwrap();
    let owner = store.ensure_user("writer@cadre.test").await.unwrap();
    let before = store.create_run(new_run(owner)).await.unwrap();

    fill(&mount.join("filler"));
    // Keep writing as a busy server would: single statements and transactions, until
    // both kinds have failed a few times.
    let mut failures = 0;
    let mut seq = 0;
    for _ in 0..200 {
        if let Err(error) = store.create_run(new_run(owner)).await {
            assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
            failures += 1;
        }
        let events: Vec<RunEvent> = (seq + 1..=seq + 20)
            .map(|s| message(before.id, s))
            .collect();
        match store
            .append_event_batches(&[EventBatch {
                run_id: before.id,
                events,
            }])
            .await
        {
            Ok(slots) if slots.iter().all(Result::is_ok) => seq += 20,
            Ok(slots) => {
                let error = slots.into_iter().find_map(Result::err).unwrap();
                assert!(
                    matches!(&error, StoreError::Unavailable(m) if m.contains("disk full")),
                    "{error:?}"
                );
                failures += 1;
            }
            Err(error) => {
                assert!(
                    matches!(&error, StoreError::Unavailable(m) if m.contains("disk full")),
                    "{error:?}"
                );
                failures += 1;
            }
        }
        if failures >= 10 {
            break;
        }
    }
    assert!(failures >= 10, "the disk never filled up");

    std::fs::remove_file(mount.join("filler")).unwrap();
    let after = store.create_run(new_run(owner)).await.unwrap();
    let events: Vec<RunEvent> = (seq + 1..=seq + 3).map(|s| message(before.id, s)).collect();
    store.append_events(before.id, &events).await.unwrap();

    // Committed for real: a separate connection sees it…
    let other = connect(&url).await.unwrap();
    other.get_run(owner, after.id).await.unwrap();
    assert_eq!(
        other.get_run(owner, before.id).await.unwrap().last_seq,
        seq + 3
    );
    drop(other);
    // …and so does the database after a restart.
    drop(store);
    let reopened = connect(&url).await.unwrap();
    reopened.get_run(owner, after.id).await.unwrap();
    let stored = reopened.events_after(before.id, 0, 1_000).await.unwrap();
    assert_eq!(
        stored.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=seq + 3).collect::<Vec<_>>()
    );
}
