//! `GET /api/v1/runs/{id}/files` and `…/files/{path}` end to end: files kept through the
//! store as a worker keeps them, then listed and downloaded through the real router
//! (headers that keep hostile files from running in the app's origin, traversal attempts,
//! another user's access); and a whole run whose sandboxed code writes files, executed by
//! an in-process worker, whose `code_result` lists them and whose bytes download intact.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use cadre_llm::scripted::{ScriptedModel, ScriptedReply};
use cadre_server::worker::{ArtifactLimits, FixedModel, Worker, WorkerConfig};
use cadre_store::{NewRunFile, PutFile};
use common::{App, assert_error, spawn};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

impl App {
    /// Keeps a file for run `id` as the worker does.
    async fn keep(&self, id: Uuid, path: &str, content: &[u8]) {
        let kept = self
            .store
            .put_run_file(
                NewRunFile {
                    run_id: id,
                    path: path.into(),
                    content_type: cadre_core::artifact::content_type_for(path).into(),
                    content: content.to_vec(),
                },
                u64::MAX,
            )
            .await
            .unwrap();
        assert!(matches!(kept, PutFile::Stored(_)), "{kept:?}");
    }

    async fn download(&self, id: Uuid, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(&format!("/api/v1/runs/{id}/files/{path}")))
            .send()
            .await
            .unwrap()
    }
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or_default()
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n not really an image";

