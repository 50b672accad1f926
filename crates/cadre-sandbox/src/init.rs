//! The sandbox's init: the program bubblewrap starts inside the sandbox, which restricts
//! itself with Landlock and then `exec`s the code's interpreter in its own place.
//!
//! Landlock has to be applied from inside: bubblewrap has no option for it, and a
//! Landlock domain forbids the mounts bubblewrap performs, so it cannot be applied
//! before bubblewrap either. The init is any binary that calls [`run_if_requested`]
//! first thing in `main` (the `cadre` binary does; so does this crate's
//! `cadre-sandbox-init`, used by its tests). [`run_if_requested`] also records the
//! running binary as the init the bubblewrap backend uses, unless
//! [`crate::SandboxConfig::init_program`] names one.
//!
//! The domain: every directory listable, the system directories readable and executable, `/dev` readable and
//! writable (for `/dev/null` and friends), only the workspace and `/tmp` writable, no
//! TCP bind or connect, and (ABI 6) no signals to and no abstract Unix sockets of
//! processes outside the domain. The kernel's newest ABI that this crate knows is used;
//! older kernels get what they support, and the probe reports which.

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use landlock::{
    ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, LandlockStatus, Ruleset,
    RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope, path_beneath_rules,
};

/// The first argument that makes a binary act as the sandbox's init.
pub const INIT_ARG: &str = "__cadre-sandbox-init";

/// Prefix of the line the init writes to stderr when asked to `--report`.
pub(crate) const REPORT_PREFIX: &str = "cadre-sandbox-init: landlock ";

/// Exit code when the init cannot restrict itself or start the program, as `env` uses
/// for a program that cannot be run.
const INIT_FAILED: i32 = 126;

/// The newest Landlock ABI asked for; the kernel's own may be lower.
const WANTED_ABI: ABI = ABI::V6;

/// Read-only (and executable) directories of the sandbox's filesystem.
const SYSTEM_DIRS: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/proc",
];

static REGISTERED: OnceLock<PathBuf> = OnceLock::new();

/// Call first thing in `main`, before any runtime or thread starts (a Landlock domain
/// binds only the calling thread; the init `exec`s right after). When the process was started as the sandbox's init
/// (`<binary> __cadre-sandbox-init …`), restricts it and `exec`s the program, never
/// returning. Otherwise records the running binary as able to act as the init and
/// returns at once.
pub fn run_if_requested() {
    let mut args = std::env::args_os();
    let _program = args.next();
    if args.next().as_deref() != Some(INIT_ARG.as_ref()) {
        if let Ok(exe) = std::env::current_exe() {
            let _ = REGISTERED.set(exe);
        }
        return;
    }
    let error = match InitArgs::parse(args) {
        Ok(init) => init.restrict_and_exec(),
        Err(error) => error,
    };
    let _ = writeln!(std::io::stderr(), "cadre-sandbox-init: {error}");
    std::process::exit(INIT_FAILED);
}

/// The binary that registered itself through [`run_if_requested`], if any.
pub(crate) fn registered() -> Option<PathBuf> {
    REGISTERED.get().cloned()
}

/// The init's command line after [`INIT_ARG`]: `[--report] [--rw DIR]… -- PROGRAM ARGS…`.
#[derive(Debug, PartialEq)]
struct InitArgs {
    writable: Vec<PathBuf>,
    report: bool,
    program: OsString,
    args: Vec<OsString>,
}

impl InitArgs {
    fn parse(mut args: impl Iterator<Item = OsString>) -> Result<Self, String> {
        let mut writable = Vec::new();
        let mut report = false;
        loop {
            let arg = args.next().ok_or("missing `-- PROGRAM`")?;
            match arg.to_str() {
                Some("--rw") => {
                    writable.push(PathBuf::from(args.next().ok_or("--rw needs a directory")?))
                }
                Some("--report") => report = true,
                Some("--") => break,
                _ => return Err(format!("unexpected argument {}", arg.to_string_lossy())),
            }
        }
        let program = args.next().ok_or("missing PROGRAM after `--`")?;
        Ok(Self {
            writable,
            report,
            program,
            args: args.collect(),
        })
    }

