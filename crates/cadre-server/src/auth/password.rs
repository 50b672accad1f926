//! Password hashing: argon2id with the crate's defaults (19 MiB, 2 passes, 1 lane: the
//! OWASP minimum), stored as a PHC string that carries its own salt and parameters, so
//! they can be raised later without invalidating stored hashes. Hashing is deliberately
//! slow (tens of milliseconds), so it runs on the blocking pool, never on a runtime
//! thread.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest password accepted (argon2 takes any length; this bounds the work per request).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Why a password cannot be hashed.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// Too short or too long.
    #[error("the password must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_BYTES} bytes long")]
    Length,
    /// The hasher failed (no randomness, a worker thread lost).
    #[error("cannot hash the password: {0}")]
    Hasher(String),
}

/// Checks a new password's length.
pub fn check_new_password(password: &str) -> Result<(), PasswordError> {
    if password.chars().count() < MIN_PASSWORD_CHARS || password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordError::Length);
    }
    Ok(())
}

/// Hashes a new password (argon2id, random salt) into a PHC string.
pub async fn hash_password(password: String) -> Result<String, PasswordError> {
    check_new_password(&password)?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|error| PasswordError::Hasher(error.to_string()))
    })
    .await
    .map_err(|error| PasswordError::Hasher(error.to_string()))?
}

/// A PHC string of a password nobody knows, verified against when the account does not
/// exist, so that a failed login takes as long whether or not the email is registered.
const DECOY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$K1J8b5l3HnAvQ0P1q5Yc2m9hKz6c0X9cGm2yq3b0V6o";

/// Whether `password` matches `hash` (a PHC string; `None`: the account has no password
/// or does not exist, which never matches but costs the same time).
pub async fn verify_password(password: String, hash: Option<String>) -> bool {
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    let known = hash.is_some();
    let hash = hash.unwrap_or_else(|| DECOY_HASH.to_string());
    tokio::task::spawn_blocking(move || {
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return false;
        };
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        matches && known
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_differ() {
        let first = hash_password("correct horse battery".into()).await.unwrap();
        let second = hash_password("correct horse battery".into()).await.unwrap();
        assert!(first.starts_with("$argon2id$"), "{first}");
        assert_ne!(first, second, "salted");
        assert!(verify_password("correct horse battery".into(), Some(first.clone())).await);
        assert!(!verify_password("wrong horse battery".into(), Some(first)).await);
        assert!(!verify_password("anything at all".into(), None).await);
        assert!(!verify_password("x".into(), Some("not a phc string".into())).await);
    }

    #[test]
    fn the_decoy_hash_is_a_real_one() {
        assert!(PasswordHash::new(DECOY_HASH).is_ok());
    }

    #[tokio::test]
    async fn length_limits() {
        assert!(matches!(
            hash_password("short".into()).await,
            Err(PasswordError::Length)
        ));
        assert!(matches!(
            hash_password("x".repeat(MAX_PASSWORD_BYTES + 1)).await,
            Err(PasswordError::Length)
        ));
    }
}