#[tokio::test]
async fn files_are_listed_and_served_so_they_cannot_run_script_here() {
    let app = spawn().await;
    let id = app.create_run_id("Plot things").await;
    app.keep(id, "plots/fib.png", PNG).await;
    app.keep(id, "table.csv", b"n,fib\n1,1\n").await;
    app.keep(id, "evil.svg", b"<svg onload=\"alert(1)\"/>")
        .await;
    app.keep(id, "page.html", b"<script>alert(1)</script>")
        .await;

    let (status, list) = app.get_json(&format!("/api/v1/runs/{id}/files")).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let listed: Vec<(&str, u64, &str)> = list["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap(),
                f["size_bytes"].as_u64().unwrap(),
                f["content_type"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("evil.svg", 24, "image/svg+xml"),
            ("page.html", 25, "text/html"),
            ("plots/fib.png", PNG.len() as u64, "image/png"),
            ("table.csv", 10, "text/csv"),
        ]
    );
    assert!(list["files"][0]["created_at"].is_string());
    assert_eq!(list["files"][0]["sha256"].as_str().unwrap().len(), 64);

    // A raster image may be shown inline.
    let png = app.download(id, "plots/fib.png").await;
    assert_eq!(png.status(), StatusCode::OK);
    assert_eq!(header(&png, "content-type"), "image/png");
    assert_eq!(header(&png, "x-content-type-options"), "nosniff");
    assert!(
        header(&png, "content-disposition").starts_with("inline; filename=\"fib.png\""),
        "{}",
        header(&png, "content-disposition")
    );
    assert_eq!(
        header(&png, "content-security-policy"),
        "sandbox; default-src 'none'"
    );
    let etag = header(&png, "etag").to_string();
    assert_eq!(png.bytes().await.unwrap().as_ref(), PNG);

    // Revalidation with the ETag costs no body.
    let again = app
        .http
        .get(app.url(&format!("/api/v1/runs/{id}/files/plots/fib.png")))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    let csv = app.download(id, "table.csv").await;
    assert_eq!(header(&csv, "content-type"), "text/csv");
    assert!(header(&csv, "content-disposition").starts_with("attachment; filename=\"table.csv\""));
    assert_eq!(csv.text().await.unwrap(), "n,fib\n1,1\n");

    // Markup that can carry script is never inline and runs sandboxed if opened.
    for path in ["evil.svg", "page.html"] {
        let response = app.download(id, path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(
            header(&response, "content-disposition").starts_with("attachment;"),
            "{path}"
        );
        assert_eq!(
            header(&response, "content-security-policy"),
            "sandbox; default-src 'none'",
            "{path}"
        );
        assert_eq!(header(&response, "x-content-type-options"), "nosniff");
    }
}

#[tokio::test]
async fn unknown_files_runs_and_another_users_files_are_not_found() {
    let app = spawn().await;
    let id = app.create_run_id("Plot things").await;
    app.keep(id, "out.txt", b"mine").await;

    let missing = app.download(id, "nope.txt").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_error(&missing.json().await.unwrap(), "not_found");

    let unknown = Uuid::new_v4();
    let (status, body) = app.get_json(&format!("/api/v1/runs/{unknown}/files")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, "not_found");
    let (status, body) = app.get_json("/api/v1/runs/not-a-uuid/files").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, "bad_request");

    // Another user sees neither the list nor the bytes: 404, as for a missing run.
    let bob = app.as_user("bob@cadre.test").await;
    let (status, body) = bob.get_json(&format!("/api/v1/runs/{id}/files")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, "not_found");
    let theirs = bob.download(id, "out.txt").await;
    assert_eq!(theirs.status(), StatusCode::NOT_FOUND);
    assert_error(&theirs.json().await.unwrap(), "not_found");

    // Without a token: 401.
    let anonymous = reqwest::get(app.url(&format!("/api/v1/runs/{id}/files/out.txt")))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    // Deleting the run deletes its files.
    let response = app
        .http
        .delete(app.url(&format!("/api/v1/runs/{id}")))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    assert_eq!(
        app.download(id, "out.txt").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn traversal_and_malformed_paths_are_refused() {
    let app = spawn().await;
    let id = app.create_run_id("Plot things").await;
    app.keep(id, "out.txt", b"mine").await;
    // Clients normalise `..` away before sending, so these are percent-encoded: the
    // router decodes them into the path the handler checks.
    for path in [
        "..%2F..%2Fetc%2Fpasswd",
        "a%2F..%2Fout.txt",
        "%2Fetc%2Fpasswd",
        "sub%5Cout.txt",
        "out.txt%00.png",
        ".%2Fout.txt",
        "a%2F%2Fb",
    ] {
        let response = app.download(id, path).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
        assert_error(&response.json().await.unwrap(), "bad_request");
    }
    // And literally, as a hostile client would send it.
    let request = format!(
        "GET /api/v1/runs/{id}/files/../../../etc/passwd HTTP/1.1\r\nHost: {}\r\n\
         Authorization: Bearer {}\r\nConnection: close\r\n\r\n",
        app.addr, app.token
    );
    let mut socket = tokio::net::TcpStream::connect(&app.addr).await.unwrap();
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    socket.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("\"bad_request\""), "{answer}");
    assert!(!answer.contains("root:"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_whose_code_writes_files_lists_them_and_serves_their_bytes() {
    let app = spawn().await;
    let code = "```python\n\
        import os\n\
        os.makedirs('out', exist_ok=True)\n\
        open('out/plot.png', 'wb').write(bytes(range(256)) * 4)\n\
        open('table.csv', 'w').write('n,square\\n' + ''.join(f'{n},{n*n}\\n' for n in range(5)))\n\
        open('big.bin', 'wb').write(b'x' * 5000)\n\
        os.symlink('/etc/passwd', 'passwd_link')\n\
        print('wrote files')\n\
        ```";
    let model = ScriptedModel::new(
        "scripted",
        vec![
            ScriptedReply::text(code),
            ScriptedReply::text("Done. TERMINATE"),
        ],
    );
    let executor = cadre_sandbox::from_name("bwrap", cadre_sandbox::SandboxConfig::default())
        .await
        .expect("bubblewrap is installed by `make test`")
        .unwrap();
    let worker = Worker::new(
        app.store.clone(),
        app.bus.clone(),
        Arc::new(FixedModel(Arc::new(model))),
        Some(executor),
        WorkerConfig {
            poll_every: Duration::from_millis(20),
            artifacts: ArtifactLimits {
                max_file_bytes: 4096,
                max_run_bytes: 1024 * 1024,
            },
            ..WorkerConfig::default()
        },
    );
    let shutdown = CancellationToken::new();
    let handle = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { worker.run(shutdown).await }
    });
    let id = app
        .create_run_with(json!({
            "task": "Write a plot and a table",
            "team": {
                "agents": [{"name": "Coder", "system_message": "You write code."}],
                "speaker_selection": {"method": "round_robin"},
                "code_execution": {"enabled": true}
            }
        }))
        .await;
    let finished = app.finished_event(&id).await;
    assert_eq!(finished["data"]["status"], "completed", "{finished}");
    let events = app.wait_for_events(&id, "code_result", 1).await;
    let result = events.iter().find(|e| e["type"] == "code_result").unwrap();
    assert_eq!(result["data"]["exit_code"], 0, "{result}");
    assert_eq!(
        result["data"]["files"],
        json!([
            {"path": "big.bin", "size_bytes": 5000, "content_type": "application/octet-stream",
             "stored": false, "skipped": "too_large"},
            {"path": "out/plot.png", "size_bytes": 1024, "content_type": "image/png",
             "stored": true},
            {"path": "table.csv", "size_bytes": 30, "content_type": "text/csv",
             "stored": true},
        ]),
        "{result}"
    );

    let (status, list) = app.get_json(&format!("/api/v1/runs/{id}/files")).await;
    assert_eq!(status, StatusCode::OK);
    let paths: Vec<&str> = list["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["out/plot.png", "table.csv"]);
    let id: Uuid = id.parse().unwrap();
    let png = app.download(id, "out/plot.png").await;
    assert_eq!(png.status(), StatusCode::OK);
    let expected: Vec<u8> = (0..=255u8).collect::<Vec<_>>().repeat(4);
    assert_eq!(png.bytes().await.unwrap().as_ref(), expected.as_slice());
    let csv = app.download(id, "table.csv").await;
    assert_eq!(
        csv.text().await.unwrap(),
        "n,square\n0,0\n1,1\n2,4\n3,9\n4,16\n"
    );
    assert_eq!(
        app.download(id, "big.bin").await.status(),
        StatusCode::NOT_FOUND
    );

    // The JSON transcript lists the block's files too.
    let (status, transcript) = app
        .get_json(&format!("/api/v1/runs/{id}/transcript?format=json"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let files: &Value = &transcript["code"][0]["result"]["files"];
    assert_eq!(files.as_array().unwrap().len(), 3, "{transcript}");

    shutdown.cancel();
    handle.await.unwrap();
}
