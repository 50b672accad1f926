//! Supervising one child process for every backend: spawning it in its own process
//! group with an empty environment, reading stdout and stderr concurrently under a cap,
//! enforcing the wall-clock limit, the workspace disk quota and cancellation, and
//! killing the whole tree.

use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cadre_core::executor::{ExecError, ExecutionResult};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

use crate::quota::{QUOTA_EXIT_CODE, Quota, Usage};

/// Exit code reported when the wall-clock limit killed the process tree, as GNU
/// `timeout` does.
pub const TIMEOUT_EXIT_CODE: i32 = 124;

/// Exit code reported when cancellation killed the process tree (128 + SIGKILL).
pub const CANCELLED_EXIT_CODE: i32 = 137;

/// How long to wait for stdout/stderr to reach end-of-file once the main process is
/// gone. Anything still holding the pipes after that is an escaped descendant; its
/// output is not worth blocking the run for.
const DRAIN_GRACE: Duration = Duration::from_millis(500);

/// What to run and under which supervision limits.
#[derive(Debug)]
pub(crate) struct Spec {
    /// Program and arguments; the program is an absolute path since the environment,
    /// and so `$PATH`, is empty.
    pub argv: Vec<OsString>,
    /// Working directory of the spawned process.
    pub cwd: Option<PathBuf>,
    /// The complete environment of the spawned process.
    pub env: Vec<(String, String)>,
    /// Wall-clock limit.
    pub wall_time: Duration,
    /// Bytes kept of each of stdout and stderr.
    pub max_output_bytes: usize,
    /// `kill` binary used to signal the whole process group; `None` kills only the
    /// spawned process.
    pub kill_program: Option<PathBuf>,
    /// Disk quota of the workspace the process writes to; `None` for no quota.
    pub quota: Option<Quota>,
}

#[derive(Default)]
struct Capture {
    bytes: Vec<u8>,
    dropped: u64,
}

enum Ending {
    Exited(ExitStatus),
    TimedOut,
    Cancelled,
    /// `killed`: by the watchdog while running, rather than found when it had exited.
    OverQuota {
        usage: Usage,
        killed: bool,
    },
}

/// Runs `spec` to completion, timeout or cancellation and collects its output.
pub(crate) async fn run(
    spec: Spec,
    cancel: &CancellationToken,
) -> Result<ExecutionResult, ExecError> {
    let (program, args) = spec
        .argv
        .split_first()
        .ok_or_else(|| ExecError::Spawn("empty command line".to_string()))?;
    let mut command = Command::new(program);
    command
        .args(args)
        // The launcher's environment is readable from inside through /proc/<pid>/environ,
        // so it must not carry the server's secrets: start from nothing.
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        // Own process group, so the tree can be signalled at once without touching the
        // server's group.
        .process_group(0);
    if let Some(cwd) = &spec.cwd {
        command.current_dir(cwd);
    }

    let started = Instant::now();
    let mut child = command.spawn().map_err(|e| {
        ExecError::Spawn(format!(
            "cannot start {}: {e}",
            Path::new(program).display()
        ))
    })?;
    let pid = child.id();

    let stdout = Arc::new(Mutex::new(Capture::default()));
    let stderr = Arc::new(Mutex::new(Capture::default()));
    let mut readers = Vec::with_capacity(2);
    if let Some(out) = child.stdout.take() {
        readers.push(tokio::spawn(read_capped(
            out,
            spec.max_output_bytes,
            stdout.clone(),
        )));
    }
    if let Some(err) = child.stderr.take() {
        readers.push(tokio::spawn(read_capped(
            err,
            spec.max_output_bytes,
            stderr.clone(),
        )));
    }

    let watchdog = async {
        match &spec.quota {
            Some(quota) => quota.watch().await,
            None => std::future::pending().await,
        }
    };
    let ending = tokio::select! {
        biased;
        () = cancel.cancelled() => Ending::Cancelled,
        waited = tokio::time::timeout(spec.wall_time, child.wait()) => match waited {
            Ok(Ok(status)) => Ending::Exited(status),
            Ok(Err(e)) => {
                kill_tree(&mut child, pid, spec.kill_program.as_deref()).await;
                return Err(ExecError::Spawn(format!("cannot wait for the process: {e}")));
            }
            Err(_) => Ending::TimedOut,
        },
        usage = watchdog => Ending::OverQuota { usage, killed: true },
    };

    let status = match ending {
        Ending::Exited(status) => Some(status),
        Ending::TimedOut | Ending::Cancelled | Ending::OverQuota { .. } => {
            // Signalled before reaping, so the pid (and process group id) cannot have
            // been reused by an unrelated process.
            kill_tree(&mut child, pid, spec.kill_program.as_deref()).await;
            tokio::time::timeout(Duration::from_secs(5), child.wait())
                .await
                .ok()
                .and_then(Result::ok)
        }
    };

    let drained = tokio::time::timeout(DRAIN_GRACE, async {
        for reader in &mut readers {
            let _ = reader.await;
        }
    })
    .await;
    if drained.is_err() {
        // A descendant still holds the pipes. The group is non-empty, so its id still
        // names our group and signalling it is safe.
        if matches!(ending, Ending::Exited(_)) {
            kill_group(pid, spec.kill_program.as_deref()).await;
        }
        for reader in &readers {
            reader.abort();
        }
    }
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);

    // A fast writer can exceed the quota and exit between two watchdog checks: one last
    // measurement reports it on the block that did it rather than refusing the next one.
    let ending = match (ending, &spec.quota) {
        (Ending::Exited(exited), Some(quota)) => match quota.measure_async().await {
            Usage::Within(_) => Ending::Exited(exited),
            usage => Ending::OverQuota {
                usage,
                killed: false,
            },
        },
        (ending, _) => ending,
    };

    let (stdout, out_truncated) = take_text(&stdout);
    let (mut stderr, err_truncated) = take_text(&stderr);
    let (exit_code, killed, timed_out) = match ending {
        Ending::Exited(_) => {
            let code = status.map_or(-1, exit_code_of);
            let by_signal = status.is_some_and(|s| s.signal().is_some());
            // bubblewrap and shells report a child killed by a signal as 128+n; SIGKILL
            // and SIGXCPU are what the CPU and memory limits deliver.
            (
                code,
                by_signal || code == 128 + 9 || code == 128 + 24,
                false,
            )
        }
        Ending::TimedOut => {
            push_note(
                &mut stderr,
                &format!(
                    "Timeout: execution exceeded {} and was killed",
                    crate::host::human_duration(spec.wall_time)
                ),
            );
            (TIMEOUT_EXIT_CODE, true, true)
        }
        Ending::Cancelled => {
            push_note(&mut stderr, "Cancelled: execution was stopped");
            (CANCELLED_EXIT_CODE, true, false)
        }
        Ending::OverQuota { usage, killed } => {
            // The tree has been killed and reaped above, so emptying the workspace does
            // not race a writer still inside.
            let note = match &spec.quota {
                Some(quota) => quota.exceeded_note(&usage, killed).await,
                None => "Disk quota exceeded".to_string(),
            };
            push_note(&mut stderr, &note);
            (QUOTA_EXIT_CODE, killed, false)
        }
    };
    Ok(ExecutionResult {
        exit_code,
        stdout,
        stderr,
        duration_ms,
        timed_out,
        killed,
        truncated: out_truncated || err_truncated,
    })
}

