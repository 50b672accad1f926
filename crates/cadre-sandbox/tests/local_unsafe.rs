//! The unsandboxed backend still cleans the environment, bounds time and output, and
//! kills what it started.

#![allow(clippy::unwrap_used, clippy::panic)] // helpers outside #[test] fns fail fast too

use std::time::{Duration, Instant};

use cadre_core::executor::{CodeBlock, CodeExecutor, CodeWorkspace, ExecutionLimits, Language};
use cadre_sandbox::{LocalUnsafeExecutor, SandboxConfig};
use tokio_util::sync::CancellationToken;

fn executor(limits: ExecutionLimits) -> (tempfile::TempDir, LocalUnsafeExecutor) {
    executor_with_quota(limits, SandboxConfig::default().workspace_quota_bytes)
}

fn executor_with_quota(
    limits: ExecutionLimits,
    workspace_quota_bytes: u64,
) -> (tempfile::TempDir, LocalUnsafeExecutor) {
    let root = tempfile::tempdir().unwrap();
    let config = SandboxConfig {
        limits,
        workspace_quota_bytes,
        base_dir: root.path().join("workspaces"),
        ..SandboxConfig::default()
    };
    (root, LocalUnsafeExecutor::new(config).unwrap())
}

fn block(language: Language, code: &str) -> CodeBlock {
    CodeBlock {
        language,
        code: code.to_string(),
        filename: None,
    }
}

#[tokio::test]
async fn python_runs_in_the_run_directory_with_a_clean_environment() {
    let (_root, executor) = executor(ExecutionLimits::default());
    let ws = executor.open("t").await.unwrap();
    let code = "import os\nprint(os.getcwd())\nprint(sorted(os.environ))";
    let result = ws
        .execute(&block(Language::Python, code), &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(result.exit_code, 0, "{}", result.stderr);
    let mut lines = result.stdout.lines();
    assert_eq!(Some(ws.path().to_string_lossy().as_ref()), lines.next());
    assert_eq!(
        lines.next(),
        Some(
            "['HOME', 'LANG', 'MPLBACKEND', 'PATH', 'PYTHONDONTWRITEBYTECODE', 'PYTHONUNBUFFERED', 'TMPDIR']"
        )
    );
}

#[tokio::test]
async fn a_timeout_kills_the_process_group() {
    let (_root, executor) = executor(ExecutionLimits {
        wall_time: Duration::from_millis(1500),
        ..ExecutionLimits::default()
    });
    let ws = executor.open("t").await.unwrap();
    let code = "(while :; do echo x >> marker; sleep 0.05; done) >/dev/null 2>&1 &\nsleep 100\n";
    let started = Instant::now();
    let result = ws
        .execute(&block(Language::Shell, code), &CancellationToken::new())
        .await
        .unwrap();
    assert!(result.timed_out && result.killed, "{result:?}");
    assert!(
        result.stderr.contains("Timeout: execution exceeded 1.5 s"),
        "{}",
        result.stderr
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    let marker = ws.path().join("marker");
    let before = std::fs::metadata(&marker).unwrap().len();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        std::fs::metadata(&marker).unwrap().len(),
        before,
        "the background loop survived"
    );
}

#[tokio::test]
async fn cancellation_and_close_clean_up() {
    let (root, executor) = executor(ExecutionLimits::default());
    let ws = executor.open_workspace("t").await.unwrap();
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        trigger.cancel();
    });
    let started = Instant::now();
    let result = ws
        .execute(
            &block(Language::Python, "import time\ntime.sleep(100)"),
            &cancel,
        )
        .await
        .unwrap();
    assert!(result.killed && !result.timed_out);
    assert!(started.elapsed() < Duration::from_millis(1200));
    ws.close().await.unwrap();
    assert_eq!(
        std::fs::read_dir(root.path().join("workspaces"))
            .unwrap()
            .count(),
        0
    );
}

#[tokio::test]
async fn the_workspace_quota_applies_here_too() {
    let (_root, executor) = executor_with_quota(ExecutionLimits::default(), 4 * 1024 * 1024);
    assert!(
        executor
            .info()
            .enforced
            .iter()
            .any(|line| line.starts_with("workspace: 4 MiB disk quota")),
        "{:?}",
        executor.info().enforced
    );
    let ws = executor.open("t").await.unwrap();
    let code = "import time\n\
        for i in range(150):\n    open(f'f{i}', 'wb').write(b'x' * 2**20)\n    time.sleep(0.02)\n\
        print('finished')\n";
    let started = Instant::now();
    let result = ws
        .execute(&block(Language::Python, code), &CancellationToken::new())
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(2), "{result:?}");
    assert_eq!(
        result.exit_code,
        cadre_sandbox::QUOTA_EXIT_CODE,
        "{result:?}"
    );
    assert!(
        result.killed && !result.stdout.contains("finished"),
        "{result:?}"
    );
    assert!(result.stderr.contains("was emptied"), "{}", result.stderr);
    assert_eq!(std::fs::read_dir(ws.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn files_code_writes_are_listed_and_readable_but_its_own_code_file_is_not() {
    let (_root, executor) = executor(ExecutionLimits::default());
    let ws: Box<dyn CodeWorkspace> = executor.open_workspace("t").await.unwrap();
    assert_eq!(ws.list_files().await.unwrap(), vec![]);
    let code = "import os\nos.makedirs('out', exist_ok=True)\n\
                open('out/table.csv', 'w').write('n,sq\\n2,4\\n')\n\
                os.symlink('/etc/passwd', 'passwd')";
    let result = ws
        .execute(&block(Language::Python, code), &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(result.exit_code, 0, "{}", result.stderr);
    let files = ws.list_files().await.unwrap();
    let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["out/table.csv"]);
    assert_eq!(files[0].size_bytes, 9);
    assert_eq!(
        ws.read_file("out/table.csv", 1024).await.unwrap(),
        b"n,sq\n2,4\n"
    );
    assert!(ws.read_file("passwd", 1 << 20).await.is_err());
    ws.close().await.unwrap();
}
