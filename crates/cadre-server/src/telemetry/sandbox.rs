//! [`ObservedExecutor`]: any [`CodeExecutor`] whose executions are measured
//! (`cadre_sandbox_execution_duration_seconds` by backend and outcome) and traced (an
//! `execute_tool` span per block, in the GenAI conventions' tool vocabulary: the sandbox
//! is the tool the executor agent calls; the code and its output only when content
//! capture is on).

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use cadre_core::executor::{
    CodeBlock, CodeExecutor, CodeWorkspace, ExecError, ExecutionResult, ExecutorInfo, WorkspaceFile,
};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::metrics::{ExecutionLabels, Metrics};

/// The tool name on `execute_tool` spans.
const TOOL_NAME: &str = "code_execution";

/// An executor whose executions are measured and traced.
pub struct ObservedExecutor {
    inner: Arc<dyn CodeExecutor>,
    metrics: Arc<Metrics>,
    capture_content: bool,
}

impl ObservedExecutor {
    /// Wraps `inner`; spans carry code and output only if `capture_content`.
    pub fn new(inner: Arc<dyn CodeExecutor>, metrics: Arc<Metrics>, capture_content: bool) -> Self {
        Self {
            inner,
            metrics,
            capture_content,
        }
    }
}

#[async_trait]
impl CodeExecutor for ObservedExecutor {
    fn info(&self) -> ExecutorInfo {
        self.inner.info()
    }

    async fn open_workspace(&self, run_id: &str) -> Result<Box<dyn CodeWorkspace>, ExecError> {
        let inner = self.inner.open_workspace(run_id).await?;
        Ok(Box::new(ObservedWorkspace {
            inner,
            backend: self.inner.info().backend,
            metrics: self.metrics.clone(),
            capture_content: self.capture_content,
        }))
    }
}

struct ObservedWorkspace {
    inner: Box<dyn CodeWorkspace>,
    backend: String,
    metrics: Arc<Metrics>,
    capture_content: bool,
}

/// How an execution ended, as the metric labels it.
fn outcome(result: &Result<ExecutionResult, ExecError>) -> &'static str {
    match result {
        Ok(run) if run.timed_out => "timeout",
        Ok(run) if run.killed => "killed",
        Ok(run) if run.exit_code == 0 => "ok",
        Ok(_) | Err(_) => "error",
    }
}

#[async_trait]
impl CodeWorkspace for ObservedWorkspace {
    async fn execute(
        &self,
        block: &CodeBlock,
        cancel: &CancellationToken,
    ) -> Result<ExecutionResult, ExecError> {
        let span = tracing::info_span!(
            "execute_tool",
            otel.name = %format_args!("execute_tool {TOOL_NAME}"),
            otel.kind = "internal",
            otel.status_code = tracing::field::Empty,
            gen_ai.operation.name = "execute_tool",
            gen_ai.tool.name = TOOL_NAME,
            gen_ai.tool.type = "extension",
            cadre.sandbox.backend = %self.backend,
            cadre.code.language = %block.language,
            cadre.code.exit_code = tracing::field::Empty,
            cadre.code.timed_out = tracing::field::Empty,
            error.type = tracing::field::Empty,
            gen_ai.tool.call.arguments = tracing::field::Empty,
            gen_ai.tool.call.result = tracing::field::Empty,
        );
        if self.capture_content {
            span.record("gen_ai.tool.call.arguments", block.code.as_str());
        }
        let started = Instant::now();
        let result = self
            .inner
            .execute(block, cancel)
            .instrument(span.clone())
            .await;
        let outcome = outcome(&result);
        self.metrics
            .sandbox_executions
            .get_or_create(&ExecutionLabels {
                backend: self.backend.clone(),
                outcome: outcome.to_owned(),
            })
            .observe(started.elapsed().as_secs_f64());
        match &result {
            Ok(run) => {
                span.record("cadre.code.exit_code", run.exit_code);
                span.record("cadre.code.timed_out", run.timed_out);
                if self.capture_content {
                    span.record(
                        "gen_ai.tool.call.result",
                        format!("{}{}", run.stdout, run.stderr),
                    );
                }
            }
            Err(_) => {
                span.record("error.type", "sandbox_error");
                span.record("otel.status_code", "ERROR");
            }
        }
        if outcome != "ok" && outcome != "error" {
            span.record("error.type", outcome);
        }
        result
    }

    async fn list_files(&self) -> Result<Vec<WorkspaceFile>, ExecError> {
        self.inner.list_files().await
    }

    async fn read_file(&self, path: &str, max_bytes: u64) -> Result<Vec<u8>, ExecError> {
        self.inner.read_file(path, max_bytes).await
    }

    async fn close(self: Box<Self>) -> Result<(), ExecError> {
        self.inner.close().await
    }
}