/// Reads `reader` to end-of-file, keeping at most `cap` bytes. Reading continues past the
/// cap (discarding) so the child never blocks on a full pipe.
async fn read_capped<R: AsyncRead + Unpin>(
    mut reader: R,
    cap: usize,
    capture: Arc<Mutex<Capture>>,
) {
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        let n = match reader.read(&mut chunk).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        let Ok(mut capture) = capture.lock() else {
            break;
        };
        let room = cap.saturating_sub(capture.bytes.len());
        let kept = room.min(n);
        capture.bytes.extend_from_slice(&chunk[..kept]);
        capture.dropped += (n - kept) as u64;
    }
}

/// The captured text, decoded lossily, with a truncation marker when bytes were dropped.
fn take_text(capture: &Mutex<Capture>) -> (String, bool) {
    let Ok(mut capture) = capture.lock() else {
        return (String::new(), false);
    };
    let bytes = std::mem::take(&mut capture.bytes);
    let mut dropped = capture.dropped;
    if dropped == 0 {
        return (String::from_utf8_lossy(&bytes).into_owned(), false);
    }
    // Cut back to a character boundary rather than ending on a replacement character.
    let keep = match std::str::from_utf8(&bytes) {
        Err(e) if e.error_len().is_none() => e.valid_up_to(),
        _ => bytes.len(),
    };
    dropped += (bytes.len() - keep) as u64;
    let mut text = String::from_utf8_lossy(&bytes[..keep]).into_owned();
    push_note(
        &mut text,
        &format!("[output truncated: {dropped} more bytes not shown]"),
    );
    (text, true)
}

pub(crate) fn push_note(text: &mut String, note: &str) {
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(note);
    text.push('\n');
}

fn exit_code_of(status: ExitStatus) -> i32 {
    status
        .code()
        .or_else(|| status.signal().map(|signal| 128 + signal))
        .unwrap_or(-1)
}

/// SIGKILLs the process group and the spawned process itself. Killing the spawned
/// process is what takes a bubblewrap sandbox down (`--die-with-parent` plus its own PID
/// namespace); the group covers the unsandboxed backend's descendants.
async fn kill_tree(child: &mut Child, pid: Option<u32>, kill_program: Option<&Path>) {
    kill_group(pid, kill_program).await;
    let _ = child.start_kill();
}

