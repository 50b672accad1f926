//! `cadre serve` as a real process on a fresh data dir: a demo run posted over HTTP is
//! executed by the built-in worker and streamed over SSE until `finished`; the events page
//! resumes exactly after a seq; health, readiness, OpenAPI and the docs answer; SIGTERM
//! stops the server cleanly.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Served, admin_client, cadre, get_json, serve_fresh, start_listening};
use futures::StreamExt;
use serde_json::{Value, json};

fn start() -> Served {
    serve_fresh(0)
}

/// Reads an SSE response until the `finished` event; returns (id, event, data) frames.
async fn read_sse(response: reqwest::Response) -> Vec<(Option<u64>, String, Value)> {
    let mut frames = Vec::new();
    let mut buffer = String::new();
    let mut body = response.bytes_stream();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while let Ok(Some(chunk)) = tokio::time::timeout_at(deadline, body.next()).await {
        buffer.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        while let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            let (mut id, mut event, mut data) = (None, String::new(), String::new());
            for line in frame.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    id = v.trim().parse().ok();
                } else if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim().to_string();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim_start());
                }
            }
            if !data.is_empty() {
                let finished = event == "finished";
                frames.push((id, event, serde_json::from_str(&data).unwrap()));
                if finished {
                    return frames;
                }
            }
        }
    }
    panic!(
        "stream ended without `finished`; got {} frames",
        frames.len()
    );
}

