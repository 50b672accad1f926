//! Owns logging in and accounts over HTTP: the OAuth2 token endpoint (password and
//! refresh-token grants, form encoded, so Swagger UI's *Authorize* button works;
//! short-lived JWT access tokens, rotating refresh tokens), logout, self-service
//! registration and `me`, with their JSON shapes. The login steps ([`password_login`],
//! [`start_login`], [`rotate_login`], [`end_login`]) are shared with the browser session
//! (`api::session`). Every login, failed login, refresh, reuse and logout goes to the
//! audit log ([`audit`]).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cadre_store::{AuditEntry, AuditEvent, NewRefreshToken, NewUser, RefreshOutcome, UserRecord};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::extract::AuthUser;
use crate::api::AppState;
use crate::api::error::{ApiError, ErrorBody, ErrorCode, FieldError};
use crate::api::extract::{ApiForm, ApiJson, ClientAddr};
use crate::auth::password::{check_new_password, hash_password, verify_password};
use crate::auth::token::{hash_token, new_refresh_token};

/// An OAuth2 token request (RFC 6749 §4.3 and §6), form encoded.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct TokenRequest {
    /// `password` or `refresh_token`.
    pub grant_type: String,
    /// The email (password grant).
    pub username: Option<String>,
    /// The password (password grant).
    pub password: Option<String>,
    /// The refresh token (refresh-token grant).
    pub refresh_token: Option<String>,
    /// Ignored (no scopes).
    pub scope: Option<String>,
    /// Ignored (public client).
    pub client_id: Option<String>,
    /// Ignored (public client).
    pub client_secret: Option<String>,
}

/// Issued tokens (RFC 6749 §5.1).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenResponse {
    /// A JWT for `Authorization: Bearer …`.
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: &'static str,
    /// Seconds the access token is valid.
    pub expires_in: u64,
    /// Exchange it at this endpoint (`grant_type=refresh_token`) for new tokens; each
    /// works once.
    pub refresh_token: String,
}

/// A user as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserView {
    /// User id.
    pub id: Uuid,
    /// Email.
    pub email: String,
    /// Whether the user administers the server.
    pub is_admin: bool,
    /// Whether the account is disabled.
    pub disabled: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl From<UserRecord> for UserView {
    fn from(user: UserRecord) -> Self {
        Self {
            id: user.id,
            email: user.email,
            is_admin: user.is_admin,
            disabled: user.disabled,
            created_at: user.created_at,
        }
    }
}

/// Normalizes an email for storage and lookup: trimmed, lower case.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

fn invalid_grant(message: &str) -> ApiError {
    ApiError::new(ErrorCode::InvalidGrant, message)
}

/// Appends to the audit log; a failure is logged, never fails the request.
pub(crate) async fn audit(state: &AppState, entry: AuditEntry) {
    if let Err(error) = state.store.record_audit(entry).await {
        tracing::warn!(%error, "cannot write the audit log");
    }
}

/// Issues tokens: `grant_type=password` with `username` (email) and `password`, or
/// `grant_type=refresh_token` with `refresh_token`. A refresh token works once; presenting
/// a used one again revokes every token of that login.
#[utoipa::path(post, path = "/api/v1/auth/token", tag = "auth", security(()),
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Tokens issued", body = TokenResponse),
        (status = 400, description = "Wrong credentials or invalid refresh token (`invalid_grant`), or a malformed request", body = ErrorBody),
        (status = 415, description = "Not form encoded", body = ErrorBody),
        (status = 422, description = "Missing fields", body = ErrorBody),
        (status = 429, description = "Too many failed logins for this account or address (see `Retry-After`)", body = ErrorBody),
    ))]
pub async fn token(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    ApiForm(request): ApiForm<TokenRequest>,
) -> Result<Response, ApiError> {
    let user = match request.grant_type.as_str() {
        "password" => {
            let (Some(username), Some(password)) = (request.username, request.password) else {
                return Err(ApiError::validation(vec![FieldError::new(
                    "username",
                    "the password grant needs `username` and `password`",
                )]));
            };
            password_login(&state, &normalize_email(&username), password, ip).await?
        }
        "refresh_token" => {
            let Some(presented) = request.refresh_token else {
                return Err(ApiError::validation(vec![FieldError::new(
                    "refresh_token",
                    "required for grant_type=refresh_token",
                )]));
            };
            let (user, refresh_token) = rotate_login(&state, &presented).await?;
            return issue(&state, &user, refresh_token);
        }
        other => {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                format!("unsupported grant_type {other:?} (use `password` or `refresh_token`)"),
            )
            .with_details(serde_json::json!({ "oauth_error": "unsupported_grant_type" })));
        }
    };
    let refresh_token = start_login(&state, &user).await?;
    issue(&state, &user, refresh_token)
}

