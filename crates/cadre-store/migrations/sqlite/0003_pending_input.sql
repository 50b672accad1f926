-- A human's answer to a run waiting for input (`POST /runs/{id}/input`), kept until the
-- run's worker takes it. NULL: no answer pending.
ALTER TABLE runs ADD COLUMN pending_input text;
