//! Owns the account side of the store: [`AccountStore`] and its records, for users
//! (password hashes, admin, disabled), rotating refresh tokens with reuse detection,
//! personal API tokens, sealed provider credentials and the audit log of security
//! events. The store never sees a password or a token: callers hash them (argon2id for
//! passwords, SHA-256 for tokens, which are random and long) and the store keeps hashes;
//! credentials arrive sealed.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::StoreError;
use crate::model::now_micros;

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserRecord {
    /// User id.
    pub id: Uuid,
    /// Email (the login name), as stored.
    pub email: String,
    /// Whether the user administers the server.
    pub is_admin: bool,
    /// Disabled users cannot log in or use their tokens.
    pub disabled: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// What [`AccountStore::create_user`] needs.
#[derive(Clone, PartialEq, Eq)]
pub struct NewUser {
    /// Email (the login name).
    pub email: String,
    /// PHC string of the password hash (`None`: no password login).
    pub password_hash: Option<String>,
    /// Whether the user administers the server.
    pub is_admin: bool,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("email", &self.email)
            .field("is_admin", &self.is_admin)
            .finish_non_exhaustive()
    }
}

impl NewUser {
    /// The record of this user as `create_user` writes it (enabled, created now), and the
    /// password hash to store with it.
    pub(crate) fn into_record(self) -> (UserRecord, Option<String>) {
        let record = UserRecord {
            id: Uuid::new_v4(),
            email: self.email,
            is_admin: self.is_admin,
            disabled: false,
            created_at: now_micros(),
        };
        (record, self.password_hash)
    }
}

/// The email [`crate::Store::ensure_user`] is given, trimmed; an empty one is
/// [`StoreError::Invalid`].
pub(crate) fn ensured_email(email: &str) -> Result<&str, StoreError> {
    let email = email.trim();
    if email.is_empty() {
        return Err(StoreError::Invalid("email is empty".into()));
    }
    Ok(email)
}

/// A refresh token to store: its hash, never the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefreshToken {
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// When it stops being accepted.
    pub expires_at: DateTime<Utc>,
}

/// What presenting a refresh token led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// Valid: it is now used up and its successor stored, in the same family.
    Rotated {
        /// Its user.
        user: UserRecord,
    },
    /// Already used once: a copy is in someone else's hands. Its whole family (the login
    /// it belongs to) is revoked.
    Reused {
        /// Its user.
        user_id: Uuid,
    },
    /// Unknown, expired, revoked, or its user is disabled.
    Invalid,
}

/// What a security event of the audit log was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditEvent {
    /// An account was created (first admin, `cadre user add`).
    UserCreated,
    /// Someone registered through the API.
    UserRegistered,
    /// An account was disabled.
    UserDisabled,
    /// An account was enabled again.
    UserEnabled,
    /// A password was changed.
    PasswordChanged,
    /// A login succeeded.
    LoginOk,
    /// A login failed (wrong password, unknown or disabled account).
    LoginFailed,
    /// A login was refused for too many recent failures.
    LoginThrottled,
    /// A refresh token was exchanged for new tokens.
    TokenRefreshed,
    /// A rotated-out refresh token came back: its family was revoked.
    RefreshTokenReused,
    /// A personal API token was created.
    TokenIssued,
    /// A refresh or personal API token was revoked.
    TokenRevoked,
    /// A provider key was stored.
    CredentialCreated,
    /// A stored provider key was replaced.
    CredentialChanged,
    /// A stored provider key was removed.
    CredentialDeleted,
}

impl AuditEvent {
    /// The name stored and shown (`login_ok`, `token_revoked`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            AuditEvent::UserCreated => "user_created",
            AuditEvent::UserRegistered => "user_registered",
            AuditEvent::UserDisabled => "user_disabled",
            AuditEvent::UserEnabled => "user_enabled",
            AuditEvent::PasswordChanged => "password_changed",
            AuditEvent::LoginOk => "login_ok",
            AuditEvent::LoginFailed => "login_failed",
            AuditEvent::LoginThrottled => "login_throttled",
            AuditEvent::TokenRefreshed => "token_refreshed",
            AuditEvent::RefreshTokenReused => "refresh_token_reused",
            AuditEvent::TokenIssued => "token_issued",
            AuditEvent::TokenRevoked => "token_revoked",
            AuditEvent::CredentialCreated => "credential_created",
            AuditEvent::CredentialChanged => "credential_changed",
            AuditEvent::CredentialDeleted => "credential_deleted",
        }
    }
}

/// One security event for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// The account concerned, if known.
    pub user_id: Option<Uuid>,
    /// The login name given (kept for failed logins of unknown accounts).
    pub email: Option<String>,
    /// What happened.
    pub event: AuditEvent,
    /// Free-form detail (never a secret).
    pub detail: Option<String>,
    /// The client's address.
    pub ip: Option<String>,
}

impl AuditEntry {
    /// An entry for `event` with nothing else known yet.
    pub fn new(event: AuditEvent) -> Self {
        Self {
            user_id: None,
            email: None,
            event,
            detail: None,
            ip: None,
        }
    }
}

/// A stored audit event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    /// Increasing id (pass as `before` to page back).
    pub id: i64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The account concerned, if known.
    pub user_id: Option<Uuid>,
    /// The login name given.
    pub email: Option<String>,
    /// What happened.
    pub event: String,
    /// Detail.
    pub detail: Option<String>,
    /// Client address.
    pub ip: Option<String>,
}

/// A personal API token to store: its hash, never the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiToken {
    /// What the user calls it (`ci`, `laptop script`).
    pub name: String,
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// The token's first characters (not enough to use it), to recognise it in lists.
    pub hint: String,
    /// When it stops working (`None`: never).
    pub expires_at: Option<DateTime<Utc>>,
}

