//! Store-level benchmarks: the job queue (enqueue, then concurrent claim + complete, with
//! a count of lost and double-claimed jobs) and event persistence (`append_events`, one
//! event per call, and batches of 50: what the worker's group commit does under load).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use cadre_core::event::{EventKind, RunEvent};
use cadre_store::{ClaimedJob, NewRun, Store};
use chrono::Utc;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::engine::cpu_times;

/// Queue figures for one backend.
/// Jobs a claimer takes per claim in the queue benchmark.
pub const CLAIM_BATCH: u32 = 16;

pub struct QueueFigures {
    /// Jobs enqueued (and expected back).
    pub jobs: usize,
    /// Concurrent producers.
    pub producers: usize,
    /// Runs + jobs created per second.
    pub enqueue_per_s: f64,
    /// Jobs claimed and completed per second.
    pub drain_per_s: f64,
    /// Jobs through enqueue + claim + complete per second (total wall).
    pub combined_per_s: f64,
    /// Jobs never completed.
    pub lost: usize,
    /// Jobs claimed (or completed) more than once.
    pub doubled: usize,
    /// CPU µs of this process (the client side) per job, enqueue + claim + complete.
    pub cpu_us: f64,
}

fn request() -> serde_json::Value {
    serde_json::json!({"task": "queue benchmark", "model": "demo", "max_round": 4})
}

/// Enqueues `jobs` runs from `producers` tasks, then drains the queue with `claimers`
/// concurrent claim + complete loops.
pub async fn queue(
    store: Arc<dyn Store>,
    jobs: usize,
    producers: usize,
    claimers: usize,
) -> anyhow::Result<QueueFigures> {
    let owner = store.ensure_user("bench@cadre").await?;
    let cpu = cpu_times()?;
    let started = Instant::now();
    let mut tasks = spawn_producers(&store, owner, jobs, producers);
    let mut created = HashSet::with_capacity(jobs);
    while let Some(ids) = tasks.join_next().await {
        created.extend(ids.context("producer task")??);
    }
    let enqueue_wall = started.elapsed().as_secs_f64();
    anyhow::ensure!(created.len() == jobs, "created {} runs", created.len());

    let drain = Instant::now();
    let mut tasks = JoinSet::new();
    for c in 0..claimers {
        let store = store.clone();
        tasks.spawn(async move {
            let worker = format!("bench-claimer-{c}");
            let mut done = Vec::new();
            let mut refused = 0usize;
            // As a worker with free slots does: up to CLAIM_BATCH jobs per claim.
            loop {
                let jobs = store
                    .claim_jobs(&worker, Duration::from_secs(60), None, CLAIM_BATCH)
                    .await?
                    .jobs;
                if jobs.is_empty() {
                    break;
                }
                for (job, completed) in complete_all(&store, &worker, jobs).await? {
                    if completed {
                        done.push((job.job_id, job.run_id, job.attempt));
                    } else {
                        refused += 1;
                    }
                }
            }
            anyhow::Ok((done, refused))
        });
    }
    let (completed_runs, doubled) = tally(tasks, jobs).await?;
    let drain_wall = drain.elapsed().as_secs_f64();
    let (user, system) = cpu_times()?;
    let cpu = user + system - cpu.0 - cpu.1;
    // Nothing may be left claimable, and every created run must have been completed.
    let leftover = store
        .claim_job("bench-check", Duration::from_secs(60), None)
        .await?;
    let lost = created.difference(&completed_runs).count() + usize::from(leftover.is_some());
    let n = jobs as f64;
    Ok(QueueFigures {
        jobs,
        producers,
        enqueue_per_s: n / enqueue_wall,
        drain_per_s: n / drain_wall,
        combined_per_s: n / (enqueue_wall + drain_wall),
        lost,
        doubled,
        cpu_us: cpu * 1e6 / n,
    })
}

