#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! One conformance suite, run against both backends: every test body below is generated
//! as `sqlite::<name>` (a fresh database file in a tempdir) and `postgres::<name>` (a fresh
//! database `cadre_t_<uuid>` on the server named by `CADRE_TEST_DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`, dropped afterwards).

use std::sync::Arc;
use std::time::Duration;

use cadre_core::{
    AgentSpec, EventKind, FailureCode, RunEvent, RunStatus, StopReason, TeamSpec, UsageTotals,
};
use cadre_store::{
    AuditEntry, AuditEvent, ClaimedJob, EventBatch, HeldJob, NewApiToken, NewRefreshToken, NewRun,
    NewRunFile, NewUser, PutFile, RefreshOutcome, RunQuery, Store, StoreError, StoredCredential,
    connect,
};
use chrono::{DateTime, Utc};
use sqlx::Connection;
use uuid::Uuid;

const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/test";
const LEASE: Duration = Duration::from_millis(200);

struct Harness {
    store: Arc<dyn Store>,
    url: String,
    _dir: Option<tempfile::TempDir>,
    _pg: Option<PgDatabase>,
}

/// A per-test PostgreSQL database, dropped (best effort) when the test ends, even on panic.
struct PgDatabase {
    admin: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                }
            });
        })
        .join();
    }
}

fn with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("URL has a scheme");
    let (base, query) = match rest.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (rest, String::new()),
    };
    let authority = base.split('/').next().unwrap_or(base);
    format!("{scheme}://{authority}/{name}{query}")
}

impl Harness {
    async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("cadre.db").display());
        let store = connect(&url).await.unwrap();
        Self {
            store,
            url,
            _dir: Some(dir),
            _pg: None,
        }
    }

    async fn postgres() -> Self {
        let admin =
            std::env::var("CADRE_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_PG.to_string());
        let mut conn = match sqlx::PgConnection::connect(&admin).await {
            Ok(conn) => conn,
            Err(error) => panic!(
                "PostgreSQL for the conformance tests is unreachable ({error}); set \
                 CADRE_TEST_DATABASE_URL or run `make test`, which starts it"
            ),
        };
        let name = format!("cadre_t_{}", Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.ok();
        let guard = PgDatabase {
            admin: admin.clone(),
            name: name.clone(),
        };
        let url = with_database(&admin, &name);
        let store = connect(&url).await.unwrap();
        Self {
            store,
            url,
            _dir: None,
            _pg: Some(guard),
        }
    }
}

impl Harness {
    /// Whether the `jobs` table has this job: read past the store, whose interface does
    /// not look jobs up by id (each backend with its own SQL).
    async fn job_exists(&self, job_id: Uuid) -> bool {
        let count: i64 = match self.store.backend() {
            "sqlite" => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
                sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE id = ?1")
                    .bind(job_id)
                    .fetch_one(&mut conn)
                    .await
                    .unwrap()
            }
            _ => {
                let mut conn = sqlx::PgConnection::connect(&self.url).await.unwrap();
                sqlx::query_scalar("SELECT count(*) FROM jobs WHERE id = $1")
                    .bind(job_id)
                    .fetch_one(&mut conn)
                    .await
                    .unwrap()
            }
        };
        count > 0
    }

    /// How many `run_files` rows the run has, read past the store (whose reads are
    /// owner-scoped and answer `NotFound` for a deleted run).
    async fn file_rows(&self, run_id: Uuid) -> i64 {
        match self.store.backend() {
            "sqlite" => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
                sqlx::query_scalar("SELECT COUNT(*) FROM run_files WHERE run_id = ?1")
                    .bind(run_id)
                    .fetch_one(&mut conn)
                    .await
                    .unwrap()
            }
            _ => {
                let mut conn = sqlx::PgConnection::connect(&self.url).await.unwrap();
                sqlx::query_scalar("SELECT count(*) FROM run_files WHERE run_id = $1")
                    .bind(run_id)
                    .fetch_one(&mut conn)
                    .await
                    .unwrap()
            }
        }
    }
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let harness = super::Harness::sqlite().await;
                    super::$name(&harness).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let harness = super::Harness::postgres().await;
                    super::$name(&harness).await;
                }
            )*
        }
    };
}

conformance!(
    migrations_are_idempotent,
    teams_crud_and_owner_isolation,
    run_and_job_are_created_together,
    list_runs_paginates_and_filters,
    append_events_requires_contiguous_seqs,
    append_events_updates_the_run_row,
    event_batches_of_many_runs_commit_together,
    events_after_pages_exactly,
    resume_state_rebuilds_team_transcript_usage,
    a_run_created_with_history_resumes_after_it,
    concurrent_claimers_never_share_a_job,
    concurrent_creates_and_completions_answer_each_caller,
    expired_lease_is_reclaimed,
    queue_stats_count_waiting_and_held_jobs,
    batch_claims_take_the_oldest_once_and_retire_exhausted_jobs,
    worker_wide_heartbeat_and_cancel_poll,
    exhausted_attempts_fail_the_run,
    per_owner_limit_at_claim_time,
    release_does_not_count_an_attempt,
    cancel_queued_and_claimed_runs,
    human_input_reaches_a_waiting_run_once,
    delete_cascades_and_refuses_executing_runs,
    users_are_unique_and_can_be_disabled,
    refresh_tokens_rotate_and_reuse_revokes_the_family,
    audit_log_pages_newest_first,
    api_tokens_are_scoped_revocable_and_expire,
    credentials_are_per_user_and_reseal_atomically,
    owner_usage_since_sums_recorded_runs,
    run_files_last_write_wins_within_the_run_limit,
    run_files_are_owner_scoped_and_go_with_their_run,
);

// ---------------------------------------------------------------- helpers

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).unwrap()
}

fn team(name: &str) -> TeamSpec {
    TeamSpec::new(
        name,
        vec![
            AgentSpec::new("planner", "You plan.", "Plans the work"),
            AgentSpec::new("coder", "You code.", "Writes code"),
        ],
    )
}

fn event(run: Uuid, seq: u64, kind: EventKind) -> RunEvent {
    RunEvent {
        seq,
        run_id: run,
        at: now(),
        kind,
    }
}

fn status(status: RunStatus) -> EventKind {
    EventKind::Status { status }
}

fn message(id: &str, agent: &str, content: &str) -> EventKind {
    EventKind::Message {
        message_id: id.into(),
        agent: agent.into(),
        content: content.into(),
        tokens: 3,
    }
}

fn usage(prompt: u64, completion: u64, cost: Option<f64>) -> EventKind {
    EventKind::Usage {
        model: "m".into(),
        prompt_tokens: prompt,
        completion_tokens: completion,
        cost_usd: cost,
    }
}

fn log(n: u64) -> EventKind {
    EventKind::Log {
        level: cadre_core::event::LogLevel::Info,
        message: format!("log {n}"),
    }
}

async fn user(store: &dyn Store, name: &str) -> Uuid {
    store
        .ensure_user(&format!("{name}-{}@example.test", Uuid::new_v4().simple()))
        .await
        .unwrap()
}

async fn new_run(store: &dyn Store, owner: Uuid, task: &str, max_attempts: u32) -> Uuid {
    store
        .create_run(NewRun {
            owner,
            task: task.into(),
            request: serde_json::json!({"task": task, "max_rounds": 4}),
            max_attempts,
        })
        .await
        .unwrap()
        .id
}

/// A claimed job as a heartbeat of its worker reports it.
fn held_job(job: &ClaimedJob, cancel_requested: bool) -> HeldJob {
    HeldJob {
        job_id: job.job_id,
        run_id: job.run_id,
        cancel_requested,
    }
}

fn types(events: &[RunEvent]) -> Vec<(u64, &'static str)> {
    events
        .iter()
        .map(|event| (event.seq, event.kind.type_name()))
        .collect()
}

// ---------------------------------------------------------------- tests

async fn migrations_are_idempotent(h: &Harness) {
    let again = connect(&h.url).await.unwrap();
    again.migrate().await.unwrap();
    h.store.migrate().await.unwrap();
    again.health().await.unwrap();
    assert!(matches!(h.store.backend(), "sqlite" | "postgres"));
    // ensure_user is idempotent across connections.
    let first = h.store.ensure_user("local@cadre").await.unwrap();
    let second = again.ensure_user("local@cadre").await.unwrap();
    assert_eq!(first, second);
    assert!(matches!(
        h.store.ensure_user("  ").await,
        Err(StoreError::Invalid(_))
    ));
}

