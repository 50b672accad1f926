//! Fan-out on one run: `subscribers` SSE clients on the real API (router, auth, the one
//! event source, `MemoryBus`) follow one run while this process plays its worker,
//! storing `rate` events per second in 10 ms batches (as the group-commit writer does)
//! and publishing them. Latency is receive time minus the event's own `at` stamp (same
//! clock); "lost" counts events a subscriber never received. Clients and server share the
//! process and its 2 cores, so the figures are pessimistic for a real deployment.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use cadre_core::event::{EventKind, LogLevel, RunEvent, UsageTotals};
use cadre_core::{RunStatus, StopReason};
use cadre_server::api::AppState;
use cadre_server::auth::AuthConfig;
use cadre_server::bus::{EventBus, MemoryBus};
use cadre_server::startup::Application;
use cadre_store::{NewRun, NewUser, Store};
use chrono::Utc;
use futures::StreamExt;
use tokio::io::AsyncBufReadExt;
use tokio::task::JoinSet;
use uuid::Uuid;

/// What one fan-out run measured.
pub struct FanoutFigures {
    pub subscribers: usize,
    pub rate: u32,
    pub events: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub lost: u64,
    pub connect_s: f64,
}

fn event(run: Uuid, seq: u64, kind: EventKind) -> RunEvent {
    RunEvent {
        seq,
        run_id: run,
        at: Utc::now(),
        kind,
    }
}

/// What a subscriber reads of each event: its stamp and type. The clients share the
/// machine's two cores with the server, so they decode no more than the measurement
/// needs: at 10,000 × 50 events/s that is half a million frames a second.
#[derive(serde::Deserialize)]
struct Stamp<'a> {
    at: chrono::DateTime<Utc>,
    #[serde(rename = "type", borrow)]
    kind: &'a str,
}

/// One subscriber: reads the SSE stream until `finished`; returns the latency of each
/// durable event in microseconds and the seqs seen.
async fn subscribe(
    http: reqwest::Client,
    url: String,
    ready: Arc<tokio::sync::Barrier>,
) -> anyhow::Result<(Vec<u32>, u64)> {
    let response = http.get(&url).send().await.context("subscribe")?;
    anyhow::ensure!(
        response.status() == 200,
        "stream answered {}",
        response.status()
    );
    let mut body = response.bytes_stream();
    let mut buffer: Vec<u8> = Vec::new();
    let mut latencies = Vec::new();
    let mut seen = 0u64;
    // Ready once the stream has caught up: its first frame is the event stored before
    // anyone connected, so its arrival shows the server's catch-up read is behind it.
    let mut caught_up = false;
    while let Some(chunk) = body.next().await {
        buffer.extend_from_slice(&chunk?);
        // Every complete frame in the buffer, then the consumed bytes dropped at once.
        let mut start = 0;
        while let Some(end) = find(&buffer[start..], b"\n\n") {
            let frame = &buffer[start..start + end];
            start += end + 2;
            let Some(data) = frame
                .split(|&b| b == b'\n')
                .find_map(|line| line.strip_prefix(b"data:"))
            else {
                continue;
            };
            let event: Stamp = serde_json::from_slice(data.trim_ascii())?;
            seen += 1;
            if !caught_up {
                caught_up = true;
                ready.wait().await;
                continue;
            }
            let latency = (Utc::now() - event.at)
                .num_microseconds()
                .unwrap_or(0)
                .max(0);
            latencies.push(u32::try_from(latency).unwrap_or(u32::MAX));
            if event.kind == "finished" {
                return Ok((latencies, seen));
            }
        }
        buffer.drain(..start);
    }
    Ok((latencies, seen))
}

/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// Where the subscribers run.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Clients {
    /// Tasks of this process (sharing its runtime with the server).
    InProcess,
    /// A child process (`cadre-bench fanout-clients URL N`), as real clients would be.
    Separate,
}

/// What the subscribers saw, however they ran.
struct Seen {
    latencies: Vec<u32>,
    events: u64,
}

