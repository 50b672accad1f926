//! The docker backend, end to end: a real engine (see `cadre_sandbox::test_engine`: one
//! started for this test binary, or `CADRE_TEST_DOCKER_HOST`), the `--from host` image
//! built in it, real python and shell. Without an engine each test prints why and skips;
//! with `CADRE_REQUIRE_DOCKER=1` (`make test`) it fails instead.

#![allow(clippy::unwrap_used, clippy::panic, clippy::print_stderr)] // test helpers fail fast

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{
    CreateContainerOptions, ListContainersOptions, RemoveContainerOptions,
};
use cadre_core::executor::{
    CodeBlock, CodeExecutor, CodeWorkspace, ExecutionLimits, ExecutionResult, Language,
};
use cadre_sandbox::executors::docker::{LABEL_OWNER, LABEL_RUN, LABEL_SANDBOX};
use cadre_sandbox::test_engine::{self, TestEngine};
use cadre_sandbox::{
    CANCELLED_EXIT_CODE, ContainerPer, DockerExecutor, DockerWorkspace, QUOTA_EXIT_CODE,
    SandboxConfig, TIMEOUT_EXIT_CODE,
};
use tokio_util::sync::CancellationToken;

struct Sandbox {
    _root: tempfile::TempDir,
    executor: DockerExecutor,
    docker: Docker,
}

async fn sandbox_with(
    engine: &TestEngine,
    limits: ExecutionLimits,
    container_per: ContainerPer,
    workspace_quota_bytes: u64,
) -> Sandbox {
    let root = tempfile::tempdir().unwrap();
    // The sandbox uid (nobody, when tests run as root) must reach its workspace.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    let config = SandboxConfig {
        limits,
        base_dir: root.path().join("workspaces"),
        workspace_quota_bytes,
        docker: cadre_sandbox::DockerConfig {
            container_per,
            ..engine.config()
        },
        ..SandboxConfig::default()
    };
    let executor = DockerExecutor::new(config)
        .await
        .unwrap_or_else(|error| panic!("docker backend on {}: {error}", engine.description));
    Sandbox {
        _root: root,
        executor,
        docker: client(engine).await,
    }
}

async fn sandbox(engine: &TestEngine) -> Sandbox {
    sandbox_with(
        engine,
        ExecutionLimits::default(),
        ContainerPer::Execution,
        SandboxConfig::default().workspace_quota_bytes,
    )
    .await
}

async fn client(engine: &TestEngine) -> Docker {
    Docker::connect_with_unix(&engine.host, 120, bollard::API_DEFAULT_VERSION)
        .unwrap()
        .negotiate_version()
        .await
        .unwrap()
}

