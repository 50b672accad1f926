//! Owns authentication over HTTP:
//! - `extract`: the [`AuthUser`] extractor that every protected handler takes (a handler
//!   without it is public, so the OpenAPI test that walks every route catches a forgotten
//!   one) and [`AdminUser`];
//! - `login`: the auth routes and the login steps they share with `api::session`:
//!   - `POST /api/v1/auth/token`: the OAuth2 password grant and refresh-token grant, form
//!     encoded (so Swagger UI's *Authorize* button works); short-lived JWT access tokens,
//!     rotating refresh tokens;
//!   - `POST /api/v1/auth/logout`: revokes the refresh token's login;
//!   - `POST /api/v1/auth/register`: self-service accounts, when the server allows them;
//!   - `GET /api/v1/me`: who the token belongs to.
//!
//! Every login, failed login, refresh, reuse and logout goes to the audit log. Everything
//! is re-exported here, so the rest of the crate (and `openapi::ApiDoc`, which names each
//! operation as `auth::<handler>`) sees one flat module.

mod extract;
mod login;

use axum::Router;
use axum::routing::{get, post};

use super::AppState;

pub use extract::{AdminUser, AuthUser};
// The glob also re-exports the hidden `__path_<handler>` items that `#[utoipa::path]`
// generates beside each handler: `openapi::ApiDoc` finds `auth::token`'s operation
// through them.
pub use login::*;
pub(crate) use login::{
    NO_STORE, access_token, audit, end_login, password_login, rotate_login, start_login,
};

/// The auth routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/token", post(token))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/auth/register", post(register))
        .route("/api/v1/me", get(me))
}
