//! # cadre-bench
//!
//! End-to-end benchmarks against the targets of `docs/DESIGN.md` §9. Prints a Markdown
//! table; the figures in `BENCHMARKS.md` come from it. CPU time is read from the kernel's
//! per-process accounting (`/proc/self/stat`), so other load on the machine does not
//! inflate it.
//!
//! - [`engine`](mod@engine): engine overhead per group-chat message, with an instant in-process model
//!   and no persistence; the same through the real OpenAI-compatible client against a
//!   local HTTP server (client and server share the process, so both are counted); a
//!   4-agent team build with 1 s model latency (AutoGen makes 10 sequential calls);
//!   bwrap's start overhead over a plain `python3 -c pass` (the `sandbox` section).
//! - [`docker`]: start overhead of the docker sandbox backend (a container per execution,
//!   and an `exec` in a container per run) over a plain `python3 -c pass`.
//! - [`queue`](mod@queue): the job queue (enqueue, claim + complete, lost / double-claimed
//!   jobs) and event persistence (`append_events`, single events and batches of 50) on
//!   SQLite and PostgreSQL.
//! - [`service`]: 1,000 concurrent runs through one worker with 50 ms model latency.
//! - [`serve`]: `cadre serve` from spawn to ready, and its idle resident memory.
//! - [`fanout`]: many SSE subscribers following one run.
//! - [`history`]: per-request CPU as a run's history grows from 20 to 200 messages.
//! - [`tools`]: MCP tool calls over stdio and streamable HTTP (first call, latency,
//!   throughput) against the official Python SDK's server.
//! - [`db`]: the databases they run against (a temporary SQLite file; a throw-away
//!   PostgreSQL database on `CADRE_BENCH_DATABASE_URL`, dropped afterwards).

mod db;
mod docker;
mod engine;
mod fanout;
mod faults;
mod history;
mod queue;
mod serve;
mod service;
mod tools;

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use cadre_core::model::ChatModel;
use cadre_llm::fake_server::{FakeOpenAi, FakeReply};
use cadre_llm::openai::OpenAiClient;

use crate::engine::{InstantModel, engine, local_config, sandbox_overhead, team_build};
use crate::queue::{EventFigures, QueueFigures, append_events, pipeline, queue};
use crate::service::{LoadFigures, concurrent_runs};

/// Jobs per queue benchmark.
const QUEUE_JOBS: usize = 3_000;
/// Jobs of the queue pipeline benchmark (producers and claimers at once).
const PIPELINE_JOBS: usize = 10_000;
/// Concurrent claimers (and producers) in the queue benchmark.
const CLAIMERS: usize = 8;
/// Producers of the queue benchmark's busier rows: an API with this many run creations
/// in flight at once. Each producer waits for its commit, so with few of them the
/// enqueue rate is bounded by the commit latency, not by the queue.
const MANY_PRODUCERS: usize = 64;

fn queue_rows(out: &mut impl Write, backend: &str, q: &QueueFigures) -> anyhow::Result<()> {
    writeln!(
        out,
        "| queue, {backend}: enqueue (run + job in one transaction, {} producers, {} jobs) | {:.0} jobs/s | – |",
        q.producers, q.jobs, q.enqueue_per_s
    )?;
    writeln!(
        out,
        "| queue, {backend}: claim + complete ({CLAIMERS} concurrent claimers) | {:.0} jobs/s, {} lost, {} double-claimed | – |",
        q.drain_per_s, q.lost, q.doubled
    )?;
    let target = if backend == "PostgreSQL" {
        "> 5,000 jobs/s, 0 lost"
    } else {
        "–"
    };
    writeln!(
        out,
        "| queue, {backend}: enqueue + claim + complete, end to end ({} producers) | {:.0} jobs/s ({:.0} µs client CPU/job) | {target} |",
        q.producers, q.combined_per_s, q.cpu_us
    )?;
    Ok(())
}

fn event_row(
    out: &mut impl Write,
    backend: &str,
    batch: usize,
    e: &EventFigures,
) -> anyhow::Result<()> {
    let how = if batch == 1 {
        "one event per call (a transaction per event)".to_string()
    } else {
        format!("batches of {batch}")
    };
    let target = if backend == "SQLite" && batch == 1 {
        "< 300 µs CPU per message (with the engine)"
    } else {
        "–"
    };
    writeln!(
        out,
        "| events persisted, {backend}, {how} ({} events, one run) | {:.0} events/s, {:.1} µs CPU/event ({:.0}% system) | {target} |",
        e.events,
        e.per_s,
        e.cpu_us,
        e.system_share * 100.0
    )?;
    Ok(())
}