fn limits(wall_secs: u64) -> ExecutionLimits {
    ExecutionLimits {
        wall_time: Duration::from_secs(wall_secs),
        ..ExecutionLimits::default()
    }
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

async fn run(ws: &DockerWorkspace, block: CodeBlock) -> ExecutionResult {
    ws.execute(&block, &CancellationToken::new()).await.unwrap()
}

/// Containers (running or not) carrying `label=value`.
async fn containers_labelled(docker: &Docker, label: &str, value: &str) -> Vec<String> {
    let filters = HashMap::from([("label".to_string(), vec![format!("{label}={value}")])]);
    docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(filters),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_iter()
        .filter_map(|c| c.id)
        .collect()
}

fn run_id(name: &str) -> String {
    format!("{name}-{}", uuid::Uuid::new_v4().simple())
}

#[tokio::test]
async fn python_and_shell_report_output_and_exit_codes() {
    let Some(engine) = test_engine::for_test() else {
        return;
    };
    let sb = sandbox(engine).await;
    let backend = sb.executor.info().backend;
    assert!(backend == "docker" || backend == "podman", "{backend}");
    let ws = sb.executor.open(&run_id("output")).await.unwrap();
    let result = run(
        &ws,
        python("import sys\nprint(6 * 7)\nprint('to stderr', file=sys.stderr)"),
    )
    .await;
    assert_eq!(result.stdout, "42\n", "{result:?}");
    assert_eq!(result.stderr, "to stderr\n");
    assert_eq!(result.exit_code, 0);
    assert!(!result.killed && !result.timed_out && !result.truncated);

    let failed = run(&ws, python("1/0")).await;
    assert_eq!(failed.exit_code, 1);
    assert!(failed.stderr.contains("ZeroDivisionError"), "{failed:?}");

    let sh = run(&ws, shell("echo \"in $PWD\"; echo oops >&2; exit 4")).await;
    assert_eq!(sh.stdout, "in /workspace\n", "{sh:?}");
    assert_eq!(sh.stderr, "oops\n");
    assert_eq!(sh.exit_code, 4);
    Box::new(ws).close().await.unwrap();
}

#[tokio::test]
async fn code_sees_only_the_minimal_environment_as_a_non_root_uid_without_capabilities() {
    let Some(engine) = test_engine::for_test() else {
        return;
    };
    let sb = sandbox(engine).await;
    let ws = sb.executor.open(&run_id("whoami")).await.unwrap();
    let result = run(
        &ws,
        python(
            "import os\n\
             print(os.getuid(), os.getgid())\n\
             status = dict(l.split(':\\t', 1) for l in open('/proc/self/status').read().splitlines() if ':\\t' in l)\n\
             print(status['CapEff'].strip(), status['NoNewPrivs'].strip())\n\
             print(sorted(os.environ))",
        ),
    )
    .await;
    let lines: Vec<&str> = result.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{result:?}");
    let uid: u32 = lines[0].split(' ').next().unwrap().parse().unwrap();
    assert_ne!(uid, 0, "code must not run as root");
    assert_eq!(
        lines[1], "0000000000000000 1",
        "capabilities and no-new-privileges"
    );
    let allowed = [
        "PATH",
        "HOME",
        "LANG",
        "PYTHONUNBUFFERED",
        "PYTHONDONTWRITEBYTECODE",
        "MPLBACKEND",
        "TMPDIR",
        "PIP_NO_INDEX",
        "PIP_DISABLE_PIP_VERSION_CHECK",
        // Set by the engine itself (Podman adds TERM and `container`).
        "HOSTNAME",
        "container",
        "TERM",
    ];
    let names: Vec<String> = lines[2]
        .trim_matches(|c| c == '[' || c == ']')
        .split(", ")
        .map(|n| n.trim_matches('\'').to_string())
        .collect();
    for name in &names {
        assert!(
            allowed.contains(&name.as_str()),
            "unexpected variable {name}"
        );
    }
    Box::new(ws).close().await.unwrap();
}

#[tokio::test]
async fn files_persist_between_executions_of_a_run_and_are_gone_after_close() {
    let Some(engine) = test_engine::for_test() else {
        return;
    };
    let sb = sandbox(engine).await;
    let run = run_id("files");
    let ws = sb.executor.open(&run).await.unwrap();
    let first = self::run(&ws, python("open('data.txt', 'w').write('carried over')")).await;
    assert_eq!(first.exit_code, 0, "{first:?}");
    let second = self::run(&ws, shell("cat data.txt")).await;
    assert_eq!(second.stdout, "carried over", "{second:?}");
    let path = ws.path().to_path_buf();
    assert_eq!(
        std::fs::read_to_string(path.join("data.txt")).unwrap(),
        "carried over"
    );
    // What the engine lists as the run's artifacts, read back through the workspace.
    let listed: Vec<String> = ws
        .list_files()
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.path)
        .collect();
    assert_eq!(listed, vec!["data.txt".to_string()]);
    assert_eq!(
        ws.read_file("data.txt", 1024).await.unwrap(),
        b"carried over"
    );
    assert!(
        containers_labelled(&sb.docker, LABEL_RUN, &run)
            .await
            .is_empty(),
        "a container per execution is removed after it"
    );
    Box::new(ws).close().await.unwrap();
    assert!(!path.exists());
}

