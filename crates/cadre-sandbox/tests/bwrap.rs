//! The bubblewrap backend, end to end: real sandboxes, real python and shell.
//! These tests fail (never skip) when bubblewrap is missing: `make test` installs it.

#![allow(clippy::unwrap_used, clippy::panic)] // helpers outside #[test] fns fail fast too

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use cadre_core::executor::{
    CodeBlock, CodeExecutor, CodeWorkspace, ExecError, ExecutionLimits, ExecutionResult, Language,
};
use cadre_sandbox::{BwrapExecutor, BwrapWorkspace, SandboxConfig};
use tokio_util::sync::CancellationToken;

/// The variables the sandbox is meant to receive, plus the ones bubblewrap itself sets.
const ALLOWED_ENV: &[&str] = &[
    "PATH",
    "HOME",
    "LANG",
    "PYTHONUNBUFFERED",
    "PYTHONDONTWRITEBYTECODE",
    "MPLBACKEND",
    "TMPDIR",
    "PIP_NO_INDEX",
    "PIP_DISABLE_PIP_VERSION_CHECK",
    "PWD",
];

struct Sandbox {
    /// Keeps the base directory alive for the test's duration.
    _root: tempfile::TempDir,
    executor: BwrapExecutor,
}

fn sandbox_with(limits: ExecutionLimits) -> Sandbox {
    sandbox_with_quota(limits, SandboxConfig::default().workspace_quota_bytes)
}

fn sandbox_with_quota(limits: ExecutionLimits, workspace_quota_bytes: u64) -> Sandbox {
    let root = tempfile::tempdir().unwrap();
    // The sandbox uid (nobody, when tests run as root) must be able to traverse down
    // to its workspace.
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    let config = SandboxConfig {
        limits,
        base_dir: root.path().join("workspaces"),
        workspace_quota_bytes,
        init_program: Some(env!("CARGO_BIN_EXE_cadre-sandbox-init").into()),
        ..SandboxConfig::default()
    };
    let executor = BwrapExecutor::new(config).unwrap_or_else(|error| {
        panic!(
            "the bwrap sandbox is required for these tests and is unavailable: {error}\n\
             install bubblewrap (apt-get install bubblewrap); `make test` does this"
        )
    });
    Sandbox {
        _root: root,
        executor,
    }
}

fn sandbox() -> Sandbox {
    sandbox_with(ExecutionLimits::default())
}

fn python(code: &str) -> CodeBlock {
    CodeBlock {
        language: Language::Python,
        code: code.to_string(),
        filename: None,
    }
}

fn shell(code: &str) -> CodeBlock {
    CodeBlock {
        language: Language::Shell,
        code: code.to_string(),
        filename: None,
    }
}

async fn run(ws: &BwrapWorkspace, block: CodeBlock) -> ExecutionResult {
    ws.execute(&block, &CancellationToken::new()).await.unwrap()
}

fn host_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::metadata(dir.path()).unwrap().uid()
}

#[tokio::test]
async fn python_prints_real_output() {
    let sb = sandbox();
    let ws = sb.executor.open("t").await.unwrap();
    let result = run(
        &ws,
        python("import sys\nprint(6 * 7)\nprint('to stderr', file=sys.stderr)"),
    )
    .await;
    assert_eq!(result.stdout, "42\n");
    assert_eq!(result.stderr, "to stderr\n");
    assert_eq!(result.exit_code, 0);
    assert!(!result.killed && !result.timed_out && !result.truncated);
}

#[tokio::test]
async fn a_failing_program_reports_its_exit_code_and_traceback() {
    let sb = sandbox();
    let ws = sb.executor.open("t").await.unwrap();
    let result = run(&ws, python("raise SystemExit(3)")).await;
    assert_eq!(result.exit_code, 3);
    let result = run(&ws, python("1/0")).await;
    assert_eq!(result.exit_code, 1);
    assert!(
        result.stderr.contains("ZeroDivisionError"),
        "{}",
        result.stderr
    );
}

