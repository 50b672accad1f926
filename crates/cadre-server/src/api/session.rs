//! Owns browser sessions: the web UI's login, kept out of reach of page scripts.
//!
//! The OAuth2 token endpoint hands the refresh token to the caller, which suits API
//! clients and Swagger UI but would make a browser app keep it where scripts can read it.
//! Here the refresh token lives in an `HttpOnly`, `SameSite=Strict` cookie scoped to these
//! paths; the page holds only the short-lived access token, in memory, and renews it with
//! `POST /api/v1/auth/session/refresh` (after a reload too). Same accounts, throttling,
//! rotation, reuse detection and audit log as `/auth/token`.
//!
//! Cross-site requests cannot use the cookie (`SameSite=Strict`), and a forged login
//! needs a JSON body, which a cross-site form cannot send without a CORS preflight.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use cadre_store::UserRecord;
use cookie::{Cookie, SameSite};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::auth::{
    NO_STORE, UserView, access_token, end_login, normalize_email, password_login, rotate_login,
    start_login,
};
use super::error::{ApiError, ErrorBody, ErrorCode};
use super::extract::{ApiJson, ClientAddr};

/// The cookie holding a browser session's refresh token.
pub const SESSION_COOKIE: &str = "cadre_session";
/// The only path the cookie is sent to (and its sub-paths).
const COOKIE_PATH: &str = "/api/v1/auth/session";

/// The session routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/session", post(sign_in).delete(sign_out))
        .route("/api/v1/auth/session/refresh", post(refresh))
}

/// `POST /api/v1/auth/session` body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionRequest {
    /// Email.
    pub email: String,
    /// Password.
    pub password: String,
}

/// A browser session's access token (the refresh token is in the cookie).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionResponse {
    /// A JWT for `Authorization: Bearer …`.
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: &'static str,
    /// Seconds the access token is valid; refresh before.
    pub expires_in: u64,
    /// Who signed in.
    pub user: UserView,
}

/// Signs in with an email and password: the access token in the body, the login's refresh
/// token in an `HttpOnly` cookie.
#[utoipa::path(post, path = "/api/v1/auth/session", tag = "auth", security(()),
    request_body = SessionRequest,
    responses(
        (status = 200, description = "Signed in; the session cookie is set", body = SessionResponse),
        (status = 400, description = "Wrong email or password (`invalid_grant`), or a malformed body", body = ErrorBody),
        (status = 429, description = "Too many failed logins (see `Retry-After`)", body = ErrorBody),
    ))]
pub async fn sign_in(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    ApiJson(request): ApiJson<SessionRequest>,
) -> Result<Response, ApiError> {
    let user = password_login(
        &state,
        &normalize_email(&request.email),
        request.password,
        ip,
    )
    .await?;
    let refresh_token = start_login(&state, &user).await?;
    session_response(&state, &headers, user, refresh_token)
}

/// Renews the access token with the session cookie (rotating it), e.g. after a page
/// reload or before the access token expires.
#[utoipa::path(post, path = "/api/v1/auth/session/refresh", tag = "auth", security(()),
    responses(
        (status = 200, description = "A new access token; the cookie is rotated", body = SessionResponse),
        (status = 401, description = "No session, or it expired or was revoked", body = ErrorBody),
    ))]
pub async fn refresh(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let no_session = || {
        ApiError::new(
            ErrorCode::Unauthorized,
            "no session: sign in (the session expired, was revoked or never existed)",
        )
    };
    let presented = session_cookie(&headers).ok_or_else(no_session)?;
    let (user, refresh_token) = match rotate_login(&state, &presented).await {
        Ok(rotated) => rotated,
        Err(error) if error.code() == ErrorCode::InvalidGrant => {
            return Ok((
                [(SET_COOKIE, clear_cookie(&headers))],
                no_session().into_response(),
            )
                .into_response());
        }
        Err(error) => return Err(error),
    };
    if user.disabled {
        end_login(&state, &refresh_token).await?;
        return Err(no_session());
    }
    session_response(&state, &headers, user, refresh_token)
}

/// Signs out: the session's login is revoked and the cookie cleared. Always 204.
#[utoipa::path(delete, path = "/api/v1/auth/session", tag = "auth", security(()),
    responses((status = 204, description = "Signed out")))]
pub async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(presented) = session_cookie(&headers) {
        end_login(&state, &presented).await?;
    }
    Ok((
        StatusCode::NO_CONTENT,
        [(SET_COOKIE, clear_cookie(&headers))],
    )
        .into_response())
}

fn session_response(
    state: &AppState,
    headers: &HeaderMap,
    user: UserRecord,
    refresh_token: String,
) -> Result<Response, ApiError> {
    let (access_token, expires_in) = access_token(state, &user)?;
    let max_age = cookie::time::Duration::seconds(
        i64::try_from(state.auth.refresh_ttl.as_secs()).unwrap_or(i64::MAX),
    );
    let cookie = session_cookie_builder(headers, refresh_token)
        .max_age(max_age)
        .build();
    let cookie = HeaderValue::from_str(&cookie.to_string()).map_err(ApiError::internal)?;
    let body = SessionResponse {
        access_token,
        token_type: "bearer",
        expires_in,
        user: user.into(),
    };
    Ok((NO_STORE, [(SET_COOKIE, cookie)], Json(body)).into_response())
}

/// The refresh token in the request's session cookie.
fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == SESSION_COOKIE && !cookie.value().is_empty())
        .map(|cookie| cookie.value().to_owned())
}

fn session_cookie_builder(headers: &HeaderMap, value: String) -> cookie::CookieBuilder<'static> {
    Cookie::build((SESSION_COOKIE, value))
        .path(COOKIE_PATH)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(behind_https(headers))
}

fn clear_cookie(headers: &HeaderMap) -> HeaderValue {
    let cookie = session_cookie_builder(headers, String::new())
        .max_age(cookie::time::Duration::ZERO)
        .build();
    HeaderValue::from_str(&cookie.to_string())
        .unwrap_or_else(|_| HeaderValue::from_static("cadre_session=; Max-Age=0"))
}

/// Whether the browser reached us over HTTPS (through a TLS-terminating proxy, the only
/// way: the server itself speaks plain HTTP). Then the cookie is `Secure`; over plain
/// HTTP (`make run`, a LAN address) a `Secure` cookie would never come back.
fn behind_https(headers: &HeaderMap) -> bool {
    let forwarded_https = headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"));
    let origin_https = headers
        .get(axum::http::header::ORIGIN)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|origin| origin.starts_with("https://"));
    forwarded_https || origin_https
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_session_cookie_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("theme=dark; cadre_session=abc"),
        );
        assert_eq!(session_cookie(&headers).as_deref(), Some("abc"));
        headers.insert(COOKIE, HeaderValue::from_static("cadre_session="));
        assert_eq!(session_cookie(&headers), None);
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_scoped() {
        let headers = HeaderMap::new();
        let cookie = session_cookie_builder(&headers, "t".into())
            .build()
            .to_string();
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Strict"), "{cookie}");
        assert!(cookie.contains("Path=/api/v1/auth/session"), "{cookie}");
        assert!(!cookie.contains("Secure"), "{cookie}");
        let mut proxied = HeaderMap::new();
        proxied.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        let cookie = session_cookie_builder(&proxied, "t".into())
            .build()
            .to_string();
        assert!(cookie.contains("Secure"), "{cookie}");
    }
}