#[tokio::test]
async fn the_image_root_is_read_only_and_tmp_is_a_bounded_tmpfs() {
    let Some(engine) = test_engine::for_test() else {
        return;
    };
    let sb = sandbox_with(
        engine,
        ExecutionLimits {
            max_file_bytes: 8 * 1024 * 1024,
            ..ExecutionLimits::default()
        },
        ContainerPer::Execution,
        SandboxConfig::default().workspace_quota_bytes,
    )
    .await;
    let ws = sb.executor.open(&run_id("rofs")).await.unwrap();
    let result = run(
        &ws,
        python(
            "import os\n\
             for path in ['/usr/evil', '/etc/evil', '/evil']:\n    \
                 try:\n        open(path, 'w').write('x')\n        print('wrote', path)\n    \
                 except OSError as error:\n        print('refused', path, error.strerror)\n\
             written = 0\n\
             try:\n    \
                 for i in range(10):\n        \
                     with open(f'/tmp/f{i}', 'wb') as f:\n            f.write(b'x' * 2 * 1024 * 1024)\n        \
                     written += 2\n\
             except OSError as error:\n    print('tmp full after', written, 'MiB:', error.strerror)\n",
        ),
    )
    .await;
    assert!(!result.stdout.contains("wrote"), "{result:?}");
    assert_eq!(
        result.stdout.matches("Read-only file system").count(),
        3,
        "{result:?}"
    );
    assert!(
        result.stdout.contains("tmp full after 6 MiB")
            || result.stdout.contains("tmp full after 8 MiB"),
        "{result:?}"
    );
    Box::new(ws).close().await.unwrap();
}

#[tokio::test]
async fn there_is_no_network_not_even_to_the_hosts_loopback() {
    let Some(engine) = test_engine::for_test() else {
        return;
    };
    let sb = sandbox(engine).await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let ws = sb.executor.open(&run_id("net")).await.unwrap();
    let result = run(
        &ws,
        python(&format!(
            "import os, socket\n\
             print(sorted(os.listdir('/sys/class/net')))\n\
             try:\n    s = socket.socket()\n    s.settimeout(2)\n    s.connect(('127.0.0.1', {port}))\n    print('connected')\n\
             except OSError as error:\n    print('refused', error)\n"
        )),
    )
    .await;
    drop(listener);
    assert!(result.stdout.starts_with("['lo']\n"), "{result:?}");
    assert!(!result.stdout.contains("connected"), "{result:?}");
    assert!(result.stdout.contains("refused"), "{result:?}");
    Box::new(ws).close().await.unwrap();
}

#[tokio::test]
async fn a_timeout_kills_the_container_itself_promptly() {
    let Some(engine) = test_engine::for_test() else {
        return;
    };
    let sb = sandbox_with(
        engine,
        limits(2),
        ContainerPer::Execution,
        SandboxConfig::default().workspace_quota_bytes,
    )
    .await;
    let run = run_id("timeout");
    let ws = sb.executor.open(&run).await.unwrap();
    let started = Instant::now();
    // A detached child would outlive a client-side timeout and write the file.
    let result = self::run(
        &ws,
        shell("(sleep 3; echo late > /workspace/late) &\necho started\nsleep 60"),
    )
    .await;
    let elapsed = started.elapsed();
    assert_eq!(result.exit_code, TIMEOUT_EXIT_CODE, "{result:?}");
    assert!(result.timed_out && result.killed, "{result:?}");
    assert_eq!(result.stdout, "started\n");
    assert!(
        result.stderr.contains("Timeout: execution exceeded 2 s"),
        "{result:?}"
    );
    assert!(
        elapsed < Duration::from_secs(6),
        "stopped after {elapsed:?}"
    );
    assert!(
        containers_labelled(&sb.docker, LABEL_RUN, &run)
            .await
            .is_empty(),
        "the timed-out container must be gone"
    );
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert!(
        !ws.path().join("late").exists(),
        "a process of the container survived the timeout"
    );
    Box::new(ws).close().await.unwrap();
}

