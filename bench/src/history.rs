//! Per-request CPU as a run's history grows: the requests a client repeats while it
//! follows a run (get the run, page the events after the last one it has, resume the SSE
//! stream at the end) against a finished run of 20 messages and one of 200, on the real
//! API with a SQLite store. CPU is this process's (client and server share it).

use cadre_core::event::{EventKind, RunEvent, UsageTotals};
use cadre_core::{RunStatus, StopReason};
use cadre_server::api::AppState;
use cadre_server::auth::AuthConfig;
use cadre_server::bus::MemoryBus;
use cadre_server::startup::Application;
use cadre_store::{NewRun, NewUser, Store};
use chrono::Utc;
use std::sync::Arc;

use crate::engine::cpu_times;

/// CPU per request (µs) for one history length.
pub struct HistoryFigures {
    pub messages: u64,
    pub get_run_us: f64,
    pub events_tail_us: f64,
    pub stream_resume_us: f64,
}

async fn run_with(
    store: &Arc<dyn Store>,
    owner: uuid::Uuid,
    messages: u64,
) -> anyhow::Result<(uuid::Uuid, u64)> {
    let run = store
        .create_run(NewRun {
            owner,
            task: "history".into(),
            request: serde_json::json!({"task": "history"}),
            max_attempts: 3,
        })
        .await?;
    let id = run.id;
    let mut events = Vec::new();
    let mut seq = 0;
    let mut push = |kind: EventKind| {
        seq += 1;
        events.push(RunEvent {
            seq,
            run_id: id,
            at: Utc::now(),
            kind,
        });
    };
    for n in 0..messages {
        push(EventKind::Speaker {
            agent: "A".into(),
            reason: "round_robin".into(),
        });
        push(EventKind::Message {
            message_id: format!("m{n}"),
            agent: "A".into(),
            content: "I agree with the previous speaker and add one more point about the task. "
                .repeat(4),
            tokens: 60,
        });
    }
    push(EventKind::Finished {
        status: RunStatus::Completed,
        summary: "done".into(),
        reason: StopReason::TextMention,
        usage: UsageTotals::default(),
    });
    store.append_events(run.id, &events).await?;
    Ok((run.id, seq))
}

/// Measures `requests` of each kind against runs of 20 and 200 messages.
pub async fn history(store: Arc<dyn Store>, requests: u32) -> anyhow::Result<Vec<HistoryFigures>> {
    let auth = AuthConfig::from_secret(b"the history benchmark's server secret");
    let user = store
        .create_user(NewUser {
            email: "history@bench".into(),
            password_hash: None,
            is_admin: false,
        })
        .await?;
    let token = auth.jwt.issue(user.id, false)?;
    let state = AppState::new(store.clone(), Arc::new(MemoryBus::new()), auth);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let application = Application::from_listener(state, listener)?;
    let base = format!("http://{}", application.address());
    let server = tokio::spawn(application.run_until_stopped());
    let http = reqwest::Client::new();
    let mut figures = Vec::new();
    for messages in [20, 200] {
        let (run, last) = run_with(&store, user.id, messages).await?;
        let cpu_per = |start: (f64, f64)| -> anyhow::Result<f64> {
            let (user, system) = cpu_times()?;
            Ok((user + system - start.0 - start.1) * 1e6 / f64::from(requests))
        };
        let urls = [
            format!("{base}/api/v1/runs/{run}"),
            format!("{base}/api/v1/runs/{run}/events?after={}", last - 1),
            format!("{base}/api/v1/runs/{run}/events/stream?after={}", last - 1),
        ];
        let mut per_kind = Vec::new();
        for url in &urls {
            // Warm up, then measure.
            for _ in 0..20 {
                http.get(url)
                    .bearer_auth(&token)
                    .send()
                    .await?
                    .bytes()
                    .await?;
            }
            let start = cpu_times()?;
            for _ in 0..requests {
                let body = http
                    .get(url)
                    .bearer_auth(&token)
                    .send()
                    .await?
                    .bytes()
                    .await?;
                anyhow::ensure!(!body.is_empty(), "empty answer from {url}");
            }
            per_kind.push(cpu_per(start)?);
        }
        figures.push(HistoryFigures {
            messages,
            get_run_us: per_kind[0],
            events_tail_us: per_kind[1],
            stream_resume_us: per_kind[2],
        });
    }
    server.abort();
    Ok(figures)
}
