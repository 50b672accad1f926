//! Building the docker backend's image on this machine, never from a registry: a root
//! filesystem is assembled locally, written as a tar archive and imported into the
//! engine (`POST /images/create?fromSrc=-`, what `docker import` does) under a tag.
//!
//! Two sources ([`ImageSource`]):
//!
//! - **debootstrap** (the operator's choice): `debootstrap --variant=minbase` of the host's
//!   Debian release (or `--suite`) with [`DEBOOTSTRAP_PACKAGES`]: `python3`,
//!   `python3-numpy`, `python3-pandas` and `python3-matplotlib`, all from Debian's
//!   archive, plus the minbase set (coreutils, bash, dash, grep, sed, findutils, …). The
//!   root filesystem is cached in a directory keyed by release, packages and mirror, so a
//!   rebuild only re-imports it. Needs root and the `debootstrap` package; downloads from
//!   the Debian mirror (debootstrap's default, or `--mirror`).
//! - **host** (fast, for tests and quick trials; builds in seconds): the host's own
//!   python3 with its standard library (no site-packages: no numpy), the shared libraries
//!   they load (found with `ldd`), `/bin/sh`, bash and the basic tools of
//!   [`HOST_TOOLS`] when the host has them, and an `/etc/passwd` with `nobody`.
//!
//! Both images contain `/tmp` and `/workspace` mount points and are meant to run
//! read-only.

use std::collections::{BTreeSet, HashSet};
use std::hash::{Hash, Hasher};
use std::io::{BufWriter, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};

use bollard::query_parameters::CreateImageOptions;
use futures::StreamExt;
use tokio::io::AsyncReadExt;

use crate::engine;

/// Debian packages the debootstrap image adds to the minbase set.
pub const DEBOOTSTRAP_PACKAGES: &[&str] = &[
    "python3",
    "python3-numpy",
    "python3-pandas",
    "python3-matplotlib",
];

/// Tools the host image copies when the host has them (with the libraries they need),
/// besides python3, `/bin/sh` and bash.
pub const HOST_TOOLS: &[&str] = &[
    "basename", "cat", "chmod", "cp", "cut", "date", "dirname", "du", "echo", "env", "expr",
    "false", "find", "grep", "head", "id", "ln", "ls", "mkdir", "mktemp", "mv", "printf", "pwd",
    "rm", "rmdir", "sed", "seq", "sleep", "sort", "stat", "tail", "tee", "test", "touch", "tr",
    "true", "uname", "uniq", "wc", "xargs", "yes",
];

/// Standard-library directories left out of the host image: third-party packages (the
/// image is the standard library only) and the library's own test suites.
const SKIPPED_STDLIB_DIRS: &[&str] = &["site-packages", "dist-packages", "test", "tests"];

/// Why an image could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The engine is unreachable or refused the import.
    #[error("{0}")]
    Engine(String),
    /// A host tool the source needs is missing or failed.
    #[error("{0}")]
    Tool(String),
    /// Reading the host's files or writing the archive failed.
    #[error("cannot {action} {}: {source}", .path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// On which path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// Where the root filesystem comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ImageSource {
    /// The host's python3, standard library, shared libraries and basic tools.
    Host {
        /// The python interpreter to copy (`/usr/bin/python3`).
        python: PathBuf,
    },
    /// A cached `debootstrap --variant=minbase` root filesystem.
    Debootstrap(DebootstrapOptions),
}

/// How the debootstrap root filesystem is made.
#[derive(Debug, Clone, PartialEq)]
pub struct DebootstrapOptions {
    /// Debian release (`bookworm`); `None`: the host's (`VERSION_CODENAME` in
    /// `/etc/os-release`).
    pub suite: Option<String>,
    /// Mirror URL; `None`: debootstrap's default.
    pub mirror: Option<String>,
    /// Packages added to minbase ([`DEBOOTSTRAP_PACKAGES`] by default).
    pub packages: Vec<String>,
    /// Directory holding cached root filesystems.
    pub cache_dir: PathBuf,
}

impl DebootstrapOptions {
    /// The default packages, cached under `cache_dir`.
    pub fn new(cache_dir: PathBuf) -> Self {
        Self {
            suite: None,
            mirror: None,
            packages: DEBOOTSTRAP_PACKAGES.iter().map(|p| p.to_string()).collect(),
            cache_dir,
        }
    }
}