#[tokio::test]
async fn files_written_by_one_block_are_read_by_the_next() {
    let sb = sandbox();
    let ws = sb.executor.open("t").await.unwrap();
    let first = run(&ws, python("open('data.txt', 'w').write('carried over')")).await;
    assert_eq!(first.exit_code, 0, "{}", first.stderr);
    let second = run(&ws, python("print(open('data.txt').read())")).await;
    assert_eq!(second.stdout, "carried over\n", "{}", second.stderr);
    assert_eq!(
        std::fs::read_to_string(ws.path().join("data.txt")).unwrap(),
        "carried over"
    );
}

#[tokio::test]
async fn a_named_block_is_saved_under_its_file_name() {
    let sb = sandbox();
    let ws = sb.executor.open("t").await.unwrap();
    let block = CodeBlock {
        language: Language::Python,
        code: "print(__file__)".to_string(),
        filename: Some("pkg/app.py".to_string()),
    };
    let result = run(&ws, block).await;
    assert_eq!(
        result.stdout, "/workspace/pkg/app.py\n",
        "{}",
        result.stderr
    );
    let again = run(&ws, python("import runpy; runpy.run_path('pkg/app.py')")).await;
    assert_eq!(again.stdout, "pkg/app.py\n", "{}", again.stderr);
}

#[tokio::test]
async fn close_removes_the_workspace() {
    let sb = sandbox();
    let ws = sb.executor.open("t").await.unwrap();
    let path = ws.path().to_path_buf();
    run(&ws, python("open('left.txt', 'w').write('x')")).await;
    assert!(path.join("left.txt").is_file());
    let boxed: Box<dyn CodeWorkspace> = Box::new(ws);
    boxed.close().await.unwrap();
    assert!(!path.exists(), "{} still exists", path.display());
}

#[tokio::test]
async fn open_workspace_gives_each_run_its_own_directory() {
    let sb = sandbox();
    let a = sb.executor.open_workspace("same-run").await.unwrap();
    let b = sb.executor.open_workspace("same-run").await.unwrap();
    run_boxed(&*a, python("open('mine.txt', 'w').write('a')")).await;
    let seen = run_boxed(&*b, python("import os; print(os.path.exists('mine.txt'))")).await;
    assert_eq!(seen.stdout, "False\n", "{}", seen.stderr);
    a.close().await.unwrap();
    b.close().await.unwrap();
}

async fn run_boxed(ws: &dyn CodeWorkspace, block: CodeBlock) -> ExecutionResult {
    ws.execute(&block, &CancellationToken::new()).await.unwrap()
}

#[tokio::test]
async fn the_network_is_unreachable_even_on_loopback() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let sb = sandbox();
    let ws = sb.executor.open("t").await.unwrap();
    let code = format!(
        "import socket, sys\n\
         try:\n    socket.create_connection(('127.0.0.1', {port}), timeout=3)\n\
         except OSError as e:\n    print('blocked:', e)\n    sys.exit(2)\n\
         print('connected')\n"
    );
    let result = run(&ws, python(&code)).await;
    assert!(
        result.stdout.starts_with("blocked:"),
        "stdout: {} stderr: {}",
        result.stdout,
        result.stderr
    );
    assert_eq!(result.exit_code, 2);
    assert!(
        listener.accept().is_err(),
        "the listener received a connection from the sandbox"
    );

    let dns = run(
        &ws,
        python("import socket\nsocket.getaddrinfo('example.com', 80)"),
    )
    .await;
    assert_ne!(dns.exit_code, 0, "name resolution worked: {}", dns.stdout);
}