async fn teams_crud_and_owner_isolation(h: &Harness) {
    let store = h.store.as_ref();
    let alice = user(store, "alice").await;
    let bob = user(store, "bob").await;
    let created = store.create_team(alice, &team("research")).await.unwrap();
    assert_eq!(created.name, "research");
    let fetched = store.get_team(alice, created.id).await.unwrap();
    assert_eq!(fetched, created);
    assert_eq!(
        store.get_team(bob, created.id).await,
        Err(StoreError::NotFound { what: "team" })
    );

    let updated = store
        .update_team(alice, created.id, &team("renamed"))
        .await
        .unwrap();
    assert_eq!(updated.name, "renamed");
    assert_eq!(updated.spec, team("renamed"));
    assert!(updated.updated_at >= created.updated_at);
    assert!(matches!(
        store.update_team(bob, created.id, &team("x")).await,
        Err(StoreError::NotFound { .. })
    ));

    for n in 0..4 {
        store
            .create_team(alice, &team(&format!("t{n}")))
            .await
            .unwrap();
    }
    store.create_team(bob, &team("bobs")).await.unwrap();
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) = store.list_teams(alice, 2, cursor).await.unwrap();
        assert!(page.len() <= 2);
        seen.extend(page.into_iter().map(|t| t.id));
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    assert!(matches!(
        store.list_teams(alice, 2, Some("nope".into())).await,
        Err(StoreError::Invalid(_))
    ));

    assert!(matches!(
        store.delete_team(bob, created.id).await,
        Err(StoreError::NotFound { .. })
    ));
    store.delete_team(alice, created.id).await.unwrap();
    assert!(matches!(
        store.get_team(alice, created.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.create_team(Uuid::new_v4(), &team("orphan")).await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn run_and_job_are_created_together(h: &Harness) {
    let store = h.store.as_ref();
    let ghost = Uuid::new_v4();
    let failed = store
        .create_run(NewRun {
            owner: ghost,
            task: "t".into(),
            request: serde_json::json!({}),
            max_attempts: 3,
        })
        .await;
    assert!(
        matches!(failed, Err(StoreError::NotFound { .. })),
        "{failed:?}"
    );
    // Neither a run nor a job was left behind.
    assert!(
        store
            .list_runs(ghost, None, 10, None)
            .await
            .unwrap()
            .0
            .is_empty()
    );
    assert_eq!(store.claim_job("w", LEASE, None).await.unwrap(), None);

    let owner = user(store, "owner").await;
    let run = store
        .create_run(NewRun {
            owner,
            task: "write a poem".into(),
            request: serde_json::json!({"task": "write a poem", "budget_usd": 0.5}),
            max_attempts: 3,
        })
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Queued);
    assert_eq!(run.last_seq, 0);
    assert_eq!(store.get_run(owner, run.id).await.unwrap(), run);
    assert_eq!(store.get_run_any(run.id).await.unwrap(), run);
    assert_eq!(
        store.get_run(Uuid::new_v4(), run.id).await,
        Err(StoreError::NotFound { what: "run" })
    );
    let job = store.claim_job("w", LEASE, None).await.unwrap().unwrap();
    assert_eq!((job.run_id, job.owner, job.attempt), (run.id, owner, 1));
}

async fn list_runs_paginates_and_filters(h: &Harness) {
    let store = h.store.as_ref();
    let owner = user(store, "lister").await;
    let other = user(store, "other").await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(new_run(store, owner, &format!("task {n}"), 3).await);
    }
    new_run(store, other, "not mine", 3).await;
    for id in &ids[1..3] {
        store
            .append_events(*id, &[event(*id, 1, status(RunStatus::Executing))])
            .await
            .unwrap();
    }

    let mut pages = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) = store.list_runs(owner, None, 2, cursor).await.unwrap();
        pages.push(page.iter().map(|r| r.id).collect::<Vec<_>>());
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![2, 2, 1]
    );
    let listed: Vec<Uuid> = pages.concat();
    let (all, none) = store.list_runs(owner, None, 100, None).await.unwrap();
    assert!(none.is_none());
    assert_eq!(listed, all.iter().map(|r| r.id).collect::<Vec<_>>());
    // Newest first: ordered by (created_at, id) descending.
    let mut sorted = all.clone();
    sorted.sort_by_key(|run| std::cmp::Reverse((run.created_at, run.id)));
    assert_eq!(sorted, all);
    let mut expected = ids.clone();
    expected.sort();
    let mut got = listed.clone();
    got.sort();
    assert_eq!(got, expected);

    let (executing, next) = store
        .list_runs(owner, Some(RunStatus::Executing), 10, None)
        .await
        .unwrap();
    assert!(next.is_none());
    let mut executing: Vec<Uuid> = executing.into_iter().map(|r| r.id).collect();
    executing.sort();
    let mut want = ids[1..3].to_vec();
    want.sort();
    assert_eq!(executing, want);
    let (queued, _) = store
        .list_runs(owner, Some(RunStatus::Queued), 1, None)
        .await
        .unwrap();
    assert_eq!(queued.len(), 1);

    for bad in ["garbage", "12.34", "", "1.zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"] {
        assert!(
            matches!(
                store.list_runs(owner, None, 2, Some(bad.into())).await,
                Err(StoreError::Invalid(_))
            ),
            "{bad:?}"
        );
    }
}

async fn append_events_requires_contiguous_seqs(h: &Harness) {
    let store = h.store.as_ref();
    let owner = user(store, "appender").await;
    let run = new_run(store, owner, "t", 3).await;
    let batch: Vec<RunEvent> = (1..=3).map(|n| event(run, n, log(n))).collect();
    store.append_events(run, &batch).await.unwrap();
    assert_eq!(store.get_run_any(run).await.unwrap().last_seq, 3);

    // Gap.
    let gap = store
        .append_events(run, &[event(run, 5, log(5)), event(run, 6, log(6))])
        .await;
    assert_eq!(
        gap,
        Err(StoreError::SeqGap {
            expected: 4,
            got: 5
        })
    );
    // Duplicate (overlapping the stored tail, then new ones): nothing written.
    let dup = store
        .append_events(run, &[event(run, 3, log(3)), event(run, 4, log(4))])
        .await;
    assert_eq!(
        dup,
        Err(StoreError::SeqConflict {
            expected: 4,
            got: 3
        })
    );
    // Not contiguous within the batch.
    assert!(matches!(
        store
            .append_events(run, &[event(run, 4, log(4)), event(run, 6, log(6))])
            .await,
        Err(StoreError::Invalid(_))
    ));
    // Live-only events are never stored.
    let delta = EventKind::MessageDelta {
        message_id: "m".into(),
        agent: "a".into(),
        delta: "x".into(),
    };
    assert!(matches!(
        store
            .append_events(run, &[event(run, 4, log(4)), event(run, 5, delta)])
            .await,
        Err(StoreError::Invalid(_))
    ));
    // Another run's event.
    assert!(matches!(
        store
            .append_events(run, &[event(Uuid::new_v4(), 4, log(4))])
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store
            .append_events(Uuid::new_v4(), &[event(Uuid::nil(), 1, log(1))])
            .await,
        Err(StoreError::Invalid(_))
    ));
    let stored = store.events_after(run, 0, 100).await.unwrap();
    assert_eq!(stored, batch);
    assert_eq!(store.get_run_any(run).await.unwrap().last_seq, 3);

    store
        .append_events(run, &[event(run, 4, log(4))])
        .await
        .unwrap();
    assert_eq!(store.get_run_any(run).await.unwrap().last_seq, 4);

    // A batch larger than one INSERT chunk.
    let big: Vec<RunEvent> = (5..=1004).map(|n| event(run, n, log(n))).collect();
    store.append_events(run, &big).await.unwrap();
    assert_eq!(store.get_run_any(run).await.unwrap().last_seq, 1004);
    assert_eq!(store.events_after(run, 4, 2000).await.unwrap(), big);
}

