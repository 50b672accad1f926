//! Per-run workspace directories: creating them with the right owner and mode, writing
//! code files into them without following links planted by earlier code, listing and
//! reading the files code left there (the run's artifacts) without ever following a
//! link out of the directory, and removing them.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use cadre_core::executor::{CodeBlock, ExecError, WorkspaceFile};

/// How many directory levels below the workspace [`WorkspaceDir::list_files`] descends.
const MAX_DEPTH: usize = 8;
/// Most files [`WorkspaceDir::list_files`] returns.
const MAX_FILES: usize = 1_000;
/// Most directory entries [`WorkspaceDir::list_files`] looks at, so that code creating a
/// million empty directories or hidden files cannot make listing slow.
const MAX_ENTRIES: usize = 20_000;

/// A directory private to one run. The host side writes code files into it, lists and
/// reads what code left there, and removes it; everything else happens inside the
/// sandbox.
#[derive(Debug)]
pub(crate) struct WorkspaceDir {
    path: PathBuf,
    /// uid/gid that sandboxed code runs as when the server is root, so the directory and
    /// the code files are writable from inside without being root-owned.
    owner: Option<(u32, u32)>,
    /// The code files written by [`WorkspaceDir::write_code`]: the executor's own files,
    /// never reported as artifacts.
    code_files: Arc<Mutex<HashSet<PathBuf>>>,
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
        Ok(Self {
            path,
            owner,
            code_files: Arc::default(),
        })
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
        lock(&self.code_files).insert(relative.clone());
        Ok(relative)
    }

    /// The regular files in the workspace, sorted by path (see
    /// [`cadre_core::executor::CodeWorkspace::list_files`]). Entries are inspected with
    /// `lstat` and links are never followed, so a link planted by code cannot make the
    /// host list (or later read) anything outside. Hidden entries (`.cache`, `.config`:
    /// what tools write into `HOME`), `__pycache__`, links, devices, pipes and sockets
    /// are left out, as are the executor's own code files. The walk is bounded by
    /// [`MAX_DEPTH`], [`MAX_FILES`] and [`MAX_ENTRIES`].
    pub(crate) async fn list_files(&self) -> Result<Vec<WorkspaceFile>, ExecError> {
        let root = self.path.clone();
        let code_files = lock(&self.code_files).clone();
        tokio::task::spawn_blocking(move || walk(&root, &code_files))
            .await
            .map_err(|e| ExecError::Workspace(format!("workspace listing task failed: {e}")))?
    }

    /// At most `max_bytes` of one regular file in the workspace; a longer file is
    /// [`ExecError::FileTooLarge`]. `path` must be a plain relative path (no `..`, not
    /// absolute); every directory on the way must be a real directory and the file a
    /// regular file, checked with `lstat`, and the file is opened with `O_NOFOLLOW` (and
    /// `O_NONBLOCK`, so a pipe swapped in cannot block the host), then checked again on
    /// the open descriptor to be the file that was inspected.
    pub(crate) async fn read_file(&self, path: &str, max_bytes: u64) -> Result<Vec<u8>, ExecError> {
        let root = self.path.clone();
        let path = path.to_string();
        tokio::task::spawn_blocking(move || read_inside(&root, &path, max_bytes))
            .await
            .map_err(|e| ExecError::Workspace(format!("workspace read task failed: {e}")))?
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

/// [`WorkspaceDir::list_files`]'s walk, on a blocking thread.
fn walk(root: &Path, code_files: &HashSet<PathBuf>) -> Result<Vec<WorkspaceFile>, ExecError> {
    let mut files = Vec::new();
    let mut seen = 0usize;
    // (directory on the host, its path relative to the workspace, depth)
    let mut pending = vec![(root.to_path_buf(), PathBuf::new(), 0usize)];
    'walk: while let Some((dir, relative_dir, depth)) = pending.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            // The workspace itself must be listable; a subdirectory code made unreadable
            // (chmod 000) is skipped rather than failing the whole listing.
            Err(e) if depth == 0 => return Err(ws_err("list", &dir, e)),
            Err(_) => continue,
        };
        for entry in entries {
            seen += 1;
            if seen > MAX_ENTRIES || files.len() >= MAX_FILES {
                break 'walk;
            }
            let Ok(entry) = entry else { continue };
            let name = entry.file_name();
            let Some(name_str) = name.to_str() else {
                // Not UTF-8: it could not be named in an event or a URL.
                continue;
            };
            if name_str.starts_with('.') || name_str == "__pycache__" {
                continue;
            }
            let relative = relative_dir.join(&name);
            // `DirEntry::metadata` does not follow links (lstat semantics).
            let Ok(meta) = entry.metadata() else { continue };
            let kind = meta.file_type();
            if kind.is_dir() {
                if depth < MAX_DEPTH {
                    pending.push((entry.path(), relative, depth + 1));
                }
            } else if kind.is_file() && !code_files.contains(&relative) {
                let Some(path) = relative.to_str() else {
                    continue;
                };
                files.push(WorkspaceFile {
                    path: path.to_string(),
                    size_bytes: meta.len(),
                    modified: meta.modified().unwrap_or(std::time::UNIX_EPOCH),
                });
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// [`WorkspaceDir::read_file`], on a blocking thread.
fn read_inside(root: &Path, path: &str, max_bytes: u64) -> Result<Vec<u8>, ExecError> {
    let relative = artifact_path(path)
        .ok_or_else(|| ExecError::Workspace(format!("`{path}` is not a path in the workspace")))?;
    let mut host = root.to_path_buf();
    let components: Vec<_> = relative.components().collect();
    let (file_name, parents) = components
        .split_last()
        .ok_or_else(|| ExecError::Workspace("empty path".to_string()))?;
    for part in parents {
        host.push(part);
        let meta = std::fs::symlink_metadata(&host).map_err(|e| ws_err("inspect", &host, e))?;
        if !meta.is_dir() {
            return Err(ExecError::Workspace(format!(
                "`{path}`: a parent is not a directory"
            )));
        }
    }
    host.push(file_name);
    let inspected = std::fs::symlink_metadata(&host).map_err(|e| ws_err("inspect", &host, e))?;
    if !inspected.is_file() {
        return Err(ExecError::Workspace(format!(
            "`{path}` is not a regular file"
        )));
    }
    if inspected.len() > max_bytes {
        return Err(too_large(path, max_bytes));
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(&host)
        .map_err(|e| ws_err("open", &host, e))?;
    let opened = file.metadata().map_err(|e| ws_err("inspect", &host, e))?;
    if !opened.is_file() || opened.dev() != inspected.dev() || opened.ino() != inspected.ino() {
        return Err(ExecError::Workspace(format!(
            "`{path}` changed while it was being read"
        )));
    }
    // One byte more than allowed tells "exactly at the limit" from "over it", even if
    // the file grew since it was inspected.
    let mut content = Vec::new();
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut content)
        .map_err(|e| ws_err("read", &host, e))?;
    if content.len() as u64 > max_bytes {
        return Err(too_large(path, max_bytes));
    }
    Ok(content)
}

fn too_large(path: &str, limit: u64) -> ExecError {
    ExecError::FileTooLarge {
        path: path.to_string(),
        limit,
    }
}

/// A listed artifact's path as a relative path of normal components only: stricter
/// than [`safe_relative_name`] (no `.` either, no empty components), since it names a
/// file that [`walk`] produced.
fn artifact_path(path: &str) -> Option<PathBuf> {
    if path.is_empty() || path.contains('\0') || path.starts_with('/') {
        return None;
    }
    let mut out = PathBuf::new();
    for part in path.split('/') {
        if part.is_empty() || part == "." || part == ".." {
            return None;
        }
        out.push(part);
    }
    Some(out)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
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

    fn paths(files: &[WorkspaceFile]) -> Vec<&str> {
        files.iter().map(|f| f.path.as_str()).collect()
    }

    #[tokio::test]
    async fn listing_shows_what_code_left_but_not_links_hidden_files_or_code_files() {
        let base = tempfile::tempdir().unwrap();
        let outside = base.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("secret.txt"), "host secret").unwrap();
        let ws = WorkspaceDir::create(&base.path().join("ws"), "r", None).unwrap();
        ws.write_code(&block("print(1)", Some("make_plot.py")), "py")
            .unwrap();
        let generated = ws.write_code(&block("print(2)", None), "py").unwrap();
        let root = ws.path();
        std::fs::write(root.join("data.csv"), "a,b\n1,2\n").unwrap();
        std::fs::create_dir_all(root.join("plots/deep")).unwrap();
        std::fs::write(root.join("plots/deep/fib.png"), [137u8, 80, 78, 71]).unwrap();
        std::fs::create_dir_all(root.join(".cache/matplotlib")).unwrap();
        std::fs::write(root.join(".cache/matplotlib/font.json"), "{}").unwrap();
        std::fs::write(root.join(".hidden"), "x").unwrap();
        std::fs::create_dir(root.join("__pycache__")).unwrap();
        std::fs::write(root.join("__pycache__/m.pyc"), "x").unwrap();
        std::os::unix::fs::symlink(outside.join("secret.txt"), root.join("link.txt")).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("linked_dir")).unwrap();
        let fifo = std::process::Command::new("mkfifo")
            .arg(root.join("pipe"))
            .status()
            .unwrap();
        assert!(fifo.success());

        let files = ws.list_files().await.unwrap();
        assert_eq!(paths(&files), ["data.csv", "plots/deep/fib.png"]);
        assert_eq!(files[0].size_bytes, 8);
        assert!(!paths(&files).contains(&generated.to_str().unwrap()));

        assert_eq!(ws.read_file("data.csv", 100).await.unwrap(), b"a,b\n1,2\n");
        assert_eq!(
            ws.read_file("plots/deep/fib.png", 4).await.unwrap(),
            [137u8, 80, 78, 71]
        );
        assert!(matches!(
            ws.read_file("data.csv", 7).await,
            Err(ExecError::FileTooLarge { limit: 7, .. })
        ));
        for refused in [
            "link.txt",
            "linked_dir/secret.txt",
            "pipe",
            "plots",
            "../outside/secret.txt",
            "/etc/passwd",
            "plots/../data.csv",
            "./data.csv",
            "missing.csv",
            "",
        ] {
            let result = ws.read_file(refused, 1_000).await;
            assert!(
                matches!(result, Err(ExecError::Workspace(_))),
                "{refused}: {result:?}"
            );
        }
    }

    #[tokio::test]
    async fn listing_is_bounded_in_depth_and_count() {
        let base = tempfile::tempdir().unwrap();
        let ws = WorkspaceDir::create(base.path(), "r", None).unwrap();
        let mut deep = ws.path().to_path_buf();
        for level in 0..MAX_DEPTH + 2 {
            deep.push(format!("d{level}"));
            std::fs::create_dir(&deep).unwrap();
            std::fs::write(deep.join("f.txt"), "x").unwrap();
        }
        let files = ws.list_files().await.unwrap();
        assert_eq!(files.len(), MAX_DEPTH, "{:?}", paths(&files));

        let many = ws.path().join("many");
        std::fs::create_dir(&many).unwrap();
        for i in 0..MAX_FILES + 10 {
            std::fs::write(many.join(format!("{i}.txt")), "x").unwrap();
        }
        assert_eq!(ws.list_files().await.unwrap().len(), MAX_FILES);
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
