//! # cadre-mcp
//!
//! Tools for Cadre's agents from the operator's MCP servers. [`McpToolBox`] implements
//! `cadre_core::ToolBox` over the servers an [`McpConfig`] names, through the official
//! Rust SDK (`rmcp`): stdio servers run as child processes, streamable HTTP servers are
//! reached with its reqwest client.
//!
//! Each server is connected on first use and kept: its tool list is read once per
//! connection, and a connection that broke (the process exited, the session expired) is
//! made again on the next use. Servers are never named by a team: a team only allows
//! tools by name, the operator decides what runs.
//!
//! # Layout
//! - [`config`]: the `mcpServers` file format.
//! - [`server`]: one server's connection (start, list, call, reconnect).

pub mod config;
pub mod server;

use async_trait::async_trait;
use cadre_core::tool::{ToolBox, ToolError, ToolListing, ToolOutput};
use tokio_util::sync::CancellationToken;

pub use config::{ConfigError, McpConfig, ServerConfig, Transport};
use server::McpServer;

/// The deployment's MCP servers as one toolbox.
pub struct McpToolBox {
    servers: Vec<McpServer>,
}

impl McpToolBox {
    /// A toolbox over `config`'s servers. Nothing is started until a run asks for tools.
    pub fn new(config: McpConfig) -> Self {
        // rmcp's HTTP client is reqwest with rustls and no built-in crypto provider: the
        // process-wide default must be set before it builds one. An Err means another
        // part of the process set it first, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
        Self {
            servers: config
                .servers
                .into_iter()
                .map(|(name, config)| McpServer::new(name, config))
                .collect(),
        }
    }

    /// Names of the configured servers.
    pub fn server_names(&self) -> Vec<&str> {
        self.servers.iter().map(McpServer::name).collect()
    }

    /// Closes every connection (stdio servers are stopped).
    pub async fn close(&self) {
        futures::future::join_all(self.servers.iter().map(McpServer::close)).await;
    }
}

#[async_trait]
impl ToolBox for McpToolBox {
    async fn tools(&self) -> ToolListing {
        let listed =
            futures::future::join_all(self.servers.iter().map(|server| server.tools())).await;
        let mut listing = ToolListing::default();
        for result in listed {
            match result {
                Ok(tools) => listing.tools.extend(tools),
                Err(error) => listing.unavailable.push(error),
            }
        }
        listing
    }

    async fn call(
        &self,
        name: &str,
        arguments: serde_json::Map<String, serde_json::Value>,
        cancel: &CancellationToken,
    ) -> Result<ToolOutput, ToolError> {
        let (server_name, tool) = name
            .split_once('.')
            .ok_or_else(|| ToolError::Unknown(name.to_string()))?;
        let server = self
            .servers
            .iter()
            .find(|server| server.name() == server_name)
            .ok_or_else(|| ToolError::Unknown(name.to_string()))?;
        server.call(tool, arguments, cancel).await
    }
}

impl std::fmt::Debug for McpToolBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpToolBox")
            .field("servers", &self.server_names())
            .finish()
    }
}
