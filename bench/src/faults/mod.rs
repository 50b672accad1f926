//! Fault injection (`cadre-bench faults [scenario…]`, `make faults`): a real deployment
//! (PostgreSQL and Redis of its own, `cadre api` ×2, `cadre worker` ×2, the release
//! binary, the demo model paced like a provider, the configured code sandbox) runs demo
//! runs followed over SSE while one thing at a time is broken:
//!
//! - `kill-worker`: `kill -9` of a random worker at random moments (then started again)
//!   over 50 runs;
//! - `restart-api`: 100 streaming clients while the API replicas are restarted in turn
//!   (SIGTERM, then `kill -9`);
//! - `redis`: Redis killed mid-run and started again seconds later;
//! - `postgres`: PostgreSQL crashed mid-run (`pg_ctl stop -m immediate`) and started
//!   again, recovering from its WAL;
//! - `llm`: the model server cuts streams mid-reply, stalls them, answers with garbage,
//!   then rate-limits everything for a minute;
//! - `disk-full` (`disk`): `cadre serve` on SQLite with its data directory on a small
//!   tmpfs, filled while runs are going, then freed (as root: it mounts the tmpfs).
//!
//! Each scenario checks what a user would: every run ended `completed` (none stuck in a
//! non-terminal state), each run's stored messages are exactly a fault-free run's (the
//! demo model is deterministic: a repeated or lost turn shows), each stored run is seqs
//! 1..n, and every stream client received each durable event exactly once and in order
//! across its reconnects. The figures (and the longest pause a client saw, i.e. the time
//! to recover) are printed as the table in `bench/BENCHMARKS.md`; any miss fails the
//! command.

