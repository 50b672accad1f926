-- Files code blocks wrote (artifacts: plots, CSVs…), kept with their run: the worker
-- that ran the code and the API that serves the download may be on different machines,
-- so the bytes live here. One row per run and path; the last write of a path wins. A
-- plain rowid table: SQLite advises against WITHOUT ROWID for rows this large.
CREATE TABLE run_files (
    run_id       BLOB    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    path         TEXT    NOT NULL,            -- relative, '/'-separated, no '..'
    size_bytes   INTEGER NOT NULL,
    content_type TEXT    NOT NULL,            -- guessed from the extension
    sha256       TEXT    NOT NULL,            -- lower-case hex of content
    content      BLOB    NOT NULL,
    created_at   INTEGER NOT NULL,            -- when this version was written
    PRIMARY KEY (run_id, path)
);
