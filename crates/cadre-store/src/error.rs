//! Owns [`StoreError`], the one error type of the store, and the mapping from database
//! driver errors to it (generic, and for the few statements whose failures mean
//! something more precise). Messages never contain credentials.

/// What can go wrong talking to the store.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    /// The record does not exist, or belongs to another owner.
    #[error("{what} not found")]
    NotFound {
        /// What was looked for (`run`, `team`, `job`, `user`).
        what: &'static str,
    },
    /// The operation contradicts the record's current state.
    #[error("conflict: {what}")]
    Conflict {
        /// What conflicts.
        what: String,
    },
    /// Appended events would leave a gap in the run's seq numbers.
    #[error("event seq gap: expected {expected}, got {got}")]
    SeqGap {
        /// The seq the next event must have.
        expected: u64,
        /// The seq the first appended event has.
        got: u64,
    },
    /// Appended events repeat seq numbers already stored (another writer got there first).
    #[error("event seq conflict: expected {expected}, got {got}")]
    SeqConflict {
        /// The seq the next event must have.
        expected: u64,
        /// The seq the first appended event has.
        got: u64,
    },
    /// The input is malformed (bad cursor, non-durable event, …).
    #[error("invalid: {0}")]
    Invalid(String),
    /// The database cannot be reached (down, pool exhausted, network).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a bug, a corrupt row, an unexpected driver error.
    #[error("internal store error: {0}")]
    Internal(String),
}

impl StoreError {
    pub(crate) fn conflict(what: impl Into<String>) -> Self {
        StoreError::Conflict { what: what.into() }
    }

    pub(crate) fn internal(what: impl std::fmt::Display) -> Self {
        StoreError::Internal(what.to_string())
    }

    /// A failed insert of a record naming its user (owner): a missing referenced record
    /// is that user.
    pub(crate) fn missing_user(error: sqlx::Error) -> Self {
        match StoreError::from(error) {
            StoreError::NotFound { .. } => StoreError::NotFound { what: "user" },
            other => other,
        }
    }

    /// A failed insert of a user: a uniqueness conflict is the email.
    pub(crate) fn email_taken(error: sqlx::Error) -> Self {
        match StoreError::from(error) {
            StoreError::Conflict { .. } => StoreError::conflict("a user with this email exists"),
            other => other,
        }
    }
}

/// `Ok` when a statement changed at least one row, `NotFound { what }` when it changed
/// none.
pub(crate) fn found(rows_affected: u64, what: &'static str) -> Result<(), StoreError> {
    if rows_affected == 0 {
        return Err(StoreError::NotFound { what });
    }
    Ok(())
}

// SQLite's primary result codes (<https://sqlite.org/rescode.html>) that mean "not now"
// rather than "wrong".
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;
const SQLITE_IOERR: i64 = 10;
const SQLITE_FULL: i64 = 13;
const SQLITE_CANTOPEN: i64 = 14;

/// The primary code of a SQLite (extended) result code, as sqlx reports it: a decimal
/// number whose low byte is the primary code.
fn sqlite_primary_code(code: &str) -> Option<i64> {
    let code: i64 = code.parse().ok()?;
    Some(code & 0xff)
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        use sqlx::error::ErrorKind;
        match error {
            sqlx::Error::RowNotFound => StoreError::NotFound { what: "row" },
            sqlx::Error::Io(io) => StoreError::Unavailable(io.to_string()),
            sqlx::Error::Tls(_) => StoreError::Unavailable("TLS handshake failed".into()),
            sqlx::Error::PoolTimedOut => {
                StoreError::Unavailable("timed out waiting for a database connection".into())
            }
            sqlx::Error::PoolClosed => StoreError::Unavailable("connection pool closed".into()),
            sqlx::Error::WorkerCrashed => {
                StoreError::Unavailable("database connection worker crashed".into())
            }
            // Configuration errors can quote the URL: never echo them.
            sqlx::Error::Configuration(_) => {
                StoreError::Invalid("invalid database configuration".into())
            }
            sqlx::Error::Database(db) => {
                let message = db.message().to_string();
                match db.kind() {
                    ErrorKind::UniqueViolation => StoreError::conflict(message),
                    ErrorKind::ForeignKeyViolation => StoreError::NotFound {
                        what: "referenced record",
                    },
                    ErrorKind::CheckViolation | ErrorKind::NotNullViolation => {
                        StoreError::Invalid(message)
                    }
                    _ => match db.code().as_deref() {
                        // Serialization failure / deadlock (PostgreSQL): retryable conflict.
                        Some("40001") | Some("40P01") => StoreError::conflict(message),
                        // Disk full (PostgreSQL), out of memory, too many connections,
                        // shutting down or starting up, connection failures: the database
                        // cannot take the write now; nothing is wrong with the request.
                        Some("53100") => StoreError::Unavailable(format!("disk full: {message}")),
                        Some("53200" | "53300" | "57P01" | "57P02" | "57P03") => {
                            StoreError::Unavailable(message)
                        }
                        Some(code) if code.starts_with("08") => StoreError::Unavailable(message),
                        Some(code)
                            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() =>
                        {
                            match sqlite_primary_code(code) {
                                Some(SQLITE_FULL) => {
                                    StoreError::Unavailable(format!("disk full: {message}"))
                                }
                                Some(
                                    SQLITE_BUSY | SQLITE_LOCKED | SQLITE_IOERR | SQLITE_CANTOPEN,
                                ) => StoreError::Unavailable(message),
                                _ => StoreError::Internal(message),
                            }
                        }
                        _ => StoreError::Internal(message),
                    },
                }
            }
            other => StoreError::Internal(other.to_string()),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        match error {
            sqlx::migrate::MigrateError::Execute(inner) => match StoreError::from(inner) {
                StoreError::Unavailable(message) => StoreError::Unavailable(message),
                other => StoreError::Internal(format!("migration failed: {other}")),
            },
            other => StoreError::Internal(format!("migration failed: {other}")),
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(error: serde_json::Error) -> Self {
        StoreError::Internal(format!("JSON: {error}"))
    }
}