/// Starts a login for `user`: a new refresh-token family. Returns the token in clear.
pub(crate) async fn start_login(state: &AppState, user: &UserRecord) -> Result<String, ApiError> {
    let (refresh_token, hash) = new_refresh_token().map_err(ApiError::internal)?;
    state
        .store
        .insert_refresh_token(
            user.id,
            NewRefreshToken {
                token_hash: hash,
                expires_at: refresh_expiry(state),
            },
        )
        .await?;
    Ok(refresh_token)
}

/// Checks an email and password (throttled, audited); the account on success, else
/// `invalid_grant` whatever the reason.
pub(crate) async fn password_login(
    state: &AppState,
    email: &str,
    password: String,
    ip: Option<std::net::IpAddr>,
) -> Result<UserRecord, ApiError> {
    let ip_key = ip.map(|ip| ip.to_string());
    let limits = &state.limits;
    let throttled = limits
        .login_failures_per_account
        .check(email)
        .and_then(|()| match &ip_key {
            Some(key) => limits.login_failures_per_ip.check(key),
            None => Ok(()),
        });
    if let Err(retry_after) = throttled {
        audit(
            state,
            AuditEntry {
                email: Some(email.to_string()),
                ip: ip_key.clone(),
                ..AuditEntry::new(AuditEvent::LoginThrottled)
            },
        )
        .await;
        return Err(ApiError::rate_limited(
            "too many failed logins; wait before trying again",
            retry_after,
        ));
    }
    let found = state.store.user_by_email(email).await?;
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), hash),
        None => (None, None),
    };
    let matches = verify_password(password, hash).await;
    match user {
        Some(user) if matches && !user.disabled => {
            limits.login_failures_per_account.clear(email);
            audit(
                state,
                AuditEntry {
                    user_id: Some(user.id),
                    email: Some(user.email.clone()),
                    ip: ip_key,
                    ..AuditEntry::new(AuditEvent::LoginOk)
                },
            )
            .await;
            Ok(user)
        }
        user => {
            let detail = match &user {
                Some(user) if user.disabled => "account disabled",
                Some(_) => "wrong password",
                None => "unknown account",
            };
            limits.login_failures_per_account.record(email);
            if let Some(key) = &ip_key {
                limits.login_failures_per_ip.record(key);
            }
            audit(
                state,
                AuditEntry {
                    user_id: user.as_ref().map(|u| u.id),
                    email: Some(email.to_string()),
                    event: AuditEvent::LoginFailed,
                    detail: Some(detail.into()),
                    ip: ip_key,
                },
            )
            .await;
            // One message whatever the reason: no account enumeration.
            Err(invalid_grant("wrong email or password"))
        }
    }
}

/// Rotates a refresh token: its login's user and the next token, or `invalid_grant` (a
/// reused token also revokes its whole login).
pub(crate) async fn rotate_login(
    state: &AppState,
    presented: &str,
) -> Result<(UserRecord, String), ApiError> {
    let (refresh_token, hash) = new_refresh_token().map_err(ApiError::internal)?;
    let outcome = state
        .store
        .rotate_refresh_token(
            &hash_token(presented),
            NewRefreshToken {
                token_hash: hash,
                expires_at: refresh_expiry(state),
            },
        )
        .await?;
    match outcome {
        RefreshOutcome::Rotated { user } => {
            audit(
                state,
                AuditEntry {
                    user_id: Some(user.id),
                    ..AuditEntry::new(AuditEvent::TokenRefreshed)
                },
            )
            .await;
            Ok((user, refresh_token))
        }
        RefreshOutcome::Reused { user_id } => {
            tracing::warn!(%user_id, "a used refresh token was presented again; its login is revoked");
            audit(
                state,
                AuditEntry {
                    user_id: Some(user_id),
                    detail: Some("the login's tokens were revoked".into()),
                    ..AuditEntry::new(AuditEvent::RefreshTokenReused)
                },
            )
            .await;
            Err(invalid_grant(
                "the refresh token is invalid, expired or revoked",
            ))
        }
        RefreshOutcome::Invalid => Err(invalid_grant(
            "the refresh token is invalid, expired or revoked",
        )),
    }
}

fn refresh_expiry(state: &AppState) -> DateTime<Utc> {
    let ttl = chrono::Duration::from_std(state.auth.refresh_ttl)
        .unwrap_or_else(|_| chrono::Duration::days(30));
    Utc::now() + ttl
}

