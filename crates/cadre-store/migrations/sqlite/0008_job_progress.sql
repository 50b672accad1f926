-- A job's attempts without progress: a run that keeps losing its worker is given up only
-- when it stops getting anywhere, not because unrelated crashes hit it several times.
-- progress_seq is the run's last seq when the job was last claimed; idle_attempts counts
-- the claims in a row since the run last stored an event (the one being run included).
ALTER TABLE jobs ADD COLUMN progress_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN idle_attempts INTEGER NOT NULL DEFAULT 0;
UPDATE jobs SET idle_attempts = attempts;
