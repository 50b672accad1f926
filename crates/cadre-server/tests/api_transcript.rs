//! `GET /api/v1/runs/{id}/transcript` end to end: events appended through the store as a
//! worker would, then the Markdown and JSON transcripts read through the real router.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use cadre_core::artifact::{ArtifactFile, ArtifactSkip};
use cadre_core::event::{EventKind, RunEvent, RunStatus, UsageTotals};
use cadre_core::team::{AgentSpec, TeamSpec};
use cadre_core::termination::StopReason;
use common::{App, event, spawn};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

impl App {
    /// Appends `kinds` through the store as events `1..=kinds.len()`.
    async fn append(&self, run_id: Uuid, kinds: Vec<EventKind>) {
        let events: Vec<RunEvent> = kinds
            .into_iter()
            .enumerate()
            .map(|(i, kind)| event(run_id, i as u64 + 1, kind))
            .collect();
        self.store.append_events(run_id, &events).await.unwrap();
    }
}

fn demo_events() -> Vec<EventKind> {
    let mut team = TeamSpec::new(
        "Math team",
        vec![
            AgentSpec::new("Planner", "You plan.", "Breaks the task down."),
            AgentSpec::new("Coder", "You code.", "Writes Python."),
        ],
    );
    team.code_execution.enabled = true;
    vec![
        EventKind::Status {
            status: RunStatus::Building,
        },
        EventKind::Team {
            team: Box::new(team),
        },
        EventKind::Status {
            status: RunStatus::Executing,
        },
        EventKind::Message {
            message_id: "m1".into(),
            agent: "Planner".into(),
            content: "Let us sum 1..10.".into(),
            tokens: 7,
        },
        EventKind::Message {
            message_id: "m2".into(),
            agent: "Coder".into(),
            content: "```python\nprint(sum(range(11)))\n```".into(),
            tokens: 12,
        },
        EventKind::Code {
            message_id: "m2".into(),
            language: "python".into(),
            code: "print(sum(range(11)))".into(),
        },
        EventKind::CodeResult {
            message_id: "m2".into(),
            exit_code: 0,
            stdout: "55\n".into(),
            stderr: String::new(),
            duration_ms: 31,
            timed_out: false,
            files: vec![
                ArtifactFile {
                    path: "sums.csv".into(),
                    size_bytes: 12,
                    content_type: "text/csv".into(),
                    stored: true,
                    skipped: None,
                },
                ArtifactFile {
                    path: "huge.bin".into(),
                    size_bytes: 99_999_999,
                    content_type: "application/octet-stream".into(),
                    stored: false,
                    skipped: Some(ArtifactSkip::TooLarge),
                },
            ],
        },
        EventKind::Finished {
            status: RunStatus::Completed,
            summary: "The sum is 55.".into(),
            reason: StopReason::TextMention,
            usage: UsageTotals {
                prompt_tokens: 100,
                completion_tokens: 19,
                cost_usd: 0.0,
                calls: 2,
            },
        },
    ]
}