#[tokio::test]
async fn cancellation_kills_the_container_promptly() {
    let Some(engine) = test_engine::for_test() else {
        return;
    };
    let sb = sandbox(engine).await;
    let run = run_id("cancel");
    let ws = sb.executor.open(&run).await.unwrap();
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(800)).await;
        trigger.cancel();
    });
    let started = Instant::now();
    let result = ws
        .execute(&python("import time\ntime.sleep(60)"), &cancel)
        .await
        .unwrap();
    assert_eq!(result.exit_code, CANCELLED_EXIT_CODE, "{result:?}");
    assert!(result.killed && !result.timed_out);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        containers_labelled(&sb.docker, LABEL_RUN, &run)
            .await
            .is_empty()
    );
    Box::new(ws).close().await.unwrap();
}

#[tokio::test]
async fn the_memory_limit_kills_and_says_out_of_memory() {
    let Some(engine) = test_engine::for_test() else {
        return;
    };
    let sb = sandbox_with(
        engine,
        ExecutionLimits {
            memory_bytes: 64 * 1024 * 1024,
            ..ExecutionLimits::default()
        },
        ContainerPer::Execution,
        SandboxConfig::default().workspace_quota_bytes,
    )
    .await;
    let enforced = sb.executor.info().enforced;
    let memory = enforced.iter().find(|l| l.starts_with("memory:")).unwrap();
    let ws = sb.executor.open(&run_id("oom")).await.unwrap();
    let result = run(
        &ws,
        python("data = b'x' * (400 * 1024 * 1024)\nprint('allocated', len(data))"),
    )
    .await;
    assert!(!result.stdout.contains("allocated"), "{result:?}");
    if memory.contains("cgroup") {
        assert_eq!(result.exit_code, 137, "{result:?}");
        assert!(result.killed, "{result:?}");
        // dockerd reports the OOM kill; Podman on cgroup v1 does not, and the note says
        // what is likely.
        assert!(
            result
                .stderr
                .contains("Out of memory: the execution exceeded its 64 MiB memory limit")
                || result
                    .stderr
                    .contains("probably out of memory (the memory limit is 64 MiB)"),
            "{result:?}"
        );
    } else {
        assert!(result.stderr.contains("MemoryError"), "{result:?}");
    }
    Box::new(ws).close().await.unwrap();
}

#[tokio::test]
async fn the_process_limit_holds_against_a_fork_bomb() {
    let Some(engine) = test_engine::for_test() else {
        return;
    };
    let sb = sandbox_with(
        engine,
        ExecutionLimits {
            max_processes: 24,
            wall_time: Duration::from_secs(20),
            ..ExecutionLimits::default()
        },
        ContainerPer::Execution,
        SandboxConfig::default().workspace_quota_bytes,
    )
    .await;
    let ws = sb.executor.open(&run_id("forks")).await.unwrap();
    let started = Instant::now();
    let result = run(
        &ws,
        python(
            "import os, time\n\
             n = 0\n\
             try:\n    \
                 for _ in range(500):\n        \
                     if os.fork() == 0:\n            time.sleep(60)\n            os._exit(0)\n        \
                     n += 1\n\
             except OSError as error:\n    print('blocked after', n, error.strerror)\n",
        ),
    )
    .await;
    let line = result
        .stdout
        .lines()
        .find(|l| l.starts_with("blocked after"))
        .unwrap_or_else(|| panic!("{result:?}"));
    let forked: u32 = line.split(' ').nth(2).unwrap().parse().unwrap();
    assert!(forked < 24, "{line}");
    // The sleeping children die with the container when the main process exits.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(!result.timed_out, "{result:?}");
    Box::new(ws).close().await.unwrap();
}

