//! MCP tools end to end: `cadre serve` with `CADRE_MCP_CONFIG` naming a real MCP server
//! (the official Python SDK's `MCPServer`, over stdio), a model server speaking the
//! OpenAI protocol that calls tools, and a team whose agent may call some of them. The
//! allowed call reaches the server and its result reaches the chat; the call off the
//! allowlist is refused and never made; `cadre run --mcp-config` does the same in the
//! terminal.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cadre_llm::fake_server::{FakeOpenAi, FakeReply};
use common::{
    admin_client, assert_success, cadre, events, get_json, of_type, output, serve_fresh_with,
    write_json,
};
use serde_json::{Value, json};

fn sdk_python() -> String {
    common::sdk_python("ensure-mcp-sdk.sh")
}

/// An `mcpServers` file naming the notebook server (stdio), its notes in `dir`.
fn mcp_config(dir: &Path) -> PathBuf {
    let server = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../cadre-mcp/tests/fixtures/notebook_server.py");
    let path = dir.join("mcp.json");
    write_json(
        &path,
        &json!({"mcpServers": {"notebook": {
            "command": sdk_python(),
            "args": [server, "stdio"],
            "env": {"NOTES_FILE": dir.join("notes.txt")},
        }}}),
    );
    path
}

/// A model that, offered tools, calls `remember` and `wipe_notes`; given their results,
/// reports what the notebook said and ends the chat.
async fn tool_calling_model() -> FakeOpenAi {
    let model = FakeOpenAi::start(vec![]).await.unwrap();
    model.set_responder(|request: &Value| {
        let messages = request["messages"].as_array().unwrap();
        let last = messages.last().unwrap();
        if last["role"] == "tool" {
            let results: Vec<&str> = messages
                .iter()
                .filter(|m| m["role"] == "tool")
                .map(|m| m["content"].as_str().unwrap_or_default())
                .collect();
            return FakeReply::text(format!(
                "The notebook said: {}. TERMINATE",
                results.join(" / ")
            ))
            .usage(40, 12);
        }
        if request.get("tools").is_some() {
            return FakeReply::text("Noting it down.")
                .and_tool_call("call_a", "notebook__remember", r#"{"note": "buy milk"}"#)
                .and_tool_call("call_b", "notebook__wipe_notes", "{}")
                .usage(30, 10);
        }
        FakeReply::text("No tools here. TERMINATE").usage(10, 5)
    });
    model
}

fn team() -> Value {
    json!({
        "name": "note takers",
        "agents": [{
            "name": "Scribe",
            "system_message": "You keep the notebook.",
            "description": "Keeps notes",
            "tools": ["notebook.remember", "notebook.add"],
        }],
        "speaker_selection": {"method": "round_robin"},
        "termination": {"max_round": 4},
    })
}

async fn wait_finished(http: &reqwest::Client, base: &str, run: &str) -> Value {
    let started = Instant::now();
    loop {
        let view = get_json(http, format!("{base}/api/v1/runs/{run}")).await;
        if ["completed", "failed", "cancelled"].contains(&view["status"].as_str().unwrap()) {
            return view;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{view}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_teams_agent_calls_an_mcp_tool_and_a_tool_off_its_allowlist_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let model = tool_calling_model().await;
    let served = serve_fresh_with(
        0,
        &[
            (
                "CADRE_MCP_CONFIG",
                mcp_config(dir.path()).display().to_string(),
            ),
            ("CADRE_LLM_BASE_URL", model.base_url()),
            ("CADRE_LLM_MODEL", "tool-model".to_string()),
        ],
    );
    let base = served.base.clone();
    let http = admin_client(&base).await;

    // The deployment's tools, for the team editor.
    let tools = get_json(&http, format!("{base}/api/v1/tools")).await;
    assert_eq!(tools["configured"], true);
    let names: Vec<&str> = tools["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"notebook.wipe_notes"), "{tools}");

    let response = http
        .post(format!("{base}/api/v1/runs"))
        .json(&json!({"task": "Remember to buy milk.", "team": team()}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let run: Value = response.json().await.unwrap();
    let id = run["id"].as_str().unwrap().to_string();
    let view = wait_finished(&http, &base, &id).await;
    assert_eq!(view["status"], "completed", "{view}");

    // The allowed call reached the server; the other never did.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("notes.txt")).unwrap(),
        "buy milk\n"
    );
    assert!(!dir.path().join("WIPED").exists(), "a refused tool ran");

    // Only the allowlisted tools were offered to the model.
    let first = &model.requests()[0];
    let offered: Vec<&str> = first["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(offered.len(), 2, "{offered:?}");
    assert!(offered.contains(&"notebook__remember") && offered.contains(&"notebook__add"));

    let page = get_json(&http, format!("{base}/api/v1/runs/{id}/events?limit=500")).await;
    let events = page["events"].as_array().unwrap().clone();
    let calls = of_type(&events, "tool_call");
    let results = of_type(&events, "tool_result");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0]["data"]["tool"], "notebook.remember");
    assert_eq!(calls[0]["data"]["arguments"], json!({"note": "buy milk"}));
    assert_eq!(results[0]["data"]["content"], "noted: buy milk");
    assert_eq!(results[0]["data"]["is_error"], false);
    assert_eq!(results[1]["data"]["refused"], true);
    assert!(
        results[1]["data"]["content"]
            .as_str()
            .unwrap()
            .contains("not a tool Scribe may call"),
        "{}",
        results[1]
    );
    // The result reached the chat.
    let said: Vec<&str> = of_type(&events, "message")
        .iter()
        .map(|m| m["data"]["content"].as_str().unwrap())
        .collect();
    assert!(
        said.iter()
            .any(|m| m.contains("The notebook said: noted: buy milk / Refused")),
        "{said:?}"
    );
    // And the transcript.
    let transcript = http
        .get(format!("{base}/api/v1/runs/{id}/transcript?format=md"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        transcript.contains("Scribe calls `notebook.remember`"),
        "{transcript}"
    );
    assert!(transcript.contains("Refused"), "{transcript}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cadre_run_uses_the_tools_of_its_mcp_config() {
    let dir = tempfile::tempdir().unwrap();
    let model = tool_calling_model().await;
    let team_file = dir.path().join("team.json");
    write_json(&team_file, &team());
    let mut command = cadre();
    command
        .args([
            "run",
            "Remember to buy milk.",
            "--json",
            "--no-code",
            "--team",
        ])
        .arg(&team_file)
        .arg("--mcp-config")
        .arg(mcp_config(dir.path()))
        .env("CADRE_LLM_BASE_URL", model.base_url())
        .env("CADRE_LLM_MODEL", "tool-model");
    let out = output(command).await;
    assert_success(&out);
    let events = events(&out);
    assert_eq!(of_type(&events, "tool_call").len(), 2);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("notes.txt")).unwrap(),
        "buy milk\n"
    );
    assert!(!dir.path().join("WIPED").exists());

    // A broken configuration stops the command with a clear error.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"mcpServers": {"x": {"url": "ftp://nope"}}}"#).unwrap();
    let mut command = cadre();
    command
        .args(["run", "anything", "--model", "demo", "--mcp-config"])
        .arg(&bad);
    let out = output(command).await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("MCP server `x`: url must be http://"),
        "{stderr}"
    );
}