fn load_rows(out: &mut impl Write, backend: &str, l: &LoadFigures) -> anyhow::Result<()> {
    writeln!(
        out,
        "| {} concurrent runs, {backend}, one worker, 2 agents, model latency 50 ms ({} messages, {} events persisted, {} runs not completed cleanly) | {:.2} s wall ({:.0} events/s; last run started {:.2} s after the first), peak RSS {:.0} MiB (+{:.0} MiB) | < 2 s, < 150 MB RSS |",
        l.runs,
        l.messages,
        l.events,
        l.bad,
        l.wall,
        l.events as f64 / l.wall,
        l.ramp,
        l.peak_rss_mib,
        l.rss_delta_mib
    )?;
    writeln!(
        out,
        "| CPU per message with {backend} persistence of every event (same runs; worker + engine + store) | {:.0} µs ({:.0}% system) | {} |",
        l.cpu_per_message_us,
        l.system_share * 100.0,
        if backend == "SQLite" {
            "< 300 µs"
        } else {
            "–"
        }
    )?;
    Ok(())
}

fn skipped(out: &mut impl Write, what: &str) -> anyhow::Result<()> {
    writeln!(
        out,
        "| {what}, PostgreSQL | skipped: server unreachable (set CADRE_BENCH_DATABASE_URL) | – |"
    )?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    // The sandbox benchmark runs this binary as the sandbox's init (Landlock), as a
    // deployment runs `cadre`: first, while the process has one thread, since a Landlock
    // domain binds only the thread that asks for it and the init then `exec`s.
    cadre_sandbox::init::run_if_requested();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(benchmarks())
}

async fn benchmarks() -> anyhow::Result<()> {
    // `cadre-bench [runs] [engine] [sandbox] [docker] [queue] [events] [serve] [fanout]
    // [history] [tools]`: only those sections (default: all).
    let mut args = std::env::args();
    let _program = args.next();
    let only: Vec<String> = args.collect();
    if only.first().map(String::as_str) == Some("faults") {
        return fault_sections(&only[1..]).await;
    }
    if only.first().map(String::as_str) == Some("fanout-clients") {
        let (Some(url), Some(n)) = (only.get(1), only.get(2)) else {
            anyhow::bail!("usage: cadre-bench fanout-clients URL SUBSCRIBERS");
        };
        return fanout::client_process(url.clone(), n.parse()?).await;
    }
    let wanted = |section: &str| only.is_empty() || only.iter().any(|s| s == section);
    let mut out = std::io::stdout().lock();
    writeln!(out, "| benchmark | result | target |")?;
    writeln!(out, "| --- | --- | --- |")?;

    // Runs first, so that the engine benchmarks' allocations do not blur its RSS.
    let runs = 1_000;
    let (max_round, latency, limit) = (20, Duration::from_millis(50), Duration::from_secs(60));
    if wanted("runs") {
        let load = db::with_sqlite(|store| concurrent_runs(store, runs, max_round, latency, limit))
            .await?;
        load_rows(&mut out, "SQLite", &load)?;
    }
    if wanted("serve") {
        let s = tokio::task::spawn_blocking(|| serve::serve_startup(5)).await??;
        writeln!(
            out,
            "| `cadre serve` on a fresh data dir (SQLite + migrations, bubblewrap probe): spawn to `/readyz` 200, then idle RSS (median of {}) | {:.0} ms, {:.1} MiB | < 300 ms, < 40 MB |",
            s.starts, s.ready_ms, s.idle_rss_mib
        )?;
    }
    if wanted("fanout") {
        use fanout::Clients;
        for (subscribers, rate, clients) in [
            (1_000, 500, Clients::InProcess),
            (1_000, 50, Clients::InProcess),
            (10_000, 50, Clients::Separate),
        ] {
            let f = db::with_sqlite(|store| {
                fanout::fanout(store, subscribers, rate, Duration::from_secs(5), clients)
            })
            .await?;
            let place = match clients {
                Clients::InProcess => "clients in-process",
                Clients::Separate => "clients in a separate process",
            };
            writeln!(
                out,
                "| fan-out on one run: {} SSE subscribers × {} events/s for 5 s ({} events; {place}) | p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, {} lost (connected in {:.2} s) | p99 < 100 ms, 0 lost |",
                f.subscribers, f.rate, f.events, f.p50_ms, f.p99_ms, f.max_ms, f.lost, f.connect_s
            )?;
        }
    }
    if wanted("history") {
        let figures = db::with_sqlite(|store| history::history(store, 500)).await?;
        for f in &figures {
            writeln!(
                out,
                "| CPU per request, run of {} messages (client + server): get run / events after the last / SSE resume at the end | {:.0} / {:.0} / {:.0} µs | grows < 2× from 20 to 200 |",
                f.messages, f.get_run_us, f.events_tail_us, f.stream_resume_us
            )?;
        }
    }
    if wanted("engine") {
        engine_rows(&mut out).await?;
    }
    if wanted("tools") {
        for t in tools::tool_calls(500, 8, 250).await? {
            writeln!(
                out,
                "| MCP tool call (`notebook.add`, the Python SDK's server) over {}: first call (connect, initialize, list) / {} sequential p50, p99, Cadre's CPU per call / {} in flight | {:.0} ms / {:.2} ms, {:.2} ms, {:.0} µs / {:.0} calls/s | – |",
                t.transport,
                t.sequential,
                t.concurrency,
                t.first_call_ms,
                t.p50_ms,
                t.p99_ms,
                t.client_cpu_us,
                t.calls_per_s
            )?;
        }
    }
    if wanted("sandbox") {
        sandbox_rows(&mut out).await?;
    }
    if wanted("docker") {
        docker_rows(&mut out).await?;
    }
    if wanted("queue") {
        queue_sections(&mut out).await?;
    }
    if wanted("events") {
        event_sections(&mut out).await?;
    }
    if wanted("runs") {
        match db::with_postgres(true, |store| {
            concurrent_runs(store, runs, max_round, latency, limit)
        })
        .await?
        {
            Some(load) => load_rows(&mut out, "PostgreSQL", &load)?,
            None => skipped(&mut out, "1,000 concurrent runs")?,
        }
    }
    Ok(())
}

