//! The escape suite: attacks a hostile code block would try, run against a backend, each
//! with its outcome asserted (`docs/DESIGN.md` §7). Every backend's test file builds a
//! [`Target`] with [`suite_limits`] and calls [`assert_contained`] and
//! [`assert_concurrent_runs_isolated`].
//!
//! Attack code reports what it achieved as one `RESULT {json}` line; the checks read that
//! and the host's side of things (files, listener, a victim process). A check fails on
//! what a user would call an escape (a secret printed, a host file touched, a host
//! process signalled, a limit not holding), never on the wording of an error.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::ErrorKind;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cadre_core::executor::{CodeBlock, CodeExecutor, ExecutionLimits, ExecutionResult, Language};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

/// The backend under attack.
pub struct Target {
    /// Backend name, for messages.
    pub name: &'static str,
    /// The executor, built with [`suite_limits`] and [`SUITE_QUOTA_BYTES`].
    pub executor: Arc<dyn CodeExecutor>,
    /// Host directory holding the backend's workspaces.
    pub base_dir: PathBuf,
}

/// Limits every backend runs the suite under: small, so the bombs end quickly.
pub fn suite_limits() -> ExecutionLimits {
    ExecutionLimits {
        wall_time: Duration::from_secs(4),
        cpu_seconds: 2,
        memory_bytes: 256 * MIB,
        max_processes: 32,
        max_output_bytes: 64 * 1024,
        max_file_bytes: 16 * MIB,
    }
}

/// Workspace quota the suite's executors are built with.
pub const SUITE_QUOTA_BYTES: u64 = 48 * MIB;

const MIB: u64 = 1024 * 1024;

/// What the host holds that code must not reach.
struct Host {
    secret: String,
    /// A data directory like the server's: SQLite database and secret key.
    data_dir: tempfile::TempDir,
    home_file: tempfile::NamedTempFile,
    /// Listens on all addresses; nothing may connect.
    listener: TcpListener,
    port: u16,
    /// A host process with the secret in its environment.
    victim: Child,
    /// Where code tries to create files on the host.
    host_tmp: tempfile::TempDir,
}

impl Host {
    fn new() -> Self {
        let secret = format!("cadre-escape-{}", uuid::Uuid::new_v4().simple());
        let data_dir = tempfile::tempdir().unwrap();
        std::fs::write(
            data_dir.path().join("cadre.db"),
            format!("SQLite format 3\0{secret}"),
        )
        .unwrap();
        std::fs::write(data_dir.path().join("secret.key"), &secret).unwrap();
        let home = std::env::var("HOME").unwrap_or_else(|_| "/root".to_string());
        let home_file = tempfile::Builder::new()
            .prefix(".cadre-escape")
            .tempfile_in(&home)
            .unwrap();
        std::fs::write(home_file.path(), &secret).unwrap();
        let listener = TcpListener::bind("0.0.0.0:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let victim = Command::new("sleep")
            .arg("300")
            .env("CADRE_ESCAPE_SECRET", &secret)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        Self {
            secret,
            data_dir,
            home_file,
            listener,
            port,
            victim,
            host_tmp: tempfile::tempdir().unwrap(),
        }
    }

    fn secret_files(&self) -> Vec<PathBuf> {
        vec![
            self.data_dir.path().join("cadre.db"),
            self.data_dir.path().join("secret.key"),
            self.home_file.path().to_path_buf(),
        ]
    }

    /// A connection reached the host listener.
    fn was_connected(&self) -> bool {
        match self.listener.accept() {
            Ok(_) => true,
            Err(e) if e.kind() == ErrorKind::WouldBlock => false,
            Err(e) => panic!("listener: {e}"),
        }
    }

    fn victim_alive(&mut self) -> bool {
        matches!(self.victim.try_wait(), Ok(None))
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.victim.kill();
        let _ = self.victim.wait();
    }
}

/// An attack: code, and what must hold afterwards.
struct Attack {
    name: &'static str,
    language: Language,
    code: String,
    check: fn(&Outcome<'_>) -> Result<(), String>,
    /// Harms the host when it is not contained (bombs, signals): left out when the
    /// suite checks itself against the unsandboxed backend.
    destructive: bool,
}

/// What a check sees.
struct Outcome<'a> {
    result: &'a ExecutionResult,
    /// The attack's `RESULT` object (`Null` when it printed none).
    report: Value,
    host: &'a Host,
    limits: &'a ExecutionLimits,
    elapsed: Duration,
    /// The workspace's host directory.
    workspace: Option<PathBuf>,
}

impl Outcome<'_> {
    fn leaked(&self) -> bool {
        self.result.stdout.contains(&self.host.secret)
            || self.result.stderr.contains(&self.host.secret)
    }