async fn event_batches_of_many_runs_commit_together(h: &Harness) {
    let store = h.store.as_ref();
    let owner = user(store, "group-commit").await;
    let fresh = new_run(store, owner, "fresh", 3).await;
    let going = new_run(store, owner, "going", 3).await;
    let behind = new_run(store, owner, "behind", 3).await;
    let empty = new_run(store, owner, "empty", 3).await;
    store
        .append_events(going, &[event(going, 1, status(RunStatus::Building))])
        .await
        .unwrap();
    store
        .append_events(
            behind,
            &(1..=2)
                .map(|n| event(behind, n, log(n)))
                .collect::<Vec<_>>(),
        )
        .await
        .unwrap();
    let unknown = Uuid::new_v4();
    let totals = UsageTotals {
        prompt_tokens: 7,
        completion_tokens: 3,
        cost_usd: 0.5,
        calls: 1,
    };
    let fresh_events = vec![
        event(fresh, 1, status(RunStatus::Executing)),
        event(fresh, 2, message("m1", "planner", "hi")),
    ];
    let going_events = vec![
        event(going, 2, usage(7, 3, Some(0.5))),
        event(going, 3, status(RunStatus::Completed)),
        event(
            going,
            4,
            EventKind::Finished {
                status: RunStatus::Completed,
                summary: "done".into(),
                reason: StopReason::TextMention,
                usage: totals,
            },
        ),
    ];
    let batch = |run_id: Uuid, events: Vec<RunEvent>| EventBatch { run_id, events };
    let results = store
        .append_event_batches(&[
            batch(fresh, fresh_events.clone()),
            // Already has seq 2: another writer got there first.
            batch(behind, vec![event(behind, 2, log(2))]),
            batch(going, going_events.clone()),
            batch(unknown, vec![event(unknown, 1, log(1))]),
            batch(empty, Vec::new()),
            // A second batch of a run in the same call.
            batch(fresh, vec![event(fresh, 3, log(3))]),
            // Live-only events are never stored.
            batch(
                behind,
                vec![event(
                    behind,
                    3,
                    EventKind::MessageDelta {
                        message_id: "m".into(),
                        agent: "a".into(),
                        delta: "x".into(),
                    },
                )],
            ),
        ])
        .await
        .unwrap();
    assert_eq!(results.len(), 7);
    assert_eq!(results[0], Ok(()));
    assert_eq!(
        results[1],
        Err(StoreError::SeqConflict {
            expected: 3,
            got: 2
        })
    );
    assert_eq!(results[2], Ok(()));
    assert_eq!(results[3], Err(StoreError::NotFound { what: "run" }));
    assert_eq!(results[4], Ok(()));
    assert!(
        matches!(results[5], Err(StoreError::Invalid(_))),
        "{results:?}"
    );
    assert!(
        matches!(results[6], Err(StoreError::Invalid(_))),
        "{results:?}"
    );

    // The accepted batches are stored whole, with their run rows updated.
    assert_eq!(
        store.events_after(fresh, 0, 100).await.unwrap(),
        fresh_events
    );
    let record = store.get_run(owner, fresh).await.unwrap();
    assert_eq!((record.status, record.last_seq), (RunStatus::Executing, 2));
    assert!(record.started_at.is_some());
    assert_eq!(
        store.events_after(going, 1, 100).await.unwrap(),
        going_events
    );
    let record = store.get_run(owner, going).await.unwrap();
    assert_eq!(record.status, RunStatus::Completed);
    assert_eq!(record.usage, totals);
    assert_eq!(record.summary.as_deref(), Some("done"));
    assert!(record.finished_at.is_some());
    assert_eq!(record.last_seq, 4);
    // The refused ones are untouched.
    assert_eq!(store.get_run_any(behind).await.unwrap().last_seq, 2);
    assert_eq!(store.events_after(behind, 0, 100).await.unwrap().len(), 2);
    assert_eq!(store.get_run_any(empty).await.unwrap().last_seq, 0);

    // Many runs in one call, each continuing its own seqs.
    let mut runs = Vec::new();
    for n in 0..50 {
        runs.push(new_run(store, owner, &format!("bulk {n}"), 3).await);
    }
    for round in 0..3u64 {
        let batches: Vec<EventBatch> = runs
            .iter()
            .map(|&run| {
                let first = round * 2 + 1;
                batch(
                    run,
                    vec![
                        event(run, first, log(first)),
                        event(run, first + 1, log(first + 1)),
                    ],
                )
            })
            .collect();
        let results = store.append_event_batches(&batches).await.unwrap();
        assert!(results.iter().all(Result::is_ok), "{results:?}");
    }
    for &run in &runs {
        let seqs: Vec<u64> = store
            .events_after(run, 0, 100)
            .await
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(seqs, (1..=6).collect::<Vec<_>>());
        assert_eq!(store.get_run_any(run).await.unwrap().last_seq, 6);
    }
}

async fn append_events_updates_the_run_row(h: &Harness) {
    let store = h.store.as_ref();
    let owner = user(store, "row").await;
    let run = new_run(store, owner, "t", 3).await;
    store
        .append_events(
            run,
            &[
                event(run, 1, status(RunStatus::Building)),
                event(run, 2, usage(10, 5, Some(0.01))),
            ],
        )
        .await
        .unwrap();
    let record = store.get_run(owner, run).await.unwrap();
    assert_eq!(record.status, RunStatus::Building);
    let started = record.started_at.expect("started_at set");
    assert!(record.finished_at.is_none());
    assert!(record.team.is_none());

    store
        .append_events(
            run,
            &[
                event(
                    run,
                    3,
                    EventKind::Team {
                        team: Box::new(team("built")),
                    },
                ),
                event(run, 4, status(RunStatus::Executing)),
                event(run, 5, message("m1", "planner", "hello")),
            ],
        )
        .await
        .unwrap();
    let record = store.get_run(owner, run).await.unwrap();
    assert_eq!(record.status, RunStatus::Executing);
    assert_eq!(record.team, Some(team("built")));
    assert_eq!(record.started_at, Some(started), "started_at set once");

    let totals = UsageTotals {
        prompt_tokens: 10,
        completion_tokens: 5,
        cost_usd: 0.01,
        calls: 1,
    };
    store
        .append_events(
            run,
            &[
                event(
                    run,
                    6,
                    EventKind::Error {
                        code: FailureCode::LlmUnreachable,
                        message: "the model did not answer".into(),
                        retryable: true,
                    },
                ),
                event(run, 7, status(RunStatus::Failed)),
                event(
                    run,
                    8,
                    EventKind::Finished {
                        status: RunStatus::Failed,
                        summary: "the model did not answer".into(),
                        reason: StopReason::Error,
                        usage: totals,
                    },
                ),
            ],
        )
        .await
        .unwrap();
    let record = store.get_run(owner, run).await.unwrap();
    assert_eq!(record.status, RunStatus::Failed);
    assert_eq!(record.error_code, Some(FailureCode::LlmUnreachable));
    assert_eq!(
        record.error_message.as_deref(),
        Some("the model did not answer")
    );
    assert_eq!(record.summary.as_deref(), Some("the model did not answer"));
    assert_eq!(record.usage, totals);
    assert_eq!(record.last_seq, 8);
    assert!(record.finished_at.is_some());
    assert_eq!(record.request["max_rounds"], 4);
}

