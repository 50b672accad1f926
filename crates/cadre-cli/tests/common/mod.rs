//! Running the real `cadre` binary in tests.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

pub mod deployment;

/// A `cadre` command with no LLM configuration inherited from the developer's shell.
pub fn cadre() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cadre"));
    for var in [
        "OPENROUTER_API_KEY",
        "OPENAI_API_KEY",
        "CADRE_LLM_BASE_URL",
        "CADRE_LLM_API_KEY",
        "CADRE_LLM_MODEL",
        "CADRE_LLM_PROVIDER",
        "CADRE_SANDBOX",
        "CADRE_SCRIPTED_DELAY_MS",
        "CADRE_LOG",
        "CADRE_SECRET_KEY",
        "CADRE_ALLOW_REGISTRATION",
    ] {
        command.env_remove(var);
    }
    command
        .env("CADRE_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("CADRE_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .stdin(Stdio::null());
    command
}

/// The python of a virtualenv that `scripts/<script>` prepares (a pinned SDK from PyPI,
/// installed on first use): `ensure-openai-sdk.sh`, `ensure-mcp-sdk.sh`.
pub fn sdk_python(script: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts")
        .join(script);
    let output = Command::new(&path)
        .stderr(Stdio::inherit())
        .output()
        .expect("the SDK's ensure script runs");
    assert!(
        output.status.success(),
        "{script} could not install its SDK"
    );
    String::from_utf8(output.stdout)
        .expect("a path")
        .trim()
        .to_string()
}

/// The admin every server started by [`cadre`] creates on first start.
pub const ADMIN_EMAIL: &str = "admin@cadre.test";
/// That admin's password.
pub const ADMIN_PASSWORD: &str = "the test admin's password";

/// Logs in to the server at `base` as the test admin (OAuth2 password grant); returns a
/// client that sends the access token with every request.
pub async fn admin_client(base: &str) -> reqwest::Client {
    let response = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", ADMIN_EMAIL),
            ("password", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .expect("token request");
    assert_eq!(response.status(), 200, "login as the test admin");
    let tokens: Value = response.json().await.expect("token JSON");
    let token = tokens["access_token"].as_str().expect("access_token");
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().expect("header"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("client")
}

/// `GET url` as JSON, failing the test on any error.
pub async fn get_json(http: &reqwest::Client, url: String) -> Value {
    http.get(url)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON body")
}

/// A `cadre serve` of a test on a fresh data dir, killed when dropped.
pub struct Served {
    pub child: Child,
    pub base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `cadre serve` on a fresh data dir (SQLite, in-process bus) and a free port, the demo
/// model pausing `demo_delay_ms` before each answer.
pub fn serve_fresh(demo_delay_ms: u64) -> Served {
    serve_fresh_with(demo_delay_ms, &[])
}

/// [`serve_fresh`] with more environment (`CADRE_LLM_BASE_URL`, `CADRE_MCP_CONFIG`, …).
pub fn serve_fresh_with(demo_delay_ms: u64, env: &[(&str, String)]) -> Served {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command = cadre();
    command.envs(env.iter().map(|(key, value)| (*key, value.as_str())));
    command
        .arg("serve")
        .env("CADRE_DATA_DIR", dir.path())
        .env("CADRE_BIND", "127.0.0.1:0")
        .env("CADRE_SCRIPTED_DELAY_MS", demo_delay_ms.to_string())
        .env_remove("CADRE_DATABASE_URL")
        .env_remove("CADRE_REDIS_URL")
        .stderr(Stdio::null());
    let (child, base) = start_listening(command);
    Served {
        child,
        base,
        _dir: dir,
    }
}

/// Spawns a `cadre serve` / `cadre api` command (arguments and environment already set)
/// with its stdout piped, and reads the base URL from its first line.
pub fn start_listening(command: Command) -> (Child, String) {
    start_announcing(command, "cadre listening on ")
}

/// Spawns a service command with its stdout piped and returns what its first line says
/// after `prefix` (the address it bound; port 0 takes a free one).
pub fn start_announcing(mut command: Command, prefix: &str) -> (Child, String) {
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .expect("cadre starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("first line");
    let announced = line
        .trim()
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_string();
    (child, announced)
}

/// Runs a command to completion (in a blocking thread, so async tests keep serving).
pub async fn output(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().expect("cadre binary runs"))
        .await
        .expect("join")
}

/// The stdout of a `--json` run as events; fails if any line is not a JSON object.
pub fn events(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line)
                .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"))
        })
        .collect()
}

/// Events of one type.
pub fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

/// The statuses in order.
pub fn statuses(events: &[Value]) -> Vec<String> {
    of_type(events, "status")
        .iter()
        .map(|e| e["data"]["status"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Asserts the run failed cleanly: non-zero exit, one line on stderr, no panic.
pub fn assert_clean_failure(output: &Output, expected: &str) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(
        !output.status.success(),
        "expected failure, got success; stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one-line error expected, got: {stderr}");
    assert!(
        stderr.contains(expected),
        "stderr should mention `{expected}`: {stderr}"
    );
    stderr
}

/// Writes a JSON value to a file.
pub fn write_json(path: &Path, value: &Value) {
    std::fs::write(path, serde_json::to_string_pretty(value).unwrap()).unwrap();
}

/// Asserts the command exited 0, showing its stderr otherwise.
pub fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "exit {:?}; stderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Who spoke, in order (the `agent` of every `message` event).
pub fn speakers(events: &[Value]) -> Vec<String> {
    of_type(events, "message")
        .iter()
        .map(|e| e["data"]["agent"].as_str().unwrap_or_default().to_string())
        .collect()
}