/// A line on stderr about what went wrong (stdout carries only the table).
macro_rules! note {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod client;
mod cluster;
mod disk;
mod llm;
pub mod soak;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::Value;
use tokio::task::JoinSet;

use client::{Client, Followed, demo_run, follow};
use cluster::{Postgres, Redis, Service, Settings};

/// The task every run gets (the demo writes and runs a program for it).
const TASK: &str = "Compare the first 20 Fibonacci numbers with the first 20 primes";
/// How long the demo model takes over each answer.
const MODEL_DELAY_MS: u64 = 200;
/// Worker lease: a killed worker's runs are taken over after at most this long.
const LEASE_SECS: u64 = 2;
/// No run may take longer than this, whatever is broken.
const RUN_DEADLINE: Duration = Duration::from_secs(180);

/// The scenarios, in the order `faults` runs them.
pub const SCENARIOS: [&str; 6] = [
    "kill-worker",
    "restart-api",
    "redis",
    "postgres",
    "llm",
    "disk-full",
];

/// What one scenario measured.
#[derive(Debug, Default)]
pub struct FaultFigures {
    pub scenario: &'static str,
    /// Faults injected.
    pub faults: usize,
    pub runs: usize,
    pub completed: usize,
    /// Runs not terminal at the end.
    pub stuck: usize,
    /// Stored messages beyond / short of a fault-free run's.
    pub duplicated: usize,
    pub missing: usize,
    /// Stored runs whose seqs are not exactly 1..n.
    pub broken_runs: usize,
    /// Stream clients, their reconnects, and durable events they missed or got twice.
    pub streams: usize,
    pub reconnects: u32,
    pub gaps: usize,
    pub repeats: usize,
    /// The longest pause between two durable events a stream client saw: the worst
    /// time to recover (a normal turn takes MODEL_DELAY_MS).
    pub longest_pause: Duration,
    /// The median over runs of their longest pause.
    pub median_pause: Duration,
    /// The longest pause of the fault-free reference run (its code execution, mostly):
    /// what the pauses above compare with.
    pub reference_pause: Duration,
    /// Runs posted while the fault lasted: accepted, refused with a 4xx or 503, and
    /// answered with another 5xx (a server error: never acceptable).
    pub accepted_while_faulty: usize,
    pub refused: usize,
    pub server_errors: usize,
    /// Processes of the deployment that died without being killed.
    pub crashed: usize,
    pub wall: Duration,
}

impl FaultFigures {
    /// Whether nothing was lost, repeated or left hanging.
    pub fn clean(&self) -> bool {
        self.completed == self.runs
            && self.stuck == 0
            && self.duplicated == 0
            && self.missing == 0
            && self.broken_runs == 0
            && self.gaps == 0
            && self.repeats == 0
            && self.crashed == 0
            && self.server_errors == 0
    }
}

/// A tiny PRNG for the chaos schedule (xorshift; seeded per run, printed for replay).
struct Chaos(u64);

impl Chaos {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn millis(&mut self, low: u64, high: u64) -> Duration {
        Duration::from_millis(low + self.next() % (high - low).max(1))
    }
}

struct Deployment {
    _dir: tempfile::TempDir,
    postgres: Postgres,
    redis: Redis,
    apis: Vec<Service>,
    workers: Vec<Service>,
    bases: Vec<String>,
}

impl Deployment {
    async fn start(binary: &PathBuf) -> anyhow::Result<Self> {
        Self::start_with(binary, &[]).await
    }

    /// A deployment whose processes also get `extra` in their environment.
    async fn start_with(binary: &PathBuf, extra: &[(&str, String)]) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new().prefix("cadre-faults").tempdir()?;
        let postgres = Postgres::start()?;
        let redis = Redis::start()?;
        let settings = Settings {
            binary: binary.clone(),
            data_dir: dir.path().to_path_buf(),
            env: vec![
                ("CADRE_DATABASE_URL".into(), postgres.url()),
                ("CADRE_REDIS_URL".into(), redis.url()),
                ("CADRE_WORKER_LEASE_SECS".into(), LEASE_SECS.to_string()),
                ("CADRE_SCRIPTED_DELAY_MS".into(), MODEL_DELAY_MS.to_string()),
            ]
            .into_iter()
            .chain(extra.iter().map(|(k, v)| ((*k).to_string(), v.clone())))
            .collect(),
        };
        // Migrate once, so the replicas start on a ready schema.
        let status = std::process::Command::new(binary)
            .arg("migrate")
            .env("CADRE_DATABASE_URL", postgres.url())
            .env("CADRE_DATA_DIR", dir.path())
            .stdout(std::process::Stdio::null())
            .status()?;
        anyhow::ensure!(status.success(), "cadre migrate failed");
        let apis = vec![
            Service::api(&settings, "api-0")?,
            Service::api(&settings, "api-1")?,
        ];
        let workers = vec![
            Service::worker(&settings, "worker-0")?,
            Service::worker(&settings, "worker-1")?,
        ];
        let bases = apis.iter().map(Service::base).collect();
        Ok(Self {
            _dir: dir,
            postgres,
            redis,
            apis,
            workers,
            bases,
        })
    }

    /// Each process's name and pid (`None` while it is down).
    fn pids(&self) -> Vec<(String, Option<u32>)> {
        self.apis
            .iter()
            .chain(self.workers.iter())
            .map(|service| (service.name(), service.pid()))
            .collect()
    }

    /// Processes that exited by themselves, with the tail of their logs.
    fn crashed(&mut self) -> usize {
        let mut crashed = 0;
        for service in self.apis.iter_mut().chain(self.workers.iter_mut()) {
            if let Some(status) = service.exited() {
                crashed += 1;
                let log = std::fs::read_to_string(service.log()).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(5).collect();
                note!(
                    "!! {} exited by itself ({status}); its log ends: {:?}",
                    service.log().display(),
                    tail
                );
            }
        }
        crashed
    }
}

/// The load of one scenario: `runs` runs, at most `in_flight` at once, each followed by
/// `followers` stream clients spread over the replicas.
#[derive(Clone, Copy)]
struct Load {
    runs: usize,
    in_flight: usize,
    followers: usize,
    /// No new runs after this moment (the soak's length).
    until: Option<Instant>,
}

type Outcome = Vec<(String, Vec<Followed>)>;

async fn drive(client: Client, bases: Vec<String>, load: Load) -> anyhow::Result<Outcome> {
    drive_with(client, bases, load, || demo_run(TASK)).await
}

/// [`drive`] posting `body()` for each run.
async fn drive_with(
    client: Client,
    bases: Vec<String>,
    load: Load,
    body: fn() -> Value,
) -> anyhow::Result<Outcome> {
    let mut running: JoinSet<anyhow::Result<(String, Vec<Followed>)>> = JoinSet::new();
    let mut outcome = Vec::new();
    let mut posted = 0;
    let more = |posted: usize| posted < load.runs && load.until.is_none_or(|u| Instant::now() < u);
    while more(posted) || !running.is_empty() {
        while more(posted) && running.len() < load.in_flight {
            let run = client.post_run(&bases, &body()).await?;
            let deadline = Instant::now() + RUN_DEADLINE;
            let (client, bases) = (client.clone(), bases.clone());
            let first = posted;
            posted += 1;
            running.spawn(async move {
                let mut followers = JoinSet::new();
                for f in 0..load.followers {
                    followers.spawn(follow(
                        client.clone(),
                        bases.clone(),
                        run.clone(),
                        first + f,
                        deadline,
                    ));
                }
                let mut seen = Vec::new();
                while let Some(followed) = followers.join_next().await {
                    seen.push(followed.context("follower")?);
                }
                Ok((run, seen))
            });
        }
        if let Some(done) = running.join_next().await {
            outcome.push(done.context("run task")??);
        }
    }
    Ok(outcome)
}

