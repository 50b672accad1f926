//! `McpToolBox` against a real MCP server written with the official Python SDK
//! (`tests/fixtures/notebook_server.py`, `mcp` installed by `scripts/ensure-mcp-sdk.sh`),
//! over stdio and streamable HTTP: tools listed with their schemas, calls answered,
//! tool errors, timeouts, cancellation, a crashed server restarted, servers that cannot
//! start, and the worker's environment kept from stdio servers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use cadre_core::tool::{ToolBox, ToolError};
use cadre_mcp::{McpConfig, McpToolBox};
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

/// The SDK's virtualenv python (installed on first use).
fn sdk_python() -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/ensure-mcp-sdk.sh");
    let output = Command::new(script)
        .stderr(Stdio::inherit())
        .output()
        .expect("ensure-mcp-sdk.sh runs");
    assert!(
        output.status.success(),
        "the MCP SDK could not be installed"
    );
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

fn server_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/notebook_server.py")
}

fn args(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => panic!("arguments must be an object"),
    }
}

fn stdio_toolbox(dir: &Path, extra: Value) -> McpToolBox {
    let mut entry = json!({
        "command": sdk_python(),
        "args": [server_script(), "stdio"],
        "env": {"NOTES_FILE": dir.join("notes.txt")},
    });
    for (key, value) in extra.as_object().unwrap() {
        entry[key] = value.clone();
    }
    let config = json!({"mcpServers": {"notebook": entry}});
    McpToolBox::new(McpConfig::parse(&config.to_string(), |_| None).unwrap())
}

#[tokio::test]
async fn a_stdio_server_lists_and_answers_tools() {
    let dir = tempfile::tempdir().unwrap();
    let toolbox = stdio_toolbox(dir.path(), json!({}));
    let listing = toolbox.tools().await;
    assert!(listing.unavailable.is_empty(), "{:?}", listing.unavailable);
    let names: Vec<&str> = listing.tools.iter().map(|t| t.name.as_str()).collect();
    for expected in ["notebook.add", "notebook.remember", "notebook.wipe_notes"] {
        assert!(names.contains(&expected), "{names:?}");
    }
    let add = listing
        .tools
        .iter()
        .find(|t| t.name == "notebook.add")
        .unwrap();
    assert_eq!(add.description, "Adds two integers.");
    assert_eq!(
        add.parameters["properties"]["a"]["type"], "integer",
        "{}",
        add.parameters
    );

    let cancel = CancellationToken::new();
    let sum = toolbox
        .call("notebook.add", args(json!({"a": 2, "b": 40})), &cancel)
        .await
        .unwrap();
    assert_eq!(sum.content, "42");
    assert!(!sum.is_error);

    let noted = toolbox
        .call(
            "notebook.remember",
            args(json!({"note": "buy milk"})),
            &cancel,
        )
        .await
        .unwrap();
    assert_eq!(noted.content, "noted: buy milk");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("notes.txt")).unwrap(),
        "buy milk\n"
    );

    // A tool that raises is an error result the model can read, not a failed call.
    let failed = toolbox
        .call(
            "notebook.fail",
            args(json!({"reason": "disk on fire"})),
            &cancel,
        )
        .await
        .unwrap();
    assert!(failed.is_error);
    assert!(
        failed.content.contains("disk on fire"),
        "{}",
        failed.content
    );

    // Arguments the schema rejects: also an error result.
    let bad = toolbox
        .call("notebook.add", args(json!({"a": "two"})), &cancel)
        .await
        .unwrap();
    assert!(bad.is_error, "{}", bad.content);

    let unknown = toolbox
        .call("notebook.nope", Map::new(), &cancel)
        .await
        .unwrap_err();
    assert_eq!(unknown, ToolError::Unknown("notebook.nope".into()));
    toolbox.close().await;
}

#[tokio::test]
async fn stdio_servers_get_only_their_own_environment() {
    let dir = tempfile::tempdir().unwrap();
    let toolbox = stdio_toolbox(
        dir.path(),
        json!({"env": {
            "NOTES_FILE": dir.path().join("notes.txt"),
            "GREETING": "hello",
        }}),
    );
    let cancel = CancellationToken::new();
    let read = |name: &str| {
        let call = toolbox.call("notebook.read_env", args(json!({"name": name})), &cancel);
        async move { call.await.unwrap().content }
    };
    assert_eq!(read("GREETING").await, "hello");
    assert!(!read("PATH").await.is_empty());
    // Variables every test process has (cargo sets them) but the server must not see:
    // the same holds for CADRE_SECRET_KEY, database URLs and API keys.
    assert_eq!(read("CARGO_MANIFEST_DIR").await, "");
    assert_eq!(read("CARGO_PKG_NAME").await, "");
    toolbox.close().await;
}

