//! `cadre run` against a real local OpenAI-compatible HTTP server, with an AutoGen team
//! file, and the failure modes users hit: bad output, bad servers, bad files.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use cadre_llm::fake_server::{FakeOpenAi, FakeReply};
use common::*;
use serde_json::json;

fn autogen_team() -> serde_json::Value {
    json!({
        "building_task": "Sum the numbers below 10",
        "agent_configs": [
            {"name": "Planner", "model": ["test-model"], "tags": [], "system_message": "You plan the work.", "description": "Plans."},
            {"name": "Coder", "model": ["test-model"], "tags": [], "system_message": "You write Python.", "description": "Codes."}
        ],
        "manager_system_message": "Group chat manager.",
        "coding": true,
        "default_llm_config": {"temperature": 0},
        "code_execution_config": {"last_n_messages": 1, "work_dir": "groupchat", "use_docker": false, "timeout": 60}
    })
}

#[tokio::test]
async fn autogen_team_runs_round_robin_against_a_local_server() {
    let server = FakeOpenAi::start(vec![
        FakeReply::text("Plan: compute the sum of 0..9 in Python.").usage(120, 12),
        FakeReply::text("```python\nprint(sum(range(10)))\n```")
            .usage(150, 20)
            .with_comments()
            .empty_finish_reason(),
        FakeReply::text("The output 45 is correct.")
            .usage(200, 9)
            .usage_in_last_choice(),
        FakeReply::text("Done. TERMINATE")
            .usage(230, 4)
            .without_ids(),
    ])
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let team = dir.path().join("team.json");
    write_json(&team, &autogen_team());

    let mut command = cadre();
    command
        .args([
            "run",
            "Sum the numbers below 10",
            "--json",
            "--speaker-selection",
            "round_robin",
            "--team",
        ])
        .arg(&team)
        .env("CADRE_LLM_BASE_URL", server.base_url())
        .env("CADRE_LLM_MODEL", "test-model");
    let out = output(command).await;
    assert_success(&out);
    let events = events(&out);
    assert_eq!(events.last().unwrap()["data"]["status"], "completed");

    let speakers = speakers(&events);
    assert_eq!(
        speakers,
        vec![
            "User",
            "Planner",
            "Coder",
            "Computer_terminal",
            "Planner",
            "Coder"
        ]
    );
    let result = of_type(&events, "code_result");
    assert_eq!(result[0]["data"]["stdout"], "45\n");

    // Usage totals in the events equal what the server reported.
    let reported = server.reported_usage();
    let usage = of_type(&events, "usage");
    let prompt: u64 = usage
        .iter()
        .map(|e| e["data"]["prompt_tokens"].as_u64().unwrap())
        .sum();
    let completion: u64 = usage
        .iter()
        .map(|e| e["data"]["completion_tokens"].as_u64().unwrap())
        .sum();
    assert_eq!(
        (prompt, completion),
        (reported.prompt_tokens, reported.completion_tokens)
    );
    assert_eq!((prompt, completion), (700, 45));
    let finished = &events.last().unwrap()["data"]["usage"];
    assert_eq!(finished["prompt_tokens"], 700);
    assert_eq!(finished["completion_tokens"], 45);

    // The server saw the team's system messages and the requested model.
    let requests = server.requests();
    assert_eq!(requests.len(), 4);
    assert_eq!(requests[0]["model"], "test-model");
    let system = requests[0]["messages"][0]["content"].as_str().unwrap();
    assert!(system.starts_with("You plan the work."), "{system}");
    // AutoGen files hold only the role; the chat mechanics are added at run time.
    assert!(
        system.contains("Computer_terminal runs the blocks") && system.contains("TERMINATE"),
        "{system}"
    );
    assert_eq!(requests[0]["stream"], true);
}

#[tokio::test]
async fn sandboxed_code_cannot_escape_and_the_run_goes_on() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "host secret").unwrap();
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());

    let block = |code: String| format!("```python\n{code}\n```");
    let script = json!([
        {"purpose": "agent_reply", "content": block(format!("import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=3)\nprint('connected')"))},
        {"purpose": "agent_reply", "content": block(format!("print(open({:?}).read())", secret.display().to_string()))},
        {"purpose": "agent_reply", "content": block(format!("import os\nprint(os.listdir({home:?}))"))},
        {"purpose": "agent_reply", "content": block("import time\ntime.sleep(60)".into())},
        {"purpose": "agent_reply", "content": "All attempts failed as they should. TERMINATE"}
    ]);
    let script_file = dir.path().join("script.json");
    write_json(&script_file, &script);
    let team = json!({"agents": [{"name": "Intruder", "system_message": "probe"}], "speaker_selection": {"method": "round_robin"},
                      "code_execution": {"enabled": true}});
    let team_file = dir.path().join("team.json");
    write_json(&team_file, &team);

    let mut command = cadre();
    command
        .args([
            "run",
            "probe the sandbox",
            "--json",
            "--code-timeout",
            "2",
            "--script",
        ])
        .arg(&script_file)
        .arg("--team")
        .arg(&team_file);
    let started = std::time::Instant::now();
    let out = output(command).await;
    assert_success(&out);
    assert!(started.elapsed().as_secs() < 30);
    let events = events(&out);
    let results = of_type(&events, "code_result");
    assert_eq!(results.len(), 4);
    for result in &results {
        assert_ne!(result["data"]["exit_code"], 0, "{result}");
        assert!(
            !result["data"]["stdout"]
                .as_str()
                .unwrap()
                .contains("connected")
        );
        assert!(
            !result["data"]["stdout"]
                .as_str()
                .unwrap()
                .contains("host secret")
        );
    }
    let stderr = |i: usize| results[i]["data"]["stderr"].as_str().unwrap().to_string();
    assert!(
        stderr(0).contains("Connection refused")
            || stderr(0).contains("Network is unreachable")
            // The seccomp filter refuses non-Unix sockets outright.
            || stderr(0).contains("Operation not permitted"),
        "{}",
        stderr(0)
    );
    assert!(stderr(1).contains("No such file"), "{}", stderr(1));
    assert!(
        stderr(2).contains("No such file") || stderr(2).contains("Permission denied"),
        "{}",
        stderr(2)
    );
    assert_eq!(results[3]["data"]["timed_out"], true);
    // Each failure went back into the chat, and the chat carried on to the end.
    let reports: Vec<&str> = of_type(&events, "message")
        .iter()
        .filter(|e| e["data"]["agent"] == "Computer_terminal")
        .map(|e| e["data"]["content"].as_str().unwrap())
        .collect();
    assert_eq!(reports.len(), 4);
    assert!(
        reports
            .iter()
            .all(|r| r.starts_with("exitcode: ") && !r.starts_with("exitcode: 0")),
        "{reports:?}"
    );
    assert_eq!(events.last().unwrap()["data"]["status"], "completed");
    drop(listener);
}