#[tokio::test]
async fn host_files_outside_the_workspace_cannot_be_read() {
    let secret = format!("secret-{}", std::process::id());
    // World-readable in a world-traversable directory, so only the mount namespace
    // stands between the sandbox and this file.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let in_tmp = tmp.path().join("secret.txt");
    std::fs::write(&in_tmp, &secret).unwrap();
    std::fs::set_permissions(&in_tmp, std::fs::Permissions::from_mode(0o644)).unwrap();

    let home = std::env::var("HOME").unwrap();
    let in_home = tempfile::Builder::new()
        .prefix(".cadre-sandbox-test")
        .tempfile_in(&home)
        .unwrap();
    std::fs::write(in_home.path(), &secret).unwrap();
    let mut paths = vec![in_tmp.clone(), in_home.path().to_path_buf()];
    let in_root = tempfile::Builder::new()
        .prefix(".cadre-sandbox-test")
        .tempfile_in("/root")
        .ok();
    if let Some(file) = &in_root {
        std::fs::write(file.path(), &secret).unwrap();
        paths.push(file.path().to_path_buf());
    }
    paths.push("/etc/shadow".into());
    paths.push("/etc/passwd".into());

    let sb = sandbox();
    let ws = sb.executor.open("t").await.unwrap();
    let list: Vec<String> = paths
        .iter()
        .map(|p| format!("{:?}", p.to_string_lossy()))
        .collect();
    let code = format!(
        "import os\n\
         for p in [{}]:\n    try:\n        print('READ', p, open(p).read())\n    except OSError as e:\n        print('denied', p, type(e).__name__)\n\
         print('ROOT', sorted(os.listdir('/')))\n\
         try:\n    open('/usr/cadre-test', 'w')\n    print('WROTE /usr')\nexcept OSError:\n    print('usr read-only')\n",
        list.join(", ")
    );
    let result = run(&ws, python(&code)).await;
    assert_eq!(result.exit_code, 0, "{}", result.stderr);
    assert!(!result.stdout.contains("READ"), "{}", result.stdout);
    assert!(!result.stdout.contains(&secret));
    assert_eq!(
        result.stdout.matches("denied").count(),
        paths.len(),
        "{}",
        result.stdout
    );
    assert!(result.stdout.contains("usr read-only"), "{}", result.stdout);
    let root_line = result
        .stdout
        .lines()
        .find(|l| l.starts_with("ROOT"))
        .unwrap();
    for private in [
        "'root'", "'home'", "'var'", "'work'", "'opt'", "'srv'", "'mnt'",
    ] {
        assert!(
            !root_line.contains(private),
            "{private} visible: {root_line}"
        );
    }
}

#[tokio::test]
async fn the_environment_holds_only_the_safe_minimum() {
    let sb = sandbox();
    let ws = sb.executor.open("t").await.unwrap();
    // Every environment readable inside: the code's own, and that of every process in
    // its /proc (bubblewrap's init, through which the launcher's environment would
    // otherwise leak).
    let code = "import os\n\
        envs = {'self': dict(os.environ)}\n\
        for pid in os.listdir('/proc'):\n    if pid.isdigit():\n        try:\n            raw = open(f'/proc/{pid}/environ', 'rb').read()\n        except OSError:\n            continue\n        envs[pid] = dict(kv.decode().split('=', 1) for kv in raw.split(b'\\0') if b'=' in kv)\n\
        for pid, env in envs.items():\n    print(pid, repr(None))\n    for k, v in env.items():\n        print(pid, repr(k), repr(v))\n";
    let result = run(&ws, python(code)).await;
    assert_eq!(result.exit_code, 0, "{}", result.stderr);
    // One line per process (`pid None`) and per variable (`pid 'KEY' 'VALUE'`).
    let mut envs: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for line in result.stdout.lines() {
        let mut parts = line.splitn(3, ' ');
        let (pid, key, value) = (parts.next().unwrap(), parts.next().unwrap(), parts.next());
        let env = envs.entry(pid.to_string()).or_default();
        if let Some(value) = value {
            env.insert(
                key.trim_matches('\'').to_string(),
                value.trim_matches('\'').to_string(),
            );
        }
    }
    assert!(
        envs.len() >= 2,
        "expected to read other processes' environ too: {envs:?}"
    );
    let host: BTreeMap<String, String> = std::env::vars().collect();
    assert!(
        host.keys().any(|k| k.starts_with("CARGO")),
        "cargo sets CARGO_* for tests"
    );
    for (pid, env) in &envs {
        for (key, value) in env {
            assert!(
                ALLOWED_ENV.contains(&key.as_str()),
                "{key} visible in {pid}: {env:?}"
            );
            if key == "PATH" {
                assert_eq!(value, "/usr/local/bin:/usr/bin:/bin");
            }
        }
    }
    let own = &envs["self"];
    assert_eq!(own.get("HOME").map(String::as_str), Some("/workspace"));
    assert_eq!(own.get("LANG").map(String::as_str), Some("C.UTF-8"));
    assert_eq!(own.get("TMPDIR").map(String::as_str), Some("/tmp"));
}