async fn kill_group(pid: Option<u32>, kill_program: Option<&Path>) {
    let (Some(pid), Some(kill)) = (pid, kill_program) else {
        return;
    };
    // The `kill` program rather than kill(2), which would need `unsafe` or a new
    // dependency; it costs one short-lived process per kill.
    let _ = Command::new(kill)
        .env_clear()
        .args(["-s", "KILL", "--", &format!("-{pid}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .status()
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, wall: Duration, cap: usize) -> Spec {
        Spec {
            argv: vec!["/bin/sh".into(), "-c".into(), script.into()],
            cwd: None,
            env: vec![("PATH".into(), "/usr/bin:/bin".into())],
            wall_time: wall,
            max_output_bytes: cap,
            kill_program: crate::host::find_program("kill"),
            quota: None,
        }
    }

    #[tokio::test]
    async fn output_and_exit_code_are_collected() {
        let result = run(
            sh(
                "echo out; echo err >&2; exit 3",
                Duration::from_secs(5),
                1024,
            ),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
        assert_eq!(result.stdout, "out\n");
        assert_eq!(result.stderr, "err\n");
        assert_eq!(result.exit_code, 3);
        assert!(!result.killed && !result.timed_out && !result.truncated);
    }

    #[tokio::test]
    async fn output_past_the_cap_is_dropped_without_blocking_the_child() {
        // 1 MiB through a 64 KiB pipe: the child would block forever if the reader
        // stopped at the cap.
        let result = run(
            sh(
                "head -c 1048576 /dev/zero | tr '\\0' x; echo done >&2",
                Duration::from_secs(10),
                100,
            ),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
        assert!(result.truncated);
        assert!(result.stdout.starts_with(&"x".repeat(100)));
        assert!(
            result
                .stdout
                .contains("[output truncated: 1048476 more bytes not shown]"),
            "{}",
            result.stdout
        );
        assert_eq!(result.stderr, "done\n");
        assert_eq!(result.exit_code, 0);
    }

    #[test]
    fn truncation_does_not_split_a_character() {
        let capture = Mutex::new(Capture {
            bytes: "aé".as_bytes()[..2].to_vec(),
            dropped: 5,
        });
        let (text, truncated) = take_text(&capture);
        assert!(truncated);
        assert!(
            text.starts_with("a\n[output truncated: 6 more bytes"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn the_quota_watchdog_kills_a_disk_filling_tree_and_empties_the_workspace() {
        let ws = tempfile::tempdir().unwrap();
        // Two writers, one in the background, so the whole group must go.
        let script = "(while :; do head -c 1048576 /dev/zero > bg.$$.$(date +%s%N); sleep 0.02; done) &\n\
                      i=0; while [ $i -lt 300 ]; do head -c 1048576 /dev/zero > f$i; i=$((i+1)); sleep 0.02; done\n\
                      echo finished";
        let mut spec = sh(script, Duration::from_secs(10), 1024);
        spec.cwd = Some(ws.path().to_path_buf());
        spec.quota = crate::quota::Quota::new(ws.path(), 4 * 1024 * 1024);
        let started = Instant::now();
        let result = run(spec, &CancellationToken::new()).await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(3), "{result:?}");
        assert_eq!(result.exit_code, QUOTA_EXIT_CODE, "{result:?}");
        assert!(result.killed && !result.timed_out, "{result:?}");
        assert!(!result.stdout.contains("finished"), "{result:?}");
        assert!(
            result
                .stderr
                .contains("Disk quota exceeded: the workspace holds more than 4 MiB"),
            "{}",
            result.stderr
        );
        assert!(
            result.stderr.contains("execution stopped"),
            "{}",
            result.stderr
        );
        assert!(result.stderr.contains("was emptied"), "{}", result.stderr);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(std::fs::read_dir(ws.path()).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn writing_below_the_quota_is_unaffected() {
        let ws = tempfile::tempdir().unwrap();
        let script =
            "for i in 1 2 3; do head -c 1048576 /dev/zero > f$i; sleep 0.15; done; echo ok";
        let mut spec = sh(script, Duration::from_secs(10), 1024);
        spec.cwd = Some(ws.path().to_path_buf());
        spec.quota = crate::quota::Quota::new(ws.path(), 4 * 1024 * 1024);
        let result = run(spec, &CancellationToken::new()).await.unwrap();
        assert_eq!(result.exit_code, 0, "{result:?}");
        assert_eq!(result.stdout, "ok\n");
        assert!(!result.killed);
        assert_eq!(std::fs::read_dir(ws.path()).unwrap().count(), 3);
    }

    #[tokio::test]
    async fn leftover_background_processes_do_not_hold_the_run() {
        let started = Instant::now();
        let result = run(
            sh("sleep 30 & echo started", Duration::from_secs(10), 1024),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
        assert_eq!(result.stdout, "started\n");
        assert!(started.elapsed() < Duration::from_secs(3));
    }
}