/// Completes claimed jobs concurrently, as a worker's runs end independently of each
/// other (the store may write the completions together); whether each was completed.
async fn complete_all(
    store: &Arc<dyn Store>,
    worker: &str,
    jobs: Vec<ClaimedJob>,
) -> anyhow::Result<Vec<(ClaimedJob, bool)>> {
    let completions = jobs
        .iter()
        .map(|job| store.complete_job(job.job_id, worker));
    let results = futures::future::join_all(completions).await;
    jobs.into_iter()
        .zip(results)
        .map(|(job, result)| Ok((job, result?)))
        .collect()
}

/// `producers` tasks creating `jobs` runs (with their jobs) between them; each returns
/// the ids it created.
fn spawn_producers(
    store: &Arc<dyn Store>,
    owner: Uuid,
    jobs: usize,
    producers: usize,
) -> JoinSet<anyhow::Result<Vec<Uuid>>> {
    let mut tasks = JoinSet::new();
    for p in 0..producers {
        let store = store.clone();
        let count = jobs / producers + usize::from(p < jobs % producers);
        tasks.spawn(async move {
            let mut ids = Vec::with_capacity(count);
            for _ in 0..count {
                let run = store
                    .create_run(NewRun {
                        owner,
                        task: "queue benchmark".into(),
                        request: request(),
                        max_attempts: 3,
                    })
                    .await?;
                ids.push(run.id);
            }
            anyhow::Ok(ids)
        });
    }
    tasks
}

/// What a claimer task completed: (job, run, attempt) per job, and how many completions
/// were refused.
type Completed = (Vec<(Uuid, Uuid, u32)>, usize);

/// Waits for the claimers; returns the runs completed and the double claims (a job or
/// run completed twice, an attempt other than the first, a refused completion).
async fn tally(
    mut claimers: JoinSet<anyhow::Result<Completed>>,
    jobs: usize,
) -> anyhow::Result<(HashSet<Uuid>, usize)> {
    let mut completed_runs = HashSet::with_capacity(jobs);
    let mut completed_jobs = HashSet::with_capacity(jobs);
    let mut doubled = 0usize;
    while let Some(result) = claimers.join_next().await {
        let (done, refused) = result.context("claimer task")??;
        doubled += refused;
        for (job, run, attempt) in done {
            if !completed_jobs.insert(job) || !completed_runs.insert(run) || attempt != 1 {
                doubled += 1;
            }
        }
    }
    Ok((completed_runs, doubled))
}

/// Event-persistence figures for one backend and batch size.
pub struct EventFigures {
    /// Events stored.
    pub events: usize,
    /// Events per second (wall).
    pub per_s: f64,
    /// CPU µs of this process per event.
    pub cpu_us: f64,
    /// Share of that CPU spent in the kernel (0–1).
    pub system_share: f64,
}

fn message(run: Uuid, seq: u64) -> RunEvent {
    RunEvent {
        seq,
        run_id: run,
        at: Utc::now(),
        kind: EventKind::Message {
            message_id: format!("m{seq}"),
            agent: if seq.is_multiple_of(2) { "A" } else { "B" }.into(),
            content: "I agree with the previous speaker and add one more point about the task."
                .into(),
            tokens: 15,
        },
    }
}

/// Appends `message` events to one run, `batch` per `append_events` call, until `max`
/// events are stored or `budget` has passed; then checks the stored seqs are 1..n.
pub async fn append_events(
    store: Arc<dyn Store>,
    batch: usize,
    max: usize,
    budget: Duration,
) -> anyhow::Result<EventFigures> {
    let owner = store.ensure_user("bench@cadre").await?;
    let run = store
        .create_run(NewRun {
            owner,
            task: "events benchmark".into(),
            request: request(),
            max_attempts: 3,
        })
        .await?;
    let run_id = run.id;
    let mut next = 1u64;
    let cpu = cpu_times()?;
    let started = Instant::now();
    while (next as usize) <= max && started.elapsed() < budget {
        let events: Vec<RunEvent> = (next..next + batch as u64)
            .map(|seq| message(run_id, seq))
            .collect();
        store.append_events(run.id, &events).await?;
        next += batch as u64;
    }
    let wall = started.elapsed().as_secs_f64();
    let (user, system) = cpu_times()?;
    let (user, system) = (user - cpu.0, system - cpu.1);
    let cpu = user + system;
    let stored = (next - 1) as usize;
    check_seqs(&store, run.id, stored as u64).await?;
    Ok(EventFigures {
        events: stored,
        per_s: stored as f64 / wall,
        cpu_us: cpu * 1e6 / stored as f64,
        system_share: system / cpu.max(f64::EPSILON),
    })
}

