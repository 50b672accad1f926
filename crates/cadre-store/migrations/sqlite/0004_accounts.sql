-- Accounts (issue 4): admins and disabled users, rotating refresh tokens stored hashed
-- (one family per login; a reused token revokes its family), and the audit log of
-- security events.
ALTER TABLE users ADD COLUMN is_admin INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;

CREATE TABLE refresh_tokens (
    id         BLOB    PRIMARY KEY,
    user_id    BLOB    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family     BLOB    NOT NULL,                   -- every token of one login
    token_hash TEXT    NOT NULL UNIQUE,            -- SHA-256 of the token, hex
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,                            -- rotated: presenting it again is reuse
    revoked_at INTEGER
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    user_id BLOB,                                  -- the account concerned, if known
    email   TEXT,                                  -- as given (failed logins included)
    event   TEXT    NOT NULL,                      -- login_ok, login_failed, …
    detail  TEXT,
    ip      TEXT
);
CREATE INDEX audit_log_user ON audit_log (user_id, id);