async fn events_after_pages_exactly(h: &Harness) {
    let store = h.store.as_ref();
    let owner = user(store, "pager").await;
    let run = new_run(store, owner, "t", 3).await;
    let all: Vec<RunEvent> = (1..=10).map(|n| event(run, n, log(n))).collect();
    store.append_events(run, &all).await.unwrap();
    let page = store.events_after(run, 3, 4).await.unwrap();
    assert_eq!(page, all[3..7].to_vec());
    assert_eq!(types(&page).first(), Some(&(4, "log")));
    assert_eq!(
        store.events_after(run, 7, 100).await.unwrap(),
        all[7..].to_vec()
    );
    assert!(store.events_after(run, 10, 100).await.unwrap().is_empty());
    assert!(store.events_after(run, 0, 0).await.unwrap().is_empty());
    assert!(
        store
            .events_after(Uuid::new_v4(), 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        store.get_run_any(Uuid::new_v4()).await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn resume_state_rebuilds_team_transcript_usage(h: &Harness) {
    let store = h.store.as_ref();
    let owner = user(store, "resumer").await;
    let run = new_run(store, owner, "t", 3).await;
    let events = vec![
        event(run, 1, status(RunStatus::Building)),
        event(run, 2, usage(100, 20, Some(0.5))),
        event(
            run,
            3,
            EventKind::Team {
                team: Box::new(team("first")),
            },
        ),
        event(
            run,
            4,
            EventKind::Team {
                team: Box::new(team("second")),
            },
        ),
        event(run, 5, status(RunStatus::Executing)),
        event(run, 6, message("m0", "User", "the task")),
        event(
            run,
            7,
            EventKind::Speaker {
                agent: "planner".into(),
                reason: "auto".into(),
            },
        ),
        event(run, 8, usage(50, 10, None)),
        event(run, 9, message("m1", "planner", "a plan")),
    ];
    store.append_events(run, &events).await.unwrap();
    let (state, last) = store.resume_state(run).await.unwrap();
    assert_eq!(last, 9);
    assert_eq!(state.team, Some(team("second")));
    let transcript: Vec<(&str, &str, &str)> = state
        .transcript
        .iter()
        .map(|m| (m.message_id.as_str(), m.agent.as_str(), m.content.as_str()))
        .collect();
    assert_eq!(
        transcript,
        vec![("m0", "User", "the task"), ("m1", "planner", "a plan")]
    );
    assert_eq!(state.transcript[1].tokens, 3);
    assert_eq!(
        state.usage,
        UsageTotals {
            prompt_tokens: 150,
            completion_tokens: 30,
            cost_usd: 0.5,
            calls: 2,
        }
    );
    let fresh = new_run(store, owner, "fresh", 3).await;
    let (empty, zero) = store.resume_state(fresh).await.unwrap();
    assert_eq!((empty, zero), (Default::default(), 0));
    assert!(matches!(
        store.resume_state(Uuid::new_v4()).await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn a_run_created_with_history_resumes_after_it(h: &Harness) {
    let store = h.store.as_ref();
    let owner = user(store, "forker").await;
    // The caller's run ids and seqs are placeholders: the store sets them.
    let elsewhere = Uuid::new_v4();
    let history = vec![
        event(
            elsewhere,
            40,
            EventKind::Team {
                team: Box::new(team("copied")),
            },
        ),
        event(elsewhere, 41, message("m0", "User", "the task")),
        event(elsewhere, 42, message("m1", "planner", "an edited plan")),
    ];
    let run = store
        .create_run_with_history(
            NewRun {
                owner,
                task: "the task".into(),
                request: serde_json::json!({"task": "the task"}),
                max_attempts: 3,
            },
            history,
        )
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Queued);
    assert_eq!(run.last_seq, 3);
    assert_eq!(run.team, Some(team("copied")));
    assert_eq!(store.get_run(owner, run.id).await.unwrap(), run);
    let stored = store.events_after(run.id, 0, 10).await.unwrap();
    assert_eq!(
        stored.iter().map(|e| (e.run_id, e.seq)).collect::<Vec<_>>(),
        vec![(run.id, 1), (run.id, 2), (run.id, 3)]
    );
    let (state, last) = store.resume_state(run.id).await.unwrap();
    assert_eq!(last, 3);
    assert_eq!(state.team, Some(team("copied")));
    let contents: Vec<&str> = state
        .transcript
        .iter()
        .map(|m| m.content.as_str())
        .collect();
    assert_eq!(contents, vec!["the task", "an edited plan"]);
    let job = store.claim_job("w", LEASE, None).await.unwrap().unwrap();
    assert_eq!((job.run_id, job.attempt), (run.id, 1));

    // All or nothing: an unknown owner leaves neither run, job nor events behind.
    let ghost = Uuid::new_v4();
    let refused = store
        .create_run_with_history(
            NewRun {
                owner: ghost,
                task: "t".into(),
                request: serde_json::json!({}),
                max_attempts: 3,
            },
            vec![event(elsewhere, 1, message("m0", "User", "t"))],
        )
        .await;
    assert!(
        matches!(refused, Err(StoreError::NotFound { .. })),
        "{refused:?}"
    );
    assert!(
        store
            .list_runs(ghost, None, 10, None)
            .await
            .unwrap()
            .0
            .is_empty()
    );
    assert_eq!(store.claim_job("w", LEASE, None).await.unwrap(), None);
}

async fn concurrent_claimers_never_share_a_job(h: &Harness) {
    let owner = user(h.store.as_ref(), "racer").await;
    // One job, two claimers at once: exactly one wins.
    new_run(h.store.as_ref(), owner, "solo", 3).await;
    let (a, b) = {
        let (s1, s2) = (h.store.clone(), h.store.clone());
        let t1 = tokio::spawn(async move { s1.claim_job("w1", LEASE, None).await.unwrap() });
        let t2 = tokio::spawn(async move { s2.claim_job("w2", LEASE * 50, None).await.unwrap() });
        (t1.await.unwrap(), t2.await.unwrap())
    };
    assert_eq!(a.is_some() as u8 + b.is_some() as u8, 1, "{a:?} {b:?}");

    // Many jobs, four claimers (separate connections on PostgreSQL): each job once.
    let mut runs = Vec::new();
    for n in 0..12 {
        runs.push(new_run(h.store.as_ref(), owner, &format!("job {n}"), 3).await);
    }
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let store = h.store.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(job) = store
                .claim_job(&format!("w{worker}"), Duration::from_secs(30), None)
                .await
                .unwrap()
            {
                mine.push(job.run_id);
            }
            mine
        }));
    }
    let mut claimed = Vec::new();
    for task in tasks {
        claimed.extend(task.await.unwrap());
    }
    claimed.sort();
    runs.sort();
    assert_eq!(claimed, runs);
}

/// Runs created and jobs completed at the same moment (which PostgreSQL writes together,
/// one statement per batch): each caller gets its own answer, a bad request fails alone,
/// and a job is completed once, by its holder only.
async fn concurrent_creates_and_completions_answer_each_caller(h: &Harness) {
    let owner = user(h.store.as_ref(), "crowd").await;
    let ghost = Uuid::new_v4();
    let creates: Vec<_> = (0..40)
        .map(|n| {
            let store = h.store.clone();
            // Every tenth request names a user who does not exist.
            let who = if n % 10 == 3 { ghost } else { owner };
            tokio::spawn(async move {
                let created = store
                    .create_run(NewRun {
                        owner: who,
                        task: format!("task {n}"),
                        request: serde_json::json!({"n": n}),
                        max_attempts: 3,
                    })
                    .await;
                (n, who, created)
            })
        })
        .collect();
    let mut created = Vec::new();
    for task in creates {
        let (n, who, result) = task.await.unwrap();
        if who == ghost {
            assert_eq!(
                result,
                Err(StoreError::NotFound { what: "user" }),
                "request {n}"
            );
        } else {
            let run = result.unwrap();
            assert_eq!(run.task, format!("task {n}"));
            assert_eq!(run.request, serde_json::json!({"n": n}));
            assert_eq!(h.store.get_run(owner, run.id).await.unwrap(), run);
            created.push(run.id);
        }
    }
    assert_eq!(created.len(), 36);
    assert!(
        h.store
            .list_runs(ghost, None, 10, None)
            .await
            .unwrap()
            .0
            .is_empty()
    );

    let claims = h.store.claim_jobs("holder", LEASE, None, 64).await.unwrap();
    let mut claimed: Vec<Uuid> = claims.jobs.iter().map(|job| job.run_id).collect();
    claimed.sort();
    created.sort();
    assert_eq!(claimed, created, "every created run has exactly one job");

    // Each job completed twice by its holder and once by a stranger, all at once.
    let completions: Vec<_> = claims
        .jobs
        .iter()
        .flat_map(|job| {
            [
                (job.job_id, "holder"),
                (job.job_id, "holder"),
                (job.job_id, "stranger"),
            ]
        })
        .map(|(job, worker)| {
            let store = h.store.clone();
            tokio::spawn(
                async move { (job, worker, store.complete_job(job, worker).await.unwrap()) },
            )
        })
        .collect();
    let mut done = std::collections::HashMap::new();
    for task in completions {
        let (job, worker, completed) = task.await.unwrap();
        if worker == "stranger" {
            assert!(!completed, "a stranger completed {job}");
        } else if completed {
            *done.entry(job).or_insert(0) += 1;
        }
    }
    assert_eq!(done.len(), claims.jobs.len());
    assert!(done.values().all(|&n| n == 1), "{done:?}");
    assert_eq!(h.store.claim_job("late", LEASE, None).await.unwrap(), None);
}

async fn batch_claims_take_the_oldest_once_and_retire_exhausted_jobs(h: &Harness) {
    let store = h.store.as_ref();
    let owner = user(store, "batcher").await;
    // A job out of attempts: claimed once (max 1), its lease left to expire.
    let doomed = new_run(store, owner, "doomed", 1).await;
    let first = store.claim_job("gone", LEASE, None).await.unwrap().unwrap();
    assert_eq!(first.run_id, doomed);
    let mut runs = Vec::new();
    for n in 0..5 {
        runs.push(new_run(store, owner, &format!("job {n}"), 3).await);
    }
    tokio::time::sleep(LEASE + Duration::from_millis(100)).await;

    let claims = store.claim_jobs("w", LEASE * 50, None, 3).await.unwrap();
    let mut batch: Vec<Uuid> = claims.jobs.iter().map(|job| job.run_id).collect();
    batch.sort();
    let mut oldest = runs[..3].to_vec();
    oldest.sort();
    assert_eq!(
        batch, oldest,
        "the doomed job is retired, the 3 oldest claimed"
    );
    let doomed_run = store.get_run_any(doomed).await.unwrap();
    assert_eq!(doomed_run.status, RunStatus::Failed);
    assert_eq!(doomed_run.error_code, Some(FailureCode::WorkerLost));
    // The events that failed it come back for the caller to publish, as stored.
    assert_eq!(
        claims.ended,
        store.events_after(doomed, 0, 10).await.unwrap(),
        "the claim returns the worker_lost events it wrote"
    );
    assert_eq!(
        types(&claims.ended),
        vec![(1, "error"), (2, "status"), (3, "finished")]
    );

    let rest = store.claim_jobs("w", LEASE * 50, None, 100).await.unwrap();
    assert_eq!(rest.ended, [], "nothing else was failed");
    let mut rest: Vec<Uuid> = rest.jobs.iter().map(|job| job.run_id).collect();
    rest.sort();
    let mut newest = runs[3..].to_vec();
    newest.sort();
    assert_eq!(rest, newest);
    assert_eq!(
        store.claim_jobs("w", LEASE, None, 100).await.unwrap(),
        Default::default()
    );

    // Concurrent batch claimers: every job exactly once.
    let mut more = Vec::new();
    for n in 0..40 {
        more.push(new_run(store, owner, &format!("more {n}"), 3).await);
    }
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let store = h.store.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let jobs = store
                    .claim_jobs(&format!("b{worker}"), Duration::from_secs(30), None, 4)
                    .await
                    .unwrap()
                    .jobs;
                if jobs.is_empty() {
                    return mine;
                }
                mine.extend(jobs.iter().map(|job| job.run_id));
            }
        }));
    }
    let mut claimed = Vec::new();
    for task in tasks {
        claimed.extend(task.await.unwrap());
    }
    claimed.sort();
    more.sort();
    assert_eq!(claimed, more);

    // Under a per-owner limit, a batch never exceeds it.
    let limited = user(store, "limited").await;
    for n in 0..4 {
        new_run(store, limited, &format!("limited {n}"), 3).await;
    }
    let jobs = store
        .claim_jobs("w", Duration::from_secs(30), Some(2), 10)
        .await
        .unwrap()
        .jobs;
    assert_eq!(jobs.len(), 2);
    assert!(jobs.iter().all(|job| job.owner == limited));
}

