//! What the web UI relies on beyond the plain API: browser sessions (refresh token in an
//! `HttpOnly` cookie, never in a body), the public server facts, the model catalog, and
//! the UI itself at `/` with client-side routes falling back to it while API paths keep
//! answering JSON.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use cadre_llm::fake_server::FakeOpenAi;
use cadre_server::auth::password::hash_password;
use cadre_store::NewUser;
use common::{App, assert_error, spawn};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use serde_json::{Value, json};

const EMAIL: &str = "grace@cadre.test";
const PASSWORD: &str = "a long enough password";

async fn with_password_user(app: &App) {
    app.store
        .create_user(NewUser {
            email: EMAIL.into(),
            password_hash: Some(hash_password(PASSWORD.into()).await.unwrap()),
            is_admin: false,
        })
        .await
        .unwrap();
}

/// The `cadre_session` cookie a response sets: (value, the whole header).
fn set_cookie(response: &reqwest::Response) -> (String, String) {
    let header = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("cadre_session="))
        .expect("a cadre_session cookie");
    let value = header
        .trim_start_matches("cadre_session=")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    (value, header)
}

async fn sign_in(app: &App) -> (reqwest::Response, String) {
    let response = reqwest::Client::new()
        .post(app.url("/api/v1/auth/session"))
        .json(&json!({"email": EMAIL, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (cookie, _) = set_cookie(&response);
    (response, cookie)
}

async fn refresh(app: &App, cookie: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().post(app.url("/api/v1/auth/session/refresh"));
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, format!("theme=dark; cadre_session={cookie}"));
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn a_browser_session_keeps_the_refresh_token_in_an_http_only_cookie() {
    let app = spawn().await;
    with_password_user(&app).await;
    let (response, cookie) = sign_in(&app).await;
    let (_, header) = set_cookie(&response);
    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/api/v1/auth/session",
        "Max-Age=",
    ] {
        assert!(header.contains(attribute), "{attribute} missing: {header}");
    }
    assert_eq!(response.headers()["cache-control"], "no-store");
    let text = response.text().await.unwrap();
    assert!(!text.contains(&cookie), "the refresh token is in the body");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["user"]["email"], EMAIL);
    assert_eq!(body["token_type"], "bearer");
    assert!(body.get("refresh_token").is_none());
    let me = common::client_with(body["access_token"].as_str().unwrap())
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);

    // A reload: the cookie alone gets a new access token and a rotated cookie.
    let renewed = refresh(&app, Some(&cookie)).await;
    assert_eq!(renewed.status(), StatusCode::OK);
    let (rotated, _) = set_cookie(&renewed);
    assert_ne!(rotated, cookie);
    let body: Value = renewed.json().await.unwrap();
    assert_eq!(body["user"]["email"], EMAIL);
    assert!(body["access_token"].as_str().unwrap().len() > 20);

    // The old cookie again (stolen and replayed): refused, and the whole login with it.
    let replayed = refresh(&app, Some(&cookie)).await;
    assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED);
    let (cleared, header) = set_cookie(&replayed);
    assert!(
        cleared.is_empty() && header.contains("Max-Age=0"),
        "{header}"
    );
    assert_eq!(
        refresh(&app, Some(&rotated)).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn sign_out_revokes_the_session_and_clears_the_cookie() {
    let app = spawn().await;
    with_password_user(&app).await;
    let (_, cookie) = sign_in(&app).await;
    let response = reqwest::Client::new()
        .delete(app.url("/api/v1/auth/session"))
        .header(COOKIE, format!("cadre_session={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (value, header) = set_cookie(&response);
    assert!(value.is_empty() && header.contains("Max-Age=0"), "{header}");
    assert_eq!(
        refresh(&app, Some(&cookie)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Without a cookie there is no session, and signing out again is harmless.
    let response = refresh(&app, None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_error(&response.json().await.unwrap(), "unauthorized");
    let again = reqwest::Client::new()
        .delete(app.url("/api/v1/auth/session"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn session_sign_in_refuses_wrong_passwords_and_bad_bodies_clearly() {
    let app = spawn().await;
    with_password_user(&app).await;
    let client = reqwest::Client::new();
    let wrong = client
        .post(app.url("/api/v1/auth/session"))
        .json(&json!({"email": EMAIL, "password": "not the password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert!(wrong.headers().get(SET_COOKIE).is_none());
    assert_error(&wrong.json().await.unwrap(), "invalid_grant");
    let malformed = client
        .post(app.url("/api/v1/auth/session"))
        .header(CONTENT_TYPE, "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn info_is_public_and_says_whether_registration_is_open() {
    let app = spawn().await;
    let response = reqwest::get(app.url("/api/v1/info")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["registration"], false);
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn without_a_provider_only_the_demo_model_is_offered() {
    let app = spawn().await;
    let (status, body) = app.get_json("/api/v1/models").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["provider_configured"], false);
    assert_eq!(body["default_model"], "demo");
    let ids: Vec<&str> = body["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["demo"]);
}

#[tokio::test]
async fn with_a_stored_key_the_providers_own_list_is_offered() {
    const KEY: &str = "sk-test-models-S3CRET-0123456789wxyz";
    let app = spawn().await;
    let provider = FakeOpenAi::start(Vec::new()).await.unwrap();
    provider.set_models(vec!["acme/large".into(), "acme/small".into()]);
    let stored = app
        .http
        .put(app.url("/api/v1/me/providers/custom"))
        .json(&json!({"api_key": KEY, "base_url": provider.base_url(), "default_model": "acme/small"}))
        .send()
        .await
        .unwrap();
    assert!(stored.status().is_success(), "{}", stored.status());
    let response = app
        .http
        .get(app.url("/api/v1/models"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    assert!(!text.contains(KEY), "the key came back: {text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["provider_configured"], true);
    assert_eq!(body["key_owner"], "user");
    assert_eq!(body["provider"], "custom");
    assert_eq!(body["default_model"], "acme/small");
    assert_eq!(body["provider_error"], Value::Null);
    let models: Vec<(String, String)> = body["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["id"].as_str().unwrap().to_owned(),
                m["source"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        models,
        [
            ("demo".to_owned(), "demo".to_owned()),
            ("acme/small".to_owned(), "preset".to_owned()),
            ("acme/large".to_owned(), "provider".to_owned()),
        ]
    );
    let asked = provider.received();
    assert_eq!(
        asked.last().unwrap().header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );

    // A provider that is down leaves the list without its models, and says why.
    drop(provider);
    let (_, body) = app.get_json("/api/v1/models").await;
    assert_eq!(body["provider_configured"], true);
    let error = body["provider_error"].as_str().unwrap();
    assert!(error.contains("unavailable"), "{error}");
    assert!(!error.contains(KEY));
}

#[tokio::test]
async fn the_ui_answers_its_own_routes_and_api_paths_stay_json() {
    let app = spawn().await;
    let client = reqwest::Client::new();
    for path in [
        "/",
        "/runs/2f0c8d6e-1111-4c1e-9a55-0c1d2e3f4a5b",
        "/history",
    ] {
        let response = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let content_type = response.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            content_type.starts_with("text/html"),
            "{path}: {content_type}"
        );
        assert_eq!(response.headers()["cache-control"], "no-cache");
        let html = response.text().await.unwrap();
        // Built or not, the page names the product: the app's shell or the placeholder.
        assert!(html.contains("Cadre"), "{path}: {html}");
    }
    let api = client.get(app.url("/api/v1/nope")).send().await.unwrap();
    assert_eq!(api.status(), StatusCode::NOT_FOUND);
    assert_error(&api.json().await.unwrap(), "not_found");
    let missing = client
        .get(app.url("/assets/does-not-exist.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let post = client.post(app.url("/history")).send().await.unwrap();
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
}
