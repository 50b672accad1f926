//! [`McpServer`]: one configured MCP server, connected on first use and again after its
//! connection broke. Calls are bounded by the server's timeout and the run's
//! cancellation; a stdio server's stderr goes to the debug log, and its last lines explain
//! a server that would not start.

use std::collections::{HashMap, VecDeque};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cadre_core::tool::{ToolError, ToolInfo, ToolOutput};
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::{
    StreamableHttpClientTransport, TokioChildProcess,
    streamable_http_client::StreamableHttpClientTransportConfig,
};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_util::sync::CancellationToken;

use crate::config::{ServerConfig, Transport};

/// Longest a server may take to start and answer `initialize` and `tools/list`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// After a failed start, how long uses answer with that failure instead of trying again
/// (a server that hangs on start would otherwise cost every agent turn the connect
/// timeout).
const RETRY_AFTER: Duration = Duration::from_secs(15);

/// Stderr lines of a stdio server kept to explain a failed start.
const STDERR_TAIL_LINES: usize = 5;

/// What a stdio server may see of Cadre's environment (besides its configured `env`).
const INHERITED_ENV: &[&str] = &["PATH", "HOME", "LANG", "LC_ALL", "TMPDIR"];

/// One server and its connection, if any.
pub struct McpServer {
    name: String,
    config: ServerConfig,
    state: tokio::sync::Mutex<State>,
}

#[derive(Default)]
struct State {
    connection: Option<Arc<Connection>>,
    /// The last failed start: when, and why.
    failed: Option<(Instant, String)>,
}

struct Connection {
    client: RunningService<RoleClient, ()>,
    tools: Vec<ToolInfo>,
}

impl McpServer {
    /// A server not yet started.
    pub fn new(name: String, config: ServerConfig) -> Self {
        Self {
            name,
            config,
            state: tokio::sync::Mutex::new(State::default()),
        }
    }

    /// Its configured name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its tools (connecting first if need be).
    pub async fn tools(&self) -> Result<Vec<ToolInfo>, ToolError> {
        Ok(self.connected().await?.tools.clone())
    }

    /// Calls `tool` (its own name, without the server's).
    pub async fn call(
        &self,
        tool: &str,
        arguments: serde_json::Map<String, serde_json::Value>,
        cancel: &CancellationToken,
    ) -> Result<ToolOutput, ToolError> {
        let connection = self.connected().await?;
        let qualified = format!("{}.{tool}", self.name);
        if !connection.tools.iter().any(|info| info.name == qualified) {
            return Err(ToolError::Unknown(qualified));
        }
        let mut params = CallToolRequestParams::new(tool.to_string());
        params.arguments = Some(arguments);
        let call = connection.client.call_tool(params);
        let result = tokio::select! {
            biased;
            () = cancel.cancelled() => return Err(ToolError::Cancelled),
            result = tokio::time::timeout(self.config.call_timeout, call) => result,
        };
        match result {
            Err(_) => Err(ToolError::Timeout(qualified)),
            Ok(Ok(result)) => Ok(output_of(&result)),
            // The server answered with a JSON-RPC error (unknown tool, invalid
            // arguments): the model sees it and may correct itself.
            Ok(Err(rmcp::ServiceError::McpError(error))) => Ok(ToolOutput {
                content: format!("error {}: {}", error.code.0, error.message),
                is_error: true,
            }),
            // Anything else is the connection's failure (the process exited, the
            // session is gone): the next use connects again.
            Ok(Err(error)) => {
                self.forget(&connection).await;
                Err(self.unavailable(error.to_string()))
            }
        }
    }

    /// Stops the connection, if any.
    pub async fn close(&self) {
        if let Some(connection) = self.state.lock().await.connection.take() {
            connection.client.cancellation_token().cancel();
        }
    }

    async fn connected(&self) -> Result<Arc<Connection>, ToolError> {
        let mut state = self.state.lock().await;
        if let Some(connection) = state.connection.as_ref()
            && !connection.client.is_closed()
            && !connection.client.is_transport_closed()
        {
            return Ok(connection.clone());
        }
        if let Some(stale) = state.connection.take() {
            stale.client.cancellation_token().cancel();
        }
        if let Some((at, why)) = &state.failed {
            let since = at.elapsed();
            if since < RETRY_AFTER {
                return Err(self.unavailable(format!(
                    "{why} (next attempt in {} s)",
                    (RETRY_AFTER - since).as_secs().max(1)
                )));
            }
        }
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        let mut stderr_reader = None;
        let connected = tokio::time::timeout(
            CONNECT_TIMEOUT,
            self.connect(&stderr_tail, &mut stderr_reader),
        )
        .await;
        let failure = match connected {
            Ok(Ok(connection)) => {
                let connection = Arc::new(connection);
                tracing::info!(
                    server = %self.name,
                    tools = connection.tools.len(),
                    "connected to MCP server"
                );
                state.connection = Some(connection.clone());
                state.failed = None;
                return Ok(connection);
            }
            Ok(Err(message)) => message,
            Err(_) => format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
        };
        // A server that exited has usually said why on stderr: read it to the end
        // (briefly) before explaining.
        if let Some(reader) = stderr_reader {
            let _ = tokio::time::timeout(Duration::from_secs(1), reader).await;
        }
        let why = explain(failure, &stderr_tail);
        tracing::warn!(server = %self.name, error = %why, "cannot start MCP server");
        state.failed = Some((Instant::now(), why.clone()));
        Err(self.unavailable(why))
    }

