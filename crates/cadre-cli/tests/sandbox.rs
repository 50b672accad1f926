//! `cadre sandbox run` and `cadre sandbox check` against the real bubblewrap sandbox (the
//! default backend; `make test` installs bubblewrap), and what they say when the backend
//! does not isolate or does not exist; `cadre sandbox image build`, `run` and `check`
//! with `--sandbox docker` against the test engine (`cadre_sandbox::test_engine`), which
//! skip with the reason printed when no engine can run here.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod common;

use std::io::Write;
use std::process::Stdio;

use common::{assert_clean_failure, assert_success, cadre};
use serde_json::Value;

fn run_with_stdin(args: &[&str], stdin: &str) -> std::process::Output {
    run_with_env(args, &[], stdin)
}

fn run_with_env(args: &[&str], env: &[(&str, &str)], stdin: &str) -> std::process::Output {
    let mut child = cadre()
        .args(args)
        .envs(env.iter().copied())
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

#[test]
fn the_docker_backend_builds_its_image_runs_code_and_passes_check() {
    let Some(engine) = cadre_sandbox::test_engine::for_test() else {
        return;
    };
    let tag = "cadre-sandbox-cli-test:host";
    let built = cadre()
        .args(["sandbox", "image", "build", "--from", "host", "--tag", tag])
        .env("CADRE_DOCKER_HOST", &engine.host)
        .output()
        .unwrap();
    assert_success(&built);
    let said = String::from_utf8_lossy(&built.stdout);
    assert!(said.starts_with(&format!("built {tag} (sha256:")), "{said}");

    let env = [
        ("CADRE_DOCKER_HOST", engine.host.as_str()),
        ("CADRE_SANDBOX_IMAGE", tag),
    ];
    let output = run_with_env(
        &["sandbox", "run", "--sandbox", "docker", "-"],
        &env,
        "import os\nprint(6 * 7)\nprint(os.getuid() != 0)\n",
    );
    assert_success(&output);
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    // `podman` when the test engine is Podman's service.
    let backend = result["backend"].as_str().unwrap().to_string();
    assert!(backend == "docker" || backend == "podman", "{result}");
    assert_eq!(result["stdout"], "42\nTrue\n", "{result}");

    let check = cadre()
        .args(["sandbox", "check", "--sandbox", "docker", "--json"])
        .envs(env)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&check.stdout).unwrap();
    assert!(check.status.success(), "{report:#}");
    assert_eq!(report["backend"], backend);
    assert_eq!(report["safe"], true, "{report:#}");
    let probes = report["probes"].as_array().unwrap();
    assert_eq!(probes.len(), 5, "{report:#}");
    assert!(probes.iter().all(|p| p["contained"] == true), "{report:#}");
}

#[test]
fn the_docker_backend_without_its_image_says_how_to_build_it() {
    let Some(engine) = cadre_sandbox::test_engine::for_test() else {
        return;
    };
    let output = cadre()
        .args(["sandbox", "check", "--sandbox", "docker"])
        .env("CADRE_DOCKER_HOST", &engine.host)
        .env("CADRE_SANDBOX_IMAGE", "cadre-sandbox-never-built:none")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("`cadre-sandbox-never-built:none` is not in the engine")
            && text.contains("cadre sandbox image build"),
        "{text}"
    );
}
