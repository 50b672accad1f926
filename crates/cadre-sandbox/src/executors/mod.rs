//! The backends, one file each, and what they share: which interpreter runs which
//! language, and the minimal environment code is given.

pub mod bwrap;
pub mod docker;
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
