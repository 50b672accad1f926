//! `cadre run --model demo`: the offline demonstration run, end to end, with code really
//! executed in the bubblewrap sandbox.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;
use std::process::Command;

use common::*;

const TASK: &str = "Compare the first 20 Fibonacci numbers with the first 20 primes";

#[tokio::test]
async fn demo_run_json_has_the_whole_event_story() {
    let mut command = cadre();
    command.args(["run", "--model", "demo", TASK, "--json"]);
    let out = output(command).await;
    assert_success(&out);
    let events = events(&out);

    assert_eq!(
        statuses(&events),
        vec!["building", "executing", "completed"]
    );
    let team = of_type(&events, "team");
    assert_eq!(team.len(), 1);
    assert!(team[0]["data"]["team"]["agents"].as_array().unwrap().len() >= 3);

    let speakers: HashSet<&str> = of_type(&events, "message")
        .iter()
        .filter_map(|e| e["data"]["agent"].as_str())
        .collect();
    assert!(
        speakers.len() >= 3 + 2,
        "experts plus user and executor spoke: {speakers:?}"
    );
    assert!(
        !of_type(&events, "message_delta").is_empty(),
        "tokens stream"
    );

    // The code really ran: its recorded stdout is what Python prints for that code.
    let code = of_type(&events, "code");
    assert_eq!(code.len(), 1);
    assert_eq!(code[0]["data"]["language"], "python");
    let source = code[0]["data"]["code"].as_str().unwrap();
    let result = of_type(&events, "code_result");
    assert_eq!(result[0]["data"]["exit_code"], 0);
    let stdout = result[0]["data"]["stdout"].as_str().unwrap();
    let expected = Command::new("/usr/bin/python3")
        .args(["-c", source])
        .output()
        .unwrap();
    assert_eq!(stdout, String::from_utf8_lossy(&expected.stdout));
    assert!(
        stdout.contains("First 20 primes: [2, 3, 5, 7, 11"),
        "{stdout}"
    );
    // …and a later message quotes that real output.
    let quoted = of_type(&events, "message").iter().any(|e| {
        e["data"]["agent"] != "Computer_terminal"
            && e["data"]["content"]
                .as_str()
                .unwrap()
                .contains("Sum of primes: 639")
    });
    assert!(quoted, "a reviewer quotes the real output");

    assert!(!of_type(&events, "usage").is_empty());
    let last = events.last().unwrap();
    assert_eq!(last["type"], "finished");
    assert_eq!(last["data"]["status"], "completed");
    assert_eq!(last["data"]["reason"], "text_mention");
    // Durable events are numbered without gaps.
    let seqs: Vec<u64> = events
        .iter()
        .filter(|e| e["type"] != "message_delta")
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
}

#[tokio::test]
async fn demo_run_prints_a_readable_transcript() {
    let mut command = cadre();
    command.args(["run", "--model", "demo", TASK]);
    let out = output(command).await;
    assert_success(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "Team:",
        "Mathematician:",
        "Python_Developer:",
        "Computer_terminal:",
        "exitcode: 0",
        "code ran: exit 0",
        "── completed (text_mention)",
        "model calls",
    ] {
        assert!(
            text.contains(expected),
            "transcript lacks `{expected}`:\n{text}"
        );
    }
    assert!(!text.trim_start().starts_with('{'), "not JSON");
}

#[tokio::test]
async fn build_only_saves_a_team_that_runs_again() {
    let dir = tempfile::tempdir().unwrap();
    let team_file = dir.path().join("team.json");
    let mut command = cadre();
    command
        .args([
            "run",
            "--model",
            "demo",
            TASK,
            "--build-only",
            "--json",
            "--save-team",
        ])
        .arg(&team_file);
    let out = output(command).await;
    assert_success(&out);
    let events = events(&out);
    assert!(
        of_type(&events, "message").is_empty(),
        "no chat when only building"
    );
    assert_eq!(events.last().unwrap()["data"]["reason"], "build_only");

    let mut command = cadre();
    command
        .args([
            "run",
            "--model",
            "demo",
            TASK,
            "--json",
            "--no-code",
            "--team",
        ])
        .arg(&team_file);
    let out = output(command).await;
    assert_success(&out);
    let events = common::events(&out);
    assert_eq!(
        statuses(&events),
        vec!["executing", "completed"],
        "a given team is not rebuilt"
    );
    assert!(
        of_type(&events, "code_result").is_empty(),
        "--no-code runs no code"
    );
}

#[tokio::test]
async fn recorded_run_replays_offline() {
    let dir = tempfile::tempdir().unwrap();
    let cassette = dir.path().join("run.jsonl");
    let mut command = cadre();
    command
        .args([
            "run",
            "--model",
            "demo",
            TASK,
            "--json",
            "--no-code",
            "--record",
        ])
        .arg(&cassette);
    let recorded = output(command).await;
    assert!(recorded.status.success());
    let mut command = cadre();
    command
        .args(["run", TASK, "--json", "--no-code", "--replay"])
        .arg(&cassette);
    let replayed = output(command).await;
    assert_success(&replayed);
    let contents = |out: &std::process::Output| -> Vec<String> {
        of_type(&events(out), "message")
            .iter()
            .map(|e| e["data"]["content"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(contents(&recorded), contents(&replayed));
}

#[tokio::test]
async fn ctrl_c_cancels_cleanly() {
    let mut command = cadre();
    command
        .args(["run", "--model", "demo", TASK, "--json"])
        .env("CADRE_SCRIPTED_DELAY_MS", "1500");
    command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = command.spawn().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let started = std::time::Instant::now();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(started.elapsed().as_secs_f64() < 2.0, "cancel is prompt");
    assert_eq!(out.status.code(), Some(130));
    let events = events(&out);
    assert_eq!(events.last().unwrap()["data"]["status"], "cancelled");
    assert!(String::from_utf8_lossy(&out.stderr).contains("cancel"));
}

#[tokio::test]
async fn manual_selection_reads_the_terminal() {
    let mut command = cadre();
    command
        .args([
            "run",
            "--model",
            "demo",
            "--speaker-selection",
            "manual",
            "--no-code",
            "--json",
            "Say hello",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        // Third turn: an unknown name is re-asked, then "3" picks the reviewer; with code
        // off, the planner concludes.
        stdin
            .write_all(b"1\nPython_Developer\nnobody\n3\n1\n")
            .unwrap();
    }
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_success(&out);
    let events = events(&out);
    let speakers = speakers(&events);
    assert_eq!(
        speakers,
        vec![
            "User",
            "Data_Scientist",
            "Python_Developer",
            "Quality_Reviewer",
            "Data_Scientist"
        ]
    );
    let answers: Vec<&str> = of_type(&events, "input")
        .iter()
        .map(|e| e["data"]["content"].as_str().unwrap())
        .collect();
    assert_eq!(answers, vec!["1", "Python_Developer", "nobody", "3", "1"]);
    assert!(statuses(&events).contains(&"waiting_input".to_string()));
}
