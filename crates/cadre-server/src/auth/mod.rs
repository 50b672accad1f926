//! Owns authentication and secrets: password hashing ([`password`]), access, refresh and
//! personal tokens ([`token`]), sealing of stored provider keys ([`sealing`]),
//! [`AuthConfig`] (what the API needs), the first admin ([`ensure_admin`]) and the
//! providers a user may store keys for ([`credentials`]). The routes that
//! use them live in `api::auth`.

pub mod credentials;
pub mod password;
pub mod sealing;
pub mod token;

use std::time::Duration;

use cadre_store::{AuditEntry, AuditEvent, NewUser, Store, StoreError};

pub use token::JwtKeys;

/// Email of the admin created on first start when `CADRE_ADMIN_EMAIL` is unset.
pub const DEFAULT_ADMIN_EMAIL: &str = "admin@cadre.local";

/// Why the first admin could not be created.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The password is unusable or could not be hashed.
    #[error(transparent)]
    Password(#[from] password::PasswordError),
    /// No randomness for a generated password.
    #[error(transparent)]
    Token(#[from] token::TokenError),
}

/// What [`ensure_admin`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Bootstrap {
    /// Someone can already log in: nothing to do.
    Existing,
    /// The admin was created with the given password.
    Created {
        /// The admin's email.
        email: String,
    },
    /// The admin was created with a generated password, to be shown once.
    Generated {
        /// The admin's email.
        email: String,
        /// The password (shown to the operator once, never logged).
        password: String,
    },
}

/// On a server nobody can log in to, creates the admin: `email` (default
/// [`DEFAULT_ADMIN_EMAIL`]) with `password`, or a generated one.
pub async fn ensure_admin(
    store: &dyn Store,
    email: Option<&str>,
    password: Option<&str>,
) -> Result<Bootstrap, BootstrapError> {
    if store.count_password_users().await? > 0 {
        return Ok(Bootstrap::Existing);
    }
    let email = email.unwrap_or(DEFAULT_ADMIN_EMAIL).trim().to_lowercase();
    let (password, generated) = match password {
        Some(password) => (password.to_string(), false),
        None => (token::random_secret()?, true),
    };
    let hash = password::hash_password(password.clone()).await?;
    let user = match store
        .create_user(NewUser {
            email: email.clone(),
            password_hash: Some(hash),
            is_admin: true,
        })
        .await
    {
        Ok(user) => user,
        // Another replica bootstrapped at the same moment.
        Err(StoreError::Conflict { .. }) if store.count_password_users().await? > 0 => {
            return Ok(Bootstrap::Existing);
        }
        Err(error) => return Err(error.into()),
    };
    let entry = AuditEntry {
        user_id: Some(user.id),
        email: Some(email.clone()),
        event: AuditEvent::UserCreated,
        detail: Some("first admin, created at start-up".into()),
        ip: None,
    };
    if let Err(error) = store.record_audit(entry).await {
        tracing::warn!(%error, "cannot write the audit log");
    }
    Ok(if generated {
        Bootstrap::Generated { email, password }
    } else {
        Bootstrap::Created { email }
    })
}

/// How long refresh tokens (a login session) live by default.
pub const REFRESH_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// How long access tokens live by default.
pub const ACCESS_TTL: Duration = Duration::from_secs(15 * 60);

/// Authentication settings of the API.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Signs and checks access tokens.
    pub jwt: JwtKeys,
    /// Seals users' provider keys.
    pub sealer: sealing::SecretBox,
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
            sealer: sealing::SecretBox::from_secret(secret),
            refresh_ttl: REFRESH_TTL,
            allow_registration: false,
        }
    }
}