#[tokio::test]
async fn output_past_the_cap_is_truncated_and_marked() {
    let Some(engine) = test_engine::for_test() else {
        return;
    };
    let sb = sandbox_with(
        engine,
        ExecutionLimits {
            max_output_bytes: 1000,
            ..ExecutionLimits::default()
        },
        ContainerPer::Execution,
        SandboxConfig::default().workspace_quota_bytes,
    )
    .await;
    let ws = sb.executor.open(&run_id("cap")).await.unwrap();
    let result = run(&ws, python("print('x' * 1_000_000)\nprint('end')")).await;
    assert!(result.truncated, "{result:?}");
    assert_eq!(result.exit_code, 0);
    assert!(result.stdout.starts_with(&"x".repeat(1000)));
    assert!(
        result
            .stdout
            .contains("[output truncated: 999005 more bytes not shown]"),
        "{}",
        &result.stdout[1000..]
    );
    Box::new(ws).close().await.unwrap();
}

#[tokio::test]
async fn the_workspace_quota_stops_a_disk_filler_and_empties_the_workspace() {
    let Some(engine) = test_engine::for_test() else {
        return;
    };
    let sb = sandbox_with(engine, limits(20), ContainerPer::Execution, 4 * 1024 * 1024).await;
    let ws = sb.executor.open(&run_id("quota")).await.unwrap();
    let result = run(
        &ws,
        python(
            "import time\n\
             for i in range(200):\n    \
                 open(f'f{i}', 'wb').write(b'x' * 1024 * 1024)\n    time.sleep(0.02)\n\
             print('finished')",
        ),
    )
    .await;
    assert_eq!(result.exit_code, QUOTA_EXIT_CODE, "{result:?}");
    assert!(!result.stdout.contains("finished"));
    assert!(result.stderr.contains("Disk quota exceeded"), "{result:?}");
    assert_eq!(std::fs::read_dir(ws.path()).unwrap().count(), 0);
    Box::new(ws).close().await.unwrap();
}

#[tokio::test]
async fn two_runs_cannot_see_each_others_workspace() {
    let Some(engine) = test_engine::for_test() else {
        return;
    };
    let sb = sandbox(engine).await;
    let a = sb.executor.open(&run_id("a")).await.unwrap();
    let b = sb.executor.open(&run_id("b")).await.unwrap();
    let wrote = run(&a, shell("echo secret > secret-of-a.txt")).await;
    assert_eq!(wrote.exit_code, 0, "{wrote:?}");
    let host_path = a.path().join("secret-of-a.txt");
    let looked = run(
        &b,
        python(&format!(
            "import os\nprint(os.listdir('/workspace'))\n\
             print(os.path.exists({:?}))\n\
             found = [os.path.join(d, f) for d, _, fs in os.walk('/') if not d.startswith('/proc') for f in fs if f == 'secret-of-a.txt']\n\
             print(found)",
            host_path.display().to_string()
        )),
    )
    .await;
    let lines: Vec<&str> = looked.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{looked:?}");
    assert!(!lines[0].contains("secret-of-a"), "{looked:?}");
    assert_eq!(lines[1], "False", "{looked:?}");
    assert_eq!(lines[2], "[]", "{looked:?}");
    Box::new(a).close().await.unwrap();
    Box::new(b).close().await.unwrap();
}

