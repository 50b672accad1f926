-- Files code blocks wrote (artifacts: plots, CSVs…), kept with their run: the worker
-- that ran the code and the API that serves the download may be on different machines,
-- so the bytes live here. One row per run and path; the last write of a path wins.
CREATE TABLE run_files (
    run_id       uuid        NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    path         text        NOT NULL,        -- relative, '/'-separated, no '..'
    size_bytes   bigint      NOT NULL,
    content_type text        NOT NULL,        -- guessed from the extension
    sha256       text        NOT NULL,        -- lower-case hex of content
    content      bytea       NOT NULL,
    created_at   timestamptz NOT NULL,        -- when this version was written
    PRIMARY KEY (run_id, path)
);
