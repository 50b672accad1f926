//! [`AccountStore`] on SQLite: the SQL for users, refresh tokens, API tokens, provider
//! credentials and the audit log, with writes through the single writer connection.

use async_trait::async_trait;
use uuid::Uuid;

use super::{SqliteStore, micros};
use crate::StoreError;
use crate::accounts::{
    AccountStore, ApiTokenRecord, AuditEntry, AuditRecord, NewApiToken, NewRefreshToken, NewUser,
    RefreshOutcome, StoredCredential, UserRecord,
};
use crate::error::found;
use crate::model::now_micros;
use crate::page::page_size;
use crate::rows::{self, IntoRecord, Presented, found_record, into_records, optional_record};

/// Account rows as SQLite stores them (timestamps in microseconds).
type UserRow = rows::UserRow<i64>;
type LoginRow = rows::LoginRow<i64>;
type RefreshRow = rows::RefreshRow<i64>;
type ApiTokenRow = rows::ApiTokenRow<i64>;
type CredentialRow = rows::CredentialRow<i64>;
type AuditRow = rows::AuditRow<i64>;

const USER_COLUMNS: &str = "id, email, is_admin, disabled, created_at";

const CREDENTIAL_COLUMNS: &str = "user_id, provider, key_id, nonce, ciphertext, base_url, \
    default_model, hint, updated_at";

