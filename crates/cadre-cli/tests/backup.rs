//! `cadre backup` while `cadre serve` is running, and `cadre restore` once it is stopped:
//! the restored server shows the runs of the moment of the backup, whole; a restore under
//! a running server is refused and changes nothing; PostgreSQL is pointed to its own
//! tools.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::deployment::post_demo_run;
use common::{admin_client, cadre, get_json, output, start_listening};
use serde_json::Value;

fn serve(data: &Path) -> (Child, String) {
    let mut command = cadre();
    command
        .arg("serve")
        .env("CADRE_DATA_DIR", data)
        .env("CADRE_BIND", "127.0.0.1:0")
        .env("CADRE_SANDBOX", "none")
        .stderr(Stdio::null());
    start_listening(command)
}

fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn in_data_dir(data: &Path, args: &[&str]) -> Command {
    let mut command = cadre();
    command.args(args).env("CADRE_DATA_DIR", data);
    command
}

async fn wait_finished(base: &str, run: &str) {
    let http = admin_client(base).await;
    let started = Instant::now();
    loop {
        let view = get_json(&http, format!("{base}/api/v1/runs/{run}")).await;
        if view["status"] == "completed" {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "run {run}: {view}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn run_ids(base: &str) -> Vec<String> {
    let http = admin_client(base).await;
    let list = get_json(&http, format!("{base}/api/v1/runs")).await;
    let mut ids: Vec<String> = list["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

async fn event_count(base: &str, run: &str) -> usize {
    let http = admin_client(base).await;
    let page: Value = get_json(
        &http,
        format!("{base}/api/v1/runs/{run}/events?after=0&limit=1000"),
    )
    .await;
    page["events"].as_array().unwrap().len()
}

#[tokio::test]
async fn a_backup_taken_while_serving_restores_the_runs_of_that_moment() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (server, base) = serve(&data);
    let kept = post_demo_run(&base).await;
    wait_finished(&base, &kept).await;
    let kept_events = event_count(&base, &kept).await;

    // Online: the server keeps running (and serving) during and after the backup.
    let file = dir.path().join("cadre-backup.db");
    let out = output(in_data_dir(&data, &["backup", file.to_str().unwrap()])).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("1 runs"), "{said}");
    assert!(said.contains("secret.key"), "names the key to keep: {said}");
    let later = post_demo_run(&base).await;
    wait_finished(&base, &later).await;

    // Refused while the server has the database open; nothing changes.
    let refused = output(in_data_dir(&data, &["restore", file.to_str().unwrap()])).await;
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("stop it"), "{stderr}");
    assert_eq!(run_ids(&base).await.len(), 2);
    stop(server);

    let out = output(in_data_dir(&data, &["restore", file.to_str().unwrap()])).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(data.join("cadre.db.before-restore").exists());

    let (server, base) = serve(&data);
    assert_eq!(run_ids(&base).await, vec![kept.clone()]);
    assert_eq!(event_count(&base, &kept).await, kept_events);
    stop(server);
}

#[tokio::test]
async fn backup_refuses_to_overwrite_and_points_postgres_to_its_tools() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (server, _base) = serve(&data);
    let existing = dir.path().join("existing.db");
    std::fs::write(&existing, "keep me").unwrap();
    let out = output(in_data_dir(&data, &["backup", existing.to_str().unwrap()])).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists already"));
    assert_eq!(std::fs::read(&existing).unwrap(), b"keep me");
    stop(server);

    let mut postgres = in_data_dir(&data, &["backup", "/dev/null"]);
    postgres.env(
        "CADRE_DATABASE_URL",
        "postgres://postgres@127.0.0.1:5432/test",
    );
    let out = output(postgres).await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("pg_dump"), "{stderr}");
}
