//! Authentication and tenant isolation over real HTTP: every protected route (enumerated
//! from `/openapi.json`, so none is forgotten) refuses missing, tampered, expired and
//! `alg: none` tokens; the OAuth2 password and refresh-token grants, rotation, reuse
//! detection and logout; registration on and off; one user never sees another's runs or
//! teams (404, as if they did not exist).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cadre_server::auth::JwtKeys;
use cadre_server::auth::password::hash_password;
use cadre_store::NewUser;
use common::{App, TEST_SECRET, assert_error, client_with, serve, spawn};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

const PASSWORD: &str = "correct horse battery staple";

/// Creates a user with a password; returns their id.
async fn user_with_password(app: &App, email: &str) -> Uuid {
    app.store
        .create_user(NewUser {
            email: email.into(),
            password_hash: Some(hash_password(PASSWORD.into()).await.unwrap()),
            is_admin: false,
        })
        .await
        .unwrap()
        .id
}

async fn token_request(app: &App, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(app.url("/api/v1/auth/token"))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

async fn login(app: &App, email: &str, password: &str) -> (StatusCode, Value) {
    token_request(
        app,
        &[
            ("grant_type", "password"),
            ("username", email),
            ("password", password),
        ],
    )
    .await
}

async fn refresh(app: &App, token: &str) -> (StatusCode, Value) {
    token_request(
        app,
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
    .await
}

async fn me(app: &App, token: &str) -> StatusCode {
    client_with(token)
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .unwrap()
        .status()
}

/// Every operation of the OpenAPI document that requires a token: (method, path).
async fn protected_operations(app: &App) -> Vec<(String, String)> {
    let doc: Value = reqwest::get(app.url("/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        doc["security"],
        json!([{"oauth2": []}]),
        "protected by default"
    );
    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let public = operation["security"] == json!([{}]);
            if !public {
                operations.push((
                    method.clone(),
                    path.replace("{id}", &Uuid::new_v4().to_string()),
                ));
            }
        }
    }
    operations
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_protected_route_refuses_bad_tokens() {
    let app = spawn().await;
    let operations = protected_operations(&app).await;
    assert!(operations.len() >= 18, "{operations:?}");
    for expected in ["/api/v1/runs", "/api/v1/me", "/api/v1/teams/import"] {
        assert!(
            operations.iter().any(|(_, p)| p == expected),
            "{expected} not protected"
        );
    }
    assert!(
        !operations
            .iter()
            .any(|(_, p)| p == "/healthz" || p.starts_with("/api/v1/auth/"))
    );

    let valid = app.token.clone();
    let parts: Vec<&str> = valid.split('.').collect();
    let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    let forged_payload = payload.replace(&app.user.to_string(), &Uuid::new_v4().to_string());
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(&forged_payload),
        parts[2]
    );
    let alg_none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );
    let other_key = JwtKeys::from_secret(
        b"some other server's secret key!!!",
        Duration::from_secs(900),
    )
    .issue(app.user, false)
    .unwrap();
    let expired = JwtKeys::from_secret(TEST_SECRET, Duration::ZERO)
        .issue(app.user, false)
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let bad_tokens: [(&str, Option<String>); 6] = [
        ("no token", None),
        ("garbage", Some("not-a-jwt".into())),
        ("tampered", Some(tampered)),
        ("alg none", Some(alg_none)),
        ("another key", Some(other_key)),
        ("expired", Some(expired)),
    ];
    let http = reqwest::Client::new();
    for (method, path) in &operations {
        for (what, token) in &bad_tokens {
            let mut request = http
                .request(method.to_uppercase().parse().unwrap(), app.url(path))
                .json(&json!({}));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.unwrap();
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{method} {path} with {what}"
            );
            assert_eq!(response.headers()["www-authenticate"], "Bearer");
            let body: Value = response.json().await.unwrap();
            assert_error(&body, "unauthorized");
        }
    }
    // The same routes with the valid token get past authentication.
    for (method, path) in &operations {
        let status = app
            .http
            .request(method.to_uppercase().parse().unwrap(), app.url(path))
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .status();
        assert_ne!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
    }
    // Public routes stay public.
    for path in ["/healthz", "/readyz", "/openapi.json", "/docs/"] {
        let status = http.get(app.url(path)).send().await.unwrap().status();
        assert!(status.is_success(), "{path}: {status}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_login_refresh_rotation_reuse_and_logout() {
    let app = spawn().await;
    let user = user_with_password(&app, "grace@cadre.test").await;

    // Wrong password and unknown account: the same answer.
    let (status, body) = login(&app, "grace@cadre.test", "wrong password!").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, "invalid_grant");
    let (status, unknown) = login(&app, "nobody@cadre.test", PASSWORD).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(unknown["error"]["message"], body["error"]["message"]);

    // Emails are case-insensitive.
    let (status, tokens) = login(&app, " Grace@Cadre.Test ", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "bearer");
    assert_eq!(tokens["expires_in"], 900);
    let access = tokens["access_token"].as_str().unwrap();
    let first_refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    let response = client_with(access)
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let me_body: Value = response.json().await.unwrap();
    assert_eq!(me_body["id"], user.to_string());
    assert_eq!(me_body["email"], "grace@cadre.test");
    assert_eq!(me_body["is_admin"], false);

    // Rotation: the new refresh token works, once.
    let (status, second) = refresh(&app, &first_refresh).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let second_refresh = second["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(second_refresh, first_refresh);
    assert_eq!(
        me(&app, second["access_token"].as_str().unwrap()).await,
        StatusCode::OK
    );

    // Reuse of the first one: refused, and the whole login is revoked.
    let (status, body) = refresh(&app, &first_refresh).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, "invalid_grant");
    let (status, _) = refresh(&app, &second_refresh).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the family is revoked");

    // Logout revokes a fresh login's refresh token.
    let (_, third) = login(&app, "grace@cadre.test", PASSWORD).await;
    let third_refresh = third["refresh_token"].as_str().unwrap();
    let response = reqwest::Client::new()
        .post(app.url("/api/v1/auth/logout"))
        .json(&json!({"refresh_token": third_refresh}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (status, _) = refresh(&app, third_refresh).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Malformed token requests are clear 4xx errors.
    let (status, body) = token_request(&app, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"]["details"]["oauth_error"],
        "unsupported_grant_type"
    );
    let (status, _) = token_request(&app, &[("grant_type", "password")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = token_request(&app, &[("username", "x")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let response = reqwest::Client::new()
        .post(app.url("/api/v1/auth/token"))
        .json(&json!({"grant_type": "password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // A disabled account's tokens stop working at once.
    assert_eq!(me(&app, access).await, StatusCode::OK);
    app.store.set_disabled(user, true).await.unwrap();
    assert_eq!(me(&app, access).await, StatusCode::UNAUTHORIZED);
    let (status, _) = login(&app, "grace@cadre.test", PASSWORD).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The audit log saw it all.
    let events = app.audit_events(100).await;
    for expected in [
        "login_failed",
        "login_ok",
        "token_refreshed",
        "refresh_token_reused",
        "token_revoked",
    ] {
        assert!(
            events.iter().any(|e| e == expected),
            "{expected} missing: {events:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_is_closed_by_default_and_works_when_open() {
    let app = spawn().await;
    let body = json!({"email": "new@cadre.test", "password": PASSWORD});
    let response = reqwest::Client::new()
        .post(app.url("/api/v1/auth/register"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    let open = serve(app.state_with(|config| config.allow_registration = true)).await;
    let register = |body: Value| {
        let url = format!("{open}/api/v1/auth/register");
        async move {
            reqwest::Client::new()
                .post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let response = register(body.clone()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let user: Value = response.json().await.unwrap();
    assert_eq!(
        (user["email"].as_str(), user["is_admin"].as_bool()),
        (Some("new@cadre.test"), Some(false))
    );
    assert_eq!(register(body).await.status(), StatusCode::CONFLICT);
    let response = register(json!({"email": "not an email", "password": "short"})).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let invalid: Value = response.json().await.unwrap();
    let fields: Vec<&str> = invalid["error"]["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["email", "password"]);
    let (status, _) = login(&app, "new@cadre.test", PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_never_see_each_others_runs_or_teams() {
    let alice = spawn().await;
    let bob = alice.as_user("bob@cadre.test").await;
    let run = alice.create_run_id("alice's task").await;
    let response = alice
        .http
        .post(alice.url("/api/v1/teams"))
        .json(&json!({"name": "alice team", "agents": [{"name": "A", "system_message": "You are A."}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let team: Value = response.json().await.unwrap();
    let team = team["id"].as_str().unwrap().to_string();

    let probes = [
        ("GET", format!("/api/v1/runs/{run}")),
        ("GET", format!("/api/v1/runs/{run}/events")),
        ("GET", format!("/api/v1/runs/{run}/events/stream")),
        ("GET", format!("/api/v1/runs/{run}/transcript")),
        ("POST", format!("/api/v1/runs/{run}/cancel")),
        ("POST", format!("/api/v1/runs/{run}/input")),
        ("DELETE", format!("/api/v1/runs/{run}")),
        ("GET", format!("/api/v1/teams/{team}")),
        ("PUT", format!("/api/v1/teams/{team}")),
        ("GET", format!("/api/v1/teams/{team}/export")),
        ("DELETE", format!("/api/v1/teams/{team}")),
    ];
    for (method, path) in &probes {
        let mut request = bob.http.request(method.parse().unwrap(), bob.url(path));
        request = match *method {
            "POST" if path.ends_with("/input") => request.json(&json!({"content": "1"})),
            "PUT" => request.json(&json!({"name": "mine now", "agents": [{"name": "B", "system_message": "You are B."}]})),
            _ => request,
        };
        let response = request.send().await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::NOT_FOUND,
            "bob {method} {path}"
        );
    }
    // Bob's lists are empty; a run can't use Alice's team either.
    let (_, runs) = bob.get_json("/api/v1/runs").await;
    assert_eq!(runs["runs"], json!([]));
    let (_, teams) = bob.get_json("/api/v1/teams").await;
    assert_eq!(teams["teams"], json!([]));
    let response = bob
        .http
        .post(bob.url("/api/v1/runs"))
        .json(&json!({"task": "t", "team_id": team}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    // Alice still has everything.
    let (status, _) = alice.get_json(&format!("/api/v1/runs/{run}")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = alice.get_json(&format!("/api/v1/teams/{team}")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failed_logins_are_throttled() {
    let app = spawn().await;
    user_with_password(&app, "target@cadre.test").await;
    for attempt in 0..5 {
        let (status, _) = login(&app, "target@cadre.test", "guess {attempt} wrong").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "attempt {attempt}");
    }
    let response = reqwest::Client::new()
        .post(app.url("/api/v1/auth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", "target@cadre.test"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    assert_error(&response.json().await.unwrap(), "rate_limited");

    // One address guessing many accounts is stopped too (20 failures per address).
    for n in 0..15 {
        let (status, _) = login(&app, &format!("victim{n}@cadre.test"), "guess").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "account {n}");
    }
    let (status, _) = login(&app, "fresh@cadre.test", "guess").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let events = app.audit_events(200).await;
    assert!(events.iter().any(|e| e == "login_throttled"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_creation_is_rate_limited_per_user() {
    let app = spawn().await;
    let limited = serve(app.state_with(|config| config.runs_per_minute = 2)).await;
    let create = || {
        app.http
            .post(format!("{limited}/api/v1/runs"))
            .json(&json!({"task": "t"}))
            .send()
    };
    assert_eq!(create().await.unwrap().status(), StatusCode::ACCEPTED);
    assert_eq!(create().await.unwrap().status(), StatusCode::ACCEPTED);
    let response = create().await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    // Another user has their own allowance.
    let other = app.as_user("other@cadre.test").await;
    let response = other
        .http
        .post(format!("{limited}/api/v1/runs"))
        .json(&json!({"task": "t"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_is_closed_unless_listed_and_security_headers_are_everywhere() {
    let app = spawn().await;
    let preflight = |base: String, origin: &'static str| async move {
        reqwest::Client::new()
            .request(reqwest::Method::OPTIONS, format!("{base}/api/v1/runs"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
            .await
            .unwrap()
    };
    // Default: no CORS at all.
    let response = preflight(app.base.clone(), "https://evil.example").await;
    assert!(
        !response
            .headers()
            .contains_key("access-control-allow-origin")
    );

    let listed = serve(app.state_with(|config| {
        config.cors_origins = vec!["https://ui.example".into()];
    }))
    .await;
    let response = preflight(listed.clone(), "https://evil.example").await;
    assert!(
        !response
            .headers()
            .contains_key("access-control-allow-origin")
    );
    let response = preflight(listed.clone(), "https://ui.example").await;
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://ui.example"
    );
    let allowed = response.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(allowed.contains("authorization"), "{allowed}");

    for path in ["/healthz", "/api/v1/runs", "/docs/", "/no/such/path"] {
        let response = reqwest::get(format!("{listed}{path}")).await.unwrap();
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swagger_ui_can_authorize_with_the_password_flow() {
    let app = spawn().await;
    user_with_password(&app, "swagger@cadre.test").await;
    let doc: Value = reqwest::get(app.url("/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let flow = &doc["components"]["securitySchemes"]["oauth2"]["flows"]["password"];
    let token_url = flow["tokenUrl"].as_str().unwrap();
    assert_eq!(token_url, "/api/v1/auth/token");
    // What Swagger UI's Authorize dialog posts (empty scope and client fields included).
    let response = reqwest::Client::new()
        .post(app.url(token_url))
        .form(&[
            ("grant_type", "password"),
            ("username", "swagger@cadre.test"),
            ("password", PASSWORD),
            ("scope", ""),
            ("client_id", ""),
            ("client_secret", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let tokens: Value = response.json().await.unwrap();
    let response = reqwest::Client::new()
        .get(app.url("/api/v1/me"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let me: Value = response.json().await.unwrap();
    assert_eq!(me["email"], "swagger@cadre.test");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_api_tokens_are_shown_once_and_can_be_revoked() {
    let app = spawn().await;
    let response = app
        .http
        .post(app.url("/api/v1/me/tokens"))
        .json(&json!({"name": "ci", "expires_in_days": 30}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    let token = created["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("cadre_pat_"), "{token}");
    assert!(created["expires_at"].is_string());
    let id = created["id"].as_str().unwrap().to_string();

    // It works like a login, and the list never shows it again.
    assert_eq!(me(&app, &token).await, StatusCode::OK);
    let (_, list) = app.get_json("/api/v1/me/tokens").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(!list.to_string().contains(&token));
    assert!(token.starts_with(list[0]["hint"].as_str().unwrap()));

    // Another user cannot revoke it; its owner can, and it stops working.
    let bob = app.as_user("bob@cadre.test").await;
    let response = bob
        .http
        .delete(bob.url(&format!("/api/v1/me/tokens/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(me(&app, &token).await, StatusCode::OK);
    let response = app
        .http
        .delete(app.url(&format!("/api/v1/me/tokens/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(me(&app, &token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        me(&app, "cadre_pat_not-a-real-token").await,
        StatusCode::UNAUTHORIZED
    );

    // An expired token is refused.
    app.store
        .create_api_token(
            app.user,
            cadre_store::NewApiToken {
                name: "old".into(),
                token_hash: cadre_server::auth::token::hash_token("cadre_pat_expired-one"),
                hint: "cadre_pat_expi".into(),
                expires_at: Some(chrono::Utc::now() - chrono::Duration::seconds(1)),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        me(&app, "cadre_pat_expired-one").await,
        StatusCode::UNAUTHORIZED
    );

    for bad in [
        json!({"name": ""}),
        json!({"name": "x", "expires_in_days": 0}),
    ] {
        let response = app
            .http
            .post(app.url("/api/v1/me/tokens"))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_see_everyone_others_get_403() {
    let app = spawn().await;
    let alice_run = app.create_run_id("alice's run").await;
    let bob = app.as_user("bob@cadre.test").await;
    bob.create_run_id("bob's run").await;
    for path in [
        "/api/v1/admin/users",
        "/api/v1/admin/runs",
        "/api/v1/admin/audit",
    ] {
        let (status, body) = app.get_json(path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert_error(&body, "forbidden");
    }

    let (admin, token) = common::user_with_token(&app.store, "root@cadre.test", true).await;
    let root = client_with(&token);
    let get = |path: &'static str| {
        let url = app.url(path);
        let root = root.clone();
        async move {
            root.get(url)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let users = get("/api/v1/admin/users").await;
    let emails: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(
        emails,
        ["ada@cadre.test", "bob@cadre.test", "root@cadre.test"]
    );
    let runs = get("/api/v1/admin/runs").await;
    let mut tasks: Vec<&str> = runs["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["task"].as_str().unwrap())
        .collect();
    tasks.sort();
    assert_eq!(tasks, ["alice's run", "bob's run"]);
    // Admin rights do not make another user's run the admin's own.
    let response = root
        .get(app.url(&format!("/api/v1/runs/{alice_run}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    app.store
        .record_audit(cadre_store::AuditEntry {
            user_id: Some(admin),
            ..cadre_store::AuditEntry::new(cadre_store::AuditEvent::LoginOk)
        })
        .await
        .unwrap();
    let audit = get("/api/v1/admin/audit").await;
    assert_eq!(audit[0]["event"], "login_ok");
    assert_eq!(audit[0]["user_id"], admin.to_string());
}

// One thread, so that the subscriber set for it sees the server's logs.
#[tokio::test(flavor = "current_thread")]
async fn query_string_tokens_never_reach_the_logs() {
    let logs = common::CapturedLogs::start();

    let app = spawn().await;
    let run = app.create_run_id("t").await;
    let forged = format!("{}x", app.token);
    for token in [&app.token, &forged] {
        let status = reqwest::Client::new()
            .get(app.url(&format!("/api/v1/runs/{run}/events?access_token={token}")))
            .send()
            .await
            .unwrap()
            .status();
        assert!(status == StatusCode::OK || status == StatusCode::UNAUTHORIZED);
    }
    let logs = logs.text();
    assert!(logs.contains("access token refused"), "{logs}");
    assert!(
        logs.contains(&format!("/api/v1/runs/{run}/events")),
        "the path is logged"
    );
    assert!(
        !logs.contains(&app.token[20..]),
        "a token reached the logs: {logs}"
    );
}