/// A fault-free run of `body()`, nothing broken: its stored messages (what every run of
/// the scenario must store too) and the longest pause its stream client saw.
async fn reference_run(
    client: &Client,
    bases: &[String],
    body: fn() -> Value,
) -> anyhow::Result<(Vec<(String, String)>, Duration)> {
    let one = Load {
        runs: 1,
        in_flight: 1,
        followers: 1,
        until: None,
    };
    let outcome = drive_with(client.clone(), bases.to_vec(), one, body).await?;
    let (run, followers) = &outcome[0];
    let reference = messages(&client.stored_events(bases, run).await?);
    anyhow::ensure!(
        !reference.is_empty(),
        "the reference run stored no messages"
    );
    Ok((reference, followers[0].longest_pause))
}

/// (agent, content) of a run's stored messages.
fn messages(events: &[Value]) -> Vec<(String, String)> {
    events
        .iter()
        .filter(|e| e["type"] == "message")
        .map(|e| {
            (
                e["data"]["agent"].as_str().unwrap_or_default().to_string(),
                e["data"]["content"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

/// Messages in `got` beyond `reference` (duplicated) and in `reference` missing from `got`.
fn message_difference(reference: &[(String, String)], got: &[(String, String)]) -> (usize, usize) {
    if reference == got {
        return (0, 0);
    }
    let mut counts: HashMap<&(String, String), i64> = HashMap::new();
    for m in reference {
        *counts.entry(m).or_default() += 1;
    }
    for m in got {
        *counts.entry(m).or_default() -= 1;
    }
    let missing: i64 = counts.values().filter(|c| **c > 0).sum();
    let extra: i64 = -counts.values().filter(|c| **c < 0).sum::<i64>();
    if missing == 0 && extra == 0 {
        // The same messages in another order: a repeat of one and a loss of another.
        return (1, 1);
    }
    (extra as usize, missing as usize)
}

async fn verify(
    client: &Client,
    bases: &[String],
    reference: &[(String, String)],
    outcome: &Outcome,
    figures: &mut FaultFigures,
) -> anyhow::Result<()> {
    let mut pauses = Vec::new();
    for (run, followers) in outcome {
        figures.runs += 1;
        let view = client
            .get_json(bases, &format!("/api/v1/runs/{run}"))
            .await?;
        match view["status"].as_str().unwrap_or_default() {
            "completed" => figures.completed += 1,
            "failed" | "cancelled" => {
                note!("!! run {run} ended {}: {}", view["status"], view["error"]);
            }
            other => {
                figures.stuck += 1;
                note!("!! run {run} is still {other}");
            }
        }
        let events = client.stored_events(bases, run).await?;
        let seqs: Vec<u64> = events.iter().filter_map(|e| e["seq"].as_u64()).collect();
        let n = seqs.len() as u64;
        if seqs != (1..=n).collect::<Vec<_>>() {
            figures.broken_runs += 1;
            note!("!! run {run}: stored seqs are not 1..{n}");
        }
        let (extra, missing) = message_difference(reference, &messages(&events));
        if extra + missing > 0 {
            note!("!! run {run}: {extra} messages repeated, {missing} missing");
        }
        figures.duplicated += extra;
        figures.missing += missing;
        let mut run_pause = Duration::ZERO;
        for followed in followers {
            figures.streams += 1;
            figures.reconnects += followed.reconnects;
            let mut seen = vec![0u32; n as usize + 1];
            let mut in_order = true;
            let mut previous = 0;
            for &seq in &followed.seqs {
                if let Some(slot) = seen.get_mut(seq as usize) {
                    *slot += 1;
                }
                in_order &= seq > previous;
                previous = previous.max(seq);
            }
            let gaps = seen.iter().skip(1).filter(|c| **c == 0).count();
            let repeats = seen
                .iter()
                .map(|c| c.saturating_sub(1) as usize)
                .sum::<usize>()
                + usize::from(!in_order);
            if gaps + repeats > 0 || !followed.finished {
                note!(
                    "!! run {run}: a stream client missed {gaps} and repeated {repeats} events \
                     (finished: {})",
                    followed.finished
                );
            }
            figures.gaps += gaps;
            figures.repeats += repeats;
            run_pause = run_pause.max(followed.longest_pause);
        }
        pauses.push(run_pause);
    }
    pauses.sort();
    figures.longest_pause = pauses.last().copied().unwrap_or_default();
    figures.median_pause = pauses.get(pauses.len() / 2).copied().unwrap_or_default();
    Ok(())
}

pub(crate) use note;

/// Runs one scenario on a fresh deployment.
pub async fn scenario(
    binary: &PathBuf,
    name: &'static str,
    seed: u64,
) -> anyhow::Result<FaultFigures> {
    match name {
        "disk-full" => return disk::disk_full(binary).await,
        "llm" => return llm::llm(binary).await,
        _ => {}
    }
    let mut deployment = Deployment::start(binary).await?;
    let bases = deployment.bases.clone();
    let client = Client::login(&bases[0]).await?;
    let mut figures = FaultFigures {
        scenario: name,
        ..FaultFigures::default()
    };

    // The fault-free reference: the same demo run, nothing broken.
    let (reference, reference_pause) = reference_run(&client, &bases, || demo_run(TASK)).await?;
    figures.reference_pause = reference_pause;

    let load = match name {
        "kill-worker" => Load {
            runs: 50,
            in_flight: 10,
            followers: 1,
            until: None,
        },
        // 100 stream clients at any time.
        "restart-api" => Load {
            runs: 60,
            in_flight: 20,
            followers: 5,
            until: None,
        },
        _ => Load {
            runs: 40,
            in_flight: 20,
            followers: 1,
            until: None,
        },
    };
    let started = Instant::now();
    let mut driving = tokio::spawn(drive(client.clone(), bases.clone(), load));
    let mut chaos = Chaos(seed | 1);
    // Let the runs get going before the first fault.
    let mut next_fault = Instant::now() + Duration::from_millis(1_500);
    let outcome = loop {
        tokio::select! {
            outcome = &mut driving => break outcome.context("load task")??,
            () = tokio::time::sleep_until(next_fault.into()) => {}
        }
        match name {
            "kill-worker" => {
                let worker = (chaos.next() % 2) as usize;
                deployment.workers[worker].kill();
                tokio::time::sleep(chaos.millis(0, 500)).await;
                deployment.workers[worker].start()?;
                next_fault = Instant::now() + chaos.millis(300, 2_500);
            }
            "restart-api" => {
                // In turn: a graceful stop, then a crash.
                let api = figures.faults % 2;
                if api == 0 {
                    deployment.apis[api].terminate();
                } else {
                    deployment.apis[api].kill();
                }
                deployment.apis[api].start()?;
                next_fault = Instant::now() + chaos.millis(1_500, 3_000);
            }
            "redis" => {
                deployment.redis.kill();
                tokio::time::sleep(Duration::from_secs(3)).await;
                deployment.redis.start_again()?;
                next_fault = Instant::now() + Duration::from_secs(6);
            }
            "postgres" => {
                deployment.postgres.crash()?;
                tokio::time::sleep(Duration::from_secs(2)).await;
                deployment.postgres.start_again()?;
                next_fault = Instant::now() + Duration::from_secs(6);
            }
            other => anyhow::bail!("unknown fault scenario {other:?}"),
        }
        figures.faults += 1;
    };
    figures.wall = started.elapsed();
    figures.crashed = deployment.crashed();
    verify(&client, &bases, &reference, &outcome, &mut figures).await?;
    Ok(figures)
}

/// The table rows of `figures`.
pub fn rows(figures: &[FaultFigures]) -> String {
    let mut out = String::from(
        "| fault | injected | runs completed | stuck | messages repeated / missing | stored runs not 1..n | stream clients (reconnects) | events missed / repeated by clients | longest pause: worst run / median run / fault-free run | runs posted during the fault: accepted / refused / 5xx | crashed processes | wall |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for f in figures {
        out.push_str(&format!(
            "| {} | {} | {}/{} | {} | {} / {} | {} | {} ({}) | {} / {} | {:.1} / {:.1} / {:.1} s | {} / {} / {} | {} | {:.0} s |\n",
            f.scenario,
            f.faults,
            f.completed,
            f.runs,
            f.stuck,
            f.duplicated,
            f.missing,
            f.broken_runs,
            f.streams,
            f.reconnects,
            f.gaps,
            f.repeats,
            f.longest_pause.as_secs_f64(),
            f.median_pause.as_secs_f64(),
            f.reference_pause.as_secs_f64(),
            f.accepted_while_faulty,
            f.refused,
            f.server_errors,
            f.crashed,
            f.wall.as_secs_f64(),
        ));
    }
    out
}