#[tokio::test]
async fn serve_runs_a_posted_task_and_streams_it() {
    let server = start();
    let base = &server.base;
    let http = admin_client(base).await;

    for path in ["/healthz", "/readyz"] {
        assert_eq!(
            http.get(format!("{base}{path}"))
                .send()
                .await
                .unwrap()
                .status(),
            200,
            "{path}"
        );
    }
    // The sandbox in use is reported, and the cadre binary itself applies Landlock
    // inside it.
    let ready: Value = get_json(&http, format!("{base}/readyz")).await;
    let sandbox = &ready["checks"]["sandbox"];
    assert_eq!(sandbox["backend"], "bwrap", "{ready}");
    assert_eq!(sandbox["state"], "active", "{ready}");
    let enforced: Vec<&str> = sandbox["enforced"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        enforced.iter().any(|l| l.starts_with("seccomp: ")),
        "{enforced:?}"
    );
    assert!(
        enforced
            .iter()
            .any(|l| l.starts_with("landlock: ") && !l.contains("no init program")),
        "{enforced:?}"
    );
    let info: Value = get_json(&http, format!("{base}/api/v1/info")).await;
    assert_eq!(info["sandbox"], *sandbox, "/api/v1/info and /readyz agree");

    let created = http
        .post(format!("{base}/api/v1/runs"))
        .json(&json!({"task": "Compare the first 20 Fibonacci numbers with the first 20 primes", "model": "demo"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 202);
    let run: Value = created.json().await.unwrap();
    let id = run["id"].as_str().unwrap().to_string();

    let stream = http
        .get(format!("{base}/api/v1/runs/{id}/events/stream"))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert!(
        stream.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let frames = read_sse(stream).await;
    let durable: Vec<u64> = frames.iter().filter_map(|(id, _, _)| *id).collect();
    assert_eq!(
        durable,
        (1..=durable.len() as u64).collect::<Vec<_>>(),
        "every durable event once, in order"
    );
    let statuses: Vec<&str> = frames
        .iter()
        .filter(|(_, e, _)| e == "status")
        .map(|(_, _, d)| d["data"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["building", "executing", "completed"]);
    assert!(
        frames
            .iter()
            .any(|(_, e, d)| e == "code_result" && d["data"]["exit_code"] == 0),
        "code ran in the sandbox"
    );

    let page: Value = get_json(
        &http,
        format!("{base}/api/v1/runs/{id}/events?after=3&limit=1000"),
    )
    .await;
    let seqs: Vec<u64> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (4..=*durable.last().unwrap()).collect::<Vec<_>>());

    let record: Value = get_json(&http, format!("{base}/api/v1/runs/{id}")).await;
    assert_eq!(record["status"], "completed");

    let openapi: Value = get_json(&http, format!("{base}/openapi.json")).await;
    assert!(openapi["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(openapi["paths"]["/api/v1/runs/{id}/events/stream"].is_object());
    let docs = http.get(format!("{base}/docs/")).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(
        docs.text()
            .await
            .unwrap()
            .to_lowercase()
            .contains("swagger")
    );
}

#[tokio::test]
async fn sigterm_stops_the_server_even_with_an_open_stream() {
    let mut server = serve_fresh(30_000);
    let base = server.base.clone();
    let http = admin_client(&base).await;
    let run: Value = http
        .post(format!("{base}/api/v1/runs"))
        .json(&json!({"task": "a slow demo", "model": "demo"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = run["id"].as_str().unwrap();
    let stream = http
        .get(format!("{base}/api/v1/runs/{id}/events/stream"))
        .send()
        .await
        .unwrap();
    let mut body = stream.bytes_stream();
    let first = tokio::time::timeout(Duration::from_secs(5), body.next())
        .await
        .unwrap();
    assert!(first.is_some(), "the stream is open and delivering");

    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = std::time::Instant::now();
    loop {
        if let Some(exit) = server.child.try_wait().unwrap() {
            assert!(exit.success(), "{exit:?}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "server did not stop with a stream open"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The stream ended (so the client reconnects and resumes elsewhere).
    let rest = tokio::time::timeout(Duration::from_secs(5), async {
        while body.next().await.is_some() {}
    })
    .await;
    assert!(rest.is_ok(), "the stream was closed by the shutdown");
}

/// Starts `cadre serve` on `dir` without a configured admin; returns the child, its base
/// URL and everything it wrote to stderr within its first second.
fn start_unconfigured(dir: &std::path::Path) -> (std::process::Child, String, String) {
    let mut command = cadre();
    command
        .arg("serve")
        .env("CADRE_DATA_DIR", dir)
        .env("CADRE_BIND", "127.0.0.1:0")
        .env_remove("CADRE_ADMIN_EMAIL")
        .env_remove("CADRE_ADMIN_PASSWORD")
        .env_remove("CADRE_DATABASE_URL")
        .env_remove("CADRE_REDIS_URL")
        .stderr(Stdio::piped());
    let (mut child, base) = start_listening(command);
    let mut stderr = child.stderr.take().unwrap();
    let collected = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = collected.clone();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(n) = std::io::Read::read(&mut stderr, &mut buffer) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buffer[..n]));
        }
    });
    std::thread::sleep(Duration::from_millis(800));
    let text = collected.lock().unwrap().clone();
    (child, base, text)
}

#[tokio::test]
async fn first_start_creates_an_admin_and_shows_the_password_once() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, base, stderr) = start_unconfigured(dir.path());
    let password = stderr
        .lines()
        .find_map(|line| {
            line.trim()
                .strip_prefix("password (shown only this once): ")
        })
        .unwrap_or_else(|| panic!("no password shown: {stderr}"))
        .to_string();
    assert!(stderr.contains("admin@cadre.local"), "{stderr}");
    assert_eq!(
        stderr.matches(&password).count(),
        1,
        "only on the terminal line"
    );

    let login = |password: String| {
        let base = base.clone();
        async move {
            reqwest::Client::new()
                .post(format!("{base}/api/v1/auth/token"))
                .form(&[
                    ("grant_type", "password"),
                    ("username", "admin@cadre.local"),
                    ("password", password.as_str()),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(login(password.clone()).await, 200);
    assert_eq!(login("not the password".into()).await, 400);
    let _ = child.kill();
    let _ = child.wait();

    // A second start finds the admin and shows nothing; the key file keeps tokens valid.
    let (mut again, base_again, stderr) = start_unconfigured(dir.path());
    assert!(!stderr.contains("shown only this once"), "{stderr}");
    let status = reqwest::Client::new()
        .post(format!("{base_again}/api/v1/auth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", "admin@cadre.local"),
            ("password", password.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
    let key = dir.path().join("secret.key");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let _ = again.kill();
    let _ = again.wait();
}
