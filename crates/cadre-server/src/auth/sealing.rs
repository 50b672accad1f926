//! Sealing of stored secrets (users' provider API keys): XChaCha20-Poly1305 under a key
//! derived from the server secret, a fresh random 192-bit nonce per sealing (safe to draw
//! at random at that size), and the owner and provider as associated data, so a sealed
//! key moved to another user's or provider's row fails to open. Each sealed value names
//! the key it was sealed under (`key_id`), so `cadre secrets rotate` can find the ones to
//! re-seal and a wrong key fails with a clear message.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

/// Why a secret cannot be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// Sealed under a key this server does not have.
    #[error(
        "sealed under key {0}, which this server does not have (was CADRE_SECRET_KEY changed without `cadre secrets rotate`?)"
    )]
    UnknownKey(String),
    /// Tampered with, moved to another row, or corrupt.
    #[error("the sealed secret does not open (tampered with or corrupt)")]
    Corrupt,
    /// No randomness.
    #[error("cannot seal: {0}")]
    Random(String),
}

/// A sealed secret, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// Which key sealed it.
    pub key_id: String,
    /// The 24-byte nonce.
    pub nonce: Vec<u8>,
    /// Ciphertext with its 16-byte tag.
    pub ciphertext: Vec<u8>,
}

/// Seals and opens secrets under one server secret.
#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
    key_id: String,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretBox")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl SecretBox {
    /// The box for a server secret: the key is SHA-256 over a purpose label and the
    /// secret (so it differs from the token-signing key derived from the same secret);
    /// its id is a short hash of the key, which reveals nothing usable.
    pub fn from_secret(secret: &[u8]) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(b"cadre/credentials-xchacha20poly1305/v1\0");
        hasher.update(secret);
        let key = hasher.finalize();
        let id = Sha256::digest([b"cadre/key-id\0".as_slice(), key.as_slice()].concat());
        let key_id = id.iter().take(6).map(|b| format!("{b:02x}")).collect();
        Self {
            cipher: XChaCha20Poly1305::new(Key::from_slice(&key)),
            key_id,
        }
    }

    /// The id of this box's key.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Seals `plaintext`, bound to `context` (e.g. owner and provider).
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Sealed, SealError> {
        let mut nonce = [0u8; 24];
        getrandom::fill(&mut nonce).map_err(|e| SealError::Random(e.to_string()))?;
        let ciphertext = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            .map_err(|_| SealError::Corrupt)?;
        Ok(Sealed {
            key_id: self.key_id.clone(),
            nonce: nonce.to_vec(),
            ciphertext,
        })
    }

    /// Opens a sealed secret bound to `context`.
    pub fn open(&self, sealed: &Sealed, context: &[u8]) -> Result<Vec<u8>, SealError> {
        if sealed.key_id != self.key_id {
            return Err(SealError::UnknownKey(sealed.key_id.clone()));
        }
        if sealed.nonce.len() != 24 {
            return Err(SealError::Corrupt);
        }
        self.cipher
            .decrypt(
                XNonce::from_slice(&sealed.nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad: context,
                },
            )
            .map_err(|_| SealError::Corrupt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_open_only_with_their_key_and_context() {
        let sealer = SecretBox::from_secret(b"server secret one, long enough....");
        let sealed = sealer.seal(b"sk-live-123", b"user-a/openai").unwrap();
        assert!(!sealed.ciphertext.windows(11).any(|w| w == b"sk-live-123"));
        assert_eq!(
            sealer.open(&sealed, b"user-a/openai").unwrap(),
            b"sk-live-123"
        );
        // Another row, another key, a flipped bit: refused.
        assert_eq!(
            sealer.open(&sealed, b"user-b/openai"),
            Err(SealError::Corrupt)
        );
        let other = SecretBox::from_secret(b"server secret two, long enough....");
        assert!(matches!(
            other.open(&sealed, b"user-a/openai"),
            Err(SealError::UnknownKey(_))
        ));
        let mut tampered = sealed.clone();
        tampered.ciphertext[0] ^= 1;
        assert_eq!(
            sealer.open(&tampered, b"user-a/openai"),
            Err(SealError::Corrupt)
        );
        // Fresh nonces: the same secret seals differently each time.
        let again = sealer.seal(b"sk-live-123", b"user-a/openai").unwrap();
        assert_ne!(again.nonce, sealed.nonce);
        assert_ne!(again.ciphertext, sealed.ciphertext);
        assert_eq!(sealer.key_id().len(), 12);
        assert!(!format!("{sealer:?}").contains("secret"));
    }
}
