-- name: enqueue
-- Queue (or re-queue) a repository: one entry per repository, so queueing it again only moves
-- its request to now; a claim in progress is left to finish.
-- The credentials (migration 14) go with the source: a new source replaces both.
INSERT INTO repo_index_queue (repo_id, source, credentials, revision)
VALUES (:repo_id, :source, :credentials, :revision)
ON CONFLICT (repo_id) DO UPDATE SET source = EXCLUDED.source, credentials = EXCLUDED.credentials,
  revision = EXCLUDED.revision, requested_at = now(), available_at = now(), attempts = 0, last_error = NULL

-- name: requeue
-- Queue a repository again with the source (and credentials) it is queued with; no row: NULL.
UPDATE repo_index_queue SET revision = :revision, requested_at = now(), available_at = now(), attempts = 0,
       last_error = NULL
 WHERE repo_id = :repo_id
RETURNING source

-- name: queue_entry
SELECT source, revision, requested_at, claimed_by, claimed_until, attempts, last_error
  FROM repo_index_queue WHERE repo_id = :repo_id

-- name: claim_next
-- The oldest ready repository nobody holds (or whose holder's lease ran out); SKIP LOCKED lets
-- any number of workers share the queue without a coordinator.
UPDATE repo_index_queue q SET claimed_by = :worker, claimed_until = now() + make_interval(secs => :lease_seconds),
       attempts = q.attempts + 1
  FROM repo r
 WHERE q.repo_id = (SELECT repo_id FROM repo_index_queue
                     WHERE available_at <= now() AND (claimed_until IS NULL OR claimed_until < now())
                     ORDER BY available_at, requested_at LIMIT 1 FOR UPDATE SKIP LOCKED)
   AND r.id = q.repo_id
RETURNING q.repo_id, r.uri::text, q.source, q.credentials, q.revision, q.attempts

-- name: complete
-- Done: leave the queue, unless the repository was re-queued for another revision meanwhile.
WITH done AS (DELETE FROM repo_index_queue WHERE repo_id = :repo_id AND claimed_by = :worker
                AND revision IS NOT DISTINCT FROM :revision AND source = :source
                AND credentials IS NOT DISTINCT FROM :credentials RETURNING repo_id)
UPDATE repo_index_queue SET claimed_by = NULL, claimed_until = NULL
 WHERE repo_id = :repo_id AND claimed_by = :worker AND NOT EXISTS (SELECT FROM done)

-- name: fail
UPDATE repo_index_queue SET claimed_by = NULL, claimed_until = NULL, last_error = :error,
       available_at = now() + make_interval(secs => :retry_in_seconds)
 WHERE repo_id = :repo_id AND claimed_by = :worker
