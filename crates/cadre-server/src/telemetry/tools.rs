//! [`ObservedToolBox`]: any [`ToolBox`] whose calls are measured
//! (`cadre_tool_call_duration_seconds` by server and outcome). The engine opens the
//! `execute_tool {server.tool}` span around each call itself, so every toolbox is traced.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use cadre_core::tool::{ToolBox, ToolError, ToolListing, ToolOutput};
use tokio_util::sync::CancellationToken;

use super::metrics::{Metrics, ToolCallLabels};

/// A toolbox whose calls are measured.
pub struct ObservedToolBox {
    inner: Arc<dyn ToolBox>,
    metrics: Arc<Metrics>,
}

impl ObservedToolBox {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn ToolBox>, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }
}

/// How a call ended, as the metric labels it.
fn outcome(result: &Result<ToolOutput, ToolError>) -> &'static str {
    match result {
        Ok(output) if output.is_error => "error",
        Ok(_) => "ok",
        Err(ToolError::Timeout(_)) => "timeout",
        Err(ToolError::Unavailable { .. }) => "unavailable",
        Err(ToolError::Unknown(_)) => "unknown",
        Err(ToolError::Cancelled) => "cancelled",
    }
}

#[async_trait]
impl ToolBox for ObservedToolBox {
    async fn tools(&self) -> ToolListing {
        self.inner.tools().await
    }

    async fn call(
        &self,
        name: &str,
        arguments: serde_json::Map<String, serde_json::Value>,
        cancel: &CancellationToken,
    ) -> Result<ToolOutput, ToolError> {
        let started = Instant::now();
        let result = self.inner.call(name, arguments, cancel).await;
        // The server's configured name: bounded by the operator's file, unlike tool names
        // a model may invent (those are refused before they get here).
        let server = name.split_once('.').map_or(name, |(server, _)| server);
        self.metrics
            .tool_calls
            .get_or_create(&ToolCallLabels {
                server: server.to_string(),
                outcome: outcome(&result).to_string(),
            })
            .observe(started.elapsed().as_secs_f64());
        result
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::telemetry::Role;

    struct Canned;

    #[async_trait]
    impl ToolBox for Canned {
        async fn tools(&self) -> ToolListing {
            ToolListing::default()
        }
        async fn call(
            &self,
            name: &str,
            _arguments: serde_json::Map<String, serde_json::Value>,
            _cancel: &CancellationToken,
        ) -> Result<ToolOutput, ToolError> {
            match name {
                "math.add" => Ok(ToolOutput {
                    content: "3".into(),
                    is_error: false,
                }),
                "math.divide" => Ok(ToolOutput {
                    content: "division by zero".into(),
                    is_error: true,
                }),
                _ => Err(ToolError::Unavailable {
                    server: "web".into(),
                    message: "connection refused".into(),
                }),
            }
        }
    }

    #[tokio::test]
    async fn calls_count_by_server_and_outcome() {
        let metrics = Metrics::new(Role::Worker);
        let tools = ObservedToolBox::new(Arc::new(Canned), metrics.clone());
        let cancel = CancellationToken::new();
        for name in ["math.add", "math.add", "math.divide", "web.fetch"] {
            let _ = tools.call(name, serde_json::Map::new(), &cancel).await;
        }
        let text = metrics.encode_for_tests();
        for line in [
            r#"cadre_tool_call_duration_seconds_count{server="math",outcome="ok"} 2"#,
            r#"cadre_tool_call_duration_seconds_count{server="math",outcome="error"} 1"#,
            r#"cadre_tool_call_duration_seconds_count{server="web",outcome="unavailable"} 1"#,
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing `{line}` in:\n{text}"
            );
        }
    }
}
