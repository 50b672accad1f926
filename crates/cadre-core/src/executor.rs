//! The [`CodeExecutor`] capability: run a code block in an isolated per-run workspace
//! under limits. Implementations live in `cadre-sandbox`.

use std::fmt;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

/// A language the executors know how to run.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    /// Python 3.
    Python,
    /// POSIX shell / bash.
    Shell,
    /// Anything else, by its fence tag; executors refuse it with a clear message.
    Other(String),
}

impl Language {
    /// Maps a fence tag (` ```py `) to a language, case-insensitively.
    pub fn from_tag(tag: &str) -> Self {
        match tag.trim().to_ascii_lowercase().as_str() {
            "python" | "py" | "python3" => Language::Python,
            "sh" | "bash" | "shell" | "console" | "zsh" => Language::Shell,
            other => Language::Other(other.to_string()),
        }
    }

    /// The canonical tag (`python`, `sh`).
    pub fn as_str(&self) -> &str {
        match self {
            Language::Python => "python",
            Language::Shell => "sh",
            Language::Other(tag) => tag,
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A code block extracted from a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeBlock {
    /// Language to run it as.
    pub language: Language,
    /// Source text.
    pub code: String,
    /// File name requested with a `# filename: x.py` first line, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
}

/// Resource limits for one execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionLimits {
    /// Wall-clock time before the whole process tree is killed.
    pub wall_time: Duration,
    /// CPU seconds.
    pub cpu_seconds: u64,
    /// Address space / memory in bytes.
    pub memory_bytes: u64,
    /// Processes (and threads) the code may have at once.
    pub max_processes: u64,
    /// Bytes of stdout and of stderr kept (the rest is dropped and marked truncated).
    pub max_output_bytes: usize,
    /// Largest file the code may write, and the size of its tmpfs.
    pub max_file_bytes: u64,
}

impl Default for ExecutionLimits {
    fn default() -> Self {
        Self {
            wall_time: Duration::from_secs(30),
            cpu_seconds: 30,
            memory_bytes: 512 * 1024 * 1024,
            max_processes: 64,
            max_output_bytes: 64 * 1024,
            max_file_bytes: 64 * 1024 * 1024,
        }
    }
}

/// What running a code block produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionResult {
    /// Process exit code (128+signal when killed by a signal, -1 when unknown).
    pub exit_code: i32,
    /// Standard output, capped at the output limit.
    pub stdout: String,
    /// Standard error, capped at the output limit.
    pub stderr: String,
    /// Wall time of the execution.
    pub duration_ms: u64,
    /// The wall-clock limit was hit and the process tree killed.
    pub timed_out: bool,
    /// The process was killed (timeout, cancellation or a limit).
    pub killed: bool,
    /// Output was longer than the limit and was cut.
    #[serde(default)]
    pub truncated: bool,
}

/// Description of an executor for logs and the UI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutorInfo {
    /// Backend name (`bwrap`, `local-unsafe`).
    pub backend: String,
    /// Human-readable list of the isolation and limits actually in force.
    pub enforced: Vec<String>,
}

/// Why an execution could not happen at all (as opposed to code that failed).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExecError {
    /// The backend is not usable on this machine.
    #[error("sandbox unavailable: {0}")]
    Unavailable(String),
    /// The language is not supported by this executor.
    #[error("unsupported language `{0}` (supported: python, sh)")]
    UnsupportedLanguage(String),
    /// Setting up or cleaning the workspace failed.
    #[error("workspace error: {0}")]
    Workspace(String),
    /// Spawning or supervising the process failed.
    #[error("execution failed: {0}")]
    Spawn(String),
    /// A workspace file is larger than the caller would read.
    #[error("`{path}` is larger than {limit} bytes")]
    FileTooLarge {
        /// The file, relative to the workspace.
        path: String,
        /// The most bytes the caller asked for.
        limit: u64,
    },
}

/// A regular file in a run's workspace, as [`CodeWorkspace::list_files`] sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceFile {
    /// Path relative to the workspace, `/`-separated, never starting with `/` and never
    /// containing `..`.
    pub path: String,
    /// Size in bytes.
    pub size_bytes: u64,
    /// Last modification time (with the file system's resolution).
    pub modified: SystemTime,
}

/// Runs code blocks for runs. One executor serves many runs.
#[async_trait]
pub trait CodeExecutor: Send + Sync {
    /// What this executor is and which limits it enforces.
    fn info(&self) -> ExecutorInfo;

    /// Creates the private workspace of one run. Files persist between the workspace's
    /// executions and are removed by [`CodeWorkspace::close`].
    async fn open_workspace(&self, run_id: &str) -> Result<Box<dyn CodeWorkspace>, ExecError>;
}

/// A run's private workspace.
#[async_trait]
pub trait CodeWorkspace: Send + Sync {
    /// Executes one block. Cancellation kills the whole process tree promptly.
    async fn execute(
        &self,
        block: &CodeBlock,
        cancel: &CancellationToken,
    ) -> Result<ExecutionResult, ExecError>;

    /// The regular files code left in the workspace, sorted by path: what the engine
    /// compares before and after a block to find its artifacts. Never follows links;
    /// leaves out links, devices, pipes, hidden entries and the code files the executor
    /// wrote itself; bounded in depth and count. The default (a workspace that cannot be
    /// listed) has none.
    async fn list_files(&self) -> Result<Vec<WorkspaceFile>, ExecError> {
        Ok(Vec::new())
    }

    /// The content of one file [`CodeWorkspace::list_files`] listed, at most
    /// `max_bytes` of it: a longer file is [`ExecError::FileTooLarge`]. A path that is
    /// not a regular file inside the workspace (a link, `..`) is an error, never
    /// followed.
    async fn read_file(&self, path: &str, max_bytes: u64) -> Result<Vec<u8>, ExecError> {
        let _ = max_bytes;
        Err(ExecError::Workspace(format!(
            "this workspace cannot read `{path}`"
        )))
    }

    /// Removes the workspace and everything in it.
    async fn close(self: Box<Self>) -> Result<(), ExecError>;
}