#[tokio::test]
async fn a_timeout_kills_the_program_and_its_detached_grandchildren() {
    let sb = sandbox_with(ExecutionLimits {
        wall_time: Duration::from_secs(2),
        ..ExecutionLimits::default()
    });
    let ws = sb.executor.open("t").await.unwrap();
    // The grandchild leaves the process group and session (setsid) so that only the
    // sandbox's PID namespace can take it down.
    let code = "setsid sh -c 'while :; do echo x >> marker; sleep 0.05; done' >/dev/null 2>&1 &\n\
                echo started\nsleep 100\n";
    let started = Instant::now();
    let result = run(&ws, shell(code)).await;
    let elapsed = started.elapsed();
    assert!(result.timed_out && result.killed, "{result:?}");
    assert_eq!(result.exit_code, cadre_sandbox::TIMEOUT_EXIT_CODE);
    assert_eq!(result.stdout, "started\n");
    assert!(
        result.stderr.contains("Timeout: execution exceeded 2 s"),
        "{}",
        result.stderr
    );
    assert!(elapsed < Duration::from_secs(4), "took {elapsed:?}");

    let marker = ws.path().join("marker");
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let before = size(&marker);
    assert!(before > 0, "the grandchild never ran");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        size(&marker),
        before,
        "the grandchild is still writing after the timeout"
    );
}

#[tokio::test]
async fn the_sandbox_ends_with_its_main_program() {
    let sb = sandbox();
    let ws = sb.executor.open("t").await.unwrap();
    let started = Instant::now();
    let result = run(
        &ws,
        shell("(while :; do echo x >> marker; sleep 0.05; done) &\nsleep 0.3\necho done\n"),
    )
    .await;
    assert_eq!(result.stdout, "done\n");
    assert!(started.elapsed() < Duration::from_secs(3));
    let before = std::fs::metadata(ws.path().join("marker")).unwrap().len();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        std::fs::metadata(ws.path().join("marker")).unwrap().len(),
        before
    );
}

#[tokio::test]
async fn output_beyond_the_cap_is_truncated() {
    let sb = sandbox_with(ExecutionLimits {
        max_output_bytes: 1000,
        ..ExecutionLimits::default()
    });
    let ws = sb.executor.open("t").await.unwrap();
    let result = run(
        &ws,
        python("import sys\nprint('y' * 200000)\nprint('tail', file=sys.stderr)"),
    )
    .await;
    assert!(result.truncated);
    assert_eq!(result.exit_code, 0);
    assert!(result.stdout.starts_with(&"y".repeat(1000)));
    assert!(
        result.stdout.len() < 1100,
        "{} bytes kept",
        result.stdout.len()
    );
    assert!(
        result
            .stdout
            .contains("[output truncated: 199001 more bytes not shown]"),
        "{}",
        &result.stdout[1000..]
    );
    assert_eq!(result.stderr, "tail\n");
}

