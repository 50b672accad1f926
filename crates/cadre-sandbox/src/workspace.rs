//! Per-run workspace directories: creating them with the right owner and mode, writing
//! code files into them without following links planted by earlier code, and removing
//! them.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use cadre_core::executor::{CodeBlock, ExecError};

/// A directory private to one run. The host side only ever writes code files into it
/// and removes it; everything else happens inside the sandbox.
#[derive(Debug)]
pub(crate) struct WorkspaceDir {
    path: PathBuf,
    /// uid/gid that sandboxed code runs as when the server is root, so the directory and
    /// the code files are writable from inside without being root-owned.
    owner: Option<(u32, u32)>,
}

impl WorkspaceDir {
    /// Creates `<base>/<run_id>-<random>` with mode 0700, owned by `owner` when given.
    /// The random suffix keeps two workspaces of one run (or a hostile run id) apart.
    pub(crate) fn create(
        base: &Path,
        run_id: &str,
        owner: Option<(u32, u32)>,
    ) -> Result<Self, ExecError> {
        ensure_base_dir(base, owner.is_some())?;
        let name = format!(
            "{}-{}",
            sanitize(run_id),
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let path = base.join(name);
        std::fs::create_dir(&path).map_err(|e| ws_err("create", &path, e))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| ws_err("set mode of", &path, e))?;
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(&path, Some(uid), Some(gid))
                .map_err(|e| ws_err("chown", &path, e))?;
        }
        Ok(Self { path, owner })
    }

    /// The directory on the host.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the block's code into the workspace and returns its path relative to the
    /// workspace. Uses the block's own file name when it is a safe relative path,
    /// otherwise `tmp_code_<hash>.<ext>`.
    ///
    /// Earlier code ran with write access to this directory, so any existing entry may
    /// be a symlink pointing outside: existing files are unlinked (never opened), the new
    /// file is created with `O_EXCL`, and parent directories that are links are refused.
    pub(crate) fn write_code(&self, block: &CodeBlock, ext: &str) -> Result<PathBuf, ExecError> {
        let relative = block
            .filename
            .as_deref()
            .and_then(safe_relative_name)
            .unwrap_or_else(|| PathBuf::from(generated_name(&block.code, ext)));

        let mut dir = self.path.clone();
        let components: Vec<_> = relative.components().collect();
        let (file_name, parents) = components
            .split_last()
            .ok_or_else(|| ExecError::Workspace("empty file name".to_string()))?;
        for part in parents {
            dir.push(part);
            match std::fs::symlink_metadata(&dir) {
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => {
                    return Err(ExecError::Workspace(format!(
                        "`{}` exists in the workspace and is not a directory",
                        relative.display()
                    )));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    std::fs::create_dir(&dir).map_err(|e| ws_err("create", &dir, e))?;
                    if let Some((uid, gid)) = self.owner {
                        std::os::unix::fs::lchown(&dir, Some(uid), Some(gid))
                            .map_err(|e| ws_err("chown", &dir, e))?;
                    }
                }
                Err(e) => return Err(ws_err("inspect", &dir, e)),
            }
        }

        let target = dir.join(file_name);
        match std::fs::symlink_metadata(&target) {
            Ok(meta) if meta.is_dir() => {
                return Err(ExecError::Workspace(format!(
                    "`{}` is a directory in the workspace",
                    relative.display()
                )));
            }
            Ok(_) => std::fs::remove_file(&target).map_err(|e| ws_err("replace", &target, e))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(ws_err("inspect", &target, e)),
        }
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&target)
            .map_err(|e| ws_err("create", &target, e))?;
        file.write_all(block.code.as_bytes())
            .map_err(|e| ws_err("write", &target, e))?;
        if let Some((uid, gid)) = self.owner {
            std::os::unix::fs::fchown(&file, Some(uid), Some(gid))
                .map_err(|e| ws_err("chown", &target, e))?;
        }
        Ok(relative)
    }

    /// Removes the directory and everything in it (links inside are removed, not
    /// followed).
    pub(crate) async fn remove(self) -> Result<(), ExecError> {
        let path = self.path;
        tokio::task::spawn_blocking(move || match std::fs::remove_dir_all(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(ws_err("remove", &path, e)),
        })
        .await
        .map_err(|e| ExecError::Workspace(format!("workspace removal task failed: {e}")))?
    }
}

/// Creates the base directory if needed. When code runs as another uid, that uid must be
/// able to traverse the base directory to reach its own workspace, but not list the
/// other runs' workspaces: hence 0711 for a directory we create. An existing directory is
/// never re-moded (it could be `/tmp` itself); if it is not traversable the sandbox
/// probe fails with bubblewrap's message.
fn ensure_base_dir(base: &Path, shared_with_other_uid: bool) -> Result<(), ExecError> {
    if base.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(base).map_err(|e| ws_err("create", base, e))?;
    let mode = if shared_with_other_uid { 0o711 } else { 0o700 };
    std::fs::set_permissions(base, std::fs::Permissions::from_mode(mode))
        .map_err(|e| ws_err("set mode of", base, e))
}

