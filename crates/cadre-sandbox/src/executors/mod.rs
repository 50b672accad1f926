//! The backends, one file each, and what they share: which interpreter runs which
//! language, and the minimal environment code is given.

pub mod bwrap;
pub mod local_unsafe;

use std::path::{Path, PathBuf};

use cadre_core::executor::{ExecError, ExecutionResult, Language};

/// The interpreter for `language` and the extension of generated file names.
fn interpreter(
    language: &Language,
    python: &Path,
    shell: &Path,
) -> Result<(PathBuf, &'static str), ExecError> {
    match language {
        Language::Python => {
            if python.is_file() {
                Ok((python.to_path_buf(), "py"))
            } else {
                Err(ExecError::Unavailable(format!(
                    "python interpreter {} not found: install python3 or set the sandbox's python path",
                    python.display()
                )))
            }
        }
        Language::Shell => Ok((shell.to_path_buf(), "sh")),
        Language::Other(tag) => Err(ExecError::UnsupportedLanguage(tag.clone())),
    }
}

/// The only environment variables code sees. Nothing is inherited from the server.
fn code_env(home: &str, tmp: &str) -> Vec<(String, String)> {
    [
        ("PATH", "/usr/local/bin:/usr/bin:/bin"),
        ("HOME", home),
        ("LANG", "C.UTF-8"),
        ("PYTHONUNBUFFERED", "1"),
        ("PYTHONDONTWRITEBYTECODE", "1"),
        ("MPLBACKEND", "Agg"),
        ("TMPDIR", tmp),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Environment added for backends without network: pip fails at once, instead of
/// retrying for seconds, and says why in its own words ("from versions: none").
fn offline_env() -> Vec<(String, String)> {
    [
        ("PIP_NO_INDEX", "1"),
        ("PIP_DISABLE_PIP_VERSION_CHECK", "1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// What the agents are told when code failed for want of a network: the tracebacks of
/// pip, an import or a socket alone do not say that retrying cannot help.
const OFFLINE_NOTE: &str = "Note from the sandbox: this code runs without network access, so packages \
     cannot be installed (pip install fails) and nothing can be downloaded. Use the Python standard \
     library or the packages already installed (`python3 -m pip list` shows them), and read or write \
     only files in the working directory.";

/// Appends [`OFFLINE_NOTE`] to the stderr of a failed execution that tried to install a
/// package, import a missing one or reach the network.
fn note_if_offline_failure(result: &mut ExecutionResult) {
    const SIGNS: &[&str] = &[
        "No matching distribution found for",
        "(from versions: none)",
        "externally-managed-environment",
        "ModuleNotFoundError: No module named",
        "Temporary failure in name resolution",
        "Name or service not known",
        "Network is unreachable",
        "Could not resolve host",
    ];
    if result.exit_code == 0 || result.stderr.contains(OFFLINE_NOTE) {
        return;
    }
    let output = [result.stdout.as_str(), result.stderr.as_str()];
    // The seccomp filter refuses internet sockets with EPERM, which reads like a
    // permissions problem unless said otherwise.
    let socket_refused = result.stderr.contains("socket")
        && result.stderr.contains("[Errno 1] Operation not permitted");
    if socket_refused
        || output
            .iter()
            .any(|text| SIGNS.iter().any(|sign| text.contains(sign)))
    {
        crate::process::push_note(&mut result.stderr, OFFLINE_NOTE);
    }
}

/// `prlimit` arguments (up to and including `--`) applying the limits as rlimits.
fn prlimit_args(limits: &cadre_core::executor::ExecutionLimits) -> Vec<String> {
    vec![
        format!("--as={}", limits.memory_bytes),
        format!("--cpu={}", limits.cpu_seconds),
        format!("--nproc={}", limits.max_processes),
        format!("--fsize={}", limits.max_file_bytes),
        format!("--nofile={MAX_OPEN_FILES}"),
        "--".to_string(),
    ]
}

/// The pre-execution quota check both backends run before writing the code file: the
/// result to return instead of running when the workspace is already over quota.
async fn refuse_if_over(quota: Option<&crate::quota::Quota>) -> Option<ExecutionResult> {
    quota?.refuse_if_over().await
}

/// Open files per process: generous for real programs, small enough to stop fd
/// exhaustion games.
const MAX_OPEN_FILES: u32 = 256;

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(stderr: &str) -> ExecutionResult {
        ExecutionResult {
            exit_code: 1,
            stdout: String::new(),
            stderr: stderr.to_string(),
            duration_ms: 1,
            timed_out: false,
            killed: false,
            truncated: false,
        }
    }

    #[test]
    fn failures_for_want_of_a_network_get_a_note_once() {
        let mut pip = failed("ERROR: No matching distribution found for requests\n");
        note_if_offline_failure(&mut pip);
        assert!(
            pip.stderr.ends_with(&format!("{OFFLINE_NOTE}\n")),
            "{}",
            pip.stderr
        );
        let once = pip.stderr.clone();
        note_if_offline_failure(&mut pip);
        assert_eq!(pip.stderr, once);

        let mut import = failed("ModuleNotFoundError: No module named 'requests'\n");
        note_if_offline_failure(&mut import);
        assert!(import.stderr.contains("pip install fails"));

        let mut socket = failed(
            "  File \"/usr/lib/python3.11/socket.py\", line 232, in __init__\nPermissionError: [Errno 1] Operation not permitted\n",
        );
        note_if_offline_failure(&mut socket);
        assert!(socket.stderr.contains("without network access"));

        let mut other = failed("ZeroDivisionError: division by zero\n");
        note_if_offline_failure(&mut other);
        assert!(!other.stderr.contains("sandbox"));

        let mut ok = failed("No module named x");
        ok.exit_code = 0;
        note_if_offline_failure(&mut ok);
        assert!(!ok.stderr.contains("sandbox"));
    }

    #[test]
    fn languages_map_to_interpreters() {
        let shell = Path::new("/bin/sh");
        let (prog, ext) = interpreter(&Language::Shell, Path::new("/nonexistent"), shell).unwrap();
        assert_eq!((prog.as_path(), ext), (shell, "sh"));
        assert_eq!(
            interpreter(&Language::Other("ruby".into()), Path::new("/bin/sh"), shell).unwrap_err(),
            ExecError::UnsupportedLanguage("ruby".into())
        );
        assert!(matches!(
            interpreter(&Language::Python, Path::new("/nonexistent/python3"), shell),
            Err(ExecError::Unavailable(_))
        ));
    }
}
