//! Owns the auth extractors: [`AuthUser`], which every protected handler takes (a bearer
//! JWT access token or a personal API token, from the `Authorization` header or, for
//! browser streams, `?access_token=`), and [`AdminUser`] for admin-only routes. A handler
//! without one is public, so the OpenAPI test that walks every route catches a forgotten
//! one.
//!
//! There is deliberately no optional form (`Option<AuthUser>`, a `MaybeAuthUser`): a
//! route either requires a caller or is public. An optional extractor that answered
//! "nobody" for any token it could not accept would serve a request with an expired or
//! tampered token as an anonymous one instead of refusing it with 401, hiding the bad
//! token from the client that sent it; realworld-axum-sqlx's `MaybeAuthUser` exists to
//! keep "no token" apart from "bad token", and a route that ever needs optional auth
//! needs that distinction too. (axum 0.8 accepts `Option<AuthUser>` only with an
//! `OptionalFromRequestParts` impl, which we do not provide, so it cannot slip in.)

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use cadre_store::StoreError;
use uuid::Uuid;

use crate::api::AppState;
use crate::api::error::{ApiError, ErrorCode};
use crate::auth::token::{PERSONAL_PREFIX, hash_token};

/// The caller, as proven by a valid access token of an enabled account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser {
    /// User id: every record the caller touches must be theirs.
    pub id: Uuid,
    /// Email.
    pub email: String,
    /// Whether the caller administers the server.
    pub is_admin: bool,
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(ErrorCode::Unauthorized, message)
}

/// The bearer token of a request: the `Authorization` header, else an `access_token`
/// query parameter (browsers cannot set headers on WebSocket or EventSource requests;
/// request logs record the path only, never the query).
fn presented_token(parts: &Parts) -> Option<String> {
    if let Some(header) = parts.headers.get(axum::http::header::AUTHORIZATION) {
        let value = header.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_string());
    }
    parts.uri.query().and_then(|query| {
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(name, _)| *name == "access_token")
            .map(|(_, value)| value.to_string())
    })
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = presented_token(parts)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| unauthorized("a bearer access token is required"))?;
        if token.starts_with(PERSONAL_PREFIX) {
            let user = state
                .store
                .api_token_user(&hash_token(&token))
                .await?
                .ok_or_else(|| unauthorized("the API token is invalid, expired or revoked"))?;
            crate::telemetry::http::record_user(user.id);
            return Ok(AuthUser {
                id: user.id,
                email: user.email,
                is_admin: user.is_admin,
            });
        }
        let claims = state.auth.jwt.verify(&token).map_err(|error| {
            tracing::debug!(%error, "access token refused");
            unauthorized("the access token is invalid or expired")
        })?;
        let user = match state.store.user_by_id(claims.sub).await {
            Ok(user) => user,
            Err(StoreError::NotFound { .. }) => {
                return Err(unauthorized("the access token is invalid or expired"));
            }
            Err(error) => return Err(error.into()),
        };
        if user.disabled {
            return Err(unauthorized("the account is disabled"));
        }
        crate::telemetry::http::record_user(user.id);
        Ok(AuthUser {
            id: user.id,
            email: user.email,
            is_admin: user.is_admin,
        })
    }
}

/// The caller, who must be an admin (others get 403).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminUser(pub AuthUser);

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        if !user.is_admin {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "only admins may do this",
            ));
        }
        Ok(AdminUser(user))
    }
}
