-- Personal API tokens for scripts and CI: shown once at creation, stored as a SHA-256
-- hash, revocable, optionally expiring.
CREATE TABLE api_tokens (
    id         uuid        PRIMARY KEY,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       text        NOT NULL,
    token_hash text        NOT NULL UNIQUE,
    hint       text        NOT NULL,               -- the token's first characters, to recognise it
    created_at timestamptz NOT NULL,
    expires_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX api_tokens_user ON api_tokens (user_id, created_at);
