//! Per-execution control groups: finding where this process may create cgroups (v2, or
//! the v1 `memory`, `pids` and `cpu` hierarchies of a hybrid host), creating one cgroup
//! per execution with memory, process and CPU limits, and killing, measuring and
//! removing it afterwards.
//!
//! The sandboxed process enters its cgroup itself, before it `exec`s the launcher chain
//! (see [`ExecCgroup::enter_script`], which also says why v1 uses `tasks`), so every
//! process of the execution is inside from its first instruction; moving a pid in from
//! the outside after `spawn` would race the code's first `fork`.
//!
//! Unlike rlimits, a cgroup's limits hold for the execution as a whole: the process
//! count is not shared with other executions of the same uid, memory counts every
//! process together (page cache included), and a CPU quota throttles a spin loop instead
//! of only ending it after `RLIMIT_CPU` seconds.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::host::human_bytes;

/// Name of the directory holding this crate's cgroups under the server's own cgroup.
const PARENT_NAME: &str = "cadre-sandbox";

/// CFS period used for the CPU quota (the kernel's default).
const CPU_PERIOD_US: u64 = 100_000;

/// The limits a per-execution cgroup enforces.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct CgroupLimits {
    /// Memory of all the execution's processes together, page cache included; no swap.
    pub memory_bytes: u64,
    /// Processes and threads at once.
    pub max_processes: u64,
    /// CPU time per wall-clock time, in cores (1.0 = one core).
    pub cpu_cores: f64,
}

/// One controller the executions' cgroups use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Controller {
    Memory,
    Pids,
    Cpu,
}

impl Controller {
    const ALL: [Controller; 3] = [Controller::Memory, Controller::Pids, Controller::Cpu];

    fn name(self) -> &'static str {
        match self {
            Controller::Memory => "memory",
            Controller::Pids => "pids",
            Controller::Cpu => "cpu",
        }
    }
}

/// Where executions' cgroups are created on this host.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CgroupLayout {
    /// The unified hierarchy: one parent directory with all three controllers enabled
    /// for its children.
    V2 { parent: PathBuf },
    /// Separate v1 hierarchies, one parent directory per usable controller. Memory and
    /// pids are required; cpu is used when present.
    V1 { parents: Vec<(Controller, PathBuf)> },
}

/// A cgroup mount from `/proc/self/mountinfo`.
#[derive(Debug, Clone, PartialEq)]
struct Mount {
    /// Root of the mount inside its hierarchy (`/` unless the mount is a sub-tree).
    root: String,
    /// Where it is mounted.
    point: PathBuf,
    /// `true` for cgroup2.
    unified: bool,
    /// v1 only: the controllers of the hierarchy.
    controllers: Vec<String>,
}

impl CgroupLayout {
    /// Finds a writable place for per-execution cgroups and creates the parent
    /// directories. `Err` says, for an operator, why none is usable; the caller then
    /// keeps rlimits only.
    pub(crate) fn detect() -> Result<Self, String> {
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")
            .map_err(|e| format!("cannot read /proc/self/mountinfo: {e}"))?;
        let membership = std::fs::read_to_string("/proc/self/cgroup")
            .map_err(|e| format!("cannot read /proc/self/cgroup: {e}"))?;
        let mounts = parse_mountinfo(&mountinfo);
        let v2_error = match Self::detect_v2(&mounts, &membership) {
            Ok(layout) => return Ok(layout),
            Err(e) => e,
        };
        match Self::detect_v1(&mounts, &membership) {
            Ok(layout) => Ok(layout),
            Err(v1_error) => Err(format!("{v2_error}; {v1_error}")),
        }
    }