#[tokio::test]
async fn malformed_builder_output_fails_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("script.json");
    write_json(
        &script,
        &json!([
            {"purpose": "build_agent_names", "content": "I would rather not say."},
            {"purpose": "build_agent_names", "content": "{{{"},
            {"purpose": "build_agent_names", "content": ""}
        ]),
    );
    let mut command = cadre();
    command
        .args(["run", "anything", "--json", "--script"])
        .arg(&script);
    let out = output(command).await;
    assert_eq!(out.status.code(), Some(1));
    assert_clean_failure(&out, "could not parse");
    let events = events(&out);
    assert_eq!(events.last().unwrap()["data"]["status"], "failed");
    assert_eq!(
        of_type(&events, "error")[0]["data"]["code"],
        "team_build_failed"
    );
}

#[tokio::test]
async fn unreachable_llm_fails_with_one_line() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut command = cadre();
    command
        .args(["run", "anything"])
        .env("CADRE_LLM_BASE_URL", format!("http://127.0.0.1:{port}/v1"))
        .env("CADRE_LLM_MODEL", "m");
    let started = std::time::Instant::now();
    let out = output(command).await;
    assert!(started.elapsed().as_secs() < 60, "bounded retries");
    assert_eq!(out.status.code(), Some(1));
    assert_clean_failure(&out, "cannot reach the LLM");
}

#[tokio::test]
async fn failing_llm_and_unknown_model_fail_with_the_providers_message() {
    let server = FakeOpenAi::start(vec![FakeReply::status(
        404,
        r#"{"error": {"message": "The model `gpt-nope` does not exist", "type": "invalid_request_error", "code": "model_not_found"}}"#,
    )])
    .await
    .unwrap();
    let mut command = cadre();
    command.args([
        "run",
        "anything",
        "--model",
        "gpt-nope",
        "--base-url",
        &server.base_url(),
    ]);
    let out = output(command).await;
    assert_eq!(out.status.code(), Some(1));
    assert_clean_failure(&out, "gpt-nope");

    let server = FakeOpenAi::start(vec![]).await.unwrap();
    server.set_default(FakeReply::status(
        500,
        r#"{"error": {"message": "upstream exploded"}}"#,
    ));
    let mut command = cadre();
    command.args([
        "run",
        "anything",
        "--model",
        "m",
        "--base-url",
        &server.base_url(),
    ]);
    let out = output(command).await;
    assert_eq!(out.status.code(), Some(1));
    assert_clean_failure(&out, "upstream exploded");
    assert!(
        server.request_count() > 1 && server.request_count() <= 10,
        "retried, boundedly: {}",
        server.request_count()
    );
}

#[tokio::test]
async fn bad_team_files_and_missing_configuration_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.json");
    let mut command = cadre();
    command
        .args(["run", "x", "--model", "demo", "--team"])
        .arg(&missing);
    assert_clean_failure(&output(command).await, "cannot read team file");

    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "{ this is not json").unwrap();
    let mut command = cadre();
    command
        .args(["run", "x", "--model", "demo", "--team"])
        .arg(&garbage);
    assert_clean_failure(&output(command).await, "invalid team file");

    let empty = dir.path().join("empty.json");
    write_json(&empty, &json!({"agent_configs": [], "coding": false}));
    let mut command = cadre();
    command
        .args(["run", "x", "--model", "demo", "--team"])
        .arg(&empty);
    assert_clean_failure(&output(command).await, "invalid team file");

    let mut command = cadre();
    command.args(["run", "x"]);
    assert_clean_failure(
        &output(command).await,
        "no LLM configured: set OPENROUTER_API_KEY",
    );
}

#[tokio::test]
async fn team_import_export_round_trips_autogen_files() {
    let dir = tempfile::tempdir().unwrap();
    let original = dir.path().join("autogen.json");
    write_json(&original, &autogen_team());
    let cadre_file = dir.path().join("cadre.json");
    let exported = dir.path().join("exported.json");
    let mut command = cadre();
    command
        .args(["team", "import"])
        .arg(&original)
        .arg("-o")
        .arg(&cadre_file);
    assert!(output(command).await.status.success());
    let team: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cadre_file).unwrap()).unwrap();
    assert_eq!(team["agents"][1]["name"], "Coder");
    assert_eq!(team["code_execution"]["enabled"], true);
    let mut command = cadre();
    command
        .args(["team", "export"])
        .arg(&cadre_file)
        .arg("-o")
        .arg(&exported);
    assert!(output(command).await.status.success());
    let back: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&exported).unwrap()).unwrap();
    assert_eq!(back, autogen_team());
}
