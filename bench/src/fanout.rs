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
    ready.wait().await;
    let mut body = response.bytes_stream();
    let mut buffer = String::new();
    let mut latencies = Vec::new();
    let mut seen = 0u64;
    while let Some(chunk) = body.next().await {
        buffer.push_str(&String::from_utf8_lossy(&chunk?));
        while let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            let Some(data) = frame.lines().find_map(|l| l.strip_prefix("data:")) else {
                continue;
            };
            let event: RunEvent = serde_json::from_str(data.trim())?;
            let latency = (Utc::now() - event.at)
                .num_microseconds()
                .unwrap_or(0)
                .max(0);
            latencies.push(u32::try_from(latency).unwrap_or(u32::MAX));
            seen += 1;
            if matches!(event.kind, EventKind::Finished { .. }) {
                return Ok((latencies, seen));
            }
        }
    }
    Ok((latencies, seen))
}

/// `subscribers` SSE clients on one run receiving `rate` events/s for `duration`.
pub async fn fanout(
    store: Arc<dyn Store>,
    subscribers: usize,
    rate: u32,
    duration: Duration,
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
    let bus: Arc<dyn EventBus> = Arc::new(MemoryBus::new());
    let state = AppState::new(store.clone(), bus.clone(), auth);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let application = Application::from_listener(state, listener)?;
    let addr = application.address();
    let server = tokio::spawn(application.run_until_stopped());

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(subscribers)
        .build()?;
    let url = format!("http://{addr}/api/v1/runs/{run_id}/events/stream?access_token={token}");
    let ready = Arc::new(tokio::sync::Barrier::new(subscribers + 1));
    let connecting = Instant::now();
    let mut clients = JoinSet::new();
    for _ in 0..subscribers {
        clients.spawn(subscribe(http.clone(), url.clone(), ready.clone()));
    }
    ready.wait().await;
    let connect_s = connecting.elapsed().as_secs_f64();

    // The worker's part: 10 ms batches, stored then published.
    let per_tick = (rate / 100).max(1) as u64;
    let ticks = (duration.as_millis() / 10) as u64;
    let mut seq = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(10));
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
        store.append_events(run.id, &batch).await?;
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
        .append_events(run.id, std::slice::from_ref(&finished))
        .await?;
    let _ = bus.publish(&finished).await;

    let mut latencies: Vec<u32> = Vec::with_capacity(subscribers * seq as usize);
    let mut lost = 0u64;
    while let Some(result) = clients.join_next().await {
        let (mine, seen) = result.context("subscriber task")??;
        lost += seq.saturating_sub(seen);
        latencies.extend(mine);
    }
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
