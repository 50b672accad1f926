//! Users' provider credentials in clear, briefly: the providers a key may be stored for,
//! sealing a key into a [`StoredCredential`] and opening one into a [`UserCredential`]
//! (only the worker, right before calling the model, and the model list, to ask the
//! provider which models the key reaches), and choosing a user's [`preferred`] key.

use cadre_llm::config::ApiKey;
use cadre_store::{Store, StoreError, StoredCredential};
use uuid::Uuid;

use super::sealing::{SealError, Sealed, SecretBox};

/// Providers a user may store a key for, in the order a run prefers them.
pub const PROVIDERS: [&str; 3] = ["openrouter", "openai", "custom"];

/// An opened credential: what the worker needs to call the model.
#[derive(Debug, Clone)]
pub struct UserCredential {
    /// `openrouter`, `openai` or `custom`.
    pub provider: String,
    /// The key (its `Debug`/`Display` show a mask only).
    pub api_key: ApiKey,
    /// Base URL (custom endpoints).
    pub base_url: Option<String>,
    /// Model used when a run names none.
    pub default_model: Option<String>,
}

/// Why a user's preferred credential cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum PreferredError {
    /// The store did not answer.
    #[error("cannot read provider keys: {0}")]
    Store(#[from] StoreError),
    /// The key does not open (sealed under a retired server secret, or tampered with).
    #[error("the stored {provider} key cannot be used: {source}")]
    Unreadable {
        /// Whose key.
        provider: String,
        /// Why.
        source: SealError,
    },
}

/// The user's stored credential a run uses: the first of [`PROVIDERS`] they stored a key
/// for, opened; `None` when they stored none.
pub async fn preferred(
    store: &dyn Store,
    sealer: &SecretBox,
    owner: Uuid,
) -> Result<Option<UserCredential>, PreferredError> {
    let stored = store.list_credentials(owner).await?;
    let Some(stored) = PROVIDERS
        .iter()
        .find_map(|provider| stored.iter().find(|c| c.provider == *provider))
    else {
        return Ok(None);
    };
    open(sealer, stored)
        .map(Some)
        .map_err(|source| PreferredError::Unreadable {
            provider: stored.provider.clone(),
            source,
        })
}

/// What binds a sealed key to its row.
fn context(user_id: Uuid, provider: &str) -> Vec<u8> {
    format!("{user_id}/{provider}").into_bytes()
}

/// Seals a key for `user_id`'s `provider` row.
pub fn seal(
    sealer: &SecretBox,
    user_id: Uuid,
    provider: &str,
    api_key: &str,
    base_url: Option<String>,
    default_model: Option<String>,
) -> Result<StoredCredential, SealError> {
    let sealed = sealer.seal(api_key.as_bytes(), &context(user_id, provider))?;
    Ok(StoredCredential {
        user_id,
        provider: provider.to_string(),
        key_id: sealed.key_id,
        nonce: sealed.nonce,
        ciphertext: sealed.ciphertext,
        base_url,
        default_model,
        hint: ApiKey::new(api_key).to_string(),
        updated_at: chrono::Utc::now(),
    })
}

/// Opens a stored credential.
pub fn open(sealer: &SecretBox, stored: &StoredCredential) -> Result<UserCredential, SealError> {
    let sealed = Sealed {
        key_id: stored.key_id.clone(),
        nonce: stored.nonce.clone(),
        ciphertext: stored.ciphertext.clone(),
    };
    let key = sealer.open(&sealed, &context(stored.user_id, &stored.provider))?;
    let key = String::from_utf8(key).map_err(|_| SealError::Corrupt)?;
    Ok(UserCredential {
        provider: stored.provider.clone(),
        api_key: ApiKey::new(key),
        base_url: stored.base_url.clone(),
        default_model: stored.default_model.clone(),
    })
}

/// Re-seals a credential under `to` (it must open under `from`).
pub fn reseal(
    from: &SecretBox,
    to: &SecretBox,
    stored: &StoredCredential,
) -> Result<StoredCredential, SealError> {
    let opened = open(from, stored)?;
    let sealed = to.seal(
        opened.api_key.expose().as_bytes(),
        &context(stored.user_id, &stored.provider),
    )?;
    Ok(StoredCredential {
        key_id: sealed.key_id,
        nonce: sealed.nonce,
        ciphertext: sealed.ciphertext,
        ..stored.clone()
    })
}

/// Why stored credentials could not be re-sealed.
#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    /// The database failed (nothing was changed).
    #[error(transparent)]
    Store(#[from] cadre_store::StoreError),
    /// A credential does not open under the current key (nothing was changed).
    #[error("the {provider} key of user {user_id} does not open: {error}")]
    Unopenable {
        /// Its user.
        user_id: Uuid,
        /// Its provider.
        provider: String,
        /// Why.
        error: SealError,
    },
}

/// Re-seals every stored credential from `from` to `to`, in one transaction: afterwards
/// all of them open under `to` only; on failure none changed. Returns how many there were.
pub async fn rotate_all(
    store: &dyn cadre_store::Store,
    from: &SecretBox,
    to: &SecretBox,
) -> Result<usize, RotateError> {
    let stored = store.all_credentials().await?;
    let mut resealed = Vec::with_capacity(stored.len());
    for credential in &stored {
        // Already under the new key (a rotation interrupted after its commit): keep.
        if credential.key_id == to.key_id() {
            continue;
        }
        resealed.push(
            reseal(from, to, credential).map_err(|error| RotateError::Unopenable {
                user_id: credential.user_id,
                provider: credential.provider.clone(),
                error,
            })?,
        );
    }
    store.reseal_credentials(&resealed).await?;
    Ok(stored.len())
}
