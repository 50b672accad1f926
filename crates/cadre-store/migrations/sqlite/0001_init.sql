-- Cadre schema, SQLite flavour (the PostgreSQL flavour in ../postgres mirrors it).
--
-- Conventions:
--   * ids are UUIDs stored as 16-byte BLOBs (same byte order as PostgreSQL's uuid, so
--     keyset cursors compare the same way on both backends);
--   * timestamps are INTEGER microseconds since the Unix epoch, UTC (ordered, compact,
--     and compared without parsing);
--   * JSON documents are TEXT, written and read by the store only;
--   * booleans are INTEGER 0/1.

-- Accounts. Only `ensure_user` (the single local user) uses it for now.
CREATE TABLE users (
    id            BLOB    PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE,
    password_hash TEXT,                       -- NULL: no password login
    created_at    INTEGER NOT NULL
);

-- Saved teams. `spec` is a cadre_core::TeamSpec as JSON; `name` mirrors spec.name.
CREATE TABLE teams (
    id         BLOB    PRIMARY KEY,
    owner      BLOB    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    spec       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
-- Owner listing, newest first (keyset on created_at, id).
CREATE INDEX teams_owner_created ON teams (owner, created_at DESC, id DESC);

-- Runs. The row is a summary kept up to date from the run's events in the same
-- transaction that appends them (status, team, summary, usage, error, last_seq).
CREATE TABLE runs (
    id                BLOB    PRIMARY KEY,
    owner             BLOB    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    task              TEXT    NOT NULL,
    request           TEXT    NOT NULL,       -- the run's request/options, opaque JSON
    status            TEXT    NOT NULL CHECK (status IN ('queued', 'building', 'executing',
                          'waiting_input', 'completed', 'failed', 'cancelled')),
    team              TEXT,                   -- TeamSpec JSON from the last `team` event
    summary           TEXT,                   -- from `finished`
    error_code        TEXT,                   -- from the last `error` event
    error_message     TEXT,
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,   -- usage totals from `finished`
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd          REAL    NOT NULL DEFAULT 0,
    calls             INTEGER NOT NULL DEFAULT 0,
    last_seq          INTEGER NOT NULL DEFAULT 0,   -- seq of the last stored event
    cancel_requested  INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    started_at        INTEGER,                -- first `status: executing`
    finished_at       INTEGER                 -- first terminal `status`
);
CREATE INDEX runs_owner_created ON runs (owner, created_at DESC, id DESC);
CREATE INDEX runs_owner_status_created ON runs (owner, status, created_at DESC, id DESC);

-- The durable event log: seq 1, 2, 3… per run without gaps (message_delta never stored).
-- `data` is the event's `data` object as JSON; `type` its wire name.
CREATE TABLE events (
    run_id BLOB    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq    INTEGER NOT NULL,
    type   TEXT    NOT NULL,
    at     INTEGER NOT NULL,
    data   TEXT    NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

-- The job queue: one job per run, created in the run's transaction (DESIGN §6).
-- queued -> running (claimed, leased until lease_until) -> done; a running job whose
-- lease expired belongs to a dead worker and is claimable again.
CREATE TABLE jobs (
    id           BLOB    PRIMARY KEY,
    run_id       BLOB    NOT NULL UNIQUE REFERENCES runs (id) ON DELETE CASCADE,
    owner        BLOB    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'done')),
    attempts     INTEGER NOT NULL DEFAULT 0,  -- claims so far (releases not counted)
    max_attempts INTEGER NOT NULL,
    worker       TEXT,                        -- id of the worker holding the lease
    lease_until  INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
-- Claiming: oldest first among jobs that are not done.
CREATE INDEX jobs_claim ON jobs (created_at, id) WHERE state <> 'done';
-- Per-owner running count (concurrency limit at claim time).
CREATE INDEX jobs_owner_running ON jobs (owner, lease_until) WHERE state = 'running';
