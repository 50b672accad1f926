-- Accounts (issue 4): admins and disabled users, rotating refresh tokens stored hashed
-- (one family per login; a reused token revokes its family), and the audit log of
-- security events.
ALTER TABLE users ADD COLUMN is_admin boolean NOT NULL DEFAULT false;
ALTER TABLE users ADD COLUMN disabled boolean NOT NULL DEFAULT false;

CREATE TABLE refresh_tokens (
    id         uuid        PRIMARY KEY,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family     uuid        NOT NULL,               -- every token of one login
    token_hash text        NOT NULL UNIQUE,        -- SHA-256 of the token, hex
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,                        -- rotated: presenting it again is reuse
    revoked_at timestamptz
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

CREATE TABLE audit_log (
    id      bigserial   PRIMARY KEY,
    at      timestamptz NOT NULL,
    user_id uuid,                                  -- the account concerned, if known
    email   text,                                  -- as given (failed logins included)
    event   text        NOT NULL,                  -- login_ok, login_failed, …
    detail  text,
    ip      text
);
CREATE INDEX audit_log_user ON audit_log (user_id, id);
