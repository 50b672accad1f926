-- A worker's heartbeat and cancel poll find the jobs it holds in one statement each
-- (instead of one per job); this keeps them from scanning the whole jobs history.
CREATE INDEX jobs_worker_running ON jobs (worker) WHERE state = 'running';