#[tokio::test]
async fn slow_calls_time_out_and_cancelled_ones_stop() {
    let dir = tempfile::tempdir().unwrap();
    let toolbox = stdio_toolbox(dir.path(), json!({"timeout_secs": 1}));
    let cancel = CancellationToken::new();
    let started = std::time::Instant::now();
    let slow = toolbox
        .call("notebook.wait", args(json!({"seconds": 30})), &cancel)
        .await
        .unwrap_err();
    assert_eq!(slow, ToolError::Timeout("notebook.wait".into()));
    assert!(started.elapsed() < Duration::from_secs(10));

    let cancel_soon = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        cancel_soon.cancel();
    });
    let cancelled = toolbox
        .call("notebook.wait", args(json!({"seconds": 30})), &cancel)
        .await
        .unwrap_err();
    assert_eq!(cancelled, ToolError::Cancelled);

    // The server is still usable after both.
    let fresh = CancellationToken::new();
    let sum = toolbox
        .call("notebook.add", args(json!({"a": 1, "b": 1})), &fresh)
        .await
        .unwrap();
    assert_eq!(sum.content, "2");
    toolbox.close().await;
}

#[tokio::test]
async fn a_crashed_stdio_server_is_started_again() {
    let dir = tempfile::tempdir().unwrap();
    let toolbox = stdio_toolbox(dir.path(), json!({}));
    let cancel = CancellationToken::new();
    let crashed = toolbox.call("notebook.crash", Map::new(), &cancel).await;
    assert!(
        matches!(crashed, Err(ToolError::Unavailable { ref server, .. }) if server == "notebook"),
        "{crashed:?}"
    );
    let sum = toolbox
        .call("notebook.add", args(json!({"a": 20, "b": 22})), &cancel)
        .await
        .unwrap();
    assert_eq!(sum.content, "42");
    toolbox.close().await;
}

#[tokio::test]
async fn servers_that_cannot_start_are_reported_by_name() {
    let config = json!({"mcpServers": {
        "ghost": {"command": "/nonexistent/mcp-server"},
        "broken": {"command": sdk_python(), "args": ["-c", "import sys; print('missing API key', file=sys.stderr); sys.exit(1)"]},
        "offline": {"url": "http://127.0.0.1:9/mcp"},
    }});
    let toolbox = McpToolBox::new(McpConfig::parse(&config.to_string(), |_| None).unwrap());
    let listing = toolbox.tools().await;
    assert!(listing.tools.is_empty());
    let messages: Vec<String> = listing
        .unavailable
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(messages.len(), 3, "{messages:?}");
    let about = |server: &str| {
        messages
            .iter()
            .find(|m| m.contains(&format!("tool server {server} ")))
            .unwrap_or_else(|| panic!("{server}: {messages:?}"))
            .clone()
    };
    assert!(about("ghost").contains("cannot start"), "{messages:?}");
    assert!(about("broken").contains("missing API key"), "{messages:?}");
    assert!(about("offline").contains("unavailable"), "{messages:?}");
}

#[tokio::test]
async fn a_server_that_failed_to_start_is_not_started_again_at_every_use() {
    let dir = tempfile::tempdir().unwrap();
    let starts = dir.path().join("starts");
    let config = json!({"mcpServers": {"flaky": {
        "command": "sh",
        "args": ["-c", format!("echo start >> {}; echo 'token expired' >&2; exit 1", starts.display())],
    }}});
    let toolbox = McpToolBox::new(McpConfig::parse(&config.to_string(), |_| None).unwrap());
    let first = toolbox.tools().await.unavailable;
    let second = toolbox.tools().await.unavailable;
    let cancel = CancellationToken::new();
    let call = toolbox.call("flaky.anything", Map::new(), &cancel).await;
    assert_eq!(std::fs::read_to_string(&starts).unwrap(), "start\n");
    assert!(first[0].to_string().contains("token expired"), "{first:?}");
    let again = second[0].to_string();
    assert!(
        again.contains("token expired") && again.contains("(next attempt in "),
        "{again}"
    );
    assert!(
        matches!(call, Err(ToolError::Unavailable { .. })),
        "{call:?}"
    );
}

/// A free port on 127.0.0.1 (bound, read, released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The notebook server over streamable HTTP; killed on drop.
pub struct HttpServer {
    child: std::process::Child,
    /// Its endpoint.
    pub url: String,
}

impl HttpServer {
    fn start(notes: &Path) -> Self {
        let port = free_port();
        let child = Command::new(sdk_python())
            .arg(server_script())
            .args(["http", &port.to_string()])
            .env("NOTES_FILE", notes)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "MCP HTTP server did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Self {
            child,
            url: format!("http://127.0.0.1:{port}/mcp"),
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_streamable_http_server_lists_and_answers_tools() {
    let dir = tempfile::tempdir().unwrap();
    let server = HttpServer::start(&dir.path().join("notes.txt"));
    let config = json!({"mcpServers": {"remote": {
        "type": "http",
        "url": server.url,
        "headers": {"Authorization": "Bearer ${REMOTE_TOKEN}"},
    }}});
    let toolbox = McpToolBox::new(
        McpConfig::parse(&config.to_string(), |name| {
            (name == "REMOTE_TOKEN").then(|| "t0ken".to_string())
        })
        .unwrap(),
    );
    let listing = toolbox.tools().await;
    assert!(listing.unavailable.is_empty(), "{:?}", listing.unavailable);
    assert!(listing.tools.iter().any(|t| t.name == "remote.remember"));
    let cancel = CancellationToken::new();
    let noted = toolbox
        .call(
            "remote.remember",
            args(json!({"note": "over http"})),
            &cancel,
        )
        .await
        .unwrap();
    assert_eq!(noted.content, "noted: over http");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("notes.txt")).unwrap(),
        "over http\n"
    );
    toolbox.close().await;
}