/// `cadre-bench faults [scenario…]`: the fault-injection table (never part of the default
/// run: it takes minutes and starts servers of its own). Fails when any run was lost,
/// repeated a message, or left a stream client with a gap.
async fn fault_sections(only: &[String]) -> anyhow::Result<()> {
    let binary = serve::cadre_binary()?;
    let seed = std::env::var("CADRE_FAULTS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| uuid::Uuid::new_v4().as_u64_pair().0);
    if only.iter().any(|s| s == "soak") {
        faults::note!("==> soak");
        let (figures, traces) = faults::soak::soak(&binary).await?;
        let mut out = std::io::stdout().lock();
        write!(out, "{}", faults::rows(std::slice::from_ref(&figures)))?;
        writeln!(
            out,
            "\n| process | resident memory at 2 min → end | open descriptors at 2 min → end | |"
        )?;
        writeln!(out, "| --- | --- | --- | --- |")?;
        for trace in &traces {
            writeln!(out, "{}", trace.row())?;
        }
        anyhow::ensure!(figures.clean(), "the soak lost or repeated something");
        anyhow::ensure!(
            traces.iter().all(faults::soak::Trace::flat),
            "memory or descriptors grew"
        );
        return Ok(());
    }
    faults::note!("==> fault scenarios, chaos seed {seed} (CADRE_FAULTS_SEED replays it)");
    let mut figures = Vec::new();
    for name in faults::SCENARIOS {
        if !only.is_empty() && !only.iter().any(|s| s == name) {
            continue;
        }
        faults::note!("==> fault scenario {name}");
        figures.push(faults::scenario(&binary, name, seed).await?);
    }
    write!(std::io::stdout().lock(), "{}", faults::rows(&figures))?;
    let failed: Vec<&str> = figures
        .iter()
        .filter(|f| !f.clean())
        .map(|f| f.scenario)
        .collect();
    anyhow::ensure!(
        failed.is_empty(),
        "scenarios that lost or repeated something: {failed:?}"
    );
    Ok(())
}

/// Engine overhead, the HTTP client, team building and the sandbox.
async fn engine_rows(out: &mut impl Write) -> anyhow::Result<()> {
    // Warm up allocator and runtime.
    engine(Arc::new(InstantModel), 50, 20, 50).await?;
    let (per_message, wall) = engine(Arc::new(InstantModel), 2_000, 20, 100).await?;
    writeln!(
        out,
        "| engine CPU per message, instant model, no persistence (2,000 runs × 20 messages) | {per_message:.1} µs ({wall:.2} s wall) | < 50 µs |"
    )?;

    let server = FakeOpenAi::start(vec![]).await?;
    server.set_default(
        FakeReply::text("I agree with the previous speaker and add one more point about the task.")
            .usage(100, 15),
    );
    let client: Arc<dyn ChatModel> = Arc::new(OpenAiClient::new(local_config(&server)?)?);
    engine(client.clone(), 5, 20, 5).await?;
    let (per_message, wall) = engine(client, 200, 20, 20).await?;
    writeln!(
        out,
        "| CPU per message through the HTTP client + local OpenAI-compatible server (200 runs × 20 messages, both in-process) | {per_message:.1} µs ({wall:.2} s wall) | – |"
    )?;

    let (wall, calls) = team_build(std::time::Duration::from_secs(1)).await?;
    writeln!(
        out,
        "| 4-agent team build, model latency 1 s ({calls} calls through the HTTP client) | {wall:.2} s wall | < 3.5 s |"
    )?;

    Ok(())
}

/// Start overhead of one execution per sandbox backend.
async fn sandbox_rows(out: &mut impl Write) -> anyhow::Result<()> {
    let (sandboxed, plain, enforced) = sandbox_overhead(30).await?;
    writeln!(
        out,
        "| bwrap start overhead over `python3 -c pass` (median of 30; cgroup, seccomp, Landlock init, run uid, workspace quota) | {:.1} ms ({sandboxed:.1} ms vs {plain:.1} ms) | < 20 ms |",
        sandboxed - plain
    )?;
    writeln!(out, "\nSandbox limits in force: {}\n", enforced.join("; "))?;
    Ok(())
}

/// The docker sandbox's start overhead, per container mode.
async fn docker_rows(out: &mut impl Write) -> anyhow::Result<()> {
    const SAMPLES: usize = 20;
    for (per, how) in [
        (
            cadre_sandbox::ContainerPer::Execution,
            "a container per execution",
        ),
        (
            cadre_sandbox::ContainerPer::Run,
            "`exec` in the run's container",
        ),
    ] {
        match docker::docker_overhead(SAMPLES, per).await {
            Ok(f) => writeln!(
                out,
                "| docker sandbox start overhead over `python3 -c pass`, {how} (median of {SAMPLES}; {}) | {:.0} ms ({:.0} ms vs {:.1} ms) | – |",
                f.engine
                    .trim_start_matches("isolation: ")
                    .split(" container")
                    .next()
                    .unwrap_or_default(),
                f.sandboxed_ms - f.plain_ms,
                f.sandboxed_ms,
                f.plain_ms
            )?,
            Err(reason) => writeln!(
                out,
                "| docker sandbox start overhead, {how} | skipped: {reason} | – |"
            )?,
        }
    }
    Ok(())
}

/// The job queue on SQLite, then PostgreSQL.
async fn queue_sections(out: &mut impl Write) -> anyhow::Result<()> {
    let q = db::with_sqlite(|store| queue(store, QUEUE_JOBS, CLAIMERS, CLAIMERS)).await?;
    queue_rows(out, "SQLite", &q)?;
    for producers in [CLAIMERS, MANY_PRODUCERS] {
        match db::with_postgres(true, |store| queue(store, QUEUE_JOBS, producers, CLAIMERS)).await?
        {
            Some(q) => queue_rows(out, "PostgreSQL", &q)?,
            None => skipped(out, "queue")?,
        }
    }
    for (backend, durable, idle_poll_ms, target) in [
        ("PostgreSQL", true, 20, "> 5,000 jobs/s, 0 lost"),
        (
            "PostgreSQL, claimers polling every 1 ms (diagnostic)",
            true,
            1,
            "–",
        ),
        (
            "PostgreSQL with synchronous_commit off (diagnostic)",
            false,
            20,
            "–",
        ),
    ] {
        let idle_poll = Duration::from_millis(idle_poll_ms);
        match db::with_postgres(durable, |store| {
            pipeline(store, PIPELINE_JOBS, MANY_PRODUCERS, CLAIMERS, idle_poll)
        })
        .await?
        {
            Some(p) => writeln!(
                out,
                "| queue, {backend}: enqueue, claim and complete at once ({MANY_PRODUCERS} producers, {CLAIMERS} claimers polling every {idle_poll_ms} ms when idle, {} jobs), end to end | {:.0} jobs/s, {} lost, {} double-claimed ({:.0} µs client CPU/job) | {target} |",
                p.jobs, p.per_s, p.lost, p.doubled, p.cpu_us,
            )?,
            None => skipped(out, "queue pipeline")?,
        }
    }
    match db::with_postgres(false, |store| queue(store, QUEUE_JOBS, CLAIMERS, CLAIMERS)).await? {
        Some(q) => queue_rows(
            out,
            "PostgreSQL with synchronous_commit off (diagnostic)",
            &q,
        )?,
        None => skipped(out, "queue, synchronous_commit off")?,
    }
    Ok(())
}

/// Event persistence, one event per call and batches of 50, SQLite then PostgreSQL.
async fn event_sections(out: &mut impl Write) -> anyhow::Result<()> {
    let budget = Duration::from_secs(2);
    for batch in [1, 50] {
        let e = db::with_sqlite(|store| append_events(store, batch, 20_000, budget)).await?;
        event_row(out, "SQLite", batch, &e)?;
        match db::with_postgres(true, |store| append_events(store, batch, 20_000, budget)).await? {
            Some(e) => event_row(out, "PostgreSQL", batch, &e)?,
            None => skipped(out, "events persisted")?,
        }
    }
    Ok(())
}