    async fn connect(
        &self,
        stderr_tail: &Arc<Mutex<VecDeque<String>>>,
        stderr_reader: &mut Option<tokio::task::JoinHandle<()>>,
    ) -> Result<Connection, String> {
        let client = match &self.config.transport {
            Transport::Stdio {
                command,
                args,
                env,
                cwd,
            } => {
                let mut process = tokio::process::Command::new(command);
                process.args(args).env_clear();
                for key in INHERITED_ENV {
                    if let Some(value) = std::env::var_os(key) {
                        process.env(key, value);
                    }
                }
                process.envs(env);
                if let Some(cwd) = cwd {
                    process.current_dir(cwd);
                }
                let (transport, stderr) = TokioChildProcess::builder(process)
                    .stderr(Stdio::piped())
                    .spawn()
                    .map_err(|error| format!("cannot start `{command}`: {error}"))?;
                if let Some(stderr) = stderr {
                    *stderr_reader = Some(tokio::spawn(forward_stderr(
                        self.name.clone(),
                        stderr,
                        stderr_tail.clone(),
                    )));
                }
                ().serve(transport)
                    .await
                    .map_err(|error| error.to_string())?
            }
            Transport::Http { url, headers } => {
                let mut custom = HashMap::new();
                for (name, value) in headers {
                    let name = http::HeaderName::try_from(name.as_str())
                        .map_err(|_| format!("`{name}` is not a header name"))?;
                    // The value is never shown: it may be a token.
                    let value = http::HeaderValue::try_from(value.as_str())
                        .map_err(|_| format!("the value of header `{name}` is not valid"))?;
                    custom.insert(name, value);
                }
                let config = StreamableHttpClientTransportConfig::with_uri(url.as_str())
                    .custom_headers(custom);
                let transport = StreamableHttpClientTransport::from_config(config);
                ().serve(transport)
                    .await
                    .map_err(|error| error.to_string())?
            }
        };
        let listed = client
            .list_all_tools()
            .await
            .map_err(|error| format!("tools/list failed: {error}"))?;
        let tools = listed
            .iter()
            .map(|tool| tool_info(&self.name, tool))
            .collect();
        Ok(Connection { client, tools })
    }

    /// Drops `connection` if it is still the current one (the next use reconnects).
    async fn forget(&self, connection: &Arc<Connection>) {
        let mut state = self.state.lock().await;
        if state
            .connection
            .as_ref()
            .is_some_and(|current| Arc::ptr_eq(current, connection))
        {
            state.connection = None;
        }
    }

    fn unavailable(&self, message: String) -> ToolError {
        ToolError::Unavailable {
            server: self.name.clone(),
            message,
        }
    }
}

/// `ToolInfo` of one of `server`'s tools.
fn tool_info(server: &str, tool: &rmcp::model::Tool) -> ToolInfo {
    ToolInfo {
        name: format!("{server}.{}", tool.name),
        description: tool.description.as_deref().unwrap_or_default().to_string(),
        parameters: serde_json::Value::Object(tool.input_schema.as_ref().clone()),
    }
}

/// A failure to connect, with the last lines the server wrote to stderr.
fn explain(message: String, stderr_tail: &Mutex<VecDeque<String>>) -> String {
    let tail = stderr_tail
        .lock()
        .map(|tail| tail.iter().cloned().collect::<Vec<_>>().join(" | "))
        .unwrap_or_default();
    if tail.is_empty() {
        message
    } else {
        format!("{message} (its stderr: {tail})")
    }
}

async fn forward_stderr(
    server: String,
    stderr: tokio::process::ChildStderr,
    tail: Arc<Mutex<VecDeque<String>>>,
) {
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::debug!(server = %server, "mcp server stderr: {line}");
        if let Ok(mut tail) = tail.lock() {
            if tail.len() == STDERR_TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line.chars().take(500).collect());
        }
    }
}

/// A tool result as the text the model reads: text blocks as they are, structured
/// content as JSON when there is no text, other blocks described.
fn output_of(result: &rmcp::model::CallToolResult) -> ToolOutput {
    let mut parts = Vec::new();
    for block in &result.content {
        let Ok(block) = serde_json::to_value(block) else {
            continue;
        };
        let field = |name: &str| block.get(name).and_then(|v| v.as_str()).unwrap_or_default();
        match field("type") {
            "text" => parts.push(field("text").to_string()),
            "image" | "audio" => parts.push(format!(
                "[{} {}, {} bytes of base64]",
                field("type"),
                field("mimeType"),
                field("data").len()
            )),
            "resource" => {
                let resource = block.get("resource");
                let text = resource
                    .and_then(|r| r.get("text"))
                    .and_then(|t| t.as_str());
                let uri = resource
                    .and_then(|r| r.get("uri"))
                    .and_then(|u| u.as_str())
                    .unwrap_or_default();
                parts.push(text.map_or_else(|| format!("[resource {uri}]"), str::to_string));
            }
            "resource_link" => parts.push(format!("[resource {}]", field("uri"))),
            _ => parts.push(block.to_string()),
        }
    }
    if parts.is_empty()
        && let Some(structured) = &result.structured_content
    {
        parts.push(structured.to_string());
    }
    ToolOutput {
        content: parts.join("\n"),
        is_error: result.is_error.unwrap_or(false),
    }
}
