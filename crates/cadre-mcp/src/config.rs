//! The operator's MCP server list: the `mcpServers` JSON that Claude Desktop, Cursor and
//! AutoGen users already write (VS Code's `servers` key and `type` field are read too).
//!
//! ```json
//! {"mcpServers": {
//!   "math":  {"command": "python3", "args": ["math_server.py"], "env": {"LEVEL": "1"}},
//!   "docs":  {"url": "https://docs.example/mcp",
//!             "headers": {"Authorization": "Bearer ${DOCS_TOKEN}"}, "timeout_secs": 20}
//! }}
//! ```
//!
//! `${VAR}` in `env` and `headers` values is read from Cadre's own environment, so that
//! tokens stay out of the file. Stdio servers start with an empty environment except
//! `PATH`, `HOME`, `LANG` and their `env`: the worker's secrets never reach them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// How long a tool call may take unless the server's `timeout_secs` says otherwise.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// What is wrong with an MCP configuration. Messages name the server and the field,
/// never a header or environment value.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read MCP configuration {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The JSON is malformed or has the wrong shape.
    #[error("invalid MCP configuration: {0}")]
    Json(String),
    /// One server's entry is invalid.
    #[error("MCP server `{server}`: {message}")]
    Server {
        /// Server name.
        server: String,
        /// What is wrong.
        message: String,
    },
}

/// The servers tools come from, by name.
#[derive(Clone, Default, PartialEq)]
pub struct McpConfig {
    /// Servers by name (the `server` of `server.tool`).
    pub servers: BTreeMap<String, ServerConfig>,
}

/// One server.
#[derive(Clone, PartialEq)]
pub struct ServerConfig {
    /// How to reach it.
    pub transport: Transport,
    /// Longest a tool call may take.
    pub call_timeout: Duration,
}

/// How a server is reached.
#[derive(Clone, PartialEq)]
pub enum Transport {
    /// A child process speaking MCP on its stdin and stdout.
    Stdio {
        /// Program.
        command: String,
        /// Its arguments.
        args: Vec<String>,
        /// Environment added to `PATH`, `HOME` and `LANG` (values expanded).
        env: BTreeMap<String, String>,
        /// Working directory.
        cwd: Option<PathBuf>,
    },
    /// A streamable HTTP endpoint.
    Http {
        /// Endpoint URL (`http` or `https`).
        url: String,
        /// Headers sent with every request (values expanded; never logged).
        headers: BTreeMap<String, String>,
    },
}

