//! Tools agents may call: the [`ToolBox`] capability (implemented by `cadre-mcp` over
//! the operator's MCP servers), the allowlist that decides which tools an agent is
//! offered ([`ToolPattern`]), and the names tools go by on the wire.
//!
//! Tools are named `server.tool` (the MCP server's name in the operator's configuration,
//! then the tool's own name). A team only ever names tools; which servers exist, and
//! what they run, is the operator's decision, never the team file's.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

/// Most characters of a tool result passed to the model and kept in the `tool_result`
/// event; the rest is cut with a note (a tool can answer megabytes).
pub const MAX_TOOL_RESULT_CHARS: usize = 20_000;

/// Most model calls that may request tools within one agent turn; after that, calls are
/// answered with a refusal and the agent must reply in text.
pub const MAX_TOOL_ROUNDS: usize = 8;

/// One tool the operator's servers offer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct ToolInfo {
    /// Qualified name, `server.tool`.
    pub name: String,
    /// The server's description of the tool.
    #[serde(default)]
    pub description: String,
    /// JSON Schema of the arguments (an object schema).
    #[cfg_attr(feature = "schema", schema(value_type = Object))]
    pub parameters: serde_json::Value,
}

/// What a tool answered.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    /// The result as text (text blocks joined; structured content as JSON; other
    /// content described).
    pub content: String,
    /// Whether the tool reported an error (the model sees it and may try again).
    pub is_error: bool,
}

/// What [`ToolBox::tools`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ToolListing {
    /// The tools of the servers that answered.
    pub tools: Vec<ToolInfo>,
    /// The servers that did not, as [`ToolError::Unavailable`].
    pub unavailable: Vec<ToolError>,
}

/// Why a tool could not be listed or called. Messages are shown to users and models:
/// they never contain credentials.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ToolError {
    /// No configured server offers a tool of that name.
    #[error("no tool named {0}")]
    Unknown(String),
    /// The server could not be started, reached or spoken to.
    #[error("tool server {server} is unavailable: {message}")]
    Unavailable {
        /// Server name.
        server: String,
        /// What went wrong.
        message: String,
    },
    /// The call did not answer within the server's time limit.
    #[error("tool {0} did not answer in time")]
    Timeout(String),
    /// The run was cancelled during the call.
    #[error("tool call cancelled")]
    Cancelled,
}

/// The tools a deployment offers.
#[async_trait]
pub trait ToolBox: Send + Sync {
    /// Every tool of every configured server that can be reached, and why the others
    /// cannot.
    async fn tools(&self) -> ToolListing;

    /// Calls `name` (qualified) with `arguments`.
    async fn call(
        &self,
        name: &str,
        arguments: serde_json::Map<String, serde_json::Value>,
        cancel: &CancellationToken,
    ) -> Result<ToolOutput, ToolError>;
}

/// One allowlist entry of [`crate::AgentSpec::tools`]: `server.tool` (one tool),
/// `server.*` (all of a server's tools) or `*` (every tool the deployment offers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolPattern {
    /// Every tool.
    All,
    /// Every tool of one server.
    Server(String),
    /// One tool.
    Exact(String),
}

impl ToolPattern {
    /// Parses an allowlist entry; `None` when it is not one of the three forms.
    pub fn parse(entry: &str) -> Option<Self> {
        if entry == "*" {
            return Some(ToolPattern::All);
        }
        let (server, tool) = entry.split_once('.')?;
        if !is_name(server) {
            return None;
        }
        if tool == "*" {
            Some(ToolPattern::Server(server.to_string()))
        } else if !tool.is_empty() && !tool.chars().any(char::is_whitespace) {
            Some(ToolPattern::Exact(entry.to_string()))
        } else {
            None
        }
    }

    /// Whether `qualified` (`server.tool`) is allowed by this entry.
    pub fn allows(&self, qualified: &str) -> bool {
        match self {
            ToolPattern::All => true,
            ToolPattern::Server(server) => {
                qualified.split_once('.').is_some_and(|(s, _)| s == server)
            }
            ToolPattern::Exact(name) => name == qualified,
        }
    }
}