/// The default cache directory for debootstrap root filesystems:
/// `/var/cache/cadre/sandbox-rootfs` for root, else `$XDG_CACHE_HOME/cadre/sandbox-rootfs`
/// (or `~/.cache/…`).
pub fn default_cache_dir() -> PathBuf {
    if crate::host::effective_uid() == Some(0) {
        return PathBuf::from("/var/cache/cadre/sandbox-rootfs");
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("cadre/sandbox-rootfs")
}

/// A built image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltImage {
    /// The tag it was imported under.
    pub tag: String,
    /// Its id (`sha256:…`).
    pub id: String,
    /// Size of the imported archive, bytes.
    pub archive_bytes: u64,
}

/// Builds the root filesystem from `source`, imports it into the engine at
/// `engine_host` (see [`crate::DockerConfig::host`]) as `tag`, and reports each step
/// through `progress`.
pub async fn build(
    engine_host: Option<&str>,
    tag: &str,
    source: &ImageSource,
    progress: impl Fn(&str),
) -> Result<BuiltImage, ImageError> {
    let engine = engine::connect(engine_host)
        .await
        .map_err(|e| ImageError::Engine(e.to_string()))?;
    let work = std::env::temp_dir().join(format!("cadre-image-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&work).map_err(io("create", &work))?;
    let archive = work.join("rootfs.tar");
    let outcome = async {
        let assembled = {
            let source = source.clone();
            let archive = archive.clone();
            match &source {
                ImageSource::Host { python } => {
                    progress(&format!(
                        "assembling a root filesystem from this host's {} and basic tools",
                        python.display()
                    ));
                }
                ImageSource::Debootstrap(options) => {
                    progress(&format!(
                        "debootstrap (minbase + {}), cached in {}",
                        options.packages.join(", "),
                        options.cache_dir.display()
                    ));
                }
            }
            tokio::task::spawn_blocking(move || match &source {
                ImageSource::Host { python } => host_archive(python, &archive),
                ImageSource::Debootstrap(options) => {
                    let rootfs = debootstrap(options)?;
                    tree_archive(&rootfs, &archive)
                }
            })
            .await
            .map_err(|e| ImageError::Tool(format!("the archive task failed: {e}")))?
        };
        let notes = assembled?;
        for note in notes {
            progress(&note);
        }
        let archive_bytes = std::fs::metadata(&archive)
            .map_err(io("inspect", &archive))?
            .len();
        progress(&format!(
            "importing {:.1} MiB into {} ({}) as {tag}",
            archive_bytes as f64 / (1024.0 * 1024.0),
            engine.version,
            engine.socket
        ));
        // The image the tag named until now, removed once the tag moves (if no container
        // still uses it), so rebuilds do not pile up untagged images.
        let previous = engine
            .docker
            .inspect_image(tag)
            .await
            .ok()
            .and_then(|i| i.id);
        import(&engine, &archive, tag).await?;
        let id = engine
            .docker
            .inspect_image(tag)
            .await
            .map_err(|e| ImageError::Engine(format!("cannot inspect the imported image: {e}")))?
            .id
            .unwrap_or_default();
        if let Some(previous) = previous.filter(|previous| *previous != id) {
            let _ = engine
                .docker
                .remove_image(
                    &previous,
                    None::<bollard::query_parameters::RemoveImageOptions>,
                    None,
                )
                .await;
        }
        Ok(BuiltImage {
            tag: tag.to_string(),
            id,
            archive_bytes,
        })
    }
    .await;
    let _ = std::fs::remove_dir_all(&work);
    outcome
}

/// Streams `archive` to the engine's image import.
async fn import(engine: &engine::Engine, archive: &Path, tag: &str) -> Result<(), ImageError> {
    let file = tokio::fs::File::open(archive)
        .await
        .map_err(io("open", archive))?;
    let body = futures::stream::try_unfold(file, |mut file| async move {
        let mut chunk = vec![0u8; 1 << 20];
        let n = file.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        chunk.truncate(n);
        Ok(Some((bytes::Bytes::from(chunk), file)))
    });
    // The whole `name:tag` as `repo` (the API allows a tag there): Podman's
    // Docker-compatible import ignores a separate `tag`.
    let (repo, version) = split_tag(tag);
    let mut imported = engine.docker.create_image(
        Some(CreateImageOptions {
            from_src: Some("-".to_string()),
            repo: Some(format!("{repo}:{version}")),
            ..Default::default()
        }),
        Some(bollard::body_try_stream(body)),
        None,
    );
    while let Some(step) = imported.next().await {
        step.map_err(|e| ImageError::Engine(format!("the engine refused the import: {e}")))?;
    }
    Ok(())
}

/// `name:tag` → (`name`, `tag`); a registry port (`host:5000/name`) is not a tag.
fn split_tag(tag: &str) -> (&str, &str) {
    match tag.rfind(':') {
        Some(colon) if !tag[colon..].contains('/') => (&tag[..colon], &tag[colon + 1..]),
        _ => (tag, "latest"),
    }
}

/// The host image's archive. Returns notes for the operator (what was left out).
fn host_archive(python: &Path, archive: &Path) -> Result<Vec<String>, ImageError> {
    let mut notes = Vec::new();
    let stdlib = python_stdlib(python)?;
    let mut tar = Rootfs::create(archive, false)?;
    for dir in ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"] {
        if std::fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink()) {
            tar.host_path(Path::new(dir))?;
        }
    }
    let mut programs: Vec<PathBuf> = vec![python.to_path_buf(), PathBuf::from("/bin/sh")];
    if Path::new("/bin/bash").exists() {
        programs.push(PathBuf::from("/bin/bash"));
    }
    let mut missing = Vec::new();
    for tool in HOST_TOOLS {
        match crate::host::find_program(tool) {
            Some(path) => programs.push(path),
            None => missing.push(*tool),
        }
    }
    if !missing.is_empty() {
        notes.push(format!(
            "not on this host, left out: {}",
            missing.join(", ")
        ));
    }
    for program in &programs {
        tar.host_path(program)?;
    }
    let mut shared_objects = Vec::new();
    for dir in &stdlib {
        tar.host_tree(dir, dir, &mut |path, meta| {
            if meta.is_dir() {
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                return !SKIPPED_STDLIB_DIRS.contains(&name);
            }
            if path.extension().is_some_and(|ext| ext == "so") {
                shared_objects.push(path.to_path_buf());
            }
            true
        })?;
    }
    let mut elves = programs;
    elves.extend(shared_objects);
    for library in shared_libraries(&elves)? {
        tar.host_path(&library)?;
    }
    if Path::new("/etc/ld.so.cache").is_file() {
        tar.host_path(Path::new("/etc/ld.so.cache"))?;
    }
    tar.bytes(
        Path::new("/etc/passwd"),
        0o644,
        b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
    )?;
    tar.bytes(
        Path::new("/etc/group"),
        0o644,
        b"root:x:0:\nnogroup:x:65534:\n",
    )?;
    tar.mount_points()?;
    tar.finish()?;
    Ok(notes)
}