/// `subscribers` SSE clients on one run receiving `rate` events/s for `duration`.
pub async fn fanout(
    store: Arc<dyn Store>,
    subscribers: usize,
    rate: u32,
    duration: Duration,
    clients: Clients,
) -> anyhow::Result<FanoutFigures> {
    let auth = AuthConfig::from_secret(b"the fan-out benchmark's server secret");
    let user = store
        .create_user(NewUser {
            email: "fanout@bench".into(),
            password_hash: None,
            is_admin: false,
        })
        .await?;
    let token = auth.jwt.issue(user.id, false)?;
    let run = store
        .create_run(NewRun {
            owner: user.id,
            task: "fan-out".into(),
            request: serde_json::json!({"task": "fan-out"}),
            max_attempts: 3,
        })
        .await?;
    let run_id = run.id;
    // Stored before anyone connects: every stream's first frame, read from the database.
    store
        .append_events(
            run_id,
            &[event(
                run_id,
                1,
                EventKind::Status {
                    status: RunStatus::Executing,
                },
            )],
        )
        .await?;
    let bus: Arc<dyn EventBus> = Arc::new(MemoryBus::new());
    let state = AppState::new(store.clone(), bus.clone(), auth);
    let listener = cadre_server::startup::bind("127.0.0.1:0").await?;
    let application = Application::from_listener(state, listener)?;
    let addr = application.address();
    let server = tokio::spawn(application.run_until_stopped());
    let url = format!("http://{addr}/api/v1/runs/{run_id}/events/stream?access_token={token}");

    let connecting = Instant::now();
    let (seen, connect_s) = match clients {
        Clients::InProcess => {
            let ready = Arc::new(tokio::sync::Barrier::new(subscribers + 1));
            let running = tokio::spawn(subscribers_of(url.clone(), subscribers, ready.clone()));
            ready.wait().await;
            let connect_s = connecting.elapsed().as_secs_f64();
            play(&store, &bus, run_id, rate, duration).await?;
            (running.await.context("subscribers")??, connect_s)
        }
        Clients::Separate => {
            let mut child = tokio::process::Command::new(std::env::current_exe()?)
                .args(["fanout-clients", &url, &subscribers.to_string()])
                .stdout(std::process::Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .context("cannot start the client process")?;
            let stdout = child.stdout.take().context("client stdout")?;
            let mut lines = tokio::io::BufReader::new(stdout).lines();
            let ready = lines.next_line().await?.unwrap_or_default();
            anyhow::ensure!(ready == "ready", "the client process said {ready:?}");
            let connect_s = connecting.elapsed().as_secs_f64();
            play(&store, &bus, run_id, rate, duration).await?;
            let report = lines
                .next_line()
                .await?
                .context("no report from the clients")?;
            anyhow::ensure!(child.wait().await?.success(), "the client process failed");
            (parse_report(&report)?, connect_s)
        }
    };
    let seq = store.get_run_any(run_id).await?.last_seq;
    let Seen {
        mut latencies,
        events,
    } = seen;
    let lost = (subscribers as u64 * seq).saturating_sub(events);
    server.abort();
    latencies.sort_unstable();
    let at = |q: f64| -> f64 {
        let index = ((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1));
        latencies.get(index).copied().unwrap_or(0) as f64 / 1000.0
    };
    Ok(FanoutFigures {
        subscribers,
        rate,
        events: seq,
        p50_ms: at(0.50),
        p99_ms: at(0.99),
        max_ms: latencies.last().copied().unwrap_or(0) as f64 / 1000.0,
        lost,
        connect_s,
    })
}

/// The worker's part: events stored then published, `rate` a second for `duration` (in
/// 10 ms batches above 100 a second), then `finished`.
async fn play(
    store: &Arc<dyn Store>,
    bus: &Arc<dyn EventBus>,
    run_id: Uuid,
    rate: u32,
    duration: Duration,
) -> anyhow::Result<()> {
    let (period, per_tick) = if rate >= 100 {
        (Duration::from_millis(10), u64::from(rate / 100))
    } else {
        (Duration::from_secs(1) / rate.max(1), 1)
    };
    let ticks = (duration.as_micros() / period.as_micros().max(1)) as u64;
    // After the event every stream caught up with.
    let mut seq = 1u64;
    let mut tick = tokio::time::interval(period);
    for _ in 0..ticks {
        tick.tick().await;
        let batch: Vec<RunEvent> = (0..per_tick)
            .map(|_| {
                seq += 1;
                event(
                    run_id,
                    seq,
                    EventKind::Log {
                        level: LogLevel::Info,
                        message: format!("event {seq} of the fan-out benchmark"),
                    },
                )
            })
            .collect();
        store.append_events(run_id, &batch).await?;
        for event in &batch {
            let _ = bus.publish(event).await;
        }
    }
    seq += 1;
    let finished = event(
        run_id,
        seq,
        EventKind::Finished {
            status: RunStatus::Completed,
            summary: "done".into(),
            reason: StopReason::TextMention,
            usage: UsageTotals::default(),
        },
    );
    store
        .append_events(run_id, std::slice::from_ref(&finished))
        .await?;
    let _ = bus.publish(&finished).await;
    Ok(())
}

/// `subscribers` subscribers on `url`; `ready` is passed once all are connected.
async fn subscribers_of(
    url: String,
    subscribers: usize,
    ready: Arc<tokio::sync::Barrier>,
) -> anyhow::Result<Seen> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(subscribers)
        .build()?;
    let mut clients = JoinSet::new();
    for _ in 0..subscribers {
        clients.spawn(subscribe(http.clone(), url.clone(), ready.clone()));
    }
    let mut seen = Seen {
        latencies: Vec::new(),
        events: 0,
    };
    while let Some(result) = clients.join_next().await {
        let (mine, count) = result.context("subscriber task")??;
        seen.events += count;
        seen.latencies.extend(mine);
    }
    Ok(seen)
}

/// `cadre-bench fanout-clients URL N`: the client side in a process of its own. Prints
/// `ready` once all N are connected, then, when every stream has ended, one line: the
/// number of events received and every latency in µs (comma-separated).
pub async fn client_process(url: String, subscribers: usize) -> anyhow::Result<()> {
    use std::io::Write as _;
    let ready = Arc::new(tokio::sync::Barrier::new(subscribers + 1));
    let running = tokio::spawn(subscribers_of(url, subscribers, ready.clone()));
    ready.wait().await;
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready")?;
    out.flush()?;
    drop(out);
    let seen = running.await.context("subscribers")??;
    let mut report = String::with_capacity(seen.latencies.len() * 6);
    report.push_str(&seen.events.to_string());
    for latency in &seen.latencies {
        report.push(',');
        report.push_str(&latency.to_string());
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "{report}")?;
    Ok(())
}

fn parse_report(report: &str) -> anyhow::Result<Seen> {
    let mut fields = report.split(',');
    let events = fields.next().context("empty report")?.parse()?;
    let latencies = fields.map(str::parse).collect::<Result<Vec<u32>, _>>()?;
    Ok(Seen { latencies, events })
}