#[tokio::test]
async fn markdown_transcript_is_a_readable_download() {
    let app = spawn().await;
    let id = app.create_run_id("Sum the numbers 1 to 10").await;
    app.append(id, demo_events()).await;

    for path in [
        format!("/api/v1/runs/{id}/transcript"),
        format!("/api/v1/runs/{id}/transcript?format=md"),
    ] {
        let response = app.http.get(app.url(&path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-type"],
            "text/markdown; charset=utf-8"
        );
        assert_eq!(
            response.headers()["content-disposition"],
            format!("attachment; filename=\"run-{id}.md\"").as_str()
        );
        let md = response.text().await.unwrap();
        assert!(md.starts_with("# Sum the numbers 1 to 10\n"), "{md}");
        for needle in [
            "## Team: Math team",
            "- **Planner**: Breaks the task down.",
            "- **Coder**: Writes Python.",
            "### Planner\n\nLet us sum 1..10.",
            "### Coder\n\n```python\nprint(sum(range(11)))\n```",
            "```python\nprint(sum(range(11)))\n```\n\nExit code 0 (31 ms)",
            "```text\n55\n```",
            "Files written:\n\n- ` sums.csv ` (12 bytes, text/csv)",
            "- ` huge.bin ` (99999999 bytes, application/octet-stream, not kept: too_large)",
            "- Status: completed (text_mention)",
            "100 prompt + 19 completion tokens in 2 calls",
            "The sum is 55.",
        ] {
            assert!(md.contains(needle), "missing {needle:?} in:\n{md}");
        }
        // Messages come before the code they produced, in log order.
        let planner = md.find("### Planner").unwrap();
        let coder = md.find("### Coder").unwrap();
        let exit = md.find("Exit code 0").unwrap();
        assert!(planner < coder && coder < exit, "{md}");
    }
}

#[tokio::test]
async fn json_transcript_has_run_team_messages_and_code() {
    let app = spawn().await;
    let id = app.create_run_id("Sum the numbers 1 to 10").await;
    app.append(id, demo_events()).await;

    let response = app
        .http
        .get(app.url(&format!("/api/v1/runs/{id}/transcript?format=json")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(
        response.headers()["content-disposition"],
        format!("attachment; filename=\"run-{id}.json\"").as_str()
    );
    let doc: Value = response.json().await.unwrap();
    assert_eq!(doc["run"]["id"], id.to_string());
    assert_eq!(doc["run"]["task"], "Sum the numbers 1 to 10");
    assert!(doc["run"]["status"].is_string());
    assert!(doc["run"]["usage"].is_object());
    assert_eq!(doc["team"]["name"], "Math team");
    let agents: Vec<&str> = doc["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["agent"].as_str().unwrap())
        .collect();
    assert_eq!(agents, vec!["Planner", "Coder"]);
    assert_eq!(doc["messages"][0]["tokens"], 7);
    assert!(doc["messages"][0]["at"].is_string());
    // Messages carry their id, which their code blocks name.
    assert_eq!(
        doc["messages"][1]["message_id"],
        doc["code"][0]["message_id"]
    );
    assert!(doc["messages"][1]["message_id"].is_string());
    assert_eq!(doc["code"][0]["language"], "python");
    assert_eq!(doc["code"][0]["result"]["exit_code"], 0);
    assert_eq!(doc["code"][0]["result"]["stdout"], "55\n");
    assert_eq!(doc["code"][0]["result"]["files"][0]["path"], "sums.csv");
    assert_eq!(doc["code"][0]["result"]["files"][0]["stored"], true);
    assert_eq!(doc["code"][0]["result"]["files"][1]["skipped"], "too_large");
    assert_eq!(doc["outcome"]["status"], "completed");
    assert_eq!(doc["outcome"]["usage"]["prompt_tokens"], 100);
}

#[tokio::test]
async fn transcript_of_a_fresh_run_and_client_mistakes() {
    let app = spawn().await;
    let id = app.create_run_id("Nothing happened yet").await;
    let response = app
        .http
        .get(app.url(&format!("/api/v1/runs/{id}/transcript?format=json")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let doc: Value = response.json().await.unwrap();
    assert_eq!(doc["messages"], json!([]));
    assert!(doc["outcome"].is_null());
    let md = app
        .http
        .get(app.url(&format!("/api/v1/runs/{id}/transcript")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(md.contains("- Status: queued (not finished)"), "{md}");

    let error = |body: Value, code: &str| assert_eq!(body["error"]["code"], code, "{body}");
    let response = app
        .http
        .get(app.url(&format!("/api/v1/runs/{id}/transcript?format=pdf")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    error(response.json().await.unwrap(), "validation_failed");
    let response = app
        .http
        .get(app.url(&format!("/api/v1/runs/{}/transcript", Uuid::new_v4())))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    error(response.json().await.unwrap(), "not_found");
    let response = app
        .http
        .get(app.url("/api/v1/runs/nope/transcript"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    error(response.json().await.unwrap(), "bad_request");
}
