-- Users' provider API keys, sealed (XChaCha20-Poly1305; the store never sees a key in
-- clear): one row per user and provider.
CREATE TABLE provider_credentials (
    user_id       uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider      text        NOT NULL,          -- openrouter, openai, custom
    key_id        text        NOT NULL,          -- which server key sealed it
    nonce         bytea       NOT NULL,
    ciphertext    bytea       NOT NULL,
    base_url      text,                          -- custom endpoints
    default_model text,
    hint          text        NOT NULL,          -- the masked key, e.g. sk-…f3a9
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (user_id, provider)
);