#[tokio::test]
async fn allocating_a_gibibyte_fails_under_the_memory_limit() {
    let sb = sandbox();
    let ws = sb.executor.open("t").await.unwrap();
    let result = run(
        &ws,
        python("b = bytearray(1024 ** 3)\nprint('allocated', len(b))"),
    )
    .await;
    assert_ne!(result.exit_code, 0);
    assert!(!result.stdout.contains("allocated"), "{}", result.stdout);
    assert!(result.stderr.contains("MemoryError"), "{}", result.stderr);
    let small = run(
        &ws,
        python("b = bytearray(64 * 1024 ** 2)\nprint('allocated', len(b))"),
    )
    .await;
    assert_eq!(small.stdout, "allocated 67108864\n", "{}", small.stderr);
}

#[tokio::test]
async fn an_unsupported_language_is_refused() {
    let sb = sandbox();
    let ws = sb.executor.open("t").await.unwrap();
    let block = CodeBlock {
        language: Language::Other("ruby".into()),
        code: "puts 1".into(),
        filename: None,
    };
    let err = ws
        .execute(&block, &CancellationToken::new())
        .await
        .unwrap_err();
    assert_eq!(err, ExecError::UnsupportedLanguage("ruby".into()));
}

#[tokio::test]
async fn cancellation_kills_the_program_within_a_second() {
    let sb = sandbox();
    let ws = sb.executor.open("t").await.unwrap();
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    let cancelled_at = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        trigger.cancel();
        Instant::now()
    });
    let result = ws
        .execute(
            &python("import time\nprint('sleeping')\ntime.sleep(100)"),
            &cancel,
        )
        .await
        .unwrap();
    let returned_at = Instant::now();
    let cancelled_at = cancelled_at.await.unwrap();
    assert!(returned_at.duration_since(cancelled_at) < Duration::from_secs(1));
    assert!(result.killed && !result.timed_out, "{result:?}");
    assert_eq!(result.exit_code, cadre_sandbox::CANCELLED_EXIT_CODE);
    assert_eq!(result.stdout, "sleeping\n");
}

#[tokio::test]
async fn code_runs_as_an_unprivileged_uid() {
    let sb = sandbox();
    let ws = sb.executor.open("t").await.unwrap();
    let result = run(
        &ws,
        python("import os\nprint(os.getuid(), os.geteuid(), os.getgid(), os.getgroups())"),
    )
    .await;
    assert_eq!(result.exit_code, 0, "{}", result.stderr);
    let uid = host_uid();
    let expected = match ws.uid() {
        Some(run_uid) => {
            let range = cadre_sandbox::UidRange::default();
            assert!(
                (range.first..range.first + range.count).contains(&run_uid),
                "{run_uid}"
            );
            format!("{run_uid} {run_uid} {run_uid} []\n")
        }
        None => format!("{uid} {uid}"),
    };
    assert_eq!(
        uid == 0,
        ws.uid().is_some(),
        "a root server leases a uid per run"
    );
    assert!(
        result.stdout.starts_with(&expected),
        "{} (host uid {uid})",
        result.stdout
    );
    // Root-equivalent capabilities would let code undo the sandbox.
    let caps = run(&ws, shell("grep CapEff /proc/self/status")).await;
    assert_eq!(caps.stdout.trim(), "CapEff:\t0000000000000000");
}

#[tokio::test]
async fn a_shell_block_runs() {
    let sb = sandbox();
    let ws = sb.executor.open("t").await.unwrap();
    let result = run(
        &ws,
        shell("echo hi | awk '{print toupper($1)}'\npwd\necho \"$HOME\" > home.txt\ncat home.txt"),
    )
    .await;
    assert_eq!(
        result.stdout, "HI\n/workspace\n/workspace\n",
        "{}",
        result.stderr
    );
    assert_eq!(result.exit_code, 0);
}