/// A run id reduced to characters that are safe in a directory name.
fn sanitize(run_id: &str) -> String {
    let cleaned: String = run_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(64)
        .collect();
    if cleaned.is_empty() {
        "run".to_string()
    } else {
        cleaned
    }
}

/// The requested file name as a path inside the workspace, or `None` when it is absolute,
/// climbs out with `..`, or is otherwise unusable.
pub(crate) fn safe_relative_name(name: &str) -> Option<PathBuf> {
    let name = name.trim();
    // A leading `-` would read as an interpreter option on some command lines.
    if name.is_empty() || name.len() > 255 || name.contains('\0') || name.starts_with('-') {
        return None;
    }
    let mut out = PathBuf::new();
    for component in Path::new(name).components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    (out.components().count() > 0).then_some(out)
}

/// `tmp_code_<hash>.<ext>`, stable for the same code so reruns overwrite one file.
fn generated_name(code: &str, ext: &str) -> String {
    let mut hasher = std::hash::DefaultHasher::new();
    code.hash(&mut hasher);
    format!("tmp_code_{:016x}.{ext}", hasher.finish())
}

fn ws_err(action: &str, path: &Path, error: std::io::Error) -> ExecError {
    ExecError::Workspace(format!("cannot {action} {}: {error}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cadre_core::executor::Language;

    fn block(code: &str, filename: Option<&str>) -> CodeBlock {
        CodeBlock {
            language: Language::Python,
            code: code.to_string(),
            filename: filename.map(str::to_string),
        }
    }

    #[test]
    fn unsafe_file_names_are_rejected() {
        assert_eq!(
            safe_relative_name("main.py"),
            Some(PathBuf::from("main.py"))
        );
        assert_eq!(
            safe_relative_name("./src/app.py"),
            Some(PathBuf::from("src/app.py"))
        );
        assert_eq!(safe_relative_name("../escape.py"), None);
        assert_eq!(safe_relative_name("src/../../escape.py"), None);
        assert_eq!(safe_relative_name("/etc/passwd"), None);
        assert_eq!(safe_relative_name("  "), None);
        assert_eq!(safe_relative_name("."), None);
    }

    #[test]
    fn code_is_written_under_its_name_or_a_generated_one() {
        let base = tempfile::tempdir().unwrap();
        let ws = WorkspaceDir::create(base.path(), "run/../1", None).unwrap();
        assert!(ws.path().starts_with(base.path()));
        assert!(
            ws.path()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("run1-")
        );

        let named = ws
            .write_code(&block("print(1)", Some("pkg/main.py")), "py")
            .unwrap();
        assert_eq!(named, PathBuf::from("pkg/main.py"));
        assert_eq!(
            std::fs::read_to_string(ws.path().join("pkg/main.py")).unwrap(),
            "print(1)"
        );

        let escaped = ws
            .write_code(&block("print(2)", Some("../x.py")), "py")
            .unwrap();
        let name = escaped.to_string_lossy().into_owned();
        assert!(
            name.starts_with("tmp_code_") && name.ends_with(".py"),
            "{name}"
        );
        assert!(!base.path().join("x.py").exists());
    }

    #[test]
    fn a_symlink_planted_by_earlier_code_is_replaced_not_followed() {
        let base = tempfile::tempdir().unwrap();
        let outside = base.path().join("outside.txt");
        std::fs::write(&outside, "keep").unwrap();
        let ws = WorkspaceDir::create(&base.path().join("ws"), "r", None).unwrap();
        std::os::unix::fs::symlink(&outside, ws.path().join("main.py")).unwrap();
        std::os::unix::fs::symlink(base.path(), ws.path().join("sub")).unwrap();

        ws.write_code(&block("print(3)", Some("main.py")), "py")
            .unwrap();
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "keep");
        assert_eq!(
            std::fs::read_to_string(ws.path().join("main.py")).unwrap(),
            "print(3)"
        );

        let err = ws
            .write_code(&block("x", Some("sub/evil.py")), "py")
            .unwrap_err();
        assert!(matches!(err, ExecError::Workspace(_)), "{err:?}");
        assert!(!base.path().join("evil.py").exists());
    }

    #[tokio::test]
    async fn remove_deletes_the_directory() {
        let base = tempfile::tempdir().unwrap();
        let ws = WorkspaceDir::create(base.path(), "r", None).unwrap();
        let path = ws.path().to_path_buf();
        ws.write_code(&block("x", None), "py").unwrap();
        ws.remove().await.unwrap();
        assert!(!path.exists());
    }
}