#[tokio::test]
async fn the_reaper_removes_containers_of_dead_processes_only() {
    let Some(engine) = test_engine::for_test() else {
        return;
    };
    let docker = client(engine).await;
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    let boot: String = boot.trim().chars().take(8).collect();
    // pid_max is at most 4194304, so this pid never belongs to a live process.
    let dead = format!("{}/{boot}/4194305/1", hostname.trim());
    let elsewhere = format!("another-host/{boot}/4194305/1");
    let live = sandbox(engine).await.executor.owner_label();
    let mut ids = HashMap::new();
    for (what, owner) in [("dead", &dead), ("elsewhere", &elsewhere), ("live", &live)] {
        let run = run_id(what);
        let created = docker
            .create_container(
                Some(CreateContainerOptions {
                    name: Some(format!("cadre-reaper-test-{run}")),
                    ..Default::default()
                }),
                ContainerCreateBody {
                    image: Some(engine.image.clone()),
                    cmd: Some(vec!["sleep".into(), "infinity".into()]),
                    labels: Some(HashMap::from([
                        (LABEL_SANDBOX.to_string(), "1".to_string()),
                        (LABEL_RUN.to_string(), run.clone()),
                        (LABEL_OWNER.to_string(), owner.clone()),
                    ])),
                    host_config: Some(bollard::models::HostConfig {
                        network_mode: Some("none".into()),
                        // Below any engine's own limits (rootful Podman otherwise asks for
                        // more than its service may have).
                        ulimits: Some(
                            ["nofile", "nproc"]
                                .map(|name| bollard::models::ResourcesUlimits {
                                    name: Some(name.into()),
                                    soft: Some(256),
                                    hard: Some(256),
                                })
                                .to_vec(),
                        ),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        docker.start_container(&created.id, None).await.unwrap();
        ids.insert(what, run);
    }
    // A new executor reaps at start-up.
    let _fresh = sandbox(engine).await;
    assert!(
        containers_labelled(&docker, LABEL_RUN, &ids["dead"])
            .await
            .is_empty(),
        "the dead process's container was not reaped"
    );
    for kept in ["elsewhere", "live"] {
        let left = containers_labelled(&docker, LABEL_RUN, &ids[kept]).await;
        assert_eq!(left.len(), 1, "{kept}: {left:?}");
        docker
            .remove_container(
                &left[0],
                Some(RemoveContainerOptions {
                    force: true,
                    ..Default::default()
                }),
            )
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn one_container_per_run_keeps_state_and_is_replaced_after_a_timeout() {
    let Some(engine) = test_engine::for_test() else {
        return;
    };
    let sb = sandbox_with(
        engine,
        limits(2),
        ContainerPer::Run,
        SandboxConfig::default().workspace_quota_bytes,
    )
    .await;
    let run = run_id("per-run");
    let ws = sb.executor.open(&run).await.unwrap();
    let first = self::run(&ws, shell("echo kept > /tmp/marker; echo one")).await;
    assert_eq!(first.stdout, "one\n", "{first:?}");
    let second = self::run(&ws, python("print(open('/tmp/marker').read().strip())")).await;
    assert_eq!(second.stdout, "kept\n", "{second:?}");
    assert_eq!(
        containers_labelled(&sb.docker, LABEL_RUN, &run).await.len(),
        1,
        "one container serves the run"
    );
    let started = Instant::now();
    let slow = self::run(&ws, python("import time\ntime.sleep(60)")).await;
    assert_eq!(slow.exit_code, TIMEOUT_EXIT_CODE, "{slow:?}");
    assert!(started.elapsed() < Duration::from_secs(6));
    assert!(
        containers_labelled(&sb.docker, LABEL_RUN, &run)
            .await
            .is_empty(),
        "the timed-out container is gone"
    );
    let after = self::run(
        &ws,
        shell("test -e /tmp/marker && echo still || echo fresh; ls"),
    )
    .await;
    assert!(after.stdout.starts_with("fresh\n"), "{after:?}");
    let failed = self::run(&ws, shell("exit 5")).await;
    assert_eq!(failed.exit_code, 5, "{failed:?}");
    Box::new(ws).close().await.unwrap();
    assert!(
        containers_labelled(&sb.docker, LABEL_RUN, &run)
            .await
            .is_empty(),
        "close removes the run's container"
    );
}

#[tokio::test]
async fn info_lists_the_limits_in_force() {
    let Some(engine) = test_engine::for_test() else {
        return;
    };
    let sb = sandbox(engine).await;
    let info = sb.executor.info();
    let text = info.enforced.join("\n");
    for expected in [
        "network: none",
        "filesystem: read-only image root",
        "/tmp: private tmpfs of 64 MiB",
        "no capabilities (cap_drop ALL), no-new-privileges",
        "wall time: 30 s (container killed)",
        "RLIMIT_CPU 30 s",
        "memory: ",
        "processes: ",
        "file size: RLIMIT_FSIZE 64 MiB",
        "output: 64 KiB per stream",
        "workspace: 256 MiB disk quota",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
    eprintln!(
        "engine: {} (started in {:?}, image built in {:?})",
        engine.description, engine.start_time, engine.image_build_time
    );
}
