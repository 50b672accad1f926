//! Facts about the host this process runs on: who we are, where the helper programs
//! live, and how the root filesystem is laid out. Everything here is read-only probing;
//! nothing is changed on the host.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Directories searched for helper programs. A fixed list rather than `$PATH` because
/// the programs are executed from an empty environment and must not depend on whatever
/// `$PATH` the server was started with.
const PROGRAM_DIRS: &[&str] = &["/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin"];

/// Top-level entries that hold system programs and libraries. On merged-/usr hosts they
/// are symlinks into `/usr` and are recreated as symlinks; otherwise they are bound
/// read-only when present.
const SYSTEM_DIRS: &[&str] = &["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

/// Files under `/etc` that interpreters and coreutils need and that hold no secrets:
/// the dynamic linker cache (speed), the time zone (correct `date`), and the Debian
/// alternatives symlinks (`awk`, `editor`, … point there).
const ETC_ENTRIES: &[&str] = &["/etc/ld.so.cache", "/etc/localtime", "/etc/alternatives"];

/// The effective uid of this process, read from `/proc/self/status` because the libc
/// call would need `unsafe`. `None` when procfs is unavailable.
pub(crate) fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    // Fields: real, effective, saved, filesystem.
    line.split_whitespace().nth(2)?.parse().ok()
}

/// Finds a helper program by name in the standard system directories.
pub(crate) fn find_program(name: &str) -> Option<PathBuf> {
    PROGRAM_DIRS
        .iter()
        .map(|dir| Path::new(dir).join(name))
        .find(|path| path.is_file())
}

/// The shell used for shell blocks: bash when installed (most generated scripts assume
/// it), otherwise POSIX sh.
pub(crate) fn shell() -> PathBuf {
    if Path::new("/bin/bash").is_file() {
        PathBuf::from("/bin/bash")
    } else {
        PathBuf::from("/bin/sh")
    }
}

/// bubblewrap arguments that rebuild the host's system layout read-only: `/usr`, the
/// top-level system directories (as symlinks on merged-/usr hosts) and a few harmless
/// `/etc` entries. Nothing else of the host (home directories, `/root`, `/var`, the rest
/// of `/etc`, data directories) is made visible.
pub(crate) fn system_binds() -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["--ro-bind".into(), "/usr".into(), "/usr".into()];
    for dir in SYSTEM_DIRS {
        let path = Path::new(dir);
        let Ok(meta) = std::fs::symlink_metadata(path) else {
            continue;
        };
        if meta.file_type().is_symlink() {
            if let Ok(target) = std::fs::read_link(path) {
                args.extend(["--symlink".into(), target.into_os_string(), (*dir).into()]);
            }
        } else if meta.is_dir() {
            args.extend(["--ro-bind".into(), (*dir).into(), (*dir).into()]);
        }
    }
    for entry in ETC_ENTRIES {
        args.extend(["--ro-bind-try".into(), (*entry).into(), (*entry).into()]);
    }
    args
}

/// Whether `path` will be visible inside the sandbox, i.e. lies under `/usr` or one of
/// the system directories rebuilt by [`system_binds`].
pub(crate) fn visible_in_sandbox(path: &Path) -> bool {
    path.is_absolute()
        && std::iter::once("/usr")
            .chain(SYSTEM_DIRS.iter().copied())
            .any(|dir| path.starts_with(dir))
}

/// `512 MiB`, `64 KiB`, or plain bytes, for limit descriptions.
pub(crate) fn human_bytes(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    const GIB: u64 = 1024 * 1024 * 1024;
    match bytes {
        0 => "0 bytes".to_string(),
        b if b % GIB == 0 => format!("{} GiB", b / GIB),
        b if b % MIB == 0 => format!("{} MiB", b / MIB),
        b if b % KIB == 0 => format!("{} KiB", b / KIB),
        b => format!("{b} bytes"),
    }
}

/// A duration for messages: `30 s`, or `1.5 s` when not whole seconds.
pub(crate) fn human_duration(duration: std::time::Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{:.1} s", duration.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_uid_matches_the_owner_of_a_file_we_create() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        let owner = std::fs::metadata(&file).unwrap().uid();
        assert_eq!(effective_uid(), Some(owner));
    }

    #[test]
    fn system_binds_never_expose_private_host_directories() {
        let args = system_binds();
        let text: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        for private in [
            "/home",
            "/root",
            "/var",
            "/etc",
            "/etc/shadow",
            "/work",
            "/tmp",
        ] {
            assert!(
                !text.iter().any(|a| a == private),
                "{private} must not be bound: {text:?}"
            );
        }
        assert!(text.windows(3).any(|w| w == ["--ro-bind", "/usr", "/usr"]));
    }

    #[test]
    fn only_system_paths_are_visible_in_the_sandbox() {
        assert!(visible_in_sandbox(Path::new("/usr/bin/python3")));
        assert!(visible_in_sandbox(Path::new("/bin/bash")));
        assert!(!visible_in_sandbox(Path::new(
            "/home/user/.local/bin/python3"
        )));
        assert!(!visible_in_sandbox(Path::new("/usrlocal/python3")));
        assert!(!visible_in_sandbox(Path::new("python3")));
    }

    #[test]
    fn sizes_and_durations_read_naturally() {
        assert_eq!(human_bytes(512 * 1024 * 1024), "512 MiB");
        assert_eq!(human_bytes(64 * 1024), "64 KiB");
        assert_eq!(human_bytes(1000), "1000 bytes");
        assert_eq!(human_duration(std::time::Duration::from_secs(30)), "30 s");
        assert_eq!(
            human_duration(std::time::Duration::from_millis(1500)),
            "1.5 s"
        );
    }
}
