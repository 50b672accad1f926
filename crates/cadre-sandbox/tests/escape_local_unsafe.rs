//! The escape suite checks itself: run against the unsandboxed backend, its harmless
//! attacks must get through and be reported. A suite that found nothing here would pass
//! any backend.

#![allow(clippy::unwrap_used, clippy::panic)]

mod escape;

use std::sync::Arc;

use cadre_sandbox::{LocalUnsafeExecutor, SandboxConfig};

#[tokio::test]
async fn the_suite_reports_escapes_from_an_unsandboxed_backend() {
    let root = tempfile::tempdir().unwrap();
    let base_dir = root.path().join("workspaces");
    let config = SandboxConfig {
        limits: escape::suite_limits(),
        base_dir: base_dir.clone(),
        workspace_quota_bytes: escape::SUITE_QUOTA_BYTES,
        ..SandboxConfig::default()
    };
    let target = escape::Target {
        name: "local-unsafe",
        executor: Arc::new(LocalUnsafeExecutor::new(config).unwrap()),
        base_dir,
    };
    let (attempted, failures) = escape::escapes(&target, false).await;
    let all = failures.join("\n");
    for expected in [
        "network: loopback and a host listener:",
        "host files: home, data dir, SQLite file, secret key:",
        "host processes: /proc/*/environ and cmdlines:",
        "symlinks out of the workspace:",
    ] {
        assert!(
            failures.iter().any(|f| f.starts_with(expected)),
            "the suite missed {expected:?} on an unsandboxed backend ({attempted} attacks run):\n{all}"
        );
    }
}