#[tokio::test]
async fn info_lists_what_is_enforced() {
    let sb = sandbox();
    let info = sb.executor.info();
    assert_eq!(info.backend, "bwrap");
    let all = info.enforced.join("\n");
    for expected in [
        "network: none",
        "memory: RLIMIT_AS 512 MiB",
        "processes: RLIMIT_NPROC 64",
        "wall time: 30 s",
        "workspace: 256 MiB disk quota",
    ] {
        assert!(all.contains(expected), "missing {expected:?} in\n{all}");
    }
    if host_uid() == 0 {
        assert!(all.contains("uid: one per run"), "{all}");
    }
    assert!(all.contains("seccomp: "), "{all}");
    assert!(all.contains("landlock: "), "{all}");
    assert!(
        !all.contains("landlock: not applied (the init program"),
        "the test init starts in the sandbox:\n{all}"
    );
    assert!(
        all.contains("for the whole execution") || all.contains("cgroups: not in force"),
        "the report says whether cgroups are in force:\n{all}"
    );
}

const MIB: u64 = 1024 * 1024;

fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// Writes a 1 MiB file every 20 ms, printing each index: 150 MiB over about 3 s unless
/// something stops it.
const FILL_LOOP: &str = "import time\n\
    for i in range(150):\n    open(f'f{i}', 'wb').write(b'x' * 2**20)\n    print(i, flush=True)\n    time.sleep(0.02)\n\
    print('finished')\n";

#[tokio::test]
async fn a_block_filling_the_workspace_is_killed_and_the_workspace_emptied() {
    let sb = sandbox_with_quota(
        ExecutionLimits {
            wall_time: Duration::from_secs(10),
            ..ExecutionLimits::default()
        },
        8 * MIB,
    );
    let ws = sb.executor.open("t").await.unwrap();
    let started = Instant::now();
    let result = run(&ws, python(FILL_LOOP)).await;
    let elapsed = started.elapsed();
    assert_eq!(
        result.exit_code,
        cadre_sandbox::QUOTA_EXIT_CODE,
        "{result:?}"
    );
    assert!(result.killed && !result.timed_out, "{result:?}");
    assert!(!result.stdout.contains("finished"), "{}", result.stdout);
    let written: u32 = result.stdout.lines().count().try_into().unwrap();
    assert!(
        written >= 8,
        "stopped before the quota was reached: {result:?}"
    );
    assert!(
        result
            .stderr
            .contains("Disk quota exceeded: the workspace holds more than 8 MiB (about "),
        "{}",
        result.stderr
    );
    assert!(
        result.stderr.contains("execution stopped"),
        "{}",
        result.stderr
    );
    assert!(
        result.stderr.contains("The workspace was emptied"),
        "{}",
        result.stderr
    );
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    assert!(ws.path().is_dir());
    assert_eq!(entries(ws.path()), Vec::<String>::new());

    let next = run(
        &ws,
        python("open('a.txt', 'w').write('still usable')\nprint(open('a.txt').read())"),
    )
    .await;
    assert_eq!(next.exit_code, 0, "{}", next.stderr);
    assert_eq!(next.stdout, "still usable\n");
    assert!(ws.path().join("a.txt").is_file());
}

#[tokio::test]
async fn a_block_writing_below_the_quota_is_unaffected() {
    let sb = sandbox_with_quota(ExecutionLimits::default(), 8 * MIB);
    let ws = sb.executor.open("t").await.unwrap();
    // Longer than several check intervals, ending at 5 MiB.
    let code = "import time\n\
        for i in range(5):\n    open(f'f{i}', 'wb').write(b'x' * 2**20)\n    time.sleep(0.1)\n\
        print('done')\n";
    let result = run(&ws, python(code)).await;
    assert_eq!(result.exit_code, 0, "{result:?}");
    assert_eq!(result.stdout, "done\n");
    assert!(!result.killed, "{result:?}");
    assert!(result.stderr.is_empty(), "{}", result.stderr);
    assert_eq!(
        entries(ws.path()).len(),
        6,
        "5 data files and the code file"
    );
}

