//! MCP tool calls through `cadre_mcp::McpToolBox` against the official Python SDK's
//! server (the notebook fixture of `crates/cadre-mcp/tests`, its virtualenv from
//! `scripts/ensure-mcp-sdk.sh`), over stdio and streamable HTTP: the first call (the
//! server started, initialized and listed), then the latency of sequential calls and the
//! throughput of concurrent ones.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cadre_core::tool::ToolBox;
use cadre_mcp::{McpConfig, McpToolBox};
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// What one transport measured.
pub struct ToolFigures {
    /// `stdio` or `streamable HTTP`.
    pub transport: &'static str,
    /// The first call, server start included (stdio) or session set-up (HTTP).
    pub first_call_ms: f64,
    /// Sequential calls.
    pub sequential: usize,
    /// Their median and 99th percentile.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Cadre's own CPU per sequential call (this process: the toolbox, rmcp, its
    /// transport), the server's excluded.
    pub client_cpu_us: f64,
    /// Calls in flight at once in the throughput part.
    pub concurrency: usize,
    /// Calls per second with `concurrency` in flight.
    pub calls_per_s: f64,
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn sdk_python() -> anyhow::Result<String> {
    let output = Command::new(repo().join("scripts/ensure-mcp-sdk.sh"))
        .stderr(Stdio::inherit())
        .output()?;
    anyhow::ensure!(
        output.status.success(),
        "the MCP SDK could not be installed"
    );
    Ok(String::from_utf8(output.stdout)?.trim().to_string())
}

fn server_script() -> PathBuf {
    repo().join("crates/cadre-mcp/tests/fixtures/notebook_server.py")
}

/// Kills the HTTP server when the benchmark is done with it.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Both transports, `sequential` calls each and `concurrency` × `per_task` concurrent.
pub async fn tool_calls(
    sequential: usize,
    concurrency: usize,
    per_task: usize,
) -> anyhow::Result<Vec<ToolFigures>> {
    let python = sdk_python()?;
    let dir = tempfile::tempdir()?;
    let notes = dir.path().join("notes.txt");
    let stdio = json!({"mcpServers": {"notebook": {
        "command": python,
        "args": [server_script(), "stdio"],
        "env": {"NOTES_FILE": notes},
    }}});

    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let _server = Killed(
        Command::new(&python)
            .arg(server_script())
            .args(["http", &port.to_string()])
            .env("NOTES_FILE", &notes)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the MCP HTTP server did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let http = json!({"mcpServers": {"notebook": {
        "url": format!("http://127.0.0.1:{port}/mcp"),
    }}});

    let mut figures = Vec::new();
    for (transport, config) in [("stdio", stdio), ("streamable HTTP", http)] {
        let toolbox = Arc::new(McpToolBox::new(McpConfig::parse(
            &config.to_string(),
            |_| None,
        )?));
        figures.push(measure(transport, &toolbox, sequential, concurrency, per_task).await?);
        toolbox.close().await;
    }
    Ok(figures)
}

async fn measure(
    transport: &'static str,
    toolbox: &Arc<McpToolBox>,
    sequential: usize,
    concurrency: usize,
    per_task: usize,
) -> anyhow::Result<ToolFigures> {
    let cancel = CancellationToken::new();
    let add = add_arguments;
    let started = Instant::now();
    let first = toolbox.call("notebook.add", add(1), &cancel).await?;
    let first_call_ms = started.elapsed().as_secs_f64() * 1e3;
    anyhow::ensure!(first.content == "2", "unexpected answer {}", first.content);

    let mut latencies = Vec::with_capacity(sequential);
    let cpu_before = crate::engine::cpu_seconds()?;
    for i in 0..sequential {
        let started = Instant::now();
        let answer = toolbox.call("notebook.add", add(i), &cancel).await?;
        latencies.push(started.elapsed().as_secs_f64() * 1e3);
        anyhow::ensure!(answer.content == (i + 1).to_string(), "wrong sum");
    }
    let client_cpu_us = (crate::engine::cpu_seconds()? - cpu_before) * 1e6 / sequential as f64;
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];

    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let toolbox = toolbox.clone();
            let cancel = cancel.clone();
            tokio::spawn(async move {
                for i in 0..per_task {
                    toolbox
                        .call("notebook.add", add_arguments(i), &cancel)
                        .await?;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    let calls_per_s = (concurrency * per_task) as f64 / started.elapsed().as_secs_f64();
    Ok(ToolFigures {
        transport,
        first_call_ms,
        sequential,
        p50_ms: at(0.5),
        p99_ms: at(0.99),
        client_cpu_us,
        concurrency,
        calls_per_s,
    })
}

/// `{"a": a, "b": 1}`.
fn add_arguments(a: usize) -> serde_json::Map<String, serde_json::Value> {
    let mut arguments = serde_json::Map::new();
    arguments.insert("a".into(), json!(a));
    arguments.insert("b".into(), json!(1));
    arguments
}