async fn expired_lease_is_reclaimed(h: &Harness) {
    let store = h.store.as_ref();
    let owner = user(store, "leaser").await;
    let run = new_run(store, owner, "t", 3).await;
    let first = store.claim_job("old", LEASE, None).await.unwrap().unwrap();
    assert_eq!(first.attempt, 1);
    assert_eq!(store.claim_job("new", LEASE, None).await.unwrap(), None);
    assert_eq!(
        store.heartbeat_held("old", LEASE).await.unwrap(),
        [held_job(&first, false)]
    );

    tokio::time::sleep(LEASE + Duration::from_millis(100)).await;
    let second = store
        .claim_job("new", LEASE * 10, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (second.job_id, second.run_id, second.attempt),
        (first.job_id, run, 2)
    );
    // The stale worker's heartbeat renews nothing; the new holder's renews its job.
    assert_eq!(store.heartbeat_held("old", LEASE).await.unwrap(), []);
    assert_eq!(
        store.heartbeat_held("new", LEASE * 10).await.unwrap(),
        [held_job(&second, false)]
    );
    assert!(!store.complete_job(first.job_id, "old").await.unwrap());
    assert!(!store.release_job(first.job_id, "old").await.unwrap());
    assert!(store.complete_job(second.job_id, "new").await.unwrap());
    assert_eq!(store.claim_job("any", LEASE, None).await.unwrap(), None);
    // Done: neither worker holds it, and a worker that never claimed holds nothing.
    assert_eq!(store.heartbeat_held("new", LEASE).await.unwrap(), []);
    assert_eq!(store.heartbeat_held("unknown", LEASE).await.unwrap(), []);
}

async fn queue_stats_count_waiting_and_held_jobs(h: &Harness) {
    let store = h.store.as_ref();
    let idle = store.queue_stats().await.unwrap();
    assert_eq!(
        (idle.queued, idle.running, idle.oldest_queued_at),
        (0, 0, None)
    );
    let pool = store.pool_stats();
    assert!(
        pool.max >= 1 && pool.idle <= pool.open && pool.open <= pool.max,
        "{pool:?}"
    );

    let owner = user(store, "queued").await;
    let before = now();
    new_run(store, owner, "first", 3).await;
    new_run(store, owner, "second", 3).await;
    let waiting = store.queue_stats().await.unwrap();
    assert_eq!((waiting.queued, waiting.running), (2, 0));
    let oldest = waiting.oldest_queued_at.unwrap();
    assert!(
        oldest >= before - chrono::Duration::seconds(1) && oldest <= now(),
        "{oldest}"
    );

    // Long enough that a loaded machine reads the stats within it.
    let lease = LEASE * 10;
    let held = store.claim_job("w", lease, None).await.unwrap().unwrap();
    let claimed = store.queue_stats().await.unwrap();
    assert_eq!((claimed.queued, claimed.running), (1, 1));
    // A lease that runs out makes its job claimable again: waiting, not running.
    tokio::time::sleep(lease + Duration::from_millis(100)).await;
    let expired = store.queue_stats().await.unwrap();
    assert_eq!((expired.queued, expired.running), (2, 0));
    assert!(store.complete_job(held.job_id, "w").await.unwrap());
    let done = store.queue_stats().await.unwrap();
    assert_eq!((done.queued, done.running), (1, 0));
}