/// Checks that the run's stored events have seqs exactly 1..=`expected`.
pub async fn check_seqs(store: &Arc<dyn Store>, run: Uuid, expected: u64) -> anyhow::Result<()> {
    let mut after = 0u64;
    loop {
        let page = store.events_after(run, after, 10_000).await?;
        let Some(last) = page.last() else { break };
        for event in &page {
            after += 1;
            anyhow::ensure!(
                event.seq == after,
                "run {run}: expected seq {after}, got {}",
                event.seq
            );
        }
        anyhow::ensure!(last.seq == after, "run {run}: seq out of order");
    }
    anyhow::ensure!(
        after == expected,
        "run {run}: {after} events stored, expected {expected}"
    );
    Ok(())
}

/// Figures of the queue as it runs in production: producers and claimers at once.
pub struct PipelineFigures {
    pub jobs: usize,
    /// Jobs enqueued, claimed and completed per second, first enqueue to last completion.
    pub per_s: f64,
    pub lost: usize,
    pub doubled: usize,
    /// CPU µs of this process per job.
    pub cpu_us: f64,
}

/// `producers` tasks enqueue `jobs` runs while `claimers` tasks claim (up to
/// [`CLAIM_BATCH`] at a time) and complete them, polling every `idle_poll` when the queue
/// is empty (a deployed worker: every 250 ms), until every job is done.
pub async fn pipeline(
    store: Arc<dyn Store>,
    jobs: usize,
    producers: usize,
    claimers: usize,
    idle_poll: Duration,
) -> anyhow::Result<PipelineFigures> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let owner = store.ensure_user("bench@cadre").await?;
    let completed = Arc::new(AtomicUsize::new(0));
    let cpu = cpu_times()?;
    let started = Instant::now();
    let mut producing = spawn_producers(&store, owner, jobs, producers);
    let mut claiming = JoinSet::new();
    for c in 0..claimers {
        let (store, completed) = (store.clone(), completed.clone());
        claiming.spawn(async move {
            let worker = format!("bench-pipeline-{c}");
            let mut done = Vec::new();
            let mut refused = 0usize;
            while completed.load(Ordering::Relaxed) < jobs {
                let claimed = store
                    .claim_jobs(&worker, Duration::from_secs(60), None, CLAIM_BATCH)
                    .await?
                    .jobs;
                if claimed.is_empty() {
                    tokio::time::sleep(idle_poll).await;
                    continue;
                }
                for (job, was_completed) in complete_all(&store, &worker, claimed).await? {
                    if was_completed {
                        done.push((job.job_id, job.run_id, job.attempt));
                        completed.fetch_add(1, Ordering::Relaxed);
                    } else {
                        refused += 1;
                    }
                }
            }
            anyhow::Ok((done, refused))
        });
    }
    let mut created = HashSet::with_capacity(jobs);
    while let Some(ids) = producing.join_next().await {
        created.extend(ids.context("producer task")??);
    }
    let (completed_runs, doubled) = tally(claiming, jobs).await?;
    let wall = started.elapsed().as_secs_f64();
    let (user, system) = cpu_times()?;
    let leftover = store
        .claim_job("bench-check", Duration::from_secs(60), None)
        .await?;
    let lost = created.difference(&completed_runs).count() + usize::from(leftover.is_some());
    Ok(PipelineFigures {
        jobs,
        per_s: jobs as f64 / wall,
        lost,
        doubled,
        cpu_us: (user + system - cpu.0 - cpu.1) * 1e6 / jobs as f64,
    })
}
