//! Tokens: short-lived JWT access tokens (HS256 under a key derived from the server
//! secret; `jsonwebtoken` checks the signature, the algorithm — so `alg: none` and
//! algorithm swaps are refused — and expiry), and opaque random refresh tokens, of which
//! the store keeps only a SHA-256 hash (they are 256 random bits, so a fast hash is
//! enough; a slow one only guards guessable secrets like passwords).

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Prefix of refresh tokens (recognizable in a leak scanner; not a secret).
pub const REFRESH_PREFIX: &str = "cadre_rt_";
/// Prefix of personal API tokens.
pub const PERSONAL_PREFIX: &str = "cadre_pat_";

/// What an access token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user's id.
    pub sub: Uuid,
    /// Expiry (seconds since the epoch).
    pub exp: u64,
    /// Issued at.
    pub iat: u64,
    /// Whether the user is an admin (re-checked against the database on use).
    pub adm: bool,
    /// Token type: always `access` (refresh tokens are not JWTs).
    pub typ: String,
}

/// Why a token was refused (all answer 401; the detail goes to logs, not clients).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Bad signature, algorithm, shape, type or expiry.
    #[error("invalid access token: {0}")]
    Invalid(String),
    /// The system has no randomness or clock.
    #[error("cannot make a token: {0}")]
    Internal(String),
}

/// Signs and checks access tokens.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl: Duration,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl JwtKeys {
    /// Keys derived from the server secret (domain-separated, so the same secret can key
    /// other purposes without the JWT key being one of them), tokens valid for `ttl`.
    pub fn from_secret(secret: &[u8], ttl: Duration) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(b"cadre/jwt-hs256/v1\0");
        hasher.update(secret);
        let key = hasher.finalize();
        Self {
            encoding: EncodingKey::from_secret(&key),
            decoding: DecodingKey::from_secret(&key),
            ttl,
        }
    }

    /// How long access tokens live.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A new access token for a user.
    pub fn issue(&self, user: Uuid, is_admin: bool) -> Result<String, TokenError> {
        let now = now_secs()?;
        let claims = AccessClaims {
            sub: user,
            exp: now + self.ttl.as_secs(),
            iat: now,
            adm: is_admin,
            typ: "access".into(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|error| TokenError::Internal(error.to_string()))
    }

    /// Checks an access token: HS256 only, signature, `exp` (no leeway), type.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let data = jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &validation)
            .map_err(|error| TokenError::Invalid(error.to_string()))?;
        if data.claims.typ != "access" {
            return Err(TokenError::Invalid("not an access token".into()));
        }
        Ok(data.claims)
    }
}

fn now_secs() -> Result<u64, TokenError> {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .map_err(|error| TokenError::Internal(error.to_string()))
}

/// 256 random bits, URL-safe base64.
pub fn random_secret() -> Result<String, TokenError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|error| TokenError::Internal(error.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// A new refresh token and the hash the store keeps.
pub fn new_refresh_token() -> Result<(String, String), TokenError> {
    let token = format!("{REFRESH_PREFIX}{}", random_secret()?);
    let hash = hash_token(&token);
    Ok((token, hash))
}

/// A new personal API token and the hash the store keeps.
pub fn new_personal_token() -> Result<(String, String), TokenError> {
    let token = format!("{PERSONAL_PREFIX}{}", random_secret()?);
    let hash = hash_token(&token);
    Ok((token, hash))
}

/// SHA-256 of a token, hex.
pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> JwtKeys {
        JwtKeys::from_secret(b"a test secret of some length", Duration::from_secs(900))
    }

    #[test]
    fn issued_tokens_verify() {
        let user = Uuid::new_v4();
        let token = keys().issue(user, true).unwrap();
        let claims = keys().verify(&token).unwrap();
        assert_eq!((claims.sub, claims.adm), (user, true));
        assert_eq!(claims.exp - claims.iat, 900);
    }

    #[test]
    fn other_keys_tampering_alg_none_and_expiry_are_refused() {
        let token = keys().issue(Uuid::new_v4(), false).unwrap();
        let other = JwtKeys::from_secret(b"another secret", Duration::from_secs(900));
        assert!(other.verify(&token).is_err());

        // Tampered payload (admin flag flipped), signature kept.
        let parts: Vec<&str> = token.split('.').collect();
        let payload = URL_SAFE_NO_PAD.decode(parts[1]).unwrap();
        let forged = String::from_utf8(payload)
            .unwrap()
            .replace("\"adm\":false", "\"adm\":true");
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(forged),
            parts[2]
        );
        assert!(keys().verify(&forged).is_err());

        // alg: none, no signature.
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
            parts[1]
        );
        assert!(keys().verify(&none).is_err());

        // Expired.
        let expired = JwtKeys::from_secret(b"a test secret of some length", Duration::ZERO);
        let token = expired.issue(Uuid::new_v4(), false).unwrap();
        std::thread::sleep(Duration::from_millis(1100));
        assert!(keys().verify(&token).is_err());

        assert!(keys().verify("garbage").is_err());
    }

    #[test]
    fn refresh_tokens_are_random_and_hashed() {
        let (a, hash_a) = new_refresh_token().unwrap();
        let (b, _) = new_refresh_token().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with(REFRESH_PREFIX) && a.len() > 40);
        assert_eq!(hash_token(&a), hash_a);
        assert_eq!(hash_a.len(), 64);
        assert!(!hash_a.contains(&a));
    }
}
