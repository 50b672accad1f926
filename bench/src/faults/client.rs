//! The user's side of a fault scenario: log in, post runs, follow each run's SSE stream as
//! a browser's `EventSource` does (on a dropped connection, reconnect with
//! `Last-Event-ID`, here to the next API replica, as a load balancer would send it), and
//! afterwards read back what the database kept.

use std::time::{Duration, Instant};

use anyhow::Context;
use futures::StreamExt;
use serde_json::{Value, json};

use super::cluster::{ADMIN_EMAIL, ADMIN_PASSWORD};

/// EventSource's default reconnection delay is a few seconds; ours is shorter so the
/// figures show the server's recovery, not the client's patience.
const RECONNECT_DELAY: Duration = Duration::from_millis(250);

/// A logged-in HTTP client.
#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    token: String,
}

impl Client {
    pub async fn login(base: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .connect_timeout(Duration::from_secs(5))
            .build()?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let response = http
                .post(format!("{base}/api/v1/auth/token"))
                .form(&[
                    ("grant_type", "password"),
                    ("username", ADMIN_EMAIL),
                    ("password", ADMIN_PASSWORD),
                ])
                .send()
                .await;
            match response {
                Ok(response) if response.status() == 200 => {
                    let body: Value = response.json().await?;
                    let token = body["access_token"]
                        .as_str()
                        .context("no access_token")?
                        .to_string();
                    return Ok(Self { http, token });
                }
                // The admin is created by the first replica to start; the other may be
                // a moment behind.
                _ if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Ok(response) => anyhow::bail!("login answered {}", response.status()),
                Err(error) => return Err(error).context("login"),
            }
        }
    }

    fn get(&self, url: String) -> reqwest::RequestBuilder {
        self.http.get(url).bearer_auth(&self.token)
    }

    /// Posts a run; retried on the other replica while one is down (what a client behind
    /// a load balancer sees).
    pub async fn post_run(&self, bases: &[String], body: &Value) -> anyhow::Result<String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut attempt = 0usize;
        loop {
            let base = &bases[attempt % bases.len()];
            attempt += 1;
            let response = self
                .http
                .post(format!("{base}/api/v1/runs"))
                .bearer_auth(&self.token)
                .json(body)
                .send()
                .await;
            match response {
                Ok(response) if response.status() == 202 => {
                    let run: Value = response.json().await?;
                    return Ok(run["id"].as_str().context("run id")?.to_string());
                }
                Ok(response) if response.status().is_client_error() => {
                    anyhow::bail!(
                        "POST /runs answered {}: {}",
                        response.status(),
                        response.text().await.unwrap_or_default()
                    )
                }
                _ if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Ok(response) => anyhow::bail!("POST /runs answered {}", response.status()),
                Err(error) => return Err(error).context("POST /runs"),
            }
        }
    }

    /// One POST of a run, not retried: its status (0 when the connection failed) and,
    /// when accepted, the run's id.
    pub async fn try_post_run(&self, base: &str, body: &Value) -> (u16, Option<String>) {
        let response = self
            .http
            .post(format!("{base}/api/v1/runs"))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await;
        match response {
            Ok(response) => {
                let status = response.status().as_u16();
                let id = match response.json::<Value>().await {
                    Ok(run) if status == 202 => run["id"].as_str().map(str::to_string),
                    _ => None,
                };
                (status, id)
            }
            Err(_) => (0, None),
        }
    }

    /// GET a JSON document, retried across replicas for up to a minute.
    pub async fn get_json(&self, bases: &[String], path: &str) -> anyhow::Result<Value> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut attempt = 0usize;
        loop {
            let base = &bases[attempt % bases.len()];
            attempt += 1;
            match self.get(format!("{base}{path}")).send().await {
                Ok(response) if response.status() == 200 => return Ok(response.json().await?),
                _ if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Ok(response) => anyhow::bail!("GET {path} answered {}", response.status()),
                Err(error) => return Err(error).with_context(|| format!("GET {path}")),
            }
        }
    }

    /// Every stored event of a run, paged.
    pub async fn stored_events(&self, bases: &[String], run: &str) -> anyhow::Result<Vec<Value>> {
        let mut events = Vec::new();
        let mut after = 0u64;
        loop {
            let page = self
                .get_json(
                    bases,
                    &format!("/api/v1/runs/{run}/events?after={after}&limit=1000"),
                )
                .await?;
            let batch = page["events"].as_array().cloned().unwrap_or_default();
            if batch.is_empty() {
                return Ok(events);
            }
            after = page["next_after"].as_u64().unwrap_or(after);
            events.extend(batch);
        }
    }
}

/// What one follower saw of one run.
#[derive(Debug, Default)]
pub struct Followed {
    /// Durable seqs in arrival order, over every connection.
    pub seqs: Vec<u64>,
    /// Connections after the first.
    pub reconnects: u32,
    /// Longest time between two durable events (or from a drop to the next event).
    pub longest_pause: Duration,
    /// Whether `finished` arrived before the deadline.
    pub finished: bool,
}

/// Follows `run` until its `finished` event or `deadline`, starting on `bases[first]`.
pub async fn follow(
    client: Client,
    bases: Vec<String>,
    run: String,
    first: usize,
    deadline: Instant,
) -> Followed {
    let mut seen = Followed::default();
    let mut last_seq = 0u64;
    let mut last_event = Instant::now();
    let mut attempt = first;
    let mut connections = 0u32;
    while Instant::now() < deadline {
        let base = &bases[attempt % bases.len()];
        attempt += 1;
        let mut request = client.get(format!("{base}/api/v1/runs/{run}/events/stream"));
        if last_seq > 0 {
            request = request.header("Last-Event-ID", last_seq.to_string());
        }
        let response = match request.send().await {
            Ok(response) if response.status() == 200 => response,
            _ => {
                tokio::time::sleep(RECONNECT_DELAY).await;
                continue;
            }
        };
        connections += 1;
        let mut body = response.bytes_stream();
        let mut buffer = String::new();
        'frames: while let Ok(Some(chunk)) =
            tokio::time::timeout_at(deadline.into(), body.next()).await
        {
            let Ok(chunk) = chunk else { break };
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let frame: String = buffer.drain(..end + 2).collect();
                let Some(data) = frame.lines().find_map(|l| l.strip_prefix("data:")) else {
                    continue;
                };
                let Ok(event) = serde_json::from_str::<Value>(data.trim()) else {
                    continue;
                };
                if event["type"] == "message_delta" {
                    continue;
                }
                let Some(seq) = event["seq"].as_u64() else {
                    continue;
                };
                seen.seqs.push(seq);
                last_seq = last_seq.max(seq);
                seen.longest_pause = seen.longest_pause.max(last_event.elapsed());
                last_event = Instant::now();
                if event["type"] == "finished" {
                    seen.finished = true;
                    break 'frames;
                }
            }
        }
        if seen.finished {
            break;
        }
        tokio::time::sleep(RECONNECT_DELAY).await;
    }
    seen.reconnects = connections.saturating_sub(1);
    seen
}

/// The demo run every scenario posts: deterministic, so every run's messages must equal a
/// fault-free run's.
pub fn demo_run(task: &str) -> Value {
    json!({"task": task, "model": "demo"})
}