// Secrets live in `env` and `headers` values: Debug names them, never shows them.
impl std::fmt::Debug for McpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.servers.iter()).finish()
    }
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.transport {
            Transport::Stdio {
                command, args, env, ..
            } => f
                .debug_struct("Stdio")
                .field("command", command)
                .field("args", args)
                .field("env", &env.keys().collect::<Vec<_>>())
                .finish(),
            Transport::Http { url, headers } => f
                .debug_struct("Http")
                .field("url", url)
                .field("headers", &headers.keys().collect::<Vec<_>>())
                .finish(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileFormat {
    #[serde(default, rename = "mcpServers")]
    mcp_servers: BTreeMap<String, ServerEntry>,
    /// VS Code's spelling.
    #[serde(default)]
    servers: BTreeMap<String, ServerEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerEntry {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    command: Option<String>,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    cwd: Option<PathBuf>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    timeout_secs: Option<u64>,
    /// Claude Desktop's switch to keep an entry without using it.
    #[serde(default)]
    disabled: bool,
}

impl McpConfig {
    /// Reads a configuration file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, |name| std::env::var(name).ok())
    }

    /// Parses a configuration, expanding `${VAR}` through `lookup`.
    pub fn parse(text: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let file: FileFormat =
            serde_json::from_str(text).map_err(|error| ConfigError::Json(error.to_string()))?;
        let mut servers = BTreeMap::new();
        for (name, entry) in file.mcp_servers.into_iter().chain(file.servers) {
            if entry.disabled {
                continue;
            }
            let fail = |message: String| ConfigError::Server {
                server: name.clone(),
                message,
            };
            if !cadre_core::tool::is_name(&name) {
                return Err(fail(
                    "server names may use letters, digits, `_` and `-` (at most 64): teams \
                     name tools `server.tool`"
                        .into(),
                ));
            }
            let expand = |field: &str, values: BTreeMap<String, String>| {
                values
                    .into_iter()
                    .map(|(key, value)| {
                        expand_vars(&value, &lookup)
                            .map(|value| (key.clone(), value))
                            .map_err(|var| {
                                fail(format!("{field}.{key} names ${{{var}}}, which is not set"))
                            })
                    })
                    .collect::<Result<BTreeMap<_, _>, _>>()
            };
            let transport = match (entry.kind.as_deref(), entry.command, entry.url) {
                (None | Some("stdio"), Some(command), None) => Transport::Stdio {
                    command,
                    args: entry.args,
                    env: expand("env", entry.env)?,
                    cwd: entry.cwd,
                },
                (None | Some("http" | "streamable-http" | "streamableHttp"), None, Some(url)) => {
                    if !(url.starts_with("http://") || url.starts_with("https://")) {
                        return Err(fail(format!("url must be http:// or https://, not {url}")));
                    }
                    for header in entry.headers.keys() {
                        if http::HeaderName::try_from(header.as_str()).is_err() {
                            return Err(fail(format!("`{header}` is not a header name")));
                        }
                    }
                    Transport::Http {
                        url,
                        headers: expand("headers", entry.headers)?,
                    }
                }
                (Some("sse"), ..) => {
                    return Err(fail(
                        "the legacy SSE transport is not supported: use the server's \
                         streamable HTTP endpoint (usually /mcp)"
                            .into(),
                    ));
                }
                (Some(other), ..)
                    if !matches!(
                        other,
                        "stdio" | "http" | "streamable-http" | "streamableHttp"
                    ) =>
                {
                    return Err(fail(format!("unknown type `{other}` (stdio or http)")));
                }
                _ => {
                    return Err(fail(
                        "give either `command` (a stdio server) or `url` (a streamable HTTP \
                         server), matching its `type`"
                            .into(),
                    ));
                }
            };
            let call_timeout = match entry.timeout_secs {
                None => DEFAULT_CALL_TIMEOUT,
                Some(secs @ 1..=3600) => Duration::from_secs(secs),
                Some(_) => return Err(fail("timeout_secs must be between 1 and 3600".into())),
            };
            if servers
                .insert(
                    name.clone(),
                    ServerConfig {
                        transport,
                        call_timeout,
                    },
                )
                .is_some()
            {
                return Err(fail("defined twice (under mcpServers and servers)".into()));
            }
        }
        Ok(Self { servers })
    }
}

/// Expands `${VAR}` (not `$VAR`: a literal `$` in a value stays); `Err(VAR)` when unset.
fn expand_vars(value: &str, lookup: &impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                let name = &after[..end];
                out.push_str(&lookup(name).ok_or_else(|| name.to_string())?);
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "TOKEN").then(|| "s3cret".to_string())
    }

    #[test]
    fn reads_both_transports_and_expands_variables() {
        let config = McpConfig::parse(
            r#"{"mcpServers": {
                "math": {"command": "python3", "args": ["m.py"], "env": {"KEY": "k-${TOKEN}"}},
                "docs": {"type": "http", "url": "https://d.example/mcp",
                         "headers": {"Authorization": "Bearer ${TOKEN}"}, "timeout_secs": 5},
                "off": {"command": "x", "disabled": true}
            }}"#,
            env,
        )
        .unwrap();
        assert_eq!(config.servers.len(), 2);
        assert!(matches!(
            &config.servers["math"].transport,
            Transport::Stdio { command, env, .. } if command == "python3" && env["KEY"] == "k-s3cret"
        ));
        let docs = &config.servers["docs"];
        assert_eq!(docs.call_timeout, Duration::from_secs(5));
        assert!(
            matches!(&docs.transport, Transport::Http { headers, .. } if headers["Authorization"] == "Bearer s3cret")
        );
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("Authorization"), "{shown}");
    }

    #[test]
    fn mistakes_name_the_server_and_field() {
        for (text, expected) in [
            (
                r#"{"mcpServers": {"a.b": {"command": "x"}}}"#,
                "server names",
            ),
            (r#"{"mcpServers": {"a": {}}}"#, "give either"),
            (
                r#"{"mcpServers": {"a": {"command": "x", "url": "http://h"}}}"#,
                "give either",
            ),
            (r#"{"mcpServers": {"a": {"url": "ftp://h"}}}"#, "http://"),
            (
                r#"{"mcpServers": {"a": {"type": "sse", "url": "http://h"}}}"#,
                "legacy SSE",
            ),
            (
                r#"{"mcpServers": {"a": {"command": "x", "env": {"K": "${NOPE}"}}}}"#,
                "env.K names ${NOPE}",
            ),
            (
                r#"{"mcpServers": {"a": {"command": "x", "timeout_secs": 0}}}"#,
                "timeout_secs",
            ),
            (
                r#"{"mcpServers": {"a": {"command": "x", "bogus": 1}}}"#,
                "bogus",
            ),
        ] {
            let error = McpConfig::parse(text, env).unwrap_err().to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn variables_expand_only_in_braces() {
        assert_eq!(
            expand_vars("a $TOKEN ${TOKEN}", &env).unwrap(),
            "a $TOKEN s3cret"
        );
        assert_eq!(expand_vars("open ${", &env).unwrap(), "open ${");
    }
}
