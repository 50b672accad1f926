//! The escape suite (`tests/escape`) against the docker backend, one container per
//! execution and one per run, in the engine `cadre_sandbox::test_engine` provides.
//! Without an engine the tests print why and skip; with `CADRE_REQUIRE_DOCKER=1`
//! (`make test`) they fail instead.

#![allow(clippy::unwrap_used, clippy::panic, clippy::print_stderr)]

mod escape;

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use cadre_sandbox::test_engine::{self, TestEngine};
use cadre_sandbox::{ContainerPer, DockerExecutor, SandboxConfig};

async fn target(
    engine: &TestEngine,
    root: &tempfile::TempDir,
    per: ContainerPer,
) -> escape::Target {
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    let base_dir = root.path().join("workspaces");
    let config = SandboxConfig {
        limits: escape::suite_limits(),
        base_dir: base_dir.clone(),
        workspace_quota_bytes: escape::SUITE_QUOTA_BYTES,
        docker: cadre_sandbox::DockerConfig {
            container_per: per,
            ..engine.config()
        },
        ..SandboxConfig::default()
    };
    let executor = DockerExecutor::new(config)
        .await
        .unwrap_or_else(|error| panic!("docker backend on {}: {error}", engine.description));
    escape::Target {
        name: match per {
            ContainerPer::Execution => "docker (container per execution)",
            ContainerPer::Run => "docker (container per run)",
        },
        executor: Arc::new(executor),
        base_dir,
    }
}

#[tokio::test]
async fn every_attack_is_contained_in_a_container_per_execution() {
    let Some(engine) = test_engine::for_test() else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    escape::assert_contained(&target(engine, &root, ContainerPer::Execution).await).await;
}

#[tokio::test]
async fn every_attack_is_contained_in_a_container_per_run() {
    let Some(engine) = test_engine::for_test() else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    escape::assert_contained(&target(engine, &root, ContainerPer::Run).await).await;
}

#[tokio::test]
async fn two_runs_at_once_cannot_reach_each_other() {
    let Some(engine) = test_engine::for_test() else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    escape::assert_concurrent_runs_isolated(&target(engine, &root, ContainerPer::Execution).await)
        .await;
}
