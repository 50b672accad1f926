//! A team served as an OpenAI-compatible model, driven by OpenAI's official Python SDK
//! (`tests/openai_sdk/client.py`, in a virtualenv `scripts/ensure-openai-sdk.sh`
//! installs once) against a real `cadre serve`: the SDK streams a saved team's answer
//! and reads its usage, asks `cadre/auto` without streaming, lists the teams as models,
//! and gets OpenAI's error shape for a bad token and an unknown model. The runs it
//! started are ordinary runs, in the history with their transcripts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::{admin_client, get_json, serve_fresh};
use serde_json::{Value, json};

/// The SDK's virtualenv python (installed on first use).
fn sdk_python() -> String {
    common::sdk_python("ensure-openai-sdk.sh")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openai_sdk_streams_a_teams_answer_and_reads_its_usage() {
    let python = sdk_python();
    let server = serve_fresh(0);
    let base = server.base.clone();
    let http = admin_client(&base).await;
    let token: Value = http
        .post(format!("{base}/api/v1/me/tokens"))
        .json(&json!({"name": "openai sdk"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["token"].as_str().unwrap().to_string();
    let team: Value = http
        .post(format!("{base}/api/v1/teams"))
        .json(&json!({
            "name": "Number theorists",
            "agents": [
                {"name": "analyst", "system_message": "You analyse sequences.", "description": "Analyses"},
                {"name": "writer", "system_message": "You write the comparison.", "description": "Writes"}
            ],
            "speaker_selection": {"method": "round_robin"},
            "termination": {"max_round": 6}
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let team_id = team["id"].as_str().unwrap().to_string();

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/openai_sdk/client.py");
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .args([&base, &token, &team_id])
            .stderr(Stdio::inherit())
            .output()
            .expect("python runs")
    })
    .await
    .unwrap();
    assert!(output.status.success(), "the SDK client failed");
    let seen: Value = serde_json::from_slice(&output.stdout).expect("the client's JSON");
    let base = server.base.clone();
    let team_id = team["id"].as_str().unwrap();

    let models: Vec<&str> = seen["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(
        models,
        vec!["cadre/auto".to_string(), format!("cadre/team/{team_id}")]
    );

    // Streamed: the team's messages as reasoning, the answer as content, then usage.
    let stream = &seen["stream"];
    let content = stream["content"].as_str().unwrap();
    assert!(!content.trim().is_empty(), "{stream}");
    let reasoning = stream["reasoning"].as_str().unwrap();
    assert!(
        reasoning.contains("**analyst**:") && reasoning.contains("**writer**:"),
        "{reasoning}"
    );
    assert_eq!(stream["finish"], json!(["stop"]));
    let usage = &stream["usage"];
    assert!(usage["completion_tokens"].as_u64().unwrap() > 0, "{usage}");
    assert_eq!(
        usage["total_tokens"].as_u64().unwrap(),
        usage["prompt_tokens"].as_u64().unwrap() + usage["completion_tokens"].as_u64().unwrap()
    );
    let ids = stream["ids"].as_array().unwrap();
    assert_eq!(ids.len(), 1, "one completion id per stream: {ids:?}");
    let run_id = ids[0].as_str().unwrap().strip_prefix("chatcmpl-").unwrap();

    // The stream's run is an ordinary run: its summary is the answer, its usage the same.
    let run = get_json(&http, format!("{base}/api/v1/runs/{run_id}")).await;
    assert_eq!(run["status"], "completed");
    assert_eq!(run["summary"].as_str().unwrap(), content);
    assert_eq!(run["team"]["name"], "Number theorists");
    assert_eq!(
        run["usage"]["completion_tokens"],
        usage["completion_tokens"]
    );
    assert!(
        run["task"]
            .as_str()
            .unwrap()
            .starts_with("Compare the first 20 Fibonacci numbers")
    );
    let transcript = http
        .get(format!("{base}/api/v1/runs/{run_id}/transcript?format=md"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(transcript.contains("analyst"), "{transcript}");

    // Not streamed, with a team built for the prompt.
    let auto = &seen["auto"];
    assert_eq!(auto["role"], "assistant");
    assert_eq!(auto["finish"], "stop");
    assert!(
        !auto["content"].as_str().unwrap().trim().is_empty(),
        "{auto}"
    );
    assert!(
        auto["usage"]["total_tokens"].as_u64().unwrap() > 0,
        "{auto}"
    );
    let auto_run = auto["id"]
        .as_str()
        .unwrap()
        .strip_prefix("chatcmpl-")
        .unwrap();
    let run = get_json(&http, format!("{base}/api/v1/runs/{auto_run}")).await;
    assert_eq!(run["status"], "completed");
    assert_eq!(run["summary"], auto["content"]);

    // A bad token: 401 in OpenAI's error shape, streaming or not.
    for case in ["bad_token", "bad_token_stream"] {
        let error = &seen[case];
        assert_eq!(error["class"], "AuthenticationError", "{case}: {error}");
        assert_eq!(error["status"], 401, "{case}: {error}");
        assert_eq!(
            error["body"]["type"], "invalid_request_error",
            "{case}: {error}"
        );
        assert_eq!(error["body"]["code"], "invalid_api_key", "{case}: {error}");
        assert!(
            error["body"]["message"].as_str().unwrap().contains("token"),
            "{error}"
        );
    }
    let unknown = &seen["unknown_model"];
    assert_eq!(unknown["class"], "NotFoundError", "{unknown}");
    assert_eq!(unknown["body"]["code"], "model_not_found", "{unknown}");
    assert_eq!(unknown["body"]["param"], "model", "{unknown}");

    // Exactly the two runs the SDK asked for exist; the refused requests started none.
    let runs = get_json(&http, format!("{base}/api/v1/runs")).await;
    assert_eq!(runs["runs"].as_array().unwrap().len(), 2, "{runs}");
}
