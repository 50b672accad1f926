//! Owns authentication: password hashing ([`password`]), access and refresh tokens
//! ([`token`]), and [`AuthConfig`], what the API needs to log users in. The routes that
//! use them live in `api::auth`.

pub mod password;
pub mod token;

use std::time::Duration;

pub use token::JwtKeys;

/// How long refresh tokens (a login session) live by default.
pub const REFRESH_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// How long access tokens live by default.
pub const ACCESS_TTL: Duration = Duration::from_secs(15 * 60);

/// Authentication settings of the API.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Signs and checks access tokens.
    pub jwt: JwtKeys,
    /// How long a login (its refresh tokens) lives.
    pub refresh_ttl: Duration,
    /// Whether anyone may register (`CADRE_ALLOW_REGISTRATION`).
    pub allow_registration: bool,
}

impl AuthConfig {
    /// Settings from the server secret with the default lifetimes, registration off.
    pub fn from_secret(secret: &[u8]) -> Self {
        Self {
            jwt: JwtKeys::from_secret(secret, ACCESS_TTL),
            refresh_ttl: REFRESH_TTL,
            allow_registration: false,
        }
    }
}
