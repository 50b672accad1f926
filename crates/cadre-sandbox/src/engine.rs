//! The connection to a Docker-compatible engine (dockerd, or Podman's Docker-compatible
//! service): which socket, the negotiated API version, whether it is Podman, and which
//! resource limits its kernel set-up supports. Shared by the docker backend and the
//! image builder; nothing here starts containers.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bollard::Docker;
use cadre_core::executor::ExecError;

/// Seconds each engine request may take before bollard gives up on it. Requests that
/// wait for code (a container's exit) are bounded by the wall-clock limit instead, and
/// an image import of a large root filesystem can take a while.
const REQUEST_TIMEOUT_SECS: u64 = 600;

/// How long start-up waits for the engine to answer a ping.
const PING_TIMEOUT: Duration = Duration::from_secs(10);

/// A connected, answering engine.
#[derive(Debug, Clone)]
pub(crate) struct Engine {
    pub(crate) docker: Docker,
    /// `unix:///…`, for messages.
    pub(crate) socket: String,
    /// The daemon says it is Podman.
    pub(crate) podman: bool,
    /// `Docker Engine 20.10.24`, `Podman Engine 4.3.1`.
    pub(crate) version: String,
    pub(crate) limits: EngineLimits,
}

/// Which cgroup limits the engine can apply here (its `/info`), so `info().enforced`
/// lists only limits that really are in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EngineLimits {
    pub(crate) memory: bool,
    pub(crate) swap: bool,
    pub(crate) pids: bool,
    pub(crate) cpu_quota: bool,
}

/// The socket to use: `configured` (a `unix://` URL or a path), else `DOCKER_HOST`, else
/// the first existing of dockerd's socket and Podman's rootful and rootless sockets
/// (dockerd's when none exists, for the error message).
pub(crate) fn socket_path(configured: Option<&str>) -> Result<PathBuf, ExecError> {
    let chosen = configured
        .map(str::to_string)
        .or_else(|| std::env::var("DOCKER_HOST").ok())
        .map(|host| host.trim().to_string())
        .filter(|host| !host.is_empty());
    if let Some(host) = chosen {
        return match host.strip_prefix("unix://") {
            Some(path) => Ok(PathBuf::from(path)),
            None if host.starts_with('/') => Ok(PathBuf::from(host)),
            None => Err(ExecError::Unavailable(format!(
                "docker host `{host}` is not a unix socket: only unix:///path sockets are supported \
                 (the engine must be local, since the run's workspace is a host directory bound into \
                 each container)"
            ))),
        };
    }
    let mut candidates = vec![
        PathBuf::from("/var/run/docker.sock"),
        PathBuf::from("/run/podman/podman.sock"),
    ];
    if let Ok(runtime_dir) = std::env::var("XDG_RUNTIME_DIR") {
        candidates.push(Path::new(&runtime_dir).join("podman/podman.sock"));
    }
    Ok(candidates
        .iter()
        .find(|path| path.exists())
        .cloned()
        .unwrap_or_else(|| PathBuf::from("/var/run/docker.sock")))
}

/// Connects to the engine at `configured` (see [`socket_path`]), negotiates the API
/// version (dockerd 20.10 and Podman 4 speak 1.41, older than bollard's default) and
/// checks that it answers.
pub(crate) async fn connect(configured: Option<&str>) -> Result<Engine, ExecError> {
    let path = socket_path(configured)?;
    let socket = format!("unix://{}", path.display());
    let unreachable = |why: String| {
        ExecError::Unavailable(format!(
            "cannot reach a Docker engine at {socket}: {why}. Start dockerd (or `podman system service`), \
             or point DOCKER_HOST / CADRE_DOCKER_HOST at its socket"
        ))
    };
    if !path.exists() {
        return Err(unreachable("no such socket".to_string()));
    }
    let docker =
        Docker::connect_with_unix(&socket, REQUEST_TIMEOUT_SECS, bollard::API_DEFAULT_VERSION)
            .map_err(|e| unreachable(e.to_string()))?;
    let docker = tokio::time::timeout(PING_TIMEOUT, docker.negotiate_version())
        .await
        .map_err(|_| unreachable("no answer within 10 s".to_string()))?
        .map_err(|e| unreachable(e.to_string()))?;
    tokio::time::timeout(PING_TIMEOUT, docker.ping())
        .await
        .map_err(|_| unreachable("no answer to ping within 10 s".to_string()))?
        .map_err(|e| unreachable(e.to_string()))?;
    let version = docker
        .version()
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    let info = docker
        .info()
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    let component = version
        .components
        .as_ref()
        .and_then(|components| components.first())
        // dockerd names its component `Engine`, Podman `Podman Engine`.
        .map(|c| match c.name.as_str() {
            "Engine" => format!("Docker Engine {}", c.version),
            name => format!("{name} {}", c.version),
        });
    let podman = component
        .as_deref()
        .is_some_and(|c| c.to_ascii_lowercase().contains("podman"))
        || version
            .platform
            .as_ref()
            .is_some_and(|p| p.name.to_ascii_lowercase().contains("podman"));
    let version = component.unwrap_or_else(|| {
        format!(
            "Docker Engine {}",
            version.version.as_deref().unwrap_or("(unknown version)")
        )
    });
    Ok(Engine {
        docker,
        socket,
        podman,
        version,
        limits: EngineLimits {
            memory: info.memory_limit.unwrap_or(false),
            swap: info.swap_limit.unwrap_or(false),
            pids: info.pids_limit.unwrap_or(false),
            cpu_quota: info.cpu_cfs_quota.unwrap_or(false),
        },
    })
}

/// Whether an engine error is a 404 (no such container, image or exec).
pub(crate) fn is_not_found(error: &bollard::errors::Error) -> bool {
    matches!(
        error,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// An engine failure while running code, as an [`ExecError`].
pub(crate) fn failed(action: &str, error: &bollard::errors::Error) -> ExecError {
    ExecError::Spawn(format!("docker: cannot {action}: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_sockets_are_unix_paths_only() {
        assert_eq!(
            socket_path(Some("unix:///tmp/d.sock")).unwrap(),
            PathBuf::from("/tmp/d.sock")
        );
        assert_eq!(
            socket_path(Some("/run/podman/podman.sock")).unwrap(),
            PathBuf::from("/run/podman/podman.sock")
        );
        assert!(matches!(
            socket_path(Some("tcp://10.0.0.1:2375")),
            Err(ExecError::Unavailable(m)) if m.contains("not a unix socket")
        ));
    }
}
