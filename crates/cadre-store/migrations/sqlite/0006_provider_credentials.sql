-- Users' provider API keys, sealed (XChaCha20-Poly1305; the store never sees a key in
-- clear): one row per user and provider.
CREATE TABLE provider_credentials (
    user_id       BLOB    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider      TEXT    NOT NULL,              -- openrouter, openai, custom
    key_id        TEXT    NOT NULL,              -- which server key sealed it
    nonce         BLOB    NOT NULL,
    ciphertext    BLOB    NOT NULL,
    base_url      TEXT,                          -- custom endpoints
    default_model TEXT,
    hint          TEXT    NOT NULL,              -- the masked key, e.g. sk-…f3a9
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (user_id, provider)
);