/// A new access token for `user` and its lifetime in seconds.
pub(crate) fn access_token(state: &AppState, user: &UserRecord) -> Result<(String, u64), ApiError> {
    let token = state
        .auth
        .jwt
        .issue(user.id, user.is_admin)
        .map_err(ApiError::internal)?;
    Ok((token, state.auth.jwt.ttl().as_secs()))
}

/// RFC 6749 §5.1: token responses must not be cached.
pub(crate) const NO_STORE: [(axum::http::HeaderName, &str); 2] = [
    (axum::http::header::CACHE_CONTROL, "no-store"),
    (axum::http::header::PRAGMA, "no-cache"),
];

fn issue(state: &AppState, user: &UserRecord, refresh_token: String) -> Result<Response, ApiError> {
    let (access_token, expires_in) = access_token(state, user)?;
    let body = TokenResponse {
        access_token,
        token_type: "bearer",
        expires_in,
        refresh_token,
    };
    Ok((NO_STORE, Json(body)).into_response())
}

/// `POST /api/v1/auth/logout` body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoutRequest {
    /// The refresh token of the login to end.
    pub refresh_token: String,
}

/// Ends a login: its refresh tokens stop working (access tokens already issued expire on
/// their own within minutes). Unknown tokens are accepted silently.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(()),
    request_body = LogoutRequest,
    responses(
        (status = 204, description = "Logged out"),
        (status = 400, description = "Malformed body", body = ErrorBody),
    ))]
pub async fn logout(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<LogoutRequest>,
) -> Result<StatusCode, ApiError> {
    end_login(&state, &request.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes the login a refresh token belongs to (unknown tokens: nothing to do).
pub(crate) async fn end_login(state: &AppState, refresh_token: &str) -> Result<(), ApiError> {
    let user = state
        .store
        .revoke_refresh_family(&hash_token(refresh_token))
        .await?;
    if let Some(user_id) = user {
        audit(
            state,
            AuditEntry {
                user_id: Some(user_id),
                detail: Some("logout".into()),
                ..AuditEntry::new(AuditEvent::TokenRevoked)
            },
        )
        .await;
    }
    Ok(())
}

/// `POST /api/v1/auth/register` body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// Email (the login name).
    pub email: String,
    /// Password, at least 10 characters.
    pub password: String,
}

/// Creates an account, when the server allows registration
/// (`CADRE_ALLOW_REGISTRATION=true`); otherwise 403.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", security(()),
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created", body = UserView),
        (status = 403, description = "Registration is closed", body = ErrorBody),
        (status = 409, description = "The email is taken", body = ErrorBody),
        (status = 422, description = "Invalid email or password", body = ErrorBody),
    ))]
pub async fn register(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<RegisterRequest>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    if !state.auth.allow_registration {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "registration is closed on this server; ask an admin for an account",
        ));
    }
    let email = normalize_email(&request.email);
    let mut fields = Vec::new();
    if !valid_email(&email) {
        fields.push(FieldError::new("email", "must be an email address"));
    }
    if let Err(error) = check_new_password(&request.password) {
        fields.push(FieldError::new("password", error.to_string()));
    }
    if !fields.is_empty() {
        return Err(ApiError::validation(fields));
    }
    let hash = hash_password(request.password)
        .await
        .map_err(ApiError::internal)?;
    let user = state
        .store
        .create_user(NewUser {
            email,
            password_hash: Some(hash),
            is_admin: false,
        })
        .await?;
    audit(
        &state,
        AuditEntry {
            user_id: Some(user.id),
            email: Some(user.email.clone()),
            ..AuditEntry::new(AuditEvent::UserRegistered)
        },
    )
    .await;
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// A plausible email: one `@`, something on both sides, a dot in the domain, no spaces.
pub fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && email.len() <= 254
        && !email.chars().any(char::is_whitespace)
}

/// The caller's account.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    responses(
        (status = 200, description = "The caller", body = UserView),
        (status = 401, description = "No valid access token", body = ErrorBody),
    ))]
pub async fn me(State(state): State<AppState>, user: AuthUser) -> Result<Json<UserView>, ApiError> {
    Ok(Json(state.store.user_by_id(user.id).await?.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(valid_email("ada@example.org"));
        assert!(!valid_email("ada"));
        assert!(!valid_email("@example.org"));
        assert!(!valid_email("ada@localhost"));
        assert!(!valid_email("a da@example.org"));
        assert_eq!(normalize_email("  Ada@Example.ORG "), "ada@example.org");
    }
}
