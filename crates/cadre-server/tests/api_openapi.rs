//! The served OpenAPI document is checked by a real validator: `/openapi.json` is fetched
//! from the running router, written to a temporary file and given to
//! `python3 -m openapi_spec_validator` (PyPI `openapi-spec-validator`, OpenAPI 3.1 aware;
//! `make test` installs it through `scripts/ensure-deps.sh`). Every endpoint and schema of
//! the API must be in the document.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;

use serde_json::Value;

/// Fetches `/openapi.json` from a running app; also returns the app's temporary directory.
async fn fetch_document() -> (Value, String, tempfile::TempDir) {
    let app = common::spawn().await;
    let response = reqwest::get(app.url("/openapi.json")).await.unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let text = response.text().await.unwrap();
    (
        serde_json::from_str(&text).unwrap(),
        text,
        app._dir.unwrap(),
    )
}

#[tokio::test]
async fn every_endpoint_and_schema_is_documented() {
    let (doc, _, _dir) = fetch_document().await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let expected = [
        ("/healthz", &["get"][..]),
        ("/readyz", &["get"]),
        ("/api/v1/runs", &["get", "post"]),
        ("/api/v1/runs/{id}", &["get", "delete"]),
        ("/api/v1/runs/{id}/cancel", &["post"]),
        ("/api/v1/runs/{id}/input", &["post"]),
        ("/api/v1/runs/{id}/events", &["get"]),
        ("/api/v1/runs/{id}/events/stream", &["get"]),
        ("/api/v1/runs/{id}/ws", &["get"]),
        ("/api/v1/runs/{id}/transcript", &["get"]),
        ("/api/v1/teams", &["get", "post"]),
        ("/api/v1/teams/import", &["post"]),
        ("/api/v1/teams/{id}", &["get", "put", "delete"]),
        ("/api/v1/teams/{id}/export", &["get"]),
        ("/api/v1/auth/token", &["post"]),
        ("/api/v1/auth/logout", &["post"]),
        ("/api/v1/auth/register", &["post"]),
        ("/api/v1/me", &["get"]),
        ("/api/v1/me/tokens", &["get", "post"]),
        ("/api/v1/me/tokens/{id}", &["delete"]),
        ("/api/v1/admin/users", &["get"]),
        ("/api/v1/admin/runs", &["get"]),
        ("/api/v1/admin/audit", &["get"]),
    ];
    for (path, methods) in expected {
        for method in methods {
            assert!(
                doc["paths"][path].get(*method).is_some(),
                "missing {} {path}",
                method.to_uppercase()
            );
        }
    }
    for schema in [
        "RunView",
        "CreateRunBody",
        "ErrorBody",
        "RunEvent",
        "EventPage",
        "TeamView",
        "TeamList",
        "Transcript",
        "TranscriptMessage",
        "TranscriptCode",
    ] {
        assert!(
            doc["components"]["schemas"].get(schema).is_some(),
            "missing schema {schema}"
        );
    }
}

#[tokio::test]
async fn openapi_document_passes_openapi_spec_validator() {
    let (_, text, dir) = fetch_document().await;
    let probe = Command::new("python3")
        .args(["-c", "import openapi_spec_validator"])
        .output();
    match probe {
        Ok(output) if output.status.success() => {}
        Ok(output) => panic!(
            "the Python module `openapi_spec_validator` is missing: install it with \
             `python3 -m pip install openapi-spec-validator` (or run `make test`, which \
             installs it).\n{}",
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(error) => {
            panic!("cannot run python3 ({error}); install Python 3 and openapi-spec-validator")
        }
    }
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, text).unwrap();
    let output = Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "openapi-spec-validator rejected /openapi.json:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
