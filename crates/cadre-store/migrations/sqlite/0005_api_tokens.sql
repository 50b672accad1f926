-- Personal API tokens for scripts and CI: shown once at creation, stored as a SHA-256
-- hash, revocable, optionally expiring.
CREATE TABLE api_tokens (
    id         BLOB    PRIMARY KEY,
    user_id    BLOB    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    token_hash TEXT    NOT NULL UNIQUE,
    hint       TEXT    NOT NULL,                   -- the token's first characters, to recognise it
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens (user_id, created_at);
