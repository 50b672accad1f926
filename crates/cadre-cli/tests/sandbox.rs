//! `cadre sandbox run` and `cadre sandbox check` against the real bubblewrap sandbox (the
//! default backend; `make test` installs bubblewrap), and what they say when the backend
//! does not isolate or does not exist.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write;
use std::process::Stdio;

use common::{assert_clean_failure, assert_success, cadre};
use serde_json::Value;

fn run_with_stdin(args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = cadre()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn run_executes_stdin_in_the_sandbox_and_prints_json() {
    let output = run_with_stdin(
        &["sandbox", "run", "--language", "python", "-"],
        "import os\nprint(6 * 7)\nprint(os.getuid() != 0)\n",
    );
    assert_success(&output);
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(result["backend"], "bwrap");
    assert_eq!(result["exit_code"], 0);
    assert_eq!(result["stdout"], "42\nTrue\n", "{result}");
    assert_eq!(result["timed_out"], false);
}

#[test]
fn run_reports_a_failing_program_and_a_timeout() {
    let failing = run_with_stdin(
        &["sandbox", "run", "--language", "sh", "-"],
        "echo oops >&2; exit 3",
    );
    assert_success(&failing);
    let result: Value = serde_json::from_slice(&failing.stdout).unwrap();
    assert_eq!(result["exit_code"], 3);
    assert_eq!(result["stderr"], "oops\n");

    let slow = run_with_stdin(
        &["sandbox", "run", "--timeout", "1", "-"],
        "import time\ntime.sleep(20)\n",
    );
    assert_success(&slow);
    let result: Value = serde_json::from_slice(&slow.stdout).unwrap();
    assert_eq!(result["timed_out"], true, "{result}");
    assert!(result["duration_ms"].as_u64().unwrap() < 10_000, "{result}");
}

#[test]
fn check_passes_on_bubblewrap_with_every_probe_contained() {
    let output = cadre()
        .args(["sandbox", "check", "--json"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(output.status.success(), "{report:#}");
    assert_eq!(report["backend"], "bwrap");
    assert_eq!(report["safe"], true);
    let probes = report["probes"].as_array().unwrap();
    let names: Vec<&str> = probes.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "runs code",
            "network",
            "host environment",
            "host files",
            "wall-clock limit"
        ]
    );
    assert!(probes.iter().all(|p| p["contained"] == true), "{report:#}");
    assert!(
        report["enforced"]
            .as_array()
            .unwrap()
            .iter()
            .any(|line| line.as_str().unwrap().starts_with("network: none")),
        "{report:#}"
    );
}

#[test]
fn check_fails_when_code_would_run_unsandboxed() {
    let output = cadre()
        .args(["sandbox", "check", "--sandbox", "local-unsafe"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("UNSAFE"), "{text}");
    assert!(
        text.contains("local-unsafe runs code without any isolation"),
        "{text}"
    );
    // The probes see through it: the host's loopback is reachable.
    assert!(text.contains("FAIL network"), "{text}");
}

#[test]
fn an_unknown_backend_is_a_clear_error() {
    let output = cadre()
        .args(["sandbox", "run", "--sandbox", "docker-ish", "-"])
        .output()
        .unwrap();
    assert_clean_failure(&output, "unknown sandbox backend `docker-ish`");

    let check = cadre()
        .args(["sandbox", "check", "--sandbox", "docker-ish"])
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&check.stdout).contains("unknown sandbox backend"));
}