    /// Applies the Landlock domain and replaces this process by the program; returns
    /// only on failure, with the reason.
    fn restrict_and_exec(self) -> String {
        let status = match restrict(&self.writable) {
            Ok(status) => status,
            Err(error) => return format!("cannot apply Landlock: {error}"),
        };
        if self.report {
            let _ = writeln!(std::io::stderr(), "{REPORT_PREFIX}{status}");
        }
        let error = std::process::Command::new(&self.program)
            .args(&self.args)
            .exec();
        format!(
            "cannot start {}: {error}",
            Path::new(&self.program).display()
        )
    }
}

/// Restricts this process; returns how much of the domain the kernel enforces.
fn restrict(writable: &[PathBuf]) -> Result<String, landlock::RulesetError> {
    let existing =
        |dirs: Vec<PathBuf>| -> Vec<PathBuf> { dirs.into_iter().filter(|d| d.exists()).collect() };
    let read = AccessFs::from_read(WANTED_ABI);
    let devices = AccessFs::from_read(WANTED_ABI) | AccessFs::WriteFile | AccessFs::IoctlDev;
    let status = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_all(WANTED_ABI))?
        .handle_access(AccessNet::BindTcp | AccessNet::ConnectTcp)?
        .scope(Scope::AbstractUnixSocket | Scope::Signal)?
        .create()?
        // Listing directories anywhere is harmless (bubblewrap shows nothing of the host
        // but the system directories) and programs walk from `/`.
        .add_rules(path_beneath_rules([PathBuf::from("/")], AccessFs::ReadDir))?
        .add_rules(path_beneath_rules(
            existing(SYSTEM_DIRS.iter().map(PathBuf::from).collect()),
            read,
        ))?
        .add_rules(path_beneath_rules(
            existing(vec![PathBuf::from("/dev")]),
            devices,
        ))?
        .add_rules(path_beneath_rules(
            existing(writable.to_vec()),
            AccessFs::from_all(WANTED_ABI),
        ))?
        .restrict_self()?;
    let abi = match status.landlock {
        LandlockStatus::Available { effective_abi, .. } => format!("ABI {}", effective_abi as i32),
        LandlockStatus::NotEnabled => "not enabled in this kernel".to_string(),
        LandlockStatus::NotImplemented => "not built into this kernel".to_string(),
    };
    Ok(match status.ruleset {
        RulesetStatus::FullyEnforced => format!("fully enforced ({abi})"),
        RulesetStatus::PartiallyEnforced => format!("partially enforced ({abi}: older kernel)"),
        RulesetStatus::NotEnforced => format!("not enforced ({abi})"),
    })
}

/// What the domain allows, for the limits report, after the status the probe read.
pub(crate) fn describe(status: &str) -> String {
    format!(
        "landlock: {status}: system directories read-only, only /workspace and /tmp writable, \
         no TCP bind or connect, no signals or abstract sockets across the sandbox's boundary"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> impl Iterator<Item = OsString> {
        args.iter()
            .map(OsString::from)
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn the_init_command_line_parses() {
        let parsed = InitArgs::parse(os(&[
            "--report",
            "--rw",
            "/workspace",
            "--rw",
            "/tmp",
            "--",
            "/usr/bin/python3",
            "x.py",
        ]))
        .unwrap();
        assert_eq!(
            parsed,
            InitArgs {
                writable: vec![PathBuf::from("/workspace"), PathBuf::from("/tmp")],
                report: true,
                program: "/usr/bin/python3".into(),
                args: vec!["x.py".into()],
            }
        );
        assert!(InitArgs::parse(os(&["--rw"])).is_err());
        assert!(InitArgs::parse(os(&["--",])).is_err());
        assert!(InitArgs::parse(os(&["--bogus", "--", "x"])).is_err());
    }
}