#[async_trait]
impl AccountStore for SqliteStore {
    async fn create_user(&self, user: NewUser) -> Result<UserRecord, StoreError> {
        let (record, password_hash) = user.into_record();
        sqlx::query(
            "INSERT INTO users (id, email, password_hash, is_admin, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(record.id)
        .bind(&record.email)
        .bind(password_hash)
        .bind(record.is_admin)
        .bind(micros(record.created_at))
        .execute(&self.writer)
        .await
        .map_err(StoreError::email_taken)?;
        Ok(record)
    }

    async fn user_by_email(
        &self,
        email: &str,
    ) -> Result<Option<(UserRecord, Option<String>)>, StoreError> {
        let row: Option<LoginRow> = sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = ?1"
        ))
        .bind(email)
        .fetch_optional(&self.reader)
        .await?;
        optional_record(row)
    }

    async fn user_by_id(&self, id: Uuid) -> Result<UserRecord, StoreError> {
        let row: Option<UserRow> =
            sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"))
                .bind(id)
                .fetch_optional(&self.reader)
                .await?;
        found_record(row, "user")
    }

    async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let rows: Vec<UserRow> = sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM users ORDER BY created_at, id"
        ))
        .fetch_all(&self.reader)
        .await?;
        into_records(rows)
    }

    async fn count_password_users(&self) -> Result<u64, StoreError> {
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE password_hash IS NOT NULL")
                .fetch_one(&self.reader)
                .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn set_password(&self, id: Uuid, password_hash: &str) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        let changed = sqlx::query("UPDATE users SET password_hash = ?2 WHERE id = ?1")
            .bind(id)
            .bind(password_hash)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        found(changed, "user")?;
        revoke_user_tokens(&mut tx, id).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_disabled(&self, id: Uuid, disabled: bool) -> Result<UserRecord, StoreError> {
        let mut tx = self.writer.begin().await?;
        let changed = sqlx::query("UPDATE users SET disabled = ?2 WHERE id = ?1")
            .bind(id)
            .bind(disabled)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        found(changed, "user")?;
        if disabled {
            revoke_user_tokens(&mut tx, id).await?;
        }
        let row: UserRow =
            sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"))
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
        tx.commit().await?;
        row.into_record()
    }

    async fn insert_refresh_token(
        &self,
        user_id: Uuid,
        token: NewRefreshToken,
    ) -> Result<(), StoreError> {
        insert_token(&self.writer, user_id, Uuid::new_v4(), &token).await
    }

    async fn rotate_refresh_token(
        &self,
        token_hash: &str,
        next: NewRefreshToken,
    ) -> Result<RefreshOutcome, StoreError> {
        let now = now_micros();
        let mut tx = self.writer.begin().await?;
        let row: Option<RefreshRow> = sqlx::query_as(
            "SELECT t.user_id, t.family, t.expires_at, t.used_at, t.revoked_at, u.disabled \
             FROM refresh_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?1",
        )
        .bind(token_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(RefreshOutcome::Invalid);
        };
        let (user_id, family) = match row.presented(now)? {
            Presented::Invalid => return Ok(RefreshOutcome::Invalid),
            Presented::Reused { user_id, family } => {
                sqlx::query(
                    "UPDATE refresh_tokens SET revoked_at = ?2 \
                     WHERE family = ?1 AND revoked_at IS NULL",
                )
                .bind(family)
                .bind(micros(now))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                return Ok(RefreshOutcome::Reused { user_id });
            }
            Presented::Fresh { user_id, family } => (user_id, family),
        };
        sqlx::query("UPDATE refresh_tokens SET used_at = ?2 WHERE token_hash = ?1")
            .bind(token_hash)
            .bind(micros(now))
            .execute(&mut *tx)
            .await?;
        insert_token(&mut *tx, user_id, family, &next).await?;
        let user: UserRow =
            sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"))
                .bind(user_id)
                .fetch_one(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(RefreshOutcome::Rotated {
            user: user.into_record()?,
        })
    }

    async fn revoke_refresh_family(&self, token_hash: &str) -> Result<Option<Uuid>, StoreError> {
        let mut tx = self.writer.begin().await?;
        let row: Option<(Uuid, Uuid)> =
            sqlx::query_as("SELECT user_id, family FROM refresh_tokens WHERE token_hash = ?1")
                .bind(token_hash)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((user_id, family)) = row else {
            return Ok(None);
        };
        sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = ?2 WHERE family = ?1 AND revoked_at IS NULL",
        )
        .bind(family)
        .bind(micros(now_micros()))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(user_id))
    }

    async fn create_api_token(
        &self,
        user_id: Uuid,
        token: NewApiToken,
    ) -> Result<ApiTokenRecord, StoreError> {
        let (record, token_hash) = token.into_record(user_id);
        sqlx::query(
            "INSERT INTO api_tokens (id, user_id, name, token_hash, hint, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .bind(record.id)
        .bind(user_id)
        .bind(&record.name)
        .bind(&token_hash)
        .bind(&record.hint)
        .bind(micros(record.created_at))
        .bind(record.expires_at.map(micros))
        .execute(&self.writer)
        .await?;
        Ok(record)
    }

    async fn list_api_tokens(&self, user_id: Uuid) -> Result<Vec<ApiTokenRecord>, StoreError> {
        let rows: Vec<ApiTokenRow> = sqlx::query_as(
            "SELECT id, user_id, name, hint, created_at, expires_at, revoked_at FROM api_tokens \
             WHERE user_id = ?1 ORDER BY created_at, id",
        )
        .bind(user_id)
        .fetch_all(&self.reader)
        .await?;
        into_records(rows)
    }

    async fn revoke_api_token(&self, user_id: Uuid, id: Uuid) -> Result<(), StoreError> {
        let known = sqlx::query(
            "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?3) \
             WHERE id = ?1 AND user_id = ?2",
        )
        .bind(id)
        .bind(user_id)
        .bind(micros(now_micros()))
        .execute(&self.writer)
        .await?
        .rows_affected();
        found(known, "token")
    }

    async fn api_token_user(&self, token_hash: &str) -> Result<Option<UserRecord>, StoreError> {
        let row: Option<UserRow> = sqlx::query_as(
            "SELECT u.id, u.email, u.is_admin, u.disabled, u.created_at FROM api_tokens t \
             JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?1 \
             AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?2) \
             AND NOT u.disabled",
        )
        .bind(token_hash)
        .bind(micros(now_micros()))
        .fetch_optional(&self.reader)
        .await?;
        optional_record(row)
    }

    async fn put_credential(&self, c: StoredCredential) -> Result<bool, StoreError> {
        let existed: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM provider_credentials WHERE user_id = ?1 AND provider = ?2",
        )
        .bind(c.user_id)
        .bind(&c.provider)
        .fetch_one(&self.writer)
        .await?;
        sqlx::query(
            "INSERT INTO provider_credentials (user_id, provider, key_id, nonce, ciphertext, \
               base_url, default_model, hint, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9) \
             ON CONFLICT (user_id, provider) DO UPDATE SET key_id = excluded.key_id, \
               nonce = excluded.nonce, ciphertext = excluded.ciphertext, \
               base_url = excluded.base_url, default_model = excluded.default_model, \
               hint = excluded.hint, updated_at = excluded.updated_at",
        )
        .bind(c.user_id)
        .bind(&c.provider)
        .bind(&c.key_id)
        .bind(&c.nonce)
        .bind(&c.ciphertext)
        .bind(&c.base_url)
        .bind(&c.default_model)
        .bind(&c.hint)
        .bind(micros(c.updated_at))
        .execute(&self.writer)
        .await?;
        Ok(existed == 0)
    }

    async fn get_credential(
        &self,
        user_id: Uuid,
        provider: &str,
    ) -> Result<Option<StoredCredential>, StoreError> {
        let row: Option<CredentialRow> = sqlx::query_as(&format!(
            "SELECT {CREDENTIAL_COLUMNS} FROM provider_credentials \
             WHERE user_id = ?1 AND provider = ?2"
        ))
        .bind(user_id)
        .bind(provider)
        .fetch_optional(&self.reader)
        .await?;
        optional_record(row)
    }

    async fn list_credentials(&self, user_id: Uuid) -> Result<Vec<StoredCredential>, StoreError> {
        let rows: Vec<CredentialRow> = sqlx::query_as(&format!(
            "SELECT {CREDENTIAL_COLUMNS} FROM provider_credentials WHERE user_id = ?1 \
             ORDER BY provider"
        ))
        .bind(user_id)
        .fetch_all(&self.reader)
        .await?;
        into_records(rows)
    }

    async fn delete_credential(&self, user_id: Uuid, provider: &str) -> Result<(), StoreError> {
        let deleted =
            sqlx::query("DELETE FROM provider_credentials WHERE user_id = ?1 AND provider = ?2")
                .bind(user_id)
                .bind(provider)
                .execute(&self.writer)
                .await?
                .rows_affected();
        found(deleted, "credential")
    }

    async fn all_credentials(&self) -> Result<Vec<StoredCredential>, StoreError> {
        let rows: Vec<CredentialRow> = sqlx::query_as(&format!(
            "SELECT {CREDENTIAL_COLUMNS} FROM provider_credentials ORDER BY user_id, provider"
        ))
        .fetch_all(&self.reader)
        .await?;
        into_records(rows)
    }

    async fn reseal_credentials(&self, credentials: &[StoredCredential]) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        for c in credentials {
            sqlx::query(
                "UPDATE provider_credentials SET key_id = ?3, nonce = ?4, ciphertext = ?5 \
                 WHERE user_id = ?1 AND provider = ?2",
            )
            .bind(c.user_id)
            .bind(&c.provider)
            .bind(&c.key_id)
            .bind(&c.nonce)
            .bind(&c.ciphertext)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn record_audit(&self, entry: AuditEntry) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO audit_log (at, user_id, email, event, detail, ip) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .bind(micros(now_micros()))
        .bind(entry.user_id)
        .bind(entry.email)
        .bind(entry.event.as_str())
        .bind(entry.detail)
        .bind(entry.ip)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn list_audit(
        &self,
        limit: u32,
        before: Option<i64>,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT id, at, user_id, email, event, detail, ip FROM audit_log \
             WHERE ?1 IS NULL OR id < ?1 ORDER BY id DESC LIMIT ?2",
        )
        .bind(before)
        .bind(i64::from(page_size(limit)))
        .fetch_all(&self.reader)
        .await?;
        into_records(rows)
    }
}

async fn insert_token<'c>(
    conn: impl sqlx::SqliteExecutor<'c>,
    user_id: Uuid,
    family: Uuid,
    token: &NewRefreshToken,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO refresh_tokens (id, user_id, family, token_hash, created_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .bind(Uuid::new_v4())
    .bind(user_id)
    .bind(family)
    .bind(&token.token_hash)
    .bind(micros(now_micros()))
    .bind(micros(token.expires_at))
    .execute(conn)
    .await?;
    Ok(())
}

async fn revoke_user_tokens(
    conn: &mut sqlx::SqliteConnection,
    user_id: Uuid,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .bind(micros(now_micros()))
    .execute(conn)
    .await?;
    Ok(())
}
