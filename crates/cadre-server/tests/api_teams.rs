//! The team endpoints end to end: the real router on a port-0 listener with a SQLite store
//! in a temporary directory. Covers CRUD, owner isolation (a second user with a router of
//! its own over the same store), AutoGen import/export and validation errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{App, assert_error, spawn};
use reqwest::StatusCode;
use serde_json::{Value, json};

const AUTOGEN_TEAM: &str =
    include_str!("../../cadre-core/tests/fixtures/autogen_research_team.json");

impl App {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut request = self.http.request(method, self.url(path));
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
        };
        (status, headers, value)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let (status, _, body) = self.send(reqwest::Method::GET, path, None).await;
        (status, body)
    }
}

fn team(name: &str, agents: &[&str]) -> Value {
    json!({
        "name": name,
        "agents": agents.iter().map(|a| json!({
            "name": a,
            "system_message": format!("You are {a}."),
            "description": format!("{a} helps."),
        })).collect::<Vec<_>>(),
    })
}

#[tokio::test]
async fn create_get_list_update_delete() {
    let app = spawn().await;
    let (status, headers, created) = app
        .send(
            reqwest::Method::POST,
            "/api/v1/teams",
            Some(&team("Writers", &["Poet", "Editor"])),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(headers["location"], format!("/api/v1/teams/{id}"));
    assert_eq!(created["name"], "Writers");
    assert_eq!(created["spec"]["agents"][1]["name"], "Editor");
    assert!(created["created_at"].is_string() && created["updated_at"].is_string());

    let (status, fetched) = app.get(&format!("/api/v1/teams/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetched, created);

    // Pages: newest first, with a cursor for the rest.
    for n in 0..2 {
        let (status, _, _) = app
            .send(
                reqwest::Method::POST,
                "/api/v1/teams",
                Some(&team(&format!("T{n}"), &["A"])),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, page) = app.get("/api/v1/teams?limit=2").await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = page["teams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["T1", "T0"]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, page) = app
        .get(&format!("/api/v1/teams?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(page["teams"][0]["name"], "Writers");
    assert!(page["next_cursor"].is_null(), "{page}");

    let (status, _, updated) = app
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/teams/{id}"),
            Some(&team("Poets", &["Poet"])),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["name"], "Poets");
    assert_eq!(updated["spec"]["agents"].as_array().unwrap().len(), 1);
    assert_eq!(updated["created_at"], created["created_at"]);

    let (status, _, body) = app
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/teams/{id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = app.get(&format!("/api/v1/teams/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, "not_found");
    let (status, _, body) = app
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/teams/{id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, "not_found");
}

#[tokio::test]
async fn another_owners_team_is_not_found() {
    let app = spawn().await;
    let other = app.as_user("other@cadre.test").await;
    let (status, _, created) = app
        .send(
            reqwest::Method::POST,
            "/api/v1/teams",
            Some(&team("Mine", &["A"])),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let path = format!("/api/v1/teams/{}", created["id"].as_str().unwrap());

    let (status, body) = other.get(&path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, "not_found");
    let (status, _, body) = other
        .send(reqwest::Method::PUT, &path, Some(&team("Stolen", &["B"])))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _, _) = other.send(reqwest::Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = other.get(&format!("{path}/export")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, "not_found");
    let (_, page) = other.get("/api/v1/teams").await;
    assert_eq!(page["teams"], json!([]));

    // Untouched for its owner.
    let (status, body) = app.get(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["name"], "Mine");
}

#[tokio::test]
async fn autogen_import_export_round_trip() {
    let app = spawn().await;
    let original: Value = serde_json::from_str(AUTOGEN_TEAM).unwrap();
    let (status, headers, imported) = app
        .send(
            reqwest::Method::POST,
            "/api/v1/teams/import",
            Some(&original),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{imported}");
    let id = imported["id"].as_str().unwrap();
    assert_eq!(headers["location"], format!("/api/v1/teams/{id}"));
    assert_eq!(
        imported["spec"]["agents"][0]["name"],
        "Literature_Researcher"
    );

    let response = app
        .http
        .get(app.url(&format!("/api/v1/teams/{id}/export")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(&format!("team-{id}.json")),
    );
    let exported: Value = response.json().await.unwrap();
    assert_eq!(
        exported, original,
        "an AutoGen file must survive import + export unchanged"
    );

    // A Cadre-made team exports as an AutoGen file that imports back to the same team.
    let (_, _, made) = app
        .send(
            reqwest::Method::POST,
            "/api/v1/teams",
            Some(&team("Pair", &["A", "B"])),
        )
        .await;
    let (status, exported) = app
        .get(&format!(
            "/api/v1/teams/{}/export",
            made["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(exported["agent_configs"].is_array(), "{exported}");
    let (status, _, reimported) = app
        .send(
            reqwest::Method::POST,
            "/api/v1/teams/import",
            Some(&exported),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{reimported}");
    let names = |team: &Value| -> Vec<String> {
        team["spec"]["agents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&reimported), names(&made));
}

#[tokio::test]
async fn malformed_autogen_files_are_422_with_the_importers_message() {
    let app = spawn().await;
    let cases = [
        (json!({"building_task": "x"}), "agent_configs"),
        (json!({"agent_configs": []}), "empty"),
        (json!({"agent_configs": "nope"}), "list"),
        (json!([1, 2]), "object"),
        (
            json!({"agent_configs": [{"name": "has space", "system_message": "x"}]}),
            "has space",
        ),
    ];
    for (file, needle) in cases {
        let (status, _, body) = app
            .send(reqwest::Method::POST, "/api/v1/teams/import", Some(&file))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{file}: {body}");
        assert_error(&body, "validation_failed");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{file}: {message}");
        assert!(!message.contains('\n'), "{message}");
    }
    // Not JSON at all is the client's syntax error, not a 500.
    let response = app
        .http
        .post(app.url("/api/v1/teams/import"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn invalid_teams_are_422_with_field_details() {
    let app = spawn().await;
    let fields = |body: &Value| -> Vec<String> {
        body["error"]["details"]["fields"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|f| f["field"].as_str().unwrap().to_string())
            .collect()
    };
    let (status, _, body) = app
        .send(
            reqwest::Method::POST,
            "/api/v1/teams",
            Some(&team("", &["A", "A"])),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "validation_failed");
    assert_eq!(fields(&body), vec!["name", "agents"]);
    assert!(
        body["error"]["details"]["fields"][1]["message"]
            .as_str()
            .unwrap()
            .contains("duplicate")
    );

    let (status, _, body) = app
        .send(
            reqwest::Method::POST,
            "/api/v1/teams",
            Some(&team("T", &[])),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&body), vec!["agents"]);

    let mut graph = team("G", &["A"]);
    graph["speaker_selection"] = json!({"method": "graph", "transitions": {"A": ["Z"]}});
    let (status, _, body) = app
        .send(reqwest::Method::POST, "/api/v1/teams", Some(&graph))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(fields(&body), vec!["speaker_selection"]);

    // Schema mismatch (missing field) is 422 too, from the JSON extractor.
    let (status, _, body) = app
        .send(
            reqwest::Method::POST,
            "/api/v1/teams",
            Some(&json!({"name": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "validation_failed");

    // PUT validates the same way.
    let (_, _, created) = app
        .send(
            reqwest::Method::POST,
            "/api/v1/teams",
            Some(&team("T", &["A"])),
        )
        .await;
    let (status, _, body) = app
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/teams/{}", created["id"].as_str().unwrap()),
            Some(&team("T", &["bad name"])),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&body), vec!["agents"]);

    // Malformed ids and limits.
    let (status, body) = app.get("/api/v1/teams/not-a-uuid").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, "bad_request");
    let (status, body) = app.get("/api/v1/teams?limit=0").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&body), vec!["limit"]);
    let (status, body) = app.get("/api/v1/teams?cursor=garbage").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}