async fn worker_wide_heartbeat_and_cancel_poll(h: &Harness) {
    let store = h.store.as_ref();
    let owner = user(store, "busy").await;
    let a = new_run(store, owner, "a", 3).await;
    let b = new_run(store, owner, "b", 3).await;
    let c = new_run(store, owner, "c", 3).await;
    let ja = store.claim_job("w", LEASE, None).await.unwrap().unwrap();
    let jb = store.claim_job("w", LEASE, None).await.unwrap().unwrap();
    let jc = store
        .claim_job("other", LEASE, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((ja.run_id, jb.run_id, jc.run_id), (a, b, c));
    let held = |mut jobs: Vec<cadre_store::HeldJob>| {
        jobs.sort_by_key(|job| job.run_id == b);
        jobs.iter()
            .map(|job| (job.job_id, job.run_id, job.cancel_requested))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        held(store.heartbeat_held("w", LEASE).await.unwrap()),
        [(ja.job_id, a, false), (jb.job_id, b, false)]
    );
    assert_eq!(
        store.cancel_requested("w").await.unwrap(),
        Vec::<Uuid>::new()
    );

    store.request_cancel(owner, b).await.unwrap();
    store.request_cancel(owner, c).await.unwrap();
    assert_eq!(store.cancel_requested("w").await.unwrap(), [b]);
    assert_eq!(store.cancel_requested("other").await.unwrap(), [c]);

    // Renewed leases hold past the original expiry; the unrenewed one is reclaimed.
    tokio::time::sleep(LEASE * 2 / 3).await;
    assert_eq!(
        held(store.heartbeat_held("w", LEASE).await.unwrap()),
        [(ja.job_id, a, false), (jb.job_id, b, true)]
    );
    tokio::time::sleep(LEASE * 2 / 3).await;
    let taken = store
        .claim_job("x", LEASE * 10, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(taken.run_id, c);
    assert_eq!(store.claim_job("x", LEASE, None).await.unwrap(), None);
    assert_eq!(store.heartbeat_held("other", LEASE).await.unwrap(), []);
    assert_eq!(
        store.cancel_requested("other").await.unwrap(),
        Vec::<Uuid>::new()
    );

    // Done jobs are no longer held.
    assert!(store.complete_job(ja.job_id, "w").await.unwrap());
    assert_eq!(
        held(store.heartbeat_held("w", LEASE).await.unwrap()),
        [(jb.job_id, b, true)]
    );
}

async fn human_input_reaches_a_waiting_run_once(h: &Harness) {
    let store = h.store.as_ref();
    let owner = user(store, "human").await;
    let stranger = user(store, "stranger").await;
    let run = new_run(store, owner, "t", 3).await;
    let conflict = |result: Result<cadre_store::RunRecord, StoreError>, what: &str| match result {
        Err(StoreError::Conflict { what: why }) => assert!(why.contains(what), "{why}"),
        other => panic!("expected a conflict about {what:?}, got {other:?}"),
    };
    conflict(store.submit_input(owner, run, "1").await, "queued");
    // Held by a worker, so that a cancel request does not end the run at once.
    store
        .claim_job("w", LEASE * 50, None)
        .await
        .unwrap()
        .unwrap();
    store
        .append_events(
            run,
            &[
                event(run, 1, status(RunStatus::Executing)),
                event(run, 2, status(RunStatus::WaitingInput)),
            ],
        )
        .await
        .unwrap();
    assert_eq!(store.take_input(run).await.unwrap(), None);
    assert!(matches!(
        store.submit_input(stranger, run, "1").await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.submit_input(owner, Uuid::new_v4(), "1").await,
        Err(StoreError::NotFound { .. })
    ));
    let record = store.submit_input(owner, run, "planner").await.unwrap();
    assert_eq!(record.status, RunStatus::WaitingInput);
    conflict(
        store.submit_input(owner, run, "other").await,
        "already pending",
    );
    assert_eq!(
        store.take_input(run).await.unwrap().as_deref(),
        Some("planner")
    );
    assert_eq!(store.take_input(run).await.unwrap(), None);

    // Waiting again: a new answer is accepted; a run being cancelled takes none.
    store.submit_input(owner, run, "2").await.unwrap();
    assert_eq!(store.take_input(run).await.unwrap().as_deref(), Some("2"));
    store.request_cancel(owner, run).await.unwrap();
    conflict(store.submit_input(owner, run, "3").await, "cancelled");
    store
        .append_events(run, &[event(run, 3, status(RunStatus::Executing))])
        .await
        .unwrap();
    conflict(store.submit_input(owner, run, "4").await, "executing");
    assert_eq!(store.take_input(run).await.unwrap(), None);
    assert_eq!(store.take_input(Uuid::new_v4()).await.unwrap(), None);
}

async fn exhausted_attempts_fail_the_run(h: &Harness) {
    let store = h.store.as_ref();
    let owner = user(store, "unlucky").await;
    let run = new_run(store, owner, "t", 2).await;
    let short = Duration::from_millis(100);
    let first = store.claim_job("w1", short, None).await.unwrap().unwrap();
    store
        .append_events(
            run,
            &[
                event(run, 1, status(RunStatus::Building)),
                event(run, 2, usage(7, 3, Some(0.25))),
            ],
        )
        .await
        .unwrap();
    tokio::time::sleep(short + Duration::from_millis(60)).await;
    let second = store.claim_job("w2", short, None).await.unwrap().unwrap();
    assert_eq!((second.job_id, second.attempt), (first.job_id, 2));
    store
        .append_events(run, &[event(run, 3, usage(1, 1, None))])
        .await
        .unwrap();
    // The run moved on in each attempt so far: it is not given up. From here on its
    // workers keep dying without storing anything: two more attempts (the limit), and
    // then it is.
    for (worker, attempt) in [("w3", 3), ("w4", 4)] {
        tokio::time::sleep(short + Duration::from_millis(60)).await;
        let again = store.claim_job(worker, short, None).await.unwrap().unwrap();
        assert_eq!((again.job_id, again.attempt), (first.job_id, attempt));
    }
    tokio::time::sleep(short + Duration::from_millis(60)).await;

    // A later job of the same owner is what the next claim gets; the exhausted one is
    // retired on the way.
    let later = new_run(store, owner, "later", 2).await;
    let next = store.claim_job("w5", short, None).await.unwrap().unwrap();
    assert_eq!(next.run_id, later);
    let record = store.get_run(owner, run).await.unwrap();
    assert_eq!(record.status, RunStatus::Failed);
    assert_eq!(record.error_code, Some(FailureCode::WorkerLost));
    assert!(record.finished_at.is_some());
    let expected_usage = UsageTotals {
        prompt_tokens: 8,
        completion_tokens: 4,
        cost_usd: 0.25,
        calls: 2,
    };
    assert_eq!(record.usage, expected_usage);
    let events = store.events_after(run, 3, 100).await.unwrap();
    assert_eq!(
        types(&events),
        vec![(4, "error"), (5, "status"), (6, "finished")]
    );
    match &events[0].kind {
        EventKind::Error { code, message, .. } => {
            assert_eq!(*code, FailureCode::WorkerLost);
            assert!(
                message.contains("2 attempts in a row that made no progress"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(events[1].kind, status(RunStatus::Failed));
    match &events[2].kind {
        EventKind::Finished { status, usage, .. } => {
            assert_eq!(*status, RunStatus::Failed);
            assert_eq!(*usage, expected_usage);
        }
        other => panic!("{other:?}"),
    }
    // Never claimed again, even after the other lease expires.
    tokio::time::sleep(short + Duration::from_millis(60)).await;
    let again = store.claim_job("w6", short, None).await.unwrap().unwrap();
    assert_eq!(again.run_id, later);
    assert!(store.complete_job(again.job_id, "w6").await.unwrap());
    assert_eq!(store.claim_job("w7", short, None).await.unwrap(), None);
    // The retired job is no longer its last claimer's.
    assert_eq!(store.heartbeat_held("w4", short).await.unwrap(), []);
}

async fn per_owner_limit_at_claim_time(h: &Harness) {
    let store = h.store.as_ref();
    let alice = user(store, "alice").await;
    let bob = user(store, "bob").await;
    let a1 = new_run(store, alice, "a1", 3).await;
    let a2 = new_run(store, alice, "a2", 3).await;
    let b1 = new_run(store, bob, "b1", 3).await;
    let lease = Duration::from_secs(30);
    let first = store.claim_job("w", lease, Some(1)).await.unwrap().unwrap();
    assert_eq!(first.run_id, a1);
    let second = store.claim_job("w", lease, Some(1)).await.unwrap().unwrap();
    assert_eq!(
        second.run_id, b1,
        "alice is at her limit, bob's job is claimable"
    );
    assert_eq!(store.claim_job("w", lease, Some(1)).await.unwrap(), None);
    // Without a limit (or a higher one), alice's second job is claimable.
    assert!(store.complete_job(first.job_id, "w").await.unwrap());
    let third = store.claim_job("w", lease, Some(1)).await.unwrap().unwrap();
    assert_eq!(third.run_id, a2);

    // Concurrent claimers still respect the limit.
    let carol = user(store, "carol").await;
    for n in 0..6 {
        new_run(store, carol, &format!("c{n}"), 3).await;
    }
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let store = h.store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .claim_job(&format!("cw{worker}"), lease, Some(2))
                .await
                .unwrap()
        }));
    }
    let mut carols = 0;
    for task in tasks {
        if let Some(job) = task.await.unwrap() {
            assert_eq!(job.owner, carol);
            carols += 1;
        }
    }
    assert_eq!(carols, 2);
}

async fn release_does_not_count_an_attempt(h: &Harness) {
    let store = h.store.as_ref();
    let owner = user(store, "releaser").await;
    let run = new_run(store, owner, "t", 1).await;
    let job = store.claim_job("w1", LEASE, None).await.unwrap().unwrap();
    assert_eq!(job.attempt, 1);
    assert!(!store.release_job(job.job_id, "someone-else").await.unwrap());
    assert!(store.release_job(job.job_id, "w1").await.unwrap());
    assert_eq!(store.heartbeat_held("w1", LEASE).await.unwrap(), []);
    // With max_attempts = 1, only an uncounted release makes this claim possible.
    let again = store.claim_job("w2", LEASE, None).await.unwrap().unwrap();
    assert_eq!((again.run_id, again.attempt), (run, 1));
    assert_ne!(
        store.get_run_any(run).await.unwrap().status,
        RunStatus::Failed
    );
}

async fn cancel_queued_and_claimed_runs(h: &Harness) {
    let store = h.store.as_ref();
    let owner = user(store, "canceller").await;
    let queued = new_run(store, owner, "queued", 3).await;
    assert!(matches!(
        store.request_cancel(Uuid::new_v4(), queued).await,
        Err(StoreError::NotFound { .. })
    ));
    let cancellation = store.request_cancel(owner, queued).await.unwrap();
    let record = cancellation.run;
    assert_eq!(record.status, RunStatus::Cancelled);
    assert!(record.cancel_requested);
    assert!(record.finished_at.is_some());
    assert_eq!(record.last_seq, 2);
    let events = store.events_after(queued, 0, 10).await.unwrap();
    assert_eq!(types(&events), vec![(1, "status"), (2, "finished")]);
    assert_eq!(
        cancellation.ended, events,
        "the store hands back what it wrote"
    );
    assert_eq!(events[0].kind, status(RunStatus::Cancelled));
    assert!(matches!(
        events[1].kind,
        EventKind::Finished {
            status: RunStatus::Cancelled,
            ..
        }
    ));
    assert_eq!(store.claim_job("w", LEASE, None).await.unwrap(), None);
    // Cancelling a terminal run is a no-op.
    let again = store.request_cancel(owner, queued).await.unwrap();
    assert_eq!(again.run, record);
    assert_eq!(again.ended, [], "nothing more is written");

    let claimed = new_run(store, owner, "claimed", 3).await;
    let job = store
        .claim_job("w", Duration::from_secs(30), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.run_id, claimed);
    assert_eq!(
        store.heartbeat_held("w", LEASE).await.unwrap(),
        [held_job(&job, false)]
    );
    let cancellation = store.request_cancel(owner, claimed).await.unwrap();
    assert_eq!(cancellation.ended, [], "the worker writes the cancellation");
    let record = cancellation.run;
    assert!(record.cancel_requested);
    assert_eq!(record.status, RunStatus::Queued, "the worker finishes it");
    assert_eq!(record.last_seq, 0);
    // Still the worker's job, now with the cancel request.
    assert_eq!(
        store.heartbeat_held("w", LEASE).await.unwrap(),
        [held_job(&job, true)]
    );
}

async fn delete_cascades_and_refuses_executing_runs(h: &Harness) {
    let store = h.store.as_ref();
    let owner = user(store, "deleter").await;
    let queued = new_run(store, owner, "queued", 3).await;
    let running = new_run(store, owner, "running", 3).await;
    store
        .append_events(queued, &[event(queued, 1, log(1))])
        .await
        .unwrap();
    // Claim the oldest (queued was created first); claim again for `running`.
    let first = store
        .claim_job("w", Duration::from_secs(30), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.run_id, queued);
    assert!(store.release_job(first.job_id, "w").await.unwrap());
    // `queued` is queued again: deletable.
    assert!(matches!(
        store.delete_run(Uuid::new_v4(), queued).await,
        Err(StoreError::NotFound { .. })
    ));
    store.delete_run(owner, queued).await.unwrap();
    assert!(matches!(
        store.get_run(owner, queued).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(store.events_after(queued, 0, 10).await.unwrap().is_empty());
    assert!(matches!(
        store.get_run_any(queued).await,
        Err(StoreError::NotFound { .. })
    ));

    let job = store
        .claim_job("w", Duration::from_secs(30), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.run_id, running);
    store
        .append_events(
            running,
            &[
                event(running, 1, status(RunStatus::Executing)),
                event(running, 2, message("m", "a", "hi")),
            ],
        )
        .await
        .unwrap();
    assert!(matches!(
        store.delete_run(owner, running).await,
        Err(StoreError::Conflict { .. })
    ));
    assert!(store.complete_job(job.job_id, "w").await.unwrap());
    assert!(h.job_exists(job.job_id).await);
    store.delete_run(owner, running).await.unwrap();
    assert!(store.events_after(running, 0, 10).await.unwrap().is_empty());
    // The job went with its run.
    assert!(!h.job_exists(job.job_id).await);
    assert_eq!(store.heartbeat_held("w", LEASE).await.unwrap(), []);
    assert!(
        store
            .list_runs(owner, None, 10, None)
            .await
            .unwrap()
            .0
            .is_empty()
    );
}

// ---------------------------------------------------------------- accounts

fn new_user(email: &str, hash: Option<&str>, is_admin: bool) -> NewUser {
    NewUser {
        email: email.into(),
        password_hash: hash.map(String::from),
        is_admin,
    }
}

fn refresh(hash: &str, valid_for: chrono::Duration) -> NewRefreshToken {
    NewRefreshToken {
        token_hash: hash.into(),
        expires_at: Utc::now() + valid_for,
    }
}

async fn users_are_unique_and_can_be_disabled(h: &Harness) {
    let store = h.store.as_ref();
    assert_eq!(store.count_password_users().await.unwrap(), 0);
    store.ensure_user("no-password@x").await.unwrap();
    let admin = store
        .create_user(new_user("admin@x", Some("$argon2id$hash-a"), true))
        .await
        .unwrap();
    assert!(admin.is_admin && !admin.disabled);
    assert_eq!(store.count_password_users().await.unwrap(), 1);
    assert!(matches!(
        store.create_user(new_user("admin@x", None, false)).await,
        Err(StoreError::Conflict { .. })
    ));
    let (found, hash) = store.user_by_email("admin@x").await.unwrap().unwrap();
    assert_eq!(found, admin);
    assert_eq!(hash.as_deref(), Some("$argon2id$hash-a"));
    assert_eq!(store.user_by_email("nobody@x").await.unwrap(), None);
    assert_eq!(store.user_by_id(admin.id).await.unwrap(), admin);
    assert!(matches!(
        store.user_by_id(Uuid::new_v4()).await,
        Err(StoreError::NotFound { .. })
    ));

    let bob = store
        .create_user(new_user("bob@x", Some("h1"), false))
        .await
        .unwrap();
    let emails: Vec<String> = store
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.email)
        .collect();
    assert_eq!(emails, ["no-password@x", "admin@x", "bob@x"]);

    store.set_password(bob.id, "h2").await.unwrap();
    assert_eq!(
        store
            .user_by_email("bob@x")
            .await
            .unwrap()
            .unwrap()
            .1
            .as_deref(),
        Some("h2")
    );
    assert!(matches!(
        store.set_password(Uuid::new_v4(), "h").await,
        Err(StoreError::NotFound { .. })
    ));
    store
        .insert_refresh_token(bob.id, refresh("bob-1", chrono::Duration::hours(1)))
        .await
        .unwrap();
    let disabled = store.set_disabled(bob.id, true).await.unwrap();
    assert!(disabled.disabled);
    // Disabling revoked the session.
    assert_eq!(
        store
            .rotate_refresh_token("bob-1", refresh("bob-2", chrono::Duration::hours(1)))
            .await
            .unwrap(),
        RefreshOutcome::Invalid
    );
    assert!(!store.set_disabled(bob.id, false).await.unwrap().disabled);
}

async fn refresh_tokens_rotate_and_reuse_revokes_the_family(h: &Harness) {
    let store = h.store.as_ref();
    let user = store
        .create_user(new_user("rot@x", Some("h"), false))
        .await
        .unwrap();
    let hour = chrono::Duration::hours(1);
    store
        .insert_refresh_token(user.id, refresh("t1", hour))
        .await
        .unwrap();
    // Another login: a separate family.
    store
        .insert_refresh_token(user.id, refresh("other-1", hour))
        .await
        .unwrap();

    match store
        .rotate_refresh_token("t1", refresh("t2", hour))
        .await
        .unwrap()
    {
        RefreshOutcome::Rotated { user: u } => assert_eq!(u.id, user.id),
        other => panic!("expected a rotation, got {other:?}"),
    }
    assert!(matches!(
        store
            .rotate_refresh_token("t2", refresh("t3", hour))
            .await
            .unwrap(),
        RefreshOutcome::Rotated { .. }
    ));
    // t1 again: reuse. The family (t1, t2, t3) is revoked; the other login is not.
    assert_eq!(
        store
            .rotate_refresh_token("t1", refresh("x", hour))
            .await
            .unwrap(),
        RefreshOutcome::Reused { user_id: user.id }
    );
    assert_eq!(
        store
            .rotate_refresh_token("t3", refresh("t4", hour))
            .await
            .unwrap(),
        RefreshOutcome::Invalid
    );
    assert!(matches!(
        store
            .rotate_refresh_token("other-1", refresh("other-2", hour))
            .await
            .unwrap(),
        RefreshOutcome::Rotated { .. }
    ));
    // Logout revokes the family.
    assert_eq!(
        store.revoke_refresh_family("other-2").await.unwrap(),
        Some(user.id)
    );
    assert_eq!(
        store
            .rotate_refresh_token("other-2", refresh("other-3", hour))
            .await
            .unwrap(),
        RefreshOutcome::Invalid
    );
    assert_eq!(store.revoke_refresh_family("unknown").await.unwrap(), None);
    // Unknown and expired tokens.
    assert_eq!(
        store
            .rotate_refresh_token("never", refresh("n", hour))
            .await
            .unwrap(),
        RefreshOutcome::Invalid
    );
    store
        .insert_refresh_token(user.id, refresh("old", -chrono::Duration::seconds(1)))
        .await
        .unwrap();
    assert_eq!(
        store
            .rotate_refresh_token("old", refresh("o", hour))
            .await
            .unwrap(),
        RefreshOutcome::Invalid
    );

    // Two refreshes racing with one token: exactly one rotates.
    store
        .insert_refresh_token(user.id, refresh("race", hour))
        .await
        .unwrap();
    let (s1, s2) = (h.store.clone(), h.store.clone());
    let a = tokio::spawn(async move { s1.rotate_refresh_token("race", refresh("ra", hour)).await });
    let b = tokio::spawn(async move { s2.rotate_refresh_token("race", refresh("rb", hour)).await });
    let outcomes = [a.await.unwrap().unwrap(), b.await.unwrap().unwrap()];
    let rotated = outcomes
        .iter()
        .filter(|o| matches!(o, RefreshOutcome::Rotated { .. }))
        .count();
    assert_eq!(rotated, 1, "{outcomes:?}");
}

async fn audit_log_pages_newest_first(h: &Harness) {
    let store = h.store.as_ref();
    let user = store
        .create_user(new_user("audited@x", Some("h"), false))
        .await
        .unwrap();
    let kinds = [
        AuditEvent::LoginFailed,
        AuditEvent::LoginOk,
        AuditEvent::TokenIssued,
        AuditEvent::TokenRevoked,
        AuditEvent::PasswordChanged,
    ];
    for (n, event) in kinds.into_iter().enumerate() {
        store
            .record_audit(AuditEntry {
                user_id: (n % 2 == 0).then_some(user.id),
                email: Some("audited@x".into()),
                event,
                detail: None,
                ip: Some("127.0.0.1".into()),
            })
            .await
            .unwrap();
    }
    let page = store.list_audit(3, None).await.unwrap();
    let events: Vec<&str> = page.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        events,
        ["password_changed", "token_revoked", "token_issued"]
    );
    assert_eq!(page[0].user_id, Some(user.id));
    assert_eq!(page[1].user_id, None);
    assert_eq!(page[0].ip.as_deref(), Some("127.0.0.1"));
    let older = store.list_audit(10, Some(page[2].id)).await.unwrap();
    let events: Vec<&str> = older.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(events, ["login_ok", "login_failed"]);
}

async fn api_tokens_are_scoped_revocable_and_expire(h: &Harness) {
    let store = h.store.as_ref();
    let ada = store
        .create_user(new_user("ada@x", Some("h"), false))
        .await
        .unwrap();
    let bob = store
        .create_user(new_user("bob@x", Some("h"), false))
        .await
        .unwrap();
    let token = |name: &str, hash: &str, expires: Option<chrono::Duration>| NewApiToken {
        name: name.into(),
        token_hash: hash.into(),
        hint: "cadre_pat_ab".into(),
        expires_at: expires.map(|d| Utc::now() + d),
    };
    let ci = store
        .create_api_token(ada.id, token("ci", "hash-ci", None))
        .await
        .unwrap();
    store
        .create_api_token(
            ada.id,
            token("old", "hash-old", Some(-chrono::Duration::seconds(1))),
        )
        .await
        .unwrap();
    store
        .create_api_token(
            bob.id,
            token("bob's", "hash-bob", Some(chrono::Duration::days(1))),
        )
        .await
        .unwrap();
    assert_eq!(
        store.api_token_user("hash-ci").await.unwrap().map(|u| u.id),
        Some(ada.id)
    );
    assert_eq!(
        store.api_token_user("hash-old").await.unwrap(),
        None,
        "expired"
    );
    assert_eq!(
        store
            .api_token_user("hash-bob")
            .await
            .unwrap()
            .map(|u| u.id),
        Some(bob.id)
    );
    assert_eq!(store.api_token_user("unknown").await.unwrap(), None);

    let names: Vec<String> = store
        .list_api_tokens(ada.id)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["ci", "old"]);
    // Bob cannot revoke Ada's token.
    assert!(matches!(
        store.revoke_api_token(bob.id, ci.id).await,
        Err(StoreError::NotFound { .. })
    ));
    store.revoke_api_token(ada.id, ci.id).await.unwrap();
    assert_eq!(store.api_token_user("hash-ci").await.unwrap(), None);
    let listed = store.list_api_tokens(ada.id).await.unwrap();
    assert!(listed[0].revoked_at.is_some());
    // A disabled user's tokens stop working.
    store.set_disabled(bob.id, true).await.unwrap();
    assert_eq!(store.api_token_user("hash-bob").await.unwrap(), None);

    // Admins list everyone's runs.
    new_run(store, ada.id, "ada's", 3).await;
    new_run(store, bob.id, "bob's", 3).await;
    let everyone = RunQuery {
        owner: None,
        status: None,
        limit: 100,
        cursor: None,
    };
    let (all, _) = store.list_runs_of(everyone).await.unwrap();
    let mut tasks: Vec<String> = all.into_iter().map(|r| r.task).collect();
    tasks.sort();
    assert_eq!(tasks, ["ada's", "bob's"]);
    let (mine, _) = store.list_runs(ada.id, None, 100, None).await.unwrap();
    assert_eq!(mine.len(), 1);
}

async fn credentials_are_per_user_and_reseal_atomically(h: &Harness) {
    let store = h.store.as_ref();
    let ada = store
        .create_user(new_user("ada@c", Some("h"), false))
        .await
        .unwrap();
    let bob = store
        .create_user(new_user("bob@c", Some("h"), false))
        .await
        .unwrap();
    let credential = |user: Uuid, provider: &str, sealed: &[u8]| StoredCredential {
        user_id: user,
        provider: provider.into(),
        key_id: "k1".into(),
        nonce: vec![7; 24],
        ciphertext: sealed.to_vec(),
        base_url: (provider == "custom").then(|| "http://llm.local/v1".to_string()),
        default_model: Some("m".into()),
        hint: "sk-…1234".into(),
        updated_at: now(),
    };
    assert!(
        store
            .put_credential(credential(ada.id, "openai", b"\x01\x02"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .put_credential(credential(ada.id, "openai", b"\x03"))
            .await
            .unwrap(),
        "replaced"
    );
    store
        .put_credential(credential(ada.id, "custom", b"\x04"))
        .await
        .unwrap();
    store
        .put_credential(credential(bob.id, "openai", b"\x05"))
        .await
        .unwrap();
    let got = store
        .get_credential(ada.id, "openai")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.ciphertext, b"\x03");
    assert_eq!(got.nonce, vec![7; 24]);
    assert!(!format!("{got:?}").contains("ciphertext"));
    assert_eq!(store.get_credential(bob.id, "custom").await.unwrap(), None);
    let providers: Vec<String> = store
        .list_credentials(ada.id)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.provider)
        .collect();
    assert_eq!(providers, ["custom", "openai"]);
    assert!(matches!(
        store.delete_credential(bob.id, "custom").await,
        Err(StoreError::NotFound { .. })
    ));

    let mut all = store.all_credentials().await.unwrap();
    assert_eq!(all.len(), 3);
    for c in &mut all {
        c.key_id = "k2".into();
        c.ciphertext.push(0xff);
    }
    store.reseal_credentials(&all).await.unwrap();
    let resealed = store.all_credentials().await.unwrap();
    assert!(
        resealed
            .iter()
            .all(|c| c.key_id == "k2" && c.ciphertext.last() == Some(&0xff))
    );
    store.delete_credential(ada.id, "custom").await.unwrap();
    assert_eq!(store.list_credentials(ada.id).await.unwrap().len(), 1);
}

async fn owner_usage_since_sums_recorded_runs(h: &Harness) {
    let store = h.store.as_ref();
    let owner = user(store, "spender").await;
    let other = user(store, "other spender").await;
    let start = now() - chrono::Duration::seconds(1);
    assert_eq!(
        store.owner_usage_since(owner, start).await.unwrap(),
        UsageTotals::default()
    );
    let finish = |run: Uuid, cost: f64| {
        vec![event(
            run,
            1,
            EventKind::Finished {
                status: RunStatus::Completed,
                summary: "done".into(),
                reason: StopReason::TextMention,
                usage: UsageTotals {
                    prompt_tokens: 100,
                    completion_tokens: 20,
                    cost_usd: cost,
                    calls: 2,
                },
            },
        )]
    };
    for (who, cost) in [(owner, 0.25), (owner, 0.5), (other, 9.0)] {
        let run = new_run(store, who, "t", 3).await;
        store.append_events(run, &finish(run, cost)).await.unwrap();
    }
    new_run(store, owner, "still queued", 3).await;
    let usage = store.owner_usage_since(owner, start).await.unwrap();
    assert_eq!(
        (usage.prompt_tokens, usage.completion_tokens, usage.calls),
        (200, 40, 4)
    );
    assert!((usage.cost_usd - 0.75).abs() < 1e-9);
    let later = now() + chrono::Duration::seconds(60);
    assert_eq!(
        store.owner_usage_since(owner, later).await.unwrap(),
        UsageTotals::default()
    );
}

fn run_file(run_id: Uuid, path: &str, content: &[u8]) -> NewRunFile {
    NewRunFile {
        run_id,
        path: path.into(),
        content_type: cadre_core::artifact::content_type_for(path).into(),
        content: content.to_vec(),
    }
}

async fn run_files_last_write_wins_within_the_run_limit(h: &Harness) {
    let store = h.store.as_ref();
    let owner = user(store, "files").await;
    let run = new_run(store, owner, "plot", 3).await;
    assert_eq!(store.list_run_files(owner, run).await.unwrap(), vec![]);

    let png: Vec<u8> = (0..=255u8).cycle().take(600).collect();
    let PutFile::Stored(first) = store
        .put_run_file(run_file(run, "plots/fib.png", &png), 1000)
        .await
        .unwrap()
    else {
        panic!("not stored");
    };
    assert_eq!(first.size_bytes, 600);
    assert_eq!(first.content_type, "image/png");
    assert_eq!(first.sha256.len(), 64);
    store
        .put_run_file(run_file(run, "data.csv", b"a,b\n"), 1000)
        .await
        .unwrap();
    // 600 + 4 stored: 500 more would be over 1000…
    assert_eq!(
        store
            .put_run_file(run_file(run, "more.txt", &[b'x'; 500]), 1000)
            .await
            .unwrap(),
        PutFile::OverRunLimit { used: 604 }
    );
    // …but replacing the PNG with 900 bytes is not: its old size no longer counts.
    let bigger = vec![7u8; 900];
    let PutFile::Stored(second) = store
        .put_run_file(run_file(run, "plots/fib.png", &bigger), 1000)
        .await
        .unwrap()
    else {
        panic!("replacement not stored");
    };
    assert_ne!(second.sha256, first.sha256);
    assert!(second.created_at >= first.created_at);

    let listed = store.list_run_files(owner, run).await.unwrap();
    let paths: Vec<(&str, u64)> = listed
        .iter()
        .map(|f| (f.path.as_str(), f.size_bytes))
        .collect();
    assert_eq!(paths, [("data.csv", 4), ("plots/fib.png", 900)]);
    let (record, content) = store
        .get_run_file(owner, run, "plots/fib.png")
        .await
        .unwrap();
    assert_eq!(record, second);
    assert_eq!(content, bigger);
    // An empty file is a file.
    store
        .put_run_file(run_file(run, "empty.txt", b""), 1000)
        .await
        .unwrap();
    assert_eq!(
        store.get_run_file(owner, run, "empty.txt").await.unwrap().1,
        Vec::<u8>::new()
    );

    for bad in ["../x", "/abs", "a\\b", "a/./b", ""] {
        assert!(
            matches!(
                store.put_run_file(run_file(run, bad, b"x"), 1000).await,
                Err(StoreError::Invalid(_))
            ),
            "{bad:?}"
        );
    }
    assert_eq!(
        store
            .put_run_file(run_file(Uuid::new_v4(), "a.txt", b"x"), 1000)
            .await,
        Err(StoreError::NotFound { what: "run" })
    );
}

async fn run_files_are_owner_scoped_and_go_with_their_run(h: &Harness) {
    let store = h.store.as_ref();
    let owner = user(store, "files-owner").await;
    let other = user(store, "files-other").await;
    let run = new_run(store, owner, "plot", 3).await;
    store
        .put_run_file(run_file(run, "out.txt", b"mine"), 1 << 20)
        .await
        .unwrap();
    assert_eq!(
        store.list_run_files(other, run).await,
        Err(StoreError::NotFound { what: "run" })
    );
    assert_eq!(
        store.get_run_file(other, run, "out.txt").await,
        Err(StoreError::NotFound { what: "run" })
    );
    assert_eq!(
        store.get_run_file(owner, run, "missing.txt").await,
        Err(StoreError::NotFound { what: "file" })
    );
    assert_eq!(
        store.list_run_files(owner, Uuid::new_v4()).await,
        Err(StoreError::NotFound { what: "run" })
    );

    assert_eq!(h.file_rows(run).await, 1);
    store.delete_run(owner, run).await.unwrap();
    assert_eq!(
        h.file_rows(run).await,
        0,
        "deleting a run deletes its files"
    );
    assert_eq!(
        store.get_run_file(owner, run, "out.txt").await,
        Err(StoreError::NotFound { what: "run" })
    );
}