/// The standard-library directories of `python` (`stdlib` and `platstdlib`).
fn python_stdlib(python: &Path) -> Result<Vec<PathBuf>, ImageError> {
    let output = Command::new(python)
        .args([
            "-c",
            "import sysconfig\nfor k in ('stdlib', 'platstdlib'): print(sysconfig.get_path(k))",
        ])
        .env_clear()
        .stdin(Stdio::null())
        .output()
        .map_err(|e| ImageError::Tool(format!("cannot run {}: {e}", python.display())))?;
    if !output.status.success() {
        return Err(ImageError::Tool(format!(
            "{} cannot tell its standard library: {}",
            python.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let dirs: BTreeSet<PathBuf> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with('/'))
        .filter_map(|line| std::fs::canonicalize(line).ok())
        .collect();
    Ok(dirs.into_iter().collect())
}

/// The shared libraries (and the dynamic loader) `elves` need, per `ldd`.
fn shared_libraries(elves: &[PathBuf]) -> Result<BTreeSet<PathBuf>, ImageError> {
    let ldd = crate::host::find_program("ldd")
        .ok_or_else(|| ImageError::Tool("ldd not found (package libc-bin)".to_string()))?;
    let mut libraries = BTreeSet::new();
    // Batches keep the command line well under ARG_MAX.
    for batch in elves.chunks(200) {
        let output = Command::new(&ldd)
            .args(batch)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .map_err(|e| ImageError::Tool(format!("cannot run ldd: {e}")))?;
        libraries.extend(parse_ldd(&String::from_utf8_lossy(&output.stdout)));
    }
    Ok(libraries)
}

/// Library paths in `ldd` output: `name => /path (0x…)` and the loader's `/path (0x…)`.
fn parse_ldd(output: &str) -> BTreeSet<PathBuf> {
    output
        .lines()
        .filter(|line| line.starts_with(char::is_whitespace))
        .filter_map(|line| {
            let line = line.trim();
            let path = match line.split_once("=>") {
                Some((_, right)) => right.trim(),
                None => line,
            };
            let path = path.split(" (").next().unwrap_or("").trim();
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect()
}

/// The cached debootstrap root filesystem for `options`, made when missing.
fn debootstrap(options: &DebootstrapOptions) -> Result<PathBuf, ImageError> {
    let suite = match &options.suite {
        Some(suite) => suite.clone(),
        None => host_codename()?,
    };
    let mut packages = options.packages.clone();
    packages.sort();
    packages.dedup();
    let mut hasher = std::hash::DefaultHasher::new();
    (&packages, &options.mirror).hash(&mut hasher);
    let dir = options
        .cache_dir
        .join(format!("{suite}-{:016x}", hasher.finish()));
    let rootfs = dir.join("rootfs");
    let marker = dir.join("complete");
    if marker.is_file() && rootfs.is_dir() {
        return Ok(rootfs);
    }
    if crate::host::effective_uid() != Some(0) {
        return Err(ImageError::Tool(
            "debootstrap needs root: run `cadre sandbox image build` as root, or use --from host"
                .to_string(),
        ));
    }
    let program = crate::host::find_program("debootstrap").ok_or_else(|| {
        ImageError::Tool(
            "debootstrap not found: install it (apt-get install debootstrap), or use --from host"
                .to_string(),
        )
    })?;
    // A partial tree from an interrupted attempt is not reused.
    if rootfs.exists() {
        std::fs::remove_dir_all(&rootfs).map_err(io("remove", &rootfs))?;
    }
    std::fs::create_dir_all(&rootfs).map_err(io("create", &rootfs))?;
    let log_path = dir.join("debootstrap.log");
    let log = std::fs::File::create(&log_path).map_err(io("create", &log_path))?;
    let log_err = log.try_clone().map_err(io("open", &log_path))?;
    let mut command = Command::new(program);
    command
        .arg("--variant=minbase")
        .arg(format!("--include={}", packages.join(",")))
        .arg(&suite)
        .arg(&rootfs);
    if let Some(mirror) = &options.mirror {
        command.arg(mirror);
    }
    let status = command
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .status()
        .map_err(|e| ImageError::Tool(format!("cannot run debootstrap: {e}")))?;
    if !status.success() {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(5).collect();
        return Err(ImageError::Tool(format!(
            "debootstrap {suite} failed ({status}); see {}: {}",
            log_path.display(),
            tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
        )));
    }
    // Downloaded packages and index files are not needed to run code.
    for leftover in ["var/cache/apt/archives", "var/lib/apt/lists"] {
        let path = rootfs.join(leftover);
        if let Ok(entries) = std::fs::read_dir(&path) {
            for entry in entries.flatten() {
                let entry = entry.path();
                if entry.is_file() {
                    let _ = std::fs::remove_file(&entry);
                }
            }
        }
    }
    // Nor is documentation, which no code reads.
    for docs in ["usr/share/doc", "usr/share/man", "usr/share/info"] {
        let _ = std::fs::remove_dir_all(rootfs.join(docs));
    }
    let workspace = rootfs.join("workspace");
    std::fs::create_dir_all(&workspace).map_err(io("create", &workspace))?;
    std::fs::write(&marker, packages.join("\n")).map_err(io("write", &marker))?;
    Ok(rootfs)
}

/// `VERSION_CODENAME` of `/etc/os-release`.
fn host_codename() -> Result<String, ImageError> {
    let path = Path::new("/etc/os-release");
    let text = std::fs::read_to_string(path).map_err(io("read", path))?;
    text.lines()
        .find_map(|line| line.strip_prefix("VERSION_CODENAME="))
        .map(|value| value.trim_matches('"').to_string())
        .filter(|value| !value.is_empty())
        .ok_or_else(|| {
            ImageError::Tool(
                "no VERSION_CODENAME in /etc/os-release: pass --suite (a Debian release name)"
                    .to_string(),
            )
        })
}

/// The archive of a whole root filesystem directory, owners and modes kept; device
/// nodes, sockets and fifos are left out (the engine provides `/dev`).
fn tree_archive(rootfs: &Path, archive: &Path) -> Result<Vec<String>, ImageError> {
    let mut tar = Rootfs::create(archive, true)?;
    let virtual_dirs = [rootfs.join("proc"), rootfs.join("sys"), rootfs.join("dev")];
    tar.host_tree(rootfs, Path::new("/"), &mut |path, _| {
        path.parent()
            .is_none_or(|parent| !virtual_dirs.iter().any(|d| d == parent))
    })?;
    tar.mount_points()?;
    tar.finish()?;
    Ok(Vec::new())
}

/// A root filesystem being written as a tar archive.
struct Rootfs {
    builder: tar::Builder<BufWriter<std::fs::File>>,
    archive: PathBuf,
    /// Entries written so far (each at most once).
    written: HashSet<PathBuf>,
    /// Keep host owners (a debootstrap tree) rather than making everything root's.
    keep_owners: bool,
}

impl Rootfs {
    fn create(archive: &Path, keep_owners: bool) -> Result<Self, ImageError> {
        let file = std::fs::File::create(archive).map_err(io("create", archive))?;
        let mut builder = tar::Builder::new(BufWriter::new(file));
        builder.follow_symlinks(false);
        Ok(Self {
            builder,
            archive: archive.to_path_buf(),
            written: HashSet::new(),
            keep_owners,
        })
    }

    fn header(
        &self,
        kind: tar::EntryType,
        mode: u32,
        meta: Option<&std::fs::Metadata>,
    ) -> tar::Header {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_mode(mode);
        let (uid, gid) = match meta {
            Some(meta) if self.keep_owners => (meta.uid(), meta.gid()),
            _ => (0, 0),
        };
        header.set_uid(u64::from(uid));
        header.set_gid(u64::from(gid));
        header.set_mtime(meta.map_or(0, |m| u64::try_from(m.mtime()).unwrap_or(0)));
        header.set_size(0);
        header
    }

    /// `at` in the image, as a relative archive path; `None` for the root itself.
    fn name(at: &Path) -> Option<PathBuf> {
        let relative: PathBuf = at
            .components()
            .filter(|c| matches!(c, Component::Normal(_)))
            .collect();
        (!relative.as_os_str().is_empty()).then_some(relative)
    }

    fn write_err(&self, error: std::io::Error) -> ImageError {
        ImageError::Io {
            action: "write",
            path: self.archive.clone(),
            source: error,
        }
    }

    fn dir(
        &mut self,
        at: &Path,
        mode: u32,
        meta: Option<&std::fs::Metadata>,
    ) -> Result<(), ImageError> {
        let Some(name) = Self::name(at) else {
            return Ok(());
        };
        if !self.written.insert(name.clone()) {
            return Ok(());
        }
        self.parents(&name)?;
        let mut header = self.header(tar::EntryType::Directory, mode, meta);
        self.builder
            .append_data(&mut header, &name, std::io::empty())
            .map_err(|e| self.write_err(e))
    }

    /// Directories above `name` not written yet, root-owned 0755.
    fn parents(&mut self, name: &Path) -> Result<(), ImageError> {
        if let Some(parent) = name.parent().filter(|p| !p.as_os_str().is_empty())
            && !self.written.contains(parent)
        {
            self.dir(&Path::new("/").join(parent), 0o755, None)?;
        }
        Ok(())
    }

    fn symlink(
        &mut self,
        at: &Path,
        target: &Path,
        meta: Option<&std::fs::Metadata>,
    ) -> Result<(), ImageError> {
        let Some(name) = Self::name(at) else {
            return Ok(());
        };
        if !self.written.insert(name.clone()) {
            return Ok(());
        }
        self.parents(&name)?;
        let mut header = self.header(tar::EntryType::Symlink, 0o777, meta);
        self.builder
            .append_link(&mut header, &name, target)
            .map_err(|e| self.write_err(e))
    }

    fn file(&mut self, host: &Path, at: &Path, meta: &std::fs::Metadata) -> Result<(), ImageError> {
        let Some(name) = Self::name(at) else {
            return Ok(());
        };
        if !self.written.insert(name.clone()) {
            return Ok(());
        }
        self.parents(&name)?;
        // Host files lose setuid/setgid bits; a debootstrap tree keeps its own (inert
        // anyway under no-new-privileges).
        let mode = if self.keep_owners {
            meta.mode() & 0o7777
        } else {
            meta.mode() & 0o777
        };
        let mut header = self.header(tar::EntryType::Regular, mode, Some(meta));
        header.set_size(meta.len());
        let file = std::fs::File::open(host).map_err(io("read", host))?;
        self.builder
            .append_data(&mut header, &name, file)
            .map_err(|e| self.write_err(e))
    }

    fn bytes(&mut self, at: &Path, mode: u32, content: &[u8]) -> Result<(), ImageError> {
        let Some(name) = Self::name(at) else {
            return Ok(());
        };
        if !self.written.insert(name.clone()) {
            return Ok(());
        }
        self.parents(&name)?;
        let mut header = self.header(tar::EntryType::Regular, mode, None);
        header.set_size(content.len() as u64);
        self.builder
            .append_data(&mut header, &name, content)
            .map_err(|e| self.write_err(e))
    }

    /// Copies the host path `path` to the same place in the image, recreating every
    /// symlink met on the way (`/bin` → `usr/bin`, `python3` → `python3.11`), so the
    /// path resolves inside as it does on the host.
    fn host_path(&mut self, path: &Path) -> Result<(), ImageError> {
        self.host_path_depth(&normalize(path), 0)
    }

    fn host_path_depth(&mut self, path: &Path, depth: usize) -> Result<(), ImageError> {
        if depth > 40 {
            return Err(ImageError::Tool(format!(
                "too many symlinks resolving {}",
                path.display()
            )));
        }
        let parts: Vec<Component> = path.components().skip(1).collect();
        let mut resolved = PathBuf::from("/");
        for (i, part) in parts.iter().enumerate() {
            let candidate = resolved.join(part);
            let meta = std::fs::symlink_metadata(&candidate).map_err(io("inspect", &candidate))?;
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&candidate).map_err(io("read", &candidate))?;
                self.symlink(&candidate, &target, None)?;
                let mut next = resolved.join(&target);
                for rest in &parts[i + 1..] {
                    next.push(rest);
                }
                return self.host_path_depth(&normalize(&next), depth + 1);
            }
            let last = i + 1 == parts.len();
            if meta.is_dir() {
                self.dir(&candidate, meta.mode() & 0o7777, None)?;
            } else if last && meta.is_file() {
                self.file(&candidate, &candidate, &meta)?;
            }
            resolved = candidate;
        }
        Ok(())
    }

    /// Copies the host tree `root` to `at` in the image without following symlinks;
    /// `keep(path, meta)` can leave entries (and whole directories) out.
    fn host_tree(
        &mut self,
        root: &Path,
        at: &Path,
        keep: &mut dyn FnMut(&Path, &std::fs::Metadata) -> bool,
    ) -> Result<(), ImageError> {
        let meta = std::fs::symlink_metadata(root).map_err(io("inspect", root))?;
        self.dir(at, meta.mode() & 0o7777, Some(&meta))?;
        let mut pending = vec![(root.to_path_buf(), at.to_path_buf())];
        while let Some((dir, dir_at)) = pending.pop() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
                .map_err(io("list", &dir))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .collect();
            // A stable order makes the archive (and the image id) reproducible.
            entries.sort();
            for path in entries {
                let Some(file_name) = path.file_name() else {
                    continue;
                };
                let entry_at = dir_at.join(file_name);
                let meta = std::fs::symlink_metadata(&path).map_err(io("inspect", &path))?;
                if !keep(&path, &meta) {
                    continue;
                }
                let kind = meta.file_type();
                if kind.is_symlink() {
                    let target = std::fs::read_link(&path).map_err(io("read", &path))?;
                    self.symlink(&entry_at, &target, Some(&meta))?;
                } else if kind.is_dir() {
                    self.dir(&entry_at, meta.mode() & 0o7777, Some(&meta))?;
                    pending.push((path, entry_at));
                } else if kind.is_file() {
                    self.file(&path, &entry_at, &meta)?;
                }
            }
        }
        Ok(())
    }

    /// Directories the engine mounts over or code expects: `/tmp` (a tmpfs at run time),
    /// `/workspace`, `/proc`, `/sys`, `/dev`, `/etc`, `/root`.
    fn mount_points(&mut self) -> Result<(), ImageError> {
        for (dir, mode) in [
            ("/tmp", 0o1777),
            ("/workspace", 0o755),
            ("/proc", 0o555),
            ("/sys", 0o555),
            ("/dev", 0o755),
            ("/etc", 0o755),
            ("/root", 0o700),
        ] {
            self.dir(Path::new(dir), mode, None)?;
        }
        Ok(())
    }

    fn finish(self) -> Result<(), ImageError> {
        let archive = self.archive.clone();
        let mut writer = self.builder.into_inner().map_err(io("write", &archive))?;
        writer.flush().map_err(io("write", &archive))?;
        let file = writer.get_ref();
        let _ = file.set_permissions(std::fs::Permissions::from_mode(0o600));
        Ok(())
    }
}

/// `a/./b/../c` → `a/c`, lexically. Sound here because the prefix a relative link is
/// joined to has no symlinks left in it.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for part in path.components() {
        match part {
            Component::Normal(name) => out.push(name),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ImageError {
    let path = path.to_path_buf();
    move |source| ImageError::Io {
        action,
        path,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_output_yields_library_paths() {
        let output = "/usr/bin/python3.11:\n\tlinux-vdso.so.1 (0x00007ffd)\n\
                      \tlibm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x00007f)\n\
                      \t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n\
                      /usr/lib/python3.11/lib-dynload/_ssl.so:\n\
                      \tlibssl.so.3 => /lib/x86_64-linux-gnu/libssl.so.3 (0x00007f)\n\
                      \tlibgone.so => not found\n";
        let libraries: Vec<PathBuf> = parse_ldd(output).into_iter().collect();
        assert_eq!(
            libraries,
            vec![
                PathBuf::from("/lib/x86_64-linux-gnu/libm.so.6"),
                PathBuf::from("/lib/x86_64-linux-gnu/libssl.so.3"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2"),
            ]
        );
    }

    #[test]
    fn tags_split_into_repository_and_tag() {
        assert_eq!(
            split_tag("cadre-sandbox:latest"),
            ("cadre-sandbox", "latest")
        );
        assert_eq!(split_tag("cadre-sandbox"), ("cadre-sandbox", "latest"));
        assert_eq!(
            split_tag("localhost:5000/sb"),
            ("localhost:5000/sb", "latest")
        );
        assert_eq!(
            split_tag("localhost:5000/sb:v1"),
            ("localhost:5000/sb", "v1")
        );
    }

    #[test]
    fn paths_normalize_lexically() {
        assert_eq!(
            normalize(Path::new("/usr/lib64/../lib/./x/ld.so")),
            PathBuf::from("/usr/lib/x/ld.so")
        );
    }

    #[test]
    fn the_host_archive_resolves_python_through_its_links() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("rootfs.tar");
        host_archive(Path::new("/usr/bin/python3"), &archive).unwrap();
        let mut names = HashSet::new();
        let mut tar = tar::Archive::new(std::fs::File::open(&archive).unwrap());
        for entry in tar.entries().unwrap() {
            let entry = entry.unwrap();
            assert_eq!(entry.header().uid().unwrap(), 0);
            names.insert(entry.path().unwrap().into_owned());
        }
        let real_python = std::fs::canonicalize("/usr/bin/python3").unwrap();
        for expected in [
            PathBuf::from("usr/bin/python3"),
            real_python.strip_prefix("/").unwrap().to_path_buf(),
            PathBuf::from("etc/passwd"),
            PathBuf::from("tmp"),
            PathBuf::from("workspace"),
        ] {
            assert!(names.contains(&expected), "{} missing", expected.display());
        }
        assert!(
            !names
                .iter()
                .any(|n| n.to_string_lossy().contains("dist-packages")),
            "third-party packages must stay out"
        );
    }
}