impl NewApiToken {
    /// The record of this token of `user_id` as `create_api_token` writes it (created
    /// now, not revoked), and the hash to store with it.
    pub(crate) fn into_record(self, user_id: Uuid) -> (ApiTokenRecord, String) {
        let record = ApiTokenRecord {
            id: Uuid::new_v4(),
            user_id,
            name: self.name,
            hint: self.hint,
            created_at: now_micros(),
            expires_at: self.expires_at,
            revoked_at: None,
        };
        (record, self.token_hash)
    }
}

/// A stored personal API token (without the token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiTokenRecord {
    /// Token id.
    pub id: Uuid,
    /// Its user.
    pub user_id: Uuid,
    /// Its name.
    pub name: String,
    /// Its first characters.
    pub hint: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Expiry, if any.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A user's sealed provider credential, as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredCredential {
    /// Its user.
    pub user_id: Uuid,
    /// `openrouter`, `openai` or `custom`.
    pub provider: String,
    /// Which server key sealed it.
    pub key_id: String,
    /// The sealing nonce.
    pub nonce: Vec<u8>,
    /// The sealed API key.
    pub ciphertext: Vec<u8>,
    /// Base URL (custom endpoints).
    pub base_url: Option<String>,
    /// Model used when a run names none.
    pub default_model: Option<String>,
    /// The masked key, safe to show.
    pub hint: String,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for StoredCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredCredential")
            .field("user_id", &self.user_id)
            .field("provider", &self.provider)
            .field("key_id", &self.key_id)
            .field("hint", &self.hint)
            .finish_non_exhaustive()
    }
}

/// Accounts, sessions and the audit log.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Creates a user. [`StoreError::Conflict`] when the email is taken.
    async fn create_user(&self, user: NewUser) -> Result<UserRecord, StoreError>;

    /// The user with this email and their password hash, if any.
    async fn user_by_email(
        &self,
        email: &str,
    ) -> Result<Option<(UserRecord, Option<String>)>, StoreError>;

    /// One user.
    async fn user_by_id(&self, id: Uuid) -> Result<UserRecord, StoreError>;

    /// Every user, oldest first.
    async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError>;

    /// Users who can log in with a password (zero: the server bootstraps an admin).
    async fn count_password_users(&self) -> Result<u64, StoreError>;

    /// Replaces a user's password hash and revokes their refresh tokens.
    async fn set_password(&self, id: Uuid, password_hash: &str) -> Result<(), StoreError>;

    /// Disables or re-enables a user; disabling revokes their refresh tokens.
    async fn set_disabled(&self, id: Uuid, disabled: bool) -> Result<UserRecord, StoreError>;

    /// Stores the first refresh token of a new login (a new family).
    async fn insert_refresh_token(
        &self,
        user_id: Uuid,
        token: NewRefreshToken,
    ) -> Result<(), StoreError>;

    /// Presents a refresh token (by hash): a valid one is used up and `next` stored in
    /// its family, atomically; a used one revokes the family. See [`RefreshOutcome`].
    async fn rotate_refresh_token(
        &self,
        token_hash: &str,
        next: NewRefreshToken,
    ) -> Result<RefreshOutcome, StoreError>;

    /// Revokes the family of this refresh token (logout). Returns its user, if the token
    /// was known.
    async fn revoke_refresh_family(&self, token_hash: &str) -> Result<Option<Uuid>, StoreError>;

    /// Stores a personal API token for a user.
    async fn create_api_token(
        &self,
        user_id: Uuid,
        token: NewApiToken,
    ) -> Result<ApiTokenRecord, StoreError>;

    /// A user's API tokens, oldest first (revoked and expired ones included).
    async fn list_api_tokens(&self, user_id: Uuid) -> Result<Vec<ApiTokenRecord>, StoreError>;

    /// Revokes one of the user's tokens. Another user's token is
    /// [`StoreError::NotFound`].
    async fn revoke_api_token(&self, user_id: Uuid, id: Uuid) -> Result<(), StoreError>;

    /// The enabled user a valid (known, unrevoked, unexpired) API token belongs to.
    async fn api_token_user(&self, token_hash: &str) -> Result<Option<UserRecord>, StoreError>;

    /// Stores (creates or replaces) a user's credential for a provider; `true` if new.
    async fn put_credential(&self, credential: StoredCredential) -> Result<bool, StoreError>;

    /// A user's credential for a provider.
    async fn get_credential(
        &self,
        user_id: Uuid,
        provider: &str,
    ) -> Result<Option<StoredCredential>, StoreError>;

    /// A user's credentials, by provider name.
    async fn list_credentials(&self, user_id: Uuid) -> Result<Vec<StoredCredential>, StoreError>;

    /// Deletes a user's credential ([`StoreError::NotFound`] if there is none).
    async fn delete_credential(&self, user_id: Uuid, provider: &str) -> Result<(), StoreError>;

    /// Every stored credential (for re-sealing under a new key).
    async fn all_credentials(&self) -> Result<Vec<StoredCredential>, StoreError>;

    /// Replaces the sealed fields (key id, nonce, ciphertext) of these credentials, all in
    /// one transaction: after a failure every row is still under its old key.
    async fn reseal_credentials(&self, credentials: &[StoredCredential]) -> Result<(), StoreError>;

    /// Appends to the audit log.
    async fn record_audit(&self, entry: AuditEntry) -> Result<(), StoreError>;

    /// Audit events, newest first, `limit` of them (clamped to [`crate::MAX_PAGE`]),
    /// older than id `before` if given.
    async fn list_audit(
        &self,
        limit: u32,
        before: Option<i64>,
    ) -> Result<Vec<AuditRecord>, StoreError>;
}
