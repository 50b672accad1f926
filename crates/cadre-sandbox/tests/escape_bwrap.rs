//! The escape suite (`tests/escape`) against the bubblewrap backend, with the limits the
//! suite sets. Fails (never skips) when bubblewrap is missing: `make test` installs it.

#![allow(clippy::unwrap_used, clippy::panic)]

mod escape;

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use cadre_sandbox::{BwrapExecutor, SandboxConfig};

fn target(root: &tempfile::TempDir) -> escape::Target {
    // Run uids must be able to pass through the base directory to their workspace.
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    let base_dir = root.path().join("workspaces");
    let config = SandboxConfig {
        limits: escape::suite_limits(),
        base_dir: base_dir.clone(),
        workspace_quota_bytes: escape::SUITE_QUOTA_BYTES,
        init_program: Some(env!("CARGO_BIN_EXE_cadre-sandbox-init").into()),
        ..SandboxConfig::default()
    };
    let executor = BwrapExecutor::new(config).unwrap_or_else(|error| {
        panic!("the bwrap sandbox is required and unavailable: {error}; `make test` installs bubblewrap")
    });
    escape::Target {
        name: "bwrap",
        executor: Arc::new(executor),
        base_dir,
    }
}

#[tokio::test]
async fn every_attack_is_contained() {
    let root = tempfile::tempdir().unwrap();
    escape::assert_contained(&target(&root)).await;
}

#[tokio::test]
async fn two_runs_at_once_cannot_reach_each_other() {
    let root = tempfile::tempdir().unwrap();
    escape::assert_concurrent_runs_isolated(&target(&root)).await;
}