    fn detect_v2(mounts: &[Mount], membership: &str) -> Result<Self, String> {
        let mount = mounts
            .iter()
            .find(|m| m.unified)
            .ok_or("cgroup v2: not mounted")?;
        let own = membership
            .lines()
            .find_map(|line| line.strip_prefix("0::"))
            .ok_or("cgroup v2: this process is in no v2 cgroup")?;
        let own_dir = join_hierarchy(&mount.point, &mount.root, own);
        let available = std::fs::read_to_string(own_dir.join("cgroup.controllers"))
            .map_err(|e| format!("cgroup v2: cannot read {}: {e}", own_dir.display()))?;
        let missing: Vec<&str> = ["memory", "pids"]
            .into_iter()
            .filter(|c| !available.split_whitespace().any(|a| a == *c))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "cgroup v2: controllers {} are not delegated to {}",
                missing.join(", "),
                own_dir.display()
            ));
        }
        // Children of `own_dir` get the controllers only if it has none of its own
        // processes (the "no internal processes" rule), which holds for the root cgroup
        // and for a delegated, empty sub-tree; enabling fails with EBUSY otherwise.
        let wanted: Vec<String> = ["memory", "pids", "cpu"]
            .into_iter()
            .filter(|c| available.split_whitespace().any(|a| a == *c))
            .map(|c| format!("+{c}"))
            .collect();
        let parent = own_dir.join(PARENT_NAME);
        std::fs::create_dir_all(&parent)
            .map_err(|e| format!("cgroup v2: cannot create {}: {e}", parent.display()))?;
        for (dir, what) in [(&own_dir, wanted.join(" ")), (&parent, wanted.join(" "))] {
            let control = dir.join("cgroup.subtree_control");
            let enabled = std::fs::read_to_string(&control).unwrap_or_default();
            if wanted
                .iter()
                .all(|w| enabled.split_whitespace().any(|e| e == &w[1..]))
            {
                continue;
            }
            std::fs::write(&control, &what).map_err(|e| {
                format!(
                    "cgroup v2: cannot enable {what} in {} ({e}); run the server in a delegated cgroup \
                     (systemd: Delegate=yes) or as root in the root cgroup",
                    control.display()
                )
            })?;
        }
        Ok(CgroupLayout::V2 { parent })
    }

    fn detect_v1(mounts: &[Mount], membership: &str) -> Result<Self, String> {
        let mut parents = Vec::new();
        let mut problems = Vec::new();
        for controller in Controller::ALL {
            let name = controller.name();
            let Some(mount) = mounts
                .iter()
                .find(|m| !m.unified && m.controllers.iter().any(|c| c == name))
            else {
                problems.push(format!("{name} not mounted"));
                continue;
            };
            let Some(own) = membership.lines().find_map(|line| {
                let mut fields = line.splitn(3, ':');
                let (_, list, path) = (fields.next()?, fields.next()?, fields.next()?);
                list.split(',').any(|c| c == name).then_some(path)
            }) else {
                problems.push(format!("this process is in no {name} cgroup"));
                continue;
            };
            let parent = join_hierarchy(&mount.point, &mount.root, own).join(PARENT_NAME);
            match std::fs::create_dir_all(&parent) {
                Ok(()) if is_writable_cgroup(&parent) => parents.push((controller, parent)),
                Ok(()) => problems.push(format!("{} is not writable", parent.display())),
                Err(e) => problems.push(format!("cannot create {}: {e}", parent.display())),
            }
        }
        let has = |c: Controller| parents.iter().any(|(p, _)| *p == c);
        if has(Controller::Memory) && has(Controller::Pids) {
            Ok(CgroupLayout::V1 { parents })
        } else {
            Err(format!("cgroup v1: {}", problems.join(", ")))
        }
    }

    /// `cgroup v2` or `cgroup v1`, for the limits report.
    pub(crate) fn version(&self) -> &'static str {
        match self {
            CgroupLayout::V2 { .. } => "cgroup v2",
            CgroupLayout::V1 { .. } => "cgroup v1",
        }
    }

    /// Whether executions get a CPU quota.
    pub(crate) fn limits_cpu(&self) -> bool {
        match self {
            CgroupLayout::V2 { parent } => {
                std::fs::read_to_string(parent.join("cgroup.subtree_control"))
                    .is_ok_and(|s| s.split_whitespace().any(|c| c == "cpu"))
            }
            CgroupLayout::V1 { parents } => parents.iter().any(|(c, _)| *c == Controller::Cpu),
        }
    }

    /// The limits report's lines for `limits`.
    pub(crate) fn describe(&self, limits: &CgroupLimits) -> Vec<String> {
        let version = self.version();
        let mut lines = vec![
            format!(
                "memory: {} for the whole execution, no swap ({version}; out-of-memory kills are reported)",
                human_bytes(limits.memory_bytes)
            ),
            format!(
                "processes: {} for the whole execution ({version} pids)",
                limits.max_processes
            ),
        ];
        if self.limits_cpu() {
            lines.push(format!(
                "cpu: {} core(s) of quota ({version} cpu)",
                limits.cpu_cores
            ));
        }
        lines
    }

    /// Removes leftover execution cgroups of processes that are gone (a crash leaves
    /// them behind). Cgroups are named [`exec_cgroup_name`]`(pid, …)`: those of a live
    /// process (another worker on this host, or this one) are never touched, since one
    /// may be created and not yet entered. Non-empty ones are left alone as well.
    pub(crate) fn remove_leftovers(&self) {
        for parent in self.parents() {
            let Ok(entries) = std::fs::read_dir(parent) else {
                continue;
            };
            for entry in entries.flatten() {
                let owner_gone = entry
                    .file_name()
                    .to_str()
                    .and_then(|name| name.split_once('-'))
                    .and_then(|(pid, _)| pid.parse::<u32>().ok())
                    .is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists());
                if owner_gone && entry.file_type().is_ok_and(|t| t.is_dir()) {
                    let _ = std::fs::remove_dir(entry.path());
                }
            }
        }
    }

    fn parents(&self) -> Vec<&Path> {
        match self {
            CgroupLayout::V2 { parent } => vec![parent.as_path()],
            CgroupLayout::V1 { parents } => parents.iter().map(|(_, p)| p.as_path()).collect(),
        }
    }

    /// Creates the cgroup(s) of one execution, named `name`, with `limits` set.
    pub(crate) fn create(&self, name: &str, limits: &CgroupLimits) -> io::Result<ExecCgroup> {
        let mut cgroup = ExecCgroup {
            dirs: Vec::new(),
            unified: matches!(self, CgroupLayout::V2 { .. }),
        };
        match self {
            CgroupLayout::V2 { parent } => {
                let dir = parent.join(name);
                std::fs::create_dir(&dir)?;
                cgroup.dirs.push((None, dir.clone()));
                write(&dir, "memory.max", limits.memory_bytes)?;
                write_if_present(&dir, "memory.swap.max", 0)?;
                write(&dir, "pids.max", limits.max_processes)?;
                if dir.join("cpu.max").exists() {
                    write(
                        &dir,
                        "cpu.max",
                        format!("{} {CPU_PERIOD_US}", cpu_quota_us(limits.cpu_cores)),
                    )?;
                }
            }
            CgroupLayout::V1 { parents } => {
                for (controller, parent) in parents {
                    let dir = parent.join(name);
                    std::fs::create_dir(&dir)?;
                    cgroup.dirs.push((Some(*controller), dir.clone()));
                    match controller {
                        Controller::Memory => {
                            write(&dir, "memory.limit_in_bytes", limits.memory_bytes)?;
                            write_if_present(
                                &dir,
                                "memory.memsw.limit_in_bytes",
                                limits.memory_bytes,
                            )?;
                        }
                        Controller::Pids => write(&dir, "pids.max", limits.max_processes)?,
                        Controller::Cpu => {
                            write(&dir, "cpu.cfs_period_us", CPU_PERIOD_US)?;
                            write(&dir, "cpu.cfs_quota_us", cpu_quota_us(limits.cpu_cores))?;
                        }
                    }
                }
            }
        }
        Ok(cgroup)
    }
}