/// Whether an agent whose allowlist is `entries` may call `qualified`. Entries that do
/// not parse allow nothing (teams are validated on save; this is the run-time check).
pub fn is_allowed(entries: &[String], qualified: &str) -> bool {
    entries
        .iter()
        .filter_map(|entry| ToolPattern::parse(entry))
        .any(|pattern| pattern.allows(qualified))
}

/// Whether an allowlist names any tool of `server` (so that the server being down
/// concerns the agent).
pub fn names_server(entries: &[String], server: &str) -> bool {
    entries
        .iter()
        .filter_map(|entry| ToolPattern::parse(entry))
        .any(|pattern| match pattern {
            ToolPattern::All => true,
            ToolPattern::Server(name) => name == server,
            ToolPattern::Exact(name) => name.split_once('.').is_some_and(|(s, _)| s == server),
        })
}

/// Server names in the operator's configuration: `[A-Za-z0-9_-]`, as in tool names.
pub fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The name a tool goes by in a model request. OpenAI accepts only
/// `^[a-zA-Z0-9_-]{1,64}$`, so `server.tool` becomes `server__tool` (other characters
/// become `_`, and a long name is cut and made unique with a hash of the whole).
pub fn wire_tool_name(qualified: &str) -> String {
    let cleaned: String = qualified
        .replacen('.', "__", 1)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.len() <= 64 {
        return cleaned;
    }
    // FNV-1a: stable across releases and platforms, unlike std's hasher.
    let hash = qualified.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{}_{hash:016x}", &cleaned[..47])
}

/// Cuts a tool result to [`MAX_TOOL_RESULT_CHARS`], saying how much was left out.
pub fn cap_tool_result(content: String) -> String {
    match content.char_indices().nth(MAX_TOOL_RESULT_CHARS) {
        None => content,
        Some((cut, _)) => {
            let omitted = content[cut..].chars().count();
            format!(
                "{}\n[… {omitted} more characters of the tool's answer left out]",
                &content[..cut]
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_parse_and_allow() {
        assert_eq!(ToolPattern::parse("*"), Some(ToolPattern::All));
        assert_eq!(
            ToolPattern::parse("files.*"),
            Some(ToolPattern::Server("files".into()))
        );
        assert_eq!(
            ToolPattern::parse("files.read_file"),
            Some(ToolPattern::Exact("files.read_file".into()))
        );
        for bad in ["", "files", "files.", ".x", "a b.c", "files.x y"] {
            assert_eq!(ToolPattern::parse(bad), None, "{bad:?}");
        }
        let allow = vec!["math.add".to_string(), "files.*".to_string()];
        assert!(is_allowed(&allow, "math.add"));
        assert!(is_allowed(&allow, "files.write"));
        assert!(!is_allowed(&allow, "math.delete_everything"));
        assert!(!is_allowed(&allow, "filesystem.read"));
        assert!(!is_allowed(&[], "math.add"));
        assert!(names_server(&allow, "math") && names_server(&allow, "files"));
        assert!(!names_server(&allow, "web"));
        assert!(names_server(&["*".to_string()], "web"));
    }

    #[test]
    fn wire_names_are_what_openai_accepts() {
        assert_eq!(wire_tool_name("math.add"), "math__add");
        assert_eq!(wire_tool_name("web.fetch.url"), "web__fetch_url");
        let long = format!("server.{}", "x".repeat(100));
        let wire = wire_tool_name(&long);
        assert!(wire.len() <= 64, "{wire}");
        assert_ne!(wire, wire_tool_name(&format!("server.{}", "x".repeat(101))));
    }

    #[test]
    fn long_results_are_cut_with_a_note() {
        assert_eq!(cap_tool_result("short".into()), "short");
        let long = "é".repeat(MAX_TOOL_RESULT_CHARS + 5);
        let capped = cap_tool_result(long);
        assert!(capped.ends_with("[… 5 more characters of the tool's answer left out]"));
    }
}
