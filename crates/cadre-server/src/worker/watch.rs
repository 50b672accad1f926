//! The worker's watcher: one task per worker that keeps the leases of every job the
//! worker runs with one heartbeat statement, and finds cancel requests for all of them
//! with one query — instead of two timers and two queries per running run, which at a
//! thousand concurrent runs was thousands of queries a second.
//!
//! A job missing from the heartbeat's answer is no longer this worker's (its lease
//! expired and another worker took it, or it was finished elsewhere): its run is halted
//! here, so that it cannot write another event.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use cadre_store::Store;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The jobs a worker is running, as its watcher sees them.
#[derive(Default)]
pub(super) struct Watched {
    jobs: Mutex<HashMap<Uuid, WatchedJob>>,
}

struct WatchedJob {
    run_id: Uuid,
    /// When the job was claimed (a heartbeat that started earlier may not see it).
    since: Instant,
    /// Cancels the run (the user's cancel).
    cancel: CancellationToken,
    /// Set when the lease is lost: the run's sink refuses everything from then on.
    halted: Arc<AtomicBool>,
}

/// Removes a job from the watch when dropped.
pub(super) struct WatchGuard<'a> {
    watched: &'a Watched,
    job_id: Uuid,
}

impl Drop for WatchGuard<'_> {
    fn drop(&mut self) {
        self.watched.lock().remove(&self.job_id);
    }
}

impl Watched {
    fn lock(&self) -> MutexGuard<'_, HashMap<Uuid, WatchedJob>> {
        match self.jobs.lock() {
            Ok(jobs) => jobs,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Watches a job until the guard is dropped.
    pub(super) fn add(
        &self,
        job_id: Uuid,
        run_id: Uuid,
        since: Instant,
        cancel: CancellationToken,
        halted: Arc<AtomicBool>,
    ) -> WatchGuard<'_> {
        self.lock().insert(
            job_id,
            WatchedJob {
                run_id,
                since,
                cancel,
                halted,
            },
        );
        WatchGuard {
            watched: self,
            job_id,
        }
    }

    fn cancel_runs(&self, runs: &HashSet<Uuid>) {
        for job in self.lock().values() {
            if runs.contains(&job.run_id) && !job.cancel.is_cancelled() {
                tracing::info!(run_id = %job.run_id, "cancel requested");
                job.cancel.cancel();
            }
        }
    }

    /// Halts every job claimed before `asked` that the heartbeat did not report as held.
    fn halt_lost(&self, held: &HashSet<Uuid>, asked: Instant) {
        for (job_id, job) in self.lock().iter() {
            if job.since < asked && !held.contains(job_id) && !job.halted.load(Ordering::SeqCst) {
                tracing::warn!(run_id = %job.run_id, "lease lost to another worker; halting this run here");
                // Halt the sink first, so that the cancellation cannot write events.
                job.halted.store(true, Ordering::SeqCst);
                job.cancel.cancel();
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}

/// How the watcher paces itself.
pub(super) struct WatchTiming {
    pub lease: Duration,
    pub heartbeat_every: Duration,
    pub cancel_check_every: Duration,
}

/// Runs until aborted: heartbeats and cancel polls for every watched job.
pub(super) async fn watch_loop(
    store: Arc<dyn Store>,
    worker_id: String,
    timing: WatchTiming,
    watched: Arc<Watched>,
) {
    let mut heartbeat = tokio::time::interval(timing.heartbeat_every);
    let mut cancel_check = tokio::time::interval(timing.cancel_check_every);
    heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
    cancel_check.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = heartbeat.tick() => {
                if watched.is_empty() {
                    continue;
                }
                let asked = Instant::now();
                match store.heartbeat_held(&worker_id, timing.lease).await {
                    Ok(jobs) => {
                        let held: HashSet<Uuid> = jobs.iter().map(|job| job.job_id).collect();
                        let cancelled: HashSet<Uuid> = jobs
                            .iter()
                            .filter(|job| job.cancel_requested)
                            .map(|job| job.run_id)
                            .collect();
                        watched.halt_lost(&held, asked);
                        watched.cancel_runs(&cancelled);
                    }
                    Err(error) => tracing::warn!(%error, "heartbeat failed; will retry"),
                }
            }
            _ = cancel_check.tick() => {
                if watched.is_empty() {
                    continue;
                }
                match store.cancel_requested(&worker_id).await {
                    Ok(runs) => watched.cancel_runs(&runs.into_iter().collect()),
                    Err(error) => tracing::debug!(%error, "cancel poll failed; will retry"),
                }
            }
        }
    }
}