#[tokio::test]
async fn a_quick_burst_over_the_quota_is_caught_when_the_block_ends() {
    let sb = sandbox_with_quota(ExecutionLimits::default(), 8 * MIB);
    let ws = sb.executor.open("t").await.unwrap();
    // Likely done before the first watchdog check; caught either way.
    let result = run(
        &ws,
        python("for i in range(12):\n    open(f'f{i}', 'wb').write(b'x' * 2**20)\n"),
    )
    .await;
    assert_eq!(
        result.exit_code,
        cadre_sandbox::QUOTA_EXIT_CODE,
        "{result:?}"
    );
    assert!(
        result.stderr.contains("Disk quota exceeded") && result.stderr.contains("emptied"),
        "{}",
        result.stderr
    );
    assert_eq!(entries(ws.path()), Vec::<String>::new());
}

#[tokio::test]
async fn an_already_full_workspace_is_refused_then_usable_again() {
    let sb = sandbox_with_quota(ExecutionLimits::default(), 8 * MIB);
    let ws = sb.executor.open("t").await.unwrap();
    // As if left by a writer that escaped the checks.
    std::fs::write(ws.path().join("left"), vec![1u8; 10 * MIB as usize]).unwrap();
    let refused = run(&ws, python("open('ran', 'w').write('x')\nprint('ran')")).await;
    assert_eq!(
        refused.exit_code,
        cadre_sandbox::QUOTA_EXIT_CODE,
        "{refused:?}"
    );
    assert_eq!(refused.stdout, "");
    assert!(!refused.killed);
    assert!(
        refused.stderr.starts_with(
            "Disk quota exceeded: the workspace holds more than 8 MiB (about 10.0 MiB used) \
             before this code block started, so it was not run."
        ),
        "{}",
        refused.stderr
    );
    assert_eq!(entries(ws.path()), Vec::<String>::new());

    let next = run(&ws, python("print('ran')")).await;
    assert_eq!(next.exit_code, 0, "{}", next.stderr);
    assert_eq!(next.stdout, "ran\n");
}

#[tokio::test]
async fn pip_install_fails_at_once_with_a_message_agents_can_act_on() {
    let sb = sandbox();
    let ws = sb.executor.open("t").await.unwrap();
    // A package Debian does not ship, so no host has it system-wide (`requests` came
    // with Debian's docker-compose, and pip then had nothing to install).
    for block in [
        shell("python3 -m pip install --break-system-packages polars"),
        python("import polars"),
    ] {
        let result = run(&ws, block).await;
        assert_ne!(result.exit_code, 0, "{result:?}");
        assert!(
            result
                .stderr
                .contains("runs without network access, so packages cannot be installed"),
            "{}",
            result.stderr
        );
        // No retries against an unreachable index.
        assert!(result.duration_ms < 10_000, "{result:?}");
    }
}

#[tokio::test]
async fn processes_together_over_the_memory_limit_are_stopped_by_the_cgroup() {
    let sb = sandbox();
    if !sb
        .executor
        .info()
        .enforced
        .iter()
        .any(|l| l.contains("for the whole execution"))
    {
        // No writable cgroup here (the limits report says so and why): each process
        // alone stays under RLIMIT_AS, and nothing caps them together. On the project's
        // machine kind (root, cgroup v1 hybrid) this test runs.
        #[allow(clippy::print_stderr)]
        {
            eprintln!("SKIPPED (cgroups not in force on this host)");
        }
        return;
    }
    let ws = sb.executor.open("t").await.unwrap();
    // Four processes of 200 MiB each: every one under the 512 MiB RLIMIT_AS, together
    // over the execution's 512 MiB.
    let result = run(
        &ws,
        python(
            "import os, time\n\
             for _ in range(3):\n    if os.fork() == 0:\n        break\n\
             block = bytearray(200 * 2**20)\n\
             block[::4096] = b'x' * len(range(0, 200 * 2**20, 4096))\n\
             time.sleep(2)\nprint('survived', flush=True)\n",
        ),
    )
    .await;
    assert!(result.killed, "{result:?}");
    assert!(
        result
            .stderr
            .contains("Memory limit: the execution used more than 512 MiB"),
        "{}",
        result.stderr
    );
    // The cgroup is entered before the code starts: its limit held for every process.
    assert!(result.stdout.matches("survived").count() < 4, "{result:?}");
}
