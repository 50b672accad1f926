//! `cadre user …` against a real data directory, checked through a real `cadre serve`:
//! accounts created from the shell can log in, a disabled one cannot (and its token stops
//! working), a new password replaces the old one, and mistakes are one-line errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};

use common::{cadre, start_listening};
use serde_json::Value;

fn user(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut command = cadre();
    command
        .arg("user")
        .args(args)
        .env("CADRE_DATA_DIR", dir)
        .env_remove("CADRE_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if stdin.is_some() {
        command.stdin(Stdio::piped());
    }
    let mut child = command.spawn().unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

async fn login(base: &str, email: &str, password: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", email),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn accounts_managed_from_the_shell() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();

    let out = stdout(&user(
        dir,
        &["add", "Ada@Example.org", "--admin", "--password-stdin"],
        Some("ada's long password\n"),
    ));
    assert!(out.contains("created ada@example.org (admin)"), "{out}");
    assert!(!out.contains("ada's long password"));
    let out = stdout(&user(dir, &["add", "bob@example.org"], None));
    let bob_password = out
        .lines()
        .find_map(|l| l.strip_prefix("password (shown only this once): "))
        .unwrap_or_else(|| panic!("{out}"))
        .to_string();
    let list = stdout(&user(dir, &["list"], None));
    let ada = list
        .lines()
        .find(|l| l.starts_with("ada@example.org"))
        .unwrap();
    let bob = list
        .lines()
        .find(|l| l.starts_with("bob@example.org"))
        .unwrap();
    assert!(ada.contains("yes") && !bob.contains("yes"), "{list}");

    // Mistakes: one line, non-zero, nothing created.
    let bad = user(dir, &["add", "not-an-email"], None);
    assert!(!bad.status.success());
    let message = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(message.trim().lines().count(), 1, "{message}");
    assert!(message.contains("not an email"), "{message}");
    let missing = user(dir, &["disable", "nobody@example.org"], None);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no account nobody@example.org"));
    let taken = user(dir, &["add", "bob@example.org"], None);
    assert!(!taken.status.success());

    // The server sees them: no first admin is generated, both can log in.
    let mut command = cadre();
    command
        .arg("serve")
        .env("CADRE_DATA_DIR", dir)
        .env("CADRE_BIND", "127.0.0.1:0")
        .env_remove("CADRE_DATABASE_URL")
        .env_remove("CADRE_REDIS_URL")
        .env("CADRE_SANDBOX", "none")
        .stderr(Stdio::null());
    let (mut server, base) = start_listening(command);
    let (status, _) = login(&base, "ada@example.org", "ada's long password").await;
    assert_eq!(status, 200);
    let (status, tokens) = login(&base, "bob@example.org", &bob_password).await;
    assert_eq!(status, 200);
    let (status, _) = login(&base, common::ADMIN_EMAIL, common::ADMIN_PASSWORD).await;
    assert_eq!(status, 400, "no bootstrap admin: accounts already existed");
    let bob_token = tokens["access_token"].as_str().unwrap().to_string();
    let me = |token: String| {
        let base = base.clone();
        async move {
            reqwest::Client::new()
                .get(format!("{base}/api/v1/me"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(me(bob_token.clone()).await, 200);

    // Disabled: no login, and the live token stops working.
    stdout(&user(dir, &["disable", "bob@example.org"], None));
    assert_eq!(me(bob_token.clone()).await, 401);
    let (status, _) = login(&base, "bob@example.org", &bob_password).await;
    assert_eq!(status, 400);
    stdout(&user(dir, &["enable", "bob@example.org"], None));
    let (status, _) = login(&base, "bob@example.org", &bob_password).await;
    assert_eq!(status, 200);

    // A new password replaces the old one.
    stdout(&user(
        dir,
        &["passwd", "ada@example.org", "--password-stdin"],
        Some("ada's newer password\n"),
    ));
    let (status, _) = login(&base, "ada@example.org", "ada's long password").await;
    assert_eq!(status, 400);
    let (status, _) = login(&base, "ada@example.org", "ada's newer password").await;
    assert_eq!(status, 200);

    let _ = server.kill();
    let _ = server.wait();
}