/// A fresh execution cgroup's name: `<pid>-<random>`, so that leftovers can be told
/// from the live cgroups of other processes on this host.
pub(crate) fn exec_cgroup_name() -> String {
    format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple())
}

/// The cgroup(s) of one running execution. [`ExecCgroup::finish`] must be called when
/// the execution ends; dropping it without leaves empty directories that the next
/// start-up removes.
#[derive(Debug)]
pub(crate) struct ExecCgroup {
    /// `(controller, dir)`; the controller is `None` for the single v2 directory.
    dirs: Vec<(Option<Controller>, PathBuf)>,
    unified: bool,
}

/// What the cgroup saw of an execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct CgroupReport {
    /// The kernel killed a process for going over the memory limit.
    pub oom_killed: bool,
}

impl ExecCgroup {
    /// A POSIX shell fragment that moves the shell running it into every directory of
    /// this cgroup (the shell then `exec`s the launcher in place).
    ///
    /// On v1 it writes `0` (itself) to `tasks`: the kernel moves a single thread that is
    /// the writer without taking the global threadgroup lock, whereas a write to
    /// `cgroup.procs` takes it for writing and waits for an RCU grace period, several
    /// milliseconds per controller on every execution. The shell has one thread, so
    /// moving it moves the process. v2 has no such file for domain cgroups and keeps
    /// `cgroup.procs`.
    pub(crate) fn enter_script(&self) -> String {
        self.dirs
            .iter()
            .map(|(controller, dir)| {
                let (value, file) = match controller {
                    Some(_) => ("0", "tasks"),
                    None => ("$$", "cgroup.procs"),
                };
                format!(
                    "echo {value} > {} || exit 125",
                    shell_quote(&dir.join(file).to_string_lossy())
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Kills whatever is still inside, reads the out-of-memory count and removes the
    /// cgroup. Never fails: a cgroup that cannot be removed is logged and left for the
    /// next start-up.
    pub(crate) async fn finish(self, kill_program: Option<&Path>) -> CgroupReport {
        let report = CgroupReport {
            oom_killed: self.oom_kills() > 0,
        };
        // Processes of a finished execution are usually already leaving (their PID
        // namespace died with its init): give them a few milliseconds before spawning
        // `kill`, then insist.
        let mut pause = Duration::from_millis(1);
        let mut waited = Duration::ZERO;
        let mut signalled = false;
        while !self.pids().is_empty() && waited < Duration::from_secs(2) {
            if !signalled && waited >= Duration::from_millis(20) {
                self.kill_all(&self.pids(), kill_program).await;
                signalled = true;
            }
            tokio::time::sleep(pause).await;
            waited += pause;
            pause = (pause * 2).min(Duration::from_millis(50));
        }
        for (_, dir) in &self.dirs {
            if let Err(error) = std::fs::remove_dir(dir) {
                tracing::warn!(cgroup = %dir.display(), %error, "cannot remove an execution's cgroup");
            }
        }
        report
    }

    /// Removes the cgroup of an execution known to be over (the start-up probe, which
    /// waited for its process), without the async kill loop.
    pub(crate) fn remove_now(self) {
        for (_, dir) in &self.dirs {
            let _ = std::fs::remove_dir(dir);
        }
    }

    fn oom_kills(&self) -> u64 {
        let file = if self.unified {
            "memory.events"
        } else {
            "memory.oom_control"
        };
        self.dirs
            .iter()
            .filter(|(c, _)| c.is_none() || *c == Some(Controller::Memory))
            .filter_map(|(_, dir)| std::fs::read_to_string(dir.join(file)).ok())
            .filter_map(|text| {
                text.lines()
                    .find_map(|l| l.strip_prefix("oom_kill "))
                    .and_then(|n| n.trim().parse::<u64>().ok())
            })
            .sum()
    }

    fn pids(&self) -> Vec<String> {
        let mut pids: Vec<String> = self
            .dirs
            .iter()
            .filter_map(|(_, dir)| std::fs::read_to_string(dir.join("cgroup.procs")).ok())
            .flat_map(|text| {
                text.split_whitespace()
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect();
        pids.sort();
        pids.dedup();
        pids
    }

    async fn kill_all(&self, pids: &[String], kill_program: Option<&Path>) {
        if self.unified
            && let Some((_, dir)) = self.dirs.first()
            && std::fs::write(dir.join("cgroup.kill"), "1").is_ok()
        {
            return;
        }
        // The pids were read from the cgroup and its members cannot leave it, so they
        // name the execution's processes (not reused ones) until they are reaped.
        if let Some(kill) = kill_program {
            let _ = tokio::process::Command::new(kill)
                .arg("-KILL")
                .args(pids)
                .env_clear()
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .await;
        }
    }
}

fn cpu_quota_us(cores: f64) -> u64 {
    let quota = (cores.max(0.01) * CPU_PERIOD_US as f64).round();
    // Bounded above by 1024 cores, far beyond any host; the cast cannot truncate.
    quota.min(1024.0 * CPU_PERIOD_US as f64) as u64
}

fn write(dir: &Path, file: &str, value: impl ToString) -> io::Result<()> {
    std::fs::write(dir.join(file), value.to_string()).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot write {}: {e}", dir.join(file).display()),
        )
    })
}

fn write_if_present(dir: &Path, file: &str, value: impl ToString) -> io::Result<()> {
    if dir.join(file).exists() {
        write(dir, file, value)
    } else {
        Ok(())
    }
}

/// A v1 parent is usable when a child can be created and removed in it.
fn is_writable_cgroup(parent: &Path) -> bool {
    let probe = parent.join(format!("probe-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir(&probe).is_ok() && std::fs::remove_dir(&probe).is_ok()
}

/// `point` + (`own` relative to the mount's `root`).
fn join_hierarchy(point: &Path, root: &str, own: &str) -> PathBuf {
    let relative = own
        .strip_prefix(root)
        .unwrap_or(own)
        .trim_start_matches('/');
    if relative.is_empty() {
        point.to_path_buf()
    } else {
        point.join(relative)
    }
}

fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let (before, after) = line.split_once(" - ")?;
            let fields: Vec<&str> = before.split(' ').collect();
            let (root, point) = (*fields.get(3)?, *fields.get(4)?);
            let mut rest = after.split(' ');
            let fstype = rest.next()?;
            let _source = rest.next()?;
            let options = rest.next().unwrap_or("");
            let unified = match fstype {
                "cgroup2" => true,
                "cgroup" => false,
                _ => return None,
            };
            let controllers = if unified {
                Vec::new()
            } else {
                options
                    .split(',')
                    .filter(|o| {
                        !o.contains('=')
                            && !matches!(*o, "rw" | "ro" | "xattr" | "noprefix" | "clone_children")
                    })
                    .map(str::to_string)
                    .collect()
            };
            Some(Mount {
                root: root.to_string(),
                point: PathBuf::from(point.replace("\\040", " ")),
                unified,
                controllers,
            })
        })
        .collect()
}

/// Single-quotes `text` for a POSIX shell.
pub(crate) fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
30 24 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
33 30 0:29 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
34 30 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 30 0:31 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
36 30 0:32 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd
40 20 8:1 / / rw,relatime - ext4 /dev/vda rw";

    #[test]
    fn mountinfo_yields_cgroup_mounts_and_their_controllers() {
        let mounts = parse_mountinfo(HYBRID);
        assert_eq!(mounts.len(), 5, "{mounts:?}");
        assert!(mounts[0].unified);
        assert_eq!(mounts[1].controllers, vec!["memory"]);
        assert_eq!(mounts[2].controllers, vec!["cpu", "cpuacct"]);
        assert_eq!(mounts[2].point, PathBuf::from("/sys/fs/cgroup/cpu,cpuacct"));
        assert!(
            mounts[4].controllers.is_empty(),
            "name=systemd is no controller"
        );
    }

    #[test]
    fn own_cgroup_paths_are_joined_below_the_mount_root() {
        let point = Path::new("/sys/fs/cgroup/memory");
        assert_eq!(join_hierarchy(point, "/", "/"), point);
        assert_eq!(
            join_hierarchy(point, "/", "/api/x"),
            point.join("api").join("x")
        );
        // A container sees its own sub-tree mounted at the point.
        assert_eq!(
            join_hierarchy(point, "/docker/abc", "/docker/abc/inner"),
            point.join("inner")
        );
    }

    #[test]
    fn only_leftovers_of_dead_processes_are_removed() {
        let root = tempfile::tempdir().unwrap();
        let layout = CgroupLayout::V1 {
            parents: vec![(Controller::Pids, root.path().to_path_buf())],
        };
        let live = root.path().join(exec_cgroup_name());
        // pid_max is at most 2^22: this pid cannot exist.
        let dead = root.path().join("4194999-0123456789abcdef");
        let unknown = root.path().join("not-ours");
        for dir in [&live, &dead, &unknown] {
            std::fs::create_dir(dir).unwrap();
        }
        layout.remove_leftovers();
        assert!(live.exists(), "a live process's cgroup must stay");
        assert!(!dead.exists());
        assert!(unknown.exists());
    }

    #[test]
    fn cpu_quota_is_a_share_of_the_period() {
        assert_eq!(cpu_quota_us(1.0), 100_000);
        assert_eq!(cpu_quota_us(0.5), 50_000);
        assert_eq!(cpu_quota_us(0.0), 1_000);
    }

    #[test]
    fn enter_script_quotes_paths() {
        let cgroup = ExecCgroup {
            dirs: vec![(
                Some(Controller::Memory),
                PathBuf::from("/sys/fs/cgroup/memory/it's"),
            )],
            unified: false,
        };
        assert_eq!(
            cgroup.enter_script(),
            r"echo 0 > '/sys/fs/cgroup/memory/it'\''s/tasks' || exit 125"
        );
    }
}