    fn flag(&self, key: &str) -> bool {
        self.report
            .get(key)
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    fn count(&self, key: &str) -> u64 {
        self.report.get(key).and_then(Value::as_u64).unwrap_or(0)
    }

    /// The attack ended within the wall-clock limit plus slack for a busy machine.
    fn ended_in_time(&self) -> Result<(), String> {
        let bound = self.limits.wall_time + Duration::from_secs(6);
        if self.elapsed > bound {
            return Err(format!("took {:?}, over {bound:?}", self.elapsed));
        }
        Ok(())
    }
}

fn require(condition: bool, what: &str) -> Result<(), String> {
    if condition {
        Ok(())
    } else {
        Err(what.to_string())
    }
}

fn no_leak(o: &Outcome<'_>) -> Result<(), String> {
    require(!o.leaked(), "the host secret reached the output")
}

fn reported(o: &Outcome<'_>) -> Result<(), String> {
    require(
        !o.report.is_null(),
        &format!(
            "the attack printed no RESULT line (exit {}, stderr {:?})",
            o.result.exit_code,
            tail(&o.result.stderr)
        ),
    )
}

fn tail(text: &str) -> &str {
    let start = text.len().saturating_sub(400);
    let mut start = start;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

fn python(
    name: &'static str,
    code: String,
    check: fn(&Outcome<'_>) -> Result<(), String>,
) -> Attack {
    Attack {
        name,
        language: Language::Python,
        code,
        check,
        destructive: false,
    }
}

impl Attack {
    fn destructive(self) -> Self {
        Self {
            destructive: true,
            ..self
        }
    }
}

/// A Python prelude: `report(**kw)` prints the RESULT line; `attempt(f)` returns
/// `"ok"` or the exception's class name.
const PRELUDE: &str = r#"
import json, os, socket, sys
def report(**kw):
    print("RESULT " + json.dumps(kw), flush=True)
def attempt(f):
    try:
        f()
        return "ok"
    except BaseException as e:
        return type(e).__name__
"#;

fn attacks(host: &Host) -> Vec<Attack> {
    let port = host.port;
    let secret_files: Vec<String> = host
        .secret_files()
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let files = serde_json::to_string(&secret_files).unwrap();
    let victim = host.victim.id();
    let host_tmp = host.host_tmp.path().to_string_lossy().into_owned();
    let data_dir = host.data_dir.path().to_string_lossy().into_owned();
    vec![
        python(
            "network: loopback and a host listener",
            format!(
                "{PRELUDE}\n\
                 def connect(addr):\n    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM); s.settimeout(1); s.connect((addr, {port}))\n\
                 report(loopback=attempt(lambda: connect('127.0.0.1')), v6=attempt(lambda: socket.create_connection(('::1', {port}), 1)))\n"
            ),
            |o| {
                reported(o)?;
                require(!o.host.was_connected(), "a connection reached the host listener")?;
                require(o.report["loopback"] != "ok", "connected to 127.0.0.1")
            },
        ),
        python(
            "network: the host's other addresses",
            format!(
                "{PRELUDE}\n\
                 addrs = {addrs}\n\
                 ok = [a for a in addrs if attempt(lambda: socket.create_connection((a, {port}), 1)) == 'ok']\n\
                 report(connected=ok)\n",
                addrs = serde_json::to_string(&host_addresses()).unwrap()
            ),
            |o| {
                reported(o)?;
                require(!o.host.was_connected(), "a connection reached the host listener")?;
                require(
                    o.report["connected"].as_array().is_some_and(Vec::is_empty),
                    "connected to a host address",
                )
            },
        ),
        python(
            "network: DNS",
            format!(
                "{PRELUDE}\n\
                 report(lookup=attempt(lambda: socket.getaddrinfo('deb.debian.org', 80)), udp=attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('8.8.8.8', 53))))\n"
            ),
            |o| {
                reported(o)?;
                require(o.report["lookup"] != "ok", "a name resolved")?;
                require(o.report["udp"] != "ok", "a UDP datagram was sent")
            },
        ),
        python(
            "network: raw and packet sockets",
            format!(
                "{PRELUDE}\n\
                 report(raw=attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)), packet=attempt(lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW)), netlink=attempt(lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW)))\n"
            ),
            |o| {
                reported(o)?;
                for key in ["raw", "packet", "netlink"] {
                    require(o.report[key] != "ok", &format!("opened a {key} socket"))?;
                }
                Ok(())
            },
        ),
        python(
            "host files: home, data dir, SQLite file, secret key",
            format!(
                "{PRELUDE}\n\
                 got = {{}}\n\
                 for p in {files} + ['/etc/shadow', '/root/.bash_history']:\n    got[p] = attempt(lambda: print(open(p).read()))\n\
                 report(reads=got, listing=attempt(lambda: print(os.listdir('{data_dir}'))))\n"
            ),
            |o| {
                reported(o)?;
                no_leak(o)?;
                let reads = o.report["reads"].as_object().cloned().unwrap_or_default();
                require(
                    reads.values().all(|v| v != "ok"),
                    &format!("read a host file: {reads:?}"),
                )?;
                require(o.report["listing"] != "ok", "listed the host data directory")
            },
        ),
        python(
            "host processes: /proc/*/environ and cmdlines",
            format!(
                "{PRELUDE}\n\
                 seen = 0\n\
                 for pid in [p for p in os.listdir('/proc') if p.isdigit()]:\n    seen += 1\n    for f in ('environ', 'cmdline'):\n        try: print(open(f'/proc/{{pid}}/{{f}}', 'rb').read().decode(errors='replace'))\n        except OSError: pass\n\
                 report(processes=seen, victim_visible=os.path.exists('/proc/{victim}'))\n"
            ),
            |o| {
                reported(o)?;
                no_leak(o)?;
                require(o.count("processes") < 10, "sees many processes: not a private PID namespace")
            },
        ),
        python(
            "writes outside the workspace",
            format!(
                "{PRELUDE}\n\
                 targets = ['/usr/escape', '/etc/escape', '/escape', '{host_tmp}/escape', '/proc/sys/kernel/hostname']\n\
                 report(writes={{t: attempt(lambda: open(t, 'w').write('x')) for t in targets}})\n"
            ),
            |o| {
                reported(o)?;
                let writes = o.report["writes"].as_object().cloned().unwrap_or_default();
                require(
                    !writes.contains_key("/usr/escape") || writes["/usr/escape"] != "ok",
                    "wrote into /usr",
                )?;
                require(!o.host.host_tmp.path().join("escape").exists(), "created a file in a host directory")?;
                require(!Path::new("/usr/escape").exists() && !Path::new("/etc/escape").exists() && !Path::new("/escape").exists(), "created a host system file")
            },
        )
        .destructive(),
        python(
            "symlinks out of the workspace",
            format!(
                "{PRELUDE}\n\
                 targets = {files} + ['/etc/passwd', '{host_tmp}']\n\
                 for i, t in enumerate(targets):\n    os.symlink(t, f'link{{i}}')\n\
                 # A link named like the next code file, hoping the host writes through it.\n\
                 os.symlink('{host_tmp}/planted', 'next.py')\n\
                 report(reads=[attempt(lambda: print(open(f'link{{i}}').read())) for i in range(len(targets) - 1)])\n"
            ),
            |o| {
                reported(o)?;
                no_leak(o)?;
                require(!o.host.host_tmp.path().join("planted").exists(), "host followed a planted link")
            },
        ),
        python(
            "hard links out of the workspace",
            format!(
                "{PRELUDE}\n\
                 report(links={{t: attempt(lambda: os.link(t, 'hard' + str(abs(hash(t))))) for t in {files} + ['/usr/bin/python3', '/etc/ld.so.cache']}})\n"
            ),
            |o| {
                reported(o)?;
                let links = o.report["links"].as_object().cloned().unwrap_or_default();
                require(
                    links.values().all(|v| v != "ok"),
                    &format!("hard-linked a file from outside: {links:?}"),
                )
            },
        ),
        python(
            "fork bomb",
            format!(
                "{PRELUDE}\n\
                 import time\n\
                 n = 0\n\
                 try:\n    while n < 10000:\n        if os.fork() == 0:\n            time.sleep(2); os._exit(0)\n        n += 1\n\
                 except OSError as e:\n    report(forked=n, error=type(e).__name__)\n"
            ),
            |o| {
                o.ended_in_time()?;
                // Either the fork failed at the limit (and reported) or the tree was killed.
                if o.report.is_null() {
                    return require(o.result.killed, "neither stopped at the limit nor killed");
                }
                require(
                    o.count("forked") <= o.limits.max_processes,
                    &format!("forked {} processes, limit {}", o.count("forked"), o.limits.max_processes),
                )
            },
        )
        .destructive(),
        python(
            "memory bomb",
            format!(
                "{PRELUDE}\n\
                 chunks = []\n\
                 try:\n    for i in range(64):\n        chunks.append(bytearray(64 * 2**20))\n        chunks[-1][::4096] = b'x' * len(range(0, 64 * 2**20, 4096))\n\
                 except MemoryError:\n    report(allocated_mib=64 * len(chunks))\n    sys.exit(1)\n\
                 report(allocated_mib=64 * len(chunks))\n"
            ),
            |o| {
                o.ended_in_time()?;
                let limit_mib = o.limits.memory_bytes / MIB;
                require(
                    o.report.is_null() || o.count("allocated_mib") <= limit_mib,
                    &format!("held {} MiB under a {limit_mib} MiB limit", o.count("allocated_mib")),
                )?;
                require(o.result.exit_code != 0, "a 4 GiB allocation succeeded")
            },
        )
        .destructive(),
        python(
            "disk fill",
            format!(
                "{PRELUDE}\n\
                 written = 0\n\
                 try:\n    for i in range(200):\n        with open(f'fill{{i}}', 'wb') as f:\n            f.write(b'x' * 2**20)\n        written += 1\n\
                 except OSError as e:\n    report(written_mib=written, error=type(e).__name__)\n    sys.exit(1)\n\
                 report(written_mib=written)\n"
            ),
            |o| {
                o.ended_in_time()?;
                require(o.result.exit_code != 0, "200 MiB written under a 48 MiB quota")?;
                if let Some(dir) = &o.workspace {
                    let held = dir_bytes(dir);
                    require(
                        held <= SUITE_QUOTA_BYTES + 16 * MIB,
                        &format!("the workspace holds {} MiB after the attack", held / MIB),
                    )?;
                }
                Ok(())
            },
        )
        .destructive(),
        python(
            "CPU spin",
            "while True:\n    pass\n".to_string(),
            |o| {
                o.ended_in_time()?;
                require(o.result.killed, "a spin loop was not killed")
            },
        )
        .destructive(),
        Attack {
            name: "sleep past the timeout, detached",
            language: Language::Shell,
            code: "(setsid sleep 60 &) ; sleep 60\n".to_string(),
            destructive: true,
            check: |o| {
                o.ended_in_time()?;
                require(o.result.timed_out && o.result.killed, "not reported as timed out")?;
                require(
                    o.elapsed >= o.limits.wall_time,
                    "ended before the limit: not a real timeout",
                )
            },
        },
        python(
            "signals to host processes",
            format!(
                "{PRELUDE}\n\
                 import signal\n\
                 victim = attempt(lambda: os.kill({victim}, signal.SIGKILL))\n\
                 # Only probed (signal 0): a sandbox that failed must not take the host down.\n\
                 others = [p for p in range(2, 4096) if p != os.getpid() and attempt(lambda: os.kill(p, 0)) == 'ok']\n\
                 report(victim=victim, signalable=others)\n"
            ),
            |o| {
                reported(o)?;
                // The victim's survival is read from the host after every attack.
                require(o.report["victim"] != "ok", "signalled the host victim")?;
                require(
                    o.report["signalable"].as_array().is_some_and(Vec::is_empty),
                    &format!("can signal processes outside its own: {}", o.report["signalable"]),
                )
            },
        )
        .destructive(),
        python(
            "ptrace",
            format!(
                "{PRELUDE}\n\
                 import ctypes\n\
                 libc = ctypes.CDLL(None, use_errno=True)\n\
                 child = os.fork()\n\
                 if child == 0:\n    import time; time.sleep(3); os._exit(0)\n\
                 rc = libc.ptrace(16, child, None, None)  # PTRACE_ATTACH\n\
                 err = ctypes.get_errno()\n\
                 rc_self = libc.ptrace(16, {victim}, None, None)\n\
                 os.kill(child, 9)\n\
                 report(attach_child=rc, errno=err, attach_host=rc_self)\n"
            ),
            |o| {
                reported(o)?;
                require(o.report["attach_child"] == -1, "ptrace attached to a process")?;
                require(o.report["attach_host"] == -1, "ptrace attached to a host process")
            },
        )
        .destructive(),
        python(
            "mount and namespaces",
            format!(
                "{PRELUDE}\n\
                 import ctypes\n\
                 libc = ctypes.CDLL(None, use_errno=True)\n\
                 m = libc.mount(b'none', b'/tmp', b'tmpfs', 0, None)\n\
                 u = libc.unshare(0x10000000)  # CLONE_NEWUSER\n\
                 report(mount=m, unshare=u, mount_tool=attempt(lambda: __import__('subprocess').run(['mount', '-t', 'tmpfs', 'none', '/tmp'], check=True, capture_output=True)))\n"
            ),
            |o| {
                reported(o)?;
                require(o.report["mount"] == -1, "mount(2) succeeded")?;
                require(o.report["unshare"] == -1, "created a user namespace")?;
                require(o.report["mount_tool"] != "ok", "mount(8) succeeded")
            },
        )
        .destructive(),
        python(
            "setuid binaries",
            format!(
                "{PRELUDE}\n\
                 import stat, subprocess\n\
                 found = []\n\
                 for d in ('/usr/bin', '/usr/sbin', '/bin', '/usr/lib'):\n    for root, _, names in os.walk(d):\n        for n in names:\n            p = os.path.join(root, n)\n            try:\n                if os.lstat(p).st_mode & stat.S_ISUID: found.append(p)\n            except OSError: pass\n\
                 euids = []\n\
                 for p in found[:8]:\n    try:\n        out = subprocess.run([p, '--help'], capture_output=True, timeout=2)\n    except Exception: pass\n\
                 su = subprocess.run(['su', '-c', 'id -u'], capture_output=True, text=True, timeout=2) if os.path.exists('/usr/bin/su') or os.path.exists('/bin/su') else None\n\
                 nnp = [l for l in open('/proc/self/status') if l.startswith('NoNewPrivs')]\n\
                 report(setuid=len(found), su_root=(su is not None and su.stdout.strip() == '0'), no_new_privs=nnp[0].split()[1] if nnp else None, euid=os.geteuid())\n"
            ),
            |o| {
                reported(o)?;
                require(!o.flag("su_root"), "su gave root")?;
                require(o.report["euid"] != 0 || o.report["no_new_privs"] == "1", "euid 0 without no_new_privs")?;
                require(o.report["no_new_privs"] == "1", "setuid binaries can gain privileges (no_new_privs is off)")
            },
        )
        .destructive(),
    ]
}

/// Runs every attack in its own workspace and asserts each was contained.
pub async fn assert_contained(target: &Target) {
    let (attempted, failures) = escapes(target, true).await;
    assert!(attempted >= 15, "the suite ran {attempted} attacks");
    assert!(
        failures.is_empty(),
        "{} escaped:\n{}",
        target.name,
        failures.join("\n")
    );
}

/// Runs the attacks (`destructive` ones too, when asked) and returns how many ran and
/// the description of each that got through.
pub async fn escapes(target: &Target, destructive: bool) -> (usize, Vec<String>) {
    let mut host = Host::new();
    let limits = suite_limits();
    let attacks: Vec<Attack> = attacks(&host)
        .into_iter()
        .filter(|a| destructive || !a.destructive)
        .collect();
    let attempted = attacks.len();
    let mut failures = Vec::new();
    for attack in attacks {
        let before = workspaces(&target.base_dir);
        let ws = target
            .executor
            .open_workspace(&format!("escape-{}", target.name))
            .await
            .unwrap();
        let workspace = workspaces(&target.base_dir)
            .into_iter()
            .find(|dir| !before.contains(dir));
        let block = CodeBlock {
            language: attack.language.clone(),
            code: attack.code.clone(),
            filename: None,
        };
        let started = Instant::now();
        let result = ws.execute(&block, &CancellationToken::new()).await.unwrap();
        let elapsed = started.elapsed();
        // The planted `next.py` link must not redirect the host's next code file.
        let follow_up = ws
            .execute(
                &CodeBlock {
                    language: Language::Python,
                    code: "print('after')".to_string(),
                    filename: Some("next.py".to_string()),
                },
                &CancellationToken::new(),
            )
            .await;
        let report = result
            .stdout
            .lines()
            .rev()
            .find_map(|line| line.strip_prefix("RESULT "))
            .and_then(|json| serde_json::from_str(json).ok())
            .unwrap_or(Value::Null);
        let outcome = Outcome {
            result: &result,
            report,
            host: &host,
            limits: &limits,
            elapsed,
            workspace,
        };
        let mut verdict = (attack.check)(&outcome).and_then(|()| no_leak(&outcome));
        if verdict.is_ok() && !host.victim_alive() {
            verdict = Err("the host victim process was killed".to_string());
        }
        if verdict.is_ok()
            && let Err(e) = &follow_up
        {
            verdict = Err(format!("the workspace is unusable after the attack: {e}"));
        }
        if verdict.is_ok() && host.was_connected() {
            verdict = Err("a connection reached the host listener".to_string());
        }
        ws.close().await.unwrap();
        if let Err(why) = verdict {
            failures.push(format!(
                "{}: {why}\n  exit {} killed {} timed_out {} in {:?}\n  stdout: {:?}\n  stderr: {:?}",
                attack.name,
                result.exit_code,
                result.killed,
                result.timed_out,
                elapsed,
                tail(&result.stdout),
                tail(&result.stderr)
            ));
        }
    }
    // The host is still usable: it can start processes.
    assert!(
        Command::new("true").status().unwrap().success(),
        "the host cannot start processes"
    );
    (attempted, failures)
}

/// Two runs executing at once: neither sees or kills the other's processes, nor reads or
/// changes its files.
pub async fn assert_concurrent_runs_isolated(target: &Target) {
    let marker = format!("victim-{}", uuid::Uuid::new_v4().simple());
    let ws_a = target.executor.open_workspace("isolation-a").await.unwrap();
    let ws_b = target.executor.open_workspace("isolation-b").await.unwrap();
    let secret = uuid::Uuid::new_v4().simple().to_string();
    let victim = CodeBlock {
        language: Language::Python,
        code: format!(
            "import time\nopen('private.txt', 'w').write('{secret}')\nprint('started', flush=True)\n\
             time.sleep(2.5)\nprint('intact' if open('private.txt').read() == '{secret}' else 'changed')\n"
        ),
        filename: Some(format!("{marker}.py")),
    };
    let cancel = CancellationToken::new();
    let a = ws_a.execute(&victim, &cancel);
    let b = async {
        // Let the victim start, then find it from the host side as the attacker would
        // want to: its host pid and its workspace path.
        tokio::time::sleep(Duration::from_millis(900)).await;
        let host_pids = pids_running(&marker);
        let a_dirs: Vec<String> = find_file(&target.base_dir, "private.txt")
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        let attacker = CodeBlock {
            language: Language::Python,
            code: format!(
                "{PRELUDE}\n\
                 import signal\n\
                 def cmdline(p):\n    try: return open(f'/proc/{{p}}/cmdline', 'rb').read().decode(errors='replace')\n    except OSError: return ''\n\
                 visible = [p for p in os.listdir('/proc') if p.isdigit() and '{marker}' in cmdline(p)]\n\
                 kills = [attempt(lambda: os.kill(p, signal.SIGKILL)) for p in {host_pids:?}]\n\
                 reads = [attempt(lambda: print(open(p).read())) for p in {a_dirs:?} + ['/workspace/../' + n for n in ('isolation-a',)]]\n\
                 writes = [attempt(lambda: open(p, 'w').write('x')) for p in {a_dirs:?}]\n\
                 report(visible=visible, kills=kills, reads=reads, writes=writes, host_pids={host_pids:?})\n"
            ),
            filename: None,
        };
        ws_b.execute(&attacker, &CancellationToken::new()).await
    };
    let (a, b) = tokio::join!(a, b);
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.exit_code, 0, "{}: the victim failed: {a:?}", target.name);
    assert_eq!(a.stdout, "started\nintact\n", "{}: {a:?}", target.name);
    assert!(
        !b.stdout.contains(&secret),
        "{}: the other run read the file",
        target.name
    );
    let report: Value = b
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or_else(|| panic!("{}: the attacker printed no result: {b:?}", target.name));
    assert!(
        report["host_pids"]
            .as_array()
            .is_some_and(|p| !p.is_empty()),
        "{}: the test could not find the victim's host pid: {report}",
        target.name
    );
    assert_eq!(
        report["visible"],
        serde_json::json!([]),
        "{}: {report}",
        target.name
    );
    assert!(
        report["kills"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k != "ok"),
        "{}: signalled the other run: {report}",
        target.name
    );
    assert!(
        report["writes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k != "ok"),
        "{}: wrote the other run's file: {report}",
        target.name
    );
    ws_a.close().await.unwrap();
    ws_b.close().await.unwrap();
}

/// Host pids whose command line contains `marker`.
fn pids_running(marker: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(marker))
        })
        .collect()
}

/// Paths named `name` anywhere below `dir` (workspaces are shallow).
fn find_file(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(path),
                Ok(_) if entry.file_name() == name => found.push(path),
                _ => {}
            }
        }
    }
    found
}

fn workspaces(base: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(base)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            match entry.metadata() {
                Ok(m) if m.is_dir() => stack.push(entry.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

/// This host's non-loopback IPv4 addresses (from /proc/net/fib_trie's local entries).
fn host_addresses() -> Vec<String> {
    let Ok(trie) = std::fs::read_to_string("/proc/net/fib_trie") else {
        return Vec::new();
    };
    let lines: Vec<&str> = trie.lines().collect();
    let mut found: Vec<String> = lines
        .windows(2)
        .filter(|w| w[1].contains("/32 host LOCAL"))
        .filter_map(|w| w[0].split_whitespace().last().map(str::to_string))
        .filter(|a| !a.starts_with("127."))
        .collect();
    found.sort();
    found.dedup();
    found
}
