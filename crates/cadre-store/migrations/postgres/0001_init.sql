-- Cadre schema, PostgreSQL flavour (the SQLite flavour in ../sqlite mirrors it).
--
-- Conventions: ids are uuid, timestamps timestamptz (UTC, microseconds), documents
-- jsonb, except event data which is json (stored as written: cheaper to insert, and the
-- log is only ever read back whole).

-- Accounts. Only `ensure_user` (the single local user) uses it for now.
CREATE TABLE users (
    id            uuid        PRIMARY KEY,
    email         text        NOT NULL UNIQUE,
    password_hash text,                       -- NULL: no password login
    created_at    timestamptz NOT NULL
);

-- Saved teams. `spec` is a cadre_core::TeamSpec; `name` mirrors spec.name.
CREATE TABLE teams (
    id         uuid        PRIMARY KEY,
    owner      uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       text        NOT NULL,
    spec       jsonb       NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
-- Owner listing, newest first (keyset on created_at, id).
CREATE INDEX teams_owner_created ON teams (owner, created_at DESC, id DESC);

-- Runs. The row is a summary kept up to date from the run's events in the same
-- transaction that appends them (status, team, summary, usage, error, last_seq).
CREATE TABLE runs (
    id                uuid        PRIMARY KEY,
    owner             uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    task              text        NOT NULL,
    request           jsonb       NOT NULL,   -- the run's request/options, opaque
    status            text        NOT NULL CHECK (status IN ('queued', 'building', 'executing',
                          'waiting_input', 'completed', 'failed', 'cancelled')),
    team              jsonb,                  -- TeamSpec from the last `team` event
    summary           text,                   -- from `finished`
    error_code        text,                   -- from the last `error` event
    error_message     text,
    prompt_tokens     bigint           NOT NULL DEFAULT 0,  -- usage totals from `finished`
    completion_tokens bigint           NOT NULL DEFAULT 0,
    cost_usd          double precision NOT NULL DEFAULT 0,
    calls             bigint           NOT NULL DEFAULT 0,
    last_seq          bigint      NOT NULL DEFAULT 0,  -- seq of the last stored event
    cancel_requested  boolean     NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    started_at        timestamptz,            -- first `status: executing`
    finished_at       timestamptz             -- first terminal `status`
);
CREATE INDEX runs_owner_created ON runs (owner, created_at DESC, id DESC);
CREATE INDEX runs_owner_status_created ON runs (owner, status, created_at DESC, id DESC);

-- The durable event log: seq 1, 2, 3… per run without gaps (message_delta never stored).
CREATE TABLE events (
    run_id uuid        NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq    bigint      NOT NULL,
    type   text        NOT NULL,
    at     timestamptz NOT NULL,
    data   json        NOT NULL,
    PRIMARY KEY (run_id, seq)
);

-- The job queue: one job per run, created in the run's transaction (DESIGN §6).
-- queued -> running (claimed, leased until lease_until) -> done; a running job whose
-- lease expired belongs to a dead worker and is claimable again. Claims use
-- FOR UPDATE SKIP LOCKED so concurrent workers never wait on each other.
CREATE TABLE jobs (
    id           uuid        PRIMARY KEY,
    run_id       uuid        NOT NULL UNIQUE REFERENCES runs (id) ON DELETE CASCADE,
    owner        uuid        NOT NULL,
    state        text        NOT NULL CHECK (state IN ('queued', 'running', 'done')),
    attempts     integer     NOT NULL DEFAULT 0,  -- claims so far (releases not counted)
    max_attempts integer     NOT NULL,
    worker       text,                            -- id of the worker holding the lease
    lease_until  timestamptz,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
-- Claiming: oldest first among jobs that are not done.
CREATE INDEX jobs_claim ON jobs (created_at, id) WHERE state <> 'done';
-- Per-owner running count (concurrency limit at claim time).
CREATE INDEX jobs_owner_running ON jobs (owner, lease_until) WHERE state = 'running';
